package monitor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/event"
)

// TestIngestAllocatesNothingPerEvent applies NDJSON batches of 1,000 predictions with
// fresh ids, and the labels of half of them, to a warm exact-mode model whose label
// join is full (so every batch also evicts): in steady state an event costs no heap
// allocation. What a batch allocates (its response) does not grow with its events.
func TestIngestAllocatesNothingPerEvent(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	const batch = 1000
	for _, tc := range []struct {
		name, mode string
		labels     bool
		perBatch   float64 // most allocations per 1,000-event batch
	}{
		{"predictions", ModeExact, false, 20},
		{"predictions and labels", ModeExact, true, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := strings.Replace(benchConfig(5000, tc.mode), "max_pending: 5000", "max_pending: 3000", 1)
			path := filepath.Join(dir, "vigil.yaml")
			require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
			m, err := New(Options{ConfigFile: path, Registry: prometheus.NewRegistry()})
			require.NoError(t, err)
			st := m.state.Load()
			r := rand.New(rand.NewPCG(5, 6))
			preds := make([][]byte, 8)
			labels := make([][]byte, len(preds))
			for i := range preds {
				preds[i] = benchBatch(batch, r, i*batch)
				var lb strings.Builder
				for j := 0; j < batch; j += 2 {
					fmt.Fprintf(&lb, `{"model":"fraud","id":"req-%d","label":%d}`+"\n", i*batch+j, r.IntN(2))
				}
				labels[i] = []byte(lb.String())
			}
			k := 0
			step := func() {
				i := k % len(preds)
				k++
				if resp, _, msg := m.apply(context.Background(), st, kindPrediction, preds[i], event.NDJSON, ""); msg != "" || resp.Accepted != batch {
					t.Fatalf("predictions: %v %s", resp, msg)
				}
				if tc.labels {
					if resp, _, msg := m.apply(context.Background(), st, kindLabel, labels[i], event.NDJSON, ""); msg != "" || resp.Accepted != batch/2 {
						t.Fatalf("labels: %v %s", resp, msg)
					}
				}
			}
			for range 3 * len(preds) { // windows and the label join full, buffers grown
				step()
			}
			allocs := testing.AllocsPerRun(2*len(preds), step)
			t.Logf("%.1f allocations per batch of %d predictions", allocs, batch)
			require.LessOrEqual(t, allocs, tc.perBatch)
		})
	}
}
