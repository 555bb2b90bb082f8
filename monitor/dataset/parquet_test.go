package dataset_test

import (
	"bytes"
	"io"
	"math"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/dataset"
	"github.com/vigilml/vigil/monitor/event"
)

// parquetFile writes rows with parquet-go's writer.
func parquetFile[T any](t testing.TB, rows []T, opts ...parquet.WriterOption) string {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, opts...)
	_, err := w.Write(rows)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.String()
}

func ptr[T any](v T) *T { return &v }

// typedRow has one column of each kind vigil reads, and one it cannot.
type typedRow struct {
	Amount  *float64 `parquet:"amount,optional"`
	Age     int32    `parquet:"age"`
	Visits  int64    `parquet:"visits"`
	Ratio   float32  `parquet:"ratio"`
	Country *string  `parquet:"country,optional,dict"`
	Active  *bool    `parquet:"active,optional"`
	Count   uint32   `parquet:"count,uint(32)"`
	Price   int64    `parquet:"price,decimal(2:10)"`
	Day     int32    `parquet:"day,date"`
	Seen    int64    `parquet:"seen,timestamp(millisecond)"`
	Session [16]byte `parquet:"session,uuid"`
	Tags    []string `parquet:"tags,list"`
}

// mappedRow maps every role.
type mappedRow struct {
	ID    string    `parquet:"id"`
	TS    time.Time `parquet:"ts,timestamp(microsecond)"`
	Model string    `parquet:"model"`
	Pred  int64     `parquet:"pred"`
	Score *float64  `parquet:"score,optional"`
	Label *bool     `parquet:"label,optional"`
	F     float64   `parquet:"f"`
}

func TestParquet(t *testing.T) {
	ts := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	uuid := [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}
	typed := parquetFile(t, []typedRow{
		{Amount: ptr(125.5), Age: 41, Visits: 1 << 40, Ratio: 0.5, Country: ptr("DE"), Active: ptr(true), Count: math.MaxUint32, Price: 1999, Day: 20416, Seen: ts.UnixMilli(), Session: uuid, Tags: []string{"a"}},
		{Age: -3, Ratio: float32(math.NaN()), Day: 0},
		{Amount: ptr(math.Inf(1)), Country: ptr("FR"), Active: ptr(false)},
	})
	for _, tc := range []struct {
		name       string
		data       string
		opts       dataset.Options
		wantSchema dataset.Schema
		wantRows   []snap
		wantErrs   []rowErr
	}{
		{
			name: "typed and nullable columns",
			data: typed,
			wantSchema: dataset.Schema{
				Columns: cols(
					"amount", dataset.Numeric, inferred, "age", dataset.Numeric, inferred, "visits", dataset.Numeric, inferred,
					"ratio", dataset.Numeric, inferred, "country", dataset.Categorical, inferred, "active", dataset.Categorical, inferred,
					"count", dataset.Numeric, inferred, "price", dataset.Numeric, inferred, "day", dataset.Numeric, inferred,
					"seen", dataset.Numeric, inferred, "session", dataset.Categorical, inferred),
				Ignored: []string{"tags"},
			},
			wantRows: []snap{
				feats(1, num(125.5), num(41), num(1<<40), num(0.5), str("DE"), yes, num(math.MaxUint32), num(19.99), num(20416*86400), num(float64(ts.Unix())), str("12345678-9abc-def0-1234-56789abcdef0")),
				feats(2, miss, num(-3), num(0), miss, miss, miss, num(0), num(0), num(0), num(0), str("00000000-0000-0000-0000-000000000000")),
				feats(3, miss, num(0), num(0), num(0), str("FR"), no, num(0), num(0), num(0), num(0), str("00000000-0000-0000-0000-000000000000")),
			},
			wantErrs: []rowErr{{Line: 3, Column: "amount", Reason: dataset.ReasonTypeMismatch}},
		},
		{
			name:       "declared types change how values are read",
			data:       typed,
			opts:       dataset.Options{FeatureColumns: []string{"active", "age"}, Types: map[string]dataset.ColumnType{"active": dataset.Numeric, "age": dataset.Categorical}},
			wantSchema: dataset.Schema{Columns: cols("active", dataset.Numeric, declared, "age", dataset.Categorical, declared)},
			wantRows:   []snap{feats(1, num(1), num(41)), feats(2, miss, num(-3)), feats(3, num(0), num(0))},
		},
		{
			name: "mapped columns",
			data: parquetFile(t, []mappedRow{
				{ID: "r1", TS: ts, Model: "fraud", Pred: 1, Score: ptr(0.83), Label: ptr(true), F: 1},
				{ID: "r2", TS: ts.Add(time.Microsecond), Model: "fraud", Pred: 0, F: 2},
				{ID: "r3", TS: ts, Model: "fraud", Score: ptr(1.5), F: 3},
				{ID: "r4", TS: ts, Model: "churn", F: 4},
			}),
			opts:       dataset.Options{IDColumn: "id", TimestampColumn: "ts", ModelColumn: "model", PredictionColumn: "pred", ScoreColumn: "score", LabelColumn: "label", Model: "fraud"},
			wantSchema: dataset.Schema{Columns: cols("f", dataset.Numeric, inferred)},
			wantRows: []snap{
				{Line: 1, ID: "r1", Time: ts, Model: "fraud", Pred: num(1), Score: 0.83, HasScore: true, Label: yes, HasLabel: true, Features: []event.Value{num(1)}},
				{Line: 2, ID: "r2", Time: ts.Add(time.Microsecond), Model: "fraud", Pred: num(0), Features: []event.Value{num(2)}},
			},
			wantErrs: []rowErr{
				{Line: 3, Column: "score", Reason: event.ReasonInvalidValue, Rejected: true},
				{Line: 4, Column: "model", Reason: event.ReasonModelMismatch, Rejected: true},
			},
		},
		{
			name: "string columns declared numeric are parsed",
			data: parquetFile(t, []struct {
				S *string `parquet:"s,optional"`
				T string  `parquet:"t"`
			}{{S: ptr("1.5"), T: "2026-11-24T10:00:00Z"}, {S: ptr("x"), T: "1795514400"}, {S: ptr("NA"), T: "soon"}, {T: ""}}),
			opts:       dataset.Options{Types: map[string]dataset.ColumnType{"s": dataset.Numeric}, TimestampColumn: "t"},
			wantSchema: dataset.Schema{Columns: cols("s", dataset.Numeric, declared)},
			wantRows:   []snap{{Line: 1, Time: ts, Features: []event.Value{num(1.5)}}, {Line: 2, Time: ts, Features: []event.Value{miss}}},
			wantErrs: []rowErr{
				{Line: 2, Column: "s", Reason: dataset.ReasonTypeMismatch},
				{Line: 3, Column: "t", Reason: event.ReasonInvalidTimestamp, Rejected: true},
				{Line: 4, Column: "t", Reason: event.ReasonInvalidTimestamp, Rejected: true},
			},
		},
		{
			name:       "a file without rows",
			data:       parquetFile(t, []mappedRow{}),
			wantSchema: dataset.Schema{Columns: cols("id", dataset.Categorical, inferred, "ts", dataset.Numeric, inferred, "model", dataset.Categorical, inferred, "pred", dataset.Numeric, inferred, "score", dataset.Numeric, inferred, "label", dataset.Categorical, inferred, "f", dataset.Numeric, inferred)},
		},
		{
			name: "invalid UTF-8 and long strings become missing",
			data: parquetFile(t, []struct {
				S []byte `parquet:"s"`
			}{{S: []byte("ok")}, {S: []byte{0xff}}, {S: []byte("toolong")}}),
			opts:     dataset.Options{Limits: event.Limits{MaxStringLen: 5}},
			wantRows: []snap{feats(1, str("ok")), feats(2, miss), feats(3, miss)},
			wantErrs: []rowErr{{Line: 2, Column: "s", Reason: dataset.ReasonTypeMismatch}, {Line: 3, Column: "s", Reason: dataset.ReasonTypeMismatch}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Format = dataset.Parquet
			got, err := readAll(t, tc.data, tc.opts)
			require.NoError(t, err)
			if tc.wantSchema.Columns != nil {
				require.Equal(t, tc.wantSchema, got.schema)
			}
			require.Equal(t, tc.wantRows, got.rows)
			require.Equal(t, tc.wantErrs, got.errs)
		})
	}
}

func TestParquetRowGroupsAndPages(t *testing.T) {
	type row struct {
		I int64   `parquet:"i"`
		S *string `parquet:"s,optional,dict"`
		F float64 `parquet:"f"`
	}
	const n = 10000
	rows := make([]row, n)
	cats := []string{"a", "b", "c"}
	for i := range rows {
		rows[i] = row{I: int64(i), F: float64(i) / 2}
		if i%7 != 0 {
			rows[i].S = &cats[i%3]
		}
	}
	// Small pages and row groups: values of one row come from pages that
	// do not line up across columns.
	data := parquetFile(t, rows, parquet.MaxRowsPerRowGroup(1500), parquet.PageBufferSize(512))
	r, err := dataset.New(bytes.NewReader([]byte(data)), int64(len(data)), dataset.Options{Format: dataset.Parquet})
	require.NoError(t, err)
	defer r.Close()
	for i := range n {
		row, err := r.Next()
		require.NoError(t, err)
		require.Equal(t, int64(i+1), row.Line)
		f := row.Prediction.Features
		require.Equal(t, num(float64(i)), f[0].Value, "row %d", i)
		if i%7 == 0 {
			require.Equal(t, miss, f[1].Value)
		} else {
			require.Equal(t, str(cats[i%3]), f[1].Value)
		}
		require.Equal(t, num(float64(i)/2), f[2].Value)
	}
	_, err = r.Next()
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, int64(len(data)), r.BytesRead())
}

func TestParquetErrors(t *testing.T) {
	data := parquetFile(t, []typedRow{{Age: 1}})
	for _, tc := range []struct {
		name    string
		opts    dataset.Options
		wantErr string
	}{
		{name: "a list column as a feature", opts: dataset.Options{FeatureColumns: []string{"tags"}}, wantErr: `feature column "tags" cannot be read: it is a group (nested columns are not supported)`},
		{name: "a declared list column", opts: dataset.Options{Types: map[string]dataset.ColumnType{"tags": dataset.Categorical}}, wantErr: `declared column "tags" cannot be read`},
		{name: "a boolean score", opts: dataset.Options{ScoreColumn: "active"}, wantErr: `ScoreColumn "active" has values of type BOOLEAN; want numbers`},
		{name: "a float id", opts: dataset.Options{IDColumn: "ratio"}, wantErr: `IDColumn "ratio" has values of type FLOAT; want strings or integers`},
		{name: "a numeric model", opts: dataset.Options{ModelColumn: "age"}, wantErr: `ModelColumn "age" has values of type INT(32,true); want strings`},
		{name: "a UUID timestamp", opts: dataset.Options{TimestampColumn: "session"}, wantErr: `TimestampColumn "session"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Format = dataset.Parquet
			_, err := dataset.New(bytes.NewReader([]byte(data)), int64(len(data)), tc.opts)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
	t.Run("a truncated file", func(t *testing.T) {
		short := data[:len(data)/2]
		_, err := dataset.New(bytes.NewReader([]byte(short)), int64(len(short)), dataset.Options{Format: dataset.Parquet})
		require.ErrorContains(t, err, "not a readable Parquet file")
	})
}
