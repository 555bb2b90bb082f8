package monitor

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilml/vigil/internal/cputime"
	"github.com/vigilml/vigil/monitor/event"
)

// BenchmarkMetrics is one scrape of /metrics by a daemon watching 20 models × 50 numeric
// features with statistics for every feature: about 10k series, the size issue 7's
// "/metrics for 10k series in ≤ 20 ms" target names. The series count is reported.
func BenchmarkMetrics(b *testing.B) { benchmarkMetrics(b, nil) }

// prometheus3Accept is the Accept header of Prometheus 3's scrapes (default scrape_protocols).
const prometheus3Accept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"

// BenchmarkMetricsGzip is the same scrape as Prometheus asks for it: text, gzip.
func BenchmarkMetricsGzip(b *testing.B) {
	benchmarkMetrics(b, http.Header{"Accept": {prometheus3Accept}, "Accept-Encoding": {"gzip"}})
}

func benchmarkMetrics(b *testing.B, header http.Header) {
	const models, features, events = 20, 50, 400
	var cfg strings.Builder
	cfg.WriteString("global: {evaluation_interval: 1h, storage_path: " + filepath.Join(b.TempDir(), "data") + "}\nmodels:\n")
	for m := range models {
		fmt.Fprintf(&cfg, "  - name: model-%02d\n    task: binary_classification\n    window: {size: 200}\n    reference: {window: first, size: 200}\n    features:\n", m)
		for f := range features {
			fmt.Fprintf(&cfg, "      - {name: feature_%02d, type: numeric}\n", f)
		}
	}
	path := filepath.Join(b.TempDir(), "vigil.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := New(Options{ConfigFile: path, Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	st := m.state.Load()
	r := rand.New(rand.NewPCG(5, 6))
	for mi := range models {
		var body strings.Builder
		for i := range events {
			fmt.Fprintf(&body, `{"model":"model-%02d","id":"%d","features":{`, mi, i)
			for f := range features {
				if f > 0 {
					body.WriteByte(',')
				}
				fmt.Fprintf(&body, `"feature_%02d":%.3f`, f, r.NormFloat64()+float64(i/200)*0.3)
			}
			fmt.Fprintf(&body, `},"score":%.3f}`+"\n", r.Float64())
		}
		if resp, _, msg := m.apply(context.Background(), st, kindPrediction, []byte(body.String()), event.NDJSON, ""); msg != "" || resp.Accepted != events {
			b.Fatalf("ingest: %s %+v", msg, resp)
		}
	}
	m.Evaluate(time.Now())
	h := m.Handler()
	scrape := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header = header.Clone()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
		return rec
	}
	series := 0
	body := scrape().Body.Bytes()
	if header.Get("Accept-Encoding") == "gzip" {
		z, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		if body, err = io.ReadAll(z); err != nil {
			b.Fatal(err)
		}
	}
	for line := range bytes.Lines(body) {
		if len(line) > 0 && line[0] != '#' {
			series++
		}
	}
	if series < 10000 {
		b.Fatalf("only %d series", series)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	for b.Loop() {
		scrape()
	}
	b.ReportMetric(float64(series), "series")
	b.ReportMetric(float64((cputime.Process()-cpu0).Nanoseconds())/float64(b.N)/1e6, "cpu-ms/op")
}
