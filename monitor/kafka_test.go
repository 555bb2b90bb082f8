package monitor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKafkaIntoWindows runs a Monitor consuming from franz-go's in-process Kafka: the
// records go through the same ingest path as the HTTP API (rejections included).
func TestKafkaIntoWindows(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "preds", "labels"))
	require.NoError(t, err)
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

	dir := t.TempDir()
	cfg := fmt.Sprintf(`
global: {evaluation_interval: 1h, storage_path: %s}
models:
  - name: fraud
    task: binary_classification
    features: [{name: amount, type: numeric}]
kafka:
  brokers: [%q]
  topics: [preds]
  label_topics: [labels]
  group: vigil
`, filepath.Join(dir, "data"), brokers[0])
	path := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	clock := newFakeClock()
	reg := prometheus.NewPedanticRegistry()
	m, err := New(Options{ConfigFile: path, ListenAddress: "127.0.0.1:0", Now: clock.Now, Registry: reg,
		KafkaOpts: []kgo.Opt{kgo.FetchMaxWait(50 * time.Millisecond)}})
	require.NoError(t, err)
	require.NoError(t, m.Start())
	defer func() { require.NoError(t, m.Stop(context.Background())) }()

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	require.NoError(t, err)
	defer cl.Close()
	var recs []*kgo.Record
	for i := range 100 {
		recs = append(recs, &kgo.Record{Topic: "preds", Key: []byte("fraud"),
			Value: fmt.Appendf(nil, `{"model":"fraud","id":"%d","features":{"amount":%d},"prediction":%d,"score":0.%d}`, i, i, i%2, i%10)})
	}
	// One unknown model and one invalid record: rejected and counted as through HTTP.
	recs = append(recs, &kgo.Record{Topic: "preds", Value: []byte(`{"model":"nope","id":"x"}`)},
		&kgo.Record{Topic: "preds", Value: []byte(`{"model":"fraud","id":"y","score":7}`)})
	for i := range 100 {
		recs = append(recs, &kgo.Record{Topic: "labels", Key: []byte("fraud"), Value: fmt.Appendf(nil, `{"model":"fraud","id":"%d","label":%d}`, i, i%2)})
	}
	require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())

	require.Eventually(t, func() bool {
		m.Evaluate(clock.Now())
		s, _ := m.Stats("fraud")
		return s.Events.Predictions == 100 && s.Events.Labels == 100
	}, 30*time.Second, 20*time.Millisecond)
	s, _ := m.Stats("fraud")
	acc := -1.0
	for _, q := range s.Quality {
		if q.Metric == "accuracy" && q.Segment == AllValue {
			acc = q.Value
		}
	}
	require.Equal(t, 1.0, acc)
	require.Equal(t, 1.0, counterValue(t, reg, "vigil_events_rejected_total", map[string]string{"model": "", "reason": "unknown_model"}))
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
