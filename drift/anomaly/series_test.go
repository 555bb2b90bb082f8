package anomaly

import (
	"math"
	"math/rand/v2"
)

// Test series. Every generator is deterministic given its seed.

// newRand returns a PCG generator seeded from seed.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// gaussian returns n independent N(0,1) values.
func gaussian(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

// ar1 returns n values of x_t = phi·x_{t−1} + e_t, e_t ~ N(0,1), started
// from its stationary distribution N(0, 1/(1−phi²)).
func ar1(rng *rand.Rand, n int, phi float64) []float64 {
	x := make([]float64, n)
	prev := rng.NormFloat64() / math.Sqrt(1-phi*phi)
	for i := range x {
		prev = phi*prev + rng.NormFloat64()
		x[i] = prev
	}
	return x
}

// poisson returns n Poisson(lambda) counts (Knuth's method; lambda small).
func poisson(rng *rand.Rand, n int, lambda float64) []float64 {
	x := make([]float64, n)
	l := math.Exp(-lambda)
	for i := range x {
		k, p := 0, rng.Float64()
		for p > l {
			k++
			p *= rng.Float64()
		}
		x[i] = float64(k)
	}
	return x
}
