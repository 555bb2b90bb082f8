package quality

import (
	"cmp"
	"math"
	"slices"
)

// Comparison is the difference of a metric between a baseline (A) and a candidate (B)
// and the two-sided p-value of the test that they are equal.
type Comparison struct {
	A, B float64 // the metric of each side
	// Delta is B − A: negative when the candidate is worse for metrics where higher is better.
	Delta  float64
	Z      float64
	PValue float64
}

// TwoProportionZTest compares the proportions xa/na and xb/nb with the pooled two-sample
// z-test (statsmodels' proportions_ztest without continuity correction): with p̂ the pooled
// proportion, z = (pb − pa) / sqrt(p̂(1−p̂)(1/na + 1/nb)) and p = 2·Φ(−|z|). When both sides are
// all successes or all failures the variance is 0, z is 0 and p is 1: there is no evidence of
// a difference. It returns NaN fields when a side is empty.
func TwoProportionZTest(xa, na, xb, nb int) Comparison {
	if na <= 0 || nb <= 0 {
		return Comparison{A: math.NaN(), B: math.NaN(), Delta: math.NaN(), Z: math.NaN(), PValue: math.NaN()}
	}
	pa, pb := float64(xa)/float64(na), float64(xb)/float64(nb)
	pool := float64(xa+xb) / float64(na+nb)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(na) + 1/float64(nb)))
	c := Comparison{A: pa, B: pb, Delta: pb - pa, PValue: 1}
	if se > 0 {
		c.Z = (pb - pa) / se
		c.PValue = normalTwoSided(c.Z)
	}
	return c
}

// normalTwoSided is 2·Φ(−|z|), the two-sided p-value of a standard normal statistic.
func normalTwoSided(z float64) float64 {
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}

// DeLongTest compares the ROC AUCs of two independent samples (a baseline's and a
// candidate's labeled predictions, which in a traffic-split canary are different requests)
// with DeLong's test: each AUC's variance is S10/m + S01/n from its structural components
// (DeLong, DeLong & Clarke-Pearson 1988, computed with midranks as in Sun & Xu 2014), and
// z = (AUC_B − AUC_A) / sqrt(Var_A + Var_B), p = 2·Φ(−|z|). Because the two samples are
// independent there is no covariance term. ok is false when a side lacks either class
// or has fewer than two of one (the variance needs two), or a score is not finite.
func DeLongTest(ya []bool, sa []float64, yb []bool, sb []float64) (c Comparison, ok bool) {
	aucA, varA, okA := delong(ya, sa)
	aucB, varB, okB := delong(yb, sb)
	if !okA || !okB {
		return Comparison{}, false
	}
	c = Comparison{A: aucA, B: aucB, Delta: aucB - aucA, PValue: 1}
	if se := math.Sqrt(varA + varB); se > 0 {
		c.Z = c.Delta / se
		c.PValue = normalTwoSided(c.Z)
	}
	return c, true
}

// delong returns the AUC of score against y and DeLong's estimate of its variance.
func delong(y []bool, score []float64) (auc, variance float64, ok bool) {
	mustSameLen("DeLongTest", len(y), len(score))
	var pos, neg []float64
	for i, s := range score {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return 0, 0, false
		}
		if y[i] {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	m, n := len(pos), len(neg)
	if m < 2 || n < 2 {
		return 0, 0, false
	}
	all := append(slices.Clone(pos), neg...)
	tz := midranks(all)
	tx := midranks(pos)
	ty := midranks(neg)
	v10 := make([]float64, m)
	v01 := make([]float64, n)
	var sumPos float64
	for i := range m {
		v10[i] = (tz[i] - tx[i]) / float64(n)
		sumPos += tz[i]
	}
	for j := range n {
		v01[j] = 1 - (tz[m+j]-ty[j])/float64(m)
	}
	auc = (sumPos - float64(m)*float64(m+1)/2) / (float64(m) * float64(n))
	variance = sampleVar(v10)/float64(m) + sampleVar(v01)/float64(n)
	return auc, variance, true
}

// midranks returns the 1-based ranks of x, ties sharing their mean rank.
func midranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(x[a], x[b]) })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && x[idx[j]] == x[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // mean of ranks i+1 .. j
		for k := i; k < j; k++ {
			r[idx[k]] = mid
		}
		i = j
	}
	return r
}

// sampleVar is the variance with n−1 in the denominator (numpy's ddof=1).
func sampleVar(x []float64) float64 {
	var mean float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	var ss float64
	for _, v := range x {
		d := v - mean
		ss += d * d
	}
	return ss / float64(len(x)-1)
}

// Pearson is the Pearson correlation coefficient of x and y (scipy.stats.pearsonr's
// statistic). It is NaN when either is constant or they hold fewer than two values.
func Pearson(x, y []float64) float64 {
	mustSameLen("Pearson", len(x), len(y))
	n := len(x)
	if n < 2 {
		return math.NaN()
	}
	var mx, my float64
	for i := range n {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range n {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	r := sxy / math.Sqrt(sxx*syy)
	return max(-1, min(1, r))
}

// Quantile is numpy.quantile(x, q) with the default linear interpolation. It sorts x in
// place and returns NaN for an empty x.
func Quantile(x []float64, q float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	slices.Sort(x)
	pos := q * float64(len(x)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(x)-1)
	frac := pos - float64(lo)
	// numpy's _lerp: a + (b−a)·t, or b − (b−a)·(1−t) for t ≥ 0.5.
	a, b := x[lo], x[hi]
	if frac >= 0.5 {
		return b - (b-a)*(1-frac)
	}
	return a + (b-a)*frac
}
