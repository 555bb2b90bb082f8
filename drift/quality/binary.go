package quality

import "math"

// logLossEps is sklearn's log_loss(eps=1e-15): probabilities are clipped to
// [logLossEps, 1-logLossEps] before the logarithm.
const logLossEps = 1e-15

// Confusion holds binary confusion-matrix counts.
type Confusion struct{ TP, FP, TN, FN int }

// BinaryConfusion counts y against pred; y[i] true means sample i is an
// actual positive, pred[i] true that it was predicted positive. It panics if
// the lengths differ.
func BinaryConfusion(y, pred []bool) Confusion {
	mustSameLen("BinaryConfusion", len(y), len(pred))
	var c [4]int // index 2·y + pred: TN, FP, FN, TP.
	pred = pred[:len(y)]
	for i, t := range y {
		c[b2i(t)<<1|b2i(pred[i])]++
	}
	return Confusion{TN: c[0], FP: c[1], FN: c[2], TP: c[3]}
}

// Total returns the number of samples counted.
func (c Confusion) Total() int { return c.TP + c.FP + c.TN + c.FN }

// Accuracy returns (TP+TN)/Total, as sklearn accuracy_score. It is NaN when
// c is empty.
func (c Confusion) Accuracy() float64 {
	n := c.Total()
	if n == 0 {
		return math.NaN()
	}
	return float64(c.TP+c.TN) / float64(n)
}

// Precision returns TP/(TP+FP), as sklearn precision_score with
// zero_division=0: 0 when nothing was predicted positive. It is NaN when c
// is empty.
func (c Confusion) Precision() float64 {
	if c.Total() == 0 {
		return math.NaN()
	}
	return ratio(c.TP, c.TP+c.FP)
}

// Recall returns TP/(TP+FN), as sklearn recall_score with zero_division=0:
// 0 when there are no actual positives. It is NaN when c is empty.
func (c Confusion) Recall() float64 {
	if c.Total() == 0 {
		return math.NaN()
	}
	return ratio(c.TP, c.TP+c.FN)
}

// F1 returns the harmonic mean of Precision and Recall, as sklearn f1_score
// with zero_division=0: 0 when both are 0. It is NaN when c is empty.
func (c Confusion) F1() float64 {
	if c.Total() == 0 {
		return math.NaN()
	}
	return fScore(ratio(c.TP, c.TP+c.FP), ratio(c.TP, c.TP+c.FN))
}

// fScore is sklearn's F1 from precision p and recall r, evaluated in the same
// order (2·p·r / (p+r), denominator 0 → 0) so that it is bit-identical; it is
// equal to 2TP/(2TP+FP+FN) only up to rounding.
func fScore(p, r float64) float64 {
	den := p + r
	if den == 0 {
		return 0
	}
	return 2 * p * r / den
}

// ratio is sklearn's _prf_divide with zero_division=0.
func ratio(num, den int) float64 {
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

// LogLoss returns the mean binary cross-entropy of score = P(positive)
// against y, as sklearn log_loss(y, score, eps=1e-15, labels=[False, True]):
// each score is clipped to [1e-15, 1-1e-15], the pair (1-p, p) is
// renormalised by its sum, and the loss is -ln of the entry for the true
// class. sklearn raises when y holds a single class and labels is not given;
// this returns the value sklearn gives with labels=[False, True], which is
// well defined. A NaN score gives NaN (sklearn raises). It returns NaN for
// empty input and panics if the lengths differ.
func LogLoss(y []bool, score []float64) float64 {
	mustSameLen("LogLoss", len(y), len(score))
	n := len(y)
	if n == 0 {
		return math.NaN()
	}
	s := sumTerms(n, func(off, m int) float64 {
		var buf [pwBlockSize]float64
		dst := buf[:m]
		ys := y[off : off+m]
		ps := score[off : off+m]
		for j := range dst {
			p := clip(ps[j], logLossEps, 1-logLossEps)
			q := 1 - p
			z := q + p // sklearn renormalises each row by its (rounded) sum.
			if ys[j] {
				dst[j] = -math.Log(p / z)
			} else {
				dst[j] = -math.Log(q / z)
			}
		}
		return pairwiseLeaf(dst)
	})
	return s / float64(n)
}

// Brier returns the mean squared difference between score = P(positive) and
// y (1 for positive, 0 for negative), as sklearn brier_score_loss. Scores
// outside [0, 1] are not rejected (sklearn raises); NaN propagates. It
// returns NaN for empty input and panics if the lengths differ.
func Brier(y []bool, score []float64) float64 {
	mustSameLen("Brier", len(y), len(score))
	n := len(y)
	if n == 0 {
		return math.NaN()
	}
	s := sumTerms(n, func(off, m int) float64 {
		var buf [pwBlockSize]float64
		dst := buf[:m]
		ys := y[off : off+m]
		ps := score[off : off+m]
		for j := range dst {
			d := float64(b2i(ys[j])) - ps[j]
			dst[j] = float64(d * d) // float64() forbids fusing into a later add.
		}
		return pairwiseLeaf(dst)
	})
	return s / float64(n)
}

// EstimatedAccuracy returns the accuracy expected from calibrated scores
// before any label arrives (the CBPE idea): the mean over samples of score
// when pred is positive and 1-score otherwise, i.e.
// numpy.mean(numpy.where(pred, score, 1-score)). It returns NaN for empty
// input and panics if the lengths differ.
func EstimatedAccuracy(pred []bool, score []float64) float64 {
	mustSameLen("EstimatedAccuracy", len(pred), len(score))
	n := len(pred)
	if n == 0 {
		return math.NaN()
	}
	s := sumTerms(n, func(off, m int) float64 {
		var buf [pwBlockSize]float64
		dst := buf[:m]
		ys := pred[off : off+m]
		ps := score[off : off+m]
		for j := range dst {
			if ys[j] {
				dst[j] = ps[j]
			} else {
				dst[j] = 1 - ps[j]
			}
		}
		return pairwiseLeaf(dst)
	})
	return s / float64(n)
}

// clip is numpy.clip for one value: NaN stays NaN.
func clip(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
