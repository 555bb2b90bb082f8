package drift

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The reference values in testdata/drift_cases.json come from
// testdata/gen_drift.py (scipy 1.10.1, numpy 1.24); see its doc string.

type genSpec struct {
	Dist   string    `json:"dist"`
	N      int       `json:"n"`
	Seed   uint64    `json:"seed"`
	Params []float64 `json:"params"`
}

type sampleSpec struct {
	Values []float64 `json:"values"`
	Gen    *genSpec  `json:"gen"`
}

type numericCase struct {
	Name                string     `json:"name"`
	Ref                 sampleSpec `json:"ref"`
	Cur                 sampleSpec `json:"cur"`
	NRef                int        `json:"n_ref"`
	NCur                int        `json:"n_cur"`
	KS                  float64    `json:"ks"`
	KSPValue            float64    `json:"ks_p_value"`
	KSPath              string     `json:"ks_path"`
	WassersteinDistance float64    `json:"wasserstein_distance"`
	StdRef              float64    `json:"std_ref"`
	Wasserstein         *float64   `json:"wasserstein"`
	Edges               []float64  `json:"edges"`
	RefCounts           []int64    `json:"ref_counts"`
	CurCounts           []int64    `json:"cur_counts"`
	binStats
}

type binStats struct {
	PSI           *float64 `json:"psi"`
	JensenShannon *float64 `json:"jensen_shannon"`
	Hellinger     *float64 `json:"hellinger"`
	LInfinity     *float64 `json:"l_infinity"`
}

type categoricalCase struct {
	Name            string           `json:"name"`
	Ref             map[string]int64 `json:"ref"`
	Cur             map[string]int64 `json:"cur"`
	ChiSquare       float64          `json:"chi_square"`
	ChiSquarePValue float64          `json:"chi_square_p_value"`
	binStats
}

type referenceCases struct {
	Numeric     []numericCase     `json:"numeric"`
	Categorical []categoricalCase `json:"categorical"`
	KstwoSF     [][3]float64      `json:"kstwo_sf"`
	Smirnov     [][3]float64      `json:"smirnov"`
	ExactProb   [][4]float64      `json:"exact_prob"`
}

var loadRefCases = sync.OnceValues(func() (*referenceCases, error) {
	b, err := os.ReadFile("testdata/drift_cases.json")
	if err != nil {
		return nil, err
	}
	var rc referenceCases
	if err := json.Unmarshal(b, &rc); err != nil {
		return nil, err
	}
	return &rc, nil
})

func refCases(t testing.TB) *referenceCases {
	t.Helper()
	rc, err := loadRefCases()
	require.NoError(t, err)
	return rc
}

// splitmixUniform mirrors gen_drift.py's splitmix_uniform: count doubles in
// [0, 1) from a splitmix64 stream.
func splitmixUniform(seed uint64, count int) []float64 {
	u := make([]float64, count)
	state := seed
	for i := range u {
		state += 0x9E3779B97F4A7C15
		z := state
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		u[i] = float64(z>>11) * 0x1p-53
	}
	return u
}

// generate mirrors gen_drift.py's gen_sample bit for bit. The explicit
// float64 conversions forbid fused multiply-adds, which numpy does not do.
func generate(g *genSpec) []float64 {
	x := make([]float64, g.N)
	p := g.Params
	switch g.Dist {
	case "uniform":
		for i, u := range splitmixUniform(g.Seed, g.N) {
			x[i] = p[0] + float64((p[1]-p[0])*u)
		}
	case "normal":
		u := splitmixUniform(g.Seed, 12*g.N)
		for i := range x {
			s := u[12*i]
			for k := 1; k < 12; k++ {
				s += u[12*i+k]
			}
			x[i] = p[0] + float64(p[1]*(s-6.0))
		}
	case "pareto":
		for i, u := range splitmixUniform(g.Seed, g.N) {
			x[i] = p[0] * (1.0/(1.0-u) - 1.0)
		}
	case "integer":
		for i, u := range splitmixUniform(g.Seed, g.N) {
			x[i] = math.Floor(float64(p[0]*u)) + p[1]
		}
	case "constant":
		for i := range x {
			x[i] = p[0]
		}
	case "grid":
		for i := range x {
			x[i] = p[0] + float64((p[1]-p[0])*((float64(i)+0.5)/float64(g.N)))
		}
	default:
		panic("unknown distribution " + g.Dist)
	}
	return x
}

func (s sampleSpec) values() []float64 {
	if s.Gen != nil {
		return generate(s.Gen)
	}
	return s.Values
}

// errStats tracks the largest absolute and relative (for |want| > 1e-300)
// differences seen, for the test log.
type errStats struct{ abs, rel float64 }

func (e *errStats) see(want, got float64) {
	if math.IsNaN(want) || math.IsNaN(got) {
		return
	}
	d := math.Abs(got - want)
	e.abs = max(e.abs, d)
	if math.Abs(want) > 1e-300 {
		e.rel = max(e.rel, d/math.Abs(want))
	}
}

// requireClose checks |got-want| <= abs or <= rel*|want|.
func requireClose(t *testing.T, want, got, abs, rel float64, what string) {
	t.Helper()
	if math.IsNaN(want) {
		require.True(t, math.IsNaN(got), "%s: got %v, want NaN", what, got)
		return
	}
	d := math.Abs(got - want)
	require.True(t, d <= abs || d <= rel*math.Abs(want),
		"%s: got %.17g, want %.17g (diff %.3g)", what, got, want, d)
}

// requirePValue checks a p-value to 1e-9 absolute and, for p-values below
// 1e-3 that are normal floats, to 1e-6 relative as well.
func requirePValue(t *testing.T, want, got float64, what string) {
	t.Helper()
	requireClose(t, want, got, 1e-9, 0, what)
	if want < 1e-3 && want > 0x1p-1022 {
		requireClose(t, want, got, 0, 1e-6, what+" (relative)")
	}
	require.True(t, got >= 0 && got <= 1, "%s: %v outside [0, 1]", what, got)
}

func requireBinStats(t *testing.T, want binStats, r, c []int64) {
	t.Helper()
	for _, m := range []struct {
		name string
		want *float64
		got  float64
	}{
		{"psi", want.PSI, PSI(r, c)},
		{"jensen_shannon", want.JensenShannon, JensenShannon(r, c)},
		{"hellinger", want.Hellinger, Hellinger(r, c)},
		{"l_infinity", want.LInfinity, LInfinity(r, c)},
	} {
		require.NotNil(t, m.want, m.name)
		if m.name == "hellinger" || m.name == "jensen_shannon" {
			// Square roots of quantities that numpy computes with an
			// absolute error of ~1e-16: compare the squares near 0.
			w, g := *m.want, m.got
			if math.Abs(g*g-w*w) <= 1e-14 {
				continue
			}
		}
		requireClose(t, *m.want, m.got, 1e-12, 1e-12, m.name)
	}
}

var ksPathNames = map[ksMethod]string{ksExact: "exact", ksAsymp: "asymp", ksExactFallback: "exact_fallback"}

func TestNumericReference(t *testing.T) {
	rc := refCases(t)
	paths := map[string]int{}
	var eStat, eP, eW errStats
	for _, tc := range rc.Numeric {
		t.Run(tc.Name, func(t *testing.T) {
			rv, cv := tc.Ref.values(), tc.Cur.values()
			require.Len(t, rv, tc.NRef)
			require.Len(t, cv, tc.NCur)
			ref, cur := NewSample(rv), NewSample(cv)

			stat, p, method := ref.ks(cur)
			require.Equal(t, tc.KSPath, ksPathNames[method], "ks path")
			paths[tc.KSPath]++
			eStat.see(tc.KS, stat)
			eP.see(tc.KSPValue, p)
			requireClose(t, tc.KS, stat, 1e-15, 0, "ks statistic")
			requirePValue(t, tc.KSPValue, p, "ks p-value")
			s2, p2 := KS(rv, cv)
			require.Equal(t, stat, s2)
			require.Equal(t, p, p2)

			w := walk(ref.sorted, cur.sorted, true)
			// scipy rounds each CDF before subtracting them, losing relative
			// precision where they nearly coincide; this package integrates
			// exact integer differences. Both agree to 1e-10 relative.
			requireClose(t, tc.WassersteinDistance, w.wassersteinDistance(), 1e-300, 1e-10, "wasserstein_distance")
			score, ok := ref.Wasserstein(cur)
			if tc.Wasserstein == nil {
				require.False(t, ok)
				require.True(t, math.IsNaN(score))
				require.Zero(t, ref.Std())
			} else {
				require.True(t, ok)
				requireClose(t, tc.StdRef, ref.Std(), 0, 1e-12, "std")
				eW.see(*tc.Wasserstein, score)
				requireClose(t, *tc.Wasserstein, score, 1e-300, 1e-10, "wasserstein")
			}

			bins := ref.Bins()
			require.Equal(t, tc.Edges, bins.Edges, "decile edges")
			require.Equal(t, tc.RefCounts, bins.Counts(rv))
			require.Equal(t, tc.CurCounts, bins.Counts(cv))
			require.Equal(t, tc.RefCounts, bins.CountsSorted(ref))
			require.Equal(t, tc.CurCounts, bins.CountsSorted(cur))
			requireBinStats(t, tc.binStats, tc.RefCounts, tc.CurCounts)

			res := ref.Compare(cur)
			require.Equal(t, stat, res.KS)
			require.Equal(t, p, res.KSPValue)
			require.Equal(t, PSI(tc.RefCounts, tc.CurCounts), res.PSI)
			require.Equal(t, JensenShannon(tc.RefCounts, tc.CurCounts), res.JensenShannon)
			require.Equal(t, Hellinger(tc.RefCounts, tc.CurCounts), res.Hellinger)
			require.Equal(t, LInfinity(tc.RefCounts, tc.CurCounts), res.LInfinity)
			require.True(t, math.IsNaN(res.ChiSquare) && math.IsNaN(res.ChiSquarePValue))
			if ok {
				require.Equal(t, score, res.Wasserstein)
			} else {
				require.True(t, math.IsNaN(res.Wasserstein))
			}
		})
	}
	t.Logf("ks paths: %v", paths)
	t.Logf("largest differences: ks statistic %.3g; ks p-value %.3g absolute, %.3g relative; wasserstein %.3g relative",
		eStat.abs, eP.abs, eP.rel, eW.rel)
}

func TestCategoricalReference(t *testing.T) {
	for _, tc := range refCases(t).Categorical {
		t.Run(tc.Name, func(t *testing.T) {
			keys, r, c := AlignCounts(tc.Ref, tc.Cur)
			require.Len(t, r, len(keys))
			require.Len(t, c, len(keys))
			requireBinStats(t, tc.binStats, r, c)
			stat, p := ChiSquare(r, c)
			requireClose(t, tc.ChiSquare, stat, 1e-12, 1e-12, "chi_square")
			requirePValue(t, tc.ChiSquarePValue, p, "chi_square p-value")

			res := CompareCategorical(tc.Ref, tc.Cur)
			require.Equal(t, stat, res.ChiSquare)
			require.Equal(t, p, res.ChiSquarePValue)
			require.Equal(t, PSI(r, c), res.PSI)
			require.True(t, math.IsNaN(res.KS) && math.IsNaN(res.Wasserstein))
		})
	}
}

func TestKstwoSFReference(t *testing.T) {
	var e errStats
	for _, row := range refCases(t).KstwoSF {
		n, x, want := int(row[0]), row[1], row[2]
		t.Run(fmt.Sprintf("n=%d/x=%v", n, x), func(t *testing.T) {
			got := kstwoSF(x, n)
			e.see(want, got)
			requirePValue(t, want, got, "kstwo.sf")
		})
	}
	t.Logf("kstwo.sf: largest difference %.3g absolute, %.3g relative", e.abs, e.rel)
}

func TestSmirnovReference(t *testing.T) {
	var e errStats
	for _, row := range refCases(t).Smirnov {
		n, x, want := int(row[0]), row[1], row[2]
		t.Run(fmt.Sprintf("n=%d/x=%v", n, x), func(t *testing.T) {
			got := smirnovSF(n, x)
			e.see(want, got)
			requirePValue(t, want, got, "smirnov")
		})
	}
	t.Logf("smirnov: largest difference %.3g absolute, %.3g relative", e.abs, e.rel)
}

func TestExactProbReference(t *testing.T) {
	for _, row := range refCases(t).ExactProb {
		n1, n2, h, want := int(row[0]), int(row[1]), int(row[2]), row[3]
		t.Run(fmt.Sprintf("%dx%d/h=%d", n1, n2, h), func(t *testing.T) {
			var got float64
			if n1 == n2 {
				got = probOutsideSquare(n1, h)
			} else {
				got = outerProbInside(n1, n2, gcd(n1, n2), h)
			}
			// Same operations in the same order as scipy: bit-identical.
			require.Equal(t, want, got)
		})
	}
}
