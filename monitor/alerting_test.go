package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// webhookSink records what a webhook receiver is sent.
type webhookSink struct {
	mu   sync.Mutex
	msgs []map[string]any
}

func (s *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m map[string]any
	b, _ := io.ReadAll(r.Body)
	if json.Unmarshal(b, &m) == nil {
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		s.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
}

func (s *webhookSink) received() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.msgs...)
}

func TestRulesToWebhook(t *testing.T) {
	sink := &webhookSink{}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
global: {evaluation_interval: 1h, storage_path: %s}
models:
  - {name: fraud, task: binary_classification}
rules:
  - name: DeadFeed
    signal: staleness
    op: ">"
    threshold: 60
    severity: critical
    annotations: {summary: "no events for {{ printf \"%%.0f\" .Value }}s"}
route:
  receiver: hook
  group_by: [alertname, model]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{url: %q}]
`, filepath.Join(dir, "data"), srv.URL)
	path := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	clock := newFakeClock()
	start := func() *Monitor {
		m, err := New(Options{ConfigFile: path, ListenAddress: "127.0.0.1:0", Now: clock.Now, Registry: prometheus.NewRegistry(), Console: io.Discard})
		require.NoError(t, err)
		require.NoError(t, m.Start())
		return m
	}
	m := start()
	base := "http://" + m.Addr().String()

	m.Evaluate(clock.Add(2 * time.Minute))
	require.Eventually(t, func() bool { return len(sink.received()) == 1 }, 10*time.Second, 10*time.Millisecond)
	msg := sink.received()[0]
	require.Equal(t, "4", msg["version"])
	require.Equal(t, "firing", msg["status"])
	require.Equal(t, "hook", msg["receiver"])
	alert := msg["alerts"].([]any)[0].(map[string]any)
	require.Equal(t, map[string]any{"alertname": "DeadFeed", "model": "fraud", "severity": "critical"}, alert["labels"])
	require.Equal(t, "no events for 120s", alert["annotations"].(map[string]any)["summary"])

	// A silence through the API (Alertmanager's v2 shape), listed back.
	body := fmt.Sprintf(`{"matchers":[{"name":"alertname","value":"DeadFeed","isRegex":false,"isEqual":true}],"startsAt":%q,"endsAt":%q,"createdBy":"oncall","comment":"known outage"}`,
		clock.Now().Format(time.RFC3339), clock.Now().Add(time.Hour).Format(time.RFC3339))
	resp, err := http.Post(base+"/api/v1/silences", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	var created struct{ SilenceID string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, created.SilenceID)
	resp, err = http.Get(base + "/api/v1/silences")
	require.NoError(t, err)
	var sils []map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&sils))
	resp.Body.Close()
	require.Len(t, sils, 1)
	require.Equal(t, "known outage", sils[0]["comment"])
	resp, err = http.Post(base+"/api/v1/silences", "application/json", strings.NewReader(`{"matchers":[],"colour":1}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "unknown fields are refused")

	resp, err = http.Get(base + "/api/v1/alerts/history")
	require.NoError(t, err)
	var hist []map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&hist))
	resp.Body.Close()
	require.NotEmpty(t, hist, "transitions and the delivery are in the audit trail")

	// Restart on the same store: the page is in the notification log, so nothing is
	// sent again inside repeat_interval.
	require.NoError(t, m.Stop(context.Background()))
	m = start()
	defer func() { require.NoError(t, m.Stop(context.Background())) }()
	// Staleness of a model never seen counts from vigil's start, so two minutes after the
	// restart the alert (restored, still firing) is due again: it must not page twice.
	m.Evaluate(clock.Add(2 * time.Minute))
	a := *m.alerts.Load()
	require.Len(t, a, 1)
	require.Equal(t, "firing", a[0].State.String(), "restored, not started over")
	require.Equal(t, time.Date(2026, 11, 24, 10, 2, 0, 0, time.UTC), a[0].ActiveAt, "with its original start")
	// Tick flushes and delivers whatever is due, synchronously: a wrong re-send would
	// have reached the sink when it returns.
	m.alerting.d.Tick(context.Background(), clock.Now())
	require.Len(t, sink.received(), 1, "no second page after a restart")
	audit, err := os.ReadFile(filepath.Join(dir, "data", "audit.jsonl"))
	require.NoError(t, err)
	require.Contains(t, string(audit), "DeadFeed")
}

func TestAlertingConfigErrors(t *testing.T) {
	cases := map[string]struct{ cfg, want string }{
		"unknown receiver":    {"route: {receiver: nope}\nreceivers: [{name: hook}]\n", `receiver "nope"`},
		"unknown nested key":  {"route: {receiver: hook}\nreceivers:\n  - name: hook\n    webhook_configs: [{url: 'http://x', colour: red}]\n", "colour"},
		"missing secret file": {"route: {receiver: hook}\nreceivers:\n  - name: hook\n    webhook_configs: [{url_file: missing}]\n", "missing"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vigil.yaml")
			require.NoError(t, os.WriteFile(path, []byte(c.cfg), 0o600))
			_, err := LoadFile(path)
			require.ErrorContains(t, err, c.want)
		})
	}
}
