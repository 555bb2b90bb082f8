package monitor

import (
	"math"
	"time"

	"github.com/vigilml/vigil/drift"
	"github.com/vigilml/vigil/drift/quality"
	"github.com/vigilml/vigil/monitor/event"
)

// Canary verdicts, the values of vigil_canary_verdict and of each criterion.
const (
	VerdictPass    = 1
	VerdictFail    = 0
	VerdictNoData  = -1
	canaryBaseline = 0
	canaryCand     = 1
)

// The canary criteria, as the criterion label of vigil_canary_criterion and the names of
// the rules' canary.<name> signals for the figures behind them.
const (
	CriterionAgreement       = "agreement"
	CriterionScoreMeanAbsDif = "score_mean_abs_diff"
	CriterionScoreCorr       = "score_correlation"
	CriterionPredictionDrift = "prediction_drift"
	CriterionAccuracy        = "accuracy_delta"
	CriterionAUC             = "auc_delta"
	CriterionLatencyP50      = "latency_p50_ratio"
	CriterionLatencyP95      = "latency_p95_ratio"
)

// canarySample is one prediction of the baseline or the candidate.
type canarySample struct {
	t       int64
	pred    float64 // class id (binary: 1 positive) or regression value; NaN when absent
	score   float64 // positive-class score (binary) or the value (regression); NaN otherwise
	latency float64 // NaN when absent
}

// canaryPair is a shadow pair: both versions' answers to the same request id.
type canaryPair struct {
	t            int64
	predB, predC float64
	scoreB       float64
	scoreC       float64
}

// ringOf is a bounded ring of values, oldest first.
type ringOf[T any] struct {
	r ring
	v []T
}

func (q *ringOf[T]) push(x T) {
	slot, _ := q.r.next(func(n int) { q.v = relayout(q.v, q.r.head, q.r.n, n) })
	q.v[slot] = x
}

func (q *ringOf[T]) at(i int) *T { return &q.v[q.r.slot(i)] }

// span returns the range [lo, hi) of the current window: the last size entries, or those
// whose time lies in (end−d, end].
func (q *ringOf[T]) span(size int, d int64, end int64, timeOf func(*T) int64) (lo, hi int) {
	if d > 0 {
		return timeSpan(q.r.n, func(i int) int64 { return timeOf(q.at(i)) }, end-d, end)
	}
	return max(0, q.r.n-size), q.r.n
}

// canaryState is what a model with canary: keeps for it, guarded by the model's mutex.
type canaryState struct {
	cfg   CanaryConfig
	sides [2]ringOf[canarySample]
	pairs ringOf[canaryPair]
	// pending holds each side's predictions waiting for the other side's of the same id.
	pending [2]*pendingSet[canarySample]
	// expired and evicted count predictions that never found their shadow partner.
	expired, evicted uint64
}

func newCanaryState(mc *ModelConfig) *canaryState {
	capacity := mc.Window.Size
	if mc.Window.Duration > 0 {
		capacity = mc.Window.MaxSamples
	}
	c := &canaryState{cfg: *mc.Canary}
	c.sides[canaryBaseline].r.max = capacity
	c.sides[canaryCand].r.max = capacity
	c.pairs.r.max = capacity
	for i := range c.pending {
		c.pending[i] = newPendingSet[canarySample](mc.Canary.MaxPendingPairs)
	}
	return c
}

// observe records a prediction of the baseline or the candidate; other versions are
// ignored. pred and score are as the model's windows store them. The caller holds the
// model's mutex.
func (c *canaryState) observe(task Task, p *event.Prediction, t int64, pred, score float64) {
	side := canaryBaseline
	switch p.Version {
	case c.cfg.Baseline:
	case c.cfg.Candidate:
		side = canaryCand
	default:
		return
	}
	x := canarySample{t: t, pred: pred, score: math.NaN(), latency: math.NaN()}
	switch task {
	case BinaryClassification:
		x.score = score
	case Regression:
		x.score = pred
	}
	if p.HasLatency {
		x.latency = p.LatencyMS
	}
	c.sides[side].push(x)
	if p.ID == "" {
		return
	}
	other := 1 - side
	joined := c.pending[other].take(p.ID, func(_ int64, o *canarySample) {
		b, cand := o, &x
		if side == canaryBaseline {
			b, cand = &x, o
		}
		c.pairs.push(canaryPair{t: max(b.t, cand.t), predB: b.pred, predC: cand.pred, scoreB: b.score, scoreC: cand.score})
	})
	if joined == 0 {
		if _, ev := c.pending[side].add(p.ID, t, x); ev {
			c.evicted++
		}
	}
}

// CanaryStats compares a model's candidate version with its baseline over the current
// window. A figure is absent (null) until it has canary.min_samples samples.
type CanaryStats struct {
	Baseline  string `json:"baseline"`
	Candidate string `json:"candidate"`
	// Verdict is 1 pass, 0 fail, -1 not enough data: fail when any criterion fails, pass
	// when every criterion passes.
	Verdict int           `json:"verdict"`
	Samples CanarySamples `json:"samples"`
	// Agreement is the share of shadow pairs whose predicted classes agree (classification).
	Agreement *float64 `json:"agreement,omitempty"`
	// ScoreMeanAbsDiff and ScoreCorrelation compare the shadow pairs' scores (binary) or
	// values (regression).
	ScoreMeanAbsDiff *float64 `json:"score_mean_abs_diff,omitempty"`
	ScoreCorrelation *float64 `json:"score_correlation,omitempty"`
	// PredictionDrift tests the candidate's outputs against the baseline's with the
	// method PredictionDriftMethod (ks or chi_square).
	PredictionDrift       *CanaryDrift `json:"prediction_drift,omitempty"`
	PredictionDriftMethod string       `json:"prediction_drift_method"`
	// Accuracy and AUC are the labeled quality of both versions, with the test's p-value.
	Accuracy *quality.Comparison `json:"accuracy,omitempty"`
	AUC      *quality.Comparison `json:"auc,omitempty"`
	// LatencyP50Ratio and LatencyP95Ratio are candidate/baseline quantiles of latency_ms.
	LatencyP50Ratio *float64 `json:"latency_p50_ratio,omitempty"`
	LatencyP95Ratio *float64 `json:"latency_p95_ratio,omitempty"`
	// PairsPending, PairsExpired and PairsEvicted describe the shadow join.
	PairsPending int    `json:"pairs_pending"`
	PairsExpired uint64 `json:"pairs_expired"`
	PairsEvicted uint64 `json:"pairs_evicted"`
	// Criteria are the configured criteria with their figures and results.
	Criteria []CanaryCriterion `json:"criteria"`
}

// CanarySamples counts what each canary figure is computed from.
type CanarySamples struct {
	Baseline         int `json:"baseline"`
	Candidate        int `json:"candidate"`
	ShadowPairs      int `json:"shadow_pairs"`
	BaselineLabeled  int `json:"baseline_labeled"`
	CandidateLabeled int `json:"candidate_labeled"`
	BaselineLatency  int `json:"baseline_latency"`
	CandidateLatency int `json:"candidate_latency"`
}

// CanaryDrift is a two-sample test of the candidate's outputs against the baseline's:
// ks on scores or values, chi_square on predicted classes.
type CanaryDrift struct {
	Method string  `json:"method"`
	Score  float64 `json:"score"`
	PValue float64 `json:"p_value"`
	// Effect is the KS statistic, or Cramér's V of the chi-square test.
	Effect float64 `json:"effect"`
}

// CanaryCriterion is one configured criterion and its result (1 pass, 0 fail, -1 not
// enough data).
type CanaryCriterion struct {
	Name   string   `json:"name"`
	Limit  float64  `json:"limit"`
	Value  *float64 `json:"value,omitempty"`
	Result int      `json:"result"`
}

// canaryCopy is the part of the canary state one evaluation reads, copied under the lock.
type canaryCopy struct {
	sides   [2][]canarySample
	pairs   []canaryPair
	pending int
	expired uint64
	evicted uint64
}

// canaryStats computes the model's canary statistics at ts from its canary state and the
// evaluation's copy of the labeled pairs in s.
func (m *modelState) canaryStats(ts time.Time, s *evalScratch, versionNames []string) *CanaryStats {
	if m.canary == nil {
		return nil
	}
	cfg := m.canary.cfg
	var cp canaryCopy
	end := ts.UnixNano()
	var d int64
	if m.cfg.Window.Duration > 0 {
		d = time.Duration(m.cfg.Window.Duration).Nanoseconds()
	}
	m.mu.Lock()
	c := m.canary
	cutoff := end - time.Duration(cfg.PairTTL).Nanoseconds()
	for _, p := range c.pending {
		c.expired += uint64(p.expire(cutoff, func(*canarySample) {}))
		cp.pending += p.Len()
	}
	for i := range c.sides {
		q := &c.sides[i]
		if d > 0 {
			drop := 0
			for drop < q.r.n && q.at(drop).t <= end-d {
				drop++
			}
			q.r.dropFront(drop)
		}
		lo, hi := q.span(m.cfg.Window.Size, d, end, func(x *canarySample) int64 { return x.t })
		for j := lo; j < hi; j++ {
			cp.sides[i] = append(cp.sides[i], *q.at(j))
		}
	}
	lo, hi := c.pairs.span(m.cfg.Window.Size, d, end, func(x *canaryPair) int64 { return x.t })
	for j := lo; j < hi; j++ {
		cp.pairs = append(cp.pairs, *c.pairs.at(j))
	}
	cp.expired, cp.evicted = c.expired, c.evicted
	m.mu.Unlock()

	out := &CanaryStats{
		Baseline: cfg.Baseline, Candidate: cfg.Candidate,
		PairsPending: cp.pending, PairsExpired: cp.expired, PairsEvicted: cp.evicted,
	}
	enough := func(n int) bool { return n >= cfg.MinSamples }
	out.Samples.Baseline, out.Samples.Candidate = len(cp.sides[0]), len(cp.sides[1])
	out.Samples.ShadowPairs = len(cp.pairs)
	m.shadowFigures(out, cp.pairs, enough)
	m.predictionDrift(out, &cp, enough)
	m.labeledFigures(out, s, versionNames, enough)
	latencyFigures(out, &cp, enough)
	out.Criteria, out.Verdict = judge(cfg, out)
	return out
}

// shadowFigures compares the shadow pairs.
func (m *modelState) shadowFigures(out *CanaryStats, pairs []canaryPair, enough func(int) bool) {
	if !enough(len(pairs)) {
		return
	}
	if m.cfg.Task != Regression {
		agree, n := 0, 0
		for _, p := range pairs {
			if math.IsNaN(p.predB) || math.IsNaN(p.predC) {
				continue
			}
			n++
			if p.predB == p.predC {
				agree++
			}
		}
		if enough(n) {
			out.Agreement = ptr(float64(agree) / float64(n))
		}
	}
	var b, c []float64
	for _, p := range pairs {
		if !math.IsNaN(p.scoreB) && !math.IsNaN(p.scoreC) {
			b, c = append(b, p.scoreB), append(c, p.scoreC)
		}
	}
	if !enough(len(b)) {
		return
	}
	var sum float64
	for i := range b {
		sum += math.Abs(c[i] - b[i])
	}
	out.ScoreMeanAbsDiff = ptr(sum / float64(len(b)))
	if r := quality.Pearson(b, c); !math.IsNaN(r) {
		out.ScoreCorrelation = ptr(r)
	}
}

// canaryDriftMethod is the test that compares the two versions' outputs: ks on the scores
// of a binary model that sends them and on a regression model's values, chi_square on
// predicted classes otherwise.
func (m *modelState) canaryDriftMethod(cp *canaryCopy) string {
	switch m.cfg.Task {
	case Regression:
		return MethodKS
	case MulticlassClassification:
		return MethodChiSquare
	}
	for _, side := range cp.sides {
		for _, x := range side {
			if !math.IsNaN(x.score) {
				return MethodKS
			}
		}
	}
	if len(cp.sides[0])+len(cp.sides[1]) == 0 {
		return MethodKS // before any data: the series keeps the label a scored binary model will have
	}
	return MethodChiSquare
}

func (m *modelState) predictionDrift(out *CanaryStats, cp *canaryCopy, enough func(int) bool) {
	method := m.canaryDriftMethod(cp)
	out.PredictionDriftMethod = method
	if method == MethodKS {
		var v [2][]float64
		for i, side := range cp.sides {
			for _, x := range side {
				if !math.IsNaN(x.score) {
					v[i] = append(v[i], x.score)
				}
			}
		}
		if !enough(len(v[0])) || !enough(len(v[1])) {
			return
		}
		stat, p := drift.KS(v[0], v[1])
		out.PredictionDrift = &CanaryDrift{Method: method, Score: stat, PValue: p, Effect: stat}
		return
	}
	var counts [2]map[float64]int64
	n := [2]int{}
	for i, side := range cp.sides {
		counts[i] = map[float64]int64{}
		for _, x := range side {
			if !math.IsNaN(x.pred) {
				counts[i][x.pred]++
				n[i]++
			}
		}
	}
	if !enough(n[0]) || !enough(n[1]) {
		return
	}
	_, r, c := drift.AlignCounts(counts[0], counts[1])
	stat, p := drift.ChiSquare(r, c)
	if math.IsNaN(stat) {
		return
	}
	out.PredictionDrift = &CanaryDrift{Method: method, Score: stat, PValue: p, Effect: math.Sqrt(stat / float64(n[0]+n[1]))}
}

// labeledFigures compares the versions' quality on the current window's labeled pairs.
func (m *modelState) labeledFigures(out *CanaryStats, s *evalScratch, versionNames []string, enough func(int) bool) {
	var y, sc [2][]float64
	var correct [2]int
	for i := range s.y {
		name := versionNames[s.version[i]]
		side := canaryBaseline
		switch name {
		case out.Baseline:
		case out.Candidate:
			side = canaryCand
		default:
			continue
		}
		y[side] = append(y[side], s.y[i])
		sc[side] = append(sc[side], s.score[i])
		if s.pred[i] == s.y[i] {
			correct[side]++
		}
	}
	out.Samples.BaselineLabeled, out.Samples.CandidateLabeled = len(y[0]), len(y[1])
	if m.cfg.Task == Regression || !enough(len(y[0])) || !enough(len(y[1])) {
		return
	}
	acc := quality.TwoProportionZTest(correct[0], len(y[0]), correct[1], len(y[1]))
	out.Accuracy = &acc
	if m.cfg.Task != BinaryClassification {
		return
	}
	var yb [2][]bool
	var sb [2][]float64
	for side := range y {
		for i, v := range y[side] {
			if !math.IsNaN(sc[side][i]) {
				yb[side] = append(yb[side], v == 1)
				sb[side] = append(sb[side], sc[side][i])
			}
		}
		if !enough(len(sb[side])) {
			return
		}
	}
	if auc, ok := quality.DeLongTest(yb[0], sb[0], yb[1], sb[1]); ok {
		out.AUC = &auc
	}
}

func latencyFigures(out *CanaryStats, cp *canaryCopy, enough func(int) bool) {
	var lat [2][]float64
	for i, side := range cp.sides {
		for _, x := range side {
			if !math.IsNaN(x.latency) {
				lat[i] = append(lat[i], x.latency)
			}
		}
	}
	out.Samples.BaselineLatency, out.Samples.CandidateLatency = len(lat[0]), len(lat[1])
	if !enough(len(lat[0])) || !enough(len(lat[1])) {
		return
	}
	ratio := func(q float64) *float64 {
		b := quality.Quantile(lat[0], q)
		if b <= 0 {
			return nil // a ratio to zero is undefined
		}
		return ptr(quality.Quantile(lat[1], q) / b)
	}
	out.LatencyP50Ratio, out.LatencyP95Ratio = ratio(0.5), ratio(0.95)
}

// judge applies the configured criteria. A criterion without its figure is -1; the
// verdict fails when any criterion fails, passes when all pass, else is -1.
func judge(cfg CanaryConfig, st *CanaryStats) ([]CanaryCriterion, int) {
	cr := cfg.Criteria
	var out []CanaryCriterion
	add := func(name string, limit *float64, value *float64, fails func(v, limit float64) bool) {
		if limit == nil {
			return
		}
		c := CanaryCriterion{Name: name, Limit: *limit, Value: value, Result: VerdictNoData}
		if value != nil {
			c.Result = VerdictPass
			if fails(*value, *limit) {
				c.Result = VerdictFail
			}
		}
		out = append(out, c)
	}
	below := func(v, l float64) bool { return v < l }
	above := func(v, l float64) bool { return v > l }
	add(CriterionAgreement, cr.MinAgreement, st.Agreement, below)
	add(CriterionScoreMeanAbsDif, cr.MaxScoreMeanAbsDiff, st.ScoreMeanAbsDiff, above)
	add(CriterionScoreCorr, cr.MinScoreCorrelation, st.ScoreCorrelation, below)
	if pd := st.PredictionDrift; pd != nil {
		add(CriterionPredictionDrift, cr.MaxPredictionDrift, &pd.Effect, func(v, l float64) bool {
			return pd.PValue < cfg.Alpha && v >= l
		})
	} else {
		add(CriterionPredictionDrift, cr.MaxPredictionDrift, nil, nil)
	}
	drop := func(cmp *quality.Comparison) (*float64, func(v, l float64) bool) {
		if cmp == nil {
			return nil, nil
		}
		return &cmp.Delta, func(v, l float64) bool { return -v > l && cmp.PValue < cfg.Alpha }
	}
	v, f := drop(st.Accuracy)
	add(CriterionAccuracy, cr.MaxAccuracyDrop, v, f)
	v, f = drop(st.AUC)
	add(CriterionAUC, cr.MaxAUCDrop, v, f)
	add(CriterionLatencyP50, cr.MaxLatencyP50Ratio, st.LatencyP50Ratio, above)
	add(CriterionLatencyP95, cr.MaxLatencyP95Ratio, st.LatencyP95Ratio, above)

	verdict := VerdictPass
	for _, c := range out {
		switch {
		case c.Result == VerdictFail:
			return out, VerdictFail
		case c.Result == VerdictNoData:
			verdict = VerdictNoData
		}
	}
	return out, verdict
}

// canarySignal answers the rules' canary.<name> signals: verdict, agreement, or one of the
// criteria's figures. Samples are the figure's sample count.
func canarySignal(st *ModelStats, name string, add func(feature, segment, version string, v float64, samples int)) {
	c := st.Canary
	if c == nil {
		return
	}
	sm := c.Samples
	both := min(sm.Baseline, sm.Candidate)
	labeled := min(sm.BaselineLabeled, sm.CandidateLabeled)
	opt := func(v *float64, n int) {
		if v != nil {
			add("", "", c.Candidate, *v, n)
		}
	}
	switch name {
	case "verdict":
		add("", "", c.Candidate, float64(c.Verdict), both)
	case CriterionAgreement:
		opt(c.Agreement, sm.ShadowPairs)
	case CriterionScoreMeanAbsDif:
		opt(c.ScoreMeanAbsDiff, sm.ShadowPairs)
	case CriterionScoreCorr:
		opt(c.ScoreCorrelation, sm.ShadowPairs)
	case CriterionPredictionDrift:
		if c.PredictionDrift != nil {
			add("", "", c.Candidate, c.PredictionDrift.Effect, both)
		}
	case CriterionAccuracy:
		if c.Accuracy != nil {
			add("", "", c.Candidate, c.Accuracy.Delta, labeled)
		}
	case CriterionAUC:
		if c.AUC != nil {
			add("", "", c.Candidate, c.AUC.Delta, labeled)
		}
	case CriterionLatencyP50:
		opt(c.LatencyP50Ratio, min(sm.BaselineLatency, sm.CandidateLatency))
	case CriterionLatencyP95:
		opt(c.LatencyP95Ratio, min(sm.BaselineLatency, sm.CandidateLatency))
	}
}
