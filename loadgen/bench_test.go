package loadgen

import (
	"testing"

	"github.com/vigilml/vigil/internal/cputime"
	"github.com/vigilml/vigil/monitor/event"
)

// benchSpec is the traffic of the ingest measurement in docs/performance.md.
var benchSpec = Spec{Model: "lg", Task: BinaryClassification, Features: 20, Categorical: 2, Categories: 10}

// BenchmarkDecodeOnly is "the limit" of docs/performance.md: how fast this machine parses
// the NDJSON loadgen sends (1,000 events of 20 features) with vigil's decoder and does
// nothing else with it.
func BenchmarkDecodeOnly(b *testing.B) {
	g := newGenerator(benchSpec, "bench", 1)
	body := append([]byte(nil), g.predictions(0, 0, 1000, false)...)
	d := event.NewDecoder(event.Limits{})
	var sum float64
	fn := func(_ int, p *event.Prediction) { sum += p.Features[0].Value.Num }
	if n, errs, err := d.Predictions(body, event.NDJSON, "", fn); n != 1000 || len(errs) > 0 || err != nil {
		b.Fatal(n, errs, err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0 := cputime.Process()
	for b.Loop() {
		if n, _, _ := d.Predictions(body, event.NDJSON, "", fn); n != 1000 {
			b.Fatal(n)
		}
	}
	b.ReportMetric(float64((cputime.Process()-cpu0).Nanoseconds())/float64(b.N*1000), "cpu-ns/event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/event")
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkGenerate is loadgen's own cost per batch of 1,000 events of 20 features.
func BenchmarkGenerate(b *testing.B) {
	g := newGenerator(benchSpec, "bench", 1)
	b.ReportAllocs()
	for k := int64(0); b.Loop(); k++ {
		g.predictions(k, k*1000, 1000, false)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/event")
}
