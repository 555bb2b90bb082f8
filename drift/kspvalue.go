package drift

import "math"

// KSPValue is the two-sided p-value of ks_2samp for sizes n, m and statistic d, with scipy's method='auto'.
// It serves statistics computed elsewhere, such as from sketches: the cost
// is that of [KS]'s p-value. A d outside [0, 1] is clipped to it; sizes
// below 1 or a NaN d give NaN.
func KSPValue(n, m int, d float64) float64 {
	if n < 1 || m < 1 || math.IsNaN(d) {
		return math.NaN()
	}
	_, p, _ := ksPValue(n, m, min(max(d, 0), 1))
	return p
}
