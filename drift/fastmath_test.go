package drift

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// ulps is the distance between a and b in units in the last place of b.
func ulpDiff(a, b float64) float64 {
	if a == b {
		return 0
	}
	u := math.Nextafter(math.Abs(b), math.Inf(1)) - math.Abs(b)
	return math.Abs(a-b) / u
}

func TestFastLog(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	worst := 0.0
	check := func(x float64) {
		got, want := fastLog(x), math.Log(x)
		u := ulpDiff(got, want)
		worst = max(worst, u)
		if u > 4 {
			require.Failf(t, "inaccurate", "x=%v got=%v want=%v (%.1f ulp)", x, got, want, u)
		}
	}
	for range 300_000 {
		check(rng.Float64())                                    // (0, 1), the main use
		check(math.Ldexp(1+rng.Float64(), rng.IntN(2000)-1000)) // wide range
		check(1 + (rng.Float64()-0.5)*0.01)                     // near 1
	}
	for _, x := range []float64{1, 2, 0.5, math.SmallestNonzeroFloat64, 1e-310, 1e300, math.MaxFloat64, 0.7083, 1.4166} {
		check(x)
	}
	t.Logf("fastLog worst error %.2f ulp", worst)
}

func TestFastExp(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	worst := 0.0
	check := func(x float64) {
		got, want := fastExp(x), math.Exp(x)
		u := ulpDiff(got, want)
		worst = max(worst, u)
		if u > 4 {
			require.Failf(t, "inaccurate", "x=%v got=%v want=%v (%.1f ulp)", x, got, want, u)
		}
	}
	for range 300_000 {
		check((rng.Float64() - 0.5) * 1400)
		check((rng.Float64() - 0.5) * 2)
		check(-rng.ExpFloat64() * 50)
	}
	for _, x := range []float64{0, math.Copysign(0, -1), 1, -1, 700, -700, 709, -745, -800, 1e-20, -1e-20} {
		check(x)
	}
	t.Logf("fastExp worst error %.2f ulp", worst)
}
