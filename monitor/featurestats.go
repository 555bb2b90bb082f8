package monitor

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/vigilml/vigil/drift"
	"github.com/vigilml/vigil/drift/sketch"
)

// PredictionFeature is the feature name under which a model's own output is tested for
// drift: the score of a binary model that sends scores, else the predicted class; the
// predicted value of a regression model.
const PredictionFeature = "__prediction__"

// Default thresholds of the distance methods (Evidently's defaults); ks and chi_square
// compare their p-value with drift.alpha instead.
var defaultThresholds = map[string]float64{
	MethodPSI:           0.1,
	MethodWasserstein:   0.1,
	MethodJensenShannon: 0.1,
	MethodHellinger:     0.1,
	MethodLInfinity:     0.1,
}

// defaultEffectSize is the smallest effect a p-value test may call drift: the KS statistic
// for ks, Cramér's V for chi_square (Cohen's "small" effect).
const defaultEffectSize = 0.1

// FeatureStats is one feature's data quality and drift at an evaluation.
type FeatureStats struct {
	Name string      `json:"name"`
	Type FeatureType `json:"type"`
	// Current and Reference count the non-missing values compared.
	Current   int `json:"current"`
	Reference int `json:"reference"`
	// MissingRatio is the share of the current window's predictions without this feature.
	MissingRatio *float64 `json:"missing_ratio,omitempty"`
	// OutOfRangeRatio is the share of current values outside [min, max]: the configured
	// bounds, else the reference's minimum and maximum (numeric features).
	OutOfRangeRatio *float64 `json:"out_of_range_ratio,omitempty"`
	// NewCategoryRatio is the share of current values whose category the reference lacks.
	NewCategoryRatio *float64 `json:"new_category_ratio,omitempty"`
	// TypeMismatches counts values of the wrong type since start (kept as missing).
	TypeMismatches uint64 `json:"type_mismatches"`
	// Scores holds every drift statistic that applies, by method; PValues the tests'.
	Scores  map[string]float64 `json:"scores,omitempty"`
	PValues map[string]float64 `json:"p_values,omitempty"`
	// Method decides Detected: against Threshold, or for ks and chi_square without a
	// threshold, the p-value against alpha with an effect-size floor.
	Method        string   `json:"method,omitempty"`
	Threshold     *float64 `json:"threshold,omitempty"`
	ThresholdAuto bool     `json:"threshold_auto,omitempty"`
	Detected      *bool    `json:"detected,omitempty"`
	// NoVerdict says why Detected is absent.
	NoVerdict string `json:"no_verdict,omitempty"`
	// Histogram is the reference and current distribution over the bins drift is
	// computed on (exact mode only).
	Histogram *Histogram `json:"histogram,omitempty"`

	pvalue   float64 // of the deciding p-value test, NaN otherwise
	effectOK bool    // effect-size floor met (p-value tests)
}

// ModelDrift is the model-level verdict over its features.
type ModelDrift struct {
	// Features counts the features with a verdict (the prediction not included).
	Features int `json:"features"`
	// Drifted counts those that drifted after the multiple-testing correction.
	Drifted int `json:"drifted"`
	// Share is Drifted / Features.
	Share float64 `json:"share"`
	// Detected is Share ≥ drift.share.
	Detected   bool   `json:"detected"`
	Correction string `json:"correction"`
}

// featureData is one feature's values copied out of the windows, in window order.
type featureData struct {
	name     string
	typ      FeatureType
	cfg      *FeatureConfig // nil for the prediction
	curNum   []float64      // non-missing values
	refNum   []float64
	curCat   []uint32 // non-missing category ids
	refCat   []uint32
	curTotal int // predictions in the current window, missing included
	mismatch uint64
	// streaming mode: the current window's summaries instead of its values
	streaming bool
	curSketch *sketch.Numeric
	curCats   *sketch.Categorical
	curOut    int // values out of range
	// refCounted: the reference's values were counted (refSize), not copied
	refCounted bool
	refSize    int
}

// refCache keeps what a frozen reference yields, so a first-N reference is sorted,
// counted and learnt from once.
type refCache struct {
	valid   bool
	samples map[string]*drift.Sample
	counts  map[string]map[uint32]int64
	auto    map[string]float64
	bounds  map[string][2]float64 // exact [min, max] of a profile's numeric features
	sizes   map[string]int        // values of a reference that is counted, not kept
	// the reference as streaming summaries, built on first use with the panes' options
	refSketch map[string]*sketch.Numeric
	refCats   map[string]*sketch.Categorical
	pca       *drift.PCA
	pcaLow    float64
	pcaHigh   float64
	pcaWhy    string // why there is no PCA model
}

func (c *refCache) reset() {
	*c = refCache{samples: map[string]*drift.Sample{}, counts: map[string]map[uint32]int64{}, auto: map[string]float64{}, bounds: map[string][2]float64{},
		sizes: map[string]int{}, refSketch: map[string]*sketch.Numeric{}, refCats: map[string]*sketch.Categorical{}}
}

// MultivariateDrift is the PCA reconstruction-error test over a model's numeric features.
type MultivariateDrift struct {
	// Features are the numeric features the test covers.
	Features []string `json:"features"`
	// Components is the number of principal components kept.
	Components int `json:"components,omitempty"`
	// Error is the current window's mean reconstruction error.
	Error *float64 `json:"error,omitempty"`
	// Lower and Upper bound the error: mean ∓ 3σ over reference sub-windows.
	Lower *float64 `json:"lower,omitempty"`
	Upper *float64 `json:"upper,omitempty"`
	// Detected is true when Error lies outside [Lower, Upper].
	Detected  *bool  `json:"detected,omitempty"`
	NoVerdict string `json:"no_verdict,omitempty"`
}

// pcaFeatures lists the numeric features the multivariate test covers (at least two).
func (m *modelState) pcaFeatures() []string {
	if !m.cfg.Drift.Multivariate {
		return nil
	}
	var out []string
	for _, f := range m.feats {
		if f.typ == Numeric {
			out = append(out, f.name)
		}
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

// fitPCA fits the reference's PCA model and learns its bounds from reference sub-windows.
func (m *modelState) fitPCA(s *evalScratch, c *refCache) {
	if m.profile != nil {
		c.pcaWhy = "a profile keeps each feature's values apart, not rows; the multivariate test needs a {window: first} or {window: previous} reference"
		return
	}
	d := len(s.pcaCols)
	n := len(s.pcaRef) / d
	dc := m.cfg.Drift
	size := n / dc.Chunks
	if size < dc.MinSamples {
		c.pcaWhy = fmt.Sprintf("the reference's %d rows make sub-windows of fewer than drift.min_samples %d", n, dc.MinSamples)
		return
	}
	p, err := drift.FitPCA(s.pcaRef, n, d, dc.PCAVariance)
	if err != nil {
		c.pcaWhy = err.Error()
		return
	}
	errs := make([]float64, dc.Chunks)
	for k := range errs {
		errs[k] = p.ReconstructionError(s.pcaRef[k*size*d:(k+1)*size*d], size)
	}
	mean, sd := meanStd(errs)
	c.pca, c.pcaLow, c.pcaHigh = p, mean-3*sd, mean+3*sd
}

// multivariate scores the current window with the reference's PCA model.
func (m *modelState) multivariate(s *evalScratch, c *refCache) *MultivariateDrift {
	if len(s.pcaCols) == 0 {
		return nil
	}
	md := &MultivariateDrift{Features: s.pcaCols}
	if c.pca == nil {
		md.NoVerdict = c.pcaWhy
		return md
	}
	md.Components = c.pca.Components()
	rows := len(s.pcaCur) / len(s.pcaCols)
	if rows < m.cfg.Drift.MinSamples {
		md.NoVerdict = fmt.Sprintf("the current window has %d rows, fewer than drift.min_samples %d", rows, m.cfg.Drift.MinSamples)
		return md
	}
	e := c.pca.ReconstructionError(s.pcaCur, rows)
	md.Error, md.Lower, md.Upper = ptr(e), ptr(c.pcaLow), ptr(c.pcaHigh)
	md.Detected = ptr(e < c.pcaLow || e > c.pcaHigh)
	return md
}

func meanStd(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)))
}

// featureStats judges every feature and the prediction, and the model as a whole.
func (m *modelState) featureStats(s *evalScratch, c *refCache, frozen bool) ([]FeatureStats, *ModelDrift) {
	if !frozen || !c.valid {
		// The reference's values are in the scratch: sort, count and learn from them once.
		c.reset()
		for i := range s.feats {
			fd := &s.feats[i]
			switch {
			case m.profile != nil && s.streamRef != nil:
				m.prepareProfileStream(fd, i, s.streamRef, c)
			case m.profile != nil:
				m.prepareProfile(fd, c)
			case s.streamRef != nil && fd.cfg != nil:
				prepareStreamRef(fd, m.feats[i].col, s.streamRef, c)
			case fd.refCounted:
				c.sizes[fd.name] = fd.refSize
			default:
				m.prepareReference(fd, c)
			}
		}
		if len(s.pcaCols) > 0 {
			m.fitPCA(s, c)
		}
	}
	out := make([]FeatureStats, 0, len(s.feats))
	for i := range s.feats {
		fs := m.judge(&s.feats[i], c)
		fs.Histogram = m.histogram(i, &s.feats[i], c)
		out = append(out, fs)
	}
	c.valid = frozen
	return out, m.modelDrift(out)
}

// refCount is the number of reference values behind a cached sample, summary or counts.
func (c *refCache) refCount(name string) int {
	if s := c.samples[name]; s != nil {
		return s.Len()
	}
	if s := c.refSketch[name]; s != nil {
		return int(s.Count())
	}
	if n, ok := c.sizes[name]; ok {
		return n
	}
	n := 0
	for _, v := range c.counts[name] {
		n += int(v)
	}
	return n
}

// prepareReference sorts or counts a feature's reference values and learns its automatic
// threshold, into the cache.
func (m *modelState) prepareReference(fd *featureData, cache *refCache) {
	ref := len(fd.refNum) + len(fd.refCat)
	if fd.typ == Numeric {
		if ref > 0 {
			cache.samples[fd.name] = drift.NewSample(fd.refNum)
		}
	} else {
		cache.counts[fd.name] = drift.CountCategories(fd.refCat)
	}
	if fd.cfg != nil && fd.cfg.Drift != nil && fd.cfg.Drift.Threshold.Auto {
		method := fd.cfg.Drift.Method
		if method == "" {
			method = defaultMethod(fd.typ, ref, m.cfg.Drift.LargeSample)
		}
		cache.auto[fd.name] = m.learnThreshold(fd, method)
	}
}

// prepareStreamRef takes a declared feature's reference from the summarised first-N
// reference of a streaming model (col is the feature's column).
func prepareStreamRef(fd *featureData, col int, ref *streamRef, cache *refCache) {
	if fd.typ == Numeric {
		cache.refSketch[fd.name] = ref.num[col]
	} else {
		cache.counts[fd.name] = ref.cat[col]
	}
	if v, ok := ref.auto[fd.name]; ok {
		cache.auto[fd.name] = v
	}
}

// prepareProfileStream takes feature i's reference (the prediction's past the declared
// features) from a streaming model's summarised profile (summariseProfile).
func (m *modelState) prepareProfileStream(fd *featureData, i int, ref *streamRef, cache *refCache) {
	if i < len(m.feats) {
		if k := ref.num; m.feats[i].typ == Numeric && k[m.feats[i].col] == nil {
			return // the profile has no values of it
		}
		prepareStreamRef(fd, m.feats[i].col, ref, cache)
		return
	}
	switch pp := m.profile.p.Prediction; {
	case ref.pred != nil && fd.typ == Numeric:
		cache.refSketch[fd.name] = ref.pred
	case pp != nil && pp.Type == "categorical" && fd.typ == Categorical:
		cache.counts[fd.name] = m.profileCounts[fd.name]
	}
}

// prepareProfile takes a feature's reference from the model's profile: its sample, its
// exact range and category counts, and the thresholds learnt when it was built.
func (m *modelState) prepareProfile(fd *featureData, cache *refCache) {
	pf := m.profile.p.Feature(fd.name)
	if pf == nil || string(pf.Type) != string(fd.typ) {
		return // e.g. a prediction the training data did not have: no reference
	}
	if fd.typ == Numeric {
		if len(pf.Sample) > 0 {
			cache.samples[fd.name] = drift.NewSample(pf.Sample)
			cache.bounds[fd.name] = [2]float64{*pf.Min, *pf.Max}
		}
	} else {
		cache.counts[fd.name] = m.profileCounts[fd.name]
	}
	if fd.cfg != nil && fd.cfg.Drift != nil && fd.cfg.Drift.Threshold.Auto {
		method := fd.cfg.Drift.Method
		if method == "" {
			method = defaultMethod(fd.typ, cache.refCount(fd.name), m.cfg.Drift.LargeSample)
		}
		if v, ok := pf.Thresholds[method]; ok {
			cache.auto[fd.name] = v
		} else if fd.typ == Numeric {
			// Learn from the profile's sample, as vigil baseline would have.
			fd.refNum = append(fd.refNum[:0], pf.Sample...)
			cache.auto[fd.name] = m.learnThreshold(fd, method)
			fd.refNum = fd.refNum[:0]
		}
	}
}

// mapProfileCategories maps the profile's categories (and predicted classes) to the ids
// the windows store for them. It runs while the model state is built, before any ingest.
func (m *modelState) mapProfileCategories(lp *loadedProfile) {
	m.profileCounts = map[string]map[uint32]int64{}
	for i := range m.feats {
		f := &m.feats[i]
		if pf := lp.p.Feature(f.name); f.typ == Categorical && pf != nil {
			counts := map[uint32]int64{}
			for c, n := range pf.Categories {
				counts[f.dict.id(c)] += n
			}
			m.profileCounts[f.name] = counts
		}
	}
	if pp := lp.p.Prediction; pp != nil && pp.Type == "categorical" {
		// The prediction's categories are classes, stored as class + 1.
		counts := map[uint32]int64{}
		for c, n := range pp.Categories {
			id := m.classes.id(c) + 1
			if m.cfg.Task == BinaryClassification {
				id = 1
				if c == string(m.cfg.PositiveClass) {
					id = 2
				}
			}
			counts[id] += n
		}
		m.profileCounts[PredictionFeature] = counts
	}
}

// judge computes one feature's data quality and drift.
func (m *modelState) judge(fd *featureData, cache *refCache) FeatureStats {
	dc := m.cfg.Drift
	st := FeatureStats{Name: fd.name, Type: fd.typ, TypeMismatches: fd.mismatch, pvalue: math.NaN()}
	cur, ref := len(fd.curNum)+len(fd.curCat), cache.refCount(fd.name)
	switch {
	case fd.curSketch != nil:
		cur = int(fd.curSketch.Count())
	case fd.curCats != nil:
		cur = int(fd.curCats.Count())
	}
	st.Current, st.Reference = cur, ref
	if fd.curTotal > 0 && fd.cfg != nil {
		st.MissingRatio = ptr(float64(fd.curTotal-cur) / float64(fd.curTotal))
	}

	var refSample *drift.Sample
	var refCounts map[uint32]int64
	if fd.typ == Numeric {
		refSample = cache.samples[fd.name]
		if fd.streaming && fd.cfg != nil && cur > 0 {
			// Counted at ingest against the bounds fixed when the stream started.
			st.OutOfRangeRatio = ptr(float64(fd.curOut) / float64(cur))
		} else if fd.cfg != nil && cur > 0 {
			lo, hi := math.Inf(-1), math.Inf(1)
			if b, ok := cache.bounds[fd.name]; ok {
				lo, hi = b[0], b[1]
			} else if refSample != nil {
				sorted := refSample.Sorted()
				lo, hi = sorted[0], sorted[len(sorted)-1]
			}
			if fd.cfg.Min != nil {
				lo = *fd.cfg.Min
			}
			if fd.cfg.Max != nil {
				hi = *fd.cfg.Max
			}
			if refSample != nil || fd.cfg.Min != nil || fd.cfg.Max != nil {
				n := 0
				for _, v := range fd.curNum {
					if v < lo || v > hi {
						n++
					}
				}
				st.OutOfRangeRatio = ptr(float64(n) / float64(cur))
			}
		}
	} else {
		refCounts = cache.counts[fd.name]
		if fd.cfg != nil && cur > 0 && ref > 0 {
			n := 0
			for _, id := range fd.curCat {
				if refCounts[id] == 0 {
					n++
				}
			}
			if fd.curCats != nil {
				for key, c := range fd.curCats.Counts() {
					if id, err := strconv.ParseUint(key, 10, 32); err != nil || refCounts[uint32(id)] == 0 {
						n += int(c)
					}
				}
				n += int(fd.curCats.Overflow())
			}
			st.NewCategoryRatio = ptr(float64(n) / float64(cur))
		}
	}

	if cur < dc.MinSamples || ref < dc.MinSamples {
		st.NoVerdict = fmt.Sprintf("not enough values: reference %d, current %d, drift.min_samples %d", ref, cur, dc.MinSamples)
		return st
	}

	var res drift.Result
	var cramersV float64
	switch {
	case fd.curSketch != nil:
		rs := cache.refSketch[fd.name]
		if rs == nil {
			var err error
			if rs, err = sketch.NewNumeric(fd.curSketch.Options()); err != nil {
				st.NoVerdict = "streaming summary: " + err.Error()
				return st
			}
			for _, v := range refSample.Sorted() {
				rs.Add(v)
			}
			cache.refSketch[fd.name] = rs
		}
		res = sketch.Compare(rs, fd.curSketch)
	case fd.curCats != nil:
		rc := cache.refCats[fd.name]
		if rc == nil {
			rc = sketch.NewCategorical(streamCategories)
			for id, c := range refCounts {
				rc.AddN(idKey(id), c)
			}
			cache.refCats[fd.name] = rc
		}
		res = sketch.CompareCategorical(rc, fd.curCats)
		cramersV = math.Sqrt(res.ChiSquare / float64(cur+ref))
	case fd.typ == Numeric:
		res = refSample.Compare(drift.NewSample(fd.curNum))
	default:
		res = drift.CompareCategorical(refCounts, drift.CountCategories(fd.curCat))
		cramersV = math.Sqrt(res.ChiSquare / float64(cur+ref))
	}
	st.Scores = map[string]float64{}
	st.PValues = map[string]float64{}
	for method, v := range map[string]float64{
		MethodPSI: res.PSI, MethodKS: res.KS, MethodWasserstein: res.Wasserstein,
		MethodJensenShannon: res.JensenShannon, MethodHellinger: res.Hellinger,
		MethodChiSquare: res.ChiSquare, MethodLInfinity: res.LInfinity,
	} {
		if finite(v) {
			st.Scores[method] = v
		}
	}
	if finite(res.KSPValue) {
		st.PValues[MethodKS] = res.KSPValue
	}
	if finite(res.ChiSquarePValue) {
		st.PValues[MethodChiSquare] = res.ChiSquarePValue
	}

	// The deciding method and its threshold.
	var fcfg FeatureDriftConfig
	if fd.cfg != nil && fd.cfg.Drift != nil {
		fcfg = *fd.cfg.Drift
	}
	st.Method = fcfg.Method
	if st.Method == "" {
		st.Method = defaultMethod(fd.typ, ref, dc.LargeSample)
	}
	effectFloor := defaultEffectSize
	if fcfg.EffectSize != nil {
		effectFloor = *fcfg.EffectSize
	}
	// effect is the quantity thresholds compare for the p-value tests.
	effect := func(method string) float64 {
		switch method {
		case MethodKS:
			return res.KS
		case MethodChiSquare:
			return cramersV
		}
		return st.Scores[method]
	}
	if _, ok := st.Scores[st.Method]; !ok {
		st.NoVerdict = fmt.Sprintf("%s is undefined on this data (e.g. a constant reference)", st.Method)
		return st
	}
	var detected bool
	switch {
	case fcfg.Threshold.Auto:
		limit, ok := cache.auto[fd.name]
		if !ok || math.IsNaN(limit) {
			st.NoVerdict = fmt.Sprintf("threshold auto needs at least %d reference values per sub-window", dc.MinSamples)
			return st
		}
		st.Threshold, st.ThresholdAuto = ptr(limit), true
		detected = effect(st.Method) > limit
	case fcfg.Threshold.Set:
		st.Threshold = ptr(fcfg.Threshold.Value)
		detected = effect(st.Method) >= fcfg.Threshold.Value
	case st.Method == MethodKS || st.Method == MethodChiSquare:
		st.pvalue = st.PValues[st.Method]
		st.effectOK = effect(st.Method) >= effectFloor
		st.Threshold = ptr(dc.Alpha)
		detected = st.pvalue < dc.Alpha && st.effectOK
	default:
		limit := defaultThresholds[st.Method]
		st.Threshold = ptr(limit)
		detected = effect(st.Method) >= limit
	}
	st.Detected = &detected
	return st
}

// defaultMethod picks the deciding method as Evidently does: tests with p-values for
// small references, distances for large ones (where every p-value is tiny).
func defaultMethod(typ FeatureType, refSize, large int) string {
	switch {
	case typ == Numeric && refSize <= large:
		return MethodKS
	case typ == Numeric:
		return MethodWasserstein
	case refSize <= large:
		return MethodChiSquare
	}
	return MethodJensenShannon
}

// learnThreshold is `threshold: auto`: the deciding statistic of each of drift.chunks
// contiguous sub-windows of the reference against the whole reference, and the limit
// mean + 3σ of those values (NaN when a sub-window would hold fewer than min_samples).
func (m *modelState) learnThreshold(fd *featureData, method string) float64 {
	k := m.cfg.Drift.Chunks
	n := len(fd.refNum) + len(fd.refCat)
	size := n / k
	if size < m.cfg.Drift.MinSamples {
		return math.NaN()
	}
	vals := make([]float64, 0, k)
	if fd.typ == Numeric {
		ref := drift.NewSample(fd.refNum)
		for c := range k {
			res := ref.Compare(drift.NewSample(fd.refNum[c*size : (c+1)*size]))
			vals = append(vals, statOf(res, method, size+n))
		}
	} else {
		refCounts := drift.CountCategories(fd.refCat)
		for c := range k {
			res := drift.CompareCategorical(refCounts, drift.CountCategories(fd.refCat[c*size:(c+1)*size]))
			vals = append(vals, statOf(res, method, size+n))
		}
	}
	vals = slices.DeleteFunc(vals, func(v float64) bool { return !finite(v) })
	if len(vals) < 2 {
		return math.NaN()
	}
	mean, sd := meanStd(vals)
	return mean + 3*sd
}

// statOf is the quantity a threshold compares for method: the statistic, or Cramér's V
// for chi_square (its statistic grows with the sample size).
func statOf(res drift.Result, method string, total int) float64 {
	switch method {
	case MethodPSI:
		return res.PSI
	case MethodKS:
		return res.KS
	case MethodWasserstein:
		return res.Wasserstein
	case MethodJensenShannon:
		return res.JensenShannon
	case MethodHellinger:
		return res.Hellinger
	case MethodLInfinity:
		return res.LInfinity
	case MethodChiSquare:
		return math.Sqrt(res.ChiSquare / float64(total))
	}
	return math.NaN()
}

// modelDrift counts drifted features after correcting the p-value tests for testing many
// features at once.
func (m *modelState) modelDrift(fs []FeatureStats) *ModelDrift {
	dc := m.cfg.Drift
	md := &ModelDrift{Correction: dc.Correction}
	var pidx []int
	var pvals []float64
	for i := range fs {
		f := &fs[i]
		if f.Name == PredictionFeature || f.Detected == nil {
			continue
		}
		md.Features++
		if !math.IsNaN(f.pvalue) {
			pidx = append(pidx, i)
			pvals = append(pvals, f.pvalue)
		} else if *f.Detected {
			md.Drifted++
		}
	}
	adj := pvals
	switch dc.Correction {
	case "bonferroni":
		adj = drift.Bonferroni(pvals)
	case "benjamini_hochberg":
		adj = drift.BenjaminiHochberg(pvals)
	}
	for j, i := range pidx {
		if adj[j] < dc.Alpha && fs[i].effectOK {
			md.Drifted++
		}
	}
	if md.Features == 0 {
		return nil
	}
	md.Share = float64(md.Drifted) / float64(md.Features)
	md.Detected = md.Share >= dc.Share
	return md
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func ptr[T any](v T) *T { return &v }
