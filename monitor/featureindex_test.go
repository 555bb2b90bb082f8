package monitor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/event"
)

// TestFeatureOrder: features are found by name whatever order each record lists them in
// (the position cache only speeds up a repeated order), and undeclared ones are counted.
func TestFeatureOrder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`global: {evaluation_interval: 1h, storage_path: `+filepath.Join(dir, "data")+`}
models:
  - name: m
    task: regression
    window: {size: 100}
    reference: {window: first, size: 1}
    features:
      - {name: a, type: numeric}
      - {name: b, type: numeric}
      - {name: c, type: categorical}
`), 0o600))
	m, err := New(Options{ConfigFile: path, Registry: prometheus.NewRegistry()})
	require.NoError(t, err)
	records := []string{
		`{"model":"m","features":{"a":1,"b":10,"c":"x"},"prediction":0}`, // the reference
		`{"model":"m","features":{"a":1,"b":10,"c":"x"},"prediction":0}`,
		`{"model":"m","features":{"c":"y","a":2,"b":20},"prediction":0}`,
		`{"model":"m","features":{"b":30,"zz":1,"a":3},"prediction":0}`,
		`{"model":"m","features":{"zz":2,"b":40},"prediction":0}`,
		`{"model":"m","features":{"a":5,"b":50,"c":"x"},"prediction":0}`,
	}
	resp, _, msg := m.apply(context.Background(), m.state.Load(), kindPrediction, []byte(strings.Join(records, "\n")), event.NDJSON, "")
	require.Empty(t, msg)
	require.Equal(t, len(records), resp.Accepted)
	m.Evaluate(time.Now())
	s, ok := m.Stats("m")
	require.True(t, ok)
	got := map[string]int{}
	for _, f := range s.Features {
		got[f.Name] = f.Current
	}
	require.Equal(t, 5, got["a"], "a in 5 of the 6 records of the current window")
	require.Equal(t, 6, got["b"])
	require.Equal(t, 4, got["c"])
	require.Equal(t, map[string]uint64{"zz": 2}, s.UnknownFeatures)

	// The values land in their own columns, whatever the order.
	ms := m.state.Load().models["m"]
	ms.mu.Lock()
	defer ms.mu.Unlock()
	var a, b []float64
	for i := range ms.window.r.n {
		j := ms.window.r.slot(i)
		a = append(a, ms.window.num[0][j])
		b = append(b, ms.window.num[1][j])
	}
	require.Equal(t, []float64{10, 10, 20, 30, 40, 50}, b)
	require.Equal(t, []float64{1, 1, 2, 3}, a[:4])
	require.NotEqual(t, a[4], a[4], "missing a is NaN")
	require.Equal(t, 5.0, a[5])
}
