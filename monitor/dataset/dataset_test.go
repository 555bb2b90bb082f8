package dataset_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/dataset"
	"github.com/vigilml/vigil/monitor/event"
)

// snap is a copy of the parts of a Row a test looks at.
type snap struct {
	Line     int64
	Features []event.Value // in schema order
	Model    string
	ID       string
	Time     time.Time
	Pred     event.Value
	Score    float64
	HasScore bool
	Label    event.Value
	HasLabel bool
}

// rowErr is the comparable part of a RowError.
type rowErr struct {
	Line     int64
	Column   string
	Reason   event.Reason
	Rejected bool
}

// result is everything read from a file.
type result struct {
	schema dataset.Schema
	rows   []snap
	errs   []rowErr
	msgs   []string
	stats  dataset.Stats
}

var (
	miss = event.Value{}
	num  = event.NumberValue
	str  = event.StringValue
	yes  = event.BoolValue(true)
	no   = event.BoolValue(false)
)

// readAll reads a whole file held in memory.
func readAll(t *testing.T, data string, opts dataset.Options) (result, error) {
	t.Helper()
	var res result
	opts.OnRowError = func(e *dataset.RowError) {
		res.errs = append(res.errs, rowErr{Line: e.Line, Column: e.Column, Reason: e.Reason, Rejected: e.Rejected})
		res.msgs = append(res.msgs, e.Error())
	}
	r, err := dataset.New(strings.NewReader(data), int64(len(data)), opts)
	if err != nil {
		return res, err
	}
	defer r.Close()
	res.schema = r.Schema()
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, err
		}
		res.rows = append(res.rows, snapshot(row))
	}
	res.stats = r.Stats()
	sum, ok := r.SHA256()
	require.True(t, ok)
	require.Equal(t, sha256.Sum256([]byte(data)), sum)
	require.Equal(t, int64(len(data)), r.BytesRead())
	return res, nil
}

func snapshot(row *dataset.Row) snap {
	s := snap{
		Line: row.Line, Model: row.Prediction.Model, ID: row.Prediction.ID, Time: row.Prediction.Time,
		Pred: row.Prediction.Prediction, Score: row.Prediction.Score, HasScore: row.Prediction.HasScore,
		Label: row.Label, HasLabel: row.HasLabel,
	}
	for _, f := range row.Prediction.Features {
		s.Features = append(s.Features, f.Value)
	}
	return s
}

// feats returns rows with only lines and feature values set.
func feats(line int64, vals ...event.Value) snap {
	return snap{Line: line, Features: vals}
}

func cols(specs ...any) []dataset.Column {
	var c []dataset.Column
	for i := 0; i < len(specs); i += 3 {
		c = append(c, dataset.Column{Name: specs[i].(string), Type: specs[i+1].(dataset.ColumnType), Inferred: specs[i+2].(bool)})
	}
	return c
}

const (
	inferred = true
	declared = false
)

func TestFormatFromPath(t *testing.T) {
	for _, tc := range []struct {
		path    string
		want    dataset.Format
		wantErr string
	}{
		{path: "train.csv", want: dataset.CSV},
		{path: "/data/TRAIN.CSV", want: dataset.CSV},
		{path: "log.ndjson", want: dataset.NDJSON},
		{path: "log.jsonl", want: dataset.NDJSON},
		{path: "a.b/x.parquet", want: dataset.Parquet},
		{path: "x.pq", want: dataset.Parquet},
		{path: "train.csv.gz", wantErr: `unsupported file extension ".gz"`},
		{path: "train.tsv", wantErr: `unsupported file extension ".tsv"`},
		{path: "train", wantErr: "has no file extension"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got, err := dataset.FormatFromPath(tc.path)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestCSV(t *testing.T) {
	ts := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		data       string
		opts       dataset.Options
		wantSchema dataset.Schema
		wantRows   []snap
		wantErrs   []rowErr
		wantMsgs   []string // substrings of the error messages, in order
	}{
		{
			name:       "types are inferred",
			data:       "a,b,c\n1,x,\n2.5,y,\n-3e2,1,\n",
			wantSchema: dataset.Schema{Columns: cols("a", dataset.Numeric, inferred, "b", dataset.Categorical, inferred, "c", dataset.Numeric, inferred)},
			wantRows: []snap{
				feats(2, num(1), str("x"), miss),
				feats(3, num(2.5), str("y"), miss),
				feats(4, num(-300), str("1"), miss),
			},
		},
		{
			name:       "declared types override inference",
			data:       "a,b\n1,2\n3,x\n",
			opts:       dataset.Options{Types: map[string]dataset.ColumnType{"a": dataset.Categorical, "b": dataset.Numeric}},
			wantSchema: dataset.Schema{Columns: cols("a", dataset.Categorical, declared, "b", dataset.Numeric, declared)},
			wantRows:   []snap{feats(2, str("1"), num(2)), feats(3, str("3"), miss)},
			wantErrs:   []rowErr{{Line: 3, Column: "b", Reason: dataset.ReasonTypeMismatch}},
			wantMsgs:   []string{`line 3: column "b": "x" is not a number`},
		},
		{
			name:       "null texts are missing",
			data:       "a,b\nNA,null\nNaN,\nN/A,NULL\nnan,x\n",
			wantSchema: dataset.Schema{Columns: cols("a", dataset.Numeric, inferred, "b", dataset.Categorical, inferred)},
			wantRows:   []snap{feats(2, miss, miss), feats(3, miss, miss), feats(4, miss, miss), feats(5, miss, str("x"))},
		},
		{
			name:     "NaN and infinite numbers are never numbers",
			data:     "a,b\ninf,1\n-Infinity,2\n1e400,3\n1e-400,4\n+Inf,5\n nan ,6\n 7 ,7\n",
			opts:     dataset.Options{Types: map[string]dataset.ColumnType{"a": dataset.Numeric}},
			wantRows: []snap{feats(2, miss, num(1)), feats(3, miss, num(2)), feats(4, miss, num(3)), feats(5, num(0), num(4)), feats(6, miss, num(5)), feats(7, miss, num(6)), feats(8, num(7), num(7))},
			wantErrs: []rowErr{
				{Line: 2, Column: "a", Reason: dataset.ReasonTypeMismatch},
				{Line: 3, Column: "a", Reason: dataset.ReasonTypeMismatch},
				{Line: 4, Column: "a", Reason: dataset.ReasonTypeMismatch},
				{Line: 6, Column: "a", Reason: dataset.ReasonTypeMismatch},
				{Line: 7, Column: "a", Reason: dataset.ReasonTypeMismatch},
			},
		},
		{
			name:     "records with the wrong number of fields are rejected",
			data:     "a,b\n1,2\n3\n4,5,6\n7,8\n",
			wantRows: []snap{feats(2, num(1), num(2)), feats(5, num(7), num(8))},
			wantErrs: []rowErr{{Line: 3, Reason: dataset.ReasonFieldCount, Rejected: true}, {Line: 4, Reason: dataset.ReasonFieldCount, Rejected: true}},
			wantMsgs: []string{"line 3: the record has 1 fields, the header has 2", "line 4: the record has 3 fields, the header has 2"},
		},
		{
			name:       "quoted fields hold commas, quotes and line breaks",
			data:       "id,text,n\n1,\"a,b\",2\n2,\"multi\nline\",3\n3,\"say \"\"hi\"\"\",4\n",
			opts:       dataset.Options{IDColumn: "id"},
			wantSchema: dataset.Schema{Columns: cols("text", dataset.Categorical, inferred, "n", dataset.Numeric, inferred)},
			wantRows: []snap{
				{Line: 2, ID: "1", Features: []event.Value{str("a,b"), num(2)}},
				{Line: 3, ID: "2", Features: []event.Value{str("multi\nline"), num(3)}},
				{Line: 5, ID: "3", Features: []event.Value{str(`say "hi"`), num(4)}},
			},
		},
		{
			name:       "a byte order mark and CRLF line ends are accepted",
			data:       "\xEF\xBB\xBFa,b\r\n1,x\r\n\"2\",\"y\r\nz\"\r\n",
			wantSchema: dataset.Schema{Columns: cols("a", dataset.Numeric, inferred, "b", dataset.Categorical, inferred)},
			wantRows:   []snap{feats(2, num(1), str("x")), feats(3, num(2), str("y\nz"))},
		},
		{
			name:       "a header without rows has no rows",
			data:       "a,b\n",
			wantSchema: dataset.Schema{Columns: cols("a", dataset.Numeric, inferred, "b", dataset.Numeric, inferred)},
		},
		{
			name:       "a header without a line break has no rows",
			data:       "a",
			wantSchema: dataset.Schema{Columns: cols("a", dataset.Numeric, inferred)},
		},
		{
			name:     "a stray quote rejects its record, and reading goes on",
			data:     "a,b\n1,x\"y\n2,z\n",
			wantRows: []snap{feats(3, num(2), str("z"))},
			wantErrs: []rowErr{{Line: 2, Reason: dataset.ReasonInvalidCSV, Rejected: true}},
			wantMsgs: []string{`line 2: at byte 4: bare " in non-quoted-field`},
		},
		{
			name: "mapped columns",
			data: "id,ts,model,pred,score,label,f\n" +
				"r1,2026-11-24T10:00:00Z,fraud,1,0.83,1,5\n" +
				"r2,1795514400.5,fraud,cat,,,6\n" +
				",,,,,,\n",
			opts:       dataset.Options{IDColumn: "id", TimestampColumn: "ts", ModelColumn: "model", PredictionColumn: "pred", ScoreColumn: "score", LabelColumn: "label"},
			wantSchema: dataset.Schema{Columns: cols("f", dataset.Numeric, inferred)},
			wantRows: []snap{
				{Line: 2, ID: "r1", Time: ts, Model: "fraud", Pred: num(1), Score: 0.83, HasScore: true, Label: num(1), HasLabel: true, Features: []event.Value{num(5)}},
				{Line: 3, ID: "r2", Time: time.Unix(1795514400, 5e8).UTC(), Model: "fraud", Pred: str("cat"), Features: []event.Value{num(6)}},
				{Line: 4, Features: []event.Value{miss}},
			},
		},
		{
			name: "bad mapped values reject their row",
			data: "ts,model,score,f\n" +
				"yesterday,fraud,0.5,1\n" +
				"2026-11-24T10:00:00Z,fraud,1.5,2\n" +
				"2026-11-24T10:00:00Z,fraud,high,3\n" +
				"2026-11-24T10:00:00Z,churn,0.5,4\n" +
				"1795514400000,fraud,0.5,5\n" +
				"2026-11-24T10:00:00Z,,0.5,6\n",
			opts:     dataset.Options{TimestampColumn: "ts", ModelColumn: "model", ScoreColumn: "score", Model: "fraud"},
			wantRows: []snap{{Line: 7, Time: ts, Model: "fraud", Score: 0.5, HasScore: true, Features: []event.Value{num(6)}}},
			wantErrs: []rowErr{
				{Line: 2, Column: "ts", Reason: event.ReasonInvalidTimestamp, Rejected: true},
				{Line: 3, Column: "score", Reason: event.ReasonInvalidValue, Rejected: true},
				{Line: 4, Column: "score", Reason: event.ReasonInvalidValue, Rejected: true},
				{Line: 5, Column: "model", Reason: event.ReasonModelMismatch, Rejected: true},
				{Line: 6, Column: "ts", Reason: event.ReasonInvalidTimestamp, Rejected: true},
			},
			wantMsgs: []string{
				`"yesterday" is not an RFC 3339 time`,
				"1.5 is outside [0, 1]",
				`"high" is not a probability`,
				`"churn" does not match the model "fraud"`,
				"not milliseconds",
			},
		},
		{
			name:       "a declared categorical prediction stays a string",
			data:       "p,l,f\n01,1.0,1\n",
			opts:       dataset.Options{PredictionColumn: "p", LabelColumn: "l", Types: map[string]dataset.ColumnType{"p": dataset.Categorical, "l": dataset.Numeric}},
			wantSchema: dataset.Schema{Columns: cols("f", dataset.Numeric, inferred)},
			wantRows:   []snap{{Line: 2, Pred: str("01"), Label: num(1), HasLabel: true, Features: []event.Value{num(1)}}},
		},
		{
			name:     "a declared numeric label must be a number",
			data:     "l,f\nyes,1\n",
			opts:     dataset.Options{LabelColumn: "l", Types: map[string]dataset.ColumnType{"l": dataset.Numeric}},
			wantErrs: []rowErr{{Line: 2, Column: "l", Reason: event.ReasonInvalidValue, Rejected: true}},
		},
		{
			name:       "FeatureColumns select and order the features",
			data:       "a,b,c\n1,2,3\n",
			opts:       dataset.Options{FeatureColumns: []string{"c", "a"}},
			wantSchema: dataset.Schema{Columns: cols("c", dataset.Numeric, inferred, "a", dataset.Numeric, inferred)},
			wantRows:   []snap{feats(2, num(3), num(1))},
		},
		{
			name:       "a column without a name is ignored",
			data:       ",a\n0,1\n1,2\n",
			wantSchema: dataset.Schema{Columns: cols("a", dataset.Numeric, inferred), Ignored: []string{""}},
			wantRows:   []snap{feats(2, num(1)), feats(3, num(2))},
		},
		{
			name:       "types are inferred from the first InferRows rows only",
			data:       "a\n1\n2\nx\n",
			opts:       dataset.Options{InferRows: 2},
			wantSchema: dataset.Schema{Columns: cols("a", dataset.Numeric, inferred)},
			wantRows:   []snap{feats(2, num(1)), feats(3, num(2)), feats(4, miss)},
			wantErrs:   []rowErr{{Line: 4, Column: "a", Reason: dataset.ReasonTypeMismatch}},
		},
		{
			name:     "rows read ahead keep their errors in file order",
			data:     "a,b\n1\nx,2\n3,4\n",
			opts:     dataset.Options{Types: map[string]dataset.ColumnType{"a": dataset.Numeric}},
			wantRows: []snap{feats(3, miss, num(2)), feats(4, num(3), num(4))},
			wantErrs: []rowErr{
				{Line: 2, Reason: dataset.ReasonFieldCount, Rejected: true},
				{Line: 3, Column: "a", Reason: dataset.ReasonTypeMismatch},
			},
		},
		{
			name:     "NullValues replace the default set",
			data:     "a,b\n-,1\n,2\nNA,3\n",
			opts:     dataset.Options{NullValues: []string{"-"}, Types: map[string]dataset.ColumnType{"a": dataset.Numeric}},
			wantRows: []snap{feats(2, miss, num(1)), feats(3, miss, num(2)), feats(4, miss, num(3))},
			wantErrs: []rowErr{{Line: 3, Column: "a", Reason: dataset.ReasonTypeMismatch}, {Line: 4, Column: "a", Reason: dataset.ReasonTypeMismatch}},
		},
		{
			name:       "invalid UTF-8 and long strings become missing",
			data:       "a,b\n\xff,1\nabcdef,2\nabc,3\n",
			opts:       dataset.Options{Limits: event.Limits{MaxStringLen: 5}},
			wantSchema: dataset.Schema{Columns: cols("a", dataset.Categorical, inferred, "b", dataset.Numeric, inferred)},
			wantRows:   []snap{feats(2, miss, num(1)), feats(3, miss, num(2)), feats(4, str("abc"), num(3))},
			wantErrs:   []rowErr{{Line: 2, Column: "a", Reason: dataset.ReasonTypeMismatch}, {Line: 3, Column: "a", Reason: dataset.ReasonTypeMismatch}},
			wantMsgs:   []string{"is not valid UTF-8", "a string of 6 bytes exceeds the limit of 5 bytes"},
		},
		{
			name:     "Model names the model of every row",
			data:     "a\n1\n",
			opts:     dataset.Options{Model: "fraud"},
			wantRows: []snap{{Line: 2, Model: "fraud", Features: []event.Value{num(1)}}},
		},
		{
			name:     "empty lines between records are skipped",
			data:     "a\n1\n\n\n2\n",
			wantRows: []snap{feats(2, num(1)), feats(5, num(2))},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Format = dataset.CSV
			got, err := readAll(t, tc.data, tc.opts)
			require.NoError(t, err)
			if tc.wantSchema.Columns != nil {
				require.Equal(t, tc.wantSchema, got.schema)
			}
			require.Equal(t, tc.wantRows, got.rows)
			require.Equal(t, tc.wantErrs, got.errs)
			require.Len(t, got.msgs, len(tc.wantErrs))
			for i, m := range tc.wantMsgs {
				require.Contains(t, got.msgs[i], m)
			}
			rejected, mismatched := 0, int64(0)
			for _, e := range tc.wantErrs {
				if e.Rejected {
					rejected++
				} else {
					mismatched++
				}
			}
			require.Equal(t, int64(len(tc.wantRows)), got.stats.Rows)
			require.Equal(t, int64(rejected), got.stats.Rejected)
			var sum int64
			for _, n := range got.stats.Mismatched {
				sum += n
			}
			require.Equal(t, mismatched, sum)
		})
	}
}

func TestNDJSON(t *testing.T) {
	ts := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		data       string
		opts       dataset.Options
		wantSchema dataset.Schema
		wantRows   []snap
		wantErrs   []rowErr
		wantMsgs   []string
	}{
		{
			name: "lines are prediction objects as the HTTP API takes them",
			data: `{"model":"fraud","id":"r1","timestamp":"2026-11-24T10:00:00Z","features":{"amount":125.5,"country":"DE","age":null},"prediction":1,"score":0.83}` + "\n" +
				`{"model":"fraud","id":"r2","timestamp":1795514400,"features":{"country":"FR","amount":7},"prediction":"no"}` + "\n",
			wantSchema: dataset.Schema{Columns: cols("amount", dataset.Numeric, inferred, "country", dataset.Categorical, inferred, "age", dataset.Numeric, inferred)},
			wantRows: []snap{
				{Line: 1, Model: "fraud", ID: "r1", Time: ts, Pred: num(1), Score: 0.83, HasScore: true, Features: []event.Value{num(125.5), str("DE"), miss}},
				{Line: 2, Model: "fraud", ID: "r2", Time: time.Unix(1795514400, 0).UTC(), Pred: str("no"), Features: []event.Value{num(7), str("FR"), miss}},
			},
		},
		{
			name: "rejected lines name their line; blank lines are skipped",
			data: `{"model":"m","features":{"a":1}}` + "\n" +
				`{"model":"m","features":{"a":` + "\n" +
				`{"model":"m","feautres":{"a":1}}` + "\n" +
				"   \n" +
				`{"features":{"a":2}}` + "\n" +
				`{"model":"m","features":{"a":1e400}}` + "\n" +
				`[{"model":"m"}]` + "\n" +
				`{"model":"m","features":{"a":3}}`,
			wantRows: []snap{{Line: 1, Model: "m", Features: []event.Value{num(1)}}, {Line: 8, Model: "m", Features: []event.Value{num(3)}}},
			wantErrs: []rowErr{
				{Line: 2, Reason: event.ReasonInvalidJSON, Rejected: true},
				{Line: 3, Reason: event.ReasonUnknownField, Rejected: true},
				{Line: 5, Reason: event.ReasonMissingField, Rejected: true},
				{Line: 6, Reason: event.ReasonInvalidValue, Rejected: true},
				{Line: 7, Reason: event.ReasonInvalidValue, Rejected: true},
			},
			wantMsgs: []string{"line 2: invalid JSON at byte", `did you mean "features"?`, "model: required field is missing", "overflows float64", "NDJSON takes one object per line"},
		},
		{
			name:     "Model is the model of lines without one; others are rejected",
			data:     `{"features":{"a":1}}` + "\n" + `{"model":"churn","features":{"a":2}}` + "\n" + `{"model":"fraud","features":{"a":3}}` + "\n",
			opts:     dataset.Options{Model: "fraud"},
			wantRows: []snap{{Line: 1, Model: "fraud", Features: []event.Value{num(1)}}, {Line: 3, Model: "fraud", Features: []event.Value{num(3)}}},
			wantErrs: []rowErr{{Line: 2, Reason: event.ReasonModelMismatch, Rejected: true}},
		},
		{
			name:       "LabelColumn takes the label from a feature",
			data:       `{"model":"m","features":{"a":1,"y":"spam"}}` + "\n" + `{"model":"m","features":{"a":2,"y":null}}` + "\n",
			opts:       dataset.Options{LabelColumn: "y"},
			wantSchema: dataset.Schema{Columns: cols("a", dataset.Numeric, inferred)},
			wantRows: []snap{
				{Line: 1, Model: "m", Label: str("spam"), HasLabel: true, Features: []event.Value{num(1)}},
				{Line: 2, Model: "m", Features: []event.Value{num(2)}},
			},
		},
		{
			name: "the schema comes from the lines read ahead; later values are coerced",
			data: `{"model":"m","features":{"n":1,"s":"x","b":true,"d":true}}` + "\n" +
				`{"model":"m","features":{"n":"oops","s":2,"b":false,"d":false,"new":1}}` + "\n",
			opts:       dataset.Options{InferRows: 1, Types: map[string]dataset.ColumnType{"d": dataset.Numeric}},
			wantSchema: dataset.Schema{Columns: cols("n", dataset.Numeric, inferred, "s", dataset.Categorical, inferred, "b", dataset.Categorical, inferred, "d", dataset.Numeric, declared)},
			wantRows: []snap{
				{Line: 1, Model: "m", Features: []event.Value{num(1), str("x"), yes, num(1)}},
				{Line: 2, Model: "m", Features: []event.Value{miss, num(2), no, num(0)}},
			},
			wantErrs: []rowErr{{Line: 2, Column: "n", Reason: dataset.ReasonTypeMismatch}},
			wantMsgs: []string{`the string "oops" is not a number`},
		},
		{
			name:       "features come in schema order, absent ones missing",
			data:       `{"model":"m","features":{"b":2,"a":1}}` + "\n" + `{"model":"m","features":{"a":3}}` + "\n" + `{"model":"m","features":{"a":4,"b":5}}` + "\n",
			opts:       dataset.Options{FeatureColumns: []string{"a", "b", "c"}},
			wantSchema: dataset.Schema{Columns: cols("a", dataset.Numeric, inferred, "b", dataset.Numeric, inferred, "c", dataset.Numeric, inferred)},
			wantRows: []snap{
				{Line: 1, Model: "m", Features: []event.Value{num(1), num(2), miss}},
				{Line: 2, Model: "m", Features: []event.Value{num(3), miss, miss}},
				{Line: 3, Model: "m", Features: []event.Value{num(4), num(5), miss}},
			},
		},
		{
			name:     "CRLF line ends",
			data:     "{\"model\":\"m\",\"features\":{\"a\":1}}\r\n{\"model\":\"m\",\"features\":{\"a\":2}}\r\n",
			wantRows: []snap{{Line: 1, Model: "m", Features: []event.Value{num(1)}}, {Line: 2, Model: "m", Features: []event.Value{num(2)}}},
		},
		{
			name:       "a file of rejected lines has an empty schema",
			data:       "nope\n",
			wantSchema: dataset.Schema{Columns: []dataset.Column{}},
			wantErrs:   []rowErr{{Line: 1, Reason: event.ReasonInvalidJSON, Rejected: true}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Format = dataset.NDJSON
			got, err := readAll(t, tc.data, tc.opts)
			require.NoError(t, err)
			if tc.wantSchema.Columns != nil {
				require.Equal(t, tc.wantSchema, got.schema)
			}
			require.Equal(t, tc.wantRows, got.rows)
			require.Equal(t, tc.wantErrs, got.errs)
			for i, m := range tc.wantMsgs {
				require.Contains(t, got.msgs[i], m)
			}
		})
	}
}

func TestNDJSONUnknownFeaturesAreCounted(t *testing.T) {
	data := `{"model":"m","features":{"a":1}}` + "\n" + `{"model":"m","features":{"a":2,"b":3,"c":4}}` + "\n"
	got, err := readAll(t, data, dataset.Options{Format: dataset.NDJSON, InferRows: 1})
	require.NoError(t, err)
	require.Equal(t, cols("a", dataset.Numeric, inferred), got.schema.Columns)
	require.Equal(t, int64(2), got.stats.UnknownFeatures)
	require.Equal(t, int64(2), got.stats.Rows)
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		format  dataset.Format
		data    string
		opts    dataset.Options
		wantErr string
		wantIs  error
	}{
		{name: "empty CSV", format: dataset.CSV, data: "", wantIs: dataset.ErrEmpty},
		{name: "CSV of a byte order mark", format: dataset.CSV, data: "\xEF\xBB\xBF", wantIs: dataset.ErrEmpty, wantErr: "header row"},
		{name: "CSV of empty lines", format: dataset.CSV, data: "\n\r\n\n", wantIs: dataset.ErrEmpty},
		{name: "empty NDJSON", format: dataset.NDJSON, data: "", wantIs: dataset.ErrEmpty},
		{name: "NDJSON of blank lines", format: dataset.NDJSON, data: "\n  \n\t\r\n", wantIs: dataset.ErrEmpty},
		{name: "empty Parquet", format: dataset.Parquet, data: "", wantIs: dataset.ErrEmpty},
		{name: "not Parquet", format: dataset.Parquet, data: "a,b\n1,2\n", wantErr: "not a readable Parquet file"},
		{name: "duplicate header names", format: dataset.CSV, data: "a,b,a\n", wantErr: `column "a" appears twice`},
		{name: "header not UTF-8", format: dataset.CSV, data: "a,\xff\n", wantErr: "column 2 is not valid UTF-8"},
		{name: "header with a stray quote", format: dataset.CSV, data: "a\"b,c\n1,2\n", wantErr: "header row (line 1)"},
		{name: "unknown feature column", format: dataset.CSV, data: "a,b\n", opts: dataset.Options{FeatureColumns: []string{"c"}}, wantErr: `feature column "c" is not a column of the file (columns: "a", "b")`},
		{name: "unknown mapped column", format: dataset.CSV, data: "a,b\n", opts: dataset.Options{LabelColumn: "y"}, wantErr: `LabelColumn "y" is not a column`},
		{name: "one column with two roles", format: dataset.CSV, data: "a,b\n", opts: dataset.Options{LabelColumn: "a", PredictionColumn: "a"}, wantErr: `column "a" is both PredictionColumn and LabelColumn`},
		{name: "a feature with a role", format: dataset.CSV, data: "a,b\n", opts: dataset.Options{LabelColumn: "a", FeatureColumns: []string{"a"}}, wantErr: `column "a" is both a feature and LabelColumn`},
		{name: "a feature listed twice", format: dataset.CSV, data: "a,b\n", opts: dataset.Options{FeatureColumns: []string{"a", "a"}}, wantErr: `feature column "a" is listed twice`},
		{name: "declared type of a missing column", format: dataset.CSV, data: "a\n", opts: dataset.Options{Types: map[string]dataset.ColumnType{"z": dataset.Numeric}}, wantErr: `declared column "z" is not a column`},
		{name: "an invalid type", format: dataset.CSV, data: "a\n", opts: dataset.Options{Types: map[string]dataset.ColumnType{"a": 9}}, wantErr: "type ColumnType(9) is neither Numeric nor Categorical"},
		{name: "too many features", format: dataset.CSV, data: "a,b\n", opts: dataset.Options{Limits: event.Limits{MaxFeatures: 1}}, wantErr: "2 feature columns exceed the limit of 1 features"},
		{name: "negative InferRows", format: dataset.CSV, data: "a\n", opts: dataset.Options{InferRows: -1}, wantErr: "InferRows is -1"},
		{name: "no format", data: "a\n", wantErr: "the format must be set"},
		{name: "columns that NDJSON does not have", format: dataset.NDJSON, data: "{}\n", opts: dataset.Options{IDColumn: "id"}, wantErr: "do not apply to NDJSON"},
		{name: "an NDJSON feature that is the label", format: dataset.NDJSON, data: "{}\n", opts: dataset.Options{LabelColumn: "y", FeatureColumns: []string{"y"}}, wantErr: `column "y" is both a feature and LabelColumn`},
		{name: "an NDJSON feature listed twice", format: dataset.NDJSON, data: "{}\n", opts: dataset.Options{FeatureColumns: []string{"a", "a"}}, wantErr: `feature column "a" is listed twice`},
		{name: "too many NDJSON features", format: dataset.NDJSON, data: `{"model":"m","features":{"a":1}}` + "\n" + `{"model":"m","features":{"b":2}}`, opts: dataset.Options{Limits: event.Limits{MaxFeatures: 1}}, wantErr: "more than the limit of 1: set FeatureColumns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Format = tc.format
			r, err := dataset.New(strings.NewReader(tc.data), int64(len(tc.data)), tc.opts)
			require.Error(t, err)
			require.Nil(t, r)
			if tc.wantIs != nil {
				require.ErrorIs(t, err, tc.wantIs)
			}
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
		return p
	}
	t.Run("the format comes from the extension", func(t *testing.T) {
		p := write("x.jsonl", `{"model":"m","features":{"a":1}}`)
		r, err := dataset.Open(p, dataset.Options{})
		require.NoError(t, err)
		defer r.Close()
		row, err := r.Next()
		require.NoError(t, err)
		require.Equal(t, "m", row.Prediction.Model)
	})
	t.Run("an explicit format wins over the extension", func(t *testing.T) {
		p := write("x.txt", "a\n1\n")
		r, err := dataset.Open(p, dataset.Options{Format: dataset.CSV})
		require.NoError(t, err)
		require.NoError(t, r.Close())
	})
	for _, tc := range []struct {
		name, path, wantErr string
	}{
		{name: "unknown extension", path: write("x.txt", "a\n"), wantErr: `unsupported file extension ".txt"`},
		{name: "missing file", path: filepath.Join(dir, "missing.csv"), wantErr: "no such file"},
		{name: "directory", path: dir + "/", wantErr: "is a directory"},
		{name: "errors name the file", path: write("empty.csv", ""), wantErr: "empty.csv: empty file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "directory" {
				require.NoError(t, os.Mkdir(filepath.Join(dir, "d.csv"), 0o700))
				tc.path = filepath.Join(dir, "d.csv")
			}
			_, err := dataset.Open(tc.path, dataset.Options{})
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestHugeRecords(t *testing.T) {
	huge := strings.Repeat("x", 3<<20)
	t.Run("a CSV field of 3 MiB is read", func(t *testing.T) {
		got, err := readAll(t, "a,b\n"+huge+",1\nsmall,2\n", dataset.Options{Format: dataset.CSV, Limits: event.Limits{MaxStringLen: 4 << 20}})
		require.NoError(t, err)
		require.Len(t, got.rows, 2)
		require.Equal(t, str(huge), got.rows[0].Features[0])
	})
	t.Run("a CSV record over MaxRecordBytes ends reading", func(t *testing.T) {
		data := "a,b\nsmall,1\n\"" + huge + ",1\nsmall,2\n"
		_, err := readAll(t, data, dataset.Options{Format: dataset.CSV, MaxRecordBytes: 1 << 20})
		require.ErrorContains(t, err, "the record after line 2 is longer than 1048576 bytes (MaxRecordBytes): is a quote left open?")
	})
	t.Run("an unterminated quote on the header line ends reading", func(t *testing.T) {
		_, err := readAll(t, "\"a,b\n"+huge, dataset.Options{Format: dataset.CSV, MaxRecordBytes: 1 << 20})
		require.ErrorContains(t, err, "the header row is longer than")
	})
	t.Run("an NDJSON line over MaxRecordBytes is rejected", func(t *testing.T) {
		long := `{"model":"m","features":{"a":"` + huge + `"}}`
		data := `{"model":"m","features":{"a":1}}` + "\n" + long + "\n" + `{"model":"m","features":{"a":2}}` + "\n" + long
		got, err := readAll(t, data, dataset.Options{Format: dataset.NDJSON, MaxRecordBytes: 1 << 20})
		require.NoError(t, err)
		require.Equal(t, []snap{{Line: 1, Model: "m", Features: []event.Value{num(1)}}, {Line: 3, Model: "m", Features: []event.Value{num(2)}}}, got.rows)
		require.Equal(t, []rowErr{{Line: 2, Reason: event.ReasonTooLarge, Rejected: true}, {Line: 4, Reason: event.ReasonTooLarge, Rejected: true}}, got.errs)
	})
	t.Run("an NDJSON line under MaxRecordBytes but over the buffer is read", func(t *testing.T) {
		long := `{"model":"m","features":{"a":"` + strings.Repeat("y", 200<<10) + `"}}`
		got, err := readAll(t, long+"\n", dataset.Options{Format: dataset.NDJSON, Limits: event.Limits{MaxStringLen: 1 << 20}})
		require.NoError(t, err)
		require.Len(t, got.rows, 1)
		require.Len(t, got.rows[0].Features[0].Str, 200<<10)
	})
}

func TestReader(t *testing.T) {
	data := "a,b\n" + strings.Repeat("1,x\n", 5000)
	newReader := func(t *testing.T, opts dataset.Options) *dataset.Reader {
		opts.Format = dataset.CSV
		r, err := dataset.New(strings.NewReader(data), int64(len(data)), opts)
		require.NoError(t, err)
		t.Cleanup(func() { r.Close() })
		return r
	}
	t.Run("SHA256 is known at the end only", func(t *testing.T) {
		r := newReader(t, dataset.Options{})
		_, ok := r.SHA256()
		require.False(t, ok)
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			}
		}
		sum, ok := r.SHA256()
		require.True(t, ok)
		require.Equal(t, sha256.Sum256([]byte(data)), sum)
		require.NoError(t, r.Close())
		sum, ok = r.SHA256()
		require.True(t, ok, "the hash stays available after Close")
		require.Equal(t, sha256.Sum256([]byte(data)), sum)
	})
	t.Run("Progress ends with the whole file", func(t *testing.T) {
		var calls [][2]int64
		r := newReader(t, dataset.Options{Progress: func(read, total int64) { calls = append(calls, [2]int64{read, total}) }})
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			}
		}
		require.NotEmpty(t, calls)
		require.Equal(t, [2]int64{int64(len(data)), int64(len(data))}, calls[len(calls)-1])
		for i := 1; i < len(calls); i++ {
			require.GreaterOrEqual(t, calls[i][0], calls[i-1][0])
		}
	})
	t.Run("Next after Close fails", func(t *testing.T) {
		r := newReader(t, dataset.Options{})
		_, err := r.Next()
		require.NoError(t, err)
		require.NoError(t, r.Close())
		require.NoError(t, r.Close())
		_, err = r.Next()
		require.Error(t, err)
		_, ok := r.SHA256()
		require.False(t, ok)
	})
	t.Run("io.EOF repeats", func(t *testing.T) {
		r := newReader(t, dataset.Options{})
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			n++
		}
		require.Equal(t, 5000, n)
		_, err := r.Next()
		require.ErrorIs(t, err, io.EOF)
		require.Equal(t, int64(5000), r.Stats().Rows)
	})
	t.Run("the Row is reused", func(t *testing.T) {
		r := newReader(t, dataset.Options{})
		a, err := r.Next()
		require.NoError(t, err)
		b, err := r.Next()
		require.NoError(t, err)
		require.Same(t, a, b)
	})
}

// failingReaderAt fails after limit bytes.
type failingReaderAt struct {
	data  []byte
	limit int64
}

func (f *failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.limit {
		return 0, errors.New("disk on fire")
	}
	return bytes.NewReader(f.data).ReadAt(p, off)
}

func TestReadErrorsAreFatal(t *testing.T) {
	for _, format := range []dataset.Format{dataset.CSV, dataset.NDJSON} {
		t.Run(format.String(), func(t *testing.T) {
			var b strings.Builder
			if format == dataset.CSV {
				b.WriteString("a\n")
				for i := range 100000 {
					b.WriteString(strings.Repeat("1", i%7+1) + "\n")
				}
			} else {
				for range 100000 {
					b.WriteString(`{"model":"m","features":{"a":1}}` + "\n")
				}
			}
			data := []byte(b.String())
			r, err := dataset.New(&failingReaderAt{data: data, limit: int64(len(data) / 2)}, int64(len(data)), dataset.Options{Format: format})
			require.NoError(t, err)
			defer r.Close()
			for {
				_, err = r.Next()
				if err != nil {
					break
				}
			}
			require.ErrorContains(t, err, "disk on fire")
			_, err2 := r.Next()
			require.Equal(t, err, err2, "the error is sticky")
		})
	}
}

func TestNoNaNOrInfNumbers(t *testing.T) {
	// A property the fuzz targets check too, here for values that look like numbers.
	// Numbers are what strconv.ParseFloat accepts, as long as they are finite.
	data := "a\nNaN\n-nan\ninf\n-inf\nInfinity\n1e309\n-1e309\n0x1p-2\n1_000\n.5\n5.\n-0\n"
	got, err := readAll(t, data, dataset.Options{Format: dataset.CSV, Types: map[string]dataset.ColumnType{"a": dataset.Numeric}})
	require.NoError(t, err)
	for _, row := range got.rows {
		v := row.Features[0]
		require.False(t, v.Kind == event.Number && (math.IsNaN(v.Num) || math.IsInf(v.Num, 0)), "line %d: %v", row.Line, v)
	}
	require.Equal(t, []snap{
		feats(2, miss), feats(3, miss), feats(4, miss), feats(5, miss), feats(6, miss), feats(7, miss), feats(8, miss),
		feats(9, num(0.25)), feats(10, num(1000)), feats(11, num(0.5)), feats(12, num(5)), feats(13, num(math.Copysign(0, -1))),
	}, got.rows)
}
