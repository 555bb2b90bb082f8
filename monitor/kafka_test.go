package monitor

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/encoding/protowire"
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

// TestSeldonCore2Topics reads Seldon Core 2's model topics: protobuf ModelInferRequest and
// ModelInferResponse records keyed by request id, paired into predictions.
func TestSeldonCore2Topics(t *testing.T) {
	const in, out = "seldon.seldon-mesh.model.iris.inputs", "seldon.seldon-mesh.model.iris.outputs"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, in, out))
	require.NoError(t, err)
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
global: {evaluation_interval: 1h, storage_path: %s}
models:
  - name: iris
    task: multiclass_classification
    features:
      - {name: sepal_length, type: numeric}
      - {name: sepal_width, type: numeric}
      - {name: petal_length, type: numeric}
      - {name: petal_width, type: numeric}
cloudevents:
  models:
    - {inference_service: iris, features: [sepal_length, sepal_width, petal_length, petal_width]}
kafka:
  brokers: [%q]
  group: vigil
  seldon: {namespace: seldon-mesh, models: [iris]}
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
	for i := range 20 {
		id := fmt.Sprintf("req-%d", i)
		recs = append(recs,
			&kgo.Record{Topic: in, Key: []byte(id), Value: seldonRequest(id, float32(i))},
			&kgo.Record{Topic: out, Key: []byte(id), Value: seldonResponse(id, int64(i%3))})
	}
	recs = append(recs, &kgo.Record{Topic: in, Key: []byte("bad"), Value: []byte{0x2a, 0x10, 0x01}})
	require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())
	require.Eventually(t, func() bool {
		m.Evaluate(clock.Now())
		s, _ := m.Stats("iris")
		return s.Events.Predictions == 20
	}, 30*time.Second, 20*time.Millisecond)
	s := func() ModelStats { s, _ := m.Stats("iris"); return *s }()
	require.Equal(t, 20, s.Windows.Current)
	require.Empty(t, s.UnknownFeatures)
	require.Equal(t, 1.0, counterValue(t, reg, "vigil_kafka_records_total", map[string]string{"topic": in, "result": "rejected"}), "the undecodable record is counted and committed past")
	require.Equal(t, 20.0, counterValue(t, reg, "vigil_cloudevents_paired_total", nil))
	for _, f := range s.Features {
		if f.Name == "sepal_length" {
			require.Equal(t, 20, f.Current)
		}
	}
}

// seldonRequest is a protobuf ModelInferRequest (grpc_predict_v2.proto: 3 id, 5 inputs;
// tensor 1 name, 2 datatype, 3 shape, 5 contents; contents 6 fp32) of one [1, 4] row.
func seldonRequest(id string, x float32) []byte {
	str := func(b []byte, num protowire.Number, s string) []byte {
		return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
	}
	byt := func(b []byte, num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
	}
	var vals []byte
	for _, v := range []float32{x, 3, 1.5, 0.2} {
		vals = protowire.AppendFixed32(vals, math.Float32bits(v))
	}
	shape := protowire.AppendVarint(protowire.AppendVarint(nil, 1), 4)
	tensor := byt(byt(str(str(nil, 1, "predict"), 2, "FP32"), 3, shape), 5, byt(nil, 6, vals))
	return byt(str(str(nil, 1, "iris"), 3, id), 5, tensor)
}

// seldonResponse is a protobuf ModelInferResponse (5 outputs) of one INT64 class.
func seldonResponse(id string, class int64) []byte {
	str := func(b []byte, num protowire.Number, s string) []byte {
		return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
	}
	byt := func(b []byte, num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
	}
	tensor := byt(byt(str(str(nil, 1, "predict"), 2, "INT64"), 3, protowire.AppendVarint(nil, 1)), 5, byt(nil, 3, protowire.AppendVarint(nil, uint64(class))))
	return byt(str(str(nil, 1, "iris"), 3, id), 5, tensor)
}
