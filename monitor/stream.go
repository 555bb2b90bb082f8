package monitor

import (
	"math"
	"slices"
	"strconv"

	"github.com/vigilml/vigil/drift"
	"github.com/vigilml/vigil/drift/sketch"
)

// streamCategories bounds the categories a streaming summary counts one by one.
const streamCategories = 1000

// streamWindow is the current window of a model in streaming mode: a ring of panes, each
// summarising its predictions feature by feature in fixed memory (a quantile sketch and
// fixed-bin counts for numeric features, category counts for categorical ones). The
// window is the merge of its panes. It starts once the reference is known, because the
// numeric summaries count into the reference's decile bins.
type streamWindow struct {
	panes    []*pane
	cur      int
	paneSize int   // size windows: predictions per pane
	paneSpan int64 // duration windows: nanoseconds per pane
	ready    bool
	numOpts  []sketch.NumericOptions // per numeric column
	bounds   [][2]float64            // per numeric column, for out-of-range
	predOpts *sketch.NumericOptions  // the prediction, when numeric
	catDicts []*dict                 // per categorical column: the feature's dictionary
	nFeat    int
	// ref is the reference as the windows are compared with it: a first-N reference once
	// it is full (its raw feature values are then dropped), or a profile from the start.
	ref *streamRef
}

// streamRef is a full first-N reference or a profile summarised for the streaming windows:
// what the evaluation needs of it, in place of its 8 bytes per numeric value. It is built once and
// never changed, so evaluations read it without the model's lock.
type streamRef struct {
	num  []*sketch.Numeric  // per numeric column, with the panes' options
	cat  []map[uint32]int64 // per categorical column: count by category id
	auto map[string]float64 // per feature with threshold: auto, the learnt limit
	// pred is a profile's numeric prediction, with the panes' options; nil otherwise (a
	// first-N reference keeps the model's outputs, a few bytes per prediction).
	pred *sketch.Numeric
}

type pane struct {
	start      int64 // duration windows: start of the pane's span
	n          int
	num        []*sketch.Numeric
	cat        []catCounts // per categorical column
	missing    []int64     // per feature (declared order)
	outOfRange []int64     // per numeric column
	predNum    *sketch.Numeric
	predCat    *sketch.Categorical
}

func newStreamWindow(cfg ModelConfig, nFeat int) *streamWindow {
	w := &streamWindow{panes: make([]*pane, cfg.Window.Panes), nFeat: nFeat}
	if cfg.Window.Duration > 0 {
		// One pane more than the window's span holds, for the pane that is filling: the
		// window then covers all of (end − D, end], and at most one pane span before it.
		w.panes = make([]*pane, cfg.Window.Panes+1)
		w.paneSpan = max(1, int64(cfg.Window.Duration)/int64(cfg.Window.Panes))
	} else {
		w.paneSize = (cfg.Window.Size + cfg.Window.Panes - 1) / cfg.Window.Panes
	}
	return w
}

// startStream fixes the summaries' options from the reference's values: decile bins, centre
// and scale per numeric feature, and out-of-range bounds. It returns the sorted reference
// of each numeric column.
func (m *modelState) startStream(refNum [][]float64, predRef []float64, predNumeric bool) []*drift.Sample {
	w := m.stream
	w.numOpts = make([]sketch.NumericOptions, len(refNum))
	w.bounds = make([][2]float64, len(refNum))
	samples := make([]*drift.Sample, len(refNum))
	for col, vals := range refNum {
		s := drift.NewSample(vals)
		samples[col] = s
		if s.Len() > 0 {
			w.numOpts[col] = sketch.ReferenceOptions(s.Bins())
			w.bounds[col] = [2]float64{s.Sorted()[0], s.Sorted()[s.Len()-1]}
		} else {
			w.bounds[col] = [2]float64{math.Inf(-1), math.Inf(1)}
		}
	}
	m.openStream(predRef, predNumeric)
	return samples
}

// openStream completes the start of the streaming window once w.numOpts and w.bounds hold
// the reference's: the configured bounds, the categorical columns, the prediction's options
// and empty panes.
func (m *modelState) openStream(predRef []float64, predNumeric bool) {
	w := m.stream
	w.catDicts = nil
	for i := range m.feats {
		f := &m.feats[i]
		fc := m.cfg.Features[i]
		if f.typ != Numeric {
			w.catDicts = append(w.catDicts, f.dict)
		}
		if f.typ == Numeric {
			if fc.Min != nil {
				w.bounds[f.col][0] = *fc.Min
			}
			if fc.Max != nil {
				w.bounds[f.col][1] = *fc.Max
			}
		}
	}
	if predNumeric {
		s := drift.NewSample(predRef)
		o := sketch.ReferenceOptions(s.Bins())
		w.predOpts = &o
	}
	for i := range w.panes {
		w.panes[i] = m.newPane()
	}
	w.ready = true
}

func (m *modelState) newPane() *pane {
	w := m.stream
	p := &pane{missing: make([]int64, w.nFeat), outOfRange: make([]int64, len(w.numOpts))}
	for _, o := range w.numOpts {
		s, err := sketch.NewNumeric(o)
		if err != nil { // options come from finite reference deciles; fall back to defaults
			s, _ = sketch.NewNumeric(sketch.NumericOptions{Bins: o.Bins})
		}
		p.num = append(p.num, s)
	}
	p.cat = make([]catCounts, len(m.feats)-len(w.numOpts))
	if w.predOpts != nil {
		p.predNum, _ = sketch.NewNumeric(*w.predOpts)
	} else {
		p.predCat = sketch.NewCategorical(streamCategories)
	}
	return p
}

// paneFor returns the pane a prediction at time t belongs in, moving the ring on.
func (w *streamWindow) paneFor(t int64) *pane {
	p := w.panes[w.cur]
	if w.paneSpan > 0 {
		start := t - t%w.paneSpan
		switch {
		case p.n == 0 && p.start == 0:
			p.start = start
		case start > p.start:
			// Move on by as many panes as spans passed (at most a full turn).
			steps := min(int((start-p.start)/w.paneSpan), len(w.panes))
			for range steps {
				w.cur = (w.cur + 1) % len(w.panes)
				w.panes[w.cur].reset()
			}
			p = w.panes[w.cur]
			p.start = start
		}
		return p // an older (out-of-order) prediction joins the newest pane
	}
	if p.n >= w.paneSize {
		w.cur = (w.cur + 1) % len(w.panes)
		p = w.panes[w.cur]
		p.reset()
	}
	return p
}

func (p *pane) reset() {
	p.start, p.n = 0, 0
	for _, s := range p.num {
		s.Reset()
	}
	for i := range p.cat {
		p.cat[i].reset()
	}
	clear(p.missing)
	clear(p.outOfRange)
	if p.predNum != nil {
		p.predNum.Reset()
	}
	if p.predCat != nil {
		p.predCat.Reset()
	}
}

// idKey is the key a category id has in a streaming summary.
func idKey(id uint32) string { return strconv.FormatUint(uint64(id), 10) }

// streamMerged is the current window of a streaming model, merged from its panes.
type streamMerged struct {
	n          int
	num        []*sketch.Numeric
	cat        []*sketch.Categorical
	missing    []int64
	outOfRange []int64
	predNum    *sketch.Numeric
	predCat    *sketch.Categorical
}

// merge assembles the window ending at end: every pane (size windows) or the panes whose
// span reaches into (end − d, end] (duration windows).
func (w *streamWindow) merge(end, d int64) *streamMerged {
	var out *streamMerged
	var panes []*pane
	for _, p := range w.panes {
		if p == nil || p.n == 0 || (w.paneSpan > 0 && (p.start+w.paneSpan <= end-d || p.start > end)) {
			continue
		}
		panes = append(panes, p)
		if out == nil {
			out = &streamMerged{missing: make([]int64, len(p.missing)), outOfRange: make([]int64, len(p.outOfRange))}
			for _, s := range p.num {
				out.num = append(out.num, s.Clone())
			}
			if p.predNum != nil {
				out.predNum = p.predNum.Clone()
			} else {
				out.predCat = p.predCat.Clone()
			}
		} else {
			for i, s := range p.num {
				_ = out.num[i].Merge(s) // the panes share their options
			}
			if p.predNum != nil {
				_ = out.predNum.Merge(p.predNum)
			} else {
				out.predCat.Merge(p.predCat)
			}
		}
		out.n += p.n
		for i, v := range p.missing {
			out.missing[i] += v
		}
		for i, v := range p.outOfRange {
			out.outOfRange[i] += v
		}
	}
	if out != nil {
		for col := range w.catDicts {
			out.cat = append(out.cat, w.mergeCategories(panes, col))
		}
	}
	return out
}

// mergeCategories merges one categorical column of the panes into the summary that merging
// their sketch.Categorical summaries would give. Below the category limit that is the sum of
// the counts; beyond it (where the order in which categories join matters), it merges the
// panes' summaries.
func (w *streamWindow) mergeCategories(panes []*pane, col int) *sketch.Categorical {
	var sum catCounts
	overflow := false
	for _, p := range panes {
		c := &p.cat[col]
		if overflow = c.overflow > 0; overflow {
			break
		}
		c.each(func(id uint32, n uint64) {
			if sum.count(int(id)) == 0 {
				sum.distinct++
			}
			sum.addN(int(id), n)
		})
	}
	d := w.catDicts[col]
	if !overflow && sum.distinct <= streamCategories {
		return sum.toSketch(d)
	}
	out := panes[0].cat[col].toSketch(d)
	for _, p := range panes[1:] {
		out.Merge(p.cat[col].toSketch(d))
	}
	return out
}

// addPredictionToPane adds the model's output to a pane: the score or value when the
// prediction is summarised as numeric, else the class.
func (m *modelState) addPredictionToPane(pn *pane, pred, score float64) {
	if pn.predNum != nil {
		v := pred
		if m.cfg.Task == BinaryClassification {
			v = score
		}
		if !math.IsNaN(v) {
			pn.predNum.Add(v)
		}
		return
	}
	if !math.IsNaN(pred) {
		pn.predCat.Add(idKey(uint32(pred) + 1))
	}
}

// startStreamFromFirst starts the streaming window once the first-N reference is full,
// and replaces the reference's raw feature values by their summaries (summarise). If the
// values cannot be read back from disk, they are lost: the reference fills again, in memory.
func (m *modelState) startStreamFromFirst() {
	refNum, err := m.firstNumeric()
	if err != nil {
		m.spill.logger.Error("a first-N reference is lost; it fills again from the next predictions", "err", err)
		nNum := m.spill.nNum
		m.spill.close()
		m.spill = nil
		m.first = newPredWindow(m.first.r.max, nNum, len(m.first.cat))
		return
	}
	samples := m.startStream(refNum, m.predReference(), m.predNumeric())
	m.summarise(samples, refNum)
	if m.spill != nil {
		m.spill.close()
	}
}

// predNumeric reports whether the streaming windows summarise a first-N model's output as
// numbers (scores, regression values) rather than classes.
func (m *modelState) predNumeric() bool {
	f := m.first
	return m.cfg.Task == Regression || m.cfg.Task == BinaryClassification && hasValue(f.score, f, 0, f.len())
}

// predReference is the first-N reference's numeric outputs, when they are numeric.
func (m *modelState) predReference() []float64 {
	f := m.first
	switch {
	case m.cfg.Task == Regression:
		return appendNumeric(nil, f, f.pred, 0, f.len())
	case m.predNumeric():
		return appendNumeric(nil, f, f.score, 0, f.len())
	}
	return nil
}

// summarise builds the streaming reference of a full first-N reference from its sorted
// numeric columns (samples; refNum in arrival order) and its category ids, learns the automatic thresholds from its values
// (as an evaluation would), and then drops the raw feature columns. The model's outputs
// (a few bytes per prediction) stay: the evaluation compares the prediction from them.
func (m *modelState) summarise(samples []*drift.Sample, refNum [][]float64) {
	f, w := m.first, m.stream
	ref := &streamRef{auto: map[string]float64{}}
	for col, s := range samples {
		// The reference takes the options the panes ended up with (newPane falls back to
		// default options when the reference's are unusable), and its sorted values in
		// order, as the evaluation built it before: the sums in a sketch depend on order.
		ref.num = append(ref.num, sortedSketch(s, w.panes[0].num[col].Options()))
	}
	cats := make([][]uint32, len(f.cat))
	for col := range f.cat {
		cats[col] = appendCategories(nil, f, f.cat[col], 0, f.len())
		ref.cat = append(ref.cat, drift.CountCategories(cats[col]))
	}
	for i := range m.feats {
		fs := &m.feats[i]
		fc := &m.cfg.Features[i]
		if fc.Drift == nil || !fc.Drift.Threshold.Auto {
			continue
		}
		fd := featureData{name: fs.name, typ: fs.typ, cfg: fc}
		if fs.typ == Numeric {
			// learnThreshold cuts the reference into contiguous sub-windows: arrival order.
			fd.refNum = refNum[fs.col]
		} else {
			fd.refCat = cats[fs.col]
		}
		method := fc.Drift.Method
		if method == "" {
			method = defaultMethod(fs.typ, len(fd.refNum)+len(fd.refCat), m.cfg.Drift.LargeSample)
		}
		ref.auto[fs.name] = m.learnThreshold(&fd, method)
	}
	w.ref = ref
	clear(f.num)
	clear(f.cat)
}

// startStreamFromProfile starts the streaming window from a profile reference.
func (m *modelState) startStreamFromProfile(lp *loadedProfile) {
	var nNum int
	for _, f := range m.feats {
		if f.typ == Numeric {
			nNum++
		}
	}
	refNum := make([][]float64, nNum)
	for _, f := range m.feats {
		if pf := lp.p.Feature(f.name); f.typ == Numeric && pf != nil {
			refNum[f.col] = pf.Sample
		}
	}
	var predRef []float64
	pp := lp.p.Prediction
	numeric := pp != nil && pp.Type == "numeric"
	if numeric {
		predRef = pp.Sample
	}
	samples := m.startStream(refNum, predRef, numeric)
	m.summariseProfile(lp, samples)
	// Out of range is measured against the data's exact range, as in exact mode.
	for i, f := range m.feats {
		pf := lp.p.Feature(f.name)
		fc := m.cfg.Features[i]
		if f.typ != Numeric || pf == nil || pf.Min == nil {
			continue
		}
		b := &m.stream.bounds[f.col]
		if fc.Min == nil {
			b[0] = *pf.Min
		}
		if fc.Max == nil {
			b[1] = *pf.Max
		}
	}
}

// summariseProfile builds the streaming reference of a profile from its sorted numeric
// samples, as the evaluation built it from them before: each numeric feature's (and a
// numeric prediction's) sorted sample added to a summary with the panes' options, the
// profile's category counts, and the thresholds of features with threshold: auto, the
// profile's or learnt from its sample. releaseProfileSamples can then drop the samples.
func (m *modelState) summariseProfile(lp *loadedProfile, samples []*drift.Sample) {
	w := m.stream
	ref := &streamRef{auto: map[string]float64{}, num: make([]*sketch.Numeric, len(samples)), cat: make([]map[uint32]int64, len(w.catDicts))}
	sorted := func(s *drift.Sample, opts sketch.NumericOptions) *sketch.Numeric {
		if s.Len() == 0 {
			return nil // no reference values: no verdict, as without the summary
		}
		return sortedSketch(s, opts)
	}
	for col, s := range samples {
		ref.num[col] = sorted(s, w.panes[0].num[col].Options())
	}
	if pp := lp.p.Prediction; pp != nil && pp.Type == "numeric" && w.panes[0].predNum != nil {
		ref.pred = sorted(drift.NewSample(pp.Sample), w.panes[0].predNum.Options())
	}
	for i := range m.feats {
		fs := &m.feats[i]
		fc := &m.cfg.Features[i]
		if fs.typ != Numeric {
			ref.cat[fs.col] = m.profileCounts[fs.name]
		}
		if fc.Drift == nil || !fc.Drift.Threshold.Auto {
			continue
		}
		pf := lp.p.Feature(fs.name)
		n := 0
		if fs.typ == Numeric {
			n = len(pf.Sample)
		} else {
			for _, c := range m.profileCounts[fs.name] {
				n += int(c)
			}
		}
		method := fc.Drift.Method
		if method == "" {
			method = defaultMethod(fs.typ, n, m.cfg.Drift.LargeSample)
		}
		if v, ok := pf.Thresholds[method]; ok {
			ref.auto[fs.name] = v
		} else if fs.typ == Numeric {
			// Learn from the profile's sample, as vigil baseline would have.
			fd := featureData{name: fs.name, typ: fs.typ, cfg: fc, refNum: slices.Clone(pf.Sample)}
			ref.auto[fs.name] = m.learnThreshold(&fd, method)
		}
	}
	w.ref = ref
}

// releaseProfileSamples drops the numeric samples of a streaming model's profile lp (its
// own, or the same file read again) once they are summarised (summariseProfile): 8 bytes
// a value, up to 100,000 values a feature. The daemon calls it once nothing will make a
// model state from lp again.
func (m *modelState) releaseProfileSamples(lp *loadedProfile) {
	if lp == nil || m.stream == nil || m.stream.ref == nil {
		return
	}
	for _, f := range m.feats {
		if pf := lp.p.Feature(f.name); f.typ == Numeric && pf != nil {
			pf.Sample = nil
		}
	}
	if pp := lp.p.Prediction; pp != nil && m.stream.ref.pred != nil {
		pp.Sample = nil
	}
}

// sortedSketch is a summary with the panes' options opts of a reference's values, added in
// ascending order, as the evaluation built it: the sums in a sketch depend on order.
func sortedSketch(s *drift.Sample, opts sketch.NumericOptions) *sketch.Numeric {
	k, err := sketch.NewNumeric(opts)
	if err != nil {
		k, _ = sketch.NewNumeric(sketch.NumericOptions{}) // cannot happen: the panes' options are valid
	}
	for _, v := range s.Sorted() {
		k.Add(v)
	}
	return k
}
