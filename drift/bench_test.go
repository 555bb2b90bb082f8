package drift

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// Benchmarks for 1M reference vs 1M current values, the reference kept as a
// Sample. "nodrift" draws both from N(0,1) (the KS p-value takes the
// Pelz-Good branch); "drift" shifts the current by 0.01 (d ~ 0.004, so the
// p-value sums the Smirnov series over ~5e5 terms, the most expensive branch
// at this size). testdata/bench_drift.py times scipy/numpy on the same work.

const benchN = 1_000_000

type benchData struct {
	ref, cur  []float64
	refS      *Sample
	curS      *Sample
	bins      Bins
	refCounts []int64
	curCounts []int64
}

func newBenchData(shift float64) *benchData {
	rng := rand.New(rand.NewPCG(1, 2))
	d := &benchData{ref: make([]float64, benchN), cur: make([]float64, benchN)}
	for i := range d.ref {
		d.ref[i] = rng.NormFloat64()
		d.cur[i] = rng.NormFloat64() + shift
	}
	d.refS, d.curS = NewSample(d.ref), NewSample(d.cur)
	d.bins = d.refS.Bins()
	d.refCounts = d.bins.CountsSorted(d.refS)
	d.curCounts = d.bins.CountsSorted(d.curS)
	return d
}

var benchScenarios = []struct {
	name  string
	shift float64
}{{"nodrift", 0}, {"drift", 0.01}}

var benchSink float64

func BenchmarkSort1M(b *testing.B) {
	d := newBenchData(0)
	buf := make([]float64, benchN)
	b.Run("radix", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			copy(buf, d.cur)
			radixSortFloat64(buf, nil)
		}
	})
	b.Run("slices.Sort", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			copy(buf, d.cur)
			slices.Sort(buf)
		}
	})
	b.Run("NewSample", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchSink += float64(NewSample(d.cur).Len())
		}
	})
}

func BenchmarkKS1M(b *testing.B) {
	for _, sc := range benchScenarios {
		d := newBenchData(sc.shift)
		b.Run(sc.name+"/sorted", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, p := d.refS.KS(d.curS)
				benchSink += s + p
			}
		})
		b.Run(sc.name+"/slices", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, p := KS(d.ref, d.cur)
				benchSink += s + p
			}
		})
	}
}

func BenchmarkWasserstein1M(b *testing.B) {
	d := newBenchData(0.01)
	d.refS.Std() // computed once per reference
	b.Run("sorted", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w, _ := d.refS.Wasserstein(d.curS)
			benchSink += w
		}
	})
	b.Run("slices", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w, _ := Wasserstein(d.ref, d.cur)
			benchSink += w
		}
	})
}

func BenchmarkPSI1M(b *testing.B) {
	d := newBenchData(0.01)
	b.Run("sorted", func(b *testing.B) { // counts by binary search on the sorted current
		b.ReportAllocs()
		for b.Loop() {
			benchSink += PSI(d.refCounts, d.bins.CountsSorted(d.curS))
		}
	})
	b.Run("unsorted", func(b *testing.B) { // counts by binning every current value
		b.ReportAllocs()
		for b.Loop() {
			benchSink += PSI(d.refCounts, d.bins.Counts(d.cur))
		}
	})
}

func BenchmarkJensenShannon1M(b *testing.B) {
	d := newBenchData(0.01)
	b.ReportAllocs()
	for b.Loop() {
		benchSink += JensenShannon(d.refCounts, d.bins.CountsSorted(d.curS))
	}
}

// BenchmarkCompare1M is the per-feature cost with the reference kept: sort
// the current window, then KS (+ p-value), Wasserstein, PSI, Jensen-Shannon,
// Hellinger and L-infinity.
func BenchmarkCompare1M(b *testing.B) {
	for _, sc := range benchScenarios {
		d := newBenchData(sc.shift)
		d.refS.Std()
		b.Run(sc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := d.refS.Compare(NewSample(d.cur))
				benchSink += r.KS + r.KSPValue + r.Wasserstein + r.PSI + r.JensenShannon
			}
		})
		b.Run(sc.name+"/presorted", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := d.refS.Compare(d.curS)
				benchSink += r.KS + r.KSPValue + r.Wasserstein + r.PSI + r.JensenShannon
			}
		})
	}
}

func BenchmarkKSPValue(b *testing.B) {
	for _, c := range []struct {
		n1, n2 int
		d      float64
	}{
		{10000, 10000, 0.02}, {10000, 9999, 0.02}, {10000, 9000, 0.05},
		{1000000, 1000000, 0.001}, {1000000, 1000000, 0.004},
	} {
		b.Run(fmt.Sprintf("%dx%d/d=%v", c.n1, c.n2, c.d), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, p, _ := ksPValue(c.n1, c.n2, c.d)
				benchSink += p
			}
		})
	}
}
