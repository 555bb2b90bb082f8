package rules

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Options configure a [Manager].
type Options struct {
	// Registerer registers vigil_alerts and
	// vigil_rule_evaluation_failures_total; nil registers nothing.
	Registerer prometheus.Registerer
	// Logger logs evaluation failures; nil discards them.
	Logger *slog.Logger
}

// Manager holds the rules and the state of their alerts, and evaluates them.
// Its methods are safe for concurrent use; evaluations are serialised.
type Manager struct {
	mu      sync.Mutex
	rules   []*ruleState
	seq     uint64
	metrics *metrics
	logger  *slog.Logger
}

// key identifies an alert within a rule.
type key struct {
	model, feature, segment, version string
}

// alert is an Alert with the bookkeeping the state machine needs.
type alert struct {
	Alert
	held        time.Duration // condition held while pending, with data
	keptFor     time.Duration // keep_firing_for run so far
	lastVerdict bool          // the last evaluation judged a value (or no_data ok/alert)
	seen        uint64        // the evaluation that last stepped it
	dirty       bool          // annotations need rendering
	vals        []float64     // an expr's signal values
}

// outcome is what one evaluation says about one alert.
type outcome int8

const (
	outSkip  outcome = iota // no verdict: state and clocks stay
	outFalse                // the condition does not hold
	outTrue                 // the condition holds
)

// obs is one (model, feature, segment, version) as collected for a rule.
type obs struct {
	k       key
	value   float64 // the value to judge (1/0 for a boolean expr)
	samples int
	ok      bool // judgeable: present, finite and with min_samples
	failed  bool // the expression failed
	valsOff int  // an expr's signal values, in ruleState.valBuf
}

// ruleState is a rule with its alerts and scratch buffers.
type ruleState struct {
	rule     *Rule
	models   []string
	modelSet map[string]struct{}
	alerts   alertSet

	obs    []obs
	valBuf []float64
	dead   map[string]bool
	act    activation
	join   joiner
	err    error // the first failure of this evaluation
}

// NewManager returns a Manager without rules.
func NewManager(opts Options) *Manager {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{metrics: newMetrics(opts.Registerer), logger: logger.With("component", "rules")}
}

// Update replaces the rules and the set of models they apply to. Alerts of a
// rule that keeps its name keep their state (as Prometheus carries state
// across reloads); a model no longer matched resolves its alerts at the next
// evaluation; alerts of removed rules are dropped.
func (m *Manager) Update(rules []*Rule, models []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := make(map[string]*ruleState, len(m.rules))
	for _, rs := range m.rules {
		old[rs.rule.Name()] = rs
	}
	next := make([]*ruleState, 0, len(rules))
	for _, r := range rules {
		rs := &ruleState{rule: r, modelSet: map[string]struct{}{}, alerts: newAlertSet(), dead: map[string]bool{}}
		for _, mo := range models {
			if _, dup := rs.modelSet[mo]; !dup && r.MatchModel(mo) {
				rs.models = append(rs.models, mo)
				rs.modelSet[mo] = struct{}{}
			}
		}
		if o, ok := old[r.Name()]; ok {
			o.alerts.each(func(a *alert) {
				a.Severity = r.Severity()
				a.Labels = alertLabels(r, keyOf(a))
				a.dirty = true
				rs.alerts.put(a)
			})
			if o.rule.Severity() != r.Severity() {
				m.metrics.forget(o.rule)
			}
			delete(old, r.Name())
		}
		rs.act.names = make([]string, len(r.signals))
		for i, s := range r.signals {
			rs.act.names[i] = string(s)
		}
		rs.act.vals = make([]float64, len(r.signals))
		next = append(next, rs)
	}
	for _, rs := range old {
		m.metrics.forget(rs.rule)
	}
	m.rules = next
	for _, rs := range next {
		m.metrics.init(rs.rule)
		rs.render(m)
		rs.count(m.metrics)
		rs.err = nil
	}
}

// Rules returns the current rules.
func (m *Manager) Rules() []*Rule {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Rule, len(m.rules))
	for i, rs := range m.rules {
		out[i] = rs.rule
	}
	return out
}

// Eval evaluates every rule at ts against src and returns all alerts that
// are pending, firing, or resolved within [ResolvedRetention], by rule and
// then by model, feature, segment and version. Pending alerts are for
// display: send firing and resolved ones. ts is the evaluation time; Eval
// reads no clock. A cancelled ctx stops between rules; rules not reached
// keep their state.
func (m *Manager) Eval(ctx context.Context, ts time.Time, src Source) []*Alert {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	for _, rs := range m.rules {
		if ctx.Err() != nil {
			break
		}
		rs.eval(m, ts, src, m.seq)
	}
	return m.alertsLocked()
}

// Alerts returns the current alerts without evaluating, as Eval does.
func (m *Manager) Alerts() []*Alert {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.alertsLocked()
}

func (m *Manager) alertsLocked() []*Alert {
	n := 0
	for _, rs := range m.rules {
		n += rs.alerts.n
	}
	out := make([]*Alert, 0, n)
	copies := make([]Alert, n)
	for _, rs := range m.rules {
		start := len(out)
		rs.alerts.each(func(a *alert) {
			c := &copies[len(out)]
			*c = a.Alert
			out = append(out, c)
		})
		slices.SortFunc(out[start:], compareAlerts)
	}
	return out
}

func compareAlerts(a, b *Alert) int {
	return cmp.Or(cmp.Compare(a.Model, b.Model), cmp.Compare(a.Feature, b.Feature),
		cmp.Compare(a.Segment, b.Segment), cmp.Compare(a.Version, b.Version))
}

// State returns the state of every alert (pending, firing and recently
// resolved), to be persisted and handed to Restore after a restart.
func (m *Manager) State() []Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Snapshot
	for _, rs := range m.rules {
		start := len(out)
		rs.alerts.each(func(a *alert) {
			out = append(out, Snapshot{
				Rule: a.Rule, Model: a.Model, Feature: a.Feature, Segment: a.Segment, Version: a.Version,
				State: a.State, Value: finite(a.Value), Samples: a.Samples, NoData: a.NoData, WholeModel: a.WholeModel,
				ActiveAt: a.ActiveAt, FiredAt: a.FiredAt, ResolvedAt: a.ResolvedAt,
				KeepFiringSince: a.KeepFiringSince, LastEvalAt: a.LastEvalAt,
				LastVerdict: a.lastVerdict, Held: a.held, KeptFor: a.keptFor,
			})
		})
		slices.SortFunc(out[start:], func(a, b Snapshot) int {
			return cmp.Or(cmp.Compare(a.Model, b.Model), cmp.Compare(a.Feature, b.Feature),
				cmp.Compare(a.Segment, b.Segment), cmp.Compare(a.Version, b.Version))
		})
	}
	return out
}

// Restore puts back alert state saved by State, after Update has set the
// rules. Every clock continues where it stopped: a pending alert fires when
// its condition has held for `for` in all, counting the time up to the
// first evaluation after the restart as held (as if the evaluations had
// only been late), whatever the rule's `for`. Snapshots of rules that no
// longer exist are dropped; those of models no longer matched resolve at
// the next evaluation. It returns how many alerts were restored.
func (m *Manager) Restore(snaps []Snapshot) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	byName := make(map[string]*ruleState, len(m.rules))
	for _, rs := range m.rules {
		byName[rs.rule.Name()] = rs
	}
	n := 0
	for _, s := range snaps {
		rs, ok := byName[s.Rule]
		if !ok || s.State < StateInactive || s.State > StateFiring {
			continue
		}
		k := key{s.Model, s.Feature, s.Segment, s.Version}
		if old := rs.alerts.get(k); old != nil {
			rs.alerts.del(old)
		}
		a := rs.newAlert(k)
		a.State, a.Samples, a.NoData, a.WholeModel = s.State, s.Samples, s.NoData, s.WholeModel
		if s.Value != nil {
			a.Value = *s.Value
		}
		a.ActiveAt, a.FiredAt, a.ResolvedAt = s.ActiveAt, s.FiredAt, s.ResolvedAt
		a.KeepFiringSince, a.LastEvalAt = s.KeepFiringSince, s.LastEvalAt
		a.lastVerdict, a.held, a.keptFor = s.LastVerdict, max(s.Held, 0), max(s.KeptFor, 0)
		rs.alerts.put(a)
		n++
	}
	for _, rs := range m.rules {
		rs.render(m)
		rs.count(m.metrics)
		rs.err = nil
	}
	return n
}

// newAlert returns a fresh inactive alert for k.
func (rs *ruleState) newAlert(k key) *alert {
	r := rs.rule
	return &alert{
		Alert: Alert{
			Rule: r.Name(), Model: k.model, Feature: k.feature, Segment: k.segment, Version: k.version,
			Severity: r.Severity(), Labels: alertLabels(r, k), Value: math.NaN(),
		},
		dirty: true,
	}
}

// alertLabels are an alert's identity: never its value.
func alertLabels(r *Rule, k key) map[string]string {
	l := make(map[string]string, len(r.cfg.Labels)+6)
	maps.Copy(l, r.cfg.Labels)
	l[LabelAlertName] = r.Name()
	l[LabelModel] = k.model
	l[LabelSeverity] = r.Severity()
	if k.feature != "" {
		l[LabelFeature] = k.feature
	}
	if k.segment != "" {
		l[LabelSegment] = k.segment
	}
	if k.version != "" {
		l[LabelVersion] = k.version
	}
	return l
}

// noDataOutcome maps the rule's no_data mode to an outcome.
func (rs *ruleState) noDataOutcome() outcome {
	switch rs.rule.cfg.NoData {
	case NoDataOK:
		return outFalse
	case NoDataAlert:
		return outTrue
	}
	return outSkip
}

// eval runs one rule over all its models.
func (rs *ruleState) eval(m *Manager, ts time.Time, src Source, seq uint64) {
	r := rs.rule
	clear(rs.dead)
	for _, model := range rs.models {
		rs.collect(model, src)
		anyData := false
		for i := range rs.obs {
			if rs.obs[i].ok || rs.obs[i].failed {
				anyData = true
				break
			}
		}
		if !anyData {
			rs.dead[model] = true
		}
		ma := rs.alerts.byModel[model]
		for i := range rs.obs {
			o := &rs.obs[i]
			a := ma.get(key3{o.k.feature, o.k.segment, o.k.version})
			if a != nil && a.seen == seq {
				continue // a duplicate value: the first one counts
			}
			active := a != nil && a.State != StateInactive
			var out outcome
			switch {
			case o.failed:
				out = outSkip
			case o.ok:
				out = outFalse
				if r.holds(o.value, active) {
					out = outTrue
				}
			default:
				out = rs.noDataOutcome()
				if out == outTrue && !active && !anyData {
					// A dead model gets one whole-model alert, not one per value.
					out = outSkip
				}
			}
			if a == nil && out != outTrue {
				continue
			}
			rs.apply(a, o.k, out, ts, seq, o)
			if ma == nil {
				ma = rs.alerts.byModel[model] // created by apply; entries are never removed
			}
		}
	}
	// Alerts whose value did not come: no data, or their model is gone.
	rs.alerts.each(func(a *alert) {
		if a.seen == seq {
			return
		}
		k := keyOf(a)
		_, matched := rs.modelSet[k.model]
		out := rs.noDataOutcome()
		switch {
		case !matched:
			rs.resolveNow(a, ts, seq)
			return
		case a.WholeModel:
			out = outFalse
			if rs.dead[k.model] && r.cfg.NoData == NoDataAlert {
				out = outTrue
			}
		case out == outTrue && a.State == StateInactive:
			out = outSkip // no data does not revive a resolved alert
		}
		rs.apply(a, k, out, ts, seq, nil)
	})
	if r.cfg.NoData == NoDataAlert && len(rs.dead) > 0 {
		for _, model := range rs.models {
			if !rs.dead[model] || rs.hasActive(model) {
				continue
			}
			k := key{model: model}
			a := rs.alerts.get(k)
			if a == nil {
				a = rs.newAlert(k)
				rs.alerts.put(a)
			}
			a.WholeModel = true
			rs.apply(a, k, outTrue, ts, seq, nil)
		}
	}
	rs.render(m)
	rs.count(m.metrics)
	if rs.err != nil {
		m.metrics.failed(r)
		m.logger.Warn("rule evaluation failed", "rule", r.Name(), "err", rs.err)
		rs.err = nil
	}
}

// hasActive reports whether the model has a pending or firing alert.
func (rs *ruleState) hasActive(model string) bool {
	if ma := rs.alerts.byModel[model]; ma != nil {
		for _, a := range ma.list {
			if a.State != StateInactive {
				return true
			}
		}
	}
	return false
}

// resolveNow resolves an alert whose model the rule no longer applies to.
func (rs *ruleState) resolveNow(a *alert, ts time.Time, seq uint64) {
	a.seen = seq
	switch a.State {
	case StatePending:
		rs.alerts.del(a)
	case StateFiring:
		a.State, a.ResolvedAt, a.KeepFiringSince = StateInactive, ts, time.Time{}
		a.LastEvalAt, a.lastVerdict, a.NoData = ts, false, true
		a.dirty = true
	case StateInactive:
		if ts.Sub(a.ResolvedAt) > ResolvedRetention {
			rs.alerts.del(a)
		}
	}
}

// apply moves one alert through the state machine and records the
// observation (o is nil for an alert whose value did not come). a may be
// nil only when out is outTrue.
func (rs *ruleState) apply(a *alert, k key, out outcome, ts time.Time, seq uint64, o *obs) {
	r := rs.rule
	if a == nil {
		a = rs.newAlert(k)
		rs.alerts.put(a)
	}
	a.seen = seq
	// Time since the previous evaluation counts only between two verdicts.
	var d time.Duration
	if a.lastVerdict && out != outSkip && ts.After(a.LastEvalAt) {
		d = ts.Sub(a.LastEvalAt)
	}
	switch {
	case out == outTrue && a.State == StateInactive:
		// New, or back after resolving: a fresh alert.
		a.State, a.ActiveAt = StatePending, ts
		a.FiredAt, a.ResolvedAt, a.KeepFiringSince = time.Time{}, time.Time{}, time.Time{}
		a.held, a.keptFor = 0, 0
	case out == outTrue:
		if a.State == StatePending {
			a.held += d
		}
		a.KeepFiringSince, a.keptFor = time.Time{}, 0
	case out == outFalse && a.State == StatePending:
		rs.alerts.del(a)
		return
	case out == outFalse && a.State == StateFiring:
		keep := false
		if r.keepFor > 0 {
			if a.KeepFiringSince.IsZero() {
				a.KeepFiringSince, a.keptFor = ts, 0
			} else {
				a.keptFor += d
			}
			keep = a.keptFor < r.keepFor
		}
		if !keep {
			a.State, a.ResolvedAt, a.KeepFiringSince, a.keptFor = StateInactive, ts, time.Time{}, 0
		}
	}
	if a.State == StateInactive && !a.ResolvedAt.IsZero() && ts.Sub(a.ResolvedAt) > ResolvedRetention {
		rs.alerts.del(a)
		return
	}
	if a.State == StateInactive && a.ResolvedAt.IsZero() {
		// Never fired (a restored or whole-model leftover): nothing to resend.
		rs.alerts.del(a)
		return
	}
	if a.State == StatePending && a.held >= r.forDur {
		a.State, a.FiredAt = StateFiring, ts
	}
	a.LastEvalAt = ts
	a.lastVerdict = out != outSkip
	rs.observe(a, o)
}

// observe records what the evaluation saw on the alert.
func (rs *ruleState) observe(a *alert, o *obs) {
	noData := o == nil || !o.ok
	if o != nil && o.failed {
		noData = false // a failed expression is not missing data
	}
	samples := 0
	if o != nil {
		samples = o.samples
	}
	if noData != a.NoData || samples != a.Samples {
		a.NoData, a.Samples, a.dirty = noData, samples, true
	}
	if o == nil || !o.ok {
		return
	}
	a.WholeModel = false
	if a.Value != o.value && !(math.IsNaN(a.Value) && math.IsNaN(o.value)) {
		a.Value, a.dirty = o.value, true
	}
	if rs.rule.expr != nil {
		vals := rs.valBuf[o.valsOff : o.valsOff+len(rs.rule.signals)]
		if !slices.Equal(a.vals, vals) {
			a.vals = append(a.vals[:0], vals...)
			a.dirty = true
		}
	}
}

// render renders the annotations of the alerts whose data changed.
func (rs *ruleState) render(m *Manager) {
	r := rs.rule
	rs.alerts.each(func(a *alert) {
		if !a.dirty {
			return
		}
		a.dirty = false
		values := make(map[string]float64, len(r.signals))
		if r.expr != nil && len(a.vals) == len(r.signals) {
			for i, s := range r.signals {
				values[string(s)] = a.vals[i]
			}
		} else if r.expr == nil && !math.IsNaN(a.Value) {
			values[string(r.signals[0])] = a.Value
		}
		a.Values = values
		if len(r.annots) == 0 {
			return
		}
		labels := map[string]string{LabelFeature: "", LabelSegment: "", LabelVersion: ""}
		maps.Copy(labels, a.Labels)
		data := &TemplateData{
			Rule: r.Name(), Model: a.Model, Feature: a.Feature, Segment: a.Segment, Version: a.Version,
			Signal: r.source(), Value: a.Value, Values: values,
			Threshold: r.threshold, Clear: r.clear, Op: string(r.cfg.Op),
			Samples: a.Samples, NoData: a.NoData, Severity: r.Severity(), Labels: labels,
		}
		ann := make(map[string]string, len(r.annots))
		for _, t := range r.annots {
			s, err := execTemplate(t.tmpl, data)
			if err != nil && rs.err == nil {
				rs.err = fmt.Errorf("annotation %s: %w", t.name, err)
			}
			ann[t.name] = s
		}
		a.Annotations = ann
	})
}

// count sets vigil_alerts for the rule.
func (rs *ruleState) count(mt *metrics) {
	var pending, firing int
	rs.alerts.each(func(a *alert) {
		switch a.State {
		case StatePending:
			pending++
		case StateFiring:
			firing++
		}
	})
	mt.set(rs.rule, pending, firing)
}

// collect fills rs.obs with the rule's observations of one model.
func (rs *ruleState) collect(model string, src Source) {
	r := rs.rule
	rs.obs = rs.obs[:0]
	if r.expr == nil {
		vals := src.Values(model, string(r.signals[0]))
		windowed := r.windowed[0]
		for i := range vals {
			v := &vals[i]
			if !r.matchValue(v) {
				continue
			}
			rs.obs = append(rs.obs, obs{
				k:     key{model, v.Feature, v.Segment, v.Version},
				value: v.Value, samples: v.Samples,
				ok: !math.IsNaN(v.Value) && (!windowed || v.Samples >= r.cfg.MinSamples),
			})
		}
		return
	}
	rs.collectExpr(model, src)
}

// metrics are the Manager's Prometheus metrics.
type metrics struct {
	alerts   *prometheus.GaugeVec
	failures *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		alerts: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_alerts",
			Help: "Alerts by rule, severity and state (pending or firing).",
		}, []string{"rule", "severity", "state"}),
		failures: f.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_rule_evaluation_failures_total",
			Help: "Rule evaluations that failed: an expression or an annotation template returned an error.",
		}, []string{"rule"}),
	}
}

func (mt *metrics) init(r *Rule) {
	mt.alerts.WithLabelValues(r.Name(), r.Severity(), "pending")
	mt.alerts.WithLabelValues(r.Name(), r.Severity(), "firing")
	mt.failures.WithLabelValues(r.Name())
}

func (mt *metrics) forget(r *Rule) {
	mt.alerts.DeleteLabelValues(r.Name(), r.Severity(), "pending")
	mt.alerts.DeleteLabelValues(r.Name(), r.Severity(), "firing")
	mt.failures.DeleteLabelValues(r.Name())
}

func (mt *metrics) set(r *Rule, pending, firing int) {
	mt.alerts.WithLabelValues(r.Name(), r.Severity(), "pending").Set(float64(pending))
	mt.alerts.WithLabelValues(r.Name(), r.Severity(), "firing").Set(float64(firing))
}

func (mt *metrics) failed(r *Rule) { mt.failures.WithLabelValues(r.Name()).Inc() }
