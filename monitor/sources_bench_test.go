package monitor

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilml/vigil/monitor/files"
	"github.com/vigilml/vigil/monitor/scrape"
)

// BenchmarkKafkaSource measures the Kafka source end to end: b.N 20-feature prediction
// records, produced to franz-go's in-process Kafka beforehand (4 partitions), consumed by a
// running Monitor (poll, apply through the ingest path, commit) until all are in the window.
func BenchmarkKafkaSource(b *testing.B) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "preds"))
	if err != nil {
		b.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("preds"))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	r := rand.New(rand.NewPCG(1, 2))
	for start := 0; start < b.N; start += 1000 {
		n := min(1000, b.N-start)
		var recs []*kgo.Record
		for line := range bytes.Lines(benchBatch(n, r, start)) {
			recs = append(recs, &kgo.Record{Key: []byte("fraud"), Value: bytes.TrimSpace(line)})
		}
		if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	cfg := benchConfig(10000, ModeExact) + fmt.Sprintf("kafka: {brokers: [%q], topics: [preds], group: bench}\n", brokers[0])
	path := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	m, err := New(Options{ConfigFile: path, ListenAddress: "127.0.0.1:0", Registry: prometheus.NewRegistry(),
		KafkaOpts: []kgo.Opt{kgo.FetchMaxWait(20 * time.Millisecond)}})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Start(); err != nil {
		b.Fatal(err)
	}
	ms := m.state.Load().models["fraud"]
	for {
		ms.mu.Lock()
		n := ms.predictions
		ms.mu.Unlock()
		if n >= uint64(b.N) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	_ = m.Stop(context.Background())
}

// BenchmarkCloudEventsSource measures the CloudEvents source end to end over real HTTP:
// b.N KServe v1 request/response pairs of one 20-feature instance posted to a running
// Monitor, until every prediction is in the window.
func BenchmarkCloudEventsSource(b *testing.B) {
	dir := b.TempDir()
	cfg := benchConfig(10000, ModeExact) + "cloudevents: {queue_size: 10000, models: [{inference_service: fraud}]}\n"
	path := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	m, err := New(Options{ConfigFile: path, ListenAddress: "127.0.0.1:0", Registry: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = m.Stop(context.Background()) }()
	url := "http://" + m.Addr().String() + "/api/v1/cloudevents"
	var inst bytes.Buffer
	inst.WriteString(`{"instances": [{`)
	for f := range 10 {
		fmt.Fprintf(&inst, `"n%d": %d.5, "c%d": "cat%d"`, f, f, f, f)
		if f < 9 {
			inst.WriteString(", ")
		}
	}
	inst.WriteString(`}]}`)
	reqBody, respBody := inst.Bytes(), []byte(`{"predictions": [[0.3, 0.7]]}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	send := func(typ, id string, body []byte) {
		for {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			req.Header = http.Header{"Ce-Specversion": {"1.0"}, "Ce-Id": {id}, "Ce-Type": {typ}, "Ce-Source": {"http://localhost:9081/"},
				"Ce-Inferenceservicename": {"fraud"}, "Ce-Endpoint": {"default"}, "Content-Type": {"application/json"}}
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusAccepted {
				return
			}
			time.Sleep(100 * time.Microsecond) // 429: the queue is full
		}
	}
	ms := m.state.Load().models["fraud"]
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("r%d", i)
		send("org.kubeflow.serving.inference.request", id, reqBody)
		send("org.kubeflow.serving.inference.response", id, respBody)
	}
	for {
		ms.mu.Lock()
		n := ms.predictions
		ms.mu.Unlock()
		if n >= uint64(b.N) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}

// BenchmarkScrapeSource measures the scrape source end to end: one job scraping b.N
// 20-feature records (pages of up to 10,000) from an httptest endpoint into a Monitor.
func BenchmarkScrapeSource(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var pages [][]byte
	for start := 0; start < b.N; start += 10000 {
		pages = append(pages, benchBatch(min(10000, b.N-start), r, start))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		i, _ := strconv.Atoi(req.URL.Query().Get("cursor"))
		w.Header().Set(scrape.CursorHeader, strconv.Itoa(min(i+1, len(pages))))
		if i < len(pages) {
			_, _ = w.Write(pages[i])
		}
	}))
	defer srv.Close()
	c := scrape.Config{JobName: "bench", URL: srv.URL, Kind: "predictions", Interval: Duration(time.Minute),
		Timeout: Duration(time.Minute), CursorParam: "cursor", MaxBytes: 1 << 30}
	m := benchMonitor(b, 10000)
	s, err := scrape.New(scrape.Options{Configs: []scrape.Config{c}, Sink: m.sink, Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range pages {
		if err := s.ScrapeOnce(context.Background(), &c); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkFileSource measures the file source end to end: b.N 20-feature NDJSON records
// in one file, read by one poll and applied to a Monitor.
func BenchmarkFileSource(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "scores.ndjson")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for start := 0; start < b.N; start += 10000 {
		if _, err := f.Write(benchBatch(min(10000, b.N-start), r, start)); err != nil {
			b.Fatal(err)
		}
	}
	f.Close()
	m := benchMonitor(b, 10000)
	t, err := files.New(files.Options{Configs: []files.Config{{Name: "bench", Paths: []string{path}, Kind: "predictions", Format: "ndjson", PollInterval: Duration(time.Second)}},
		Sink: m.sink, Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	t.PollOnce(context.Background())
	b.StopTimer()
	ms := m.state.Load().models["fraud"]
	if ms.predictions != uint64(b.N) {
		b.Fatalf("applied %d of %d", ms.predictions, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
