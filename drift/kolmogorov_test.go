package drift

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// The reference values come from testdata/gen_kolmogorov.py (scipy 1.10.1).
type kolmogorovCases struct {
	Kolmogorov []struct{ Y, SF float64 } `json:"kolmogorov"`
	KSLimit    []struct {
		N, M        int
		D, P, Kstwo float64
	} `json:"ks_limit"`
}

func TestKolmogorovMatchesScipy(t *testing.T) {
	b, err := os.ReadFile("testdata/kolmogorov_cases.json")
	require.NoError(t, err)
	var cases kolmogorovCases
	require.NoError(t, json.Unmarshal(b, &cases))
	require.NotEmpty(t, cases.Kolmogorov)
	require.NotEmpty(t, cases.KSLimit)
	for _, c := range cases.Kolmogorov {
		require.InEpsilon(t, c.SF, kolmogorovSF(c.Y)+1e-300, 1e-12, "kolmogorov(%g)", c.Y)
	}
	for _, c := range cases.KSLimit {
		got := KSPValueAsymptotic(c.N, c.M, c.D)
		require.InEpsilon(t, c.P, got+1e-300, 1e-12, "n=%d m=%d d=%g", c.N, c.M, c.D)
		// The limit stays close to the finite-size distribution at these sizes.
		if c.Kstwo > 1e-6 {
			require.InEpsilon(t, c.Kstwo, got, 0.02, "against kstwo: n=%d m=%d d=%g", c.N, c.M, c.D)
		}
	}
	require.True(t, math.IsNaN(KSPValueAsymptotic(0, 5, 0.1)))
	require.True(t, math.IsNaN(KSPValueAsymptotic(5, 5, math.NaN())))
	require.Equal(t, 1.0, KSPValueAsymptotic(5, 5, -1))
}
