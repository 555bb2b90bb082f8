package anomaly

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Scorer defaults; see ScorerOptions.
const (
	defaultHalfLife = 100
	defaultWarmUp   = 30
	defaultWinsor   = 3
	defaultCap      = 100
)

const (
	// maxAbs bounds the inputs a Scorer learns: larger magnitudes are
	// skipped like NaN. Every residual, mean and scale then stays finite
	// (|x−mean| ≤ 2e300), so a State always encodes as JSON.
	maxAbs = 1e300

	// relEps is the relative resolution below which a scale is treated as
	// zero: a scale under relEps·|mean| is rounding noise, not spread.
	relEps = 1e-9

	// madToSigma turns a median absolute deviation into σ for normal data:
	// 1/Φ⁻¹(3/4).
	madToSigma = 1.482602218505602

	// meanAbsToSigma turns a mean absolute deviation into σ for normal data:
	// E|X−μ| = σ·√(2/π), so σ = √(π/2)·E|X−μ|.
	meanAbsToSigma = 1.2533141373155003
)

// ScorerOptions configures a Scorer. A zero field selects its default.
type ScorerOptions struct {
	// HalfLife is the number of learnt ticks after which an observation's
	// weight in the mean and the scale has halved: each tick is learnt with
	// weight α = 1−2^(−1/HalfLife). It must be positive and finite. Default
	// 100 ticks, long enough that the CUSUM on the scores sees a 1σ shift
	// before the mean has absorbed it (see the package documentation).
	HalfLife float64

	// WarmUp is the number of finite values buffered before the first
	// score; their median and MAD initialise the mean and the scale. It must
	// be at least 1. Default 30.
	WarmUp int

	// Winsor is the k at which residuals are clipped, to ±k·scale, before
	// they update the mean and the scale, so that a spike moves neither by
	// more than an ordinary k·scale residual would. It must be positive and
	// finite. Default 3.
	Winsor float64

	// MinScale is an absolute floor on the scale, in the signal's unit: set
	// it to the smallest change worth a score of 1 (one count, one
	// millisecond) for signals that can sit still. It must be non-negative
	// and finite. Default 0: no floor beyond rounding noise.
	MinScale float64

	// Cap bounds the magnitude of a score, so that a gauge never holds Inf.
	// It must be positive and finite. Default 100.
	Cap float64
}

// Scorer turns a signal, one value per evaluation tick, into a robust signed
// anomaly score: the residual of the value against an exponentially weighted
// mean, in units of an exponentially weighted scale. See the package
// documentation for the estimator. Create one with NewScorer; a Scorer must
// not be used by two goroutines at once.
type Scorer struct {
	alpha, winsor, minScale, cap float64
	warmUp                       int

	ready       bool
	count       int64 // finite values learnt, warm-up included
	mean, scale float64
	warm        []float64 // warm-up values; capacity ≥ warmUp
}

// NewScorer returns a Scorer in warm-up, or an error if an option is out of
// range.
func NewScorer(opts ScorerOptions) (*Scorer, error) {
	if opts.HalfLife == 0 {
		opts.HalfLife = defaultHalfLife
	}
	if opts.WarmUp == 0 {
		opts.WarmUp = defaultWarmUp
	}
	if opts.Winsor == 0 {
		opts.Winsor = defaultWinsor
	}
	if opts.Cap == 0 {
		opts.Cap = defaultCap
	}
	var errs []error
	if !positiveFinite(opts.HalfLife) {
		errs = append(errs, fmt.Errorf("half-life %v: must be positive and finite", opts.HalfLife))
	}
	if opts.WarmUp < 1 {
		errs = append(errs, fmt.Errorf("warm-up %d: must be at least 1", opts.WarmUp))
	}
	if !positiveFinite(opts.Winsor) {
		errs = append(errs, fmt.Errorf("winsor %v: must be positive and finite", opts.Winsor))
	}
	if !(opts.MinScale >= 0 && opts.MinScale <= maxAbs) {
		errs = append(errs, fmt.Errorf("min scale %v: must be non-negative and finite", opts.MinScale))
	}
	if !positiveFinite(opts.Cap) {
		errs = append(errs, fmt.Errorf("cap %v: must be positive and finite", opts.Cap))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("anomaly: scorer options: %w", err)
	}
	return &Scorer{
		alpha:    -math.Expm1(-math.Ln2 / opts.HalfLife),
		winsor:   opts.Winsor,
		minScale: opts.MinScale,
		cap:      opts.Cap,
		warmUp:   opts.WarmUp,
		warm:     make([]float64, 0, opts.WarmUp),
	}, nil
}

// Update scores x against the past and then learns it. ok is false, and the
// score 0, while warming up and for a NaN, ±Inf or |x| > 1e300, which is
// skipped: it neither counts towards warm-up nor moves the estimates.
//
// The score is signed, positive above the mean, and lies in [−Cap, Cap].
// While the scale is zero (a signal that has not moved) and MinScale is 0,
// a value equal to the mean scores 0 and any clearly different value ±Cap.
func (s *Scorer) Update(x float64) (score float64, ok bool) {
	if !(math.Abs(x) <= maxAbs) {
		return 0, false
	}
	s.count++
	if !s.ready {
		s.warm = append(s.warm, x)
		if len(s.warm) >= s.warmUp {
			s.finishWarmUp()
		}
		return 0, false
	}

	r := x - s.mean
	sc := max(s.scale, s.minScale)
	floor := relEps * math.Abs(s.mean)
	var z, rc float64
	if sc > floor {
		z = r / sc
		lim := s.winsor * sc
		rc = min(max(r, -lim), lim)
	} else {
		// No spread to measure against, so none to winsorise at either:
		// the value is learnt with the ordinary weight, which gives the
		// scale its first non-zero value.
		rc = r
		switch {
		case r == 0:
		case floor > 0:
			z = r / floor
		default:
			z = math.Copysign(math.Inf(1), r)
		}
	}

	// Weight 1/n until that falls below α: the first ticks after warm-up
	// refine the warm-up estimates as a running mean would, instead of
	// letting their noise decay with the half-life.
	a := max(s.alpha, 1/float64(s.count))
	s.mean += a * rc
	s.scale += a * (meanAbsToSigma*math.Abs(rc) - s.scale)
	return min(max(z, -s.cap), s.cap), true
}

// finishWarmUp sets the mean to the median of the warm-up values and the
// scale to their MAD·1.4826, or, when more than half of them are equal, to
// their mean absolute deviation from the median·1.2533.
func (s *Scorer) finishWarmUp() {
	w := s.warm
	slices.Sort(w)
	med := median(w)
	var sum float64
	for i, v := range w {
		w[i] = math.Abs(v - med)
		sum += w[i]
	}
	slices.Sort(w)
	scale := madToSigma * median(w)
	if scale == 0 {
		scale = meanAbsToSigma * sum / float64(len(w))
	}
	s.mean, s.scale = med, scale
	s.warm = s.warm[:0]
	s.ready = true
}

// median returns the median of sorted, non-empty w.
func median(w []float64) float64 {
	n := len(w)
	if n%2 == 1 {
		return w[n/2]
	}
	lo, hi := w[n/2-1], w[n/2]
	return lo + (hi-lo)/2
}

// ScorerState is a Scorer's learnt state, for persisting across restarts. It
// holds only finite numbers, so it encodes as JSON.
type ScorerState struct {
	// Ready reports that warm-up is over and Mean and Scale are in use.
	Ready bool `json:"ready"`
	// Count is the number of values learnt, warm-up included.
	Count int64 `json:"count"`
	// Mean is the exponentially weighted mean.
	Mean float64 `json:"mean"`
	// Scale is the exponentially weighted scale, an estimate of σ.
	Scale float64 `json:"scale"`
	// WarmUp holds the values buffered so far while not Ready.
	WarmUp []float64 `json:"warm_up,omitempty"`
}

// State returns a copy of s's learnt state.
func (s *Scorer) State() ScorerState {
	st := ScorerState{Ready: s.ready, Count: s.count, Mean: s.mean, Scale: s.scale}
	if len(s.warm) > 0 {
		st.WarmUp = slices.Clone(s.warm)
	}
	return st
}

// Restore replaces s's learnt state with st, which it validates; on error s
// is unchanged. Restoring the zero ScorerState starts warm-up afresh. A
// warm-up buffer at least as long as s's WarmUp (the option may have been
// lowered since st was saved) finishes warm-up at once.
func (s *Scorer) Restore(st ScorerState) error {
	var errs []error
	if !(math.Abs(st.Mean) <= maxAbs) {
		errs = append(errs, fmt.Errorf("mean %v: must be finite", st.Mean))
	}
	if !(st.Scale >= 0 && st.Scale <= 3*maxAbs) {
		errs = append(errs, fmt.Errorf("scale %v: must be non-negative and finite", st.Scale))
	}
	if st.Ready && len(st.WarmUp) > 0 {
		errs = append(errs, errors.New("warm-up values in a ready state"))
	}
	for _, v := range st.WarmUp {
		if !(math.Abs(v) <= maxAbs) {
			errs = append(errs, fmt.Errorf("warm-up value %v: must be finite", v))
			break
		}
	}
	if st.Ready && st.Count < 1 {
		errs = append(errs, errors.New("count 0 in a ready state"))
	}
	if st.Count < int64(len(st.WarmUp)) {
		errs = append(errs, fmt.Errorf("count %d: below the %d warm-up values", st.Count, len(st.WarmUp)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("anomaly: restore scorer: %w", err)
	}
	s.ready, s.count, s.mean, s.scale = st.Ready, st.Count, st.Mean, st.Scale
	s.warm = append(s.warm[:0], st.WarmUp...)
	if !s.ready && len(s.warm) >= s.warmUp {
		s.finishWarmUp()
	}
	return nil
}

func positiveFinite(v float64) bool { return v > 0 && v <= math.MaxFloat64 }
