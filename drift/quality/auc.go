package quality

import (
	"math"
)

// AUCScratch holds the buffers ROCAUCScratch sorts in, so that a caller
// computing AUC every tick allocates them once. The zero value is ready to
// use. An AUCScratch must not be used by two goroutines at once.
type AUCScratch struct {
	keys, tmp []uint64
}

// ROCAUC returns the area under the ROC curve of score against y, equal to
// sklearn roc_auc_score(y, score): the probability that a random positive
// scores above a random negative, ties counting one half (the trapezoid
// sklearn draws through tied scores). It is computed exactly, as the
// Mann–Whitney U statistic in integers, after one O(n) radix sort.
//
// It returns NaN and ErrEmpty for empty input, ErrNonFinite if a score is NaN
// or ±Inf (sklearn rejects those too) and ErrOneClass if y holds a single
// class. It panics if the lengths differ. It handles fewer than 2^32
// samples. It allocates 16 bytes per sample; use ROCAUCScratch to reuse that
// memory.
func ROCAUC(y []bool, score []float64) (float64, error) {
	var s AUCScratch
	return ROCAUCScratch(y, score, &s)
}

// ROCAUCScratch is ROCAUC sorting in s's buffers, which it grows as needed
// and keeps for the next call.
func ROCAUCScratch(y []bool, score []float64, s *AUCScratch) (float64, error) {
	mustSameLen("ROCAUC", len(y), len(score))
	n := len(y)
	if n == 0 {
		return math.NaN(), ErrEmpty
	}
	if cap(s.keys) < n {
		s.keys = make([]uint64, n)
		s.tmp = make([]uint64, n)
	}
	keys, tmp := s.keys[:n], s.tmp[:n]

	// One pass: map each score to an order-preserving integer key, put the
	// positives' keys at the front and the negatives' at the back of keys,
	// and histogram every byte of both groups for the radix sort.
	//
	// The split is branch-free: every key is written to both candidate
	// slots and only the right cursor advances. A stale write lands on a
	// slot not yet owned by either group (pos ≤ n-1-neg while samples
	// remain), so it is overwritten later.
	var hist [2][8][256]uint32 // [negative, positive][byte][value]
	pos, neg := 0, 0
	bad := false
	score = score[:n]
	for i, t := range y {
		f := score[i]
		bad = bad || f-f != 0 // NaN or ±Inf.
		k := floatKey(f)
		keys[pos] = k
		keys[n-1-neg] = k
		b := b2i(t)
		pos += b
		neg += 1 - b
		h := &hist[b]
		h[0][byte(k)]++
		h[1][byte(k>>8)]++
		h[2][byte(k>>16)]++
		h[3][byte(k>>24)]++
		h[4][byte(k>>32)]++
		h[5][byte(k>>40)]++
		h[6][byte(k>>48)]++
		h[7][byte(k>>56)]++
	}
	if bad {
		return math.NaN(), ErrNonFinite
	}
	if pos == 0 || neg == 0 {
		return math.NaN(), ErrOneClass
	}
	p := radixSort(keys[:pos], tmp[:pos], &hist[1])
	q := radixSort(keys[pos:], tmp[pos:], &hist[0])
	return float64(twiceU(p, q)) / (2 * float64(len(p)) * float64(len(q))), nil
}

// twiceU returns 2U, where U is the Mann–Whitney statistic of sorted positive
// keys p against sorted negative keys q: the number of (positive, negative)
// pairs in which the positive is larger, ties counting one half.
func twiceU(p, q []uint64) uint64 {
	var u2 uint64
	j := 0 // q[:j] < current value.
	for i := 0; i < len(p); {
		v := p[i]
		c := i + 1
		for c < len(p) && p[c] == v {
			c++
		}
		for j < len(q) && q[j] < v {
			j++
		}
		e := j
		for e < len(q) && q[e] == v {
			e++
		}
		u2 += uint64(c-i) * uint64(2*j+(e-j))
		i, j = c, e
	}
	return u2
}

// floatKey maps a non-NaN float64 to a uint64 with the same order; -0 and +0
// share a key, as they compare equal.
func floatKey(f float64) uint64 {
	if f == 0 {
		f = 0 // -0 → +0.
	}
	b := math.Float64bits(f)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

// radixSort sorts keys with an LSD radix sort on bytes, using tmp (same
// length) as the other buffer, and returns whichever of the two holds the
// result. hist holds each byte's value counts; bytes that are the same for
// every key (the sign and exponent bytes of probabilities, say) are skipped.
func radixSort(keys, tmp []uint64, hist *[8][256]uint32) []uint64 {
	n := len(keys)
	if n < 2 {
		return keys
	}
	src, dst := keys, tmp
	for d := range 8 {
		h := &hist[d]
		shift := uint(8 * d)
		if int(h[byte(src[0]>>shift)]) == n {
			continue
		}
		var off [256]int
		sum := 0
		for v, c := range h {
			off[v] = sum
			sum += int(c)
		}
		dst = dst[:n]
		for _, k := range src {
			b := byte(k >> shift)
			dst[off[b]] = k
			off[b]++
		}
		src, dst = dst, src
	}
	return src
}
