package rules

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

// loadRules loads a rule file from YAML whose lines may be indented as Go
// source is; tabs become spaces.
func loadRules(t testing.TB, src string) []*Rule {
	t.Helper()
	rules, err := Load([]byte(strings.ReplaceAll(src, "\t", "  ")))
	require.NoError(t, err)
	return rules
}

// fakeSource serves values by model and signal.
type fakeSource map[string][]Value

func (f fakeSource) Values(model, signal string) []Value { return f[model+"|"+signal] }

func (f fakeSource) set(model, signal string, vals ...Value) fakeSource {
	for i := range vals {
		vals[i].Model = model
	}
	f[model+"|"+signal] = vals
	return f
}

// v is a value with enough samples.
func v(x float64) Value { return Value{Value: x, Samples: 1 << 20} }

// vs is a value with a sample count.
func vs(x float64, n int) Value { return Value{Value: x, Samples: n} }

// vf is a feature's value with enough samples.
func vf(feature string, x float64) Value { return Value{Feature: feature, Value: x, Samples: 1 << 20} }

// none marks a step without a value.
var none = math.NaN()

// stateOf names the state of the alert of rule for key k among alerts:
// "none", "pending", "firing" or "resolved".
func stateOf(alerts []*Alert, rule string, k key) string {
	for _, a := range alerts {
		if a.Rule == rule && a.Model == k.model && a.Feature == k.feature && a.Segment == k.segment && a.Version == k.version {
			if a.State == StateInactive {
				return "resolved"
			}
			return a.State.String()
		}
	}
	return "none"
}

func find(alerts []*Alert, rule string, k key) *Alert {
	for _, a := range alerts {
		if a.Rule == rule && a.Model == k.model && a.Feature == k.feature && a.Segment == k.segment && a.Version == k.version {
			return a
		}
	}
	return nil
}

// step is one evaluation of a scripted single-value series: the value of
// model "m" at minute min (none: no value), and the state expected after.
type step struct {
	min  int
	val  float64
	want string
}

// script evaluates one rule over model "m" and checks every step.
func script(t *testing.T, m *Manager, r *Rule, steps []step) []*Alert {
	t.Helper()
	var alerts []*Alert
	sig := string(r.Signals()[0])
	for _, s := range steps {
		src := fakeSource{}
		if !math.IsNaN(s.val) {
			src.set("m", sig, v(s.val))
		}
		alerts = m.Eval(context.Background(), at(s.min), src)
		require.Equal(t, s.want, stateOf(alerts, r.Name(), key{model: "m"}), "at minute %d, value %v", s.min, s.val)
	}
	return alerts
}

func newManager(t testing.TB, rules []*Rule, models ...string) *Manager {
	t.Helper()
	m := NewManager(Options{})
	if len(models) == 0 {
		models = []string{"m"}
	}
	m.Update(rules, models)
	return m
}
