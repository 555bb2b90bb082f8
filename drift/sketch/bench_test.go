package sketch

import (
	"math/rand/v2"
	"testing"

	"github.com/vigilml/vigil/drift"
)

// Benchmarks for 1M reference vs 1M current values of N(0,1), the current
// shifted by 0 ("nodrift") or 0.01 ("drift", KS ≈ 0.004: the KS p-value then
// takes drift's most expensive branch, the Smirnov series over ~5e5 terms),
// with ReferenceOptions. cpu-ns/op is the process's CPU time per operation,
// meaningful when other jobs load the machine.
//
//	go test -run '^$' -bench . -benchtime=1s -count=5 ./drift/sketch/

const benchN = 1_000_000

type benchData struct {
	opts     NumericOptions
	ref, cur []float64
	refS     *Numeric
	curS     *Numeric
}

func newBenchData(b *testing.B, shift float64) *benchData {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	d := &benchData{ref: make([]float64, benchN), cur: make([]float64, benchN)}
	for i := range d.ref {
		d.ref[i] = rng.NormFloat64()
		d.cur[i] = rng.NormFloat64() + shift
	}
	d.opts = ReferenceOptions(drift.NewSample(d.ref).Bins())
	d.refS, d.curS = mustNumeric(b, d.opts), mustNumeric(b, d.opts)
	for i := range d.ref {
		d.refS.Add(d.ref[i])
		d.curS.Add(d.cur[i])
	}
	return d
}

func mustNumeric(tb testing.TB, opts NumericOptions) *Numeric {
	tb.Helper()
	s, err := NewNumeric(opts)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var benchSink float64

func BenchmarkAdd(b *testing.B) {
	d := newBenchData(b, 0)
	s := mustNumeric(b, d.opts)
	for _, v := range d.cur {
		s.Add(v) // grow the stores first
	}
	b.ReportAllocs()
	i := 0
	start := cpuTime()
	for b.Loop() {
		s.Add(d.cur[i])
		i++
		if i == benchN {
			i = 0
		}
	}
	reportCPU(b, start)
}

func BenchmarkMerge(b *testing.B) {
	d := newBenchData(b, 0)
	s := mustNumeric(b, d.opts)
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if err := s.Merge(d.curS); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

func BenchmarkCompare1M(b *testing.B) {
	for _, sc := range []struct {
		name  string
		shift float64
	}{{"nodrift", 0}, {"drift", 0.01}} {
		d := newBenchData(b, sc.shift)
		b.Run(sc.name, func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				r := Compare(d.refS, d.curS)
				benchSink += r.KS + r.KSPValue + r.Wasserstein + r.PSI
			}
			reportCPU(b, start)
		})
		b.Run(sc.name+"/ks", func(b *testing.B) {
			// The statistic and its bound alone: one walk, no p-value.
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				ks, upper := KS(d.refS, d.curS)
				benchSink += ks + upper
			}
			reportCPU(b, start)
		})
	}
}

func BenchmarkMarshal(b *testing.B) {
	d := newBenchData(b, 0)
	buf, _ := d.refS.AppendBinary(nil)
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		start := cpuTime()
		for b.Loop() {
			buf, _ = d.refS.AppendBinary(buf[:0])
		}
		reportCPU(b, start)
		b.ReportMetric(float64(len(buf)), "bytes")
	})
	b.Run("unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		var s Numeric
		start := cpuTime()
		for b.Loop() {
			if err := s.UnmarshalBinary(buf); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
}
