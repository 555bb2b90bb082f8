package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
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

const hookPath = "/hooks/SECRETHOOKPATH"

// ---- Fixtures ----

// accuracyAlerts are the shared fixtures, but the rule set the second alert's value
// annotation itself, and it has no dashboard.
func accuracyAlerts(resolved bool) []*alerting.Alert {
	as := notifytest.AccuracyAlerts(resolved)
	as[1].Annotations = map[string]string{"summary": "fraud accuracy is 0.79 in country=FR", "value": "0.790 (set by the rule)"}
	return as
}

func groupMsg(status alerting.Status, alerts []*alerting.Alert) *alerting.Message {
	m := notifytest.GroupMsg("team-hook", status, alerts)
	m.CommonAnnotations = nil // sent as {}
	return m
}

type env struct {
	fake *notifytest.Server
	n    *Notifier
	logs *bytes.Buffer
}

func newEnv(t *testing.T, mod func(c *Config), client *http.Client) *env {
	t.Helper()
	fake := notifytest.NewServer(t, notifytest.ServerOptions{Headers: []string{"Content-Type", "User-Agent", "Authorization"}})
	c := DefaultConfig()
	c.URL = Secret(fake.URL + hookPath + "?token=SECRETQUERY")
	if mod != nil {
		mod(&c)
	}
	logger, logs := notifytest.Logger()
	n, err := New(c, Options{HTTPClient: client, Logger: logger, Now: func() time.Time { return now }})
	require.NoError(t, err)
	return &env{fake: fake, n: n, logs: logs}
}

func (e *env) assertNoSecret(t *testing.T, err error) {
	t.Helper()
	notifytest.RequireNoSecret(t, err, e.logs.String(), "SECRETHOOKPATH", "SECRETQUERY")
}

// ---- Tests ----

func TestPayloads(t *testing.T) {
	tests := []struct {
		golden string
		cfg    func(c *Config)
		msg    *alerting.Message
	}{
		{golden: "firing", msg: groupMsg(alerting.StatusFiring, accuracyAlerts(false))},
		{golden: "resolved", msg: groupMsg(alerting.StatusResolved, accuracyAlerts(true))},
		{golden: "truncated", cfg: func(c *Config) { c.MaxAlerts = 1 }, msg: func() *alerting.Message {
			as := accuracyAlerts(false)
			as[1].EndsAt = t0.Add(25 * time.Minute) // one resolved: its status says so
			as[0].Value = math.NaN()
			return groupMsg(alerting.StatusFiring, as)
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			e := newEnv(t, tt.cfg, nil)
			before := notifytest.Clone(tt.msg)
			state, err := e.n.Notify(t.Context(), tt.msg)
			require.NoError(t, err)
			require.Nil(t, state)
			notifytest.RequireUnchanged(t, before, tt.msg)
			reqs := e.fake.Take()
			require.Len(t, reqs, 1)
			require.Equal(t, hookPath+"?token=SECRETQUERY", reqs[0].Path)
			reqs[0].Path = "/hooks/<secret>"
			notifytest.Golden(t, tt.golden, reqs, *update)
			e.assertNoSecret(t, nil)
		})
	}
}

// The payload has exactly Alertmanager's keys, so receivers written for it decode it.
func TestAlertmanagerShape(t *testing.T) {
	b, err := json.Marshal(NewPayload(groupMsg(alerting.StatusFiring, accuracyAlerts(false)), 0, now))
	require.NoError(t, err)
	var top map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &top))
	require.Equal(t, []string{
		"alerts", "commonAnnotations", "commonLabels", "externalURL", "groupKey", "groupLabels",
		"receiver", "status", "truncatedAlerts", "version",
	}, slices.Sorted(maps.Keys(top)))
	require.JSONEq(t, `"4"`, string(top["version"]))
	require.JSONEq(t, `{}`, string(top["commonAnnotations"]), "nil maps are sent as {}")
	var alerts []map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(top["alerts"], &alerts))
	require.Equal(t, []string{"annotations", "endsAt", "fingerprint", "generatorURL", "labels", "startsAt", "status"},
		slices.Sorted(maps.Keys(alerts[0])))
	require.JSONEq(t, `"0001-01-01T00:00:00Z"`, string(alerts[0]["endsAt"]), "a firing alert has no end, as in Alertmanager")

	// The fingerprint is Alertmanager's: FNV-1a 64 over name 0xff value 0xff, sorted by
	// name (computed independently and pinned).
	require.Equal(t, "384066296a5f6e14", Fingerprint(map[string]string{"alertname": "AccuracyDrop"}))
	require.Len(t, Fingerprint(accuracyAlerts(false)[0].Labels), 16)
	require.NotEqual(t, Fingerprint(accuracyAlerts(false)[0].Labels), Fingerprint(accuracyAlerts(false)[1].Labels))
}

func TestSendResolvedOff(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SendResolved = false }, nil)
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusResolved, accuracyAlerts(true)))
	require.NoError(t, err)
	require.Empty(t, e.fake.Take())
}

func TestErrors(t *testing.T) {
	httpDate := now.Add(90 * time.Second).Format(http.TimeFormat)
	status := func(code int, retryAfter, body string) notifytest.Responder {
		return notifytest.Reply(code, body, "Retry-After", retryAfter)
	}
	echo := func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "bad token in %s (query %s)", r.URL.RequestURI(), r.URL.RawQuery)
		return true
	}
	tests := []struct {
		name      string
		respond   notifytest.Responder
		retryable bool
		after     time.Duration
		err       string
	}{
		{name: "204 is success", respond: status(204, "", "")},
		{name: "429 seconds", respond: status(429, "12", "slow down"), retryable: true, after: 12 * time.Second, err: "webhook: 429 Too Many Requests: slow down"},
		{name: "429 http date", respond: status(429, httpDate, ""), retryable: true, after: 90 * time.Second},
		{name: "429 bad header", respond: status(429, "soon", ""), retryable: true},
		{name: "500", respond: status(500, "", "boom"), retryable: true, err: "webhook: 500 Internal Server Error: boom"},
		{name: "503 retry after", respond: status(503, "5", ""), retryable: true, after: 5 * time.Second},
		{name: "400 with the receiver's text", respond: status(400, "", `{"error":"missing field alerts"}`), err: `webhook: 400 Bad Request: {"error":"missing field alerts"}`},
		{name: "404", respond: status(404, "", "no such hook"), err: "404 Not Found: no such hook"},
		{name: "redirect not followed is permanent", respond: status(304, "", ""), err: "304 Not Modified"},
		{name: "peer echoes the url", respond: echo, err: "401 Unauthorized: bad token in /<secret> (query <secret>)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			e.fake.Respond(tt.respond)
			_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
			if tt.err == "" && !tt.retryable {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
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
			e := newEnv(t, setup.cfg, setup.client)
			e.fake.Hang(t)
			_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
			notifytest.RequireRetry(t, err, true, 0)
			require.Regexp(t, `deadline exceeded|Client\.Timeout exceeded`, err.Error())
			e.assertNoSecret(t, err)
		})
	}
}

func TestTransportErrors(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.Close()
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	notifytest.RequireRetry(t, err, true, 0)
	require.ErrorContains(t, err, "webhook: Post http://127.0.0.1")
	require.ErrorContains(t, err, "/<secret>: dial tcp")
	e.assertNoSecret(t, err)

	e = newEnv(t, nil, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = e.n.Notify(ctx, groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	notifytest.RequireRetry(t, err, true, 0)
	require.ErrorIs(t, err, context.Canceled)
	e.assertNoSecret(t, err)
}
