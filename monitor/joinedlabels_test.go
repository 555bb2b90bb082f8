package monitor

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLabelBeforeShadowPredictions: a label that arrives before the primary and the
// shadow prediction of its request joins both, whatever the order, and the canary sees
// both versions labeled.
func TestLabelBeforeShadowPredictions(t *testing.T) {
	d := startDaemon(t, `
global: {evaluation_interval: 1h}
models:
  - name: m
    task: binary_classification
    canary: {baseline: v1, candidate: v2, min_samples: 2}
`)
	var preds, labels []string
	for i := range 20 {
		id := fmt.Sprintf("r%d", i)
		labels = append(labels, fmt.Sprintf(`{"model":"m","id":%q,"label":1}`, id))
		preds = append(preds,
			fmt.Sprintf(`{"model":"m","version":"v1","id":%q,"prediction":1}`, id),
			fmt.Sprintf(`{"model":"m","version":"v2","role":"shadow","id":%q,"prediction":0}`, id))
	}
	// Half the labels come first, half after both predictions.
	post := func(path string, lines []string) {
		r := d.post(t, path, "application/x-ndjson", strings.Join(lines, "\n"))
		require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	}
	post("/api/v1/labels", labels[:10])
	post("/api/v1/predictions", preds)
	post("/api/v1/labels", labels[10:])
	d.m.Evaluate(d.clock.Now())
	st, ok := d.m.Stats("m")
	require.True(t, ok)
	require.NotNil(t, st.Canary)
	require.Equal(t, 20, st.Canary.Samples.BaselineLabeled)
	require.Equal(t, 20, st.Canary.Samples.CandidateLabeled)
	require.Zero(t, st.Labels.PendingPredictions, "no shadow prediction waits for a label that came first")
	require.Zero(t, st.Labels.PendingLabels)
}
