package drift

import (
	"math"
	"sync"
)

// Sample is a sorted, immutable copy of a numeric sample: build it once for a
// reference window and compare many current windows against it without
// sorting the reference again. A Sample is safe for concurrent use.
//
// Values must be finite. A Sample that holds a NaN or an infinity is
// "unusable": every statistic computed from it is NaN (its [Sample.Bins] has
// NaN edges).
type Sample struct {
	sorted []float64

	stdOnce sync.Once
	std     float64
}

// NewSample copies values and sorts the copy (a radix sort on the IEEE-754
// bit patterns, which orders finite values as numbers). values is not
// modified. An empty or nil values gives an empty Sample.
func NewSample(values []float64) *Sample {
	s := make([]float64, len(values))
	copy(s, values)
	radixSortFloat64(s, nil)
	return &Sample{sorted: s}
}

// Len is the number of values in s.
func (s *Sample) Len() int { return len(s.sorted) }

// Sorted returns the values of s in ascending order. The slice is shared:
// do not modify it.
func (s *Sample) Sorted() []float64 { return s.sorted }

// usable reports whether s is non-empty and all its values are finite. The
// sort puts NaNs at the ends (slices.Sort: all first; the radix sort: those
// with the sign bit set first, the others last) and infinities are the
// extremes, so checking both ends suffices.
func (s *Sample) usable() bool {
	n := len(s.sorted)
	if n == 0 {
		return false
	}
	lo, hi := s.sorted[0], s.sorted[n-1]
	return !math.IsNaN(lo) && !math.IsInf(lo, 0) && !math.IsNaN(hi) && !math.IsInf(hi, 0)
}

// Std is the population standard deviation of s, numpy.std(values) (ddof=0),
// computed once. It is exactly 0 when all values are equal (numpy can return
// a tiny positive rounding residue there), and NaN for an empty or unusable
// Sample.
func (s *Sample) Std() float64 {
	s.stdOnce.Do(func() {
		s.std = math.NaN()
		if s.usable() {
			s.std = populationStd(s.sorted)
		}
	})
	return s.std
}

func populationStd(x []float64) float64 {
	n := len(x)
	if x[0] == x[n-1] {
		return 0 // sorted, so all values are equal
	}
	var sum kahan
	for _, v := range x {
		sum.add(v)
	}
	mean := sum.value() / float64(n)
	var ss kahan
	for _, v := range x {
		d := v - mean
		ss.add(d * d)
	}
	return math.Sqrt(ss.value() / float64(n))
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

// addPositive is Kahan's summation step for non-negative terms added to a
// non-negative sum, where Neumaier's comparison is not needed.
func (k *kahan) addPositive(v float64) {
	y := v + k.c
	t := k.s + y
	k.c = y - (t - k.s) // the part of y lost in t
	k.s = t
}

func (k *kahan) value() float64 { return k.s + k.c }

// Quantile is numpy.quantile(values, q) with numpy's default 'linear'
// method (Hyndman and Fan's type 7): the order statistics around (n-1)*q,
// interpolated as numpy does. q must be in [0, 1]; an empty Sample gives NaN.
func (s *Sample) Quantile(q float64) float64 {
	n := len(s.sorted)
	if n == 0 || math.IsNaN(q) || q < 0 || q > 1 {
		return math.NaN()
	}
	virtual := float64(n-1) * q
	prev := math.Floor(virtual)
	var lo, hi int
	if virtual >= float64(n-1) {
		lo, hi = n-1, n-1
		prev = -1 // numpy clips the index to -1 before computing gamma
	} else {
		lo = int(prev)
		hi = lo + 1
	}
	gamma := virtual - prev
	return lerp(s.sorted[lo], s.sorted[hi], gamma)
}

// lerp is numpy's _lerp: a + (b-a)*t, or b - (b-a)*(1-t) when t >= 0.5.
func lerp(a, b, t float64) float64 {
	diff := b - a
	if t >= 0.5 {
		return b - diff*(1-t)
	}
	return a + diff*t
}
