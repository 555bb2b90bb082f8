package quality

import "math"

// mapeEps is numpy.finfo(numpy.float64).eps, the floor sklearn puts under
// |y| in mean_absolute_percentage_error.
const mapeEps = 0x1p-52

// MAE returns the mean absolute error, as sklearn mean_absolute_error. It
// returns NaN for empty input and panics if the lengths differ.
func MAE(y, pred []float64) float64 {
	mustSameLen("MAE", len(y), len(pred))
	if len(y) == 0 {
		return math.NaN()
	}
	s := sumTerms(len(y), func(off, m int) float64 {
		var buf [pwBlockSize]float64
		dst := buf[:m]
		ys, ps := y[off:off+m], pred[off:off+m]
		for j := range dst {
			dst[j] = math.Abs(ps[j] - ys[j])
		}
		return pairwiseLeaf(dst)
	})
	return s / float64(len(y))
}

// RMSE returns the root mean squared error, as
// sqrt(sklearn mean_squared_error). It returns NaN for empty input and panics
// if the lengths differ.
func RMSE(y, pred []float64) float64 {
	mustSameLen("RMSE", len(y), len(pred))
	if len(y) == 0 {
		return math.NaN()
	}
	return math.Sqrt(sumSquaredError(y, pred) / float64(len(y)))
}

// MAPE returns the mean absolute percentage error as a fraction (not ×100),
// as sklearn mean_absolute_percentage_error: mean of |pred-y| / max(|y|, ε)
// with ε = 2^-52 (float64 machine epsilon). A y of 0 with pred ≠ 0
// therefore contributes |pred|·4.5e15, which swamps the mean; that is
// sklearn's documented behaviour. It returns NaN for empty input and panics
// if the lengths differ.
func MAPE(y, pred []float64) float64 {
	mustSameLen("MAPE", len(y), len(pred))
	if len(y) == 0 {
		return math.NaN()
	}
	s := sumTerms(len(y), func(off, m int) float64 {
		var buf [pwBlockSize]float64
		dst := buf[:m]
		ys, ps := y[off:off+m], pred[off:off+m]
		for j := range dst {
			den := math.Abs(ys[j])
			if den < mapeEps { // NaN stays NaN, as with numpy.maximum.
				den = mapeEps
			}
			dst[j] = math.Abs(ps[j]-ys[j]) / den
		}
		return pairwiseLeaf(dst)
	})
	return s / float64(len(y))
}

// R2 returns the coefficient of determination 1 - SS_res/SS_tot, as sklearn
// r2_score (force_finite=True): 1 when SS_res is 0 (perfect predictions,
// even for constant y), 0 when SS_tot is 0 but SS_res is not. Like sklearn it
// returns NaN for fewer than two samples.
//
// SS_tot is taken around numpy's mean of y, reproduced bit for bit, so a
// constant y whose mean is not exactly representable (y = [0.1, 0.1, 0.1]
// has mean 0.10000000000000002) gets a tiny nonzero SS_tot and a huge
// negative R2 (about -5e31 against pred = 0.2), exactly as in sklearn. It
// panics if the lengths differ.
func R2(y, pred []float64) float64 {
	mustSameLen("R2", len(y), len(pred))
	n := len(y)
	if n < 2 {
		return math.NaN()
	}
	num := sumSquaredError(y, pred)
	if constant(y) {
		// Every y is the same: the total variance is exactly zero, and force_finite gives
		// 1 for a perfect fit and 0 otherwise. sklearn computes the variance around
		// numpy's rounded mean instead, which for values such as [0.1, 0.1, 0.1] is a tiny
		// non-zero number and an R² of about -5e31; a gauge that rules compare against
		// must not carry that artefact.
		if num == 0 {
			return 1
		}
		return 0
	}
	mean := sumFloats(y) / float64(n)
	den := sumTerms(n, func(off, m int) float64 {
		var buf [pwBlockSize]float64
		dst := buf[:m]
		for j, v := range y[off : off+m] {
			d := v - mean
			dst[j] = float64(d * d) // float64() forbids fusing into a later add.
		}
		return pairwiseLeaf(dst)
	})
	switch {
	case num == 0:
		return 1
	case den == 0:
		return 0
	}
	return 1 - num/den
}

// sumSquaredError returns numpy.sum((y - pred)**2).
func sumSquaredError(y, pred []float64) float64 {
	return sumTerms(len(y), func(off, m int) float64 {
		var buf [pwBlockSize]float64
		dst := buf[:m]
		ys, ps := y[off:off+m], pred[off:off+m]
		for j := range dst {
			d := ys[j] - ps[j]
			dst[j] = float64(d * d) // float64() forbids fusing into a later add.
		}
		return pairwiseLeaf(dst)
	})
}

// constant reports whether every value of y is identical.
func constant(y []float64) bool {
	for _, v := range y[1:] {
		if v != y[0] {
			return false
		}
	}
	return true
}
