package drift

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// bigPowOnePlus is (1+b)^m in 256-bit arithmetic.
func bigPowOnePlus(b float64, m int) float64 {
	x := new(big.Float).SetPrec(256).SetFloat64(b)
	x.Add(x, big.NewFloat(1).SetPrec(256))
	r := new(big.Float).SetPrec(256).SetFloat64(1)
	for ; m > 0; m >>= 1 {
		if m&1 == 1 {
			r.Mul(r, x)
		}
		x.Mul(x, x)
	}
	f, _ := r.Float64()
	return f
}

func TestPowOnePlus(t *testing.T) {
	// The low part of 1+b matters once m*(lo/hi) exceeds 1e-8: both
	// correction branches of pow_D.
	for _, c := range []struct {
		b float64
		m int64
	}{
		{0, 0}, {-1, 3}, {1e-3, 10}, {3e-17, 1000}, {1.5e-16, 1 << 30}, {1.3e-16, 1 << 40}, {-0.75, 7},
	} {
		m := int(c.m)
		if int64(m) != c.m {
			continue // 32-bit int
		}
		want := bigPowOnePlus(c.b, m)
		require.InDelta(t, want, powOnePlus(c.b, m), 1e-15*math.Abs(want), "b=%v m=%d", c.b, m)
	}
}

func TestDistributionDomains(t *testing.T) {
	require.True(t, math.IsNaN(kstwoSF(0.5, 0)), "n < 1")
	require.True(t, math.IsNaN(kstwoSF(math.NaN(), 10)))
	require.Equal(t, 1.0, kstwoSF(0.01, 10), "below the support")
	require.Zero(t, kstwoSF(1, 10))
	require.Zero(t, kolmognSF(10, 1))
	require.Equal(t, 1.0, kolmognSF(10, 0))
	require.Equal(t, 1.0, kolmognSF(10, 0.05), "t <= 0.5")
	require.Equal(t, 1.0, kolmognDMTW(10, 1))
	require.Zero(t, kolmognDMTW(10, 0.01))
	require.Zero(t, kolmognPelzGood(10, 0))
	require.Equal(t, 1.0, kolmognPelzGood(10, 1))
	for _, x := range []float64{math.NaN(), -0.1, 1.1} {
		require.True(t, math.IsNaN(smirnovSF(10, x)))
	}
	require.True(t, math.IsNaN(smirnovSF(0, 0.5)))
	require.Equal(t, 0.0, clip01(-1e-300))
	require.Equal(t, 1.0, clip01(1+1e-15))
}

// outerProbInsideSeq is scipy's _compute_outer_prob_inside_method as written
// there, one column after the other: the reference for the two-column
// schedule of outerProbInside.
func outerProbInsideSeq(m, n, g, h int) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	minj, maxj := 0, min(int(math.Ceil(float64(h)/float64(mg))), n+1)
	curlen := maxj - minj
	lenA := min(2*maxj+2, n+1)
	A := make([]float64, lenA)
	for i := range A {
		A[i] = 1
	}
	for i := minj; i < maxj; i++ {
		A[i] = 0
	}
	for i := 1; i <= m; i++ {
		lastminj, lastlen := minj, curlen
		minj = min(max(int(math.Floor(float64(ng*i-h)/float64(mg)))+1, 0), n)
		maxj = min(int(math.Ceil(float64(ng*i+h)/float64(mg))), n+1)
		if maxj <= minj {
			return 1
		}
		val := 1.0
		if minj == 0 {
			val = 0
		}
		for jj := 0; jj < maxj-minj; jj++ {
			j := jj + minj
			val = (A[jj+minj-lastminj]*float64(i) + val*float64(j)) / float64(i+j)
			A[jj] = val
		}
		curlen = maxj - minj
		for k := curlen; k < min(lastlen, lenA); k++ {
			A[k] = 1
		}
	}
	return A[maxj-minj-1]
}

func TestOuterProbInsideSchedule(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for range 3000 {
		n1, n2 := 1+rng.IntN(150), 1+rng.IntN(150)
		if rng.IntN(10) == 0 {
			n1, n2 = 1+rng.IntN(3000), 1+rng.IntN(40)
		}
		g := gcd(n1, n2)
		h := 1 + rng.IntN(n1/g*n2)
		require.Equal(t, outerProbInsideSeq(n1, n2, g, h), outerProbInside(n1, n2, g, h), "%d x %d, h=%d", n1, n2, h)
	}
}
