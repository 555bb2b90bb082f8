package drift

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// driftRandomSample draws n values of one of several shapes, many with ties.
func driftRandomSample(rng *rand.Rand, kind string, n int, shift float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		switch kind {
		case "normal":
			x[i] = rng.NormFloat64() + shift
		case "integer":
			x[i] = float64(rng.IntN(6)) + math.Round(shift)
		case "lognormal":
			x[i] = math.Exp(rng.NormFloat64() + shift)
		case "constant":
			x[i] = 2.5 + shift
		case "two":
			x[i] = float64(rng.IntN(2))
		}
	}
	return x
}

var sampleKinds = []string{"normal", "integer", "lognormal", "constant", "two"}

func TestIdenticalSamplesGiveZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, kind := range sampleKinds {
		for _, n := range []int{1, 2, 10, 500, 5000, 20000} {
			t.Run(fmt.Sprintf("%s/%d", kind, n), func(t *testing.T) {
				x := driftRandomSample(rng, kind, n, 0)
				y := slices.Clone(x)
				rng.Shuffle(len(y), func(i, j int) { y[i], y[j] = y[j], y[i] })
				ref, cur := NewSample(x), NewSample(y)

				stat, p := ref.KS(cur)
				require.Zero(t, stat)
				require.Equal(t, 1.0, p)
				w, ok := ref.Wasserstein(cur)
				if ref.Sorted()[0] == ref.Sorted()[n-1] {
					require.False(t, ok, "constant reference")
				} else {
					require.True(t, ok)
					require.Zero(t, w)
				}
				res := ref.Compare(cur)
				require.Zero(t, res.PSI)
				require.Zero(t, res.JensenShannon)
				require.Zero(t, res.Hellinger)
				require.Zero(t, res.LInfinity)
			})
		}
	}
	t.Run("categorical", func(t *testing.T) {
		c := map[string]int64{"a": 3, "b": 1, "c": 7}
		res := CompareCategorical(c, c)
		require.Zero(t, res.PSI)
		require.Zero(t, res.JensenShannon)
		require.Zero(t, res.Hellinger)
		require.Zero(t, res.LInfinity)
		require.Zero(t, res.ChiSquare)
		require.Equal(t, 1.0, res.ChiSquarePValue)
	})
}

func TestSymmetryAndBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, k1 := range sampleKinds {
		for _, k2 := range sampleKinds {
			for _, sz := range [][2]int{{1, 3}, {7, 7}, {40, 25}, {300, 1000}, {12000, 300}, {20000, 15000}} {
				t.Run(fmt.Sprintf("%s_%s/%dx%d", k1, k2, sz[0], sz[1]), func(t *testing.T) {
					a := NewSample(driftRandomSample(rng, k1, sz[0], 0))
					b := NewSample(driftRandomSample(rng, k2, sz[1], 0.3))
					sab, pab := a.KS(b)
					sba, pba := b.KS(a)
					require.Equal(t, sab, sba, "KS statistic is symmetric")
					require.Equal(t, pab, pba, "KS p-value is symmetric")
					require.True(t, sab >= 0 && sab <= 1, "statistic %v", sab)
					require.True(t, pab >= 0 && pab <= 1, "p-value %v", pab)
					if w, ok := a.Wasserstein(b); ok {
						require.GreaterOrEqual(t, w, 0.0)
					}

					bins := a.Bins()
					r, c := bins.CountsSorted(a), bins.CountsSorted(b)
					for name, f := range map[string]func(x, y []int64) float64{
						"psi": PSI, "jensen_shannon": JensenShannon, "hellinger": Hellinger, "l_infinity": LInfinity,
					} {
						v, w := f(r, c), f(c, r)
						require.InDelta(t, v, w, 1e-14*max(1, v), "%s is symmetric in its counts", name)
						require.GreaterOrEqual(t, v, 0.0, name)
						if name != "psi" {
							require.LessOrEqual(t, v, 1.0, name)
						}
					}
				})
			}
		}
	}
	t.Run("chi_square", func(t *testing.T) {
		for range 200 {
			k := 1 + rng.IntN(8)
			r, c := make([]int64, k), make([]int64, k)
			for i := range k {
				r[i], c[i] = int64(rng.IntN(50)), int64(1+rng.IntN(50))
			}
			s1, p1 := ChiSquare(r, c)
			s2, p2 := ChiSquare(c, r)
			require.InDelta(t, s1, s2, 1e-9*max(1, s1))
			require.InDelta(t, p1, p2, 1e-12)
			require.True(t, s1 >= 0 && p1 >= 0 && p1 <= 1)
		}
	})
}

// bruteECDF evaluates max and min of F1 - F2 and the area between them at
// every value, the way scipy does, as a reference for walk.
func bruteECDF(a, b []float64) (maxF, minF, area float64) {
	all := slices.Sorted(slices.Values(append(slices.Clone(a), b...)))
	count := func(x []float64, v float64) float64 {
		n := 0
		for _, e := range x {
			if e <= v {
				n++
			}
		}
		return float64(n)
	}
	maxF, minF = math.Inf(-1), math.Inf(1)
	for k, v := range all {
		d := count(a, v)/float64(len(a)) - count(b, v)/float64(len(b))
		maxF, minF = max(maxF, d), min(minF, d)
		if k+1 < len(all) {
			area += math.Abs(d) * (all[k+1] - v)
		}
	}
	return maxF, minF, area
}

func TestWalkMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, k1 := range sampleKinds {
		for _, k2 := range sampleKinds {
			for _, sz := range [][2]int{{1, 1}, {1, 5}, {6, 2}, {33, 47}, {200, 150}} {
				a := NewSample(driftRandomSample(rng, k1, sz[0], 0)).Sorted()
				b := NewSample(driftRandomSample(rng, k2, sz[1], 0.5)).Sorted()
				maxF, minF, area := bruteECDF(a, b)
				for _, split := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s_%s/%dx%d/split=%v", k1, k2, sz[0], sz[1], split), func(t *testing.T) {
						w := walkSplit(a, b, true, split)
						require.Equal(t, maxF, w.maxF)
						require.Equal(t, minF, w.minF)
						require.InDelta(t, area, w.wassersteinDistance()*float64(len(a)*len(b))/float64(len(a)*len(b)), 1e-12*max(1, area))
					})
				}
			}
		}
	}
	// Large inputs: the split walk agrees with the single chain.
	for _, kind := range sampleKinds {
		t.Run("split_large/"+kind, func(t *testing.T) {
			a := NewSample(driftRandomSample(rng, kind, 30000, 0)).Sorted()
			b := NewSample(driftRandomSample(rng, kind, 25000, 0.1)).Sorted()
			w1, w2 := walkSplit(a, b, true, false), walkSplit(a, b, true, true)
			require.Equal(t, w1.maxD, w2.maxD)
			require.Equal(t, w1.minD, w2.minD)
			require.Equal(t, w1.maxF, w2.maxF)
			require.Equal(t, w1.minF, w2.minF)
			require.InDelta(t, w1.wassersteinDistance(), w2.wassersteinDistance(), 1e-12*max(1, w1.wassersteinDistance()))
		})
	}
}

func TestRadixSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	gens := map[string]func() float64{
		"normal": rng.NormFloat64,
		"ties":   func() float64 { return float64(rng.IntN(3) - 1) },
		"zeros":  func() float64 { return [...]float64{0, math.Copysign(0, -1), 1, -1}[rng.IntN(4)] },
		"extremes": func() float64 {
			return [...]float64{math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, 5e-324, -5e-324, 1e-310}[rng.IntN(7)]
		},
		"wide":     func() float64 { return math.Ldexp(rng.NormFloat64(), rng.IntN(2000)-1000) },
		"positive": rng.Float64,
		// Values agreeing in their high key bits: long runs for the second phase.
		"timestamps": func() float64 { return 1.7e9 + rng.Float64()*600 },
		"clusters":   func() float64 { return float64(rng.IntN(50)) + float64(rng.IntN(1<<20))*0x1p-45 },
		"tiny_runs":  func() float64 { return float64(rng.IntN(20000)) + float64(rng.IntN(8))*0x1p-45 },
	}
	for name, gen := range gens {
		for _, n := range []int{0, 1, 2, radixMinLen - 1, radixMinLen, 3000, 100000} {
			t.Run(fmt.Sprintf("%s/%d", name, n), func(t *testing.T) {
				x := make([]float64, n)
				for i := range x {
					x[i] = gen()
				}
				want := slices.Clone(x)
				slices.Sort(want)
				got := NewSample(x).Sorted()
				require.Len(t, got, n)
				for i := range want {
					if want[i] != got[i] {
						require.Failf(t, "not sorted", "index %d: got %v, want %v", i, got[i], want[i])
					}
				}
			})
		}
	}
}

func TestEdgeCases(t *testing.T) {
	nan := math.NaN()
	isNaN := func(t *testing.T, vs ...float64) {
		t.Helper()
		for i, v := range vs {
			require.True(t, math.IsNaN(v), "value %d = %v, want NaN", i, v)
		}
	}
	nanResult := func(t *testing.T, r Result) {
		t.Helper()
		isNaN(t, r.KS, r.KSPValue, r.Wasserstein, r.PSI, r.JensenShannon, r.Hellinger, r.LInfinity, r.ChiSquare, r.ChiSquarePValue)
	}
	some := []float64{1, 2, 3}

	t.Run("empty", func(t *testing.T) {
		for _, pair := range [][2][]float64{{nil, some}, {some, nil}, {nil, nil}, {{}, some}} {
			s, p := KS(pair[0], pair[1])
			isNaN(t, s, p)
			w, ok := Wasserstein(pair[0], pair[1])
			require.False(t, ok)
			isNaN(t, w)
			nanResult(t, NewSample(pair[0]).Compare(NewSample(pair[1])))
		}
		e := NewSample(nil)
		require.Zero(t, e.Len())
		isNaN(t, e.Std(), e.Quantile(0.5))
		b := e.Bins()
		require.Equal(t, 10, b.Len())
		require.Equal(t, []int64{3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, b.Counts(some))
		require.Equal(t, []int64{3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, b.CountsSorted(NewSample(some)))
	})

	t.Run("non-finite", func(t *testing.T) {
		for _, bad := range []float64{nan, math.Inf(1), math.Inf(-1), -nan} {
			x := []float64{1, bad, 2}
			for _, n := range []int{3, 2000} { // below and above the radix threshold
				xs := make([]float64, n)
				for i := range xs {
					xs[i] = x[i%3]
				}
				s, p := KS(xs, some)
				isNaN(t, s, p)
				s, p = KS(some, xs)
				isNaN(t, s, p)
				_, ok := Wasserstein(xs, some)
				require.False(t, ok)
				_, ok = Wasserstein(some, xs)
				require.False(t, ok)
				nanResult(t, NewSample(xs).Compare(NewSample(some)))
				nanResult(t, NewSample(some).Compare(NewSample(xs)))
				isNaN(t, NewSample(xs).Std())
				_ = NewSample(xs).Bins().CountsSorted(NewSample(xs)) // no panic
			}
		}
	})

	t.Run("constant reference", func(t *testing.T) {
		ref := NewSample([]float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1})
		require.Zero(t, ref.Std(), "numpy gives a rounding residue here; we give 0")
		w, ok := ref.Wasserstein(NewSample(some))
		require.False(t, ok)
		isNaN(t, w)
		res := ref.Compare(NewSample(some))
		isNaN(t, res.Wasserstein)
		require.Equal(t, 1.0, res.KS)
		require.False(t, math.IsNaN(res.PSI))
	})

	t.Run("counts", func(t *testing.T) {
		for _, f := range []func(r, c []int64) float64{PSI, JensenShannon, Hellinger, LInfinity} {
			isNaN(t,
				f(nil, nil), f([]int64{}, []int64{}),
				f([]int64{1, 2}, []int64{1}),    // lengths differ
				f([]int64{0, 0}, []int64{1, 2}), // empty side
				f([]int64{1, 2}, []int64{0, 0}),
				f([]int64{-1, 2}, []int64{1, 2}), // negative count
			)
		}
		for _, rc := range [][2][]int64{
			{nil, nil}, {{1, 2}, {1}}, {{0, 0}, {1, 2}}, {{1, 2}, {0, 0}},
			{{-1, 2}, {1, 2}}, {{1, 0, 2}, {3, 0, 1}}, // zero in both rows
		} {
			s, p := ChiSquare(rc[0], rc[1])
			isNaN(t, s, p)
		}
		s, p := ChiSquare([]int64{10}, []int64{3})
		require.Zero(t, s, "single category: scipy's degenerate dof=0 case")
		require.Equal(t, 1.0, p)
	})

	t.Run("align", func(t *testing.T) {
		keys, r, c := AlignCounts(map[string]int64{"b": 2, "a": 1, "z": 0}, map[string]int64{"c": 5, "a": 0, "y": 0})
		require.Equal(t, []string{"a", "b", "c"}, keys)
		require.Equal(t, []int64{1, 2, 0}, r)
		require.Equal(t, []int64{0, 0, 5}, c)
		require.Equal(t, map[bool]int64{true: 2, false: 1}, CountCategories([]bool{true, false, true}))
		res := CompareCategorical(map[string]int64{}, map[string]int64{"a": 1})
		isNaN(t, res.PSI, res.ChiSquare)
	})

	t.Run("bins", func(t *testing.T) {
		// A value equal to an edge goes to the upper bin; repeated edges
		// leave the bins between them empty.
		b := Bins{Edges: []float64{1, 2, 2, 3}}
		require.Equal(t, []int64{1, 1, 0, 2, 1}, b.Counts([]float64{0, 1, 2, 2.5, 3}))
		require.Equal(t, b.Counts([]float64{0, 1, 2, 2.5, 3}), b.CountsSorted(NewSample([]float64{3, 2.5, 2, 1, 0})))
		unsorted := Bins{Edges: []float64{2, 1}}
		require.Equal(t, []int64{1, 1, 1}, unsorted.CountsSorted(NewSample([]float64{0, 1.5, 2})))
		require.Equal(t, 0, b.Index(nan))
	})
}

func FuzzCompare(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, uint8(3))
	f.Add([]byte{0, 0, 0, 0, 255, 255, 255, 255}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		vals := make([]float64, 0, len(data)/2)
		for i := 0; i+1 < len(data); i += 2 {
			vals = append(vals, float64(int(data[i])-128)/float64(1+int(data[i+1])%7))
		}
		k := min(int(split), len(vals))
		ref, cur := NewSample(vals[:k]), NewSample(vals[k:])
		r := ref.Compare(cur)
		if ref.Len() == 0 || cur.Len() == 0 {
			require.True(t, math.IsNaN(r.KS))
			return
		}
		require.True(t, r.KS >= 0 && r.KS <= 1)
		require.True(t, r.KSPValue >= 0 && r.KSPValue <= 1)
		require.True(t, r.JensenShannon >= 0 && r.JensenShannon <= 1)
		require.True(t, r.Hellinger >= 0 && r.Hellinger <= 1)
		require.True(t, r.PSI >= 0)
	})
}
