package rules

import (
	"context"
	"errors"
	"math"
	"os"
	"testing"
	"time"
)

// FuzzLoad checks that no rule file makes the loader panic, that every
// error is an *Error, and that every rule it accepts evaluates.
func FuzzLoad(f *testing.F) {
	if b, err := os.ReadFile("testdata/rules.yml"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"rules: []",
		"rules:\n- {name: R, signal: quality.accuracy, op: '<', threshold: 0.5, clear: 0.6, for: 5m}\n",
		"rules:\n- {name: R, expr: 'quality.accuracy < 0.9 && drift.share > 0.3', for: 1m}\n",
		"rules:\n- {name: R, expr: 'math.abs(anomaly.x) - 1.0', op: '>', threshold: 0}\n",
		"rules:\n- {name: R, signal: staleness, op: '>', threshold: 900, no_data: alert, labels: {a: b}, annotations: {s: '{{ .Value }}'}}\n",
		"rules:\n- name: R\n  signal: drift.p_value.ks\n  feature: 'a*'\n  segment: ''\n  op: '<='\n  threshold: 0.01\n",
		"rules:\n- {name: R, signal: x}\n",
		"rules:\n- {name: R, annotations: {s: '{{'}}}\n",
		"rules: [{name: A}, {name: A}]",
		"rules:\n  - &a {name: A}\n  - *a\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := Load(data)
		if err != nil {
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		m := NewManager(Options{})
		m.Update(rules, []string{"m"})
		src := SourceFunc(func(model, signal string) []Value {
			return []Value{{Model: model, Value: 0.5, Samples: 1000}, {Model: model, Feature: "f", Value: math.NaN()}}
		})
		for i := range 3 {
			m.Eval(context.Background(), t0.Add(time.Duration(i)*time.Minute), src)
		}
		m.Restore(m.State())
	})
}

// FuzzParseSeries checks that the series notation never panics and that
// what it accepts stays within bounds.
func FuzzParseSeries(f *testing.F) {
	for _, s := range []string{"", "1 2 3", "-2+4x3", "1-2x4", "1x4", "_x3 stale _", "1e-3-1e-4x2", "Inf NaN", "0x10", "1x1048575"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pts, err := parseSeries(s)
		if err != nil {
			return
		}
		if len(pts) > maxSeriesPoints {
			t.Fatalf("%d points", len(pts))
		}
	})
}
