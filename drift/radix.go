package drift

import (
	"cmp"
	"math"
	"slices"
	"sync"
)

const (
	radixBits    = 11
	radixBuckets = 1 << radixBits
	// radixHighShift: the first phase sorts by key>>radixHighShift (33 bits,
	// three passes); the second orders runs that tie there by the rest.
	radixHighShift = 31
	radixPasses    = 3
	// radixMinLen: below it slices.Sort is faster than the radix passes.
	radixMinLen = 1024
	// Runs up to insertionMax long are put in order by insertion.
	insertionMax = 32
)

// floatKey maps a float64 to a uint64 whose unsigned order is the numeric
// order of finite values: negative numbers have all bits flipped, others
// just the sign bit. -0 sorts just before +0; NaNs with the sign bit set sort
// before -Inf and the others after +Inf.
func floatKey(f float64) uint64 {
	b := math.Float64bits(f)
	mask := uint64(int64(b)>>63) | 1<<63
	return b ^ mask
}

// scratchPool recycles the radix sort's scratch buffers, which are as large
// as the sample and garbage as soon as the sort ends.
var scratchPool sync.Pool // of *[]float64

// radixSortFloat64 sorts x ascending by floatKey. It is a least-significant-
// digit radix sort in two phases: three 11-bit passes order the values by
// the high 33 bits of their keys (sign, exponent and 21 bits of mantissa);
// then each run of values that agree on those bits, rare for continuous data
// and usually all equal for discrete data, is ordered by the low 31 bits
// (insertion, a comparison sort, or three more passes for long runs such as
// timestamps). Passes
// whose digit is the same for every value are skipped. buf, if at least
// len(x) long, is used as scratch space; otherwise one is taken from a pool.
func radixSortFloat64(x, buf []float64) {
	n := len(x)
	if n < radixMinLen || uint64(n) > math.MaxUint32 {
		slices.Sort(x)
		return
	}
	if len(buf) < n {
		p, _ := scratchPool.Get().(*[]float64)
		if p == nil || cap(*p) < n {
			b := make([]float64, n)
			p = &b
		}
		defer scratchPool.Put(p)
		buf = (*p)[:n]
	}
	lsdPasses(x, buf[:n], radixHighShift)
	start, prev := 0, floatKey(x[0])>>radixHighShift
	for i := 1; i < n; i++ {
		high := floatKey(x[i]) >> radixHighShift
		if high == prev {
			continue
		}
		if i-start > 1 {
			sortRun(x[start:i], buf[start:i])
		}
		start, prev = i, high
	}
	if n-start > 1 {
		sortRun(x[start:], buf[start:])
	}
}

// sortRun orders values whose keys agree above radixHighShift.
func sortRun(r, buf []float64) {
	k0 := floatKey(r[0])
	same := true
	for _, v := range r[1:] {
		if floatKey(v) != k0 {
			same = false
			break
		}
	}
	switch {
	case same: // ties, the common case for discrete data
	case len(r) < radixMinLen && len(r) > insertionMax:
		slices.SortFunc(r, func(a, b float64) int {
			return cmp.Compare(floatKey(a), floatKey(b))
		})
	case len(r) <= insertionMax:
		for i := 1; i < len(r); i++ {
			v, k := r[i], floatKey(r[i])
			j := i
			for ; j > 0 && floatKey(r[j-1]) > k; j-- {
				r[j] = r[j-1]
			}
			r[j] = v
		}
	default:
		lsdPasses(r, buf, 0)
	}
}

// lsdPasses sorts x stably by the radixPasses*radixBits key bits starting at
// bit shift0, using buf (len(x) long) as scratch.
func lsdPasses(x, buf []float64, shift0 uint) {
	n := len(x)
	var counts [radixPasses][radixBuckets]uint32
	for _, v := range x {
		k := floatKey(v) >> shift0
		for p := range radixPasses {
			counts[p][(k>>(p*radixBits))&(radixBuckets-1)]++
		}
	}
	src, dst := x, buf
	for p := range radixPasses {
		c := &counts[p]
		shift := shift0 + uint(p*radixBits)
		if int(c[(floatKey(src[0])>>shift)&(radixBuckets-1)]) == n {
			continue // every value has the same digit
		}
		// Exclusive prefix sums: start offset of each bucket.
		var sum uint32
		for i := range c {
			c[i], sum = sum, sum+c[i]
		}
		for _, v := range src {
			d := (floatKey(v) >> shift) & (radixBuckets - 1)
			dst[c[d]] = v
			c[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &x[0] {
		copy(x, src)
	}
}
