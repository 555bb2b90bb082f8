package loadgen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/loadgen"
	"github.com/vigilml/vigil/monitor"
)

// TestAgainstVigil runs a real vigil, on 127.0.0.1:0, with the config Spec.Config prints
// and checks that it took every event loadgen reports as accepted.
func TestAgainstVigil(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec loadgen.Spec
	}{
		{"binary", loadgen.Spec{Model: "lg", Task: loadgen.BinaryClassification, Features: 20, Categorical: 2, Categories: 10, WindowSize: 5000}},
		{"regression streaming", loadgen.Spec{Model: "reg", Task: loadgen.Regression, Features: 5, Categorical: 1, Categories: 3, WindowSize: 2000, WindowMode: monitor.ModeStreaming}},
		{"three models", loadgen.Spec{Model: "multi", Models: 3, Task: loadgen.BinaryClassification, Features: 4, Categorical: 1, Categories: 2, WindowSize: 5000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := strings.Replace(tc.spec.Config(), "global: {evaluation_interval: 10s}",
				"global: {evaluation_interval: 1h, storage_path: "+filepath.Join(dir, "data")+"}", 1)
			path := filepath.Join(dir, "vigil.yaml")
			require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
			m, err := monitor.New(monitor.Options{ConfigFile: path, ListenAddress: "127.0.0.1:0", Registry: prometheus.NewRegistry()})
			require.NoError(t, err)
			require.NoError(t, m.Start())
			defer func() { require.NoError(t, m.Stop(t.Context())) }()

			const n = 12000
			rep, err := loadgen.Run(t.Context(), loadgen.Options{
				URL: "http://" + m.Addr().String(), Spec: tc.spec, Count: n, BatchSize: 500, Concurrency: 4, LabelRatio: 0.5,
			})
			require.NoError(t, err)
			require.True(t, rep.OK(), "%+v", rep)
			require.Equal(t, int64(n), rep.Predictions.Accepted)
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
