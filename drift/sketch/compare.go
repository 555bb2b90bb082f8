package sketch

import (
	"math"

	"github.com/vigilml/vigil/drift"
)

// comparison is the result of one walk over the slots of two summaries.
type comparison struct {
	ks, ksUpper float64 // KS statistic at the bucket boundaries; its upper bound
	area        float64 // ∫|F_R - F_C| dx, mass uniform within each bucket
	areaErr     float64 // bound on |area - exact area|
}

// compare walks the buckets of ref and cur (same centre) in value order.
//
// KS: both empirical CDFs are known exactly at every boundary between
// buckets, as they count the values below it, so max |F_R - F_C| over the
// boundaries is the exact difference at real points: it never exceeds the
// exact KS statistic. Within a bucket holding the fractions p of R and q of
// C, the difference from the one at the bucket's lower boundary, d, moves
// by at most +p and -q, so the exact statistic is at most max(d+p, q-d)
// over the buckets: ksUpper.
//
// Wasserstein: within each bucket (its interval clamped to each side's exact
// minimum and maximum) each side's mass is taken as uniform, and |F_R - F_C|
// is integrated piece by piece as the linear function it then is. Both the
// exact and this difference stay within [d-q, d+p] across the bucket, so the
// area is off by at most (p+q) times the width the bucket's data occupy:
// areaErr sums that.
func compare(ref, cur *Numeric) comparison {
	c := union(ref.collapseOf(), cur.collapseOf())
	a := ref.appendSlots(nil, c)
	b := cur.appendSlots(nil, c)

	na, nb := float64(ref.n), float64(cur.n)
	aMin, aMax := ref.shift(ref.min), ref.shift(ref.max)
	bMin, bMax := cur.shift(cur.min), cur.shift(cur.max)

	var res comparison
	var area, areaErr kahan
	l := newLows()
	var ca, cb int64 // counts below the current boundary
	d := 0.0         // F_R - F_C at the current boundary
	x := math.Inf(-1)
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		key := int64(math.MaxInt64)
		if i < len(a) {
			key = a[i].key
		}
		if j < len(b) {
			key = min(key, b[j].key)
		}
		var wa, wb int64
		if i < len(a) && a[i].key == key {
			wa = a[i].n
			i++
		}
		if j < len(b) && b[j].key == key {
			wb = b[j].n
			j++
		}
		p, q := float64(wa)/na, float64(wb)/nb
		res.ksUpper = max(res.ksUpper, d+p, q-d)

		// Where each side's mass lies within the bucket.
		lo, hi := l.bounds(key, c)
		la, ha := within(lo, hi, aMin, aMax)
		lb, hb := within(lo, hi, bMin, bMax)
		start, end := math.Inf(1), math.Inf(-1)
		if wa > 0 {
			start, end = la, ha
		}
		if wb > 0 {
			start, end = min(start, lb), max(end, hb)
		}
		if d != 0 && start > x {
			area.add(math.Abs(d) * (start - x))
		}
		area.add(bucketArea(d, p, q, la, ha, lb, hb, start, end))
		areaErr.add((p + q) * (end - start))
		x = end

		ca += wa
		cb += wb
		d = float64(ca)/na - float64(cb)/nb
		res.ks = max(res.ks, math.Abs(d))
	}
	res.ksUpper = min(max(res.ksUpper, res.ks), 1)
	res.area, res.areaErr = area.value(), areaErr.value()
	return res
}

// within clamps the bucket [lo, hi] to a side's [vmin, vmax], staying inside
// the bucket.
func within(lo, hi, vmin, vmax float64) (l, h float64) {
	l = min(max(lo, vmin), hi)
	h = max(min(hi, vmax), l)
	return l, h
}

// bucketArea integrates |d + p*Fa(x) - q*Fb(x)| over [start, end], with Fa
// the CDF of the uniform distribution on [la, ha] (a point mass if la ==
// ha), and Fb likewise.
func bucketArea(d, p, q, la, ha, lb, hb, start, end float64) float64 {
	if !(end > start) {
		return 0
	}
	pts := [6]float64{start, la, ha, lb, hb, end}
	// Insertion sort of six values; those outside [start, end] are clamped.
	for k := range pts {
		pts[k] = min(max(pts[k], start), end)
	}
	for k := 1; k < len(pts); k++ {
		for m := k; m > 0 && pts[m] < pts[m-1]; m-- {
			pts[m], pts[m-1] = pts[m-1], pts[m]
		}
	}
	var sum float64
	for k := 1; k < len(pts); k++ {
		x0, x1 := pts[k-1], pts[k]
		if !(x1 > x0) {
			continue
		}
		mid := x0 + (x1-x0)/2
		d0 := d + p*cdf(x0, mid, la, ha) - q*cdf(x0, mid, lb, hb)
		d1 := d + p*cdf(x1, mid, la, ha) - q*cdf(x1, mid, lb, hb)
		sum += absLinearIntegral(d0, d1, x1-x0)
	}
	return sum
}

// cdf is the CDF of the uniform distribution on [l, h] at x, for x an end of
// a piece whose midpoint is mid; a point mass (l == h) is placed by mid, as
// the piece lies wholly on one side of it.
func cdf(x, mid, l, h float64) float64 {
	if h > l {
		return min(max((x-l)/(h-l), 0), 1)
	}
	if mid > l {
		return 1
	}
	return 0
}

// absLinearIntegral is ∫|f| over an interval of width w where f is linear
// from f0 to f1.
func absLinearIntegral(f0, f1, w float64) float64 {
	a0, a1 := math.Abs(f0), math.Abs(f1)
	if (f0 >= 0) == (f1 >= 0) || a0+a1 == 0 {
		return w * (a0 + a1) / 2
	}
	return w * (a0*a0 + a1*a1) / (2 * (a0 + a1))
}

// kahan is Neumaier's compensated summation.
type kahan struct{ s, c float64 }

func (k *kahan) add(v float64) {
	t := k.s + v
	if math.Abs(k.s) >= math.Abs(v) {
		k.c += (k.s - t) + v
	} else {
		k.c += (v - t) + k.s
	}
	k.s = t
}

func (k *kahan) value() float64 { return k.s + k.c }

// KS returns the two-sample Kolmogorov-Smirnov statistic of ref against cur
// from their sketches, d, and a guaranteed upper bound on the exact
// statistic, upper: d <= ks_2samp(R, C).statistic <= upper. d is the largest
// difference of the empirical CDFs at the bucket boundaries, where both are
// exact; upper - d is at most the largest fraction of either window in one
// bucket. Both are NaN when either summary is empty or unusable, or their
// Center or Scale differ.
func KS(ref, cur *Numeric) (d, upper float64) {
	if !comparable(ref, cur) {
		return math.NaN(), math.NaN()
	}
	r := compare(ref, cur)
	return r.ks, r.ksUpper
}

// Wasserstein returns scipy.stats.wasserstein_distance(R, C) / std(R) from
// the sketches and a guaranteed bound on its absolute error, errBound (in
// the same units): the mass within each bucket is taken as uniform over the
// bucket's part of [min, max]. ok is false, and both NaN, when the score is
// undefined (std(R) = 0) or overflows, or either summary is empty or
// unusable, or their Center or Scale differ.
func Wasserstein(ref, cur *Numeric) (score, errBound float64, ok bool) {
	std := ref.Std()
	if !comparable(ref, cur) || !finitePositive(std) {
		return math.NaN(), math.NaN(), false
	}
	r := compare(ref, cur)
	if math.IsInf(r.area, 0) || math.IsNaN(r.area) {
		return math.NaN(), math.NaN(), false
	}
	return r.area / std, r.areaErr / std, true
}

// ksPValue is the p-value of a summary's KS statistic d between windows of n and m
// values: [drift.KSPValue]'s finite-size series up to an effective size nm/(n+m) of
// [drift.KSAsymptoticMinEN], Kolmogorov's limiting distribution
// ([drift.KSPValueAsymptotic]) beyond it. The series costs O(n) (22 ms for 1M against
// 1M) while d itself is only within about 2e-4 of the exact statistic; there the
// limit is within 1% of the series, far inside the error d already brings.
func ksPValue(n, m int, d float64) float64 {
	if en := float64(n) * float64(m) / (float64(n) + float64(m)); en >= drift.KSAsymptoticMinEN {
		return drift.KSPValueAsymptotic(n, m, d)
	}
	return drift.KSPValue(n, m, d)
}

// finitePositive reports whether 0 < v < Inf: a std that can normalise.
func finitePositive(v float64) bool { return v > 0 && v <= math.MaxFloat64 }

func comparable(ref, cur *Numeric) bool {
	return ref.usable() && cur.usable() && ref.sameSketch(cur)
}

// Compare computes the numeric drift statistics of ref (the reference)
// against cur, as [drift.Sample.Compare] does for held windows:
//
//   - KS: the statistic at the bucket boundaries (see [KS]) and its p-value
//     for the exact sizes (see [ksPValue]). The statistic is a lower bound,
//     usually within 2e-4 of the exact one; the p-value inherits its error.
//   - Wasserstein: as [Wasserstein], normalised by the exact population std
//     of ref; NaN when ref is constant.
//   - PSI, Jensen-Shannon, Hellinger, L-infinity: from the fixed-bin counts,
//     through drift's count functions, so exactly the values of exact mode
//     when the bins are the same. If cur was built with other bins, its
//     counts are rebuilt from its sketch into ref's bins (see
//     [Numeric.Rebin]).
//
// Everything is NaN when either summary is empty or holds a NaN or
// infinity; KS and Wasserstein are also NaN when the Center or Scale differ.
// ChiSquare is NaN for numeric features.
func Compare(ref, cur *Numeric) drift.Result {
	nan := math.NaN()
	res := drift.Result{
		KS: nan, KSPValue: nan, Wasserstein: nan, PSI: nan, JensenShannon: nan,
		Hellinger: nan, LInfinity: nan, ChiSquare: nan, ChiSquarePValue: nan,
	}
	if !ref.usable() || !cur.usable() {
		return res
	}
	if ref.sameSketch(cur) {
		r := compare(ref, cur)
		res.KS = r.ks
		res.KSPValue = ksPValue(int(ref.n), int(cur.n), r.ks)
		if std := ref.Std(); finitePositive(std) && !math.IsInf(r.area, 0) {
			res.Wasserstein = r.area / std
		}
	}
	rc, cc := ref.counts, cur.counts
	if !sameEdges(ref.edges, cur.edges) {
		cc, _ = cur.countInto(ref.edges)
	}
	res.PSI = drift.PSI(rc, cc)
	res.JensenShannon = drift.JensenShannon(rc, cc)
	res.Hellinger = drift.Hellinger(rc, cc)
	res.LInfinity = drift.LInfinity(rc, cc)
	return res
}
