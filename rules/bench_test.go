package rules

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// benchSource holds 1,000 models × 50 features of every signal the
// benchmark rules read; feature 0 of every model is drifted.
type benchSource struct {
	vals map[string]map[string][]Value // model, signal
}

func (s *benchSource) Values(model, signal string) []Value { return s.vals[model][signal] }

func newBenchSource(models, features int) (*benchSource, []string) {
	s := &benchSource{vals: map[string]map[string][]Value{}}
	names := make([]string, models)
	for m := range models {
		names[m] = fmt.Sprintf("model-%04d", m)
		s.vals[names[m]] = map[string][]Value{}
		for _, sig := range []string{"drift.psi", "data.missing_ratio", "drift.p_value.ks", "data.out_of_range_ratio"} {
			vals := make([]Value, features)
			for f := range features {
				x := 0.01 + float64(f%7)/1000
				if f == 0 {
					x = 0.5 // drifted, missing, out of range
					if sig == "drift.p_value.ks" {
						x = 0.0001
					}
				}
				vals[f] = Value{Model: names[m], Feature: fmt.Sprintf("feature_%02d", f), Value: x, Samples: 5000}
			}
			s.vals[names[m]][sig] = vals
		}
	}
	return s, names
}

const benchRules = `rules:
  - {name: Drift, signal: drift.psi, op: ">", threshold: 0.2, clear: 0.1, for: 5m, min_samples: 100,
     annotations: {summary: "{{ .Feature }} of {{ .Model }}: PSI {{ humanize .Value }}"}}
  - {name: Missing, signal: data.missing_ratio, op: ">", threshold: 0.1, for: 5m}
  - {name: KS, signal: drift.p_value.ks, op: "<", threshold: 0.001}
  - {name: Range, signal: data.out_of_range_ratio, op: ">", threshold: 0.05, keep_firing_for: 10m}
  - {name: DriftAndMissing, expr: "drift.psi > 0.25 && data.missing_ratio > 0.05", for: 5m}
`

// BenchmarkEval is one evaluation tick: 1,000 models × 50 features × 5
// rules (one of them a CEL expression over two signals), with 5,000 alerts
// (feature 0 of every model, for every rule) active.
func BenchmarkEval(b *testing.B) {
	src, models := newBenchSource(1000, 50)
	rules := loadRules(b, benchRules)
	m := NewManager(Options{})
	m.Update(rules, models)
	ts := t0
	for range 10 { // warm up: every alert firing
		m.Eval(context.Background(), ts, src)
		ts = ts.Add(time.Minute)
	}
	if n := len(m.Alerts()); n != 5000 {
		b.Fatalf("%d alerts, want 5000", n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.Eval(context.Background(), ts, src)
		ts = ts.Add(30 * time.Second)
	}
}

// BenchmarkEvalQuiet is the same tick with nothing drifted: the cost of
// rules that hold no alert.
func BenchmarkEvalQuiet(b *testing.B) {
	src, models := newBenchSource(1000, 50)
	for _, bySignal := range src.vals {
		for sig, vals := range bySignal {
			for i := range vals {
				vals[i].Value = 0.01
				if sig == "drift.p_value.ks" {
					vals[i].Value = 0.5
				}
			}
		}
	}
	m := NewManager(Options{})
	m.Update(loadRules(b, benchRules), models)
	ts := t0
	b.ReportAllocs()
	for b.Loop() {
		m.Eval(context.Background(), ts, src)
		ts = ts.Add(30 * time.Second)
	}
}
