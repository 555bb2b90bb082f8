package drift

import (
	"cmp"
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// psiFloor replaces a zero proportion in PSI.
const psiFloor = 1e-4

// proportions returns counts/sum(counts), or nil when the counts are not a
// usable histogram: empty, a negative count, or all zero.
func proportions(counts []int64) []float64 {
	var total int64
	for _, c := range counts {
		if c < 0 {
			return nil
		}
		total += c
	}
	if total == 0 {
		return nil
	}
	p := make([]float64, len(counts))
	for i, c := range counts {
		p[i] = float64(c) / float64(total)
	}
	return p
}

// pair returns the proportions of two aligned count vectors, or ok=false
// when either is unusable or their lengths differ.
func pair(ref, cur []int64) (p, q []float64, ok bool) {
	if len(ref) != len(cur) {
		return nil, nil, false
	}
	p, q = proportions(ref), proportions(cur)
	return p, q, p != nil && q != nil
}

// PSI is the population stability index of two aligned count vectors (bins
// of a numeric feature, categories of a categorical one): with proportions
// p = ref/sum(ref) and q = cur/sum(cur), each zero replaced by 1e-4 (without
// renormalising), PSI = sum (q-p)*ln(q/p). It is NaN when the lengths
// differ, a count is negative, or either side has no observations.
func PSI(ref, cur []int64) float64 {
	p, q, ok := pair(ref, cur)
	if !ok {
		return math.NaN()
	}
	var sum float64
	for i := range p {
		pi, qi := p[i], q[i]
		if pi == 0 {
			pi = psiFloor
		}
		if qi == 0 {
			qi = psiFloor
		}
		sum += (qi - pi) * math.Log(qi/pi)
	}
	return sum
}

// JensenShannon is scipy.spatial.distance.jensenshannon(p, q, base=2) of the
// proportions of two aligned count vectors (no zero replacement): the square
// root of the base-2 Jensen-Shannon divergence, in [0, 1]. Where rounding
// makes the divergence a tiny negative number (scipy then returns NaN) it is
// taken as 0. NaN as for [PSI].
func JensenShannon(ref, cur []int64) float64 {
	p, q, ok := pair(ref, cur)
	if !ok {
		return math.NaN()
	}
	// scipy normalises its inputs again: p / sum(p).
	normalise(p)
	normalise(q)
	var left, right float64
	for i := range p {
		m := (p[i] + q[i]) / 2.0
		left += relEntr(p[i], m)
		right += relEntr(q[i], m)
	}
	js := (left + right) / math.Ln2
	return math.Sqrt(max(js/2.0, 0))
}

func normalise(p []float64) {
	var s float64
	for _, v := range p {
		s += v
	}
	for i := range p {
		p[i] /= s
	}
}

// relEntr is scipy.special.rel_entr(x, y) for x, y >= 0.
func relEntr(x, y float64) float64 {
	switch {
	case x > 0 && y > 0:
		return x * math.Log(x/y)
	case x == 0 && y >= 0:
		return 0
	default:
		return math.Inf(1)
	}
}

// Hellinger is the Hellinger distance sqrt(1 - sum sqrt(p*q)) of the
// proportions of two aligned count vectors (no zero replacement), in [0, 1].
// It is evaluated as sqrt(sum (sqrt(p) - sqrt(q))^2 / 2), equal in exact
// arithmetic (p and q sum to 1) but free of the cancellation in 1 - sum,
// which leaves an error of about 1e-8 near 0: identical distributions give
// exactly 0. NaN as for [PSI].
func Hellinger(ref, cur []int64) float64 {
	p, q, ok := pair(ref, cur)
	if !ok {
		return math.NaN()
	}
	var ss float64
	for i := range p {
		d := math.Sqrt(p[i]) - math.Sqrt(q[i])
		ss += d * d
	}
	return math.Min(math.Sqrt(ss/2), 1)
}

// LInfinity is max |p - q| over the proportions of two aligned count vectors
// (no zero replacement), in [0, 1]. NaN as for [PSI].
func LInfinity(ref, cur []int64) float64 {
	p, q, ok := pair(ref, cur)
	if !ok {
		return math.NaN()
	}
	var d float64
	for i := range p {
		d = max(d, math.Abs(p[i]-q[i]))
	}
	return d
}

// ChiSquare is the Pearson chi-square test of homogeneity of two aligned
// count vectors, scipy.stats.chi2_contingency([ref, cur], correction=False):
// the statistic and its p-value with len(ref)-1 degrees of freedom. A single
// category gives 0, 1 (scipy's degenerate case). It is NaN, NaN where scipy
// raises: a category with zero count on both sides (an expected frequency of
// 0), an empty side, a negative count, or lengths that differ.
func ChiSquare(ref, cur []int64) (stat, pvalue float64) {
	nan := math.NaN()
	if len(ref) != len(cur) || len(ref) == 0 {
		return nan, nan
	}
	var rowR, rowC int64
	for i := range ref {
		if ref[i] < 0 || cur[i] < 0 || ref[i]+cur[i] == 0 {
			return nan, nan
		}
		rowR += ref[i]
		rowC += cur[i]
	}
	if rowR == 0 || rowC == 0 {
		return nan, nan
	}
	dof := len(ref) - 1
	if dof == 0 {
		return 0, 1
	}
	total := float64(rowR + rowC)
	var sum float64
	for r, row := range [2][]int64{ref, cur} {
		rowSum := float64(rowR)
		if r == 1 {
			rowSum = float64(rowC)
		}
		for i, o := range row {
			exp := rowSum * float64(ref[i]+cur[i]) / total
			d := float64(o) - exp
			sum += d * d / exp
		}
	}
	return sum, mathext.GammaIncRegComp(float64(dof)/2.0, sum/2.0)
}

// CountCategories counts the occurrences of each value.
func CountCategories[K comparable](values []K) map[K]int64 {
	m := make(map[K]int64)
	for _, v := range values {
		m[v]++
	}
	return m
}

// AlignCounts turns category counts of the reference and the current window
// into aligned count vectors over the categories of both (R ∪ C), in
// ascending key order: a category seen on one side only has count 0 on the
// other. Categories with a zero count on both sides are left out.
func AlignCounts[K cmp.Ordered](ref, cur map[K]int64) (keys []K, r, c []int64) {
	keys = make([]K, 0, max(len(ref), len(cur)))
	for k, v := range ref {
		if v != 0 || cur[k] != 0 {
			keys = append(keys, k)
		}
	}
	for k, v := range cur {
		if _, seen := ref[k]; !seen && v != 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	r = make([]int64, len(keys))
	c = make([]int64, len(keys))
	for i, k := range keys {
		r[i], c[i] = ref[k], cur[k]
	}
	return keys, r, c
}
