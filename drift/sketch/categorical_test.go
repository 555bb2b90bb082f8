package sketch

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/drift"
)

func randomCategories(rng *rand.Rand, n, distinct int, skew float64) []string {
	x := make([]string, n)
	for i := range x {
		k := int(float64(distinct) * max(0, min(rng.Float64()+skew*rng.Float64(), 0.999999)))
		x[i] = fmt.Sprintf("c%03d", k)
	}
	return x
}

// TestCategoricalMatchesExactMode: below the limit, everything equals
// drift's exact categorical mode, whatever the panes.
func TestCategoricalMatchesExactMode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 5))
	for _, distinct := range []int{1, 2, 10, 300} {
		ref := randomCategories(rng, 5000, distinct, 0)
		cur := randomCategories(rng, 3000, distinct, 0.2)
		want := drift.CompareCategorical(drift.CountCategories(ref), drift.CountCategories(cur))

		r := NewCategorical(0)
		for _, v := range ref {
			r.Add(v)
		}
		c := NewCategorical(0)
		for i := 0; i < len(cur); i += 700 { // panes
			p := NewCategorical(0)
			for _, v := range cur[i:min(i+700, len(cur))] {
				p.Add(v)
			}
			c.Merge(p)
		}
		require.Equal(t, drift.CountCategories(cur), c.Counts())
		require.Equal(t, int64(len(cur)), c.Count())
		requireSameResult(t, want, CompareCategorical(r, c))
	}
}

func TestCategoricalOverflow(t *testing.T) {
	c := NewCategorical(2)
	c.Add("a")
	c.AddN("b", 3)
	c.AddN("c", 4)
	c.Add("a")
	c.AddN("d", 0)
	c.AddN("e", -1)
	require.Equal(t, map[string]int64{"a": 2, "b": 3}, c.Counts())
	require.Equal(t, int64(4), c.Overflow())
	require.Equal(t, int64(9), c.Count())

	// The overflow is one more category on both sides.
	ref := NewCategorical(10)
	ref.AddN("a", 5)
	ref.AddN("b", 5)
	got := CompareCategorical(ref, c)
	want := drift.Result{}
	r, k := []int64{5, 5, 0}, []int64{2, 3, 4}
	want.KS, want.KSPValue, want.Wasserstein = got.KS, got.KSPValue, got.Wasserstein // NaN
	want.PSI, want.JensenShannon = drift.PSI(r, k), drift.JensenShannon(r, k)
	want.Hellinger, want.LInfinity = drift.Hellinger(r, k), drift.LInfinity(r, k)
	want.ChiSquare, want.ChiSquarePValue = drift.ChiSquare(r, k)
	requireSameResult(t, want, got)
}

// TestCategoricalMergeDeterministic: beyond the limit, which categories are
// kept does not depend on map order.
func TestCategoricalMergeDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 5))
	a, b := randomCategories(rng, 500, 40, 0), randomCategories(rng, 500, 80, 0)
	var first []byte
	for range 20 {
		x, y := NewCategorical(50), NewCategorical(50)
		for _, v := range a {
			x.Add(v)
		}
		for _, v := range b {
			y.Add(v)
		}
		x.Merge(y)
		require.Equal(t, int64(1000), x.Count())
		require.Len(t, x.Counts(), 50)
		enc, err := x.MarshalBinary()
		require.NoError(t, err)
		if first == nil {
			first = enc
		}
		require.Equal(t, first, enc)
	}
}

func TestCategoricalSelfMergeResetClone(t *testing.T) {
	c := catOf(map[string]int64{"a": 2, "b": 1})
	c.AddN("overflowing", 1)
	d := c.Clone()
	c.Merge(c)
	require.Equal(t, map[string]int64{"a": 4, "b": 2, "overflowing": 2}, c.Counts())
	require.Equal(t, int64(8), c.Count())
	require.Equal(t, int64(4), d.Count())
	c.Reset()
	require.Zero(t, c.Count())
	require.Empty(t, c.Counts())
	require.Equal(t, DefaultMaxCategories, c.MaxCategories())
}
