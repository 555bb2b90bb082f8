package drift

import (
	"cmp"
	"math"
)

// Result holds every drift statistic of one feature, named after the
// `method` label values of vigil_drift_score and vigil_drift_p_value. A
// statistic that does not apply to the feature's type, or is undefined for
// the data, is NaN and must not be exported.
type Result struct {
	KS              float64 // ks statistic (numeric)
	KSPValue        float64 // ks p-value (numeric)
	Wasserstein     float64 // wasserstein, normalised by std(ref) (numeric)
	PSI             float64 // psi
	JensenShannon   float64 // jensen_shannon
	Hellinger       float64 // hellinger
	LInfinity       float64 // l_infinity
	ChiSquare       float64 // chi_square statistic (categorical)
	ChiSquarePValue float64 // chi_square p-value (categorical)
}

// Compare computes the numeric statistics of s (the reference) against cur
// in one merge pass plus O(log n) binning: KS and its p-value, the
// normalised Wasserstein distance, and PSI, Jensen-Shannon, Hellinger and
// L-infinity over the decile bins of s. ChiSquare is NaN for numeric
// features. The bins and their reference counts are recomputed cheaply
// (O(log n)) on each call; cache [Sample.Bins] yourself to hold them fixed.
func (s *Sample) Compare(cur *Sample) Result {
	nan := math.NaN()
	res := Result{
		KS: nan, KSPValue: nan, Wasserstein: nan, PSI: nan, JensenShannon: nan,
		Hellinger: nan, LInfinity: nan, ChiSquare: nan, ChiSquarePValue: nan,
	}
	if !s.usable() || !cur.usable() {
		return res
	}
	w := walk(s.sorted, cur.sorted, true)
	res.KS, res.KSPValue, _ = ksPValue(len(s.sorted), len(cur.sorted), w.ksStat())
	if std := s.Std(); std != 0 {
		res.Wasserstein = w.wassersteinDistance() / std
	}
	bins := s.Bins()
	r, c := bins.CountsSorted(s), bins.CountsSorted(cur)
	res.PSI = PSI(r, c)
	res.JensenShannon = JensenShannon(r, c)
	res.Hellinger = Hellinger(r, c)
	res.LInfinity = LInfinity(r, c)
	return res
}

// CompareCategorical computes the categorical statistics of reference
// category counts against current ones over the categories of both: PSI,
// Jensen-Shannon, Hellinger, L-infinity and the chi-square test. KS and
// Wasserstein are NaN.
func CompareCategorical[K cmp.Ordered](ref, cur map[K]int64) Result {
	_, r, c := AlignCounts(ref, cur)
	nan := math.NaN()
	res := Result{KS: nan, KSPValue: nan, Wasserstein: nan}
	res.PSI = PSI(r, c)
	res.JensenShannon = JensenShannon(r, c)
	res.Hellinger = Hellinger(r, c)
	res.LInfinity = LInfinity(r, c)
	res.ChiSquare, res.ChiSquarePValue = ChiSquare(r, c)
	return res
}
