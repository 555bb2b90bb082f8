package drift

import (
	"cmp"
	"math"
	"slices"
)

// Bonferroni returns the Bonferroni-adjusted p-values min(1, p·m) of the m p-values p,
// in the same order.
func Bonferroni(p []float64) []float64 {
	out := make([]float64, len(p))
	m := float64(len(p))
	for i, v := range p {
		out[i] = math.Min(1, v*m)
	}
	return out
}

// BenjaminiHochberg returns the Benjamini–Hochberg adjusted p-values of p, in the same
// order: for the i-th smallest of m p-values, min over j ≥ i of p_(j)·m/j, capped at 1.
// A hypothesis is rejected at false discovery rate q when its adjusted p-value is below q.
func BenjaminiHochberg(p []float64) []float64 {
	m := len(p)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	out := make([]float64, m)
	running := 1.0
	for r := m - 1; r >= 0; r-- {
		i := order[r]
		running = math.Min(running, p[i]*float64(m)/float64(r+1))
		out[i] = running
	}
	return out
}
