package quality

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// compareCases are the reference values of testdata/gen_compare.py (scipy, numpy, sklearn).
type compareCases struct {
	ZTest []struct {
		XA, NA, XB, NB int
		A, B, Delta, Z float64
		PValue         float64 `json:"p_value"`
	} `json:"ztest"`
	DeLong []struct {
		Name           string
		YA, YB         []int
		SA, SB         []float64
		A, B, Delta, Z float64
		PValue         float64 `json:"p_value"`
	} `json:"delong"`
	Pearson []struct {
		Name string
		X, Y []float64
		R    float64
	} `json:"pearson"`
	Quantile []struct {
		Name     string
		X        []float64
		Q50, Q95 float64
	} `json:"quantile"`
}

func loadCompareCases(t *testing.T) compareCases {
	t.Helper()
	b, err := os.ReadFile("testdata/compare_cases.json")
	require.NoError(t, err)
	var c compareCases
	require.NoError(t, json.Unmarshal(b, &c))
	require.NotEmpty(t, c.ZTest)
	require.NotEmpty(t, c.DeLong)
	return c
}

func TestTwoProportionZTestReference(t *testing.T) {
	for _, c := range loadCompareCases(t).ZTest {
		got := TwoProportionZTest(c.XA, c.NA, c.XB, c.NB)
		require.InDelta(t, c.A, got.A, 1e-15)
		require.InDelta(t, c.B, got.B, 1e-15)
		require.InDelta(t, c.Delta, got.Delta, 1e-15)
		require.InDelta(t, c.Z, got.Z, 1e-12, "%+v", c)
		require.InDelta(t, c.PValue, got.PValue, 1e-12, "%+v", c)
	}
	require.True(t, math.IsNaN(TwoProportionZTest(0, 0, 1, 2).PValue), "an empty side has no test")
}

func TestDeLongTestReference(t *testing.T) {
	for _, c := range loadCompareCases(t).DeLong {
		t.Run(c.Name, func(t *testing.T) {
			got, ok := DeLongTest(bools(c.YA), c.SA, bools(c.YB), c.SB)
			require.True(t, ok)
			require.InDelta(t, c.A, got.A, 1e-12)
			require.InDelta(t, c.B, got.B, 1e-12)
			require.InDelta(t, c.Z, got.Z, 1e-9)
			require.InDelta(t, c.PValue, got.PValue, 1e-9)
		})
	}
}

func TestDeLongTestUndefined(t *testing.T) {
	tests := []struct {
		name string
		y    []bool
		s    []float64
	}{
		{"one class", []bool{true, true, true}, []float64{0.1, 0.2, 0.3}},
		{"one negative", []bool{true, true, false}, []float64{0.1, 0.2, 0.3}},
		{"nan score", []bool{true, true, false, false}, []float64{0.1, math.NaN(), 0.3, 0.4}},
	}
	good := []bool{true, false, true, false}
	gs := []float64{0.9, 0.1, 0.8, 0.3}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok := DeLongTest(tt.y, tt.s, good, gs)
			require.False(t, ok)
			_, ok = DeLongTest(good, gs, tt.y, tt.s)
			require.False(t, ok)
		})
	}
}

func TestPearsonReference(t *testing.T) {
	for _, c := range loadCompareCases(t).Pearson {
		require.InDelta(t, c.R, Pearson(c.X, c.Y), 1e-12, c.Name)
	}
	require.True(t, math.IsNaN(Pearson([]float64{1, 1, 1}, []float64{1, 2, 3})), "constant input")
}

func TestQuantileReference(t *testing.T) {
	for _, c := range loadCompareCases(t).Quantile {
		require.InDelta(t, c.Q50, Quantile(append([]float64(nil), c.X...), 0.5), 1e-12, c.Name)
		require.InDelta(t, c.Q95, Quantile(append([]float64(nil), c.X...), 0.95), 1e-12, c.Name)
	}
	require.True(t, math.IsNaN(Quantile(nil, 0.5)))
}
