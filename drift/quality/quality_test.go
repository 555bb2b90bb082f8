package quality

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// tol is the agreement required with sklearn: absolute for |want| <= 1,
// relative otherwise.
const tol = 1e-9

// The reference cases come from testdata/gen_quality.py (sklearn 1.2.1,
// numpy 1.24); see that file to regenerate them.
type referenceCases struct {
	Sklearn    string           `json:"sklearn"`
	Numpy      string           `json:"numpy"`
	Binary     []binaryCase     `json:"binary"`
	Multiclass []multiclassCase `json:"multiclass"`
	Regression []regressionCase `json:"regression"`
}

// Metric values are pointers: JSON null stands for NaN, a missing field for
// "sklearn gives no value here".
type binaryCase struct {
	Name      string    `json:"name"`
	Y         []int     `json:"y"`
	Pred      []int     `json:"pred"`
	Score     []float64 `json:"score"`
	Confusion struct {
		TP int `json:"tp"`
		FP int `json:"fp"`
		TN int `json:"tn"`
		FN int `json:"fn"`
	} `json:"confusion"`
	Accuracy          *float64 `json:"accuracy"`
	Precision         *float64 `json:"precision"`
	Recall            *float64 `json:"recall"`
	F1                *float64 `json:"f1"`
	LogLoss           *float64 `json:"log_loss"`
	EstimatedAccuracy *float64 `json:"estimated_accuracy"`
	Brier             *float64 `json:"brier"`
	AUC               *float64 `json:"auc"`
	AUCError          string   `json:"auc_error"`
}

type multiclassCase struct {
	Name           string    `json:"name"`
	K              int       `json:"k"`
	Y              []int     `json:"y"`
	Pred           []int     `json:"pred"`
	Probs          []float64 `json:"probs"`
	Accuracy       *float64  `json:"accuracy"`
	MacroPrecision *float64  `json:"macro_precision"`
	MacroRecall    *float64  `json:"macro_recall"`
	MacroF1        *float64  `json:"macro_f1"`
	LogLoss        *float64  `json:"log_loss"`
}

type regressionCase struct {
	Name string    `json:"name"`
	Y    []float64 `json:"y"`
	Pred []float64 `json:"pred"`
	MAE  *float64  `json:"mae"`
	RMSE *float64  `json:"rmse"`
	MAPE *float64  `json:"mape"`
	R2   *float64  `json:"r2"`
}

func loadCases(t *testing.T) referenceCases {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "quality_cases.json"))
	require.NoError(t, err)
	var c referenceCases
	require.NoError(t, json.Unmarshal(b, &c))
	require.Equal(t, "1.2.1", c.Sklearn)
	require.NotEmpty(t, c.Binary)
	require.NotEmpty(t, c.Multiclass)
	require.NotEmpty(t, c.Regression)
	return c
}

func bools(a []int) []bool {
	b := make([]bool, len(a))
	for i, v := range a {
		b[i] = v != 0
	}
	return b
}

// requireClose checks got against sklearn's want (nil: NaN) within tol.
func requireClose(t *testing.T, want *float64, got float64, metric string) {
	t.Helper()
	if want == nil {
		require.Truef(t, math.IsNaN(got), "%s: want NaN, got %v", metric, got)
		return
	}
	w := *want
	bound := tol
	if math.Abs(w) > 1 {
		bound = tol * math.Abs(w)
	}
	require.LessOrEqualf(t, math.Abs(got-w), bound, "%s: want %v, got %v", metric, w, got)
}

// requireExact checks got is bit-identical to sklearn's want (nil: NaN).
// It is used for metrics built only from +, -, ×, ÷, |·| and sqrt, which
// are correctly rounded in both languages, summed in numpy's order.
func requireExact(t *testing.T, want *float64, got float64, metric string) {
	t.Helper()
	if want == nil {
		require.Truef(t, math.IsNaN(got), "%s: want NaN, got %v", metric, got)
		return
	}
	require.Equalf(t, math.Float64bits(*want), math.Float64bits(got),
		"%s: want %v, got %v (not bit-identical)", metric, *want, got)
}

func TestBinaryReference(t *testing.T) {
	for _, tc := range loadCases(t).Binary {
		t.Run(tc.Name, func(t *testing.T) {
			y, pred := bools(tc.Y), bools(tc.Pred)
			c := BinaryConfusion(y, pred)
			require.Equal(t, Confusion{TP: tc.Confusion.TP, FP: tc.Confusion.FP, TN: tc.Confusion.TN, FN: tc.Confusion.FN}, c)
			requireExact(t, tc.Accuracy, c.Accuracy(), "accuracy")
			requireExact(t, tc.Precision, c.Precision(), "precision")
			requireExact(t, tc.Recall, c.Recall(), "recall")
			requireExact(t, tc.F1, c.F1(), "f1")
			requireClose(t, tc.LogLoss, LogLoss(y, tc.Score), "log_loss")
			requireExact(t, tc.EstimatedAccuracy, EstimatedAccuracy(pred, tc.Score), "estimated_accuracy")
			if tc.Brier != nil {
				requireExact(t, tc.Brier, Brier(y, tc.Score), "brier")
			}

			auc, err := ROCAUC(y, tc.Score)
			if tc.AUCError != "" {
				require.Equal(t, "one_class", tc.AUCError)
				require.ErrorIs(t, err, ErrOneClass)
				require.True(t, math.IsNaN(auc))
				return
			}
			require.NoError(t, err)
			requireClose(t, tc.AUC, auc, "auc")
		})
	}
}

func TestMulticlassReference(t *testing.T) {
	for _, tc := range loadCases(t).Multiclass {
		t.Run(tc.Name, func(t *testing.T) {
			requireExact(t, tc.Accuracy, MulticlassAccuracy(tc.Y, tc.Pred), "accuracy")
			p, r, f := MacroPRF(tc.Y, tc.Pred)
			requireExact(t, tc.MacroPrecision, p, "macro precision")
			requireExact(t, tc.MacroRecall, r, "macro recall")
			requireExact(t, tc.MacroF1, f, "macro f1")
			ll, err := MulticlassLogLoss(tc.Y, tc.Probs, tc.K)
			require.NoError(t, err)
			requireClose(t, tc.LogLoss, ll, "log_loss")
		})
	}
}

func TestRegressionReference(t *testing.T) {
	for _, tc := range loadCases(t).Regression {
		t.Run(tc.Name, func(t *testing.T) {
			requireExact(t, tc.MAE, MAE(tc.Y, tc.Pred), "mae")
			requireExact(t, tc.RMSE, RMSE(tc.Y, tc.Pred), "rmse")
			requireExact(t, tc.MAPE, MAPE(tc.Y, tc.Pred), "mape")
			requireExact(t, tc.R2, R2(tc.Y, tc.Pred), "r2")
		})
	}
}
