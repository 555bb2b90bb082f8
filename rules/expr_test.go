package rules

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestExprCompoundCondition(t *testing.T) {
	r := loadRules(t, `rules:
- name: QualityAndDrift
  expr: quality.accuracy < 0.85 && drift.share > 0.3
  for: 2m
  min_samples: 100
  annotations:
    summary: '{{ index .Values "quality.accuracy" }} {{ index .Values "drift.share" }} {{ .Value }} {{ .Samples }}'
`)[0]
	require.Equal(t, []Signal{"quality.accuracy", "drift.share"}, r.Signals())
	m := newManager(t, []*Rule{r})
	src := func(acc, share float64, n int) fakeSource {
		return fakeSource{}.set("m", "quality.accuracy", vs(acc, n)).set("m", "drift.share", vs(share, n))
	}
	steps := []struct {
		acc, share float64
		n          int
		want       string
	}{
		{0.9, 0.5, 1000, "none"},      // accuracy fine
		{0.8, 0.1, 1000, "none"},      // drift fine
		{0.8, 0.5, 1000, "pending"},   // both
		{0.8, 0.5, 10, "pending"},     // too few samples: kept, clock stopped
		{0.8, 0.5, 1000, "pending"},   // 1 interval after the gap does not count
		{0.8, 0.5, 1000, "pending"},   // held 1m
		{0.8, 0.5, 1000, "firing"},    // held 2m
		{0.95, 0.5, 1000, "resolved"}, // accuracy back
	}
	var alerts []*Alert
	for i, s := range steps {
		alerts = m.Eval(context.Background(), at(i), src(s.acc, s.share, s.n))
		require.Equal(t, s.want, stateOf(alerts, "QualityAndDrift", key{model: "m"}), "step %d", i)
	}
	a := find(alerts, "QualityAndDrift", key{model: "m"})
	require.Equal(t, map[string]float64{"quality.accuracy": 0.95, "drift.share": 0.5}, a.Values)
	require.Equal(t, 0.0, a.Value)
	require.Equal(t, "0.95 0.5 0 1000", a.Annotations["summary"])

	t.Run("a missing signal is no data", func(t *testing.T) {
		m := newManager(t, []*Rule{r})
		alerts := m.Eval(context.Background(), at(0), src(0.8, 0.5, 1000))
		require.Equal(t, "pending", stateOf(alerts, "QualityAndDrift", key{model: "m"}))
		alerts = m.Eval(context.Background(), at(1), fakeSource{}.set("m", "quality.accuracy", v(0.8)))
		a := find(alerts, "QualityAndDrift", key{model: "m"})
		require.Equal(t, StatePending, a.State)
		require.True(t, a.NoData)
	})
}

func TestExprJoinsModelLevelWithFeatures(t *testing.T) {
	r := loadRules(t, `rules:
- name: DriftHurts
  expr: drift.psi > 0.2 && quality.accuracy < 0.9 && data.missing_ratio < 0.5
`)[0]
	m := newManager(t, []*Rule{r})
	src := fakeSource{}.
		set("m", "quality.accuracy", v(0.8), Value{Segment: "country=DE", Value: 0.95, Samples: 1 << 20}).
		set("m", "drift.psi", vf("amount", 0.3), vf("age", 0.1), vf("city", 0.4),
			Value{Feature: "amount", Segment: "country=DE", Value: 0.3, Samples: 1 << 20}).
		set("m", "data.missing_ratio", vf("amount", 0.1), vf("age", 0.1))
	alerts := m.Eval(context.Background(), at(0), src)
	var got []string
	for _, a := range alerts {
		got = append(got, a.Feature+"|"+a.Segment)
	}
	// amount: overall accuracy 0.8, drifted, few missing → fires.
	// age: not drifted. city: no missing ratio → not a candidate.
	// amount in country=DE: accuracy there is 0.95 → no alert; its missing
	// ratio comes from the feature's overall value.
	require.Equal(t, []string{"amount|"}, got)
	require.Equal(t, map[string]float64{"drift.psi": 0.3, "quality.accuracy": 0.8, "data.missing_ratio": 0.1}, alerts[0].Values)
}

func TestExprNumericWithHysteresis(t *testing.T) {
	r := loadRules(t, `rules:
- name: CanaryWorse
  expr: quality.accuracy - canary.agreement
  op: ">"
  threshold: 0.1
  clear: 0.05
`)[0]
	m := newManager(t, []*Rule{r})
	for i, s := range []struct {
		acc, agr float64
		want     string
	}{
		{0.9, 0.85, "none"}, {0.9, 0.75, "firing"}, {0.9, 0.82, "firing"}, {0.9, 0.86, "resolved"},
	} {
		src := fakeSource{}.set("m", "quality.accuracy", v(s.acc)).set("m", "canary.agreement", v(s.agr))
		alerts := m.Eval(context.Background(), at(i), src)
		require.Equal(t, s.want, stateOf(alerts, "CanaryWorse", key{model: "m"}), "step %d", i)
		if s.want == "firing" {
			require.InDelta(t, s.acc-s.agr, find(alerts, "CanaryWorse", key{model: "m"}).Value, 1e-12)
		}
	}
}

func TestExprMathAndMixedNumbers(t *testing.T) {
	r := loadRules(t, `rules:
- name: Anomalous
  expr: math.abs(anomaly.mean_score) > 4 || staleness >= 900
`)[0]
	require.Equal(t, []Signal{"anomaly.mean_score", "staleness"}, r.Signals())
	m := newManager(t, []*Rule{r})
	for i, s := range []struct {
		score, stale float64
		want         string
	}{
		{-5, 10, "firing"}, {1, 10, "resolved"}, {1, 900, "firing"},
	} {
		src := fakeSource{}.set("m", "anomaly.mean_score", v(s.score)).set("m", "staleness", v(s.stale))
		require.Equal(t, s.want, stateOf(m.Eval(context.Background(), at(i), src), "Anomalous", key{model: "m"}), "step %d", i)
	}
}

func TestExprRuntimeFailureIsCounted(t *testing.T) {
	r := loadRules(t, `rules:
- name: Broken
  expr: int(quality.accuracy * 1e300 * 1e300) > 0
`)[0]
	reg := prometheus.NewPedanticRegistry()
	m := NewManager(Options{Registerer: reg})
	m.Update([]*Rule{r}, []string{"m", "n"})
	src := fakeSource{}.set("m", "quality.accuracy", v(1)).set("n", "quality.accuracy", v(1))
	require.Empty(t, m.Eval(context.Background(), at(0), src))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP vigil_rule_evaluation_failures_total Rule evaluations that failed: an expression or an annotation template returned an error.
# TYPE vigil_rule_evaluation_failures_total counter
vigil_rule_evaluation_failures_total{rule="Broken"} 1
`), "vigil_rule_evaluation_failures_total"))
}

func TestExprSignalOrderAndDedup(t *testing.T) {
	p, err := compileExpr("staleness > 1.0 || drift.p_value.ks < 0.01 || staleness > 2.0 || (drift.psi > 0.1 && drift.p_value.ks < 0.1)")
	require.NoError(t, err)
	require.Equal(t, []Signal{"staleness", "drift.p_value.ks", "drift.psi"}, p.signals)
	require.True(t, p.boolean)

	_, err = compileExpr(strings.Repeat("staleness + ", 400) + "1.0 > 0.0")
	require.Error(t, err)
}
