package drift

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// bhBruteForce is the textbook definition: adjusted p_(i) = min_{j ≥ i} p_(j)·m/j over the
// p-values sorted ascending, computed in O(m²) without any of BenjaminiHochberg's tricks.
func bhBruteForce(p []float64) []float64 {
	m := len(p)
	out := make([]float64, m)
	for i := range p {
		rank := 0 // number of p-values ≤ p[i], ties broken by index as a stable sort does
		for j := range p {
			if p[j] < p[i] || (p[j] == p[i] && j <= i) {
				rank++
			}
		}
		best := math.Inf(1)
		for j := range p {
			rj := 0
			for k := range p {
				if p[k] < p[j] || (p[k] == p[j] && k <= j) {
					rj++
				}
			}
			if rj >= rank {
				best = math.Min(best, p[j]*float64(m)/float64(rj))
			}
		}
		out[i] = math.Min(1, best)
	}
	return out
}

func TestMultipleTesting(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for n := range 40 {
		p := make([]float64, n)
		for i := range p {
			p[i] = r.Float64()
			if i%5 == 0 {
				p[i] = math.Round(p[i]*10) / 10 // ties
			}
		}
		bh := BenjaminiHochberg(p)
		require.InDeltaSlice(t, bhBruteForce(p), bh, 1e-15, "n=%d", n)
		bon := Bonferroni(p)
		for i := range p {
			require.GreaterOrEqual(t, bh[i], p[i])
			require.LessOrEqual(t, bh[i], bon[i]+1e-15, "BH is never stricter than Bonferroni")
			require.Equal(t, math.Min(1, p[i]*float64(n)), bon[i])
		}
	}
	require.Empty(t, BenjaminiHochberg(nil))
	require.Equal(t, []float64{0.03}, BenjaminiHochberg([]float64{0.03}))
}
