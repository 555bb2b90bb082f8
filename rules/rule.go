package rules

import (
	"fmt"
	"maps"
	"math"
	"path"
	"slices"
	"text/template"
	"time"
)

// Value is one value of a signal for a model, as the [Source] reports it.
// Feature is empty for model-level signals (quality, drift.share, events,
// staleness); Segment is empty for the model as a whole and Version for all
// versions together. Samples is the number of samples the value was
// computed from; it is compared with a rule's min_samples.
type Value struct {
	Model, Version, Feature, Segment string
	Value                            float64
	Samples                          int
}

// Source reports a model's current values of a signal, one per (feature,
// segment, version); when a place is reported twice, which value counts is
// unspecified. The daemon adapts its statistics to it; the test runner
// replays series through it. It is called from [Manager.Eval] only, never
// concurrently, and the returned slice is not kept: it is read before the
// next call and never modified.
type Source interface {
	Values(model, signal string) []Value
}

// SourceFunc adapts a function to [Source].
type SourceFunc func(model, signal string) []Value

// Values calls f(model, signal).
func (f SourceFunc) Values(model, signal string) []Value { return f(model, signal) }

// Rule is a compiled, validated rule. It holds no alert state (the
// [Manager] does) and is safe for concurrent use.
type Rule struct {
	cfg       Config
	signals   []Signal // what the rule reads: one for a signal rule
	windowed  []bool   // signals[i].Windowed()
	expr      *program // nil for a signal rule
	hasOp     bool     // op/threshold apply (signal rules and numeric exprs)
	threshold float64
	clear     float64
	forDur    time.Duration
	keepFor   time.Duration
	feature   glob
	segment   glob
	version   glob
	annots    []annotation
}

type annotation struct {
	name string
	tmpl *template.Template
}

// glob matches a value against an optional path.Match pattern.
type glob struct {
	set     bool
	pattern string
}

func newGlob(p *string) glob {
	if p == nil || *p == "*" {
		return glob{} // "*" alone matches everything, even values with a "/"
	}
	return glob{set: true, pattern: *p}
}

func (g glob) match(s string) bool {
	if !g.set {
		return true
	}
	if g.pattern == s {
		return true
	}
	ok, _ := path.Match(g.pattern, s)
	return ok
}

// Name returns the rule's name, its alerts' alertname.
func (r *Rule) Name() string { return r.cfg.Name }

// Severity returns the rule's severity.
func (r *Rule) Severity() string { return r.cfg.Severity }

// Config returns a copy of the rule's config, with defaults filled in.
func (r *Rule) Config() Config { return r.cfg.clone() }

// clone copies c deeply enough that changing the copy leaves c alone.
func (c Config) clone() Config {
	c.Models = slices.Clone(c.Models)
	c.Labels = maps.Clone(c.Labels)
	c.Annotations = maps.Clone(c.Annotations)
	c.Feature, c.Segment, c.Version = clonePtr(c.Feature), clonePtr(c.Segment), clonePtr(c.Version)
	c.Threshold, c.Clear = clonePtr(c.Threshold), clonePtr(c.Clear)
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// Signals returns the signals the rule reads, so that the daemon computes
// only what rules need.
func (r *Rule) Signals() []Signal { return slices.Clone(r.signals) }

// MatchModel reports whether the rule applies to the model.
func (r *Rule) MatchModel(model string) bool {
	if len(r.cfg.Models) == 0 {
		return true
	}
	for _, g := range r.cfg.Models {
		if g == "*" || g == model {
			return true
		}
		if ok, _ := path.Match(g, model); ok {
			return true
		}
	}
	return false
}

// source is the rule's signal, or its expression.
func (r *Rule) source() string {
	if r.expr != nil {
		return r.cfg.Expr
	}
	return string(r.signals[0])
}

func (r *Rule) matchValue(v *Value) bool {
	return r.feature.match(v.Feature) && r.segment.match(v.Segment) && r.version.match(v.Version)
}

// holds reports whether value v meets the condition. An alert that is
// already pending or firing uses clear instead of threshold (hysteresis).
func (r *Rule) holds(v float64, active bool) bool {
	if !r.hasOp {
		return v != 0 && !math.IsNaN(v)
	}
	if active {
		return r.cfg.Op.compare(v, r.clear)
	}
	return r.cfg.Op.compare(v, r.threshold)
}

func compile(cfg Config, at string) (*Rule, error) {
	if err := cfg.validate(at); err != nil {
		return nil, err
	}
	r := &Rule{
		cfg:     cfg.clone(),
		forDur:  cfg.For.Std(),
		keepFor: cfg.KeepFiringFor.Std(),
		feature: newGlob(cfg.Feature),
		segment: newGlob(cfg.Segment),
		version: newGlob(cfg.Version),
	}
	windowed := false
	if cfg.Signal != "" {
		s, err := ParseSignal(cfg.Signal)
		if err != nil {
			return nil, fieldErr(join(at, "signal"), "%w", err)
		}
		r.signals = []Signal{s}
		r.hasOp = true
		windowed = s.Windowed()
	} else {
		p, err := compileExpr(cfg.Expr)
		if err != nil {
			return nil, fieldErr(join(at, "expr"), "%w", err)
		}
		r.expr, r.signals = p, p.signals
		hasCond := cfg.Op != "" || cfg.Threshold != nil || cfg.Clear != nil
		switch {
		case p.boolean && hasCond:
			return nil, fieldErr(join(at, "op"), "the expr is a condition (bool): drop op, threshold and clear, or make the expr a number")
		case !p.boolean && !hasCond:
			return nil, fieldErr(join(at, "expr"), "the expr is a number: add op and threshold, or make it a condition such as %s < 0.9", p.signals[0])
		}
		r.hasOp = !p.boolean
		for _, s := range p.signals {
			windowed = windowed || s.Windowed()
		}
	}
	for _, s := range r.signals {
		r.windowed = append(r.windowed, s.Windowed())
	}
	if cfg.MinSamples > 0 && !windowed {
		return nil, fieldErr(join(at, "min_samples"), "%s has no sample count, so min_samples does not apply", r.source())
	}
	if r.hasOp {
		r.threshold = *cfg.Threshold
		r.clear = r.threshold
		if cfg.Clear != nil {
			r.clear = *cfg.Clear
		}
	}
	data := sampleData(r)
	for _, name := range sortedKeys(cfg.Annotations) {
		field := join(at, "annotations."+name)
		t, err := parseTemplate(name, cfg.Annotations[name])
		if err != nil {
			return nil, fieldErr(field, "%w", err)
		}
		// Run it once: a missing field, label or function fails now, not at 3 a.m.
		if _, err := execTemplate(t, data); err != nil {
			return nil, fieldErr(field, "%w", err)
		}
		r.annots = append(r.annots, annotation{name: name, tmpl: t})
	}
	return r, nil
}

// String returns the rule's name and what it compares, for logs.
func (r *Rule) String() string {
	if !r.hasOp {
		return fmt.Sprintf("%s: %s", r.cfg.Name, r.cfg.Expr)
	}
	return fmt.Sprintf("%s: %s %s %g", r.cfg.Name, r.source(), r.cfg.Op, r.threshold)
}
