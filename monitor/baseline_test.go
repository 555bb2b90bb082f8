package monitor

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/internal/cputime"
	"github.com/vigilml/vigil/monitor/dataset"
	"github.com/vigilml/vigil/monitor/profile"
)

func TestBuildProfileFromCSV(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(51, 52))
	var csv strings.Builder
	csv.WriteString("amount,country,age,score\n")
	var amounts []float64
	for i := range 3000 {
		a := r.NormFloat64()*10 + 100
		age := fmt.Sprint(r.IntN(60) + 18)
		if i%100 == 0 {
			age = "unknown" // a string in a numeric column: a type mismatch, kept as missing
		}
		amounts = append(amounts, a)
		fmt.Fprintf(&csv, "%g,%s,%s,%g\n", a, []string{"DE", "FR"}[i%2], age, r.Float64())
	}
	input := filepath.Join(dir, "train.csv")
	require.NoError(t, os.WriteFile(input, []byte(csv.String()), 0o600))
	cfgText := `
models:
  - name: fraud
    task: binary_classification
    features:
      - {name: amount, type: numeric, drift: {threshold: auto}}
      - {name: country, type: categorical}
      - {name: age, type: numeric}
    reference: {profile: fraud.json}
`
	// The config refers to the profile it is about to describe, so load the model from a
	// copy without the reference first, as vigil baseline does with --config.file.
	cfg, err := Load([]byte(strings.Replace(cfgText, "    reference: {profile: fraud.json}\n", "", 1)))
	require.NoError(t, err)
	p, err := BuildProfile(BaselineOptions{Model: cfg.Model("fraud"), Input: input, ScoreColumn: "score", Now: func() time.Time { return time.Unix(0, 0) }})
	require.NoError(t, err)

	require.Equal(t, int64(3000), p.Source.Rows)
	require.Len(t, p.Source.SHA256, 64)
	amount := p.Feature("amount")
	require.Equal(t, profile.Numeric, amount.Type)
	require.True(t, amount.SampleExact)
	require.Equal(t, amounts, amount.Sample)
	require.Contains(t, amount.Thresholds, MethodWasserstein, "auto learnt with the default method for 3000 values")
	age := p.Feature("age")
	require.Equal(t, int64(30), age.TypeMismatches)
	require.Equal(t, int64(30), age.Missing)
	require.Equal(t, map[string]int64{"DE": 1500, "FR": 1500}, p.Feature("country").Categories)
	require.Equal(t, int64(3000), p.Prediction.Count)

	// The learnt limit equals the monitor's own learning on the same values.
	fd := &featureData{name: "amount", typ: Numeric, refNum: amounts}
	want := (&modelState{cfg: *cfg.Model("fraud")}).learnThreshold(fd, MethodWasserstein)
	require.Equal(t, want, amount.Thresholds[MethodWasserstein])

	// The profile loads as the model's reference.
	require.NoError(t, profile.WriteFile(filepath.Join(dir, "fraud.json"), p))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vigil.yaml"), []byte(cfgText), 0o600))
	_, err = LoadFile(filepath.Join(dir, "vigil.yaml"))
	require.NoError(t, err)
}

func TestBuildProfileErrors(t *testing.T) {
	_, err := BuildProfile(BaselineOptions{ModelName: "m", Input: filepath.Join(t.TempDir(), "x.txt")})
	require.ErrorContains(t, err, ".txt")
	_, err = BuildProfile(BaselineOptions{Input: "x.csv"})
	require.ErrorContains(t, err, "no model name")
	empty := filepath.Join(t.TempDir(), "e.csv")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	_, err = BuildProfile(BaselineOptions{ModelName: "m", Input: empty})
	require.ErrorContains(t, err, "empty")
}

// BenchmarkBuildProfile profiles a CSV of 20 columns (10 numeric, 10 categorical, and a
// score), the layout of `go run bench/gencsv.go`: the file VIGIL_BENCH_CSV names, or
// without it 200,000 rows written to a temporary file, so that `make bench` covers it.
func BenchmarkBuildProfile(b *testing.B) {
	path := os.Getenv("VIGIL_BENCH_CSV")
	if path == "" {
		path = filepath.Join(b.TempDir(), "train.csv")
		writeBenchCSV(b, path, 200000)
	}
	var rows int64
	cpu0 := cputime.Process()
	for b.Loop() {
		p, err := BuildProfile(BaselineOptions{ModelName: "m", Input: path, ScoreColumn: "score"})
		if err != nil {
			b.Fatal(err)
		}
		rows = p.Source.Rows
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64((cputime.Process()-cpu0).Nanoseconds())/float64(rows*int64(b.N)), "cpu-ns/row")
}

// writeBenchCSV writes rows in bench/gencsv.go's layout.
func writeBenchCSV(b *testing.B, path string, rows int) {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	var buf []byte
	for i := range 10 {
		buf = fmt.Appendf(buf, "n%d,c%d,", i, i)
	}
	buf = append(buf, "score\n"...)
	for range rows {
		for i := range 10 {
			buf = strconv.AppendFloat(buf, r.NormFloat64()*10+float64(i), 'f', 4, 64)
			buf = append(buf, ",cat"...)
			buf = strconv.AppendInt(buf, int64(r.IntN(20)), 10)
			buf = append(buf, ',')
		}
		buf = strconv.AppendFloat(buf, r.Float64(), 'f', 4, 64)
		buf = append(buf, '\n')
	}
	if err := os.WriteFile(path, buf, 0o600); err != nil {
		b.Fatal(err)
	}
}

// TestBuildProfileFatalErrorMidFile: an error that ends the read after several batches
// have been handed to the profile (a quote left open) ends the command with that error,
// and the rows before it are counted in no profile.
func TestBuildProfileFatalErrorMidFile(t *testing.T) {
	var csv strings.Builder
	csv.WriteString("x,c\n")
	for i := range 3*baselineBatchRows + 17 {
		fmt.Fprintf(&csv, "%d,c%d\n", i, i%3)
	}
	csv.WriteString("1,\"open quote\n")
	csv.WriteString(strings.Repeat("y", 5<<20))
	path := filepath.Join(t.TempDir(), "broken.csv")
	require.NoError(t, os.WriteFile(path, []byte(csv.String()), 0o600))
	p, err := BuildProfile(BaselineOptions{ModelName: "m", Input: path})
	require.ErrorContains(t, err, "is a quote left open?")
	require.ErrorContains(t, err, "broken.csv")
	require.Nil(t, p)

	// The same rows without the broken tail: every one of them is in the profile.
	good := csv.String()[:strings.Index(csv.String(), "1,\"open")]
	require.NoError(t, os.WriteFile(path, []byte(good), 0o600))
	p, err = BuildProfile(BaselineOptions{ModelName: "m", Input: path})
	require.NoError(t, err)
	require.EqualValues(t, 3*baselineBatchRows+17, p.Source.Rows)
	require.EqualValues(t, 3*baselineBatchRows+17, p.Features[0].Count)
}

// TestBuildProfileSameForAnyWorkers: the profile accumulated in batches on one or several
// goroutines is byte for byte the one accumulated row by row (workers = 0: every feature
// in column order, then the prediction, one row after the other). The sample is small so
// that the reservoirs draw from their shared random source, whose order across features
// and the prediction decides them.
func TestBuildProfileSameForAnyWorkers(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(7, 8))
	var csv strings.Builder
	csv.WriteString("n0,c0,n1,c1,c2,n2,n3,c3,pred,score\n")
	for i := range 3*baselineBatchRows + 123 {
		for k := range 4 {
			switch x := r.IntN(50); {
			case x == 0:
				csv.WriteString("NA,")
			case x == 1 && i > 1000:
				csv.WriteString("oops,") // a type mismatch, after the rows types are inferred from
			default:
				csv.WriteString(strconv.FormatFloat(r.NormFloat64()*float64(k+1), 'f', 3, 64) + ",")
			}
			if r.IntN(40) == 0 {
				csv.WriteString(",")
			} else {
				fmt.Fprintf(&csv, "c%d,", r.IntN(5+k*7))
			}
		}
		fmt.Fprintf(&csv, "class%d,%g\n", i%3, r.Float64())
	}
	input := filepath.Join(dir, "train.csv")
	require.NoError(t, os.WriteFile(input, []byte(csv.String()), 0o600))
	cfg, err := Load([]byte(`
models:
  - name: m
    task: multiclass_classification
    features:
      - {name: n0, type: numeric}
      - {name: c0, type: categorical}
      - {name: n1, type: numeric}
      - {name: c1, type: categorical}
      - {name: c2, type: categorical}
      - {name: n2, type: numeric}
      - {name: n3, type: numeric}
      - {name: c3, type: categorical}
`))
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		opts BaselineOptions
	}{
		{"inferred types, numeric score", BaselineOptions{ModelName: "m", ScoreColumn: "score", SampleSize: 500}},
		{"declared types, predicted class", BaselineOptions{Model: cfg.Model("m"), PredictionColumn: "pred", SampleSize: 300}},
		{"declared types, numeric score", BaselineOptions{Model: cfg.Model("m"), ScoreColumn: "score", SampleSize: 400}},
		{"every value in the sample", BaselineOptions{ModelName: "m", ScoreColumn: "score"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			build := func(workers int) []byte {
				opts := tc.opts
				opts.Input, opts.Now = input, func() time.Time { return time.Unix(0, 0) }
				p, err := buildProfile(opts, workers)
				require.NoError(t, err)
				var b strings.Builder
				require.NoError(t, profile.Write(&b, p))
				return []byte(b.String())
			}
			want := build(0)
			for _, workers := range []int{1, 2, 3, 8} {
				require.Equal(t, string(want), string(build(workers)), "%d workers", workers)
			}
		})
	}
}

// TestBuildProfileSameLogForAnyWorkers: the row problems are logged in file order, the
// first maxLoggedRowErrors of them, whether the numbers are converted by the reader
// (workers = 0) or after it by the numeric group: rejected rows, and the type mismatches
// of a row in column order, numeric ones among categorical ones, across batches.
func TestBuildProfileSameLogForAnyWorkers(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Load([]byte(`
models:
  - name: m
    task: binary_classification
    features:
      - {name: n0, type: numeric}
      - {name: c0, type: categorical}
      - {name: n1, type: numeric}
      - {name: c1, type: categorical}
`))
	require.NoError(t, err)
	for _, tc := range []struct {
		name     string
		problems map[int]string // row index → the row, which has problems
	}{
		{"few", map[int]string{
			3:    "1.5,\xff,x1,\xfe,0.5",
			10:   "1,a,2,b",
			2046: "1,a,0x1p-2,b,0.5",
			2047: "1e999,a,2,\xff,0.5",
			2048: "1,a,2,b,2",
			2049: "z,a,z,b,0.5",
		}},
		{"more than logged", func() map[int]string {
			m := map[int]string{}
			for i := range 30 {
				m[100+i*150] = []string{"q,\xff,w,\xfe,0.5", "1,a,2", "1,\xff,-,b,0.5", "NA,a,  3  ,b,oops"}[i%4]
			}
			return m
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var csv strings.Builder
			csv.WriteString("n0,c0,n1,c1,score\n")
			r := rand.New(rand.NewPCG(1, 2))
			for i := range 2*baselineBatchRows + 100 {
				if row, ok := tc.problems[i]; ok {
					csv.WriteString(row + "\n")
					continue
				}
				fmt.Fprintf(&csv, "%.3f,c%d,%.2f,d%d,%.3f\n", r.NormFloat64(), r.IntN(5), r.NormFloat64(), r.IntN(3), r.Float64())
			}
			csv.WriteString("1,2,3\n") // rejected after the last row
			input := filepath.Join(dir, tc.name+".csv")
			require.NoError(t, os.WriteFile(input, []byte(csv.String()), 0o600))
			build := func(workers int) (string, string) {
				return buildLogged(t, BaselineOptions{Model: cfg.Model("m"), Input: input, ScoreColumn: "score"}, workers)
			}
			wantLog, wantProfile := build(0)
			require.Contains(t, wantLog, "is not a number")
			for _, workers := range []int{1, 2, 3} {
				gotLog, gotProfile := build(workers)
				require.Equal(t, wantLog, gotLog, "%d workers", workers)
				require.Equal(t, wantProfile, gotProfile, "%d workers", workers)
			}
		})
	}
}

// TestBaselineBatchTextBounded: a column declared numeric that holds long texts (here
// 40 KB each) makes batches end early, so that the texts the batches in flight hold stay
// near maxArena each, not 2,048 rows of them.
func TestBaselineBatchTextBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "long.csv")
	var csv strings.Builder
	csv.WriteString("x,c\n")
	for range 1001 {
		csv.WriteString("1.5,a\n")
	}
	long := strings.Repeat("x", 40<<10)
	for range 600 {
		csv.WriteString(long + ",b\n")
	}
	require.NoError(t, os.WriteFile(path, []byte(csv.String()), 0o600))
	r, err := dataset.Open(path, dataset.Options{DeferNumbers: true, Types: map[string]dataset.ColumnType{"x": dataset.Numeric, "c": dataset.Categorical}})
	require.NoError(t, err)
	defer r.Close()
	var rows, most, largest int
	onRowError := func(*dataset.RowError) {}
	layout := newBatchLayout([]bool{true, false})
	require.NoError(t, readBatches(r, layout, []func(*baselineBatch){func(bt *baselineBatch) {
		rows += len(bt.preds)
		most = max(most, len(bt.arena))
		largest = max(largest, cap(bt.arena))
	}}, &onRowError))
	require.Equal(t, 1601, rows)
	// Stated in bytes, not from maxArena, so that raising it past what the test allows fails.
	require.Less(t, most, 8<<20+41<<10, "a batch ends once its texts pass 8 MiB")
	require.LessOrEqual(t, largest, 16<<20)
}

// TestBuildProfileSameLogForAnyWorkersNDJSON: NDJSON is read without DeferNumbers; its row
// problems (a line that is not JSON, values of the wrong type) travel in the batches too,
// and are logged as one goroutine logs them, across batch boundaries.
func TestBuildProfileSameLogForAnyWorkersNDJSON(t *testing.T) {
	cfg, err := Load([]byte(`
models:
  - name: m
    task: binary_classification
    features:
      - {name: n0, type: numeric}
      - {name: c0, type: categorical}
`))
	require.NoError(t, err)
	problems := map[int]string{
		3:    `{"features":{"n0":"x","c0":7},"score":0.5}`,
		10:   `not json`,
		2047: `{"features":{"n0":1,"c0":"a"},"score":"high"}`,
		2048: `{"features":{"n0":true,"c0":"a"},"score":0.5}`,
		2049: `{"features":`,
	}
	var nd strings.Builder
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 2*baselineBatchRows + 100 {
		if row, ok := problems[i]; ok {
			nd.WriteString(row + "\n")
			continue
		}
		fmt.Fprintf(&nd, `{"features":{"n0":%.3f,"c0":"c%d"},"score":%.3f}`+"\n", r.NormFloat64(), r.IntN(5), r.Float64())
	}
	input := filepath.Join(t.TempDir(), "train.ndjson")
	require.NoError(t, os.WriteFile(input, []byte(nd.String()), 0o600))
	build := func(workers int) (string, string) {
		return buildLogged(t, BaselineOptions{Model: cfg.Model("m"), Input: input}, workers)
	}
	wantLog, wantProfile := build(0)
	// A number is a category's name and true is 1, as in events: four problems.
	require.Equal(t, 4, strings.Count(wantLog, "row problem"), wantLog)
	for _, workers := range []int{1, 2, 3} {
		gotLog, gotProfile := build(workers)
		require.Equal(t, wantLog, gotLog, "%d workers", workers)
		require.Equal(t, wantProfile, gotProfile, "%d workers", workers)
	}
}

// buildLogged builds the profile opts asks for with workers goroutines, at a fixed time,
// and returns what it logged (without times) and the profile as written.
func buildLogged(t *testing.T, opts BaselineOptions, workers int) (log, written string) {
	t.Helper()
	var lb strings.Builder
	opts.Logger = slog.New(slog.NewTextHandler(&lb, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	opts.Now = func() time.Time { return time.Unix(0, 0) }
	p, err := buildProfile(opts, workers)
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, profile.Write(&b, p))
	return lb.String(), b.String()
}
