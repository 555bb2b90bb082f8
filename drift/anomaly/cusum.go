package anomaly

import (
	"errors"
	"fmt"
	"math"
)

// CUSUM defaults; see CUSUMOptions.
const (
	defaultK    = 0.5
	defaultARL0 = 10_000
	defaultClip = 4
)

// siegmundOvershoot is the 1.166 in Siegmund's approximation: twice
// 0.583 ≈ −ζ(1/2)/√(2π), the expected overshoot of a Gaussian random walk
// over a boundary, which corrects the Brownian-motion approximation of a
// CUSUM for its discrete steps.
const siegmundOvershoot = 1.166

// CUSUMOptions configures a CUSUM. A zero field selects its default.
type CUSUMOptions struct {
	// K is the reference value (allowance), in σ: each tick adds z−K to the
	// upper sum and −z−K to the lower one. A CUSUM is quickest for a shift
	// of 2K. It must be non-negative and finite. Default 0.5, for 1σ shifts.
	K float64

	// ARL0 is the target average run length, in ticks, between false
	// alarms of both sides together on independent N(0,1) input; it sets
	// the threshold (see the package documentation). It must be finite and
	// large enough that the threshold is non-negative (about 1.04 for
	// K = 0.5). Default 10000.
	ARL0 float64

	// Clip bounds each input to ±Clip before it is accumulated, as in the
	// robust CUSUM of Lucas and Crosier (1982), so that one outlier adds at
	// most Clip−K: with the defaults a lone spike cannot alarm, three
	// consecutive ones can. It must exceed K; +Inf turns clipping off.
	// Default 4.
	Clip float64
}

// CUSUM is a two-sided tabular CUSUM change detector for standardised
// values, such as a Scorer's scores: it alarms when either one-sided sum
// exceeds a threshold h chosen from ARL0. Create one with NewCUSUM; a CUSUM
// must not be used by two goroutines at once.
type CUSUM struct {
	k, h, clip float64
	pos, neg   float64
}

// NewCUSUM returns a CUSUM with both sums at zero, or an error if an option
// is out of range.
func NewCUSUM(opts CUSUMOptions) (*CUSUM, error) {
	if opts.K == 0 {
		opts.K = defaultK
	}
	if opts.ARL0 == 0 {
		opts.ARL0 = defaultARL0
	}
	if opts.Clip == 0 {
		opts.Clip = defaultClip
	}
	var errs []error
	kOK := opts.K >= 0 && opts.K <= math.MaxFloat64
	if !kOK {
		errs = append(errs, fmt.Errorf("k %v: must be non-negative and finite", opts.K))
	}
	if !(opts.Clip > opts.K) {
		errs = append(errs, fmt.Errorf("clip %v: must exceed k %v", opts.Clip, opts.K))
	}
	var h float64
	if !positiveFinite(opts.ARL0) {
		errs = append(errs, fmt.Errorf("arl0 %v: must be positive and finite", opts.ARL0))
	} else if kOK {
		var err error
		if h, err = threshold(opts.K, opts.ARL0); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("anomaly: cusum options: %w", err)
	}
	return &CUSUM{k: opts.K, h: h, clip: opts.Clip}, nil
}

// Threshold returns the threshold h, in σ, that NewCUSUM derived from ARL0.
func (c *CUSUM) Threshold() float64 { return c.h }

// Update accumulates z and reports whether either sum now exceeds the
// threshold. On an alarm both sums restart from zero, so a change that
// persists alarms again once it has built up a fresh sum; the alarming side
// is the sign of z, which is above K (or below −K) on any alarming tick. A
// NaN is ignored; ±Inf counts as ±Clip.
func (c *CUSUM) Update(z float64) (alarm bool) {
	if z != z {
		return false
	}
	z = min(max(z, -c.clip), c.clip)
	c.pos = max(0, c.pos+z-c.k)
	c.neg = max(0, c.neg-z-c.k)
	if c.pos > c.h || c.neg > c.h {
		c.pos, c.neg = 0, 0
		return true
	}
	return false
}

// CUSUMState is a CUSUM's state, for persisting across restarts.
type CUSUMState struct {
	// Pos is the upper sum, evidence of an increase.
	Pos float64 `json:"pos"`
	// Neg is the lower sum, evidence of a decrease, as a non-negative
	// number.
	Neg float64 `json:"neg"`
}

// State returns c's sums.
func (c *CUSUM) State() CUSUMState { return CUSUMState{Pos: c.pos, Neg: c.neg} }

// Restore replaces c's sums with st's, which must be non-negative and
// finite; on error c is unchanged. A sum above the threshold (lowered since
// st was saved) alarms on the next Update that does not lower it below.
func (c *CUSUM) Restore(st CUSUMState) error {
	var errs []error
	if !(st.Pos >= 0 && st.Pos <= math.MaxFloat64) {
		errs = append(errs, fmt.Errorf("pos %v: must be non-negative and finite", st.Pos))
	}
	if !(st.Neg >= 0 && st.Neg <= math.MaxFloat64) {
		errs = append(errs, fmt.Errorf("neg %v: must be non-negative and finite", st.Neg))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("anomaly: restore cusum: %w", err)
	}
	c.pos, c.neg = st.Pos, st.Neg
	return nil
}

// siegmundARL returns Siegmund's approximation to the average run length of
// a one-sided CUSUM with reference k and threshold h on N(0,1) input:
// (exp(2kb) − 2kb − 1)/(2k²) with b = h + 1.166, and b² in the limit k = 0.
func siegmundARL(k, h float64) float64 {
	b := h + siegmundOvershoot
	if k == 0 {
		return b * b
	}
	x := 2 * k * b
	var num float64
	if x < 1e-4 {
		num = x * x / 2 * (1 + x/3 + x*x/12) // exp(x)−x−1 without cancellation.
	} else {
		num = math.Expm1(x) - x
	}
	return num / (2 * k * k)
}

// threshold returns the h ≥ 0 at which a two-sided CUSUM with reference k
// has average run length arl0 by Siegmund's approximation. The two sides are
// treated as independent, 1/ARL = 1/ARL⁺ + 1/ARL⁻, so each side is given
// run length 2·arl0. siegmundARL increases with h, so bisection finds it.
func threshold(k, arl0 float64) (float64, error) {
	target := 2 * arl0
	if siegmundARL(k, 0) > target {
		return 0, fmt.Errorf("arl0 %v: below %.4g, the run length at threshold 0 for k %v",
			arl0, siegmundARL(k, 0)/2, k)
	}
	lo, hi := 0.0, 1.0
	for siegmundARL(k, hi) < target {
		lo, hi = hi, 2*hi
	}
	for {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			return hi, nil
		}
		if siegmundARL(k, mid) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
}
