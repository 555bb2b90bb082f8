package sketch

import (
	"encoding"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/drift"
)

var (
	_ encoding.BinaryMarshaler   = (*Numeric)(nil)
	_ encoding.BinaryUnmarshaler = (*Numeric)(nil)
	_ encoding.BinaryAppender    = (*Numeric)(nil)
	_ encoding.BinaryMarshaler   = (*Categorical)(nil)
	_ encoding.BinaryUnmarshaler = (*Categorical)(nil)
	_ encoding.BinaryAppender    = (*Categorical)(nil)
)

// sampleNumerics returns summaries of every kind of data, with and without
// Scale, and empty and unusable ones.
func sampleNumerics(t testing.TB) []*Numeric {
	rng := rand.New(rand.NewPCG(11, 12))
	var out []*Numeric
	for _, kind := range kinds {
		x := randomValues(rng, kind, 2000, 0)
		out = append(out, build(t, randomOptions(rng, x), x))
	}
	out = append(out,
		mustNumeric(t, NumericOptions{}),
		build(t, NumericOptions{Bins: drift.Bins{Edges: []float64{math.NaN(), 1}}}, []float64{1, math.NaN(), math.Inf(1), -3}),
		build(t, NumericOptions{Center: -1e300, Scale: 1e-300}, []float64{1e300, -1e300, 0}),
	)
	return out
}

func TestNumericRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := randomValues(rng, "signed", 1000, 0)
	for i, s := range sampleNumerics(t) {
		b, err := s.MarshalBinary()
		require.NoError(t, err)
		var d Numeric
		require.NoError(t, d.UnmarshalBinary(b), "summary %d", i)
		requireSameSummary(t, s, &d)
		require.True(t, s.compatible(&d))
		b2, err := d.AppendBinary([]byte("prefix"))
		require.NoError(t, err)
		require.Equal(t, b, b2[len("prefix"):])

		// The decoded summary compares and merges as the original.
		c := build(t, s.Options(), values)
		requireSameResult(t, Compare(s, c), Compare(&d, c))
		requireSameResult(t, Compare(c, s), Compare(c, &d))
		require.NoError(t, d.Merge(s))
	}
}

func requireSameResult(t *testing.T, a, b drift.Result) {
	t.Helper()
	for i, pair := range [][2]float64{
		{a.KS, b.KS}, {a.KSPValue, b.KSPValue}, {a.Wasserstein, b.Wasserstein}, {a.PSI, b.PSI},
		{a.JensenShannon, b.JensenShannon}, {a.Hellinger, b.Hellinger}, {a.LInfinity, b.LInfinity},
		{a.ChiSquare, b.ChiSquare}, {a.ChiSquarePValue, b.ChiSquarePValue},
	} {
		require.Equal(t, math.Float64bits(pair[0]), math.Float64bits(pair[1]), "field %d: %v vs %v", i, pair[0], pair[1])
	}
}

func TestNumericUnmarshalRejects(t *testing.T) {
	s := build(t, ReferenceOptions(drift.Bins{Edges: []float64{-1, 0, 1}}), []float64{-2, -1, 0, 0.5, 1, 7})
	good, err := s.MarshalBinary()
	require.NoError(t, err)

	var d Numeric
	// Every strict prefix is rejected.
	for i := range len(good) {
		require.ErrorIs(t, d.UnmarshalBinary(good[:i]), ErrCorrupt, "prefix %d", i)
	}
	edit := func(i int, v byte) []byte {
		b := append([]byte(nil), good...)
		b[i] = v
		return b
	}
	for name, b := range map[string][]byte{
		"version":          edit(0, 2),
		"kind":             edit(1, kindCategorical),
		"trailing":         append(append([]byte(nil), good...), 0),
		"too many edges":   append([]byte{encodingVersion, kindNumeric}, 0x81, 0x08),
		"bin count":        edit(2+1+3*8+16, 5),
		"nan center":       append([]byte{encodingVersion, kindNumeric, 0}, []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x7f}...),
		"count over 2^53":  append([]byte{encodingVersion, kindNumeric, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		"categorical too":  {encodingVersion, kindCategorical, 1, 0, 0},
		"empty":            nil,
		"zero-gap buckets": numericWithBuckets([][2]uint64{{4, 1}, {0, 1}}),
		"zero count":       numericWithBuckets([][2]uint64{{4, 0}}),
		"wide range":       numericWithBuckets([][2]uint64{{4, 1}, {MaxBuckets, 1}}),
		"index too large":  numericWithBuckets([][2]uint64{{uint64(2*maxIndex + 2), 1}}),
	} {
		t.Run(name, func(t *testing.T) {
			before, _ := s.MarshalBinary()
			err := s.UnmarshalBinary(b)
			require.ErrorIs(t, err, ErrCorrupt)
			after, _ := s.MarshalBinary()
			require.Equal(t, before, after, "unchanged on error")
		})
	}
	require.NoError(t, d.UnmarshalBinary(numericWithBuckets([][2]uint64{{4, 1}, {MaxBuckets - 1, 1}})))
}

// numericWithBuckets encodes a summary without edges, Center and Scale 0,
// whose positive store holds the given buckets: (zigzag-encoded index,
// count) for the first, (index gap, count) for the others.
func numericWithBuckets(buckets [][2]uint64) []byte {
	var n uint64
	for _, b := range buckets {
		n += b[1]
	}
	b := []byte{encodingVersion, kindNumeric, 0}
	b = append(b, make([]byte, 16)...) // centre, scale
	b = appendUvarints(b, n, n, 0)     // bin count, n, bad
	for _, v := range []float64{1, 1, 0, 0} {
		b = appendFloat(b, v)
	}
	b = appendUvarints(b, 0, uint64(len(buckets)))
	for _, bk := range buckets {
		b = appendUvarints(b, bk[0], bk[1])
	}
	return appendUvarints(b, 0)
}

func appendUvarints(b []byte, v ...uint64) []byte {
	for _, x := range v {
		for x >= 0x80 {
			b = append(b, byte(x)|0x80)
			x >>= 7
		}
		b = append(b, byte(x))
	}
	return b
}

func appendFloat(b []byte, v float64) []byte {
	u := math.Float64bits(v)
	for i := range 8 {
		b = append(b, byte(u>>(8*i)))
	}
	return b
}

// FuzzUnmarshal: no input panics; what decodes re-encodes canonically, and
// every operation on it works.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range sampleNumerics(f) {
		b, err := s.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(numericWithBuckets([][2]uint64{{4, 1}, {MaxBuckets - 1, 1}}))
	f.Add([]byte{encodingVersion, kindNumeric})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Numeric
		if err := s.UnmarshalBinary(data); err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
			return
		}
		b, err := s.MarshalBinary()
		require.NoError(t, err)
		var d Numeric
		require.NoError(t, d.UnmarshalBinary(b))
		b2, _ := d.MarshalBinary()
		require.Equal(t, b, b2)

		// drift's exact p-value is O(n*m) for unequal counts up to 1e4:
		// compare in full only where that stays fast.
		if s.Count() <= 1000 {
			r := Compare(&s, &d)
			if s.usable() {
				require.False(t, math.IsNaN(r.PSI))
				require.LessOrEqual(t, r.KS, 1.0)
			}
		}
		if ks, upper := KS(&s, &d); s.usable() {
			require.Zero(t, ks) // a summary against itself
			require.LessOrEqual(t, upper, 1.0)
		}
		Wasserstein(&s, &d)
		s.Quantile(0.5)
		s.Deciles()
		require.NoError(t, d.Merge(&s))
		d.Add(1)
		_, err = d.Rebin(s.Deciles())
		require.NoError(t, err)
	})
}

func TestCategoricalRoundTrip(t *testing.T) {
	c := NewCategorical(3)
	for _, k := range []string{"b", "a", "", "b", "zz", "\x00\xff", "a"} {
		c.Add(k)
	}
	for _, s := range []*Categorical{c, NewCategorical(0), catOf(map[string]int64{"x": 1 << 40})} {
		b, err := s.MarshalBinary()
		require.NoError(t, err)
		var d Categorical
		require.NoError(t, d.UnmarshalBinary(b))
		require.Equal(t, s.Counts(), d.Counts())
		require.Equal(t, s.Count(), d.Count())
		require.Equal(t, s.Overflow(), d.Overflow())
		require.Equal(t, s.MaxCategories(), d.MaxCategories())
		b2, _ := d.MarshalBinary()
		require.Equal(t, b, b2)
	}
}

func catOf(m map[string]int64) *Categorical {
	c := NewCategorical(0)
	for k, v := range m {
		c.AddN(k, v)
	}
	return c
}

func TestCategoricalUnmarshalRejects(t *testing.T) {
	good, _ := catOf(map[string]int64{"a": 2, "b": 1}).MarshalBinary()
	var d Categorical
	for i := range len(good) {
		require.ErrorIs(t, d.UnmarshalBinary(good[:i]), ErrCorrupt, "prefix %d", i)
	}
	h := []byte{encodingVersion, kindCategorical}
	for name, b := range map[string][]byte{
		"trailing":       append(append([]byte(nil), good...), 1),
		"unsorted":       append(append([]byte(nil), h...), 8, 0, 2, 1, 'b', 1, 1, 'a', 1),
		"duplicate":      append(append([]byte(nil), h...), 8, 0, 2, 1, 'a', 1, 1, 'a', 1),
		"zero count":     append(append([]byte(nil), h...), 8, 0, 1, 1, 'a', 0),
		"over limit":     append(append([]byte(nil), h...), 1, 0, 2, 1, 'a', 1, 1, 'b', 1),
		"zero limit":     append(append([]byte(nil), h...), 0, 0, 0),
		"long key":       append(append([]byte(nil), h...), 8, 0, 1, 9, 'a', 1),
		"numeric":        {encodingVersion, kindNumeric, 0},
		"count overflow": appendUvarints(append([]byte(nil), h...), 8, 1<<53, 1, 1, 'a', 1),
	} {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, d.UnmarshalBinary(b), ErrCorrupt)
		})
	}
}

func FuzzUnmarshalCategorical(f *testing.F) {
	for _, c := range []*Categorical{catOf(map[string]int64{"a": 2, "b": 1}), NewCategorical(2)} {
		b, _ := c.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Categorical
		if err := c.UnmarshalBinary(data); err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
			return
		}
		b, _ := c.MarshalBinary()
		var d Categorical
		require.NoError(t, d.UnmarshalBinary(b))
		b2, _ := d.MarshalBinary()
		require.Equal(t, b, b2)
		CompareCategorical(&c, &d)
		d.Merge(&c)
		d.Add("new")
	})
}
