package monitor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilml/vigil/internal/cputime"
	"github.com/vigilml/vigil/monitor/event"
)

// benchConfig declares a binary model with 10 numeric and 10 categorical features.
func benchConfig(window int, mode string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global: {evaluation_interval: 1h, wal: {enabled: false}}\nmodels:\n  - name: fraud\n    task: binary_classification\n    window: {size: %d, mode: %s}\n    reference: {window: first, size: %d}\n    labels: {max_pending: %d}\n    features:\n", window, mode, window, window)
	for i := range 10 {
		fmt.Fprintf(&b, "      - {name: n%d, type: numeric}\n      - {name: c%d, type: categorical}\n", i, i)
	}
	return b.String()
}

func benchMonitor(b *testing.B, window int, mode ...string) *Monitor {
	b.Helper()
	md := ModeExact
	if len(mode) > 0 {
		md = mode[0]
	}
	return benchMonitorWAL(b, window, md, "")
}

// benchMonitorWAL is benchMonitor with the write-ahead log configured by wal ("" = off).
func benchMonitorWAL(b *testing.B, window int, mode, wal string) *Monitor {
	b.Helper()
	dir := b.TempDir()
	cfg := benchConfig(window, mode)
	if wal != "" {
		cfg = strings.Replace(cfg, "wal: {enabled: false}", "storage_path: "+filepath.Join(dir, "data")+", wal: {"+wal+"}", 1)
	}
	path := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	m, err := New(Options{ConfigFile: path, Registry: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// benchBatch is an NDJSON batch of n 20-feature predictions.
func benchBatch(n int, r *rand.Rand, idBase int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"model":"fraud","version":"v1","id":"req-%d","features":{`, idBase+i)
		for f := range 10 {
			fmt.Fprintf(&b, `"n%d":%.4f,"c%d":"cat%d",`, f, r.NormFloat64()*100, f, r.IntN(20))
		}
		s := r.Float64()
		pred := 0
		if s >= 0.5 {
			pred = 1
		}
		fmt.Fprintf(&b, `"late":null},"prediction":%d,"score":%.4f,"latency_ms":%.2f}`+"\n", pred, s, r.Float64()*20)
	}
	return []byte(b.String())
}

// BenchmarkIngest measures the ingest path without HTTP: decode an NDJSON batch of 1,000
// 20-feature predictions and apply each to the model's windows and label join; with
// the write-ahead log off, on (written to the OS: survives kill -9), and fsynced.
func BenchmarkIngest(b *testing.B) {
	for _, mode := range []string{ModeExact, ModeStreaming} {
		b.Run(mode, func(b *testing.B) { benchIngest(b, mode, "") })
	}
	for _, wal := range []string{"fsync: false", "fsync: true"} {
		b.Run("exact/wal "+wal, func(b *testing.B) { benchIngest(b, ModeExact, wal) })
	}
}

func benchIngest(b *testing.B, mode, wal string) {
	m := benchMonitorWAL(b, 100000, mode, wal)
	st := m.state.Load()
	r := rand.New(rand.NewPCG(1, 2))
	const batch = 1000
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = benchBatch(batch, r, i*batch)
	}
	// Fill the reference first, so the streaming window is running.
	for i := 0; i < 100; i++ {
		m.apply(context.Background(), st, kindPrediction, bodies[i%len(bodies)], event.NDJSON, "")
	}
	b.SetBytes(int64(len(bodies[0])))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	for i := 0; b.Loop(); i++ {
		resp, _, msg := m.apply(context.Background(), st, kindPrediction, bodies[i%len(bodies)], event.NDJSON, "")
		if msg != "" || resp.Accepted != batch {
			b.Fatalf("accepted %v: %s", resp, msg)
		}
	}
	b.ReportMetric(float64((cputime.Process()-cpu0).Nanoseconds())/float64(b.N*batch), "cpu-ns/event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/event")
	b.ReportMetric(float64(b.N*batch*20)/b.Elapsed().Seconds(), "featurevalues/s")
}

// BenchmarkEvaluateBinary measures one evaluation of a binary model whose windows hold
// 100,000 predictions and 100,000 labeled pairs: every quality metric including AUC.
func BenchmarkEvaluateBinary(b *testing.B) {
	const n = 100000
	m := benchMonitor(b, n)
	st := m.state.Load()
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < n; i += 1000 {
		if resp, _, msg := m.apply(context.Background(), st, kindPrediction, benchBatch(1000, r, i), event.NDJSON, ""); msg != "" || resp.Accepted != 1000 {
			b.Fatalf("predictions: %s", msg)
		}
		var lb strings.Builder
		for j := range 1000 {
			fmt.Fprintf(&lb, `{"model":"fraud","id":"req-%d","label":%d}`+"\n", i+j, r.IntN(2))
		}
		if resp, _, msg := m.apply(context.Background(), st, kindLabel, []byte(lb.String()), event.NDJSON, ""); msg != "" || resp.Accepted != 1000 {
			b.Fatalf("labels: %s", msg)
		}
	}
	ts := time.Now()
	m.Evaluate(ts)
	s, _ := m.Stats("fraud")
	if s.Windows.Labeled != n {
		b.Fatalf("labeled %d", s.Windows.Labeled)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.Evaluate(ts)
	}
}
