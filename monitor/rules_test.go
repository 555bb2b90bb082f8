package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

const rulesCfg = `
global: {evaluation_interval: 1h}
models:
  - name: fraud
    task: binary_classification
    window: {size: 100}
    features: [{name: country, type: categorical}]
rules:
  - name: AccuracyDrop
    models: ["fr*"]
    signal: quality.accuracy
    segment: ""
    op: "<"
    threshold: 0.8
    clear: 0.9
    for: 2m
    min_samples: 20
    severity: critical
    labels: {team: risk}
    annotations: {summary: '{{ .Model }} accuracy is {{ printf "%.2f" .Value }}'}
  - name: DeadFeed
    signal: staleness
    op: ">"
    threshold: 600
`

// labeled sends n predictions with labels, the first correct of them right.
func labeled(t *testing.T, d *testDaemon, start, n, correct int) {
	t.Helper()
	sendRows(t, d, n, func(i int) string {
		return fmt.Sprintf(`{"model":"fraud","id":"%d","features":{"country":"DE"},"prediction":1}`, start+i)
	})
	var b []byte
	for i := range n {
		label := 0
		if i < correct {
			label = 1
		}
		b = fmt.Appendf(b, `{"model":"fraud","id":"%d","label":%d}`+"\n", start+i, label)
	}
	r := d.post(t, "/api/v1/labels", "application/x-ndjson", string(b))
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
}

func alertsOf(t *testing.T, d *testDaemon) []AlertView {
	t.Helper()
	r := d.get(t, "/api/v1/alerts")
	require.Equal(t, http.StatusOK, r.status)
	var l AlertList
	require.NoError(t, json.Unmarshal(r.body, &l))
	return l.Alerts
}

func TestRulesFireAndResolve(t *testing.T) {
	d := startDaemon(t, rulesCfg)
	labeled(t, d, 0, 100, 95)
	d.m.Evaluate(d.clock.Add(time.Minute))
	require.Empty(t, alertsOf(t, d))

	labeled(t, d, 100, 100, 70) // the window is now the last 100 pairs: accuracy 0.70
	d.m.Evaluate(d.clock.Add(time.Minute))
	a := alertsOf(t, d)
	require.Len(t, a, 1)
	require.Equal(t, "pending", a[0].State)
	require.Equal(t, map[string]string{"alertname": "AccuracyDrop", "model": "fraud", "severity": "critical", "team": "risk"}, a[0].Labels)
	require.Equal(t, "fraud accuracy is 0.70", a[0].Annotations["summary"])
	require.Equal(t, 0.7, *a[0].Value)

	d.m.Evaluate(d.clock.Add(time.Minute))
	require.Equal(t, "pending", alertsOf(t, d)[0].State, "1m of 2m")
	d.m.Evaluate(d.clock.Add(time.Minute))
	a = alertsOf(t, d)
	require.Equal(t, "firing", a[0].State)
	body := string(d.get(t, "/metrics").body)
	require.Contains(t, body, `vigil_alerts{rule="AccuracyDrop",severity="critical",state="firing"} 1`)

	// 0.85 is above the threshold but below clear: still firing (hysteresis).
	labeled(t, d, 200, 100, 85)
	d.m.Evaluate(d.clock.Add(time.Minute))
	require.Equal(t, "firing", alertsOf(t, d)[0].State)
	lastPost := d.clock.Now()
	labeled(t, d, 300, 100, 95)
	d.m.Evaluate(d.clock.Add(time.Minute))
	a = alertsOf(t, d)
	require.Equal(t, "resolved", a[0].State)
	require.NotNil(t, a[0].ResolvedAt)

	// A dead feed: staleness passes 600 s.
	d.m.Evaluate(d.clock.Add(11 * time.Minute))
	var dead *AlertView
	for i, v := range alertsOf(t, d) {
		if v.Rule == "DeadFeed" {
			dead = &alertsOf(t, d)[i]
		}
	}
	require.NotNil(t, dead)
	require.Equal(t, "firing", dead.State, "no for: fires at once")
	require.Equal(t, d.clock.Now().Sub(lastPost).Seconds(), *dead.Value, "seconds since the last event")
}

func TestRulesConfigErrors(t *testing.T) {
	cases := map[string]struct{ rule, want string }{
		"unknown signal":   {"  - {name: A, signal: quality.acuracy, op: '<', threshold: 1}\n", `rules[0]`},
		"unknown key":      {"  - {name: A, signal: quality.accuracy, op: '<', threshold: 1, treshold: 2}\n", "field treshold not found"},
		"bad template":     {"  - {name: A, signal: quality.accuracy, op: '<', threshold: 1, annotations: {s: '{{ .Nope }}'}}\n", "Nope"},
		"clear wrong side": {"  - {name: A, signal: quality.accuracy, op: '<', threshold: 0.8, clear: 0.7}\n", "clear"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "vigil.yaml")
			require.NoError(t, os.WriteFile(path, []byte("models: [{name: m, task: regression}]\nrules:\n"+c.rule), 0o600))
			_, err := LoadFile(path)
			require.ErrorContains(t, err, c.want)
			require.ErrorContains(t, err, "vigil.yaml:3")
		})
	}
}

// TestForClockSurvivesRestart stops vigil halfway through a rule's `for` and starts it
// again on the same storage: the alert fires when it would have without the restart
// (Prometheus drops `for` state under 10m: prometheus#15175).
func TestForClockSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`
global: {evaluation_interval: 1h, storage_path: %s}
models: [{name: fraud, task: regression}]
rules:
  - {name: Dead, signal: staleness, op: ">", threshold: 60, for: 4m}
`, filepath.Join(dir, "data"))), 0o600))
	clock := newFakeClock()
	start := func() *Monitor {
		m, err := New(Options{ConfigFile: path, ListenAddress: "127.0.0.1:0", Now: clock.Now, Registry: prometheus.NewRegistry()})
		require.NoError(t, err)
		return m
	}
	m := start()
	started := clock.Now()
	m.Evaluate(clock.Add(2 * time.Minute)) // staleness 120 s: pending
	require.Equal(t, "pending", (*m.alerts.Load())[0].State.String())
	activeAt := (*m.alerts.Load())[0].ActiveAt
	require.NoError(t, m.Stop(context.Background()))

	clock.Add(time.Minute) // vigil is down for a minute
	m = start()
	defer m.Stop(context.Background())
	m.start = started // staleness keeps counting from the first start, as it would with windows restored
	for clock.Now().Before(activeAt.Add(4*time.Minute - time.Minute)) {
		m.Evaluate(clock.Add(time.Minute))
		a := (*m.alerts.Load())[0]
		require.Equal(t, "pending", a.State.String(), "held %s of 4m", clock.Now().Sub(activeAt))
		require.Equal(t, activeAt, a.ActiveAt)
	}
	m.Evaluate(clock.Add(time.Minute))
	a := (*m.alerts.Load())[0]
	require.Equal(t, activeAt.Add(4*time.Minute), clock.Now())
	require.Equal(t, "firing", a.State.String(), "fires 4m after it went pending, as without the restart")
	require.Equal(t, activeAt, a.ActiveAt)

	// A damaged state file does not keep vigil down.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data", ruleStateFile), []byte("{not json"), 0o600))
	m2 := start()
	require.Empty(t, m2.rules.State())
}
