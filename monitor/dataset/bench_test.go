package dataset_test

import (
	"bufio"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/internal/cputime"
	"github.com/vigilml/vigil/monitor/dataset"
)

const benchRows = 1_000_000

// benchRow is one generated row: 10 numeric and 10 categorical columns.
type benchRow struct {
	N0 float64 `parquet:"n0"`
	N1 float64 `parquet:"n1"`
	N2 float64 `parquet:"n2"`
	N3 float64 `parquet:"n3"`
	N4 float64 `parquet:"n4"`
	N5 float64 `parquet:"n5"`
	N6 float64 `parquet:"n6"`
	N7 float64 `parquet:"n7"`
	N8 float64 `parquet:"n8"`
	N9 float64 `parquet:"n9"`
	C0 string  `parquet:"c0,dict"`
	C1 string  `parquet:"c1,dict"`
	C2 string  `parquet:"c2,dict"`
	C3 string  `parquet:"c3,dict"`
	C4 string  `parquet:"c4,dict"`
	C5 string  `parquet:"c5,dict"`
	C6 string  `parquet:"c6,dict"`
	C7 string  `parquet:"c7,dict"`
	C8 string  `parquet:"c8,dict"`
	C9 string  `parquet:"c9,dict"`
}

var benchCardinality = [10]int{2, 3, 5, 10, 20, 50, 100, 200, 1000, 5000}

// genBenchRows calls fn with n reproducible rows; the row is reused.
func genBenchRows(n int, fn func(*benchRow)) {
	rng := rand.New(rand.NewPCG(1, 2))
	var r benchRow
	nums := []*float64{&r.N0, &r.N1, &r.N2, &r.N3, &r.N4, &r.N5, &r.N6, &r.N7, &r.N8, &r.N9}
	cats := []*string{&r.C0, &r.C1, &r.C2, &r.C3, &r.C4, &r.C5, &r.C6, &r.C7, &r.C8, &r.C9}
	names := make([][]string, len(cats))
	for k, card := range benchCardinality {
		for v := range card {
			names[k] = append(names[k], "cat_"+strconv.Itoa(k)+"_"+strconv.Itoa(v))
		}
	}
	for range n {
		for k, p := range nums {
			switch k % 3 {
			case 0: // amounts with two decimals
				*p = float64(rng.IntN(1_000_000)) / 100
			case 1: // small integers
				*p = float64(rng.IntN(100))
			default: // full-precision floats
				*p = rng.NormFloat64()
			}
		}
		for k, p := range cats {
			*p = names[k][rng.IntN(len(names[k]))]
		}
		fn(&r)
	}
}

func (r *benchRow) nums() [10]float64 {
	return [10]float64{r.N0, r.N1, r.N2, r.N3, r.N4, r.N5, r.N6, r.N7, r.N8, r.N9}
}

func (r *benchRow) cats() [10]string {
	return [10]string{r.C0, r.C1, r.C2, r.C3, r.C4, r.C5, r.C6, r.C7, r.C8, r.C9}
}

func writeBenchCSV(tb testing.TB, path string, n int) {
	f, err := os.Create(path)
	require.NoError(tb, err)
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("n0,n1,n2,n3,n4,n5,n6,n7,n8,n9,c0,c1,c2,c3,c4,c5,c6,c7,c8,c9\n")
	var b []byte
	genBenchRows(n, func(r *benchRow) {
		b = b[:0]
		for _, x := range r.nums() {
			b = strconv.AppendFloat(b, x, 'g', -1, 64)
			b = append(b, ',')
		}
		for k, s := range r.cats() {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, s...)
		}
		b = append(b, '\n')
		w.Write(b)
	})
	require.NoError(tb, w.Flush())
	require.NoError(tb, f.Close())
}

func writeBenchNDJSON(tb testing.TB, path string, n int) {
	f, err := os.Create(path)
	require.NoError(tb, err)
	w := bufio.NewWriterSize(f, 1<<20)
	var b []byte
	genBenchRows(n, func(r *benchRow) {
		b = append(b[:0], `{"model":"bench","features":{`...)
		for k, x := range r.nums() {
			b = append(b, `"n`...)
			b = strconv.AppendInt(b, int64(k), 10)
			b = append(b, `":`...)
			b = strconv.AppendFloat(b, x, 'g', -1, 64)
			b = append(b, ',')
		}
		for k, s := range r.cats() {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, `"c`...)
			b = strconv.AppendInt(b, int64(k), 10)
			b = append(b, `":"`...)
			b = append(b, s...)
			b = append(b, '"')
		}
		b = append(b, "}}\n"...)
		w.Write(b)
	})
	require.NoError(tb, w.Flush())
	require.NoError(tb, f.Close())
}

func writeBenchParquet(tb testing.TB, path string, n int) {
	f, err := os.Create(path)
	require.NoError(tb, err)
	w := parquet.NewGenericWriter[benchRow](f, parquet.MaxRowsPerRowGroup(128<<10))
	batch := make([]benchRow, 0, 4096)
	genBenchRows(n, func(r *benchRow) {
		if batch = append(batch, *r); len(batch) == cap(batch) {
			_, err := w.Write(batch)
			require.NoError(tb, err)
			batch = batch[:0]
		}
	})
	_, err = w.Write(batch)
	require.NoError(tb, err)
	require.NoError(tb, w.Close())
	require.NoError(tb, f.Close())
}

func benchRead(b *testing.B, path string, format dataset.Format) {
	st, err := os.Stat(path)
	require.NoError(b, err)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	cpu0 := cputime.Process()
	rows := 0
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		r, err := dataset.Open(path, dataset.Options{Format: format})
		require.NoError(b, err)
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		require.Equal(b, benchRows, n)
		require.Zero(b, r.Stats().Rejected)
		_, ok := r.SHA256()
		require.True(b, ok)
		require.NoError(b, r.Close())
		rows += n
	}
	cpu := cputime.Process() - cpu0
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	// CPU time of the whole process (decoding, hashing, GC) per row: a
	// figure that other load on the machine does not distort as much as
	// the elapsed time.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(rows), "cpu-ns/row")
	b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(rows), "allocs/row")
}

// BenchmarkReadCSV reads 1M rows × 20 columns (10 numeric, 10 categorical).
func BenchmarkReadCSV(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.csv")
	writeBenchCSV(b, path, benchRows)
	benchRead(b, path, dataset.CSV)
}

// BenchmarkReadNDJSON reads the same rows as NDJSON prediction objects.
func BenchmarkReadNDJSON(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.ndjson")
	writeBenchNDJSON(b, path, benchRows)
	benchRead(b, path, dataset.NDJSON)
}

// BenchmarkReadParquet reads the same rows from Parquet (dictionary-encoded
// strings, 128 Ki rows per row group).
func BenchmarkReadParquet(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.parquet")
	writeBenchParquet(b, path, benchRows)
	benchRead(b, path, dataset.Parquet)
}
