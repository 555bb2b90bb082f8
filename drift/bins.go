package drift

import "sort"

// decileProbs are the probabilities of the PSI bin edges, as the Python
// literals [.1, .2, ..., .9] (not numpy.linspace, whose .3 differs by an ulp).
var decileProbs = [...]float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}

// Bins partitions the real line for the count-based statistics of a numeric
// feature. Edges are ascending; a value x falls in bin number
// len({e in Edges : e <= x}), as numpy.searchsorted(Edges, x, side='right'),
// so a value equal to an edge goes to the upper bin and there are
// len(Edges)+1 bins. Repeated edges (ties in the reference) leave the bins
// between them always empty.
type Bins struct {
	Edges []float64
}

// Bins returns the PSI bins of s: its deciles numpy.quantile(values, [.1,
// ..., .9]). An empty Sample gives NaN edges, so every value lands in bin 0.
func (s *Sample) Bins() Bins {
	edges := make([]float64, len(decileProbs))
	for i, q := range decileProbs {
		edges[i] = s.Quantile(q)
	}
	return Bins{Edges: edges}
}

// Len is the number of bins, len(b.Edges)+1.
func (b Bins) Len() int { return len(b.Edges) + 1 }

// Index is the bin of x: the number of edges <= x. A NaN x goes to bin 0.
func (b Bins) Index(x float64) int {
	// Edges are few (9 for deciles): a linear scan is as fast as a search
	// and does not depend on the edges being sorted.
	k := 0
	for _, e := range b.Edges {
		if e <= x {
			k++
		}
	}
	return k
}

// Counts returns the number of values in each bin.
func (b Bins) Counts(values []float64) []int64 {
	c := make([]int64, b.Len())
	for _, x := range values {
		c[b.Index(x)]++
	}
	return c
}

// CountsSorted is [Bins.Counts] for a Sample, in O(len(Edges) * log n):
// with ascending edges, bin k holds the values in [Edges[k-1], Edges[k]).
func (b Bins) CountsSorted(s *Sample) []int64 {
	if !sort.Float64sAreSorted(b.Edges) {
		return b.Counts(s.sorted)
	}
	x := s.sorted
	c := make([]int64, b.Len())
	prev := 0 // number of values below the previous edge
	for k, e := range b.Edges {
		below := sort.Search(len(x), func(i int) bool { return x[i] >= e })
		c[k] = int64(below - prev)
		prev = below
	}
	c[len(b.Edges)] = int64(len(x) - prev)
	return c
}
