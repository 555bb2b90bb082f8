package quality

import (
	"fmt"
	"math"
)

// stackLabels is the number of classes MacroPRF counts without allocating.
const stackLabels = 64

// MulticlassAccuracy returns the fraction of samples with pred[i] == y[i], as
// sklearn accuracy_score. It returns NaN for empty input and panics if the
// lengths differ.
func MulticlassAccuracy(y, pred []int) float64 {
	mustSameLen("MulticlassAccuracy", len(y), len(pred))
	if len(y) == 0 {
		return math.NaN()
	}
	pred = pred[:len(y)]
	hits := 0
	for i, t := range y {
		hits += b2i(pred[i] == t)
	}
	return float64(hits) / float64(len(y))
}

// MacroPRF returns the unweighted means over classes of per-class precision,
// recall and F1, as sklearn precision_recall_fscore_support(y, pred,
// average="macro", zero_division=0). As in sklearn with labels=None, the
// classes averaged over are those present in y or pred: a class never seen in
// either is left out, while a class only predicted (recall 0/0 → 0) or only
// actual (precision 0/0 → 0) counts, pulling the means down. The macro F1 is
// the mean of per-class F1 scores, not the F1 of the mean precision and
// recall.
//
// Classes are dense indices 0..k-1; memory is O(max class), and MacroPRF
// does not allocate for classes below 64. It returns NaN for empty input and
// panics if the lengths differ or a class is negative.
func MacroPRF(y, pred []int) (precision, recall, f1 float64) {
	mustSameLen("MacroPRF", len(y), len(pred))
	if len(y) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	pred = pred[:len(y)]
	top := -1
	for i, t := range y {
		top = max(top, t, pred[i])
		if t < 0 || pred[i] < 0 {
			panic(fmt.Sprintf("quality: MacroPRF: negative class at index %d", i))
		}
	}
	m := top + 1

	// Per class c: counts[3c] true positives, counts[3c+1] predicted,
	// counts[3c+2] actual.
	var countStack [3 * stackLabels]int
	var counts []int
	if m <= stackLabels {
		counts = countStack[:3*m]
	} else {
		counts = make([]int, 3*m)
	}
	for i, t := range y {
		p := pred[i]
		counts[3*t] += b2i(t == p)
		counts[3*p+1]++
		counts[3*t+2]++
	}

	// Per-class scores of the present classes in ascending order, then
	// numpy.average over each score, as sklearn does.
	l := 0
	for c := range m {
		l += b2i(counts[3*c+1]+counts[3*c+2] > 0)
	}
	var scoreStack [3 * stackLabels]float64
	var scores []float64
	if l <= stackLabels {
		scores = scoreStack[:3*l]
	} else {
		scores = make([]float64, 3*l)
	}
	ps, rs, fs := scores[:l], scores[l:2*l], scores[2*l:]
	i := 0
	for c := range m {
		tp, np, nt := counts[3*c], counts[3*c+1], counts[3*c+2]
		if np+nt == 0 {
			continue
		}
		ps[i], rs[i] = ratio(tp, np), ratio(tp, nt)
		fs[i] = fScore(ps[i], rs[i])
		i++
	}
	return sumFloats(ps) / float64(l), sumFloats(rs) / float64(l), sumFloats(fs) / float64(l)
}

// MulticlassLogLoss returns the mean cross-entropy of the row-major n×k
// probability matrix probs against classes y, as sklearn 1.2.1
// log_loss(y, probs, eps=1e-15, labels=range(k)): every probability is
// clipped to [1e-15, 1-1e-15], each row is then divided by its (clipped) sum,
// and a sample's loss is -ln of its true class's entry. Rows need not sum to
// 1: the renormalisation makes the loss depend only on their proportions
// (but entries above 1 are clipped first, so unnormalised scores are not
// proportions), and a one-hot row of certainty still costs
// -ln((1-1e-15)/(1+(k-2)·1e-15)) rather than 0.
//
// It returns NaN with ErrEmpty for empty y, ErrShape if k < 2 or
// len(probs) != len(y)*k, and ErrLabel if a class lies outside [0, k) (sklearn
// silently scores such a row as 0). A NaN probability gives NaN.
func MulticlassLogLoss(y []int, probs []float64, k int) (float64, error) {
	n := len(y)
	if k < 2 {
		return math.NaN(), fmt.Errorf("%w: k = %d, want at least 2", ErrShape, k)
	}
	if len(probs) != n*k {
		return math.NaN(), fmt.Errorf("%w: len(probs) = %d, want %d×%d", ErrShape, len(probs), n, k)
	}
	if n == 0 {
		return math.NaN(), ErrEmpty
	}
	for i, c := range y {
		if c < 0 || c >= k {
			return math.NaN(), fmt.Errorf("%w: y[%d] = %d, k = %d", ErrLabel, i, c, k)
		}
	}
	s := sumTerms(n, func(off, m int) float64 {
		var buf [pwBlockSize]float64
		dst := buf[:m]
		for j := range dst {
			i := off + j
			row := probs[i*k : (i+1)*k]
			z := clippedRowSum(row)
			dst[j] = -math.Log(clip(row[y[i]], logLossEps, 1-logLossEps) / z)
		}
		return pairwiseLeaf(dst)
	})
	return s / float64(n), nil
}

// clippedRowSum returns numpy's sum of a row after clipping each entry to
// [1e-15, 1-1e-15].
func clippedRowSum(row []float64) float64 {
	if len(row) < 8 { // numpy's pairwise sum is a plain loop below 8.
		res := 0.0
		for _, v := range row {
			res += clip(v, logLossEps, 1-logLossEps)
		}
		return res
	}
	if len(row) <= pwBlockSize {
		var buf [pwBlockSize]float64
		b := buf[:len(row)]
		for i, v := range row {
			b[i] = clip(v, logLossEps, 1-logLossEps)
		}
		return pairwiseLeaf(b)
	}
	return sumTerms(len(row), func(off, m int) float64 {
		var buf [pwBlockSize]float64
		dst := buf[:m]
		for j, v := range row[off : off+m] {
			dst[j] = clip(v, logLossEps, 1-logLossEps)
		}
		return pairwiseLeaf(dst)
	})
}
