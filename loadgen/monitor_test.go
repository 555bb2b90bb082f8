package loadgen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilml/vigil/loadgen"
	"github.com/vigilml/vigil/monitor"
)

// TestAgainstVigil runs a real vigil, on 127.0.0.1:0, with the config Spec.Config and
// Options.SourceConfig print, sends it load over each transport, and checks that it took
// every event loadgen reports as accepted.
func TestAgainstVigil(t *testing.T) {
	for _, tc := range []struct {
		name      string
		spec      loadgen.Spec
		transport string
	}{
		{"binary", loadgen.Spec{Model: "lg", Task: loadgen.BinaryClassification, Features: 20, Categorical: 2, Categories: 10, WindowSize: 5000}, loadgen.TransportHTTP},
		{"regression streaming", loadgen.Spec{Model: "reg", Task: loadgen.Regression, Features: 5, Categorical: 1, Categories: 3, WindowSize: 2000, WindowMode: monitor.ModeStreaming}, loadgen.TransportHTTP},
		{"three models", loadgen.Spec{Model: "multi", Models: 3, Task: loadgen.BinaryClassification, Features: 4, Categorical: 1, Categories: 2, WindowSize: 5000}, loadgen.TransportHTTP},
		{"kafka binary", loadgen.Spec{Model: "lg", Task: loadgen.BinaryClassification, Features: 20, Categorical: 2, Categories: 10, WindowSize: 5000}, loadgen.TransportKafka},
		{"kafka two regression models", loadgen.Spec{Model: "kreg", Models: 2, Task: loadgen.Regression, Features: 5, Categorical: 1, Categories: 3, WindowSize: 5000}, loadgen.TransportKafka},
		{"cloudevents binary", loadgen.Spec{Model: "lg", Task: loadgen.BinaryClassification, Features: 20, Categorical: 2, Categories: 10, WindowSize: 5000}, loadgen.TransportCloudEvents},
		{"cloudevents three regression models", loadgen.Spec{Model: "cereg", Models: 3, Task: loadgen.Regression, Features: 5, Categorical: 1, Categories: 3, WindowSize: 5000}, loadgen.TransportCloudEvents},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := loadgen.Options{Spec: tc.spec, Transport: tc.transport, Count: 12000, BatchSize: 500, Concurrency: 4, LabelRatio: 0.5}
			var kafkaOpts []kgo.Opt
			if tc.transport == loadgen.TransportKafka {
				cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "vigil-predictions", "vigil-labels"))
				require.NoError(t, err)
				defer cluster.Close()
				opts.Kafka.Brokers = cluster.ListenAddrs()
				kafkaOpts = []kgo.Opt{kgo.FetchMaxWait(50 * time.Millisecond)}
			}
			dir := t.TempDir()
			cfg := strings.Replace(tc.spec.Config(), "global: {evaluation_interval: 10s}",
				"global: {evaluation_interval: 1h, storage_path: "+filepath.Join(dir, "data")+"}", 1) + opts.SourceConfig()
			path := filepath.Join(dir, "vigil.yaml")
			require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
			m, err := monitor.New(monitor.Options{ConfigFile: path, ListenAddress: "127.0.0.1:0", Registry: prometheus.NewRegistry(), KafkaOpts: kafkaOpts})
			require.NoError(t, err)
			require.NoError(t, m.Start())
			defer func() { require.NoError(t, m.Stop(t.Context())) }()

			const n = 12000
			opts.URL = "http://" + m.Addr().String()
			rep, err := loadgen.Run(t.Context(), opts)
			require.NoError(t, err)
			require.True(t, rep.OK(), "%+v", rep)
			require.Equal(t, int64(n), rep.Predictions.Accepted)
			require.Equal(t, int64(n), rep.Predictions.Sent)
			require.Equal(t, tc.transport, rep.Transport)
			require.Equal(t, int64(n/500), rep.Predictions.Requests, "one request or produce per batch")
			require.Positive(t, rep.Labels.Sent)
			m.Evaluate(time.Now())
			names := tc.spec.ModelNames()
			var preds, labels uint64
			for _, name := range names {
				s, ok := m.Stats(name)
				require.True(t, ok, name)
				require.Equal(t, uint64(n/len(names)), s.Events.Predictions, "batches go to each model in turn")
				require.Empty(t, s.UnknownFeatures, "the printed config declares every feature sent")
				require.Zero(t, s.Labels.PendingLabels, "every label found its prediction")
				require.Equal(t, min(int(s.Events.Labels), tc.spec.WindowSize), s.Windows.Labeled)
				preds += s.Events.Predictions
				labels += s.Events.Labels
			}
			require.Equal(t, uint64(n), preds)
			require.Equal(t, uint64(rep.Labels.Accepted), labels)
		})
	}
}
