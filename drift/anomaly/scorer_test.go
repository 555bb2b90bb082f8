package anomaly

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewScorerOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    ScorerOptions
		wantErr string
	}{
		{"defaults", ScorerOptions{}, ""},
		{"all set", ScorerOptions{HalfLife: 0.5, WarmUp: 1, Winsor: 1.5, MinScale: 2, Cap: 7}, ""},
		{"negative half-life", ScorerOptions{HalfLife: -1}, "half-life -1"},
		{"NaN half-life", ScorerOptions{HalfLife: math.NaN()}, "half-life NaN"},
		{"infinite half-life", ScorerOptions{HalfLife: math.Inf(1)}, "half-life +Inf"},
		{"negative warm-up", ScorerOptions{WarmUp: -3}, "warm-up -3"},
		{"negative winsor", ScorerOptions{Winsor: -2}, "winsor -2"},
		{"negative min scale", ScorerOptions{MinScale: -1}, "min scale -1"},
		{"NaN min scale", ScorerOptions{MinScale: math.NaN()}, "min scale NaN"},
		{"infinite cap", ScorerOptions{Cap: math.Inf(1)}, "cap +Inf"},
		{"several", ScorerOptions{HalfLife: -1, Cap: -1}, "cap -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewScorer(tt.opts)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, s)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, s)
		})
	}
}

func TestScorerWarmUp(t *testing.T) {
	tests := []struct {
		name      string
		warmUp    int
		in        []float64
		wantMean  float64
		wantScale float64
	}{
		// Deviations from the median 3 are 2,1,0,1,2: MAD 1.
		{"odd", 5, []float64{5, 1, 3, 2, 4}, 3, madToSigma},
		// Median 2.5, deviations 1.5,0.5,0.5,1.5: MAD 1.
		{"even", 4, []float64{1, 2, 3, 4}, 2.5, madToSigma},
		// NaN and ±Inf neither count nor move anything.
		{"non-finite skipped", 3, []float64{math.NaN(), 1, math.Inf(1), 2, math.Inf(-1), 1e301, 9}, 2, madToSigma},
		// A warm-up outlier moves neither the median nor the MAD.
		{"outlier", 5, []float64{10, 11, 1e6, 9, 10}, 10, madToSigma},
		// MAD 0 but not constant: the mean absolute deviation, 1/5, is used.
		{"mostly equal", 5, []float64{0, 0, 0, 1, 0}, 0, meanAbsToSigma * 0.2},
		{"constant", 3, []float64{4, 4, 4}, 4, 0},
		{"one", 1, []float64{-7}, -7, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewScorer(ScorerOptions{WarmUp: tt.warmUp})
			require.NoError(t, err)
			for i, x := range tt.in {
				z, ok := s.Update(x)
				require.False(t, ok, "tick %d", i)
				require.Zero(t, z)
			}
			st := s.State()
			require.True(t, st.Ready)
			require.Empty(t, st.WarmUp)
			require.Equal(t, tt.wantMean, st.Mean)
			require.InDelta(t, tt.wantScale, st.Scale, 1e-15)

			z, ok := s.Update(tt.wantMean)
			require.True(t, ok)
			require.Zero(t, z)
		})
	}
}

func TestScorerSkipsNonFinite(t *testing.T) {
	s := warmScorer(t, ScorerOptions{}, 1, 200)
	before := s.State()
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e301, -1e301} {
		z, ok := s.Update(x)
		require.False(t, ok)
		require.Zero(t, z)
	}
	require.Equal(t, before, s.State())
}

func TestScorerConstant(t *testing.T) {
	tests := []struct {
		name     string
		level    float64
		jump     float64
		minScale float64
		wantJump float64 // score of level+jump
	}{
		{"zero", 0, 1, 0, defaultCap},
		{"five", 5, 1, 0, defaultCap},
		{"five down", 5, -1, 0, -defaultCap},
		{"large", -1e12, 1e6, 0, defaultCap},
		{"huge", 1e300, -1e300, 0, -defaultCap},
		{"tiny", 1e-300, 1e-300, 0, defaultCap},
		// Within relEps·|mean| a constant is still constant.
		{"rounding noise", 1, 1e-12, 0, 1e-12 / relEps},
		{"min scale", 5, 1, 0.5, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewScorer(ScorerOptions{MinScale: tt.minScale})
			require.NoError(t, err)
			var got []float64
			for range 200 {
				if z, ok := s.Update(tt.level); ok {
					got = append(got, z)
				}
			}
			require.Len(t, got, 200-defaultWarmUp)
			for _, z := range got {
				require.Zero(t, z)
			}

			z, ok := s.Update(tt.level + tt.jump)
			require.True(t, ok)
			require.InEpsilon(t, tt.wantJump, z, 1e-3)

			// Back to the level, and a second jump: everything stays finite
			// and the second jump is less surprising than the first.
			for range 50 {
				z, ok = s.Update(tt.level)
				require.True(t, ok)
				require.False(t, math.IsNaN(z) || math.IsInf(z, 0))
			}
			z2, ok := s.Update(tt.level + tt.jump)
			require.True(t, ok)
			require.LessOrEqual(t, math.Abs(z2), math.Abs(tt.wantJump))
			requireJSON(t, s.State())
		})
	}
}

func TestScorerSpike(t *testing.T) {
	tests := []struct {
		name      string
		spike     float64
		wantScore float64
		delta     float64
	}{
		{"+8σ", 8, 8, 1},
		{"−20σ", -20, -20, 1.5},
		{"capped", 1e9, defaultCap, 0},
		{"capped below", -1e9, -defaultCap, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := warmScorer(t, ScorerOptions{}, 3, 500)
			before := s.State()
			z, ok := s.Update(tt.spike)
			require.True(t, ok)
			require.InDelta(t, tt.wantScore, z, tt.delta)

			// Winsorised: the spike moved the mean by at most what a
			// residual of 3·scale does, and the scale by a few percent.
			after := s.State()
			a := -math.Expm1(-math.Ln2 / defaultHalfLife)
			require.LessOrEqual(t, math.Abs(after.Mean-before.Mean), a*defaultWinsor*before.Scale*(1+1e-12))
			require.InEpsilon(t, before.Scale, after.Scale, 0.03)

			// The next ordinary values score as ordinary.
			rng := newRand(4)
			for range 20 {
				z, ok := s.Update(rng.NormFloat64())
				require.True(t, ok)
				require.Less(t, math.Abs(z), 4.0)
			}
		})
	}
}

// TestScorerLevelShift checks that a level shift scores about its size in σ
// at once, is found by the CUSUM within a few ticks, and is learnt: the
// score decays to noise and the mean reaches the new level.
func TestScorerLevelShift(t *testing.T) {
	tests := []struct {
		name     string
		shift    float64
		maxDelay int
	}{
		{"+2σ", 2, 15},
		{"−3σ", -3, 8},
		{"+10σ", 10, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := warmScorer(t, ScorerOptions{}, 5, 500)
			c, err := NewCUSUM(CUSUMOptions{})
			require.NoError(t, err)
			rng := newRand(6)
			delay := -1
			var first, late float64
			for i := range 3000 {
				z, ok := s.Update(tt.shift + rng.NormFloat64())
				require.True(t, ok)
				if c.Update(z) && delay < 0 {
					delay = i
				}
				switch {
				case i < 5:
					first += z / 5
				case i >= 2000:
					late += z / 1000
				}
			}
			require.GreaterOrEqual(t, delay, 0)
			require.LessOrEqual(t, delay, tt.maxDelay)
			require.InDelta(t, tt.shift, first, 1)
			require.InDelta(t, 0, late, 0.2)
			st := s.State()
			require.InDelta(t, tt.shift, st.Mean, 0.3)
			require.InDelta(t, 1, st.Scale, 0.2)
		})
	}
}

// TestScorerTrend feeds a slow trend. The exponentially weighted mean lags
// it by L = slope·(1−α)/α, so residuals are N(L, 1), the scale settles at
// √(π/2)·E|N(L,1)| and the score at L over that, instead of decaying; the
// CUSUM keeps alarming.
func TestScorerTrend(t *testing.T) {
	tests := []struct {
		name     string
		slope    float64
		maxDelay int
	}{
		{"+0.01σ/tick", 0.01, 250},
		{"−0.02σ/tick", -0.02, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := warmScorer(t, ScorerOptions{}, 7, 500)
			c, err := NewCUSUM(CUSUMOptions{})
			require.NoError(t, err)
			rng := newRand(8)
			delay, alarms := -1, 0
			var late float64
			for i := range 3000 {
				z, ok := s.Update(tt.slope*float64(i+1) + rng.NormFloat64())
				require.True(t, ok)
				if c.Update(z) {
					alarms++
					if delay < 0 {
						delay = i
					}
				}
				if i >= 2000 {
					late += z / 1000
				}
			}
			require.GreaterOrEqual(t, delay, 0)
			require.LessOrEqual(t, delay, tt.maxDelay)
			require.Greater(t, alarms, 10)
			a := -math.Expm1(-math.Ln2 / defaultHalfLife)
			lag := tt.slope * (1 - a) / a
			folded := math.Sqrt(2/math.Pi)*math.Exp(-lag*lag/2) + lag*math.Erf(lag/math.Sqrt2)
			require.InEpsilon(t, lag/(meanAbsToSigma*math.Abs(folded)), late, 0.1)
		})
	}
}

func TestScorerRestore(t *testing.T) {
	tests := []struct {
		name    string
		st      ScorerState
		wantErr string
	}{
		{"zero", ScorerState{}, ""},
		{"ready", ScorerState{Ready: true, Count: 40, Mean: 3, Scale: 1}, ""},
		{"warming", ScorerState{Count: 2, WarmUp: []float64{1, 2}}, ""},
		{"NaN mean", ScorerState{Ready: true, Mean: math.NaN()}, "mean NaN"},
		{"infinite scale", ScorerState{Ready: true, Scale: math.Inf(1)}, "scale +Inf"},
		{"negative scale", ScorerState{Ready: true, Scale: -1}, "scale -1"},
		{"ready without count", ScorerState{Ready: true, Scale: 1}, "count 0 in a ready state"},
		{"ready with warm-up", ScorerState{Ready: true, Count: 1, WarmUp: []float64{1}}, "warm-up values in a ready state"},
		{"NaN warm-up", ScorerState{Count: 1, WarmUp: []float64{math.NaN()}}, "warm-up value NaN"},
		{"count too low", ScorerState{Count: 1, WarmUp: []float64{1, 2}}, "count 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := warmScorer(t, ScorerOptions{}, 9, 100)
			before := s.State()
			err := s.Restore(tt.st)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Equal(t, before, s.State())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.st, s.State())
		})
	}

	t.Run("warm-up lowered", func(t *testing.T) {
		s, err := NewScorer(ScorerOptions{WarmUp: 3})
		require.NoError(t, err)
		require.NoError(t, s.Restore(ScorerState{Count: 4, WarmUp: []float64{4, 1, 2, 3}}))
		require.Equal(t, ScorerState{Ready: true, Count: 4, Mean: 2.5, Scale: madToSigma}, s.State())
	})
}

// TestScorerExtremes feeds mixtures of wildly different magnitudes, runs of
// equal values and non-finite values: every score must be finite and within
// the cap, and the state must stay JSON-encodable.
func TestScorerExtremes(t *testing.T) {
	magnitudes := []float64{0, 1e-300, 1e-9, 1, 1e9, 1e150, 1e300, 1e301, math.Inf(1), math.NaN()}
	tests := []struct {
		name string
		opts ScorerOptions
	}{
		{"defaults", ScorerOptions{}},
		{"fast", ScorerOptions{HalfLife: 0.1, WarmUp: 1, Winsor: 0.01}},
		{"wide", ScorerOptions{HalfLife: 1e9, WarmUp: 3, Winsor: 1e300, Cap: 1e300}},
		{"min scale", ScorerOptions{WarmUp: 2, MinScale: 1e300}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewScorer(tt.opts)
			require.NoError(t, err)
			limit := tt.opts.Cap
			if limit == 0 {
				limit = defaultCap
			}
			rng := newRand(13)
			for i := range 20_000 {
				x := magnitudes[rng.IntN(len(magnitudes))]
				if rng.IntN(2) == 0 {
					x = -x
				}
				for range rng.IntN(3) * rng.IntN(50) { // sometimes a constant run
					if z, _ := s.Update(x); !(math.Abs(z) <= limit) {
						t.Fatalf("tick %d: score %v for %v", i, z, x)
					}
				}
				x *= rng.Float64()
				if z, ok := s.Update(x); !(math.Abs(z) <= limit) || !ok && z != 0 {
					t.Fatalf("tick %d: score %v, %v for %v", i, z, ok, x)
				}
				if i%1000 == 0 {
					requireJSON(t, s.State())
				}
			}
			requireJSON(t, s.State())
		})
	}
}

// TestStateRoundTrip persists a Scorer and a CUSUM through JSON at several
// points of a series and checks that the restored pair continues exactly as
// the original does.
func TestStateRoundTrip(t *testing.T) {
	type saved struct {
		Scorer ScorerState `json:"scorer"`
		CUSUM  CUSUMState  `json:"cusum"`
	}
	rng := newRand(10)
	series := gaussian(rng, 1200)
	for i := 600; i < 1200; i++ {
		series[i] += 2.5 // a shift, so that the CUSUM alarms after the cut
	}
	series[100] = math.NaN()
	for _, cut := range []int{0, 12, defaultWarmUp, 101, 590, 605} {
		t.Run("", func(t *testing.T) {
			s, c := newDefaults(t)
			for _, x := range series[:cut] {
				if z, ok := s.Update(x); ok {
					c.Update(z)
				}
			}
			b, err := json.Marshal(saved{s.State(), c.State()})
			require.NoError(t, err)
			var back saved
			require.NoError(t, json.Unmarshal(b, &back))
			s2, c2 := newDefaults(t)
			require.NoError(t, s2.Restore(back.Scorer))
			require.NoError(t, c2.Restore(back.CUSUM))

			alarms := 0
			for i, x := range series[cut:] {
				z, ok := s.Update(x)
				z2, ok2 := s2.Update(x)
				require.Equal(t, ok, ok2, "tick %d", cut+i)
				require.Equal(t, math.Float64bits(z), math.Float64bits(z2), "tick %d", cut+i)
				if !ok {
					continue
				}
				a := c.Update(z)
				require.Equal(t, a, c2.Update(z2), "tick %d", cut+i)
				if a {
					alarms++
				}
			}
			require.Positive(t, alarms)
			require.Equal(t, s.State(), s2.State())
			require.Equal(t, c.State(), c2.State())
		})
	}
}

// warmScorer returns a Scorer with opts that has learnt n N(0,1) values
// drawn with seed.
func warmScorer(t *testing.T, opts ScorerOptions, seed uint64, n int) *Scorer {
	t.Helper()
	s, err := NewScorer(opts)
	require.NoError(t, err)
	for _, x := range gaussian(newRand(seed), n) {
		s.Update(x)
	}
	require.True(t, s.State().Ready)
	return s
}

// requireJSON checks that v encodes as JSON, which NaN and ±Inf do not.
func requireJSON(t *testing.T, v any) {
	t.Helper()
	_, err := json.Marshal(v)
	require.NoError(t, err)
}
