package monitor

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/vigilml/vigil/drift/quality"
)

// AllValue is the segment (and feature) label value for "all of them".
const AllValue = "*"

// ModelStats is one model's statistics at an evaluation; it is what /api/v1/models returns
// and what the metrics exporter reads.
type ModelStats struct {
	Model           string            `json:"model"`
	Task            Task              `json:"task"`
	EvaluatedAt     time.Time         `json:"evaluated_at"`
	Windows         WindowStats       `json:"windows"`
	Quality         []QualityValue    `json:"quality"`
	Labels          LabelStats        `json:"labels"`
	Events          EventStats        `json:"events"`
	LastEventAt     *time.Time        `json:"last_event_at,omitempty"`
	UnknownFeatures map[string]uint64 `json:"unknown_features,omitempty"`
	// Features holds each declared feature's data quality and drift, then the prediction's.
	Features []FeatureStats `json:"features"`
	// Drift is the model-level verdict; absent while no feature has one.
	Drift *ModelDrift `json:"drift,omitempty"`
	// Multivariate is the PCA reconstruction-error test; absent with fewer than two
	// numeric features or drift.multivariate off.
	Multivariate *MultivariateDrift `json:"multivariate,omitempty"`
	// Anomalies are the model's own time series and their anomaly scores.
	Anomalies []AnomalySignal `json:"anomalies"`
	// Canary compares the canary: candidate with its baseline; absent without canary:.
	Canary *CanaryStats `json:"canary,omitempty"`

	// watchedSince is when vigil began to watch the model (kept across restarts), from
	// which staleness counts while no event has come.
	watchedSince time.Time
}

// WindowStats counts what the windows hold.
type WindowStats struct {
	// Current is the number of predictions in the current window.
	Current int `json:"current"`
	// Reference is the number of predictions in the reference.
	Reference int `json:"reference"`
	// Labeled is the number of joined prediction-label pairs in the current window.
	Labeled int `json:"labeled"`
	// ReferenceKind is "first", "previous" or "profile".
	ReferenceKind string `json:"reference_kind"`
	// ReferenceFrozen is true once a first-N reference is full.
	ReferenceFrozen bool `json:"reference_frozen"`
}

// QualityValue is one quality metric of one version and segment.
type QualityValue struct {
	Version string  `json:"version"`
	Segment string  `json:"segment"`
	Metric  string  `json:"metric"`
	Value   float64 `json:"value"`
	Samples int     `json:"samples"`
}

// LabelStats describes the label join.
type LabelStats struct {
	// PendingPredictions is how many predictions wait for their label.
	PendingPredictions int `json:"pending_predictions"`
	// PendingLabels is how many labels wait for their prediction.
	PendingLabels int `json:"pending_labels"`
	// MaxPending is how many predictions (and, separately, labels) may wait: the model's
	// labels.max_pending, or its share of global.max_pending_labels.
	MaxPending int `json:"max_pending"`
	// LagSeconds is the median time from prediction to label over the current window's pairs.
	LagSeconds *float64 `json:"lag_seconds,omitempty"`
}

// EventStats counts events accepted since the model's state was created.
type EventStats struct {
	Predictions uint64 `json:"predictions"`
	Labels      uint64 `json:"labels"`
}

// evalScratch holds the buffers one evaluation fills and reads. It keeps nothing a later
// evaluation needs: models are evaluated one at a time (the evaluation loop holds
// Monitor.evalMu), so one scratch serves every model in turn, and its buffers are sized by
// the largest model instead of being kept alive per model between ticks.
type evalScratch struct {
	// copies of the current window's pairs
	version []uint32
	seg     [][]uint32
	y       []float64
	pred    []float64
	score   []float64
	lag     []float64
	probs   []float64
	// copies of the current window's predictions (for estimated accuracy)
	pVersion []uint32
	pPred    []float64
	pScore   []float64
	// per-group buffers
	idx   []int
	yb    []bool
	pb    []bool
	sc    []float64
	yi    []int
	pi    []int
	yf    []float64
	pf    []float64
	probK []float64
	// per-feature copies
	feats []featureData
	// row-major numeric features (NaN = missing) for the PCA test
	pcaCols        []string
	pcaCur, pcaRef []float64
	// the model's summarised first-N reference (streaming mode), read under the model's lock
	streamRef *streamRef
}

// evalState is what one model's evaluations keep from one tick to the next. Only the
// evaluation loop uses it (under Monitor.evalMu, or a replay's or report's single goroutine).
type evalState struct {
	// ref caches what a frozen reference yields; it is emptied after an evaluation whose
	// reference is not frozen, which builds it afresh.
	ref refCache
	// anomaly holds the detectors of the model's own time series.
	anomaly *anomalyState
}

// evaluate computes the model's statistics at ts with the buffers of s. It must not run
// concurrently with itself, for this model (m.eval) or any other sharing s: the evaluation
// loop serialises it.
func (m *modelState) evaluate(ts time.Time, s *evalScratch) ModelStats {
	m.expire(ts)
	st := ModelStats{Model: m.cfg.Name, Task: m.cfg.Task, EvaluatedAt: ts}
	if m.eval.anomaly == nil {
		m.eval.anomaly = newAnomalyState()
	}
	st.Anomalies = m.anomalies(ts, m.eval.anomaly)
	width, versionNames, segNames, k, frozen := m.snapshot(ts, s, &st)
	st.Features, st.Drift = m.featureStats(s, &m.eval.ref, frozen)
	st.Multivariate = m.multivariate(s, &m.eval.ref)
	if !m.eval.ref.valid {
		// Rebuilt at the next evaluation anyway: do not keep a sorted copy of a reference
		// that moves (a filling first-N or a previous window) alive between ticks.
		m.eval.ref = refCache{}
	}
	st.Canary = m.canaryStats(ts, s, versionNames)

	if n := len(s.lag); n > 0 {
		lags := slices.Clone(s.lag)
		slices.Sort(lags)
		med := lags[n/2]
		if n%2 == 0 {
			med = (lags[n/2-1] + lags[n/2]) / 2
		}
		st.Labels.LagSeconds = &med
	}

	// Quality per version, for all pairs and per segment value.
	s.idx = s.idx[:0]
	for i := range s.y {
		s.idx = append(s.idx, i)
	}
	byVersion := groupBy(s.idx, s.version)
	for _, g := range byVersion {
		vname := versionNames[g.key]
		st.Quality = m.qualityOf(st.Quality, s, g.idx, vname, AllValue, width, k)
		for f := range s.seg {
			for _, sg := range groupBy(g.idx, s.seg[f]) {
				name := m.cfg.Segments[f] + "=" + segNames[f][sg.key]
				st.Quality = m.qualityOf(st.Quality, s, sg.idx, vname, name, width, k)
			}
		}
	}
	if m.cfg.Task == BinaryClassification {
		st.Quality = append(st.Quality, estimatedAccuracy(s, versionNames)...)
	}
	slices.SortFunc(st.Quality, func(a, b QualityValue) int {
		return cmp.Or(cmp.Compare(a.Version, b.Version), cmp.Compare(a.Segment, b.Segment), cmp.Compare(a.Metric, b.Metric))
	})
	return st
}

// snapshot copies what evaluation needs out of the windows under the model's lock.
func (m *modelState) snapshot(ts time.Time, s *evalScratch, st *ModelStats) (width int, versionNames []string, segNames [][]string, k int, frozen bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	end := ts.UnixNano()
	w := m.cfg.Window
	st.Events = EventStats{Predictions: m.predictions, Labels: m.labels}
	st.watchedSince = m.watchedSince
	if !m.lastEvent.IsZero() {
		t := m.lastEvent
		st.LastEventAt = &t
	}
	if len(m.unknownFeatures) > 0 {
		st.UnknownFeatures = make(map[string]uint64, len(m.unknownFeatures))
		for name, c := range m.unknownFeatures {
			st.UnknownFeatures[name] = c
		}
	}
	st.Labels.PendingPredictions = m.pendPred.Len()
	st.Labels.PendingLabels = m.pendLabel.Len()
	st.Labels.MaxPending = m.pendPred.max
	st.Windows.ReferenceKind = m.cfg.Reference.Window

	// Prediction window: current and reference ranges.
	pw := m.window
	var lo, hi, rlo, rhi int
	refWin := pw
	if w.Duration > 0 {
		d := time.Duration(w.Duration).Nanoseconds()
		keep := d
		if m.cfg.Reference.Window == "previous" {
			keep = 2 * d
		}
		pw.dropBefore(end - keep)
		at := func(i int) int64 { return pw.time[pw.r.slot(i)] }
		lo, hi = timeSpan(pw.r.n, at, end-d, end)
		if m.cfg.Reference.Window == "previous" {
			rlo, rhi = timeSpan(pw.r.n, at, end-2*d, end-d)
		}
	} else {
		lo, hi = pw.span(w.Size, 0)
		if m.cfg.Reference.Window == "previous" {
			rlo, rhi = pw.span(w.Size, hi-lo)
		}
	}
	if m.first != nil {
		refWin, rlo, rhi = m.first, 0, m.first.len()
		frozen = m.first.frozen()
		st.Windows.ReferenceFrozen = frozen
	}
	st.Windows.Current = hi - lo
	st.Windows.Reference = rhi - rlo
	if m.profile != nil {
		// The profile is the reference: frozen, and nothing of it is in the windows.
		rlo, rhi, frozen = 0, 0, true
		st.Windows.ReferenceKind, st.Windows.ReferenceFrozen = "profile", true
		st.Windows.Reference = int(m.profile.p.Source.Rows)
	}
	var sm *streamMerged
	s.streamRef = nil
	if m.stream != nil {
		s.streamRef = m.stream.ref
		d := int64(0)
		if w.Duration > 0 {
			d = time.Duration(w.Duration).Nanoseconds()
		}
		if m.stream.ready {
			sm = m.stream.merge(end, d)
		}
		st.Windows.Current = 0
		if sm != nil {
			st.Windows.Current = sm.n
		}
	}
	m.copyFeatures(s, pw, lo, hi, refWin, rlo, rhi, frozen && m.eval.ref.valid || m.profile != nil, sm)
	s.pVersion, s.pPred, s.pScore = s.pVersion[:0], s.pPred[:0], s.pScore[:0]
	if m.cfg.Task == BinaryClassification {
		for i := lo; i < hi; i++ {
			j := pw.r.slot(i)
			s.pVersion = append(s.pVersion, pw.version[j])
			s.pPred = append(s.pPred, pw.pred[j])
			s.pScore = append(s.pScore, pw.score[j])
		}
	}

	// Pair window: the current window of joined pairs.
	pr := m.pairs
	if w.Duration > 0 {
		d := time.Duration(w.Duration).Nanoseconds()
		pr.dropBefore(end - d)
		lo, hi = timeSpan(pr.r.n, func(i int) int64 { return pr.time[pr.r.slot(i)] }, end-d, end)
	} else {
		lo, hi = max(0, pr.r.n-w.Size), pr.r.n
	}
	st.Windows.Labeled = hi - lo
	s.version, s.y, s.pred, s.score, s.lag = s.version[:0], s.y[:0], s.pred[:0], s.score[:0], s.lag[:0]
	s.probs = s.probs[:0]
	if len(s.seg) != len(pr.seg) {
		s.seg = make([][]uint32, len(pr.seg))
	}
	for f := range s.seg {
		s.seg[f] = s.seg[f][:0]
	}
	width = pr.width
	for i := lo; i < hi; i++ {
		j := pr.r.slot(i)
		s.version = append(s.version, pr.version[j])
		s.y = append(s.y, pr.y[j])
		s.pred = append(s.pred, pr.pred[j])
		s.score = append(s.score, pr.score[j])
		s.lag = append(s.lag, pr.lag[j])
		for f := range s.seg {
			s.seg[f] = append(s.seg[f], pr.seg[f][j])
		}
		if width > 0 {
			s.probs = append(s.probs, pr.probs[j*width:(j+1)*width]...)
		}
	}
	versionNames = names(m.versions)
	segNames = make([][]string, len(m.segDict))
	for f, d := range m.segDict {
		segNames[f] = names(d)
	}
	k = m.classes.size()
	if k == m.classes.max {
		k++ // the "other" class has a column too
	}
	return width, versionNames, segNames, k, frozen
}

// copyFeatures copies every feature's non-missing values of the current range [lo, hi) of
// cur and the reference range [rlo, rhi) of ref into the scratch, and the prediction as
// the last feature. skipRef leaves the reference out (its statistics are cached).
func (m *modelState) copyFeatures(s *evalScratch, cur *predWindow, lo, hi int, ref *predWindow, rlo, rhi int, skipRef bool, sm *streamMerged) {
	n := len(m.feats) + 1
	if cap(s.feats) < n {
		// Grow keeping the buffers of the features already there: models of different
		// sizes share the scratch.
		s.feats = append(s.feats[:cap(s.feats)], make([]featureData, n-cap(s.feats))...)
	}
	s.feats = s.feats[:n]
	streaming := m.stream != nil
	for i := range m.feats {
		f := &m.feats[i]
		fd := &s.feats[i]
		fd.name, fd.typ, fd.cfg, fd.curTotal, fd.mismatch = f.name, f.typ, &m.cfg.Features[i], hi-lo, f.mismatched
		fd.curNum, fd.refNum, fd.curCat, fd.refCat = fd.curNum[:0], fd.refNum[:0], fd.curCat[:0], fd.refCat[:0]
		fd.streaming, fd.curSketch, fd.curCats, fd.curOut = streaming, nil, nil, 0
		fd.refCounted, fd.refSize = false, 0
		if streaming {
			fd.curTotal = 0
			if sm != nil {
				fd.curTotal = sm.n
				if f.typ == Numeric {
					fd.curSketch, fd.curOut = sm.num[f.col], int(sm.outOfRange[f.col])
				} else {
					fd.curCats = sm.cat[f.col]
				}
			}
			if !skipRef && s.streamRef == nil {
				// The first-N reference is filling: nothing is compared with it yet, so
				// count its values instead of copying (and then sorting) them every tick.
				// Once full it is summarised (streamRef) and its values dropped.
				fd.refCounted = true
				switch {
				case f.typ == Numeric && m.spill != nil && m.spill.open():
					fd.refSize = m.spill.present[f.col] // rlo, rhi span the whole reference
				case f.typ == Numeric:
					fd.refSize = countNumeric(ref, ref.num[f.col], rlo, rhi)
				default:
					fd.refSize = countCategories(ref, ref.cat[f.col], rlo, rhi)
				}
			}
			continue
		}
		if f.typ == Numeric {
			fd.curNum = appendNumeric(fd.curNum, cur, cur.num[f.col], lo, hi)
			if !skipRef {
				fd.refNum = appendNumeric(fd.refNum, ref, ref.num[f.col], rlo, rhi)
			}
		} else {
			fd.curCat = appendCategories(fd.curCat, cur, cur.cat[f.col], lo, hi)
			if !skipRef {
				fd.refCat = appendCategories(fd.refCat, ref, ref.cat[f.col], rlo, rhi)
			}
		}
	}
	// Rows of the numeric features for the multivariate test (exact mode only).
	s.pcaCols = nil
	if !streaming {
		s.pcaCols = m.pcaFeatures()
	}
	s.pcaCur, s.pcaRef = s.pcaCur[:0], s.pcaRef[:0]
	if len(s.pcaCols) > 0 {
		s.pcaCur = m.appendRows(s.pcaCur, cur, lo, hi)
		if !skipRef {
			s.pcaRef = m.appendRows(s.pcaRef, ref, rlo, rhi)
		}
	}

	// The prediction: scores of a binary model that sends them, predicted classes of a
	// classifier, predicted values of a regression model.
	fd := &s.feats[n-1]
	fd.name, fd.cfg, fd.curTotal, fd.mismatch = PredictionFeature, nil, hi-lo, 0
	fd.curNum, fd.refNum, fd.curCat, fd.refCat = fd.curNum[:0], fd.refNum[:0], fd.curCat[:0], fd.refCat[:0]
	fd.streaming, fd.curSketch, fd.curCats, fd.curOut = streaming, nil, nil, 0
	fd.refCounted, fd.refSize = false, 0
	if streaming {
		fd.curTotal = 0
		if sm != nil {
			fd.curTotal, fd.curSketch, fd.curCats = sm.n, sm.predNum, sm.predCat
		}
		// The current side comes from the panes; the reference side is copied below.
		lo, hi = 0, 0
	}
	scored := m.cfg.Task == BinaryClassification && (hasValue(ref.score, ref, rlo, rhi) || (rhi == rlo && hasValue(cur.score, cur, lo, hi)))
	if m.profile != nil && m.cfg.Task == BinaryClassification {
		// The profile says what the model's output was: scores or classes.
		pp := m.profile.p.Prediction
		scored = pp != nil && pp.Type == "numeric"
	}
	switch {
	case m.cfg.Task == Regression || scored:
		col := func(w *predWindow) []float64 { return w.pred }
		if scored {
			col = func(w *predWindow) []float64 { return w.score }
		}
		fd.typ = Numeric
		fd.curNum = appendNumeric(fd.curNum, cur, col(cur), lo, hi)
		if !skipRef {
			fd.refNum = appendNumeric(fd.refNum, ref, col(ref), rlo, rhi)
		}
	default:
		fd.typ = Categorical
		fd.curCat = appendClasses(fd.curCat, cur, lo, hi)
		if !skipRef {
			fd.refCat = appendClasses(fd.refCat, ref, rlo, rhi)
		}
	}
}

// appendRows appends the numeric features of entries [lo, hi) row by row, NaN for missing.
func (m *modelState) appendRows(dst []float64, w *predWindow, lo, hi int) []float64 {
	for i := lo; i < hi; i++ {
		j := w.r.slot(i)
		for _, f := range m.feats {
			if f.typ == Numeric {
				dst = append(dst, w.num[f.col][j])
			}
		}
	}
	return dst
}

func appendNumeric(dst []float64, w *predWindow, col []float64, lo, hi int) []float64 {
	for i := lo; i < hi; i++ {
		if v := col[w.r.slot(i)]; !math.IsNaN(v) {
			dst = append(dst, v)
		}
	}
	return dst
}

// countNumeric counts the non-missing values of entries [lo, hi) of col.
func countNumeric(w *predWindow, col []float64, lo, hi int) int {
	n := 0
	for i := lo; i < hi; i++ {
		if !math.IsNaN(col[w.r.slot(i)]) {
			n++
		}
	}
	return n
}

// countCategories counts the non-missing category ids of entries [lo, hi) of col.
func countCategories(w *predWindow, col []uint32, lo, hi int) int {
	n := 0
	for i := lo; i < hi; i++ {
		if col[w.r.slot(i)] != 0 {
			n++
		}
	}
	return n
}

func appendCategories(dst []uint32, w *predWindow, col []uint32, lo, hi int) []uint32 {
	for i := lo; i < hi; i++ {
		if id := col[w.r.slot(i)]; id != 0 {
			dst = append(dst, id)
		}
	}
	return dst
}

// appendClasses appends predicted classes as category ids (class + 1, so 0 stays missing).
func appendClasses(dst []uint32, w *predWindow, lo, hi int) []uint32 {
	for i := lo; i < hi; i++ {
		if v := w.pred[w.r.slot(i)]; !math.IsNaN(v) {
			dst = append(dst, uint32(v)+1)
		}
	}
	return dst
}

func hasValue(col []float64, w *predWindow, lo, hi int) bool {
	for i := lo; i < hi; i++ {
		if !math.IsNaN(col[w.r.slot(i)]) {
			return true
		}
	}
	return false
}

// names lists a dictionary's strings by id, including the "other" id.
func names(d *dict) []string {
	out := make([]string, d.max+2)
	for id := range out {
		out[id] = d.name(uint32(id))
	}
	return out
}

type group struct {
	key uint32
	idx []int
}

// groupBy splits idx by key[idx[i]], groups in key order.
func groupBy(idx []int, key []uint32) []group {
	var out []group
	pos := map[uint32]int{}
	for _, i := range idx {
		k := key[i]
		p, ok := pos[k]
		if !ok {
			p = len(out)
			pos[k] = p
			out = append(out, group{key: k})
		}
		out[p].idx = append(out[p].idx, i)
	}
	slices.SortFunc(out, func(a, b group) int { return cmp.Compare(a.key, b.key) })
	return out
}

// qualityOf appends the quality metrics of the pairs idx to out.
func (m *modelState) qualityOf(out []QualityValue, s *evalScratch, idx []int, version, segment string, width, k int) []QualityValue {
	n := len(idx)
	if n == 0 {
		return out
	}
	add := func(metric string, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, QualityValue{Version: version, Segment: segment, Metric: metric, Value: v, Samples: n})
		}
	}
	switch m.cfg.Task {
	case BinaryClassification:
		s.yb, s.pb, s.sc = s.yb[:0], s.pb[:0], s.sc[:0]
		allScored := true
		for _, i := range idx {
			s.yb = append(s.yb, s.y[i] == 1)
			s.pb = append(s.pb, s.pred[i] == 1)
			if math.IsNaN(s.score[i]) {
				allScored = false
			}
			s.sc = append(s.sc, s.score[i])
		}
		c := quality.BinaryConfusion(s.yb, s.pb)
		add("accuracy", c.Accuracy())
		add("precision", c.Precision())
		add("recall", c.Recall())
		add("f1", c.F1())
		if allScored {
			if auc, err := quality.ROCAUC(s.yb, s.sc); err == nil {
				add("auc", auc)
			}
			add("log_loss", quality.LogLoss(s.yb, s.sc))
			add("brier", quality.Brier(s.yb, s.sc))
		}
	case MulticlassClassification:
		s.yi, s.pi = s.yi[:0], s.pi[:0]
		allScored := width > 0
		for _, i := range idx {
			s.yi = append(s.yi, int(s.y[i])-1)
			s.pi = append(s.pi, int(s.pred[i])-1)
			if math.IsNaN(s.score[i]) {
				allScored = false
			}
		}
		add("accuracy", quality.MulticlassAccuracy(s.yi, s.pi))
		p, r, f1 := quality.MacroPRF(s.yi, s.pi)
		add("precision", p)
		add("recall", r)
		add("f1", f1)
		if allScored && k > 0 {
			s.probK = s.probK[:0]
			for _, i := range idx {
				s.probK = append(s.probK, s.probs[i*width:i*width+k]...)
			}
			if ll, err := quality.MulticlassLogLoss(s.yi, s.probK, k); err == nil {
				add("log_loss", ll)
			}
		}
	case Regression:
		s.yf, s.pf = s.yf[:0], s.pf[:0]
		for _, i := range idx {
			s.yf = append(s.yf, s.y[i])
			s.pf = append(s.pf, s.pred[i])
		}
		add("mae", quality.MAE(s.yf, s.pf))
		add("rmse", quality.RMSE(s.yf, s.pf))
		add("mape", quality.MAPE(s.yf, s.pf))
		add("r2", quality.R2(s.yf, s.pf))
	}
	return out
}

// estimatedAccuracy is the mean confidence in the predicted class over the current
// window's scored predictions, per version: score when predicted positive, 1-score otherwise.
func estimatedAccuracy(s *evalScratch, versionNames []string) []QualityValue {
	s.idx = s.idx[:0]
	for i := range s.pScore {
		if !math.IsNaN(s.pScore[i]) && !math.IsNaN(s.pPred[i]) {
			s.idx = append(s.idx, i)
		}
	}
	var out []QualityValue
	for _, g := range groupBy(s.idx, s.pVersion) {
		s.pb, s.sc = s.pb[:0], s.sc[:0]
		for _, i := range g.idx {
			s.pb = append(s.pb, s.pPred[i] == 1)
			s.sc = append(s.sc, s.pScore[i])
		}
		out = append(out, QualityValue{
			Version: versionNames[g.key], Segment: AllValue, Metric: "estimated_accuracy",
			Value: quality.EstimatedAccuracy(s.pb, s.sc), Samples: len(g.idx),
		})
	}
	return out
}
