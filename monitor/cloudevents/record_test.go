package cloudevents

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// mapRecord is the record as encoding/json writes it with maps: the reference that
// record.appendJSON must reproduce byte for byte.
type mapRecord struct {
	Model      string             `json:"model"`
	Version    string             `json:"version,omitempty"`
	Role       string             `json:"role,omitempty"`
	ID         string             `json:"id"`
	Timestamp  string             `json:"timestamp,omitempty"`
	Features   map[string]any     `json:"features,omitempty"`
	Prediction any                `json:"prediction,omitempty"`
	Score      *float64           `json:"score,omitempty"`
	Scores     map[string]float64 `json:"scores,omitempty"`
}

func referenceJSON(t testing.TB, r record) []byte {
	t.Helper()
	m := mapRecord{Model: r.Model, Version: r.Version, Role: r.Role, ID: r.ID, Timestamp: r.Timestamp, Prediction: r.Prediction}
	if len(r.Features) > 0 {
		m.Features = map[string]any{}
		for _, f := range r.Features {
			m.Features[f.name] = f.value
		}
	}
	if r.HasScore {
		m.Score = &r.Score
	}
	if len(r.Scores) > 0 {
		m.Scores = map[string]float64{}
		for _, s := range r.Scores {
			m.Scores[s.class] = s.p
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(m))
	return buf.Bytes()
}

func TestRecordJSONMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		r    record
	}{
		{"bare", record{Model: "m", ID: "1"}},
		{"everything", record{Model: "fraud", Version: "v2", Role: "canary", ID: "req-1/0", Timestamp: "2026-11-24T10:00:00.123456Z",
			Features:   []feature{{"z", 1.5}, {"a", "DE"}, {"m", true}, {"n", nil}, {"e", 1e-7}, {"big", 1e21}, {"neg", -0.000001}, {"int", 3.0}},
			Prediction: "yes", Score: 0.8, HasScore: true}},
		{"multiclass", record{Model: "iris", ID: "x", Prediction: 2.0,
			Scores: []classScore{{"virginica", 0.7}, {"setosa", 0.1}, {"versicolor", 0.2}}}},
		{"repeated names keep the last value", record{Model: "m", ID: "1",
			Features: []feature{{"a", 1.0}, {"b", 2.0}, {"a", 3.0}}, Scores: []classScore{{"c", 0.1}, {"c", 0.9}}}},
		{"escapes", record{Model: "m\"\\", ID: "tab\there\nnew\x01\x1f\u2028\u2029<&>", Features: []feature{{"é", "日本"}, {"bad\xffutf8", "\xc3"}}}},
		{"zero score and false", record{Model: "m", ID: "1", Prediction: false, Score: 0, HasScore: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := referenceJSON(t, tt.r)
			got := tt.r.appendJSON(nil)
			require.Equal(t, string(want), string(got))
		})
	}
}

func TestLabelJSON(t *testing.T) {
	for _, label := range []any{1.0, "spam", true, nil, 2.5e-9} {
		want, err := json.Marshal(map[string]any{"model": "m", "id": "r/1", "label": label})
		require.NoError(t, err)
		var gotV, wantV map[string]any
		require.NoError(t, json.Unmarshal(appendLabel(nil, "m", "r/1", label), &gotV))
		require.NoError(t, json.Unmarshal(want, &wantV))
		require.Equal(t, wantV, gotV)
	}
}

func TestAppendFloatNotANumberIsNull(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		require.Equal(t, "null", string(appendFloat(nil, f)))
	}
}

// FuzzRecordJSON checks the hand-written encoder against encoding/json on any strings
// (ids and names come from outside: CloudEvent headers and payloads) and numbers.
func FuzzRecordJSON(f *testing.F) {
	f.Add("fraud", "req-1", "amount", "country", 12.5, "DE", 0.8)
	f.Add("m\x00", "\xff\xfe", "\u2028", "a\"b", 1e-300, "\\", -1e21)
	f.Fuzz(func(t *testing.T, model, id, name1, name2 string, x float64, s string, score float64) {
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(score) || math.IsInf(score, 0) {
			t.Skip("encoding/json refuses what JSON cannot carry")
		}
		r := record{Model: model, ID: id, Features: []feature{{name1, x}, {name2, s}, {name1 + name2, nil}},
			Prediction: s, Score: score, HasScore: true, Scores: []classScore{{name2, score}, {name1, x}}}
		want := referenceJSON(t, r)
		got := r.appendJSON(nil)
		if !bytes.Equal(want, got) {
			t.Fatalf("appendJSON:\n%s\nencoding/json:\n%s", got, want)
		}
	})
}

// rowsJSON writes rows as records do, so that two readings compare whatever order their
// features came in.
func rowsJSON(rows [][]feature) string {
	var b []byte
	for _, row := range rows {
		r := record{Model: "m", ID: "1", Features: append([]feature(nil), row...)}
		b = r.appendJSON(b)
	}
	return string(b)
}

// FuzzV1FastPath holds the KServe v1 token walk to what the general path reads from the
// same body, whenever the walk takes the body at all.
func FuzzV1FastPath(f *testing.F) {
	for _, s := range []string{
		`{"instances": [{"a": 1, "b": "x", "c": null, "d": true, "e": {"n": 1}}, [1, "2", false], 3]}`,
		`{"instances": [{"a": 1, "a": [2]}, {"a": [1], "a": 2}], "other": {"x": []}}`,
		`{"Instances": [[1]], "instances": [[2]]}`,
		`{"instances": [[1e400]]}`,
		`{"instances": [[{"x": 1}]]}`,
		`{"instances": []} `,
		`{"instances": [[1]]} x`,
		`{"predictions": [1, "cat", [0.2, 0.8], [3], [], [null], true]}`,
		`{"predictions": [null]}`,
		`{"predictions": [[1, "x"]], "model_name": "m"}`,
		`{"in_stances": [1], "instances": [2]}`,
		"{\"instances\": [{\"\xff\": \"\xfe\"}]}",
		`{"instances": [{"a": 1, "b": {"c": [1e400]}}]}`,
		`{"instances": [{"a": 1, "b": {"c": [1e300, {"d": -0}]}}]}`,
	} {
		f.Add([]byte(s))
	}
	m := &Mapping{Features: []string{"f0", "f1"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		if rows, ok := v1Instances(data, m); ok {
			want, err := requestRowsGeneral(data, m)
			if err != nil {
				t.Fatalf("fast path read %s; the general path refused it: %v", data, err)
			}
			if rowsJSON(rows) != rowsJSON(want) {
				t.Fatalf("%s:\nfast    %s\ngeneral %s", data, rowsJSON(rows), rowsJSON(want))
			}
		}
		if out, ok := v1Predictions(data); ok {
			want, err := responseOutputsGeneral(data, m)
			if err != nil {
				t.Fatalf("fast path read %s; the general path refused it: %v", data, err)
			}
			require.Equal(t, want, out, "%s", data)
		}
	})
}

func TestV1FastPathTakesLoggerBodies(t *testing.T) {
	m := &Mapping{Features: []string{"sepal_length", "sepal_width", "petal_length", "petal_width"}}
	_, req := loadSample(t, "kserve-v1-request.txt")
	rows, ok := v1Instances(req, m)
	require.True(t, ok, "the token walk reads the logger's v1 request")
	require.Equal(t, [][]feature{
		{{"sepal_length", 6.8}, {"sepal_width", 2.8}, {"petal_length", 4.8}, {"petal_width", 1.4}},
		{{"sepal_length", 6.0}, {"sepal_width", 3.4}, {"petal_length", 4.5}, {"petal_width", 1.6}},
	}, rows)
	_, resp := loadSample(t, "kserve-v1-response.txt")
	out, ok := v1Predictions(resp)
	require.True(t, ok, "the token walk reads the logger's v1 response")
	require.Equal(t, []output{{pred: 1.0}, {pred: 1.0}}, out)
	out, ok = v1Predictions([]byte(`{"predictions": [[0.2, 0.8]], "model_name": "fraud"}`))
	require.True(t, ok)
	require.Equal(t, []output{{scores: []float64{0.2, 0.8}}}, out)
	_, ok = v1Instances([]byte(`{"inputs": [], "instances": [[1]]}`), m)
	require.False(t, ok, "a body with other protocol members is the general path's")
}
