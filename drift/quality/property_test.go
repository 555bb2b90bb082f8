package quality

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// randomBinary returns n labels (about a fraction pi positive) and scores
// drawn from levels distinct values (0: continuous), so that ties occur.
func randomBinary(rng *rand.Rand, n int, pi float64, levels int) ([]bool, []float64) {
	y, s := make([]bool, n), make([]float64, n)
	for i := range n {
		y[i] = rng.Float64() < pi
		s[i] = rng.Float64()
		if y[i] {
			s[i] += 0.3
		}
		if levels > 0 {
			s[i] = math.Round(s[i]*float64(levels)) / float64(levels)
		}
	}
	return y, s
}

// bruteAUC counts every (positive, negative) pair.
func bruteAUC(y []bool, s []float64) float64 {
	var u2, p, q float64
	for i := range y {
		if !y[i] {
			q++
			continue
		}
		p++
		for j := range y {
			switch {
			case y[j]:
			case s[i] > s[j]:
				u2 += 2
			case s[i] == s[j]:
				u2++
			}
		}
	}
	return u2 / (2 * p * q)
}

func TestROCAUCProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var scratch AUCScratch
	tests := []struct {
		name   string
		n      int
		pi     float64
		levels int
	}{
		{"n2", 2, 0.5, 0},
		{"small_continuous", 17, 0.5, 0},
		{"small_ties", 40, 0.4, 3},
		{"continuous", 700, 0.3, 0},
		{"ties", 900, 0.5, 20},
		{"heavy_ties", 1000, 0.2, 2},
		{"rare_positives", 1500, 0.02, 50},
		{"rare_negatives", 1500, 0.98, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var y []bool
			var s []float64
			for { // redraw until both classes are present
				y, s = randomBinary(rng, tc.n, tc.pi, tc.levels)
				if slices.Contains(y, true) && slices.Contains(y, false) {
					break
				}
			}
			auc, err := ROCAUC(y, s)
			require.NoError(t, err)
			require.Equal(t, bruteAUC(y, s), auc, "exact pair count")

			again, err := ROCAUCScratch(y, s, &scratch)
			require.NoError(t, err)
			require.Equal(t, auc, again, "scratch reuse")

			neg := make([]float64, len(s))
			notY := make([]bool, len(y))
			for i := range s {
				neg[i] = -s[i]
				notY[i] = !y[i]
			}
			rev, err := ROCAUC(y, neg)
			require.NoError(t, err)
			require.InDelta(t, 1-auc, rev, 1e-15, "reversed scores")
			swapped, err := ROCAUC(notY, neg)
			require.NoError(t, err)
			require.Equal(t, auc, swapped, "swapped classes and reversed scores")

			perm := rng.Perm(len(y))
			py, ps := make([]bool, len(y)), make([]float64, len(s))
			for i, j := range perm {
				py[i], ps[i] = y[j], s[j]
			}
			permuted, err := ROCAUCScratch(py, ps, &scratch)
			require.NoError(t, err)
			require.Equal(t, auc, permuted, "permutation")
		})
	}
}

func TestROCAUCSpecialValues(t *testing.T) {
	tests := []struct {
		name  string
		y     []bool
		score []float64
		want  float64
		err   error
	}{
		{"perfect", []bool{false, true}, []float64{0, 1}, 1, nil},
		{"inverted", []bool{true, false}, []float64{0, 1}, 0, nil},
		{"all_tied", []bool{true, false, true}, []float64{0.3, 0.3, 0.3}, 0.5, nil},
		{"signed_zero_ties", []bool{true, false}, []float64{math.Copysign(0, -1), 0}, 0.5, nil},
		{"wide_range", []bool{true, false, true, false, true, false},
			[]float64{math.MaxFloat64, -math.MaxFloat64, 5e-324, -5e-324, -1e300, -1e-300}, 7.0 / 9, nil},
		{"empty", nil, nil, math.NaN(), ErrEmpty},
		{"one_positive", []bool{true}, []float64{0.5}, math.NaN(), ErrOneClass},
		{"all_negative", []bool{false, false}, []float64{0.1, 0.9}, math.NaN(), ErrOneClass},
		{"nan", []bool{true, false}, []float64{math.NaN(), 0.2}, math.NaN(), ErrNonFinite},
		{"inf", []bool{true, false}, []float64{math.Inf(1), 0.2}, math.NaN(), ErrNonFinite},
		{"nan_before_one_class", []bool{true, true}, []float64{math.NaN(), 0.2}, math.NaN(), ErrNonFinite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ROCAUC(tc.y, tc.score)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.True(t, math.IsNaN(got))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, bruteAUC(tc.y, tc.score), got)
		})
	}
}

func TestFloatKeyOrder(t *testing.T) {
	vals := []float64{
		-math.MaxFloat64, -1e300, -1, -math.SmallestNonzeroFloat64,
		0, math.SmallestNonzeroFloat64, 1e-300, 0.5, 1, math.MaxFloat64,
	}
	for i := 1; i < len(vals); i++ {
		require.Lessf(t, floatKey(vals[i-1]), floatKey(vals[i]), "%v < %v", vals[i-1], vals[i])
	}
	require.Equal(t, floatKey(0), floatKey(math.Copysign(0, -1)))
}

func TestLogLossClipBound(t *testing.T) {
	// numpy computes 1 - eps in float64 arithmetic; Go folds constants
	// exactly, so check the rounded result is the same double.
	eps := 1e-15
	require.Equal(t, math.Float64bits(1-eps), math.Float64bits(clip(2, logLossEps, 1-logLossEps)))
	require.Equal(t, uint64(0x3FEFFFFFFFFFFFF7), math.Float64bits(1-eps))
}

func TestLogLossProperties(t *testing.T) {
	t.Run("one_class_uses_both_labels", func(t *testing.T) {
		// sklearn raises here without labels=; this is the labels=[0,1] value.
		got := LogLoss([]bool{true, true}, []float64{0.5, 0.25})
		require.InDelta(t, (math.Log(2)+math.Log(4))/2, got, 1e-15)
	})
	eps := 1e-15
	t.Run("certain_and_right_is_clipped", func(t *testing.T) {
		// Both rows cost -ln(1-eps) = 9.99e-16, not 0.
		got := LogLoss([]bool{true, false}, []float64{1, 0})
		require.Equal(t, -math.Log(1-eps), got)
	})
	t.Run("certain_and_wrong_is_clipped_asymmetrically", func(t *testing.T) {
		// p = 0 for a positive costs -ln(eps) = 34.5388, but p = 1 for a
		// negative costs -ln(1-(1-eps)) = 34.5396: 1-eps rounds in float64
		// and the complement is taken after clipping, as in sklearn.
		require.Equal(t, -math.Log(eps), LogLoss([]bool{true}, []float64{0}))
		require.Equal(t, -math.Log(1-(1-eps)), LogLoss([]bool{false}, []float64{1}))
		require.InDelta(t, 34.53957599234088, LogLoss([]bool{false}, []float64{1}), 1e-12)
	})
	t.Run("nan_propagates", func(t *testing.T) {
		require.True(t, math.IsNaN(LogLoss([]bool{false, true}, []float64{math.NaN(), 0.5})))
	})
	t.Run("binary_equals_two_column_multiclass", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		y, s := randomBinary(rng, 500, 0.4, 0)
		yi, probs := make([]int, len(y)), make([]float64, 2*len(y))
		for i := range y {
			yi[i] = b2i(y[i])
			probs[2*i], probs[2*i+1] = 1-s[i]/1.3, s[i]/1.3
		}
		for i := range s {
			s[i] /= 1.3
		}
		mc, err := MulticlassLogLoss(yi, probs, 2)
		require.NoError(t, err)
		require.InDelta(t, LogLoss(y, s), mc, 1e-14)
	})
}

func TestMulticlassLogLossErrors(t *testing.T) {
	tests := []struct {
		name  string
		y     []int
		probs []float64
		k     int
		err   error
	}{
		{"k1", []int{0}, []float64{1}, 1, ErrShape},
		{"short_probs", []int{0, 1}, []float64{0.5, 0.5, 0.5}, 2, ErrShape},
		{"negative_label", []int{0, -1}, []float64{0.5, 0.5, 0.5, 0.5}, 2, ErrLabel},
		{"label_k", []int{0, 2}, []float64{0.5, 0.5, 0.5, 0.5}, 2, ErrLabel},
		{"empty", nil, nil, 3, ErrEmpty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MulticlassLogLoss(tc.y, tc.probs, tc.k)
			require.ErrorIs(t, err, tc.err)
			require.True(t, math.IsNaN(got))
		})
	}
}

func TestMacroPRFProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const n, k = 2000, 6
	y, pred := make([]int, n), make([]int, n)
	for i := range n {
		y[i] = rng.IntN(k)
		pred[i] = y[i]
		if rng.Float64() < 0.4 {
			pred[i] = rng.IntN(k)
		}
	}
	p, r, f := MacroPRF(y, pred)

	t.Run("absent_classes_are_ignored", func(t *testing.T) {
		// Shifting every class by 100 leaves 100 unseen classes below
		// (and takes the heap path); the present classes keep their order.
		sy, sp := make([]int, n), make([]int, n)
		for i := range n {
			sy[i], sp[i] = y[i]+100, pred[i]+100
		}
		p2, r2, f2 := MacroPRF(sy, sp)
		require.Equal(t, []float64{p, r, f}, []float64{p2, r2, f2})
	})
	t.Run("swap_roles", func(t *testing.T) {
		// Swapping y and pred swaps per-class precision and recall.
		p2, r2, f2 := MacroPRF(pred, y)
		require.Equal(t, []float64{r, p}, []float64{p2, r2})
		require.InDelta(t, f, f2, 1e-15)
	})
	t.Run("perfect", func(t *testing.T) {
		p, r, f := MacroPRF(y, y)
		require.Equal(t, []float64{1, 1, 1}, []float64{p, r, f})
	})
	t.Run("only_predicted_class_counts", func(t *testing.T) {
		// Class 1 is never actual: recall 0/0 → 0 still averages in.
		p, r, f := MacroPRF([]int{0, 0}, []int{0, 1})
		require.Equal(t, []float64{0.5, 0.25, 1.0 / 3}, []float64{p, r, f})
	})
	t.Run("negative_class_panics", func(t *testing.T) {
		require.Panics(t, func() { MacroPRF([]int{0, -1}, []int{0, 0}) })
	})
}

func TestConfusionMatchesMulticlass(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	y, s := randomBinary(rng, 999, 0.5, 0)
	pred := make([]bool, len(s))
	yi, pi := make([]int, len(y)), make([]int, len(y))
	for i := range s {
		pred[i] = s[i] > 0.6
		yi[i], pi[i] = b2i(y[i]), b2i(pred[i])
	}
	c := BinaryConfusion(y, pred)
	require.Equal(t, len(y), c.Total())
	require.Equal(t, MulticlassAccuracy(yi, pi), c.Accuracy())
	require.InDelta(t, 2*float64(c.TP)/float64(2*c.TP+c.FP+c.FN), c.F1(), 1e-15)
}

func TestZeroDivision(t *testing.T) {
	c := Confusion{TN: 3, FN: 2} // nothing predicted positive
	require.Equal(t, []float64{0.6, 0, 0, 0}, []float64{c.Accuracy(), c.Precision(), c.Recall(), c.F1()})
	c = Confusion{TN: 3, FP: 1} // no actual positive
	require.Equal(t, []float64{0.75, 0, 0, 0}, []float64{c.Accuracy(), c.Precision(), c.Recall(), c.F1()})
}

func TestRegressionEdgeCases(t *testing.T) {
	tests := []struct {
		name        string
		y, pred     []float64
		metric      func(y, pred []float64) float64
		want        float64
		wantBetween [2]float64 // used when want is 0 and this is non-zero
	}{
		{name: "r2_single_sample_is_nan", y: []float64{1}, pred: []float64{1}, metric: R2, want: math.NaN()},
		{name: "r2_perfect", y: []float64{1, 2, 3}, pred: []float64{1, 2, 3}, metric: R2, want: 1},
		{name: "r2_constant_perfect", y: []float64{0.1, 0.1, 0.1}, pred: []float64{0.1, 0.1, 0.1}, metric: R2, want: 1},
		{name: "r2_constant_exact_mean", y: []float64{2, 2, 2}, pred: []float64{2, 2, 3}, metric: R2, want: 0},
		// sklearn gives -5.192296858534829e+31: numpy's mean of three 0.1s is
		// 0.10000000000000002, so SS_tot is 5.8e-34, not 0. vigil applies
		// force_finite's rule to an exactly constant y (see doc.go).
		{name: "r2_constant_inexact_mean", y: []float64{0.1, 0.1, 0.1}, pred: []float64{0.2, 0.2, 0.2}, metric: R2, want: 0},
		{name: "r2_constant_inexact_mean_perfect", y: []float64{0.1, 0.1, 0.1}, pred: []float64{0.1, 0.1, 0.1}, metric: R2, want: 1},
		{name: "r2_mean_predictor", y: []float64{1, 2, 3, 4}, pred: []float64{2.5, 2.5, 2.5, 2.5}, metric: R2, want: 0},
		{name: "mape_zero_y", y: []float64{0, 1}, pred: []float64{1, 1}, metric: MAPE, want: 0x1p52 / 2},
		{name: "mape_nan", y: []float64{math.NaN()}, pred: []float64{1}, metric: MAPE, want: math.NaN()},
		{name: "mae", y: []float64{1, -1}, pred: []float64{0, 1}, metric: MAE, want: 1.5},
		{name: "rmse", y: []float64{0, 0}, pred: []float64{3, 4}, metric: RMSE, want: math.Sqrt(12.5)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.metric(tc.y, tc.pred)
			if math.IsNaN(tc.want) {
				require.True(t, math.IsNaN(got), "got %v", got)
				return
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestEmptyAndMismatch(t *testing.T) {
	f64 := map[string]func() float64{
		"LogLoss":            func() float64 { return LogLoss(nil, nil) },
		"Brier":              func() float64 { return Brier(nil, nil) },
		"EstimatedAccuracy":  func() float64 { return EstimatedAccuracy(nil, nil) },
		"Accuracy":           func() float64 { return BinaryConfusion(nil, nil).Accuracy() },
		"Precision":          func() float64 { return Confusion{}.Precision() },
		"Recall":             func() float64 { return Confusion{}.Recall() },
		"F1":                 func() float64 { return Confusion{}.F1() },
		"MulticlassAccuracy": func() float64 { return MulticlassAccuracy(nil, nil) },
		"MacroPRF":           func() float64 { p, r, f := MacroPRF(nil, nil); return p + r + f },
		"MAE":                func() float64 { return MAE(nil, nil) },
		"RMSE":               func() float64 { return RMSE(nil, nil) },
		"MAPE":               func() float64 { return MAPE(nil, nil) },
		"R2":                 func() float64 { return R2(nil, nil) },
	}
	for name, f := range f64 {
		t.Run("empty/"+name, func(t *testing.T) {
			require.True(t, math.IsNaN(f()))
		})
	}

	b, s, i, x := []bool{true}, []float64{1, 2}, []int{1, 2}, []float64{1}
	mismatched := map[string]func(){
		"BinaryConfusion":    func() { BinaryConfusion(b, []bool{true, false}) },
		"ROCAUC":             func() { _, _ = ROCAUC(b, s) },
		"LogLoss":            func() { LogLoss(b, s) },
		"Brier":              func() { Brier(b, s) },
		"EstimatedAccuracy":  func() { EstimatedAccuracy(b, s) },
		"MulticlassAccuracy": func() { MulticlassAccuracy(i[:1], i) },
		"MacroPRF":           func() { MacroPRF(i[:1], i) },
		"MAE":                func() { MAE(x, s) },
		"RMSE":               func() { RMSE(x, s) },
		"MAPE":               func() { MAPE(x, s) },
		"R2":                 func() { R2(x, s) },
	}
	for name, f := range mismatched {
		t.Run("mismatch/"+name, func(t *testing.T) {
			require.PanicsWithValue(t, "quality: "+name+": length mismatch: 1 != 2", f)
		})
	}
}

// TestSumOrder checks the two summation paths agree bit for bit at the
// sizes where numpy's order changes (8, 128 and 8192 elements), and that
// they are far more accurate than a naive loop.
func TestSumOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	for _, n := range []int{0, 1, 7, 8, 9, 127, 128, 129, 1000, 8191, 8192, 8193, 20000, 100_003} {
		a := make([]float64, n)
		for i := range a {
			a[i] = rng.NormFloat64() * math.Pow(10, rng.Float64()*6-3)
		}
		viaSlice := sumFloats(a)
		viaTerms := sumTerms(n, func(off, m int) float64 { return pairwiseLeaf(a[off : off+m]) })
		require.Equalf(t, math.Float64bits(viaSlice), math.Float64bits(viaTerms), "n=%d", n)
	}

	// 1 + 2^20 × 1e-16 summed naively stays 1; numpy's order loses only
	// the rounding of its 128 chunk totals.
	a := make([]float64, 1<<20+1)
	a[0] = 1
	naive := 1.0
	for i := 1; i < len(a); i++ {
		a[i] = 1e-16
		naive += a[i]
	}
	want := 1 + 1e-16*(1<<20)
	require.Greater(t, math.Abs(naive-want), 1e-10)
	require.InDelta(t, want, sumFloats(a), 128*0x1p-53)
}
