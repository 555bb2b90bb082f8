package monitor

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/vigilml/vigil/drift"
	"github.com/vigilml/vigil/drift/anomaly"
)

// The model's own time series that get anomaly scores, one value per evaluation tick from
// the predictions that arrived since the previous tick.
const (
	SignalPredictionRate = "prediction_rate" // predictions per second
	SignalMeanScore      = "mean_score"      // mean of score (binary models)
	SignalPositiveRate   = "positive_rate"   // share of positive predictions (binary models)
	SignalMissingRatio   = "missing_ratio"   // share of declared feature values missing
	SignalLatencyP95     = "latency_p95_ms"  // 95th percentile of latency_ms
)

var anomalySignals = []string{SignalPredictionRate, SignalMeanScore, SignalPositiveRate, SignalMissingRatio, SignalLatencyP95}

// maxTickLatencies bounds the latencies kept per tick; past it a reservoir sample is kept.
const maxTickLatencies = 10000

// tickAccumulator sums what arrives between two evaluation ticks. Guarded by modelState.mu.
type tickAccumulator struct {
	predictions   int
	scoreSum      float64
	scored        int
	positives     int
	predicted     int
	featureValues int
	featureMiss   int
	latencies     []float64
	latencySeen   int
	rng           *rand.Rand
}

func (a *tickAccumulator) add(score, pred float64, binary bool, present, declared int, latency float64, hasLatency bool) {
	a.predictions++
	if !math.IsNaN(score) && binary {
		a.scoreSum += score
		a.scored++
	}
	if !math.IsNaN(pred) && binary {
		a.predicted++
		if pred == 1 {
			a.positives++
		}
	}
	a.featureValues += declared
	a.featureMiss += declared - present
	if hasLatency {
		a.latencySeen++
		if len(a.latencies) < maxTickLatencies {
			a.latencies = append(a.latencies, latency)
		} else if j := a.rng.IntN(a.latencySeen); j < maxTickLatencies {
			a.latencies[j] = latency // reservoir sampling: every latency equally likely kept
		}
	}
}

func (a *tickAccumulator) reset() {
	lat, rng := a.latencies[:0], a.rng
	*a = tickAccumulator{latencies: lat, rng: rng}
}

// AnomalySignal is one of the model's own time series at an evaluation.
type AnomalySignal struct {
	Signal string `json:"signal"`
	// Value is the signal over the predictions since the previous tick.
	Value *float64 `json:"value,omitempty"`
	// Score is the robust z-score of Value against the signal's history; absent while
	// the scorer warms up or without a value.
	Score *float64 `json:"score,omitempty"`
	// Alarm is true when the CUSUM change detector alarmed at this tick.
	Alarm bool `json:"alarm"`
	// Alarms counts the detector's alarms since the model's state was created.
	Alarms uint64 `json:"alarms"`
}

// detectors are one signal's scorer and change detector. Only the evaluation loop uses them.
type detectors struct {
	scorer *anomaly.Scorer
	cusum  *anomaly.CUSUM
	alarms uint64
}

// anomalyState is a model's detectors and the time of its previous tick.
type anomalyState struct {
	last    time.Time
	signals map[string]*detectors
}

func newAnomalyState() *anomalyState {
	st := &anomalyState{signals: map[string]*detectors{}}
	for _, name := range anomalySignals {
		sc, _ := anomaly.NewScorer(anomaly.ScorerOptions{}) // defaults are valid
		cu, _ := anomaly.NewCUSUM(anomaly.CUSUMOptions{})   // defaults are valid
		st.signals[name] = &detectors{scorer: sc, cusum: cu}
	}
	return st
}

// anomalies closes the tick at ts: it computes each signal over the predictions since the
// previous tick and updates its detectors. The first tick only starts the clock.
func (m *modelState) anomalies(ts time.Time, as *anomalyState) []AnomalySignal {
	m.mu.Lock()
	acc := m.tick
	values := map[string]float64{}
	if !as.last.IsZero() && ts.After(as.last) {
		values[SignalPredictionRate] = float64(acc.predictions) / ts.Sub(as.last).Seconds()
	}
	if acc.scored > 0 {
		values[SignalMeanScore] = acc.scoreSum / float64(acc.scored)
	}
	if acc.predicted > 0 {
		values[SignalPositiveRate] = float64(acc.positives) / float64(acc.predicted)
	}
	if acc.featureValues > 0 {
		values[SignalMissingRatio] = float64(acc.featureMiss) / float64(acc.featureValues)
	}
	if len(acc.latencies) > 0 {
		values[SignalLatencyP95] = drift.NewSample(acc.latencies).Quantile(0.95)
	}
	m.tick.reset()
	m.mu.Unlock()
	as.last = ts

	out := make([]AnomalySignal, 0, len(anomalySignals))
	for _, name := range anomalySignals {
		d := as.signals[name]
		sig := AnomalySignal{Signal: name, Alarms: d.alarms}
		if v, ok := values[name]; ok {
			sig.Value = ptr(v)
			if z, ok := d.scorer.Update(v); ok {
				sig.Score = ptr(z)
				if d.cusum.Update(z) {
					d.alarms++
					sig.Alarm, sig.Alarms = true, d.alarms
				}
			}
		}
		out = append(out, sig)
	}
	return out
}
