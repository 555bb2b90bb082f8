package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
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

const hookPath = "/hooks/SECRETHOOKPATH"

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
		Annotations: map[string]string{"summary": "fraud accuracy is 0.79 in country=FR", "value": "0.790 (set by the rule)"},
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
		Receiver:    "team-hook",
		GroupKey:    `{}/{severity="critical"}:{alertname="AccuracyDrop", model="fraud"}`,
		Status:      status,
		GroupLabels: map[string]string{"alertname": "AccuracyDrop", "model": "fraud"},
		CommonLabels: map[string]string{
			"alertname": "AccuracyDrop", "model": "fraud", "version": "v3", "severity": "critical", "team": "risk",
		},
		Alerts:      alerts,
		ExternalURL: "http://vigil.example:9780",
	}
}

// ---- Fake receiver ----

type request struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

type fakeHook struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []request
	respond func(w http.ResponseWriter, r *http.Request) bool
}

func newFakeHook(t *testing.T) *fakeHook {
	f := &fakeHook{}
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
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeHook) take() []request {
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
	fake *fakeHook
	n    *Notifier
	logs *bytes.Buffer
}

func newEnv(t *testing.T, mod func(c *Config), client *http.Client) *env {
	t.Helper()
	fake := newFakeHook(t)
	c := DefaultConfig()
	c.URL = Secret(fake.srv.URL + hookPath + "?token=SECRETQUERY")
	if mod != nil {
		mod(&c)
	}
	logs := &bytes.Buffer{}
	n, err := New(c, Options{
		HTTPClient: client,
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        func() time.Time { return now },
	})
	require.NoError(t, err)
	return &env{fake: fake, n: n, logs: logs}
}

func (e *env) assertNoSecret(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{"SECRETHOOKPATH", "SECRETQUERY"} {
		if err != nil {
			require.NotContains(t, err.Error(), s)
		}
		require.NotContains(t, e.logs.String(), s)
	}
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
			state, err := e.n.Notify(t.Context(), tt.msg)
			require.NoError(t, err)
			require.Nil(t, state)
			reqs := e.fake.take()
			require.Len(t, reqs, 1)
			require.Equal(t, hookPath+"?token=SECRETQUERY", reqs[0].Path)
			reqs[0].Path = "/hooks/<secret>"
			checkGolden(t, tt.golden, reqs)
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
	require.Empty(t, e.fake.take())
}

func TestErrors(t *testing.T) {
	httpDate := now.Add(90 * time.Second).Format(http.TimeFormat)
	status := func(code int, header, body string) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if header != "" {
				w.Header().Set("Retry-After", header)
			}
			w.WriteHeader(code)
			_, _ = io.WriteString(w, body)
			return true
		}
	}
	echo := func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "bad token in %s (query %s)", r.URL.RequestURI(), r.URL.RawQuery)
		return true
	}
	tests := []struct {
		name      string
		respond   func(w http.ResponseWriter, r *http.Request) bool
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
			e.fake.respond = tt.respond
			_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
			if tt.err == "" && !tt.retryable {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
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
			e := newEnv(t, setup.cfg, setup.client)
			e.fake.respond = func(w http.ResponseWriter, r *http.Request) bool {
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
			e.assertNoSecret(t, err)
		})
	}
}

func TestTransportErrors(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.srv.Close()
	_, err := e.n.Notify(t.Context(), groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	_, retryable := alerting.IsRetryable(err)
	require.True(t, retryable, "%v", err)
	require.ErrorContains(t, err, "webhook: Post http://127.0.0.1")
	require.ErrorContains(t, err, "/<secret>: dial tcp")
	e.assertNoSecret(t, err)

	e = newEnv(t, nil, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = e.n.Notify(ctx, groupMsg(alerting.StatusFiring, accuracyAlerts(false)))
	_, retryable = alerting.IsRetryable(err)
	require.True(t, retryable)
	require.ErrorIs(t, err, context.Canceled)
	e.assertNoSecret(t, err)
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
