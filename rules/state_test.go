package rules

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// restart saves the manager's state as JSON and restores it into a new one.
func restart(t *testing.T, m *Manager, rules []*Rule, models ...string) *Manager {
	t.Helper()
	b, err := json.Marshal(m.State())
	require.NoError(t, err)
	var snaps []Snapshot
	require.NoError(t, json.Unmarshal(b, &snaps))
	n := newManager(t, rules, models...)
	require.Equal(t, len(snaps), n.Restore(snaps))
	return n
}

func TestRestoreContinuesForClockExactly(t *testing.T) {
	// A rule with `for` under 10m, which Prometheus would not restore.
	r := rule(t, "  for: 5m\n")
	src := fakeSource{}.set("m", "quality.accuracy", v(0.4))

	// Uninterrupted, evaluating every 30s.
	ref := newManager(t, []*Rule{r})
	var refAlerts []*Alert
	for i := 0; i <= 10; i++ {
		refAlerts = ref.Eval(context.Background(), t0.Add(time.Duration(i)*30*time.Second), src)
	}
	want := find(refAlerts, "R", key{model: "m"})
	require.Equal(t, StateFiring, want.State)
	require.Equal(t, t0.Add(5*time.Minute), want.FiredAt)

	// The same with a restart after the 3m evaluation; the next evaluation
	// comes 30s later, as it would have.
	for _, stopAfter := range []int{0, 3, 6, 9} {
		m := newManager(t, []*Rule{r})
		for i := 0; i <= stopAfter; i++ {
			m.Eval(context.Background(), t0.Add(time.Duration(i)*30*time.Second), src)
		}
		m = restart(t, m, []*Rule{r})
		restored := m.Alerts()
		require.Len(t, restored, 1)
		require.Equal(t, StatePending, restored[0].State)
		require.Equal(t, t0, restored[0].ActiveAt)
		var alerts []*Alert
		for i := stopAfter + 1; i <= 10; i++ {
			ts := t0.Add(time.Duration(i) * 30 * time.Second)
			alerts = m.Eval(context.Background(), ts, src)
			wantState := "pending"
			if i >= 10 {
				wantState = "firing"
			}
			require.Equal(t, wantState, stateOf(alerts, "R", key{model: "m"}), "stop after %d, eval %d", stopAfter, i)
		}
		got := find(alerts, "R", key{model: "m"})
		require.Equal(t, want.ActiveAt, got.ActiveAt)
		require.Equal(t, want.FiredAt, got.FiredAt)
	}
}

func TestRestoreStates(t *testing.T) {
	r := rule(t, "  keep_firing_for: 3m\n  annotations: {summary: '{{ .Value }}'}\n")
	m := newManager(t, []*Rule{r}, "m", "n", "o")
	m.Eval(context.Background(), at(0), fakeSource{}.set("m", "quality.accuracy", v(0.4)).set("n", "quality.accuracy", v(0.4)).set("o", "quality.accuracy", v(0.4)))
	// m keeps firing for keep_firing_for, n resolves later, o stays firing.
	m.Eval(context.Background(), at(1), fakeSource{}.set("m", "quality.accuracy", v(0.6)).set("n", "quality.accuracy", v(0.6)).set("o", "quality.accuracy", v(0.3)))
	m.Eval(context.Background(), at(4), fakeSource{}.set("m", "quality.accuracy", v(0.6)).set("n", "quality.accuracy", v(0.6)).set("o", "quality.accuracy", v(0.3)))
	m.Eval(context.Background(), at(5), fakeSource{}.set("m", "quality.accuracy", v(0.6)).set("n", "quality.accuracy", v(0.6)).set("o", "quality.accuracy", v(0.3)))
	before := m.Alerts()
	require.Equal(t, "resolved", stateOf(before, "R", key{model: "m"}))

	snaps := m.State()
	require.Len(t, snaps, 3)
	b, err := json.Marshal(snaps)
	require.NoError(t, err)
	require.Contains(t, string(b), `"state":"firing"`)
	require.Contains(t, string(b), `"resolved_at":"2026-11-24T10:04:00Z"`)
	require.NotContains(t, string(b), "0001-01-01", "zero times are left out")

	n := restart(t, m, []*Rule{r}, "m", "n", "o")
	after := n.Alerts()
	require.Equal(t, len(before), len(after))
	for i := range before {
		require.Equal(t, *before[i], *after[i], "alert %d survives the restart as it was", i)
	}

	t.Run("keep_firing_for continues", func(t *testing.T) {
		m := newManager(t, []*Rule{r})
		script(t, m, r, []step{{0, 0.4, "firing"}, {1, 0.6, "firing"}, {2, 0.6, "firing"}})
		m = restart(t, m, []*Rule{r})
		script(t, m, r, []step{{3, 0.6, "firing"}, {4, 0.6, "resolved"}})
	})
	t.Run("unknown rules and states are dropped", func(t *testing.T) {
		m := newManager(t, []*Rule{r})
		require.Equal(t, 0, m.Restore([]Snapshot{{Rule: "Gone", Model: "m", State: StateFiring}, {Rule: "R", Model: "m", State: 7}}))
		require.Empty(t, m.Alerts())
	})
	t.Run("a restored alert of a model no longer configured resolves", func(t *testing.T) {
		m := newManager(t, []*Rule{r}, "other")
		require.Equal(t, 1, m.Restore([]Snapshot{{Rule: "R", Model: "m", State: StateFiring, ActiveAt: at(0), FiredAt: at(0), LastEvalAt: at(0), LastVerdict: true}}))
		require.Equal(t, "resolved", stateOf(m.Eval(context.Background(), at(1), fakeSource{}), "R", key{model: "m"}))
	})
	t.Run("bad state names fail to decode", func(t *testing.T) {
		var s Snapshot
		require.Error(t, json.Unmarshal([]byte(`{"state":"burning"}`), &s))
		_, err := State(9).MarshalText()
		require.Error(t, err)
		require.Equal(t, "State(9)", State(9).String())
	})
}

func TestMetrics(t *testing.T) {
	rules := loadRules(t, `rules:
- {name: Slow, signal: quality.accuracy, op: "<", threshold: 0.5, for: 5m, severity: critical}
- {name: Fast, signal: quality.accuracy, op: "<", threshold: 0.5}
`)
	reg := prometheus.NewPedanticRegistry()
	m := NewManager(Options{Registerer: reg})
	m.Update(rules, []string{"a", "b"})
	expect := func(pendingSlow, firingSlow, pendingFast, firingFast int) string {
		return strings.NewReplacer("PS", strconv.Itoa(pendingSlow), "FS", strconv.Itoa(firingSlow), "PF", strconv.Itoa(pendingFast), "FF", strconv.Itoa(firingFast)).Replace(`
# HELP vigil_alerts Alerts by rule, severity and state (pending or firing).
# TYPE vigil_alerts gauge
vigil_alerts{rule="Fast",severity="warning",state="firing"} FF
vigil_alerts{rule="Fast",severity="warning",state="pending"} PF
vigil_alerts{rule="Slow",severity="critical",state="firing"} FS
vigil_alerts{rule="Slow",severity="critical",state="pending"} PS
# HELP vigil_rule_evaluation_failures_total Rule evaluations that failed: an expression or an annotation template returned an error.
# TYPE vigil_rule_evaluation_failures_total counter
vigil_rule_evaluation_failures_total{rule="Fast"} 0
vigil_rule_evaluation_failures_total{rule="Slow"} 0
`)
	}
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(expect(0, 0, 0, 0))), "pre-initialised")

	src := fakeSource{}.set("a", "quality.accuracy", v(0.4)).set("b", "quality.accuracy", v(0.4))
	m.Eval(context.Background(), at(0), src)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(expect(2, 0, 0, 2))))
	m.Eval(context.Background(), at(5), src)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(expect(0, 2, 0, 2))))
	src.set("a", "quality.accuracy", v(0.9))
	m.Eval(context.Background(), at(6), src)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(expect(0, 1, 0, 1))), "resolved alerts are not counted")

	// A reload drops the series of removed rules.
	m.Update(rules[1:], []string{"a", "b"})
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP vigil_alerts Alerts by rule, severity and state (pending or firing).
# TYPE vigil_alerts gauge
vigil_alerts{rule="Fast",severity="warning",state="firing"} 1
vigil_alerts{rule="Fast",severity="warning",state="pending"} 0
`), "vigil_alerts"))
}
