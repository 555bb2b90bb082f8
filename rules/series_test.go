package rules

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseSeries(t *testing.T) {
	const m = -1000.0 // marks a missing value in want
	tests := []struct {
		in   string
		want []float64
	}{
		{"", nil},
		{"   ", nil},
		{"1", []float64{1}},
		{"1 2 3", []float64{1, 2, 3}},
		{"  1\t2\n3 ", []float64{1, 2, 3}},
		{"-2+4x3", []float64{-2, 2, 6, 10}},
		{"1-2x4", []float64{1, -1, -3, -5, -7}},
		{"1x4", []float64{1, 1, 1, 1, 1}},
		{"5x0", []float64{5}},
		{"1+1x0", []float64{1}},
		{"0.9x2 0.8", []float64{0.9, 0.9, 0.9, 0.8}},
		{"1 _x3 stale", []float64{1, m, m, m, m}},
		{"_ 1 _", []float64{m, 1, m}},
		{"+.5 -0.25 1. 1e3 1E-2 2.5e+1", []float64{0.5, -0.25, 1, 1000, 0.01, 25}},
		{"1e-3-1e-4x2", []float64{0.001, 0.0009, 0.0008}},
		{"1e2+1e1x1", []float64{100, 110}},
		{"0.1+0.1x2", []float64{0.1, 0.2, 0.30000000000000004}},
		{"Inf -Inf +Inf", []float64{math.Inf(1), math.Inf(-1), math.Inf(1)}},
		{"07", []float64{7}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSeries(tt.in)
			require.NoError(t, err)
			require.Len(t, got, len(tt.want))
			for i, w := range tt.want {
				if w == m {
					require.False(t, got[i].ok, "value %d missing", i)
					continue
				}
				require.True(t, got[i].ok, "value %d present", i)
				require.Equal(t, w, got[i].v, "value %d", i)
			}
		})
	}
	got, err := parseSeries("NaN 1")
	require.NoError(t, err)
	require.True(t, math.IsNaN(got[0].v) && got[0].ok)

	bad := []string{
		"a", "1,2", "1x", "x3", "1+x3", "1+2", "1-2", "1+2x", "1x-1", "1x1.5", "1xx2", "1x2x3",
		"--1", "1..2", "0x10p1", "_x", "_x0", "_1", "_+1x2", "stalex2", "1+Infx2e", "nan", "INF",
		"1x99999999999999999999", "1x1048576", "1+2x-3", "1 2 three",
	}
	for _, s := range bad {
		t.Run("bad "+s, func(t *testing.T) {
			_, err := parseSeries(s)
			require.Error(t, err)
		})
	}
	t.Run("total size is bounded", func(t *testing.T) {
		_, err := parseSeries("1x600000 1x600000")
		require.ErrorContains(t, err, "more than")
	})
}
