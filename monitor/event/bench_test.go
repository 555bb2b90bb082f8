package event

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
)

// benchEvents is the number of events in a benchmark batch.
const benchEvents = 1000

var (
	countries = []string{"DE", "FR", "US", "GB", "ES", "IT", "NL", "PL"}
	channels  = []string{"web", "ios", "android", "pos"}
	segments  = []string{"new", "returning", "vip"}
)

// benchPrediction writes one prediction with 10 numeric and 10 categorical
// features. With fullPrecision the numbers are random float64 printed with
// all 17 digits (as Python's json.dumps does); otherwise they have 1–2 decimals.
func benchPrediction(buf *bytes.Buffer, r *rand.Rand, i int, fullPrecision bool) {
	fmt.Fprintf(buf, `{"model":"fraud","version":"v3","role":"primary","id":"req-%08d","timestamp":"2026-11-24T10:%02d:%02d.%03dZ","features":{`,
		i, i/60%60, i%60, i%1000)
	for f := range 10 {
		var v string
		switch {
		case fullPrecision:
			v = strconv.FormatFloat(r.Float64()*1000, 'g', -1, 64)
		case f%2 == 0:
			v = strconv.FormatFloat(float64(r.IntN(100000))/100, 'f', -1, 64)
		default:
			v = strconv.Itoa(r.IntN(100))
		}
		fmt.Fprintf(buf, `"num_%d":%s,`, f, v)
	}
	for f := range 10 {
		var v string
		switch f % 3 {
		case 0:
			v = countries[r.IntN(len(countries))]
		case 1:
			v = channels[r.IntN(len(channels))]
		default:
			v = segments[r.IntN(len(segments))]
		}
		if f > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(buf, `"cat_%d":%q`, f, v)
	}
	score := float64(r.IntN(1000)) / 1000
	pred := 0
	if score >= 0.5 {
		pred = 1
	}
	fmt.Fprintf(buf, `},"prediction":%d,"score":%g,"latency_ms":%g}`, pred, score, float64(r.IntN(1000))/10)
}

func benchBody(f Format, fullPrecision bool) []byte {
	var buf bytes.Buffer
	r := rand.New(rand.NewPCG(1, 2))
	if f == JSON {
		buf.WriteByte('[')
	}
	for i := range benchEvents {
		if i > 0 && f == JSON {
			buf.WriteByte(',')
		}
		benchPrediction(&buf, r, i, fullPrecision)
		if f == NDJSON {
			buf.WriteByte('\n')
		}
	}
	if f == JSON {
		buf.WriteByte(']')
	}
	return buf.Bytes()
}

func benchLabels() []byte {
	var buf bytes.Buffer
	for i := range benchEvents {
		fmt.Fprintf(&buf, `{"model":"fraud","id":"req-%08d","label":%d,"timestamp":1795514400.%03d}`+"\n", i, i%2, i%1000)
	}
	return buf.Bytes()
}

// sink keeps benchmark results alive.
var sink float64

func benchPredictions(b *testing.B, body []byte, f Format) {
	d := NewDecoder(Limits{})
	fn := func(_ int, p *Prediction) { sink += p.Features[0].Value.Num }
	// Warm up the intern table and buffers: steady state.
	if _, errs, err := d.Predictions(body, f, "", fn); err != nil || len(errs) > 0 {
		b.Fatal(err, errs)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n, errs, err := d.Predictions(body, f, "", fn)
		if n != benchEvents || err != nil || len(errs) > 0 {
			b.Fatal(n, err, errs)
		}
	}
	reportPerEvent(b)
}

// reportPerEvent adds ns/event and allocs/event. allocs/event is measured
// separately with testing.AllocsPerRun-style accounting by the caller's
// b.ReportAllocs figure divided by the batch size.
func reportPerEvent(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchEvents, "ns/event")
}

func BenchmarkPredictionsNDJSON(b *testing.B) {
	body := benchBody(NDJSON, false)
	benchPredictions(b, body, NDJSON)
	b.ReportMetric(allocsPerEvent(b, body, NDJSON), "allocs/event")
}

func BenchmarkPredictionsNDJSONFullPrecision(b *testing.B) {
	body := benchBody(NDJSON, true)
	benchPredictions(b, body, NDJSON)
	b.ReportMetric(allocsPerEvent(b, body, NDJSON), "allocs/event")
}

func BenchmarkPredictionsJSONArray(b *testing.B) {
	body := benchBody(JSON, false)
	benchPredictions(b, body, JSON)
	b.ReportMetric(allocsPerEvent(b, body, JSON), "allocs/event")
}

func BenchmarkLabelsNDJSON(b *testing.B) {
	body := benchLabels()
	d := NewDecoder(Limits{})
	fn := func(_ int, l *Label) { sink += l.Label.Num }
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		n, errs, err := d.Labels(body, NDJSON, "", fn)
		if n != benchEvents || err != nil || len(errs) > 0 {
			b.Fatal(n, err, errs)
		}
	}
	reportPerEvent(b)
	b.ReportMetric(testing.AllocsPerRun(10, func() { _, _, _ = d.Labels(body, NDJSON, "", fn) })/benchEvents, "allocs/event")
}

func allocsPerEvent(b *testing.B, body []byte, f Format) float64 {
	d := NewDecoder(Limits{})
	fn := func(_ int, p *Prediction) { sink += p.Features[0].Value.Num }
	_, _, _ = d.Predictions(body, f, "", fn)
	return testing.AllocsPerRun(10, func() { _, _, _ = d.Predictions(body, f, "", fn) }) / benchEvents
}
