package quality

import (
	"math/rand/v2"
	"testing"
)

// Benchmark inputs mirror the daemon's load: 100k-sample windows each tick,
// and ROC AUC on 1M samples, the size gen_quality.py --bench times sklearn
// on (uniform scores, 30% positives).
const (
	benchWindow = 100_000
	benchAUC    = 1_000_000
)

func benchBinary(n int) (y, pred []bool, score []float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	y, pred, score = make([]bool, n), make([]bool, n), make([]float64, n)
	for i := range n {
		y[i] = rng.Float64() < 0.3
		score[i] = rng.Float64()
		pred[i] = score[i] >= 0.5
	}
	return y, pred, score
}

func BenchmarkROCAUC(b *testing.B) {
	y, _, score := benchBinary(benchAUC)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ROCAUC(y, score); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkROCAUCScratch(b *testing.B) {
	y, _, score := benchBinary(benchAUC)
	var s AUCScratch
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ROCAUCScratch(y, score, &s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkROCAUCRoundedScores has heavy ties (scores rounded to 1e-3).
func BenchmarkROCAUCRoundedScores(b *testing.B) {
	y, _, score := benchBinary(benchAUC)
	for i := range score {
		score[i] = float64(int(score[i]*1000)) / 1000
	}
	var s AUCScratch
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ROCAUCScratch(y, score, &s); err != nil {
			b.Fatal(err)
		}
	}
}

var sink float64

func BenchmarkBinaryWindow(b *testing.B) {
	y, pred, score := benchBinary(benchWindow)
	b.ReportAllocs()
	for b.Loop() {
		c := BinaryConfusion(y, pred)
		sink = c.Accuracy() + c.Precision() + c.Recall() + c.F1() +
			LogLoss(y, score) + Brier(y, score) + EstimatedAccuracy(pred, score)
	}
}

func BenchmarkMacroPRF(b *testing.B) {
	const k = 5
	rng := rand.New(rand.NewPCG(3, 4))
	y, pred := make([]int, benchWindow), make([]int, benchWindow)
	for i := range y {
		y[i] = rng.IntN(k)
		pred[i] = y[i]
		if rng.Float64() < 0.3 {
			pred[i] = rng.IntN(k)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		p, r, f := MacroPRF(y, pred)
		sink = p + r + f + MulticlassAccuracy(y, pred)
	}
}

func BenchmarkMulticlassLogLoss(b *testing.B) {
	const k = 5
	rng := rand.New(rand.NewPCG(5, 6))
	y, probs := make([]int, benchWindow), make([]float64, benchWindow*k)
	for i := range y {
		y[i] = rng.IntN(k)
		for j := range k {
			probs[i*k+j] = rng.Float64()
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		v, err := MulticlassLogLoss(y, probs, k)
		if err != nil {
			b.Fatal(err)
		}
		sink = v
	}
}

func BenchmarkRegressionWindow(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	y, pred := make([]float64, benchWindow), make([]float64, benchWindow)
	for i := range y {
		y[i] = rng.NormFloat64() * 10
		pred[i] = y[i] + rng.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		sink = MAE(y, pred) + RMSE(y, pred) + MAPE(y, pred) + R2(y, pred)
	}
}
