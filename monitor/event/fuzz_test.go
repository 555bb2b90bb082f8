package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// fuzzLimits are small, so that the fuzzer reaches the limits too.
var fuzzLimits = Limits{MaxFeatures: 8, MaxStringLen: 24, MaxScores: 4}

var reasons = []Reason{ReasonInvalidJSON, ReasonMissingField, ReasonInvalidValue, ReasonInvalidTimestamp,
	ReasonUnknownField, ReasonTooLarge, ReasonModelMismatch}

// fuzzSeeds returns the record texts of the tables, and some batches.
func fuzzSeeds(records []string) [][]byte {
	var seeds [][]byte
	for _, r := range records {
		seeds = append(seeds, []byte(r))
	}
	seeds = append(seeds,
		[]byte("["+strings.Join(records[:4], ",")+"]"),
		[]byte(strings.Join(records, "\n")),
		[]byte("\n \r\n"+records[0]+"\r\n\n"+records[1]),
		[]byte("[]"), []byte(""), []byte(" "), []byte("[[[]]]"),
	)
	return seeds
}

func FuzzPredictions(f *testing.F) {
	var records []string
	for _, tcs := range [][]predictionCase{goodPredictions, badPredictions, syntaxPredictions} {
		for _, tc := range tcs {
			records = append(records, strings.ReplaceAll(tc.record, "\n", " "))
		}
	}
	for i, s := range fuzzSeeds(records) {
		f.Add(s, i%2 == 0, []string{"", "fraud"}[i%3%2])
	}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool, defaultModel string) {
		defaultModel = urlModel(defaultModel)
		format := JSON
		if ndjson {
			format = NDJSON
		}
		d := NewDecoder(fuzzLimits)
		var accepted []int
		records, errs, err := d.Predictions(body, format, defaultModel, func(i int, p *Prediction) {
			accepted = append(accepted, i)
			checkPrediction(t, p, defaultModel)
			checkAgainstStdlib(t, body, format, i, p)
		})
		checkCall(t, body, format, records, accepted, errs, err)

		// The same body again, on the same decoder, gives the same answer.
		var again []int
		records2, errs2, err2 := d.Predictions(body, format, defaultModel, func(i int, _ *Prediction) { again = append(again, i) })
		require.Equal(t, records, records2)
		require.Equal(t, accepted, again)
		require.Len(t, errs2, len(errs))
		require.Equal(t, err == nil, err2 == nil)
	})
}

func FuzzLabels(f *testing.F) {
	var records []string
	for _, tcs := range [][]labelCase{goodLabels, badLabels} {
		for _, tc := range tcs {
			records = append(records, tc.record)
		}
	}
	for i, s := range fuzzSeeds(records) {
		f.Add(s, i%2 == 0, []string{"", "fraud"}[i%3%2])
	}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool, defaultModel string) {
		defaultModel = urlModel(defaultModel)
		format := JSON
		if ndjson {
			format = NDJSON
		}
		d := NewDecoder(fuzzLimits)
		var accepted []int
		records, errs, err := d.Labels(body, format, defaultModel, func(i int, l *Label) {
			accepted = append(accepted, i)
			require.NotEmpty(t, l.Model)
			require.True(t, utf8.ValidString(l.Model))
			if defaultModel != "" {
				require.Equal(t, defaultModel, l.Model)
			}
			require.NotEmpty(t, l.ID)
			require.True(t, utf8.ValidString(l.ID))
			checkValue(t, l.Label)
			require.NotEqual(t, Missing, l.Label.Kind)
			checkTime(t, l.Time)
		})
		checkCall(t, body, format, records, accepted, errs, err)
	})
}

// urlModel maps the fuzzed model name to one that can come from the URL:
// the engine checks that against the configured models before it decodes
// (testdata/fuzz/FuzzPredictions/c8ec4631f4927515 was a harness bug that
// passed invalid UTF-8 here).
func urlModel(defaultModel string) string {
	if !utf8.ValidString(defaultModel) || len(defaultModel) > fuzzLimits.MaxStringLen {
		return ""
	}
	return defaultModel
}

// checkCall checks the properties every call has.
func checkCall(t *testing.T, body []byte, format Format, records int, accepted []int, errs []RecordError, err error) {
	t.Helper()
	if format == JSON {
		if !json.Valid(body) {
			require.Error(t, err, "encoding/json rejects the body")
		}
		if json.Valid(body) && utf8.Valid(body) {
			require.NoError(t, err, "encoding/json accepts the body, which is valid UTF-8")
		}
	}
	if err != nil {
		require.Zero(t, records)
		require.Empty(t, accepted)
		require.Empty(t, errs)
		var se *SyntaxError
		require.True(t, errors.Is(err, ErrEmptyBody) || errors.As(err, &se), "%v", err)
		if format == NDJSON {
			require.ErrorIs(t, err, ErrEmptyBody)
		}
		return
	}
	require.Equal(t, records, len(accepted)+len(errs))
	if format == NDJSON {
		// A line is invalid_json exactly when encoding/json rejects it (or it
		// is not UTF-8).
		invalid := map[int]bool{}
		for _, e := range errs {
			invalid[e.Index] = e.Reason == ReasonInvalidJSON
		}
		for i := range records {
			line := recordText(t, body, format, i)
			require.Equal(t, !json.Valid(line) || !utf8.Valid(line), invalid[i], "line %q", line)
		}
	}
	all := slices.Clone(accepted)
	for k, e := range errs {
		require.Contains(t, reasons, e.Reason)
		require.Error(t, e.Err)
		require.True(t, strings.HasPrefix(e.Error(), "record "+strconv.Itoa(e.Index)+": "), e.Error())
		require.True(t, utf8.ValidString(e.Error()), "%q", e.Error())
		require.True(t, utf8.ValidString(e.Model))
		if k > 0 {
			require.Greater(t, e.Index, errs[k-1].Index)
		}
		all = append(all, e.Index)
	}
	slices.Sort(all)
	for i := range all {
		require.Equal(t, i, all[i], "every record is either accepted or rejected, once")
	}
}

func checkValue(t *testing.T, v Value) {
	t.Helper()
	require.False(t, math.IsNaN(v.Num) || math.IsInf(v.Num, 0), "%v", v.Num)
	require.True(t, utf8.ValidString(v.Str))
	switch v.Kind {
	case Missing:
		require.Equal(t, Value{}, v)
	case Number:
		require.Empty(t, v.Str)
	case String:
		require.Zero(t, v.Num)
	case Bool:
		require.True(t, v.Num == 0 || v.Num == 1)
		require.Empty(t, v.Str)
	default:
		t.Fatalf("kind %v", v.Kind)
	}
}

func checkTime(t *testing.T, ts time.Time) {
	t.Helper()
	if !ts.IsZero() {
		require.Equal(t, time.UTC, ts.Location())
		require.True(t, ts.Year() >= 1970 && ts.Year() <= 9999, ts.String())
	}
}

func checkPrediction(t *testing.T, p *Prediction, defaultModel string) {
	t.Helper()
	require.NotEmpty(t, p.Model)
	if defaultModel != "" {
		require.Equal(t, defaultModel, p.Model)
	}
	for _, s := range []string{p.Model, p.Version, p.ID} {
		require.True(t, utf8.ValidString(s))
		require.LessOrEqual(t, len(s), fuzzLimits.MaxStringLen)
	}
	require.Contains(t, []Role{RolePrimary, RoleCanary, RoleShadow}, p.Role)
	checkTime(t, p.Time)
	require.LessOrEqual(t, len(p.Features), fuzzLimits.MaxFeatures)
	names := map[string]bool{}
	for _, f := range p.Features {
		require.True(t, utf8.ValidString(f.Name))
		require.False(t, names[f.Name], "duplicate feature %q", f.Name)
		names[f.Name] = true
		checkValue(t, f.Value)
	}
	checkValue(t, p.Prediction)
	require.True(t, p.HasScore || p.Score == 0)
	require.True(t, p.Score >= 0 && p.Score <= 1, "%v", p.Score)
	require.LessOrEqual(t, len(p.Scores), fuzzLimits.MaxScores)
	for _, s := range p.Scores {
		require.True(t, utf8.ValidString(s.Class))
		require.True(t, s.P >= 0 && s.P <= 1, "%v", s.P)
	}
	require.True(t, p.HasLatency || p.LatencyMS == 0)
	require.True(t, p.LatencyMS >= 0 && !math.IsInf(p.LatencyMS, 0), "%v", p.LatencyMS)
}

// checkAgainstStdlib decodes record i of body with encoding/json and
// compares what both decoders saw.
func checkAgainstStdlib(t *testing.T, body []byte, format Format, i int, p *Prediction) {
	t.Helper()
	raw := recordText(t, body, format, i)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var ref map[string]any
	require.NoError(t, dec.Decode(&ref), "%s", raw)

	if m, ok := ref["model"].(string); ok {
		require.Equal(t, m, p.Model)
	}
	if v, ok := ref["version"].(string); ok {
		require.Equal(t, v, p.Version)
	}
	switch id := ref["id"].(type) {
	case string:
		require.Equal(t, id, p.ID)
	case json.Number:
		require.Equal(t, string(id), p.ID)
	}
	if ts, ok := ref["timestamp"].(string); ok {
		if want, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			require.True(t, want.Equal(p.Time), "%s: %v", ts, p.Time)
		}
	}
	feats, _ := ref["features"].(map[string]any)
	require.Len(t, p.Features, len(feats))
	for _, f := range p.Features {
		want, ok := feats[f.Name]
		require.True(t, ok, "feature %q", f.Name)
		requireSameValue(t, want, f.Value)
	}
	if want, ok := ref["prediction"]; ok {
		requireSameValue(t, want, p.Prediction)
	}
	if s, ok := ref["score"].(json.Number); ok {
		requireSameNumber(t, s, p.Score)
	}
	if s, ok := ref["latency_ms"].(json.Number); ok {
		requireSameNumber(t, s, p.LatencyMS)
	}
	scores, _ := ref["scores"].(map[string]any)
	require.Len(t, p.Scores, len(scores))
	for _, s := range p.Scores {
		requireSameNumber(t, scores[s.Class].(json.Number), s.P)
	}
}

func requireSameValue(t *testing.T, want any, got Value) {
	t.Helper()
	switch w := want.(type) {
	case nil:
		require.Equal(t, Missing, got.Kind)
	case string:
		require.Equal(t, StringValue(w), got)
	case bool:
		require.Equal(t, BoolValue(w), got)
	case json.Number:
		require.Equal(t, Number, got.Kind)
		requireSameNumber(t, w, got.Num)
	default:
		t.Fatalf("accepted a %T value", want)
	}
}

func requireSameNumber(t *testing.T, want json.Number, got float64) {
	t.Helper()
	f, err := strconv.ParseFloat(string(want), 64)
	require.NoError(t, err)
	require.Equal(t, math.Float64bits(f), math.Float64bits(got), "%s: want %v, got %v", want, f, got)
}

// recordText returns the text of record i of body.
func recordText(t *testing.T, body []byte, format Format, i int) []byte {
	t.Helper()
	if format == NDJSON {
		n := 0
		for line := range bytes.SplitSeq(body, []byte("\n")) {
			if len(bytes.Trim(line, " \t\r")) == 0 {
				continue
			}
			if n == i {
				return line
			}
			n++
		}
		t.Fatalf("no record %d", i)
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		var elems []json.RawMessage
		require.NoError(t, json.Unmarshal(body, &elems))
		return elems[i]
	}
	return body
}
