package dataset_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"io"
	"math"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/dataset"
	"github.com/vigilml/vigil/monitor/event"
)

// fuzzMaxRecord is small so that fuzzing reaches the record size limit.
const fuzzMaxRecord = 1 << 12

// fuzzOptions derives options from a fuzzed byte: mapped columns (named as
// in the seeds) and declared types.
func fuzzOptions(format dataset.Format, mode uint8) dataset.Options {
	o := dataset.Options{Format: format, InferRows: 1 + int(mode&3), MaxRecordBytes: fuzzMaxRecord, Limits: event.Limits{MaxStringLen: 64, MaxFeatures: 32}}
	if mode&4 != 0 && format != dataset.NDJSON {
		o.IDColumn, o.TimestampColumn, o.ScoreColumn, o.PredictionColumn = "id", "ts", "score", "pred"
	}
	if mode&8 != 0 {
		o.LabelColumn = "label"
	}
	if mode&16 != 0 {
		o.Types = map[string]dataset.ColumnType{"a": dataset.Numeric, "b": dataset.Categorical}
	}
	if mode&32 != 0 {
		o.Model = "m"
	}
	return o
}

// drain reads every row, checking what holds for all of them, and returns
// the number of rows and the error that ended reading (nil at io.EOF).
func drain(t *testing.T, r *dataset.Reader, data []byte) (rows int64, err error) {
	schema := r.Schema()
	line := int64(0)
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			_, ok := r.SHA256()
			require.False(t, ok)
			return rows, err
		}
		rows++
		require.Greater(t, row.Line, line, "lines increase")
		line = row.Line
		require.Len(t, row.Prediction.Features, len(schema.Columns))
		for i, f := range row.Prediction.Features {
			require.Equal(t, schema.Columns[i].Name, f.Name)
			checkValue(t, f.Value)
			if schema.Columns[i].Type == dataset.Numeric {
				require.Contains(t, []event.Kind{event.Missing, event.Number}, f.Value.Kind, "a numeric column holds numbers")
			}
		}
		checkValue(t, row.Prediction.Prediction)
		checkValue(t, row.Label)
		require.Equal(t, row.HasLabel, row.Label.Kind != event.Missing)
		if row.Prediction.HasScore {
			require.True(t, row.Prediction.Score >= 0 && row.Prediction.Score <= 1, "score %v", row.Prediction.Score)
		}
		require.True(t, row.Prediction.Time.IsZero() || row.Prediction.Time.Location() == time.UTC)
	}
	sum, ok := r.SHA256()
	require.True(t, ok)
	require.Equal(t, sha256.Sum256(data), sum)
	st := r.Stats()
	require.Equal(t, rows, st.Rows)
	return rows, nil
}

func checkValue(t *testing.T, v event.Value) {
	switch v.Kind {
	case event.Missing:
		require.Zero(t, v.Num)
		require.Empty(t, v.Str)
	case event.Number:
		require.False(t, math.IsNaN(v.Num) || math.IsInf(v.Num, 0), "number %v", v.Num)
	case event.Bool:
		require.True(t, v.Num == 0 || v.Num == 1)
	case event.String:
		require.True(t, utf8.ValidString(v.Str), "string %q", v.Str)
		require.LessOrEqual(t, len(v.Str), 64)
	default:
		t.Fatalf("kind %v", v.Kind)
	}
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,x\n2,y\n",
		"id,ts,score,pred,label,a,b\nr1,2026-11-24T10:00:00Z,0.5,1,0,1.5,x\nr2,1795514400,,cat,,NA,\n",
		"\xEF\xBB\xBFa,b\r\n\"1\",\"x,\r\ny\"\r\n3\r\n",
		"a,b\n1,x\"y\n\"unterminated\n",
		"a,,b\n1e400,inf,NaN\n-0,0x1p-2,1_0\n",
	} {
		for _, mode := range []uint8{0, 4, 8 | 16, 32 | 4} {
			f.Add([]byte(s), mode)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		r, err := dataset.New(bytes.NewReader(data), int64(len(data)), fuzzOptions(dataset.CSV, mode))
		if err != nil {
			return
		}
		defer r.Close()
		if _, err := drain(t, r, data); err != nil {
			require.ErrorContains(t, err, "MaxRecordBytes")
			return
		}
		// Every record after the header is returned or rejected.
		body := bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
		cr := csv.NewReader(bytes.NewReader(body))
		cr.FieldsPerRecord = -1
		records := int64(-1) // the header
		for {
			if _, err := cr.Read(); err == io.EOF {
				break
			}
			records++
		}
		st := r.Stats()
		require.Equal(t, records, st.Rows+st.Rejected)
	})
}

func FuzzNDJSON(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","id":"r1","timestamp":"2026-11-24T10:00:00Z","features":{"a":1.5,"b":"x","c":null,"label":1},"prediction":1,"score":0.8}` + "\n",
		`{"model":"m","features":{"a":1}}` + "\r\n\n" + `{"features":{"a":"x","b":true}}` + "\n" + `{"model":"n"}`,
		"nope\n[1]\n{}\n",
		`{"model":"m","features":{"a":1e400}}` + "\n",
	} {
		for _, mode := range []uint8{0, 8, 16, 32 | 1} {
			f.Add([]byte(s), mode)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		r, err := dataset.New(bytes.NewReader(data), int64(len(data)), fuzzOptions(dataset.NDJSON, mode))
		if err != nil {
			return
		}
		defer r.Close()
		_, err = drain(t, r, data)
		require.NoError(t, err, "only I/O errors end reading NDJSON")
		// Every non-blank line (and every line over the limit) is
		// returned or rejected.
		var lines int64
		for len(data) > 0 {
			line := data
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				line, data = data[:i], data[i+1:]
			} else {
				data = nil
			}
			if len(line) > fuzzMaxRecord || len(bytes.Trim(line, " \t\r")) > 0 {
				lines++
			}
		}
		st := r.Stats()
		require.Equal(t, lines, st.Rows+st.Rejected)
	})
}

func FuzzParquet(f *testing.F) {
	f.Add([]byte(parquetFile(f, []typedRow{{Amount: ptr(1.5), Age: 3, Country: ptr("DE")}, {Active: ptr(true)}})), uint8(0))
	f.Add([]byte(parquetFile(f, []mappedRow{{ID: "r1", Model: "m", Score: ptr(0.5), Label: ptr(true), F: 1}, {ID: "r2", Model: "n", Score: ptr(2.0)}})), uint8(4|8|32))
	type ab struct {
		A *string `parquet:"a,optional,dict"`
		B *int64  `parquet:"b,optional"`
	}
	f.Add([]byte(parquetFile(f, []ab{{A: ptr("1.5"), B: ptr(int64(2))}, {A: ptr("x")}, {}, {B: ptr(int64(-1))}}, parquet.MaxRowsPerRowGroup(2), parquet.PageBufferSize(16))), uint8(16))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		r, err := dataset.New(bytes.NewReader(data), int64(len(data)), fuzzOptions(dataset.Parquet, mode))
		if err != nil {
			return
		}
		defer r.Close()
		if _, err := drain(t, r, data); err != nil {
			return // a corrupt page: an error, not a panic
		}
		pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		require.NoError(t, err)
		var rows int64
		for _, g := range pf.RowGroups() {
			rows += g.NumRows()
		}
		st := r.Stats()
		require.Equal(t, rows, st.Rows+st.Rejected, "every row is returned or rejected")
	})
}
