package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilml/vigil/monitor"
)

// TestLoadgen: the config --print-config writes is valid, and a vigil started with it
// accepts every event `vigil loadgen` sends with the same flags.
func TestLoadgen(t *testing.T) {
	flags := []string{"--model", "lgcli", "--features", "8", "--categorical", "3"}
	var out, errb bytes.Buffer
	require.Equal(t, 0, run(append([]string{"loadgen", "--print-config", "--models", "2"}, flags...), &out, &errb), errb.String())
	dir := t.TempDir()
	path := filepath.Join(dir, "lg.yaml")
	cfg := strings.Replace(out.String(), "evaluation_interval: 10s", "evaluation_interval: 1h, storage_path: "+filepath.Join(dir, "data"), 1)
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	out.Reset()
	require.Equal(t, 0, run([]string{"check", "config", path}, &out, &errb), errb.String())
	require.Contains(t, out.String(), "lgcli-001 (binary_classification): 8 feature(s)")

	m, err := monitor.New(monitor.Options{ConfigFile: path, ListenAddress: "127.0.0.1:0", Registry: prometheus.NewRegistry()})
	require.NoError(t, err)
	require.NoError(t, m.Start())
	defer func() { require.NoError(t, m.Stop(t.Context())) }()

	out.Reset()
	code := run(append([]string{"loadgen", "--url", "http://" + m.Addr().String(), "--count", "3000", "--batch-size", "250", "--models", "2",
		"--concurrency", "3", "--output", "json", "--drift-after", "0s", "--drift-shift", "0.5"}, flags...), &out, &errb)
	require.Equal(t, 0, code, errb.String())
	var rep struct {
		Predictions struct{ Sent, Accepted int }
		Labels      struct{ Sent, Accepted int }
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.Equal(t, 3000, rep.Predictions.Sent)
	require.Equal(t, 3000, rep.Predictions.Accepted)
	require.Equal(t, 3000, rep.Labels.Accepted, "--labels defaults to every prediction")

	// A model vigil does not know: every event is rejected, and the exit code says so.
	out.Reset()
	require.Equal(t, 1, run([]string{"loadgen", "--url", "http://" + m.Addr().String(), "--model", "nope", "--count", "10"}, &out, &errb))
	require.Contains(t, out.String(), `unknown model "nope"`)
	require.Contains(t, out.String(), "NOT OK")
}

// TestLoadgenKafka: --print-config with --transport kafka declares the topics, and a vigil
// started with that config consumes every event `vigil loadgen --transport kafka` produces
// to franz-go's in-process Kafka.
func TestLoadgenKafka(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "preds", "labs"))
	require.NoError(t, err)
	defer cluster.Close()
	flags := []string{"--model", "lgk", "--features", "6", "--categorical", "2", "--transport", "kafka",
		"--kafka-brokers", strings.Join(cluster.ListenAddrs(), ","), "--kafka-topic", "preds", "--kafka-label-topic", "labs"}
	var out, errb bytes.Buffer
	require.Equal(t, 0, run(append([]string{"loadgen", "--print-config"}, flags...), &out, &errb), errb.String())
	require.Contains(t, out.String(), `topics: ["preds"], label_topics: ["labs"]`)
	dir := t.TempDir()
	path := filepath.Join(dir, "lg.yaml")
	cfg := strings.Replace(out.String(), "evaluation_interval: 10s", "evaluation_interval: 1h, storage_path: "+filepath.Join(dir, "data"), 1)
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))

	m, err := monitor.New(monitor.Options{ConfigFile: path, ListenAddress: "127.0.0.1:0", Registry: prometheus.NewRegistry(),
		KafkaOpts: []kgo.Opt{kgo.FetchMaxWait(50 * time.Millisecond)}})
	require.NoError(t, err)
	require.NoError(t, m.Start())
	defer func() { require.NoError(t, m.Stop(t.Context())) }()

	out.Reset()
	code := run(append([]string{"loadgen", "--url", "http://" + m.Addr().String(), "--count", "2000", "--batch-size", "250"}, flags...), &out, &errb)
	require.Equal(t, 0, code, errb.String()+out.String())
	require.Contains(t, out.String(), "over kafka, model lgk")
	require.Contains(t, out.String(), "predictions  sent 2000, accepted 2000")
	require.Contains(t, out.String(), "labels       sent 2000, accepted 2000")
	m.Evaluate(time.Now())
	s, ok := m.Stats("lgk")
	require.True(t, ok)
	require.Equal(t, uint64(2000), s.Events.Predictions)
	require.Equal(t, uint64(2000), s.Events.Labels)
}

func TestLoadgenFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"categorical above features", []string{"--features", "2", "--categorical", "3"}, "2 features of which 3 categorical"},
		{"task", []string{"--task", "ranking"}, `task: "ranking"`},
		{"output", []string{"--output", "xml"}, "--output is text or json"},
		{"labels share", []string{"--labels", "2", "--count", "1"}, "label ratio 2"},
		{"not http", []string{"--url", "localhost:9780"}, "want http://host:port"},
		{"transport", []string{"--transport", "grpc"}, `--transport "grpc": want http, kafka or cloudevents`},
		{"kafka without brokers", []string{"--transport", "kafka", "--print-config"}, "--transport kafka needs --kafka-brokers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			require.Equal(t, 2, run(append([]string{"loadgen"}, tc.args...), &out, &errb))
			require.Contains(t, errb.String(), tc.want)
		})
	}
}
