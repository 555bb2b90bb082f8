package monitor

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func anomalyOf(s ModelStats, signal string) AnomalySignal {
	for _, a := range s.Anomalies {
		if a.Signal == signal {
			return a
		}
	}
	return AnomalySignal{}
}

func TestAnomalySignals(t *testing.T) {
	d := startDaemon(t, `
global: {evaluation_interval: 1h}
models:
  - name: m
    task: binary_classification
    features: [{name: x, type: numeric}, {name: c, type: categorical}]
`)
	r := rand.New(rand.NewPCG(3, 3))
	tick := func(n int, latency float64, missingEvery int) ModelStats {
		t.Helper()
		if n > 0 {
			sendRows(t, d, n, func(i int) string {
				x := "1"
				if missingEvery > 0 && i%missingEvery == 0 {
					x = "null"
				}
				score := 0.3 + 0.1*r.Float64()
				return fmt.Sprintf(`{"model":"m","features":{"x":%s,"c":"a"},"score":%.4f,"latency_ms":%.3f}`, x, score, latency+r.NormFloat64())
			})
		}
		d.m.Evaluate(d.clock.Add(10 * time.Second))
		return d.stats(t, "m")
	}
	var s ModelStats
	for range 40 {
		s = tick(100+r.IntN(10), 10, 0)
	}
	rate := anomalyOf(s, SignalPredictionRate)
	require.NotNil(t, rate.Score, "warmed up after 40 ticks")
	require.InDelta(t, 10.45, *rate.Value, 0.6, "about 100 predictions per 10 s")
	require.Less(t, *anomalyOf(s, SignalLatencyP95).Score, 4.0)
	require.Equal(t, 0.0, *anomalyOf(s, SignalPositiveRate).Value, "scores below 0.5 predict negative")
	require.Equal(t, 0.0, *anomalyOf(s, SignalMissingRatio).Value)

	// Latency jumps to 50 ms and half the x values go missing.
	s = tick(100, 50, 2)
	require.Greater(t, *anomalyOf(s, SignalLatencyP95).Score, 10.0)
	require.InDelta(t, 0.25, *anomalyOf(s, SignalMissingRatio).Value, 1e-12, "one of two declared features missing in half the rows")
	require.Greater(t, *anomalyOf(s, SignalMissingRatio).Score, 10.0)

	// The feed dies: rate 0, a large negative score; mean score has no value.
	s = tick(0, 0, 0)
	require.Equal(t, 0.0, *anomalyOf(s, SignalPredictionRate).Value)
	require.Less(t, *anomalyOf(s, SignalPredictionRate).Score, -10.0)
	require.Nil(t, anomalyOf(s, SignalMeanScore).Value)

	// A lasting latency shift trips the change detector.
	for range 10 {
		s = tick(100, 50, 0)
	}
	require.Positive(t, anomalyOf(s, SignalLatencyP95).Alarms)
	body := string(d.get(t, "/metrics").body)
	require.Contains(t, body, `vigil_anomaly_signal_value{model="m",signal="prediction_rate"}`)
	require.Contains(t, body, `vigil_anomaly_score{model="m",signal="latency_p95_ms"}`)
	require.True(t, strings.Contains(body, `vigil_anomaly_alarms_total{model="m",signal="latency_p95_ms"} `))
}
