package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"github.com/vigilml/vigil/alerting"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	t0  = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	now = t0.Add(30 * time.Minute)
)

const (
	password = "AMPASSWORDSECRET"
	token    = "AMBEARERSECRET"
)

// ---- Fixtures ----

func accuracyAlerts(resolved bool) []*alerting.Alert {
	de := &alerting.Alert{
		Labels: map[string]string{
			"alertname": "AccuracyDrop", "model": "fraud", "segment": "country=DE",
			"version": "v3", "severity": "critical", "team": "risk",
		},
		Annotations: map[string]string{
			"summary":       "fraud accuracy is 0.812 in country=DE",
			"dashboard_url": "https://grafana.example/d/vigil-model?var-model=fraud&var-segment=country%3DDE",
			"runbook_url":   "https://runbooks.example/vigil/AccuracyDrop",
		},
		StartsAt:     t0.Add(5 * time.Minute),
		GeneratorURL: "http://vigil.example:9780/api/v1/alerts?rule=AccuracyDrop",
		Value:        0.81234, Threshold: 0.85,
	}
	fr := &alerting.Alert{
		Labels: map[string]string{
			"alertname": "AccuracyDrop", "model": "fraud", "segment": "country=FR",
			"version": "v3", "severity": "critical", "team": "risk",
		},
		Annotations: map[string]string{"summary": "fraud accuracy is 0.79 in country=FR"},
		StartsAt:    t0.Add(20 * time.Minute),
		Value:       0.79, Threshold: 0.85,
	}
	if resolved {
		de.EndsAt = t0.Add(28 * time.Minute)
		fr.EndsAt = t0.Add(28 * time.Minute)
	}
	return []*alerting.Alert{de, fr}
}

func groupMsg(status alerting.Status, alerts []*alerting.Alert) *alerting.Message {
	return &alerting.Message{
		Receiver:     "team-am",
		GroupKey:     `{}/{severity="critical"}:{alertname="AccuracyDrop", model="fraud"}`,
		Status:       status,
		GroupLabels:  map[string]string{"alertname": "AccuracyDrop", "model": "fraud"},
		CommonLabels: map[string]string{"alertname": "AccuracyDrop", "model": "fraud"},
		Alerts:       alerts,
		ExternalURL:  "http://vigil.example:9780",
	}
}

// partlyResolved has one resolved alert (country=DE, also with no value) and one firing.
func partlyResolved() *alerting.Message {
	as := accuracyAlerts(false)
	as[0].EndsAt = t0.Add(28 * time.Minute)
	as[0].Value = math.NaN()
	return groupMsg(alerting.StatusFiring, as)
}

// ---- Fake Alertmanager ----

type request struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

type fakeAM struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []request
	respond func(w http.ResponseWriter, r *http.Request) bool
}

func newFakeAM(t *testing.T) *fakeAM {
	f := &fakeAM{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := request{Method: r.Method, Path: r.URL.RequestURI(), Headers: map[string]string{}, Body: body}
		for _, h := range []string{"Content-Type", "User-Agent", "Authorization"} {
			if v := r.Header.Get(h); v != "" {
				rec.Headers[h] = v
			}
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, rec)
		respond := f.respond
		f.mu.Unlock()
		if respond != nil && respond(w, r) {
			return
		}
		w.WriteHeader(http.StatusOK) // Alertmanager answers 200 with an empty body
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAM) take() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reqs
	f.reqs = nil
	return r
}

func checkGolden(t *testing.T, name string, reqs []request) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(reqs))
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	require.Equal(t, string(want), buf.String())
}

type env struct {
	fakes []*fakeAM
	n     *Notifier
	logs  *bytes.Buffer
}

// newEnv starts count fake Alertmanagers (the second with a path prefix) behind one config.
func newEnv(t *testing.T, count int, mod func(c *Config), client *http.Client) *env {
	t.Helper()
	e := &env{logs: &bytes.Buffer{}}
	c := DefaultConfig()
	for i := range count {
		f := newFakeAM(t)
		e.fakes = append(e.fakes, f)
		u := f.srv.URL
		if i == 1 {
			u += "/alertmanager/"
		}
		c.URL = append(c.URL, u)
	}
	if mod != nil {
		mod(&c)
	}
	n, err := New(c, Options{
		HTTPClient: client,
		Logger:     slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        func() time.Time { return now },
	})
	require.NoError(t, err)
	e.n = n
	return e
}

func (e *env) assertNoSecret(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{password, token, "dmlnaWw6QU1QQVNTV09SRFNFQ1JFVA=="} {
		if err != nil {
			require.NotContains(t, err.Error(), s)
		}
		require.NotContains(t, e.logs.String(), s)
	}
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
			state, err := e.n.Notify(t.Context(), tt.msg)
			require.NoError(t, err)
			require.Nil(t, state)
			reqs := e.fakes[0].take()
			require.Len(t, reqs, 1)
			checkGolden(t, tt.golden, reqs)
			e.assertNoSecret(t, nil)
		})
	}
}

func TestSendResolvedOff(t *testing.T) {
	e := newEnv(t, 1, func(c *Config) { c.SendResolved = false }, nil)
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusResolved, accuracyAlerts(true)))
	require.NoError(t, err)
	require.Empty(t, e.fakes[0].take(), "nothing left to send")
}

func status(code int, header, body string) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if header != "" {
			w.Header().Set("Retry-After", header)
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
		return true
	}
}

// Every member of a cluster gets the alerts; one that takes them is enough.
func TestCluster(t *testing.T) {
	tests := []struct {
		name      string
		respond   [2]func(w http.ResponseWriter, r *http.Request) bool
		err       []string
		retryable bool
		after     time.Duration
	}{
		{name: "both take them"},
		{name: "one down", respond: [2]func(w http.ResponseWriter, r *http.Request) bool{status(503, "", "")}},
		{name: "both down", respond: [2]func(w http.ResponseWriter, r *http.Request) bool{status(503, "30", ""), status(429, "60", "")},
			err: []string{"/api/v2/alerts: 503 Service Unavailable", "/alertmanager/api/v2/alerts: 429 Too Many Requests"}, retryable: true, after: time.Minute},
		{name: "one down, one refuses", respond: [2]func(w http.ResponseWriter, r *http.Request) bool{status(500, "", ""), status(400, "", `{"code":400,"message":"invalid label set"}`)},
			err: []string{"500 Internal Server Error", `400 Bad Request: {"code":400,"message":"invalid label set"}`}, retryable: true},
		{name: "both refuse", respond: [2]func(w http.ResponseWriter, r *http.Request) bool{status(400, "", "bad"), status(422, "", "worse")},
			err: []string{"400 Bad Request: bad", "422 Unprocessable Entity: worse"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, 2, nil, nil)
			for i, f := range e.fakes {
				f.respond = tt.respond[i]
			}
			_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
			a, b := e.fakes[0].take(), e.fakes[1].take()
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
			after, retryable := alerting.IsRetryable(err)
			require.Equal(t, tt.retryable, retryable)
			require.Equal(t, tt.after, after)
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
		respond   func(w http.ResponseWriter, r *http.Request) bool
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
			e.fakes[0].respond = tt.respond
			_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), "alertmanager http://127.0.0.1:"), err.Error())
			after, retryable := alerting.IsRetryable(err)
			require.Equal(t, tt.retryable, retryable, "%v", err)
			require.Equal(t, tt.after, after)
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
			release := make(chan struct{})
			e := newEnv(t, 1, setup.cfg, setup.client)
			e.fakes[0].respond = func(w http.ResponseWriter, r *http.Request) bool {
				select {
				case <-r.Context().Done():
				case <-release:
				}
				return true
			}
			t.Cleanup(func() { close(release) })
			_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
			after, retryable := alerting.IsRetryable(err)
			require.True(t, retryable, "%v", err)
			require.Zero(t, after)
			require.Regexp(t, `deadline exceeded|Client\.Timeout exceeded`, err.Error())
		})
	}
}

func TestTransportErrors(t *testing.T) {
	e := newEnv(t, 1, func(c *Config) { c.BearerToken = token }, nil)
	e.fakes[0].srv.Close()
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	_, retryable := alerting.IsRetryable(err)
	require.True(t, retryable, "%v", err)
	require.ErrorContains(t, err, "/api/v2/alerts: dial tcp")
	e.assertNoSecret(t, err)

	e = newEnv(t, 1, nil, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = e.n.Notify(ctx, groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	_, retryable = alerting.IsRetryable(err)
	require.True(t, retryable)
	require.ErrorIs(t, err, context.Canceled)
}

func TestWithTimeout(t *testing.T) {
	require.Equal(t, DefaultTimeout, withTimeout(nil).Timeout)
	mine := &http.Client{}
	got := withTimeout(mine)
	require.Equal(t, DefaultTimeout, got.Timeout)
	require.Zero(t, mine.Timeout, "the caller's client is not changed")
	short := &http.Client{Timeout: time.Second}
	require.Same(t, short, withTimeout(short))
}
