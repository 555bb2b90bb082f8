package dataset

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/event"
)

// csvRead is everything a Reader tells about a CSV input.
type csvRead struct {
	OpenErr string
	Schema  Schema
	Rows    []csvRow
	Errs    []string // the row errors, in order
	Stats   Stats
	EndErr  string // what ended reading: "" at the end of the file
	Bytes   int64  // BytesRead at the end
	SHA256  [32]byte
}

// csvRow is a row as the Reader returned it. Its strings are kept as
// returned, so that a string still pointing into the read buffer would
// show as a difference once the buffer is reused.
type csvRow struct {
	Line       int64
	Model, ID  string
	Time       time.Time
	Prediction event.Value
	Score      uint64 // bits, so that -0 and 0 differ
	HasScore   bool
	Label      event.Value
	HasLabel   bool
	Features   []event.Value
}

// readCSVWith reads data with the given CSV reader constructor.
func readCSVWith(data []byte, opts Options, open func(*Reader, io.ReaderAt) (source, error)) csvRead {
	var out csvRead
	opts.Format = CSV
	// The row errors of the last call to Next, logged after it: with DeferNumbers, in
	// column order with the type mismatches of the numbers converted here.
	var pending []*RowError
	log := func(e *RowError) {
		out.Errs = append(out.Errs, fmt.Sprintf("%d %q %s %v: %v", e.Line, e.Column, e.Reason, e.Rejected, e.Err))
	}
	opts.OnRowError = func(e *RowError) { pending = append(pending, e) }
	r, err := newReaderCSV("", bytes.NewReader(data), int64(len(data)), opts, open)
	if err != nil {
		out.OpenErr = err.Error()
		return out
	}
	defer r.Close()
	out.Schema = r.Schema()
	colIndex := map[string]int{}
	for i, c := range out.Schema.Columns {
		colIndex[c.Name] = i
	}
	deferred := make([]int64, len(out.Schema.Columns))
	for {
		pending = pending[:0]
		row, err := r.Next()
		if err != nil {
			for _, e := range pending {
				log(e)
			}
			if err != io.EOF {
				out.EndErr = err.Error()
			}
			break
		}
		if !opts.DeferNumbers {
			for _, e := range pending {
				log(e)
			}
		} else {
			if row.RawNumbers == nil {
				panic("no RawNumbers with DeferNumbers")
			}
			ev := 0
			for ev < len(pending) && pending[ev].Rejected {
				log(pending[ev])
				ev++
			}
			for k, b := range row.RawNumbers {
				if b == nil {
					continue
				}
				if row.Prediction.Features[k].Value.Kind != event.Missing {
					panic("a value left to convert is not Missing")
				}
				x, ok := ParseNumber(b)
				if ok {
					setNumber(&row.Prediction.Features[k].Value, x)
					continue
				}
				for ev < len(pending) && colIndex[pending[ev].Column] < k {
					log(pending[ev])
					ev++
				}
				deferred[k]++
				log(NumberMismatch(row.Line, out.Schema.Columns[k].Name, b))
			}
			for _, e := range pending[ev:] {
				log(e)
			}
		}
		p := &row.Prediction
		cr := csvRow{
			Line: row.Line, Model: p.Model, ID: p.ID, Time: p.Time, Prediction: p.Prediction,
			Score: math.Float64bits(p.Score), HasScore: p.HasScore, Label: row.Label, HasLabel: row.HasLabel,
		}
		for _, f := range p.Features {
			v := f.Value
			v.Num = math.Float64frombits(math.Float64bits(v.Num)) // compared by bits below
			cr.Features = append(cr.Features, v)
		}
		out.Rows = append(out.Rows, cr)
	}
	out.Stats = r.Stats()
	for k, n := range deferred {
		out.Stats.Mismatched[k] += n
	}
	out.Bytes = r.BytesRead()
	out.SHA256, _ = r.SHA256()
	return out
}

// requireSameCSVRead reads data with the fast path and with the reference,
// encoding/csv record by record, and requires the same result.
func requireSameCSVRead(t *testing.T, data []byte, opts Options) {
	t.Helper()
	want := readCSVWith(data, opts, openRefCSV)
	requireSameCSVReads(t, want, readCSVWith(data, opts, openCSV))
	// Numbers left to the caller to convert (DeferNumbers) come to the same.
	opts.DeferNumbers = true
	requireSameCSVReads(t, want, readCSVWith(data, opts, openCSV))
}

// requireSameCSVReads requires two reads of a CSV input to be the same.
func requireSameCSVReads(t *testing.T, want, got csvRead) {
	t.Helper()
	require.Equal(t, want.OpenErr, got.OpenErr)
	require.Equal(t, want.Schema, got.Schema)
	require.Equal(t, want.EndErr, got.EndErr)
	require.Equal(t, want.Errs, got.Errs)
	require.Equal(t, len(want.Rows), len(got.Rows))
	for i := range want.Rows {
		w, g := want.Rows[i], got.Rows[i]
		require.Equal(t, w, g, "row %d", i)
		for k := range w.Features {
			require.Equal(t, math.Float64bits(w.Features[k].Num), math.Float64bits(g.Features[k].Num), "row %d, feature %d", i, k)
		}
		require.Equal(t, math.Float64bits(w.Prediction.Num), math.Float64bits(g.Prediction.Num))
		require.Equal(t, math.Float64bits(w.Label.Num), math.Float64bits(g.Label.Num))
	}
	require.Equal(t, want.Stats, got.Stats)
	require.Equal(t, want.Bytes, got.Bytes)
	require.Equal(t, want.SHA256, got.SHA256)
}

// fastPathOptions derives options from a fuzzed byte: mapped columns, declared types,
// custom null values, and a record size limit from tiny to over the read buffer.
func fastPathOptions(mode uint8) Options {
	o := Options{InferRows: 1 + int(mode&3), Limits: event.Limits{MaxStringLen: 64, MaxFeatures: 32}}
	o.MaxRecordBytes = []int{0, 16, 4 << 10, 70 << 10}[mode>>6]
	if mode&4 != 0 {
		o.IDColumn, o.TimestampColumn, o.ScoreColumn, o.PredictionColumn = "id", "ts", "score", "pred"
	}
	if mode&8 != 0 {
		o.LabelColumn, o.ModelColumn, o.Model = "label", "model", "m"
	}
	if mode&16 != 0 {
		o.Types = map[string]ColumnType{"a": Numeric, "b": Categorical}
	}
	if mode&32 != 0 {
		o.NullValues = []string{"-", " ", "NA"}
	}
	return o
}

// FuzzCSVFastPath: the fast path reads every input exactly as encoding/csv
// record by record did (the reference in csvref_test.go): the same rows,
// values, row errors and line numbers, the same fatal errors. The input is
// read as it is and repeated past the 64 KiB read buffer, so that records
// cross the buffer's end and the record size limit meets the buffer's reads.
func FuzzCSVFastPath(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,x\n2,y\n",
		"a,b\r\n1,x\r\n\r\n\n2,y\r\n3,z",
		"id,ts,score,pred,label,model,a,b\nr1,2026-11-24T10:00:00Z,0.5,1,0,m,1.5,x\nr2,1795514400,,cat,,,NA,\n",
		"\xEF\xBB\xBFa,b\r\n\"1\",\"x,\r\ny\"\r\n3\r\n4,z\n",
		"a,b\n1,x\"y\n\"unterminated\n5,q\n",
		"a,,b\n1e400,inf,NaN\n-0,0x1p-2,1_0\n 7 ,\xff\xfe,-\n",
		"a,b\n1,\"x\"\"y\"\n2,\"a\nb\"c\n3,\r\r\n4,\"\n",
		"a\n\n\n1\n\"2\n\n3\"\n4\n",
	} {
		for _, mode := range []uint8{0, 4, 8 | 16, 32 | 4, 64 | 8, 128 | 16, 192 | 32} {
			f.Add([]byte(s), mode)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		opts := fastPathOptions(mode)
		requireSameCSVRead(t, data, opts)
		if len(data) > 0 {
			requireSameCSVRead(t, bytes.Repeat(data, 1+(150<<10)/len(data)), opts)
		}
	})
}

// TestCSVFastPathMatchesReference reads generated files of a few hundred
// KiB, with every kind of record the fast path hands to encoding/csv, both
// ways.
func TestCSVFastPathMatchesReference(t *testing.T) {
	cells := []string{
		"1", "-2.5", "3.14159", "1e5", " 4 ", "0x10", "NaN", "NA", "", "cat", "dog", "é", "\xff",
		`"q"`, `"a,b"`, `"two` + "\n" + `lines"`, `"cr` + "\r\n" + `lf"`, `bare"quote`, `"open`, "\r",
		strings.Repeat("x", 100), strings.Repeat("9", 30),
	}
	ends := []string{"\n", "\r\n", "\n\n", "\r\n\r\n"}
	for _, tc := range []struct {
		name  string
		seed  uint64
		quote int // one cell in quote of them may be quoted or broken
		opts  Options
	}{
		{"unquoted", 1, 0, Options{}},
		{"some quotes", 2, 50, Options{}},
		{"many quotes", 3, 3, Options{}},
		{"mapped columns", 4, 20, Options{ScoreColumn: "c2", PredictionColumn: "c3", LabelColumn: "c4", IDColumn: "c5", ModelColumn: "c6"}},
		{"small record limit", 5, 10, Options{MaxRecordBytes: 300}},
		{"record limit near the buffer", 6, 10, Options{MaxRecordBytes: 60 << 10}},
		{"declared types", 7, 10, Options{Types: map[string]ColumnType{"c0": Numeric, "c1": Categorical, "c7": Numeric}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(tc.seed, 9))
			var b strings.Builder
			for i := range 8 {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("c" + strconv.Itoa(i))
			}
			b.WriteString("\n")
			for b.Len() < 400<<10 {
				n := 8
				if r.IntN(200) == 0 {
					n = r.IntN(10) // a wrong field count
				}
				for i := range n {
					if i > 0 {
						b.WriteByte(',')
					}
					c := cells[r.IntN(len(cells))]
					if strings.Contains(c, `"`) && (tc.quote == 0 || r.IntN(tc.quote) != 0) {
						c = strconv.FormatFloat(r.NormFloat64(), 'f', r.IntN(8), 64)
					}
					if r.IntN(500) == 0 {
						c = strings.Repeat("long", 300+r.IntN(20000))
					}
					b.WriteString(c)
				}
				b.WriteString(ends[r.IntN(len(ends))])
			}
			data := []byte(b.String())
			requireSameCSVRead(t, data, tc.opts)
			requireSameCSVRead(t, data[:len(data)-1], tc.opts) // no line break at the end
			requireSameCSVRead(t, append([]byte("\xEF\xBB\xBF"), data...), tc.opts)
		})
	}
}

// TestCSVFastPathAllocations: a row of numbers and repeated categories
// allocates nothing once its categories are interned.
func TestCSVFastPathAllocations(t *testing.T) {
	var b strings.Builder
	b.WriteString("a,b,c,d,score\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "%d.25,cat%d,-%d,x%d,0.%d\n", i, i%20, i%7, i%3, i%10)
	}
	data := []byte(b.String())
	r, err := newReaderCSV("", bytes.NewReader(data), int64(len(data)), Options{Format: CSV, ScoreColumn: "score"}, openCSV)
	require.NoError(t, err)
	defer r.Close()
	for range 2000 {
		_, err := r.Next()
		require.NoError(t, err)
	}
	allocs := testing.AllocsPerRun(10000, func() {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}
