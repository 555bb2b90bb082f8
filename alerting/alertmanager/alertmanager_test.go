package alertmanager

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/internal/notifyutil/notifytest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	t0  = notifytest.T0
	now = notifytest.Now
)

const (
	password = "AMPASSWORDSECRET"
	token    = "AMBEARERSECRET"
)

// ---- Fixtures ----

// accuracyAlerts are the shared fixtures, but the second alert has no dashboard.
func accuracyAlerts(resolved bool) []*alerting.Alert {
	as := notifytest.AccuracyAlerts(resolved)
	delete(as[1].Annotations, "dashboard_url")
	return as
}

func groupMsg(status alerting.Status, alerts []*alerting.Alert) *alerting.Message {
	return notifytest.GroupMsg("team-am", status, alerts)
}

// partlyResolved has one resolved alert (country=DE, also with no value) and one firing.
func partlyResolved() *alerting.Message {
	as := accuracyAlerts(false)
	as[0].EndsAt = t0.Add(28 * time.Minute)
	as[0].Value = math.NaN()
	return groupMsg(alerting.StatusFiring, as)
}

type env struct {
	fakes []*notifytest.Server
	n     *Notifier
	logs  *bytes.Buffer
}

// newEnv starts count fake Alertmanagers (the second with a path prefix) behind one config.
// Alertmanager answers 200 with an empty body.
func newEnv(t *testing.T, count int, mod func(c *Config), client *http.Client) *env {
	t.Helper()
	e := &env{}
	c := DefaultConfig()
	for i := range count {
		f := notifytest.NewServer(t, notifytest.ServerOptions{Headers: []string{"Content-Type", "User-Agent", "Authorization"}})
		e.fakes = append(e.fakes, f)
		u := f.URL
		if i == 1 {
			u += "/alertmanager/"
		}
		c.URL = append(c.URL, u)
	}
	if mod != nil {
		mod(&c)
	}
	logger, logs := notifytest.Logger()
	n, err := New(c, Options{HTTPClient: client, Logger: logger, Now: func() time.Time { return now }})
	require.NoError(t, err)
	e.n, e.logs = n, logs
	return e
}

func (e *env) assertNoSecret(t *testing.T, err error) {
	t.Helper()
	notifytest.RequireNoSecret(t, err, e.logs.String(), password, token, "dmlnaWw6QU1QQVNTV09SRFNFQ1JFVA==")
}

// ---- Tests ----

func TestPosts(t *testing.T) {
	tests := []struct {
		golden string
		cfg    func(c *Config)
		msg    *alerting.Message
	}{
		{golden: "firing", msg: groupMsg(alerting.StatusFiring, accuracyAlerts(false))},
		{golden: "resolved", msg: groupMsg(alerting.StatusResolved, accuracyAlerts(true))},
		{golden: "partly_resolved_basic_auth", msg: partlyResolved(),
			cfg: func(c *Config) { c.BasicAuth = &BasicAuth{Username: "vigil", Password: password} }},
		{golden: "send_resolved_off_bearer", msg: partlyResolved(),
			cfg: func(c *Config) { c.SendResolved, c.BearerToken = false, token }},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			e := newEnv(t, 1, tt.cfg, nil)
			before := notifytest.Clone(tt.msg)
			state, err := e.n.Notify(t.Context(), tt.msg)
			require.NoError(t, err)
			require.Nil(t, state)
			notifytest.RequireUnchanged(t, before, tt.msg)
			reqs := e.fakes[0].Take()
			require.Len(t, reqs, 1)
			notifytest.Golden(t, tt.golden, reqs, *update)
			e.assertNoSecret(t, nil)
		})
	}
}

func TestSendResolvedOff(t *testing.T) {
	e := newEnv(t, 1, func(c *Config) { c.SendResolved = false }, nil)
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusResolved, accuracyAlerts(true)))
	require.NoError(t, err)
	require.Empty(t, e.fakes[0].Take(), "nothing left to send")
}

func status(code int, retryAfter, body string) notifytest.Responder {
	return notifytest.Reply(code, body, "Retry-After", retryAfter)
}

// Every member of a cluster gets the alerts; one that takes them is enough.
func TestCluster(t *testing.T) {
	tests := []struct {
		name      string
		respond   [2]notifytest.Responder
		err       []string
		retryable bool
		after     time.Duration
	}{
		{name: "both take them"},
		{name: "one down", respond: [2]notifytest.Responder{status(503, "", "")}},
		{name: "both down", respond: [2]notifytest.Responder{status(503, "30", ""), status(429, "60", "")},
			err: []string{"/api/v2/alerts: 503 Service Unavailable", "/alertmanager/api/v2/alerts: 429 Too Many Requests"}, retryable: true, after: time.Minute},
		{name: "one down, one refuses", respond: [2]notifytest.Responder{status(500, "", ""), status(400, "", `{"code":400,"message":"invalid label set"}`)},
			err: []string{"500 Internal Server Error", `400 Bad Request: {"code":400,"message":"invalid label set"}`}, retryable: true},
		{name: "both refuse", respond: [2]notifytest.Responder{status(400, "", "bad"), status(422, "", "worse")},
			err: []string{"400 Bad Request: bad", "422 Unprocessable Entity: worse"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, 2, nil, nil)
			for i, f := range e.fakes {
				f.Respond(tt.respond[i])
			}
			_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
			a, b := e.fakes[0].Take(), e.fakes[1].Take()
			require.Len(t, a, 1)
			require.Len(t, b, 1)
			require.Equal(t, "/api/v2/alerts", a[0].Path)
			require.Equal(t, "/alertmanager/api/v2/alerts", b[0].Path)
			require.JSONEq(t, string(a[0].Body), string(b[0].Body))
			if tt.err == nil {
				require.NoError(t, err)
				if tt.respond[0] != nil {
					require.Contains(t, e.logs.String(), "another did")
				}
				return
			}
			for _, s := range tt.err {
				require.ErrorContains(t, err, s)
			}
			notifytest.RequireRetry(t, err, tt.retryable, tt.after)
		})
	}
}

func TestErrors(t *testing.T) {
	httpDate := now.Add(2 * time.Minute).Format(http.TimeFormat)
	echo := func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "bad credentials %q", r.Header.Get("Authorization"))
		return true
	}
	tests := []struct {
		name      string
		cfg       func(c *Config)
		respond   notifytest.Responder
		retryable bool
		after     time.Duration
		err       string
	}{
		{name: "429 seconds", respond: status(429, "10", ""), retryable: true, after: 10 * time.Second, err: "429 Too Many Requests"},
		{name: "429 http date", respond: status(429, httpDate, ""), retryable: true, after: 2 * time.Minute},
		{name: "502", respond: status(502, "", "bad gateway"), retryable: true, err: "/api/v2/alerts: 502 Bad Gateway: bad gateway"},
		{name: "400 with alertmanager's text", respond: status(400, "", `{"code":400,"message":"start time must be before end time"}`),
			err: `400 Bad Request: {"code":400,"message":"start time must be before end time"}`},
		{name: "basic auth echoed", cfg: func(c *Config) { c.BasicAuth = &BasicAuth{Username: "vigil", Password: password} }, respond: echo,
			err: `401 Unauthorized: bad credentials "Basic <secret>"`},
		{name: "bearer echoed", cfg: func(c *Config) { c.BearerToken = token }, respond: echo, err: `bad credentials "Bearer <secret>"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, 1, tt.cfg, nil)
			e.fakes[0].Respond(tt.respond)
			_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), "alertmanager http://127.0.0.1:"), err.Error())
			notifytest.RequireRetry(t, err, tt.retryable, tt.after)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
			}
			e.assertNoSecret(t, err)
		})
	}
}

func TestHang(t *testing.T) {
	for name, setup := range map[string]struct {
		cfg    func(c *Config)
		client *http.Client
	}{
		"config timeout": {cfg: func(c *Config) { c.Timeout = model.Duration(200 * time.Millisecond) }},
		"client timeout": {client: &http.Client{Timeout: 200 * time.Millisecond}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, 1, setup.cfg, setup.client)
			e.fakes[0].Hang(t)
			_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
			notifytest.RequireRetry(t, err, true, 0)
			require.Regexp(t, `deadline exceeded|Client\.Timeout exceeded`, err.Error())
		})
	}
}

func TestTransportErrors(t *testing.T) {
	e := newEnv(t, 1, func(c *Config) { c.BearerToken = token }, nil)
	e.fakes[0].Close()
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	notifytest.RequireRetry(t, err, true, 0)
	require.ErrorContains(t, err, "/api/v2/alerts: dial tcp")
	e.assertNoSecret(t, err)

	e = newEnv(t, 1, nil, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = e.n.Notify(ctx, groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	notifytest.RequireRetry(t, err, true, 0)
	require.ErrorIs(t, err, context.Canceled)
}
