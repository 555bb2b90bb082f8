package sketch

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/drift"
)

// maxBytesPerFeature is the memory budget of one feature's window.
const maxBytesPerFeature = 32 << 10

// heapPer returns the live heap bytes per object that build makes, over
// count objects.
func heapPer(count int, build func() any) int {
	keep := make([]any, count)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range keep {
		keep[i] = build()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return int(after.HeapAlloc-before.HeapAlloc) / count
}

// TestMemory measures the bytes per feature per window, in memory and
// encoded, and fails when a summary exceeds 32 KiB: for typical data of 1k
// to 1M values, and for data chosen to make the stores as large as
// possible (values over every decade, added in the order that grows the
// stores most often). VIGIL_SKETCH_TABLE=1 prints the sizes.
func TestMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation sizes")
	}
	normal := func(n int) []float64 {
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		x := make([]float64, n)
		for i := range x {
			x[i] = 50 + 10*rng.NormFloat64()
		}
		return x
	}
	everyDecade := func(up bool) []float64 {
		var x []float64
		for k := range 40_000 {
			e := float64(k) * 0.02
			if !up {
				e = -e
			}
			x = append(x, math.Exp(e-300), -math.Exp(e-300))
		}
		return x
	}
	ref := drift.NewSample(normal(10_000))
	cases := []struct {
		name   string
		opts   NumericOptions
		values []float64
	}{
		{"normal 1k", ReferenceOptions(ref.Bins()), normal(1_000)},
		{"normal 100k", ReferenceOptions(ref.Bins()), normal(100_000)},
		{"normal 1M", ReferenceOptions(ref.Bins()), normal(1_000_000)},
		{"every decade, ascending, Scale 0", NumericOptions{}, everyDecade(true)},
		{"every decade, descending, Scale 0", NumericOptions{}, everyDecade(false)},
		{"every decade, ReferenceOptions", ReferenceOptions(ref.Bins()), everyDecade(true)},
	}
	var table strings.Builder
	for _, tc := range cases {
		if testing.Short() && len(tc.values) > 100_000 {
			continue
		}
		const count = 8
		var enc []byte
		mem := heapPer(count, func() any {
			s := build(t, tc.opts, tc.values)
			enc, _ = s.MarshalBinary()
			return s
		})
		fmt.Fprintf(&table, "| %s | %d | %d | %d |\n", tc.name, len(tc.values), mem, len(enc))
		require.LessOrEqual(t, mem, maxBytesPerFeature, tc.name)
		require.LessOrEqual(t, len(enc), maxBytesPerFeature, tc.name)
	}

	// Categorical: the default limit of categories, with 16- and 32-byte
	// keys (more are offered: the rest overflow).
	for _, size := range []int{16, 32} {
		keys := make([]string, DefaultMaxCategories+100)
		for i := range keys {
			keys[i] = fmt.Sprintf("%0*d", size, i)
		}
		var enc []byte
		mem := heapPer(8, func() any {
			c := NewCategorical(0)
			for _, k := range keys {
				c.Add(strings.Clone(k))
			}
			enc, _ = c.MarshalBinary()
			return c
		})
		fmt.Fprintf(&table, "| categorical, %d distinct values of %d bytes | %d | %d | %d |\n",
			len(keys), size, len(keys), mem, len(enc))
		require.LessOrEqual(t, mem, maxBytesPerFeature)
	}
	if testingTable() {
		t.Logf("bytes per summary:\n%s", table.String())
	}
}
