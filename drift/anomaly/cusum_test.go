package anomaly

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewCUSUMOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    CUSUMOptions
		wantErr string
	}{
		{"defaults", CUSUMOptions{}, ""},
		{"all set", CUSUMOptions{K: 1, ARL0: 500, Clip: 3}, ""},
		{"no clipping", CUSUMOptions{Clip: math.Inf(1)}, ""},
		{"smallest arl0", CUSUMOptions{ARL0: siegmundARL(defaultK, 0) / 2}, ""},
		{"negative k", CUSUMOptions{K: -0.5}, "k -0.5"},
		{"NaN k", CUSUMOptions{K: math.NaN()}, "k NaN"},
		{"negative arl0", CUSUMOptions{ARL0: -1}, "arl0 -1"},
		{"infinite arl0", CUSUMOptions{ARL0: math.Inf(1)}, "arl0 +Inf"},
		{"arl0 too small", CUSUMOptions{ARL0: 1}, "arl0 1: below 1.043"},
		{"clip below k", CUSUMOptions{K: 2, Clip: 1.5}, "clip 1.5: must exceed k 2"},
		{"NaN clip", CUSUMOptions{Clip: math.NaN()}, "clip NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCUSUM(tt.opts)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, c)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, c)
		})
	}
}

func TestThreshold(t *testing.T) {
	t.Run("inverts Siegmund", func(t *testing.T) {
		for _, k := range []float64{0, 1e-9, 1e-5, 0.25, 0.5, 1, 2} {
			for _, arl0 := range []float64{50, 370, 1e4, 1e6, 1e12} {
				h, err := threshold(k, arl0)
				require.NoError(t, err)
				require.InEpsilon(t, 2*arl0, siegmundARL(k, h), 1e-9, "k %v arl0 %v", k, arl0)
			}
		}
	})
	t.Run("continuous in k at 0", func(t *testing.T) {
		require.InEpsilon(t, siegmundARL(0, 5), siegmundARL(1e-7, 5), 1e-5)
		require.InEpsilon(t, siegmundARL(2e-5, 5), siegmundARL(1e-4, 5), 1e-3)
	})
	t.Run("published run lengths", func(t *testing.T) {
		// Two-sided tabular CUSUM, k = 1/2: the exact in-control ARLs
		// usually quoted (Montgomery, Introduction to Statistical Quality
		// Control, ch. 9) are 168 for h = 4 and 465 for h = 5; Siegmund's
		// approximation is within 1% of them.
		require.InEpsilon(t, 168, siegmundARL(0.5, 4)/2, 0.01)
		require.InEpsilon(t, 465, siegmundARL(0.5, 5)/2, 0.01)
	})
	t.Run("default", func(t *testing.T) {
		c, err := NewCUSUM(CUSUMOptions{})
		require.NoError(t, err)
		require.InDelta(t, 8.045, c.Threshold(), 1e-3)
	})
}

// TestCUSUMRunLength measures false alarms of the bare CUSUM on independent
// N(0,1) input against 1/ARL0.
func TestCUSUMRunLength(t *testing.T) {
	if testing.Short() {
		t.Skip("draws 3M normal values")
	}
	t.Parallel()
	tests := []struct {
		k, arl0 float64
		ticks   int
	}{
		{0.5, 200, 500_000},
		{0.5, 2_000, 1_000_000},
		{0.25, 1_000, 500_000},
		{1, 1_000, 1_000_000},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			c, err := NewCUSUM(CUSUMOptions{K: tt.k, ARL0: tt.arl0})
			require.NoError(t, err)
			rng := newRand(11)
			alarms := 0
			for range tt.ticks {
				if c.Update(rng.NormFloat64()) {
					alarms++
				}
			}
			// At least 500 alarms: ±4.5% at one standard error, plus the
			// approximation's own error (about −6% for k = 1).
			require.InEpsilon(t, float64(tt.ticks)/tt.arl0, float64(alarms), 0.15,
				"k %v arl0 %v: measured run length %.0f", tt.k, tt.arl0, float64(tt.ticks)/float64(alarms))
		})
	}
}

func TestCUSUMUpdate(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name string
		clip float64
		in   []float64
		// alarms lists the ticks that alarm; after the last input the sums
		// are want.
		alarms []int
		want   CUSUMState
	}{
		// 0.5 a tick: 16 ticks reach 8 ≤ h = 8.045, the 17th alarms.
		{"up", 0, repeat(1, 18), []int{16}, CUSUMState{Pos: 0.5}},
		{"down", 0, repeat(-1, 17), []int{16}, CUSUMState{}},
		{"within k", 0, repeat(0.5, 100), nil, CUSUMState{}},
		{"lower sum drains", 0, []float64{-3, -3, 1, 1}, nil, CUSUMState{Pos: 1, Neg: 2}},
		{"NaN ignored", 0, []float64{2, math.NaN(), 2}, nil, CUSUMState{Pos: 3}},
		// Clip 4: each spike adds 3.5, so two do not alarm and three do.
		{"two spikes", 0, []float64{1e6, 1e6}, nil, CUSUMState{Pos: 7}},
		{"three spikes", 0, []float64{1e6, 1e6, 1e6}, []int{2}, CUSUMState{}},
		{"Inf is clip", 0, []float64{inf, -inf}, nil, CUSUMState{Neg: 3.5}},
		{"one spike unclipped", inf, []float64{9}, []int{0}, CUSUMState{}},
		{"Inf unclipped", inf, []float64{-inf, 1}, []int{0}, CUSUMState{Pos: 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCUSUM(CUSUMOptions{Clip: tt.clip})
			require.NoError(t, err)
			var alarms []int
			for i, z := range tt.in {
				if c.Update(z) {
					alarms = append(alarms, i)
				}
			}
			require.Equal(t, tt.alarms, alarms)
			require.Equal(t, tt.want, c.State())
		})
	}
}

func TestCUSUMRestore(t *testing.T) {
	tests := []struct {
		name    string
		st      CUSUMState
		wantErr string
	}{
		{"zero", CUSUMState{}, ""},
		{"sums", CUSUMState{Pos: 3, Neg: 1}, ""},
		{"negative", CUSUMState{Pos: -1}, "pos -1"},
		{"NaN", CUSUMState{Neg: math.NaN()}, "neg NaN"},
		{"Inf", CUSUMState{Pos: math.Inf(1)}, "pos +Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCUSUM(CUSUMOptions{})
			require.NoError(t, err)
			c.Update(2)
			before := c.State()
			err = c.Restore(tt.st)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Equal(t, before, c.State())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.st, c.State())
		})
	}
	t.Run("above a lowered threshold", func(t *testing.T) {
		c, err := NewCUSUM(CUSUMOptions{ARL0: 100})
		require.NoError(t, err)
		require.NoError(t, c.Restore(CUSUMState{Pos: 7}))
		require.True(t, c.Update(0))
	})
}

func repeat(v float64, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}
