package event

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBinaryRoundTrip(t *testing.T) {
	preds := []Prediction{
		{Model: "m"},
		{
			Model: "fraud", Version: "v3", ID: "req-1", Role: RoleShadow,
			Time:       time.Date(2026, 12, 3, 10, 0, 0, 123456789, time.UTC),
			Features:   []Feature{{Name: "amount", Value: NumberValue(125.5)}, {Name: "country", Value: StringValue("DE")}, {Name: "age", Value: Value{}}, {Name: "vip", Value: BoolValue(true)}},
			Prediction: BoolValue(false), Score: 0.1 + 0.2, HasScore: true, LatencyMS: 3.25, HasLatency: true,
		},
		{
			Model: "intent", Prediction: StringValue("greet"),
			Scores: []ClassScore{{Class: "greet", P: 0.7}, {Class: "bye", P: math.SmallestNonzeroFloat64}},
		},
	}
	var p Prediction
	for _, want := range preds {
		b := AppendPrediction(nil, &want)
		require.True(t, IsPrediction(b))
		require.NoError(t, DecodePrediction(b, &p))
		if len(want.Features) == 0 {
			want.Features = p.Features[:0]
		}
		if len(want.Scores) == 0 {
			want.Scores = p.Scores[:0]
		}
		require.Equal(t, want, p)
	}
	labels := []Label{
		{Model: "fraud", ID: "req-1", Label: NumberValue(1)},
		{Model: "fraud", ID: "é", Label: StringValue("yes"), Time: time.Unix(0, -5).UTC()},
	}
	var l Label
	for _, want := range labels {
		b := AppendLabel(nil, &want)
		require.False(t, IsPrediction(b))
		require.NoError(t, DecodeLabel(b, &l))
		require.Equal(t, want, l)
	}
}

func TestBinaryRejectsDamage(t *testing.T) {
	b := AppendPrediction(nil, &Prediction{Model: "m", ID: "x", Features: []Feature{{Name: "a", Value: NumberValue(1)}}})
	var p Prediction
	for n := range len(b) {
		require.Error(t, DecodePrediction(b[:n], &p), "cut at %d", n)
	}
	require.ErrorContains(t, DecodePrediction(append(b, 0), &p), "1 bytes after the record")
	require.Error(t, DecodeLabel(b, &Label{}))
}

func FuzzDecodeBinary(f *testing.F) {
	f.Add(AppendPrediction(nil, &Prediction{Model: "m", Version: "v", Features: []Feature{{Name: "a", Value: StringValue("b")}}, Scores: []ClassScore{{Class: "c", P: 1}}}))
	f.Add(AppendLabel(nil, &Label{Model: "m", ID: "1", Label: NumberValue(2)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Prediction
		if DecodePrediction(b, &p) == nil {
			again := AppendPrediction(nil, &p)
			var q Prediction
			require.NoError(t, DecodePrediction(again, &q))
			require.Equal(t, len(p.Features), len(q.Features))
		}
		var l Label
		if DecodeLabel(b, &l) == nil {
			require.NoError(t, DecodeLabel(AppendLabel(nil, &l), &Label{}))
		}
	})
}
