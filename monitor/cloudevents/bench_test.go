package cloudevents

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilml/vigil/internal/yamlconf"
)

// BenchmarkPairs measures the sink's own cost per request/response pair of a KServe v1
// payload with 10 features: parse both events, queue, pair, and encode the prediction
// (the ingest behind the sink is not included; see monitor's BenchmarkIngest).
func BenchmarkPairs(b *testing.B) {
	var n atomic.Int64
	sink := func(_ context.Context, _ bool, body []byte) error {
		n.Add(int64(bytes.Count(body, []byte{'\n'})))
		return nil
	}
	h := New(Options{
		Config: Config{QueueSize: 10000, PairTTL: yamlconf.Duration(time.Minute), MaxPending: 100000},
		Sink:   sink,
		Model: func(string) (ModelInfo, bool) {
			return ModelInfo{Task: "binary_classification", PositiveClass: "1"}, true
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	reqBody := []byte(`{"instances": [{"f0": 1.5, "f1": 2, "f2": 3.25, "f3": 4, "f4": 5.5, "c0": "DE", "c1": "web", "c2": "new", "c3": "x", "c4": "y"}]}`)
	respBody := []byte(`{"predictions": [[0.2, 0.8]]}`)
	hdr := func(typ, id string) http.Header {
		return http.Header{
			"Ce-Specversion": {"1.0"}, "Ce-Id": {id}, "Ce-Type": {typ}, "Ce-Source": {"http://localhost:9081/"},
			"Ce-Time": {"2026-11-24T10:00:00Z"}, "Ce-Inferenceservicename": {"fraud"}, "Ce-Namespace": {"default"},
			"Ce-Component": {"predictor"}, "Ce-Endpoint": {"default"}, "Ce-Metadata": {"{}"}, "Content-Type": {"application/json"},
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("req-%d", i)
		for _, ev := range []struct {
			typ  string
			body []byte
		}{{TypeKServeRequest, reqBody}, {TypeKServeResponse, respBody}} {
			for {
				r := httptest.NewRequest(http.MethodPost, "/api/v1/cloudevents", bytes.NewReader(ev.body))
				r.Header = hdr(ev.typ, id)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code == http.StatusAccepted {
					break
				}
				time.Sleep(10 * time.Microsecond) // queue full: the benchmark is the back-pressure
			}
		}
	}
	for n.Load() < int64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}

// BenchmarkWorker measures the worker alone per request/response pair: pairing, reading
// both payloads and writing the prediction record, with a flush every maxBatchRecords.
// The worker is one goroutine, so this bounds the sink's throughput.
func BenchmarkWorker(b *testing.B) {
	var n int
	h := New(Options{
		Config: Config{QueueSize: 1, PairTTL: yamlconf.Duration(time.Minute), MaxPending: 100000},
		Sink:   func(_ context.Context, _ bool, body []byte) error { n += bytes.Count(body, []byte{'\n'}); return nil },
		Model: func(string) (ModelInfo, bool) {
			return ModelInfo{Task: "binary_classification", PositiveClass: "1"}, true
		},
	})
	reqBody := []byte(`{"instances": [{"f0": 1.5, "f1": 2, "f2": 3.25, "f3": 4, "f4": 5.5, "c0": "DE", "c1": "web", "c2": "new", "c3": "x", "c4": "y"}]}`)
	respBody := []byte(`{"predictions": [[0.2, 0.8]]}`)
	ext := map[string]string{"inferenceservicename": "fraud", "endpoint": "default"}
	ts := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprintf("req-%d", i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req := Event{ID: ids[i%len(ids)], Type: TypeKServeRequest, Time: ts, Extensions: ext, Data: reqBody}
		resp := Event{ID: req.ID, Type: TypeKServeResponse, Time: ts, Extensions: ext, Data: respBody}
		h.process(&req)
		h.process(&resp)
		if h.gathered >= maxBatchRecords {
			h.flush(ctx)
		}
	}
	h.flush(ctx)
	if n != b.N {
		b.Fatalf("%d records ingested for %d pairs", n, b.N)
	}
}
