package sketch

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/drift"
)

func TestKSPValueSwitchesToTheLimitForLargeWindows(t *testing.T) {
	tests := []struct {
		name       string
		n, m       int
		d          float64
		asymptotic bool
	}{
		{"small windows", 100, 200, 0.15, false},
		{"just below the switch", 19999, 20000, 0.012, false},
		{"at the switch", 20000, 20000, 0.012, true},
		{"1M against 1M", 1_000_000, 1_000_000, 0.0015, true},
		{"unequal large", 50_000, 2_000_000, 0.006, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ksPValue(tt.n, tt.m, tt.d)
			series := drift.KSPValue(tt.n, tt.m, tt.d)
			if !tt.asymptotic {
				require.Equal(t, series, got)
				return
			}
			require.Equal(t, drift.KSPValueAsymptotic(tt.n, tt.m, tt.d), got)
			// The documented promise: within 1% of the finite-size series.
			require.InEpsilon(t, series, got, 0.01)
			require.Greater(t, got, 1e-6, "a case where the p-value is not negligible")
		})
	}
}
