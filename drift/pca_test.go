package drift

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

type pcaCase struct {
	Name       string
	Share      float64
	Ref, Cur   [][]*float64
	Components int
	RefError   float64 `json:"ref_error"`
	CurError   float64 `json:"cur_error"`
}

func flatten(rows [][]*float64) ([]float64, int, int) {
	var out []float64
	for _, r := range rows {
		for _, v := range r {
			if v == nil {
				out = append(out, math.NaN())
			} else {
				out = append(out, *v)
			}
		}
	}
	return out, len(rows), len(rows[0])
}

func TestPCAMatchesSklearn(t *testing.T) {
	b, err := os.ReadFile("testdata/pca_cases.json")
	require.NoError(t, err)
	var cases []pcaCase
	require.NoError(t, json.Unmarshal(b, &cases))
	require.NotEmpty(t, cases)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			ref, n, d := flatten(c.Ref)
			cur, m, _ := flatten(c.Cur)
			p, err := FitPCA(ref, n, d, c.Share)
			require.NoError(t, err)
			require.Equal(t, c.Components, p.Components())
			require.InDelta(t, c.RefError, p.ReconstructionError(ref, n), 1e-9)
			require.InDelta(t, c.CurError, p.ReconstructionError(cur, m), 1e-9)
		})
	}
}

func TestPCAErrors(t *testing.T) {
	_, err := FitPCA([]float64{1, 2}, 1, 2, 0.65)
	require.ErrorIs(t, err, ErrTooFewRows)
	_, err = FitPCA([]float64{1, 2, 3}, 2, 2, 0.65)
	require.ErrorContains(t, err, "want 2 rows × 2 columns")
	_, err = FitPCA([]float64{1, 2, 3, 4}, 2, 2, 1)
	require.ErrorContains(t, err, "outside (0, 1)")
	p, err := FitPCA([]float64{1, 2, 3, 4, 5, 7}, 3, 2, 0.65)
	require.NoError(t, err)
	require.True(t, math.IsNaN(p.ReconstructionError(nil, 0)))
}
