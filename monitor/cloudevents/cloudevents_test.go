package cloudevents

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/internal/yamlconf"
)

// LoadSample reads a testdata request: comment lines, headers, a blank line, the body.
func loadSample(t testing.TB, name string) (http.Header, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	for bytes.HasPrefix(b, []byte("#")) {
		_, b, _ = bytes.Cut(b, []byte("\n"))
	}
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(b)))
	h, err := r.ReadMIMEHeader()
	require.NoError(t, err)
	_, body, ok := bytes.Cut(b, []byte("\n\n"))
	require.True(t, ok)
	return http.Header(h), bytes.TrimSpace(body)
}

func TestParseSamples(t *testing.T) {
	tests := []struct {
		file, id, typ, isvc, endpoint string
		ext                           map[string]string
	}{
		{"kserve-v1-request.txt", "5b7e3c2e-3f7c-4a3b-9c1e-0f3d2a1b4c5d", TypeKServeRequest, "sklearn-iris", "default", map[string]string{"component": "predictor", "metadata": "{}", "namespace": "default"}},
		{"kserve-v1-response.txt", "5b7e3c2e-3f7c-4a3b-9c1e-0f3d2a1b4c5d", TypeKServeResponse, "sklearn-iris", "default", nil},
		{"kserve-v2-request.txt", "0d1f4c1a-7a8e-4a0e-b1f4-2c9e6f3b8a71", TypeKServeRequest, "sklearn-v2-iris", "canary", nil},
		{"kserve-structured.txt", "a8c3b0f2-9d1e-4f6a-8b7c-5e4d3c2b1a09", TypeKServeRequest, "sklearn-iris", "default", map[string]string{"component": "predictor"}},
		{"seldon-request.txt", "7f0e7c38-1b6a-4a55-9d57-6a4f2b2b9e01", TypeSeldonRequest, "income", "default", map[string]string{"requestid": "c3d0a7a2-5a3e-4e9a-b7a1-9c1b1c2d3e4f", "modelid": "classifier", "protocol": "seldon"}},
		{"seldon-feedback.txt", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", TypeSeldonFeedback, "income", "default", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			h, body := loadSample(t, tt.file)
			evs, err := ParseHTTP(h, body)
			require.NoError(t, err)
			require.Len(t, evs, 1)
			e := evs[0]
			require.Equal(t, tt.id, e.ID)
			require.Equal(t, tt.typ, e.Type)
			require.Equal(t, tt.isvc, e.Extension("inferenceservicename"))
			require.Equal(t, tt.endpoint, e.Extension("endpoint"))
			for k, v := range tt.ext {
				require.Equal(t, v, e.Extension(k), k)
			}
			require.True(t, json.Valid(e.Data), "data: %s", e.Data)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, ct, body string
		hdr            map[string]string
		want           string
	}{
		{"not a cloudevent", "application/json", `{}`, nil, "not a CloudEvent"},
		{"binary without id", "application/json", `{}`, map[string]string{"Ce-Specversion": "1.0", "Ce-Type": "x", "Ce-Source": "s"}, "id"},
		{"bad specversion", "application/json", `{}`, map[string]string{"Ce-Specversion": "2.0", "Ce-Id": "1", "Ce-Type": "x", "Ce-Source": "s"}, "specversion"},
		{"structured not json", mediaStructured, `{`, nil, "JSON object"},
		{"structured id not string", mediaStructured, `{"specversion":"1.0","id":1,"type":"t","source":"s"}`, nil, `"id" must be a string`},
		{"bad base64", mediaStructured, `{"specversion":"1.0","id":"1","type":"t","source":"s","data_base64":"%%"}`, nil, "data_base64"},
		{"batch not array", mediaBatch, `{}`, nil, "JSON array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {tt.ct}}
			for k, v := range tt.hdr {
				h.Set(k, v)
			}
			_, err := ParseHTTP(h, []byte(tt.body))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recordingSink keeps what the handler ingests, and can be made to block.
type recordingSink struct {
	mu     sync.Mutex
	preds  []map[string]any
	labels []map[string]any
	gate   chan struct{} // when non-nil, each call waits for a value
}

func (s *recordingSink) ingest(ctx context.Context, labels bool, body []byte) error {
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for line := range bytes.Lines(body) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			return err
		}
		if labels {
			s.labels = append(s.labels, m)
		} else {
			s.preds = append(s.preds, m)
		}
	}
	return nil
}

func (s *recordingSink) got() (preds, labels []map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.preds...), append([]map[string]any(nil), s.labels...)
}

type harness struct {
	h     *Handler
	srv   *httptest.Server
	sink  *recordingSink
	clock *fakeClock
	reg   *prometheus.Registry
	stop  func()
}

var testModels = map[string]ModelInfo{
	"iris":            {Task: "multiclass_classification"},
	"sklearn-v2-iris": {Task: "multiclass_classification"},
	"income":          {Task: "binary_classification", PositiveClass: "1"},
}

func newHarness(t *testing.T, cfg Config, sink *recordingSink) *harness {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	reg := prometheus.NewPedanticRegistry()
	h := New(Options{
		Config: cfg, Sink: sink.ingest, Registerer: reg, Now: clock.Now, TickInterval: 5 * time.Millisecond,
		Model: func(name string) (ModelInfo, bool) { mi, ok := testModels[name]; return mi, ok },
	})
	srv := httptest.NewServer(h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	hs := &harness{h: h, srv: srv, sink: sink, clock: clock, reg: reg}
	hs.stop = func() { srv.Close(); cancel(); <-done }
	t.Cleanup(func() { hs.stop() })
	return hs
}

func defaultConfig() Config {
	return Config{QueueSize: 100, PairTTL: yamlconf.Duration(30 * time.Second), MaxPending: 100, Models: []Mapping{
		{InferenceService: "sklearn-iris", Model: "iris", Features: []string{"sepal_length", "sepal_width", "petal_length", "petal_width"}, Classes: []string{"setosa", "versicolor", "virginica"}},
		{InferenceService: "sklearn-v2-iris", Model: "sklearn-v2-iris", Features: []string{"sepal_length", "sepal_width", "petal_length", "petal_width"}},
	}}
}

func (hs *harness) send(t *testing.T, file string) int {
	t.Helper()
	h, body := loadSample(t, file)
	req, err := http.NewRequest(http.MethodPost, hs.srv.URL, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestPairsIntoPredictions(t *testing.T) {
	sink := &recordingSink{}
	hs := newHarness(t, defaultConfig(), sink)
	// Response before request is fine: pairing does not depend on order.
	for _, f := range []string{"kserve-v1-response.txt", "kserve-v1-request.txt", "kserve-v2-request.txt", "kserve-v2-response.txt",
		"kserve-structured.txt", "kserve-structured-response.txt",
		"seldon-request.txt", "seldon-response.txt", "seldon-feedback.txt"} {
		require.Equal(t, http.StatusAccepted, hs.send(t, f), f)
	}
	require.Eventually(t, func() bool { p, l := sink.got(); return len(p) == 6 && len(l) == 1 }, 5*time.Second, 5*time.Millisecond)
	preds, labels := sink.got()
	byID := map[string]map[string]any{}
	for _, p := range preds {
		byID[p["id"].(string)] = p
	}
	v1 := "5b7e3c2e-3f7c-4a3b-9c1e-0f3d2a1b4c5d"
	require.Equal(t, map[string]any{
		"model": "iris", "version": "default", "id": v1 + "/0", "timestamp": "2026-11-24T10:00:00.123456Z",
		"features":   map[string]any{"sepal_length": 6.8, "sepal_width": 2.8, "petal_length": 4.8, "petal_width": 1.4},
		"prediction": 1.0,
	}, byID[v1+"/0"])
	require.Equal(t, map[string]any{"sepal_length": 6.0, "sepal_width": 3.4, "petal_length": 4.5, "petal_width": 1.6}, byID[v1+"/1"]["features"])
	v2 := "0d1f4c1a-7a8e-4a0e-b1f4-2c9e6f3b8a71"
	require.Equal(t, map[string]any{
		"model": "sklearn-v2-iris", "version": "canary", "role": "canary", "id": v2 + "/1", "timestamp": "2026-11-24T10:00:01Z",
		"features":   map[string]any{"sepal_length": 6.0, "sepal_width": 3.4, "petal_length": 4.5, "petal_width": 1.6},
		"prediction": 2.0,
	}, byID[v2+"/1"])
	st := byID["a8c3b0f2-9d1e-4f6a-8b7c-5e4d3c2b1a09"]
	require.Equal(t, 0.0, st["prediction"])
	require.Equal(t, map[string]any{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}, st["features"])
	seldonID := "c3d0a7a2-5a3e-4e9a-b7a1-9c1b1c2d3e4f"
	require.Equal(t, map[string]any{
		"model": "income", "version": "default", "id": seldonID, "timestamp": "2026-11-24T10:00:03Z",
		"features": map[string]any{"age": 39.0, "hours": 40.0}, "score": 0.75,
	}, byID[seldonID])
	require.Equal(t, []map[string]any{{"model": "income", "id": seldonID, "label": 1.0}}, labels)

	require.Equal(t, 4.0, testutil.ToFloat64(hs.h.metrics.paired))
	require.Equal(t, 4.0, testutil.ToFloat64(hs.h.metrics.received.WithLabelValues("request")))
	require.Equal(t, 1.0, testutil.ToFloat64(hs.h.metrics.received.WithLabelValues("feedback")))
}

func TestPairTTLAndCapacity(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxPending = 2
	sink := &recordingSink{}
	hs := newHarness(t, cfg, sink)
	// Three lone requests: the first is evicted by capacity.
	for range 3 {
		h, body := loadSample(t, "kserve-v1-request.txt")
		h.Set("Ce-Id", h.Get("Ce-Id")+time.Now().String())
		req, _ := http.NewRequest(http.MethodPost, hs.srv.URL, bytes.NewReader(body))
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	require.Equal(t, http.StatusAccepted, hs.send(t, "kserve-v1-response.txt")) // its request is not among them
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(hs.h.metrics.expired.WithLabelValues("request", "capacity")) == 2
	}, 5*time.Second, 5*time.Millisecond, "the fourth event evicts the oldest twice: capacity 2")
	hs.clock.Add(31 * time.Second)
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(hs.h.metrics.expired.WithLabelValues("response", "ttl")) == 1 &&
			testutil.ToFloat64(hs.h.metrics.expired.WithLabelValues("request", "ttl")) == 1
	}, 5*time.Second, 5*time.Millisecond)
	// The lone response still becomes predictions, without features.
	require.Eventually(t, func() bool { p, _ := sink.got(); return len(p) == 2 }, 5*time.Second, 5*time.Millisecond)
	preds, _ := sink.got()
	require.Nil(t, preds[0]["features"])
	require.Zero(t, testutil.ToFloat64(hs.h.metrics.paired))
}

func TestQueueFullRefusesWith429(t *testing.T) {
	cfg := defaultConfig()
	cfg.QueueSize = 1
	sink := &recordingSink{gate: make(chan struct{})}
	hs := newHarness(t, cfg, sink)
	// The worker takes the first pair and blocks in the sink; one more event fits the queue.
	require.Equal(t, http.StatusAccepted, hs.send(t, "seldon-request.txt"))
	require.Equal(t, http.StatusAccepted, hs.send(t, "seldon-response.txt"))
	require.Eventually(t, func() bool { return len(hs.h.queue) == 0 }, 5*time.Second, time.Millisecond)
	require.Equal(t, http.StatusAccepted, hs.send(t, "kserve-v1-request.txt"))
	require.Equal(t, http.StatusTooManyRequests, hs.send(t, "kserve-v1-response.txt"))
	require.Equal(t, 1.0, testutil.ToFloat64(hs.h.metrics.refused.WithLabelValues("queue_full")))
	// A batch gets its head queued and is told how much of its tail to send again.
	batch := `[{"specversion":"1.0","id":"b1","type":"` + TypeKServeRequest + `","source":"s","data":{"instances":[[1,2,3,4]]}},` +
		`{"specversion":"1.0","id":"b1","type":"` + TypeKServeResponse + `","source":"s","data":{"predictions":[1]}}]`
	req, err := http.NewRequest(http.MethodPost, hs.srv.URL, strings.NewReader(batch))
	require.NoError(t, err)
	req.Header = http.Header{"Content-Type": {mediaBatch}}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	var answer map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
	require.Equal(t, map[string]any{"error": "cloudevents queue is full (cloudevents.queue_size); 2 of 2 events refused", "queued": 0.0, "refused": 2.0}, answer)
	close(sink.gate) // nothing accepted is lost once the sink moves again
	require.Eventually(t, func() bool { p, _ := sink.got(); return len(p) == 1 }, 5*time.Second, 5*time.Millisecond)
}

func TestRefusals(t *testing.T) {
	sink := &recordingSink{}
	cfg := defaultConfig()
	hs := newHarness(t, cfg, sink)
	post := func(h http.Header, body string) int {
		req, _ := http.NewRequest(http.MethodPost, hs.srv.URL, strings.NewReader(body))
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusBadRequest, post(http.Header{"Content-Type": {"application/json"}}, `{"instances":[]}`))
	h, _ := loadSample(t, "kserve-v1-request.txt")
	h.Set("Ce-Type", "com.example.other")
	require.Equal(t, http.StatusBadRequest, post(h, `{}`))
	// A pair whose payload is not an inference body is dropped and counted.
	h, _ = loadSample(t, "kserve-v1-request.txt")
	require.Equal(t, http.StatusAccepted, post(h, `{"instances": [[1,2,3,4]]}`))
	h.Set("Ce-Type", TypeKServeResponse)
	require.Equal(t, http.StatusAccepted, post(h, `{"nothing": 1}`))
	// An inference service of an undeclared model.
	h.Set("Ce-Inferenceservicename", "nobody")
	h.Set("Ce-Id", "x")
	require.Equal(t, http.StatusAccepted, post(h, `{"predictions": [1]}`))
	h.Set("Ce-Type", TypeKServeRequest)
	require.Equal(t, http.StatusAccepted, post(h, `{"instances": [[1,2,3,4]]}`))
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(hs.h.metrics.refused.WithLabelValues("bad_payload")) == 1 &&
			testutil.ToFloat64(hs.h.metrics.refused.WithLabelValues("unknown_model")) == 1
	}, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, 1.0, testutil.ToFloat64(hs.h.metrics.refused.WithLabelValues("malformed")))
	require.Equal(t, 1.0, testutil.ToFloat64(hs.h.metrics.refused.WithLabelValues("unknown_type")))
	preds, _ := sink.got()
	require.Empty(t, preds)
}

func TestIngestsInBatchesOfMaxRecords(t *testing.T) {
	// A backlog is ingested maxBatchRecords at a time, not in one body and not per event.
	var mu sync.Mutex
	var sizes []int
	sink := func(_ context.Context, _ bool, body []byte) error {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, bytes.Count(body, []byte{'\n'}))
		return nil
	}
	cfg := defaultConfig()
	cfg.QueueSize = 4000
	cfg.MaxPending = 4000
	h := New(Options{Config: cfg, Sink: sink, Registerer: prometheus.NewRegistry(),
		Model: func(name string) (ModelInfo, bool) { mi, ok := testModels[name]; return mi, ok }})
	ctx := context.Background()
	const pairs = 1300 // two instances each: 2,600 records
	for i := range pairs {
		for _, f := range []string{"kserve-v1-request.txt", "kserve-v1-response.txt"} {
			hdr, body := loadSample(t, f)
			hdr.Set("Ce-Id", fmt.Sprintf("req-%d", i))
			evs, err := ParseHTTP(hdr, body)
			require.NoError(t, err)
			require.NoError(t, h.Submit(ctx, evs[0]))
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = h.Run(runCtx); close(done) }()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, s := range sizes {
			n += s
		}
		return n == 2*pairs
	}, 10*time.Second, 5*time.Millisecond)
	cancel()
	<-done
	require.Equal(t, []int{maxBatchRecords, maxBatchRecords, 2*pairs - 2*maxBatchRecords}, sizes)
}

func TestShutdownDrainsQueue(t *testing.T) {
	sink := &recordingSink{}
	hs := newHarness(t, defaultConfig(), sink)
	require.Equal(t, http.StatusAccepted, hs.send(t, "kserve-v1-request.txt"))
	require.Equal(t, http.StatusAccepted, hs.send(t, "kserve-v1-response.txt"))
	hs.stop()
	hs.stop = func() {}
	preds, _ := sink.got()
	require.Len(t, preds, 2, "events answered 202 are ingested before Run returns")
}

func FuzzParseHTTP(f *testing.F) {
	for _, name := range []string{"kserve-v1-request.txt", "kserve-v2-response.txt", "kserve-structured.txt", "seldon-feedback.txt"} {
		h, body := loadSample(f, name)
		f.Add(h.Get("Content-Type"), h.Get("Ce-Specversion"), h.Get("Ce-Id"), h.Get("Ce-Type"), body)
	}
	f.Add(mediaBatch, "", "", "", []byte(`[{"specversion":"1.0","id":"1","type":"t","source":"s","data":{"inputs":[{"name":"a","shape":[1,2],"datatype":"FP32","data":[1,2]}]}}]`))
	f.Fuzz(func(t *testing.T, ct, spec, id, typ string, body []byte) {
		h := http.Header{"Content-Type": {ct}, "Ce-Source": {"s"}}
		if spec != "" {
			h.Set("Ce-Specversion", spec)
			h.Set("Ce-Id", id)
			h.Set("Ce-Type", typ)
		}
		evs, err := ParseHTTP(h, body)
		if err != nil {
			return
		}
		m := &Mapping{Features: []string{"a", "b"}}
		for _, e := range evs {
			require.NotEmpty(t, e.ID)
			// The payload readers must not panic on anything a parsed event carries.
			_, _ = requestRows(e.Data, m)
			_, _ = responseOutputs(e.Data, m)
			_, _ = feedbackTruth(e.Data)
		}
	})
}
