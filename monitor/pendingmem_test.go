package monitor

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"
)

// pendingIDForms are id shapes clients send: a short counter ("req-1234567", 11 bytes)
// and a UUID (36 bytes).
var pendingIDForms = []struct {
	name string
	id   func(buf []byte, i int) []byte
}{
	{"id=11B", func(buf []byte, i int) []byte { return fmt.Appendf(buf[:0], "req-%07d", i) }},
	{"id=36B", func(buf []byte, i int) []byte {
		return fmt.Appendf(buf[:0], "%08x-%04x-4%03x-8%03x-%012x", i, i&0xffff, i&0xfff, (i>>12)&0xfff, uint64(i)*0x9e3779b97f4a7c15>>16)
	}},
}

// pendingBytesPerEntry fills a pending set of capacity n with n records of distinct ids
// (each id made into a string from a reused buffer, as the decoder hands it over) and
// returns the heap it holds per record: nodes, index, id bytes and slack, after GC.
func pendingBytesPerEntry[T any](n int, id func([]byte, int) []byte, v T) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := newPendingSet[T](n)
	var buf []byte
	for i := range n {
		buf = id(buf, i)
		s.add(string(buf), int64(i), v)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// BenchmarkPendingMemory reports the heap a pending set holds per waiting record
// (B/entry) at the default labels.max_pending of 100,000: a prediction waiting for its
// label (pendingPred) and a label waiting for its prediction (pendingLabel).
func BenchmarkPendingMemory(b *testing.B) {
	const n = DefaultMaxPendingLabels
	for _, f := range pendingIDForms {
		b.Run("pred/"+f.name, func(b *testing.B) {
			var per float64
			for b.Loop() {
				per = pendingBytesPerEntry(n, f.id, pendingPred{})
			}
			b.ReportMetric(per, "B/entry")
		})
		b.Run("label/"+f.name, func(b *testing.B) {
			var per float64
			for b.Loop() {
				per = pendingBytesPerEntry(n, f.id, pendingLabel{})
			}
			b.ReportMetric(per, "B/entry")
		})
	}
}

// fullPendingSet returns a pending set of the default capacity (100,000), full of
// records with ids of the given form, and 2^18 further ids of that form, none of them in
// the set.
func fullPendingSet(form func(buf []byte, i int) []byte) (s *pendingSet[pendingPred], ids []string, n int) {
	n = 100000
	s = newPendingSet[pendingPred](n)
	var buf []byte
	for i := range n {
		buf = form(buf, i)
		s.add(string(buf), int64(i), pendingPred{})
	}
	ids = make([]string, 1<<18)
	for i := range ids {
		ids[i] = string(form(nil, n+i))
	}
	return s, ids, n
}

// BenchmarkPendingEvict adds predictions of distinct ids to a full pending set of the
// default capacity (100,000), so that each add evicts the oldest: the label join of a
// model whose labels come late, or not at all, at full traffic. ns/op is per add.
func BenchmarkPendingEvict(b *testing.B) {
	for _, form := range pendingIDForms {
		b.Run(form.name, func(b *testing.B) {
			s, ids, n := fullPendingSet(form.id)
			i := 0
			for b.Loop() {
				// Ids come back after 262,144 adds, long evicted: each add is a new id.
				s.add(ids[i&(len(ids)-1)], int64(n+i), pendingPred{})
				i++
			}
		})
	}
}

// BenchmarkPendingEvictBatch adds ids to a full set of 100,000 in batches of 1,000, as one
// ingest request of predictions whose labels never come does, and reports the median and
// the 99th percentile of a batch's time: the arena's compaction lands in a few batches
// and sets the tail.
func BenchmarkPendingEvictBatch(b *testing.B) {
	for _, form := range pendingIDForms {
		b.Run(form.name, func(b *testing.B) {
			const batch = 1000
			s, ids, n := fullPendingSet(form.id)
			var lat []time.Duration
			i := 0
			for b.Loop() {
				t0 := time.Now()
				for range batch {
					s.add(ids[i&(len(ids)-1)], int64(n+i), pendingPred{})
					i++
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns/batch")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns/batch")
		})
	}
}
