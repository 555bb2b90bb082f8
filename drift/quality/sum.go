package quality

// This file reproduces numpy's float64 summation order so that means taken
// here are bit-identical to numpy.mean / numpy.sum (and therefore to the
// sklearn metrics built on them) whenever the summed terms are.
//
// numpy (1.24, default ufunc buffer size) reduces a float64 array in chunks
// of 8192 elements, adding each chunk's pairwise sum to a running total that
// starts at 0. The pairwise sum (numpy/core/src/umath/loops_utils.h.src,
// pairwise_sum) adds fewer than 8 values one by one, up to 128 values with
// eight interleaved accumulators, and splits longer runs in two at a
// multiple of 8. The error bound is O(eps·log n) per chunk, so this is also
// more accurate than a naive loop; it costs no more.

const (
	npBufSize   = 8192 // numpy.getbufsize() default: reduction chunk length.
	pwBlockSize = 128  // PW_BLOCKSIZE in numpy's pairwise_sum.
)

// sumFloats returns numpy.sum(a) for a float64 array, bit for bit.
func sumFloats(a []float64) float64 {
	total := 0.0
	for lo := 0; lo < len(a); lo += npBufSize {
		total += pairwiseSlice(a[lo:min(lo+npBufSize, len(a))])
	}
	return total
}

func pairwiseSlice(a []float64) float64 {
	if len(a) <= pwBlockSize {
		return pairwiseLeaf(a)
	}
	n2 := len(a) / 2
	n2 -= n2 % 8
	return pairwiseSlice(a[:n2]) + pairwiseSlice(a[n2:])
}

// sumTerms returns numpy.sum(t) bit for bit, where t is the length-n array
// of terms a metric sums. leaf(off, m) must return pairwiseLeaf(t[off:off+m])
// for m <= 128; it is handed numpy's leaves in order. Each leaf fills its own
// stack buffer, so a metric is summed in numpy's order without materialising
// its n terms or allocating (a buffer handed to a func value would escape).
func sumTerms(n int, leaf func(off, m int) float64) float64 {
	total := 0.0
	for lo := 0; lo < n; lo += npBufSize {
		total += pairwiseTerms(lo, min(npBufSize, n-lo), leaf)
	}
	return total
}

func pairwiseTerms(off, n int, leaf func(off, m int) float64) float64 {
	if n <= pwBlockSize {
		return leaf(off, n)
	}
	n2 := n / 2
	n2 -= n2 % 8
	return pairwiseTerms(off, n2, leaf) + pairwiseTerms(off+n2, n-n2, leaf)
}

// pairwiseLeaf is numpy's pairwise_sum for n <= 128.
func pairwiseLeaf(a []float64) float64 {
	n := len(a)
	if n < 8 {
		res := 0.0
		for _, v := range a {
			res += v
		}
		return res
	}
	r0, r1, r2, r3 := a[0], a[1], a[2], a[3]
	r4, r5, r6, r7 := a[4], a[5], a[6], a[7]
	i := 8
	for end := n - n%8; i < end; i += 8 {
		b := a[i : i+8 : i+8]
		r0 += b[0]
		r1 += b[1]
		r2 += b[2]
		r3 += b[3]
		r4 += b[4]
		r5 += b[5]
		r6 += b[6]
		r7 += b[7]
	}
	res := ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
	for ; i < n; i++ {
		res += a[i]
	}
	return res
}
