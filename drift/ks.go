package drift

import "math"

// ksMaxAutoN is MAX_AUTO_N of scipy's ks_2samp: with method='auto' the exact
// p-value is attempted when both sample sizes are at most this.
const ksMaxAutoN = 10000

// ksMethod records which p-value computation ks_2samp's method='auto' ends up
// using; tests compare it with scipy's choice.
type ksMethod int

const (
	ksExact         ksMethod = iota // exact path counting
	ksAsymp                         // kstwo.sf(d, round(en)) because a sample is larger than ksMaxAutoN
	ksExactFallback                 // exact attempted, result outside [0, 1], asymptotic used
)

// KS is the two-sample Kolmogorov-Smirnov test of scipy.stats.ks_2samp(ref,
// cur) (two-sided, method='auto'). It copies and sorts both inputs; to reuse
// a sorted reference, build a [Sample] once and call [Sample.KS]. It returns
// NaN, NaN when either input is empty or holds a NaN or infinity.
func KS(ref, cur []float64) (stat, pvalue float64) {
	return NewSample(ref).KS(NewSample(cur))
}

// KS is the two-sample Kolmogorov-Smirnov test of s (the reference) against
// cur, as [KS].
func (s *Sample) KS(cur *Sample) (stat, pvalue float64) {
	stat, pvalue, _ = s.ks(cur)
	return stat, pvalue
}

func (s *Sample) ks(cur *Sample) (stat, pvalue float64, method ksMethod) {
	if !s.usable() || !cur.usable() {
		return math.NaN(), math.NaN(), ksAsymp
	}
	w := walk(s.sorted, cur.sorted, false)
	return ksPValue(len(s.sorted), len(cur.sorted), w.ksStat())
}

// ksPValue is the p-value part of ks_2samp (two-sided, method='auto') for
// sizes n1, n2 and statistic d. It returns the statistic as scipy reports it:
// on the exact path d is replaced by h/lcm(n1, n2).
func ksPValue(n1, n2 int, d float64) (stat, pvalue float64, method ksMethod) {
	method = ksAsymp
	if max(n1, n2) <= ksMaxAutoN {
		g := gcd(n1, n2)
		lcm := (n1 / g) * n2
		h := int(math.RoundToEven(d * float64(lcm)))
		d = float64(h) / float64(lcm)
		if h == 0 {
			return d, 1, ksExact
		}
		var prob float64
		if n1 == n2 {
			prob = probOutsideSquare(n1, h)
		} else {
			prob = outerProbInside(n1, n2, g, h)
		}
		if 0 <= prob && prob <= 1 {
			return d, prob, ksExact
		}
		method = ksExactFallback
	}
	// Smirnov's asymptotic distribution: kstwo.sf(d, round(en)), with the
	// larger size first as scipy sorts them.
	m, n := float64(max(n1, n2)), float64(min(n1, n2))
	en := m * n / (m + n)
	return d, clip01(kstwoSF(d, int(math.RoundToEven(en)))), method
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// probOutsideSquare is scipy's _compute_prob_outside_square(n, h):
// Pr(D_{n,n} >= h/n) for equal sample sizes, as 2*(A0 - A0*A1 + ...) in a
// Horner-like form. Floating-point rounding can push it just above 1 (for
// example n=5, h=1 gives 1.0000000000000002); ks_2samp then falls back to
// the asymptotic p-value, and so does this package.
func probOutsideSquare(n, h int) float64 {
	P := 0.0
	for k := n / h; k >= 0; k-- {
		p1 := 1.0
		for j := 0; j < h; j++ {
			p1 = float64(n-k*h-j) * p1 / float64(n+k*h+j+1)
		}
		P = p1 * (1.0 - P)
	}
	return 2 * P
}

// outerProbInside is scipy's _compute_outer_prob_inside_method(m, n, g, h)
// (scipy/stats/_stats_pythran.py): the proportion of lattice paths from
// (0,0) to (m,n) that leave the band |x/m - y/n| < h/lcm(m,n), computed
// directly as 1-p by Viehmann's recursion. Work is O(m * band width), up to
// O(m*n).
//
// Column i of the recursion overwrites one array A in place:
// A[jj] = (A[jj+off]*i + val*j) / (i+j) for j = minj+jj, val being the value
// just computed, so each element waits for the division before it. Four
// columns are therefore computed together, each trailing the one before by
// off+1 elements (the element it reads next was written one step earlier,
// and a window's carried-over tail is reset before the next column reads
// past the window). The operations, and so the result, are exactly scipy's
// (TestOuterProbInsideSchedule), with four division chains in flight.
func outerProbInside(m, n, g, h int) float64 {
	if m < n {
		m, n = n, m
	}
	mg := m / g
	ng := n / g
	fmg := float64(mg)

	minj, maxj := 0, min(int(math.Ceil(float64(h)/fmg)), n+1)
	curlen := maxj - minj
	lenA := min(2*maxj+2, n+1)
	A := make([]float64, lenA)
	for i := range A {
		A[i] = 1
	}
	for i := minj; i < min(maxj, lenA); i++ {
		A[i] = 0
	}
	// reset sets the carried-over elements beyond a window of length cur,
	// up to the previous window's length last, to 1.
	reset := func(cur, last int) {
		for k := cur; k < min(last, lenA); k++ {
			A[k] = 1
		}
	}

	// Column c of a group: index fi, next j fj, running val, offset o into
	// the previous column, first step s, length n, previous length l.
	var (
		fi, fj, val [4]float64
		o, s, ln, l [4]int
	)
	for i := 1; i <= m; i += 4 {
		step := 0
		for c := range 4 {
			ci := i + c
			if ci > m {
				ln[c], s[c] = 0, 0 // inactive
				continue
			}
			cmin := min(max(int(math.Floor(float64(ng*ci-h)/fmg))+1, 0), n)
			cmax := min(int(math.Ceil(float64(ng*ci+h)/fmg)), n+1)
			if cmax <= cmin {
				return 1 // scipy returns here; earlier columns do not matter
			}
			o[c] = cmin - minj
			if c > 0 {
				step += o[c] + 1
			}
			s[c] = step
			fi[c], fj[c], val[c] = float64(ci), float64(cmin), 1
			if cmin == 0 {
				val[c] = 0
			}
			ln[c], l[c] = cmax-cmin, curlen
			minj, maxj, curlen = cmin, cmax, cmax-cmin
		}
		f0, f1, f2, f3 := fi[0], fi[1], fi[2], fi[3]
		j0, j1, j2, j3 := fj[0], fj[1], fj[2], fj[3]
		v0, v1, v2, v3 := val[0], val[1], val[2], val[3]
		o0, o1, o2, o3 := o[0], o[1], o[2], o[3]
		s0, s1, s2, s3 := s[0], s[1], s[2], s[3]
		n0, n1, n2, n3 := ln[0], ln[1], ln[2], ln[3]
		end := 0
		for c := range 4 {
			if ln[c] > 0 {
				end = max(end, s[c]+ln[c])
			}
		}
		for k := 0; k < end; k++ {
			if k0 := k - s0; uint(k0) < uint(n0) {
				v0 = (A[k0+o0]*f0 + v0*j0) / (f0 + j0)
				A[k0] = v0
				j0++
				if k0 == n0-1 {
					reset(n0, l[0])
				}
			}
			if k1 := k - s1; uint(k1) < uint(n1) {
				v1 = (A[k1+o1]*f1 + v1*j1) / (f1 + j1)
				A[k1] = v1
				j1++
				if k1 == n1-1 {
					reset(n1, l[1])
				}
			}
			if k2 := k - s2; uint(k2) < uint(n2) {
				v2 = (A[k2+o2]*f2 + v2*j2) / (f2 + j2)
				A[k2] = v2
				j2++
				if k2 == n2-1 {
					reset(n2, l[2])
				}
			}
			if k3 := k - s3; uint(k3) < uint(n3) {
				v3 = (A[k3+o3]*f3 + v3*j3) / (f3 + j3)
				A[k3] = v3
				j3++
				if k3 == n3-1 {
					reset(n3, l[3])
				}
			}
		}
	}
	return A[maxj-minj-1]
}
