package sketch

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/drift"
)

// randomValues draws n values of one of several shapes: ties, negatives,
// zeros, values near the centre, wide ranges and extreme values.
func randomValues(rng *rand.Rand, kind string, n int, shift float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		switch kind {
		case "normal":
			x[i] = rng.NormFloat64() + shift
		case "integer":
			x[i] = float64(rng.IntN(6)) + math.Round(shift*3)
		case "lognormal":
			x[i] = math.Exp(rng.NormFloat64() + shift)
		case "signed":
			x[i] = float64(rng.IntN(3)-1) * math.Exp(3*rng.NormFloat64()+shift)
		case "constant":
			x[i] = 2.5
		case "wide":
			x[i] = math.Exp(20*rng.NormFloat64() + shift)
		case "extreme":
			switch rng.IntN(8) {
			case 0:
				x[i] = math.MaxFloat64 * float64(rng.IntN(3)-1)
			case 1:
				x[i] = 5e-324 * float64(rng.IntN(3)-1)
			case 2:
				x[i] = 1e300 * rng.NormFloat64()
			default:
				x[i] = rng.NormFloat64() + shift
			}
		case "near":
			x[i] = 1e6 + 1e-9*rng.NormFloat64() + shift*1e-9
		}
	}
	return x
}

var kinds = []string{"normal", "integer", "lognormal", "signed", "constant", "wide", "extreme", "near"}

func build(t testing.TB, opts NumericOptions, values []float64) *Numeric {
	t.Helper()
	s := mustNumeric(t, opts)
	for _, v := range values {
		s.Add(v)
	}
	return s
}

// randomOptions returns ReferenceOptions of ref or variations of them.
func randomOptions(rng *rand.Rand, ref []float64) NumericOptions {
	opts := ReferenceOptions(drift.NewSample(ref).Bins())
	switch rng.IntN(4) {
	case 0:
		opts.Center, opts.Scale = 0, 0
	case 1:
		opts.Scale = 0
	case 2:
		opts.Center = ref[0]
		opts.Scale = math.Abs(ref[len(ref)-1]-ref[0]) * rng.Float64()
	}
	return opts
}

// TestGuarantees checks on many small random samples what holds for any
// data: the KS bounds, the Wasserstein error bound, the binned statistics
// equal to exact mode, and merging panes equal to adding everything.
func TestGuarantees(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, kr := range kinds {
		for _, kc := range kinds {
			t.Run(kr+"/"+kc, func(t *testing.T) {
				for i := range 6 {
					// Unequal sizes take drift's O(n*m) exact p-value: keep them small.
					n := 1 + rng.IntN(3000)
					m := n
					if i%2 == 1 {
						n, m = 1+rng.IntN(1000), 1+rng.IntN(1000)
					}
					ref := randomValues(rng, kr, n, 0)
					cur := randomValues(rng, kc, m, rng.Float64())
					rs, cs := drift.NewSample(ref), drift.NewSample(cur)
					exact := rs.Compare(cs)
					opts := randomOptions(rng, ref)
					r, c := build(t, opts, ref), build(t, opts, cur)
					got := Compare(r, c)
					requireGuarantees(t, rs, exact, r, c)
					require.Equal(t, exact.PSI, got.PSI)
					require.Equal(t, exact.JensenShannon, got.JensenShannon)
					require.Equal(t, exact.Hellinger, got.Hellinger)
					require.Equal(t, exact.LInfinity, got.LInfinity)
					require.Equal(t, opts.Bins.Counts(cur), c.BinCounts())
					require.GreaterOrEqual(t, got.KSPValue, 0.0)
					require.LessOrEqual(t, got.KSPValue, 1.0)
					// drift.KSPValue is the p-value of exact mode's statistic.
					requireSameFloat(t, exact.KSPValue, drift.KSPValue(n, m, exact.KS))

					// A window merged from panes is the summary of all its values.
					k := rng.IntN(m + 1)
					p1, p2 := build(t, opts, cur[:k]), build(t, opts, cur[k:])
					require.NoError(t, p1.Merge(p2))
					requireSameSummary(t, c, p1)
					d, _ := KS(r, p1)
					require.Equal(t, got.KS, d)
				}
			})
		}
	}
}

// requireSameSummary checks that a and b hold the same data: everything
// equal but the moments, which may differ by rounding.
func requireSameSummary(t *testing.T, a, b *Numeric) {
	t.Helper()
	require.Equal(t, a.Count(), b.Count())
	require.Equal(t, a.BinCounts(), b.BinCounts())
	requireSameFloat(t, a.Min(), b.Min())
	requireSameFloat(t, a.Max(), b.Max())
	require.Equal(t, a.zero, b.zero)
	require.Equal(t, a.appendSlots(nil, a.collapseOf()), b.appendSlots(nil, b.collapseOf()))
	if a.usable() {
		// Rounding errors scale with the largest |value - Center|.
		scale := max(math.Abs(a.min-a.center), math.Abs(a.max-a.center))
		requireClose(t, a.Mean(), b.Mean(), 1e-9*scale)
		requireClose(t, a.Std(), b.Std(), 1e-9*scale)
	}
}

func requireSameFloat(t *testing.T, want, got float64) {
	t.Helper()
	if math.IsNaN(want) {
		require.True(t, math.IsNaN(got), "want NaN, got %v", got)
		return
	}
	require.Equal(t, want, got)
}

// requireClose checks |want - got| <= tol, NaN and infinities matching.
func requireClose(t *testing.T, want, got, tol float64) {
	t.Helper()
	if math.IsNaN(want) || math.IsInf(want, 0) || math.IsInf(tol, 0) {
		if !math.IsInf(tol, 0) {
			requireSameFloat(t, want, got)
		}
		return
	}
	require.InDelta(t, want, got, tol)
}

func TestMomentsMatchExactMode(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kind := range []string{"normal", "integer", "lognormal", "signed", "constant", "near"} {
		t.Run(kind, func(t *testing.T) {
			x := randomValues(rng, kind, 50_000, 0.3)
			exact := drift.NewSample(x)
			plain := build(t, NumericOptions{}, x)
			centred := build(t, ReferenceOptions(exact.Bins()), x)
			for _, s := range []*Numeric{plain, centred} {
				if s == plain && kind == "near" {
					continue // spread 1e-15 of the values: only centred moments are accurate
				}
				// numpy's two-pass std itself is off by about
				// (ulp(mean)/std)^2 = 1e-6 relative for "near".
				eps := 1e-9
				if kind == "near" {
					eps = 1e-5
				}
				if exact.Std() == 0 {
					require.Zero(t, s.Std())
				} else {
					require.InEpsilon(t, exact.Std(), s.Std(), eps)
				}
				require.InDelta(t, exact.Quantile(0.5), s.Mean(), 3*exact.Std()+1e-12)
				require.Equal(t, slices.Min(x), s.Min())
				require.Equal(t, slices.Max(x), s.Max())
				require.Equal(t, int64(len(x)), s.Count())
			}
		})
	}
}

func TestUnusable(t *testing.T) {
	empty := mustNumeric(t, NumericOptions{})
	some := build(t, NumericOptions{}, []float64{1, 2, 3})
	for name, s := range map[string]*Numeric{
		"empty": empty,
		"nan":   build(t, NumericOptions{}, []float64{1, math.NaN(), 3}),
		"inf":   build(t, NumericOptions{}, []float64{1, math.Inf(-1)}),
	} {
		t.Run(name, func(t *testing.T) {
			for _, r := range []drift.Result{Compare(s, some), Compare(some, s)} {
				for _, v := range []float64{r.KS, r.KSPValue, r.Wasserstein, r.PSI, r.JensenShannon, r.Hellinger, r.LInfinity, r.ChiSquare, r.ChiSquarePValue} {
					require.True(t, math.IsNaN(v))
				}
			}
			for _, v := range []float64{s.Min(), s.Max(), s.Mean(), s.Std(), s.Quantile(0.5)} {
				require.True(t, math.IsNaN(v))
			}
			d, up := KS(s, some)
			require.True(t, math.IsNaN(d) && math.IsNaN(up))
			_, _, ok := Wasserstein(some, s)
			require.False(t, ok)
			for _, e := range s.Deciles().Edges {
				require.True(t, math.IsNaN(e))
			}
		})
	}
	require.Equal(t, int64(2), build(t, NumericOptions{}, []float64{1, math.NaN()}).Count())
}

func TestIdenticalWindowsGiveZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, kind := range kinds {
		x := randomValues(rng, kind, 5000, 0)
		opts := ReferenceOptions(drift.NewSample(x).Bins())
		y := slices.Clone(x)
		rng.Shuffle(len(y), func(i, j int) { y[i], y[j] = y[j], y[i] })
		r := Compare(build(t, opts, x), build(t, opts, y))
		require.Zero(t, r.KS, kind)
		require.Equal(t, 1.0, r.KSPValue, kind)
		require.Zero(t, r.PSI, kind)
		if !math.IsNaN(r.Wasserstein) {
			require.Zero(t, r.Wasserstein, kind)
		}
	}
}

func TestNewNumericRejects(t *testing.T) {
	for _, opts := range []NumericOptions{
		{Center: math.NaN()},
		{Center: math.Inf(1)},
		{Scale: -1},
		{Scale: math.Inf(1)},
		{Scale: math.NaN()},
		{Bins: drift.Bins{Edges: make([]float64, 1025)}},
	} {
		_, err := NewNumeric(opts)
		require.Error(t, err, "%+v", opts)
	}
}

func TestMergeIncompatible(t *testing.T) {
	base := NumericOptions{Bins: drift.Bins{Edges: []float64{1, 2}}, Center: 1, Scale: 1}
	a := build(t, base, []float64{1, 2, 3})
	before, _ := a.MarshalBinary()
	for _, o := range []NumericOptions{
		{Bins: drift.Bins{Edges: []float64{1, 3}}, Center: 1, Scale: 1},
		{Bins: base.Bins, Center: 2, Scale: 1},
		{Bins: base.Bins, Center: 1, Scale: 2},
	} {
		err := a.Merge(build(t, o, []float64{5}))
		require.ErrorIs(t, err, ErrIncompatible)
	}
	after, _ := a.MarshalBinary()
	require.Equal(t, before, after)

	// Different centres: no KS or Wasserstein, but the binned statistics.
	b := build(t, NumericOptions{Bins: base.Bins, Center: 7}, []float64{1, 2, 3})
	r := Compare(a, b)
	require.True(t, math.IsNaN(r.KS) && math.IsNaN(r.Wasserstein))
	require.Zero(t, r.PSI)
}

func TestMergeSelfResetClone(t *testing.T) {
	x := randomValues(rand.New(rand.NewPCG(1, 1)), "signed", 1000, 0)
	opts := ReferenceOptions(drift.NewSample(x).Bins())
	s := build(t, opts, x)
	c := s.Clone()
	require.NoError(t, s.Merge(s))
	requireSameSummary(t, build(t, opts, append(slices.Clone(x), x...)), s)
	requireSameSummary(t, build(t, opts, x), c) // the clone is independent

	s.Reset()
	requireSameSummary(t, mustNumeric(t, opts), s)
	require.Equal(t, opts, s.Options())
	for _, v := range x[:10] {
		s.Add(v)
	}
	requireSameSummary(t, build(t, opts, x[:10]), s)
}

func TestAddDoesNotAllocate(t *testing.T) {
	x := randomValues(rand.New(rand.NewPCG(1, 2)), "normal", 10_000, 0)
	s := build(t, ReferenceOptions(drift.NewSample(x).Bins()), x)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		s.Add(x[i%len(x)])
		i++
	})
	require.Zero(t, allocs)
}

func TestQuantile(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	for _, kind := range []string{"normal", "lognormal", "signed", "integer"} {
		x := randomValues(rng, kind, 20_000, 0)
		exact := drift.NewSample(x)
		opts := ReferenceOptions(exact.Bins())
		s := build(t, opts, x)
		for _, q := range []float64{0, 0.01, 0.1, 0.5, 0.9, 0.99, 1} {
			// DDSketch's guarantee for the value of rank floor(q*(n-1)).
			want := exact.Sorted()[int(q*float64(len(x)-1))]
			got := s.Quantile(q)
			require.InDelta(t, want, got, RelativeAccuracy*math.Abs(want-opts.Center)+1e-12, "%s q=%v", kind, q)
		}
	}
	require.True(t, math.IsNaN(build(t, NumericOptions{}, []float64{1}).Quantile(1.5)))
}

// TestDecilesRebin: the deciles from the sketch count exactly, match numpy's
// bins where the data allow, and Rebin with arbitrary edges reports when it
// is not exact.
func TestDecilesRebin(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			x := randomValues(rng, kind, 20_000, 0)
			cur := randomValues(rng, kind, 7_000, 0.2)
			opts := ReferenceOptions(drift.NewSample(x).Bins())
			ref := build(t, NumericOptions{Center: opts.Center, Scale: opts.Scale}, x)
			bins := ref.Deciles()
			require.True(t, slices.IsSorted(bins.Edges))
			exact, err := ref.Rebin(bins)
			require.NoError(t, err)
			require.True(t, exact)
			require.Equal(t, bins.Counts(x), ref.BinCounts())

			// A pane built before the bins were known rebins exactly too.
			pane := build(t, NumericOptions{Center: opts.Center, Scale: opts.Scale}, cur)
			exact, err = pane.Rebin(bins)
			require.NoError(t, err)
			require.True(t, exact)
			require.Equal(t, bins.Counts(cur), pane.BinCounts())

			// Each edge is within one bucket of numpy's decile: the number of
			// values below it differs by at most the content of the buckets
			// holding either.
			want := drift.NewSample(x).Bins()
			for i, e := range bins.Edges {
				below := drift.Bins{Edges: []float64{e}}.Counts(x)[0]
				belowNumpy := drift.Bins{Edges: []float64{want.Edges[i]}}.Counts(x)[0]
				tol := ref.contentAt(e) + ref.contentAt(want.Edges[i])
				require.InDelta(t, belowNumpy, below, float64(tol), "edge %d", i)
			}

			// Arbitrary edges: approximate, and said so unless they happen to
			// fall between buckets; each count is off by at most the content
			// of the buckets the edges split.
			s := build(t, opts, x)
			edges := []float64{x[0] + 1e-7, x[1], -0.3}
			var tol int64
			for _, e := range edges {
				tol += s.contentAt(e)
			}
			ok, err := s.Rebin(drift.Bins{Edges: edges})
			require.NoError(t, err)
			got, want2 := s.BinCounts(), drift.Bins{Edges: edges}.Counts(x)
			if ok {
				require.Equal(t, want2, got)
			}
			for i := range got {
				require.InDelta(t, want2[i], got[i], float64(tol))
			}
		})
	}
}

// contentAt is the number of values of s in the bucket where x falls.
func (s *Numeric) contentAt(x float64) int64 {
	c := s.collapseOf()
	key := keyOf(s.shift(x), c)
	for _, sl := range s.appendSlots(nil, c) {
		if sl.key == key {
			return sl.n
		}
	}
	return 0
}

// TestCompareRebinsCurrent: a current window with other bins is counted into
// the reference's from its sketch.
func TestCompareRebinsCurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	x, y := randomValues(rng, "normal", 10_000, 0), randomValues(rng, "normal", 10_000, 0.3)
	ref := build(t, NumericOptions{Center: 0.1, Scale: 1}, x)
	_, err := ref.Rebin(ref.Deciles())
	require.NoError(t, err)
	cur := build(t, NumericOptions{Center: 0.1, Scale: 1}, y)
	got := Compare(ref, cur)
	want := drift.PSI(ref.BinCounts(), ref.Bins().Counts(y))
	require.Equal(t, want, got.PSI)
}

func ExampleCompare() {
	rng := rand.New(rand.NewPCG(1, 2))
	training := make([]float64, 100_000)
	for i := range training {
		training[i] = 50 + 10*rng.NormFloat64()
	}
	// Every summary of the feature shares the options of its reference.
	opts := ReferenceOptions(drift.NewSample(training).Bins())
	ref, _ := NewNumeric(opts)
	for _, v := range training {
		ref.Add(v)
	}

	// The current window is merged from panes (one a minute, say).
	window, _ := NewNumeric(opts)
	for range 10 {
		pane, _ := NewNumeric(opts)
		for range 10_000 {
			pane.Add(53 + 10*rng.NormFloat64())
		}
		if err := window.Merge(pane); err != nil {
			panic(err)
		}
	}
	r := Compare(ref, window)
	fmt.Printf("ks %.3f p %.1e wasserstein %.2f psi %.3f\n", r.KS, r.KSPValue, r.Wasserstein, r.PSI)
	// Output: ks 0.120 p 0.0e+00 wasserstein 0.30 psi 0.087
}

func TestErrorsWrap(t *testing.T) {
	var s Numeric
	err := s.UnmarshalBinary([]byte{9, 'N'})
	require.True(t, errors.Is(err, ErrCorrupt))
}
