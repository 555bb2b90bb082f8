package rules

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func rule(t *testing.T, fields string) *Rule {
	t.Helper()
	return loadRules(t, "rules:\n- name: R\n  signal: quality.accuracy\n  op: \"<\"\n  threshold: 0.5\n"+fields)[0]
}

func TestTransitions(t *testing.T) {
	tests := []struct {
		name   string
		fields string
		steps  []step
	}{
		{"for 0 fires at once", "", []step{
			{0, 0.9, "none"}, {1, 0.4, "firing"}, {2, 0.4, "firing"}, {3, 0.6, "resolved"}, {4, 0.6, "resolved"},
		}},
		{"pending then firing after for", "  for: 3m\n", []step{
			{0, 0.4, "pending"}, {1, 0.4, "pending"}, {2, 0.4, "pending"}, {3, 0.4, "firing"}, {4, 0.6, "resolved"},
		}},
		{"pending alert is dropped when the condition stops", "  for: 3m\n", []step{
			{0, 0.4, "pending"}, {1, 0.6, "none"}, {2, 0.4, "pending"}, {4, 0.4, "pending"}, {5, 0.4, "firing"},
		}},
		{"resolved alert is kept 15m then dropped", "", []step{
			{0, 0.4, "firing"}, {1, 0.6, "resolved"}, {16, 0.6, "resolved"}, {17, 0.6, "none"}, {18, 0.6, "none"},
		}},
		{"condition back after resolving starts a fresh alert", "  for: 2m\n", []step{
			{0, 0.4, "pending"}, {2, 0.4, "firing"}, {3, 0.6, "resolved"}, {4, 0.4, "pending"}, {5, 0.4, "pending"}, {6, 0.4, "firing"},
		}},
		{"keep_firing_for holds a cleared alert", "  keep_firing_for: 3m\n", []step{
			{0, 0.4, "firing"}, {1, 0.6, "firing"}, {2, 0.6, "firing"}, {3, 0.6, "firing"}, {4, 0.6, "resolved"},
		}},
		{"keep_firing_for restarts when the condition returns", "  keep_firing_for: 2m\n", []step{
			{0, 0.4, "firing"}, {1, 0.6, "firing"}, {2, 0.4, "firing"}, {3, 0.6, "firing"}, {4, 0.6, "firing"}, {5, 0.6, "resolved"},
		}},
		{"keep_firing_for does not hold a pending alert", "  for: 5m\n  keep_firing_for: 5m\n", []step{
			{0, 0.4, "pending"}, {1, 0.6, "none"},
		}},
		{"hysteresis: between threshold and clear does not flap", "  clear: 0.7\n  for: 2m\n", []step{
			{0, 0.4, "pending"}, {1, 0.6, "pending"}, {2, 0.4, "firing"}, {3, 0.6, "firing"}, {4, 0.69, "firing"},
			{5, 0.7, "resolved"}, {6, 0.6, "resolved"}, {7, 0.4, "pending"},
		}},
		{"without clear the same series flaps", "  for: 2m\n", []step{
			{0, 0.4, "pending"}, {1, 0.6, "none"}, {2, 0.4, "pending"}, {3, 0.6, "none"}, {4, 0.4, "pending"}, {5, 0.6, "none"},
		}},
		{"flapping with for 0 fires and resolves each time", "", []step{
			{0, 0.4, "firing"}, {1, 0.6, "resolved"}, {2, 0.4, "firing"}, {3, 0.6, "resolved"},
		}},
		{"flapping with clear stays firing", "  clear: 0.65\n", []step{
			{0, 0.4, "firing"}, {1, 0.6, "firing"}, {2, 0.4, "firing"}, {3, 0.6, "firing"}, {4, 0.65, "resolved"},
		}},
		{"NaN is no data and keeps the state", "  for: 1m\n", []step{
			{0, 0.4, "pending"}, {1, math.NaN(), "pending"}, {2, 0.4, "pending"}, {3, 0.4, "firing"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rule(t, tt.fields)
			script(t, newManager(t, []*Rule{r}), r, tt.steps)
		})
	}
}

func TestTimestamps(t *testing.T) {
	r := rule(t, "  for: 2m\n  keep_firing_for: 1m\n")
	m := newManager(t, []*Rule{r})
	alerts := script(t, m, r, []step{{0, 0.4, "pending"}, {1, 0.3, "pending"}})
	a := find(alerts, "R", key{model: "m"})
	require.Equal(t, at(0), a.ActiveAt)
	require.True(t, a.FiredAt.IsZero())
	require.Equal(t, 0.3, a.Value)
	require.Equal(t, at(1), a.LastEvalAt)

	alerts = script(t, m, r, []step{{2, 0.4, "firing"}, {3, 0.6, "firing"}})
	a = find(alerts, "R", key{model: "m"})
	require.Equal(t, at(0), a.ActiveAt)
	require.Equal(t, at(2), a.FiredAt)
	require.Equal(t, at(3), a.KeepFiringSince)
	require.False(t, a.Resolved())

	alerts = script(t, m, r, []step{{4, 0.6, "resolved"}})
	a = find(alerts, "R", key{model: "m"})
	require.Equal(t, at(4), a.ResolvedAt)
	require.True(t, a.KeepFiringSince.IsZero())
	require.True(t, a.Resolved())
	require.Equal(t, 0.6, a.Value)
}

func TestNoData(t *testing.T) {
	t.Run("keep stops the for clock", func(t *testing.T) {
		r := rule(t, "  for: 3m\n")
		script(t, newManager(t, []*Rule{r}), r, []step{
			{0, 0.4, "pending"}, {1, none, "pending"}, {2, none, "pending"}, {3, none, "pending"},
			// Back with data at 4m: only 4→5, 5→6, 6→7 count.
			{4, 0.4, "pending"}, {6, 0.4, "pending"}, {7, 0.4, "firing"},
		})
	})
	t.Run("keep holds a firing alert and marks it", func(t *testing.T) {
		r := rule(t, "")
		m := newManager(t, []*Rule{r})
		alerts := script(t, m, r, []step{{0, 0.4, "firing"}, {1, none, "firing"}, {60, none, "firing"}})
		a := find(alerts, "R", key{model: "m"})
		require.True(t, a.NoData)
		require.Equal(t, 0.4, a.Value, "the last judged value stays")
		alerts = script(t, m, r, []step{{61, 0.3, "firing"}})
		require.False(t, find(alerts, "R", key{model: "m"}).NoData)
	})
	t.Run("keep stops the keep_firing_for clock", func(t *testing.T) {
		r := rule(t, "  keep_firing_for: 2m\n")
		script(t, newManager(t, []*Rule{r}), r, []step{
			{0, 0.4, "firing"}, {1, 0.6, "firing"}, {2, none, "firing"}, {30, none, "firing"},
			{31, 0.6, "firing"}, {32, 0.6, "firing"}, {33, 0.6, "resolved"},
		})
	})
	t.Run("keep starts nothing", func(t *testing.T) {
		r := rule(t, "")
		script(t, newManager(t, []*Rule{r}), r, []step{{0, none, "none"}, {1, none, "none"}})
	})
	t.Run("ok resolves", func(t *testing.T) {
		r := rule(t, "  no_data: ok\n")
		script(t, newManager(t, []*Rule{r}), r, []step{{0, 0.4, "firing"}, {1, none, "resolved"}, {2, none, "resolved"}})
	})
	t.Run("ok drops a pending alert", func(t *testing.T) {
		r := rule(t, "  no_data: ok\n  for: 5m\n")
		script(t, newManager(t, []*Rule{r}), r, []step{{0, 0.4, "pending"}, {1, none, "none"}})
	})
	t.Run("ok resolves after keep_firing_for", func(t *testing.T) {
		r := rule(t, "  no_data: ok\n  keep_firing_for: 1m\n")
		script(t, newManager(t, []*Rule{r}), r, []step{{0, 0.4, "firing"}, {1, none, "firing"}, {2, none, "resolved"}})
	})
	t.Run("alert fires on a dead feed after for", func(t *testing.T) {
		r := rule(t, "  no_data: alert\n  for: 2m\n")
		m := newManager(t, []*Rule{r})
		alerts := script(t, m, r, []step{{0, 0.9, "none"}, {1, none, "pending"}, {2, none, "pending"}, {3, none, "firing"}})
		a := find(alerts, "R", key{model: "m"})
		require.True(t, a.NoData)
		require.True(t, a.WholeModel)
		require.Equal(t, at(1), a.ActiveAt)
		script(t, m, r, []step{{4, 0.9, "resolved"}})
	})
	t.Run("alert on a model never seen", func(t *testing.T) {
		r := rule(t, "  no_data: alert\n")
		m := newManager(t, []*Rule{r})
		alerts := m.Eval(context.Background(), at(0), fakeSource{})
		require.Len(t, alerts, 1)
		require.Equal(t, map[string]string{"alertname": "R", "model": "m", "severity": "warning"}, alerts[0].Labels)
		require.Equal(t, StateFiring, alerts[0].State)
		require.True(t, math.IsNaN(alerts[0].Value))
	})
	for _, mode := range []string{"keep", "ok", "alert"} {
		t.Run("min_samples with "+mode, func(t *testing.T) {
			r := rule(t, "  min_samples: 100\n  no_data: "+mode+"\n")
			m := newManager(t, []*Rule{r})
			src := fakeSource{}.set("m", "quality.accuracy", vs(0.4, 99))
			alerts := m.Eval(context.Background(), at(0), src)
			want := map[string]string{"keep": "none", "ok": "none", "alert": "firing"}[mode]
			require.Equal(t, want, stateOf(alerts, "R", key{model: "m"}))
			src.set("m", "quality.accuracy", vs(0.4, 100))
			alerts = m.Eval(context.Background(), at(1), src)
			require.Equal(t, "firing", stateOf(alerts, "R", key{model: "m"}))
			a := find(alerts, "R", key{model: "m"})
			require.False(t, a.NoData)
			require.Equal(t, 100, a.Samples)
			src.set("m", "quality.accuracy", vs(0.9, 3))
			alerts = m.Eval(context.Background(), at(2), src)
			want = map[string]string{"keep": "firing", "ok": "resolved", "alert": "firing"}[mode]
			require.Equal(t, want, stateOf(alerts, "R", key{model: "m"}))
			require.True(t, find(alerts, "R", key{model: "m"}).NoData)
		})
	}
	t.Run("alert: one feature without data alerts alone", func(t *testing.T) {
		r := loadRules(t, `rules:
- name: D
  signal: drift.psi
  op: ">"
  threshold: 0.2
  min_samples: 10
  no_data: alert
`)[0]
		m := newManager(t, []*Rule{r})
		src := fakeSource{}.set("m", "drift.psi", vf("a", 0.1), Value{Feature: "b", Value: 0.1, Samples: 3})
		alerts := m.Eval(context.Background(), at(0), src)
		require.Len(t, alerts, 1)
		require.Equal(t, "firing", stateOf(alerts, "D", key{model: "m", feature: "b"}))
		require.True(t, alerts[0].NoData)
		require.False(t, alerts[0].WholeModel)
	})
	t.Run("alert: a dead model is one alert, not one per feature", func(t *testing.T) {
		r := loadRules(t, `rules:
- name: D
  signal: drift.psi
  op: ">"
  threshold: 0.2
  min_samples: 10
  no_data: alert
`)[0]
		m := newManager(t, []*Rule{r})
		dead := fakeSource{}.set("m", "drift.psi", vs(0.1, 0), Value{Feature: "a", Samples: 0}, Value{Feature: "b", Samples: 1})
		alerts := m.Eval(context.Background(), at(0), dead)
		require.Len(t, alerts, 1)
		require.Equal(t, "firing", stateOf(alerts, "D", key{model: "m"}))
		require.True(t, alerts[0].WholeModel)
		alerts = m.Eval(context.Background(), at(1), fakeSource{})
		require.Len(t, alerts, 1)
		require.Equal(t, "firing", stateOf(alerts, "D", key{model: "m"}))
		// Data is back: the whole-model alert resolves.
		alerts = m.Eval(context.Background(), at(2), fakeSource{}.set("m", "drift.psi", vf("a", 0.1), vf("b", 0.1)))
		require.Len(t, alerts, 1)
		require.Equal(t, "resolved", stateOf(alerts, "D", key{model: "m"}))
	})
	t.Run("alert: no data does not revive a resolved alert", func(t *testing.T) {
		r := loadRules(t, `rules:
- name: D
  signal: drift.psi
  op: ">"
  threshold: 0.2
  no_data: alert
`)[0]
		m := newManager(t, []*Rule{r})
		m.Eval(context.Background(), at(0), fakeSource{}.set("m", "drift.psi", vf("a", 0.5), vf("b", 0.1)))
		m.Eval(context.Background(), at(1), fakeSource{}.set("m", "drift.psi", vf("a", 0.1), vf("b", 0.1)))
		// Feature a disappears while b still reports: a stays resolved.
		alerts := m.Eval(context.Background(), at(2), fakeSource{}.set("m", "drift.psi", vf("b", 0.1)))
		require.Equal(t, "resolved", stateOf(alerts, "D", key{model: "m", feature: "a"}))
	})
}

func TestGlobs(t *testing.T) {
	src := fakeSource{}
	for _, model := range []string{"fraud", "fraud-eu", "churn"} {
		src.set(model, "quality.accuracy",
			v(0.1),
			Value{Segment: "country=DE", Value: 0.1, Samples: 1 << 20},
			Value{Segment: "country=FR", Value: 0.1, Samples: 1 << 20},
			Value{Segment: "device=ios", Version: "v2", Value: 0.1, Samples: 1 << 20},
		)
		src.set(model, "drift.psi", vf("amount", 0.9), vf("age", 0.9), vf("country", 0.9))
	}
	tests := []struct {
		name   string
		fields string
		want   []string
	}{
		{"models glob", "  models: ['fraud*']\n  signal: quality.accuracy\n  segment: ''\n",
			[]string{"fraud", "fraud-eu"}},
		{"several model globs", "  models: [churn, 'fraud-??']\n  signal: quality.accuracy\n  segment: ''\n",
			[]string{"churn", "fraud-eu"}},
		{"no segment filter: every segment", "  models: [fraud]\n  signal: quality.accuracy\n",
			[]string{"fraud", "fraud/country=DE", "fraud/country=FR", "fraud/device=ios/v2"}},
		{"segment glob", "  models: [fraud]\n  signal: quality.accuracy\n  segment: 'country=*'\n",
			[]string{"fraud/country=DE", "fraud/country=FR"}},
		{"segment * is every segment", "  models: [fraud]\n  signal: quality.accuracy\n  segment: '*'\n",
			[]string{"fraud", "fraud/country=DE", "fraud/country=FR", "fraud/device=ios/v2"}},
		{"version glob", "  models: [fraud]\n  signal: quality.accuracy\n  version: 'v*'\n",
			[]string{"fraud/device=ios/v2"}},
		{"feature glob", "  models: [churn]\n  signal: drift.psi\n  op: '>'\n  feature: 'a*'\n",
			[]string{"churn/age", "churn/amount"}},
		{"feature character class", "  models: [churn]\n  signal: drift.psi\n  op: '>'\n  feature: '[^a]*'\n",
			[]string{"churn/country"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := tt.fields
			if !containsOp(fields) {
				fields += "  op: '<'\n"
			}
			r := loadRules(t, "rules:\n- name: G\n  threshold: 0.5\n"+fields)[0]
			m := newManager(t, []*Rule{r}, "fraud", "fraud-eu", "churn")
			var got []string
			for _, a := range m.Eval(context.Background(), at(0), src) {
				id := a.Model
				for _, p := range []string{a.Feature, a.Segment, a.Version} {
					if p != "" {
						id += "/" + p
					}
				}
				got = append(got, id)
			}
			require.ElementsMatch(t, tt.want, got)
		})
	}
}

func containsOp(s string) bool {
	for i := 0; i+3 <= len(s); i++ {
		if s[i:i+3] == "op:" {
			return true
		}
	}
	return false
}

func TestLabelsAndAnnotations(t *testing.T) {
	r := loadRules(t, `rules:
- name: FeatureDrift
  signal: drift.psi
  op: ">"
  threshold: 0.2
  clear: 0.1
  severity: critical
  labels: {team: risk, page: "yes"}
  annotations:
    summary: '{{ .Feature }} of {{ .Model }} ({{ .Segment }}, {{ .Version }}) drifted: PSI {{ printf "%.2f" .Value }} {{ .Op }} {{ .Threshold }}, clears at {{ .Clear }}'
    legacy: '{{ $labels.model }}/{{ $labels.feature }} = {{ $value }}'
    numbers: '{{ humanize 1234.5 }} {{ humanize .Samples }} {{ humanizePercentage .Value }} {{ humanizeDuration 3725 }} {{ toUpper .Severity }}'
    values: '{{ index .Values "drift.psi" }} {{ .Signal }} {{ .Rule }} {{ .NoData }} {{ .Labels.team }}'
`)[0]
	m := newManager(t, []*Rule{r}, "fraud")
	src := fakeSource{}.set("fraud", "drift.psi", Value{Feature: "amount", Segment: "country=DE", Version: "v3", Value: 0.25, Samples: 2000})
	alerts := m.Eval(context.Background(), at(0), src)
	require.Len(t, alerts, 1)
	a := alerts[0]
	require.Equal(t, map[string]string{
		"alertname": "FeatureDrift", "model": "fraud", "feature": "amount", "segment": "country=DE",
		"version": "v3", "severity": "critical", "team": "risk", "page": "yes",
	}, a.Labels)
	require.Equal(t, map[string]string{
		"summary": "amount of fraud (country=DE, v3) drifted: PSI 0.25 > 0.2, clears at 0.1",
		"legacy":  "fraud/amount = 0.25",
		"numbers": "1.234k 2k 25% 1h2m5s CRITICAL",
		"values":  "0.25 drift.psi FeatureDrift false risk",
	}, a.Annotations)
	require.Equal(t, map[string]float64{"drift.psi": 0.25}, a.Values)
	require.Equal(t, "critical", a.Severity)

	// The value moves; the identity does not.
	src.set("fraud", "drift.psi", Value{Feature: "amount", Segment: "country=DE", Version: "v3", Value: 0.5, Samples: 2000})
	b := m.Eval(context.Background(), at(1), src)[0]
	require.Equal(t, a.Labels, b.Labels)
	require.Equal(t, "amount of fraud (country=DE, v3) drifted: PSI 0.50 > 0.2, clears at 0.1", b.Annotations["summary"])
	for _, v := range b.Labels {
		require.NotContains(t, v, "0.5")
	}
	// The first alert's maps were not changed under the caller.
	require.Equal(t, "fraud/amount = 0.25", a.Annotations["legacy"])
}

func TestHumanize(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{0.0, "0"}, {1.0, "1"}, {999.0, "999"}, {1000.0, "1k"}, {1234567.0, "1.235M"}, {-2500.0, "-2.5k"},
		{0.5, "500m"}, {0.0012, "1.2m"}, {1.5e-7, "150n"}, {math.Inf(1), "+Inf"}, {math.NaN(), "NaN"},
		{42, "42"}, {"1500", "1.5k"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.in), func(t *testing.T) {
			got, err := humanize(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	_, err := humanize(struct{}{})
	require.Error(t, err)
	d, err := humanizeDuration(0.25)
	require.NoError(t, err)
	require.Equal(t, "250ms", d)
	d, err = humanizeDuration(math.Inf(1))
	require.NoError(t, err)
	require.Equal(t, "+Infs", d)
	p, err := humanizePercentage(0.1234)
	require.NoError(t, err)
	require.Equal(t, "12.34%", p)
}

func TestUpdate(t *testing.T) {
	rules := loadRules(t, `rules:
- {name: A, signal: quality.accuracy, op: "<", threshold: 0.5, for: 2m}
- {name: B, signal: quality.accuracy, op: "<", threshold: 0.5}
`)
	m := newManager(t, rules, "m", "n")
	src := fakeSource{}.set("m", "quality.accuracy", v(0.4)).set("n", "quality.accuracy", v(0.4))
	m.Eval(context.Background(), at(0), src)
	m.Eval(context.Background(), at(1), src)

	t.Run("a rule that keeps its name keeps its state", func(t *testing.T) {
		again := loadRules(t, `rules:
- {name: A, signal: quality.accuracy, op: "<", threshold: 0.5, for: 2m, severity: critical}
`)
		m.Update(again, []string{"m"})
		require.Len(t, m.Rules(), 1)
		alerts := m.Eval(context.Background(), at(2), src)
		require.Equal(t, "firing", stateOf(alerts, "A", key{model: "m"}), "for clock kept")
		a := find(alerts, "A", key{model: "m"})
		require.Equal(t, at(0), a.ActiveAt)
		require.Equal(t, "critical", a.Labels["severity"])
		// Model n is no longer configured: its pending alert is dropped.
		require.Equal(t, "none", stateOf(alerts, "A", key{model: "n"}))
		require.Equal(t, "none", stateOf(alerts, "B", key{model: "m"}), "rule B is gone")
	})
	t.Run("a firing alert of a model no longer matched resolves", func(t *testing.T) {
		m.Update(m.Rules(), nil)
		alerts := m.Eval(context.Background(), at(3), src)
		require.Equal(t, "resolved", stateOf(alerts, "A", key{model: "m"}))
		require.Equal(t, at(3), find(alerts, "A", key{model: "m"}).ResolvedAt)
	})
}

func TestEvalStopsOnCancelledContext(t *testing.T) {
	r := rule(t, "")
	m := newManager(t, []*Rule{r})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	alerts := m.Eval(ctx, at(0), fakeSource{}.set("m", "quality.accuracy", v(0.1)))
	require.Empty(t, alerts)
	require.Len(t, m.Eval(context.Background(), at(1), fakeSource{}.set("m", "quality.accuracy", v(0.1))), 1)
	require.Len(t, m.Alerts(), 1)
}

func TestDuplicateValuesCountOnce(t *testing.T) {
	r := rule(t, "")
	m := newManager(t, []*Rule{r})
	alerts := m.Eval(context.Background(), at(0), fakeSource{}.set("m", "quality.accuracy", v(0.1), v(0.9)))
	require.Len(t, alerts, 1)
	require.Equal(t, 0.1, alerts[0].Value)
}

func TestAlertsAreSorted(t *testing.T) {
	r := loadRules(t, "rules:\n- {name: D, signal: drift.psi, op: '>', threshold: 0.2}\n")[0]
	m := newManager(t, []*Rule{r}, "b", "a")
	src := fakeSource{}.set("a", "drift.psi", vf("z", 1), vf("y", 1)).set("b", "drift.psi", vf("x", 1))
	var got []string
	for _, a := range m.Eval(context.Background(), at(0), src) {
		got = append(got, a.Model+"/"+a.Feature)
	}
	require.Equal(t, []string{"a/y", "a/z", "b/x"}, got)
}

func TestEvalUsesOnlyTheGivenTime(t *testing.T) {
	// Evaluations far apart in wall-clock terms but given close timestamps
	// behave as the timestamps say.
	r := rule(t, "  for: 1h\n")
	m := newManager(t, []*Rule{r})
	src := fakeSource{}.set("m", "quality.accuracy", v(0.1))
	base := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, "pending", stateOf(m.Eval(context.Background(), base, src), "R", key{model: "m"}))
	require.Equal(t, "pending", stateOf(m.Eval(context.Background(), base.Add(59*time.Minute), src), "R", key{model: "m"}))
	// A clock that goes backwards adds no time.
	require.Equal(t, "pending", stateOf(m.Eval(context.Background(), base.Add(-time.Hour), src), "R", key{model: "m"}))
	require.Equal(t, "firing", stateOf(m.Eval(context.Background(), base.Add(time.Hour), src), "R", key{model: "m"}))
}
