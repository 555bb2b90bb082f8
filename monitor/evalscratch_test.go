package monitor

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/event"
)

// scratchModels declares models of different shapes and modes: streaming and exact, a
// first-N and a previous reference, binary scores and regression, threshold: auto and the
// multivariate test.
const scratchModels = `models:
  - name: s
    task: binary_classification
    positive_class: "yes"
    window: {size: 3000, mode: streaming}
    reference: {window: first, size: 2000}
    features:
      - {name: a, type: numeric}
      - {name: b, type: numeric, drift: {threshold: auto}}
      - {name: c, type: numeric, min: 0, max: 60, drift: {method: psi}}
      - {name: d, type: categorical}
      - {name: e, type: categorical, drift: {threshold: auto}}
  - name: r
    task: regression
    window: {size: 3000, mode: streaming}
    reference: {window: first, size: 2500}
    features:
      - {name: a, type: numeric}
      - {name: d, type: categorical}
  - name: x
    task: regression
    window: {size: 3000}
    reference: {window: first, size: 2000}
    drift: {multivariate: true}
    features:
      - {name: a, type: numeric}
      - {name: b, type: numeric, drift: {threshold: auto}}
      - {name: d, type: categorical}
  - name: p
    task: binary_classification
    positive_class: "yes"
    window: {size: 2000}
    reference: {window: previous}
    features:
      - {name: a, type: numeric}
      - {name: d, type: categorical}
`

// testModels builds the model states of a config, in its order.
func testModels(t *testing.T, yaml string) []*modelState {
	t.Helper()
	cfg, err := Load([]byte(yaml))
	require.NoError(t, err)
	c := func() prometheus.Counter { return prometheus.NewCounter(prometheus.CounterOpts{Name: "x"}) }
	var out []*modelState
	for _, mc := range cfg.Models {
		mm := &modelMetrics{predictions: c(), labels: c(), evictedPredTTL: c(), evictedPredCapacity: c(),
			evictedLabelTTL: c(), evictedLabelCapacity: c(), schemaViolations: c()}
		out = append(out, newModelState(mc, mm, nil))
	}
	return out
}

// testEpoch is the arrival time of prediction 0 of feedModel; prediction k arrives k ms later.
var testEpoch = time.Unix(1700000000, 0)

// testEvents is prediction k of feedModel for m and its label (nil for odd k): every 20th
// feature value missing; from 4,000 on the inputs and outputs drift. The values are a
// function of seed and k.
func testEvents(m *modelState, k int, seed uint64) (*event.Prediction, *event.Label) {
	r := rand.New(rand.NewPCG(seed, uint64(k)))
	shift := 0.0
	if k > 4000 {
		shift = 0.3
	}
	p := &event.Prediction{Model: m.cfg.Name, ID: fmt.Sprint(k)}
	for _, f := range m.cfg.Features {
		var v event.Value
		switch {
		case r.IntN(20) == 0:
		case f.Type == Numeric:
			v = event.NumberValue(30 + 10*r.NormFloat64() + 10*shift)
		default:
			v = event.StringValue(fmt.Sprintf("v%d", min(r.IntN(8), r.IntN(12))))
		}
		p.Features = append(p.Features, event.Feature{Name: f.Name, Value: v})
	}
	if m.cfg.Task == Regression {
		p.Prediction = event.NumberValue(r.NormFloat64() + shift)
	} else {
		p.Score, p.HasScore = r.Float64()*(1-shift/2), true
	}
	if k%2 != 0 {
		return p, nil
	}
	l := &event.Label{Model: m.cfg.Name, ID: fmt.Sprint(k), Label: event.StringValue("yes")}
	if m.cfg.Task == Regression {
		l.Label = event.NumberValue(r.NormFloat64())
	}
	return p, l
}

// feedModel sends predictions from, …, to-1 of testEvents to m, prediction k arriving k ms
// after testEpoch.
func feedModel(t *testing.T, m *modelState, from, to int, seed uint64) {
	t.Helper()
	for k := from; k < to; k++ {
		p, l := testEvents(m, k, seed)
		at := testEpoch.Add(time.Duration(k) * time.Millisecond)
		require.Nil(t, m.addPrediction(p, at))
		if l != nil {
			require.Nil(t, m.addLabel(l, at))
		}
	}
}

// statsJSON is a model's statistics as the API gives them (NaN-free, comparable).
func statsJSON(t *testing.T, st ModelStats) string {
	t.Helper()
	b, err := json.Marshal(st)
	require.NoError(t, err)
	return string(b)
}

// TestSharedScratchSameStatistics evaluates models of different shapes in turn with one
// scratch, as the evaluation loop does, and twins of them each with a scratch of its own:
// at every tick (reference filling, just full, frozen and cached, drifting) the statistics
// must be equal.
func TestSharedScratchSameStatistics(t *testing.T) {
	shared, own := testModels(t, scratchModels), testModels(t, scratchModels)
	var scratch evalScratch
	owned := make([]*evalScratch, len(own))
	for i := range owned {
		owned[i] = &evalScratch{}
	}
	k := 0
	for _, tc := range []struct {
		name string
		n    int
	}{
		{"reference filling", 500},
		{"reference almost full", 1499},
		{"first-N references full", 1},
		{"one more", 1},
		{"current windows filling", 700},
		{"frozen references cached", 2000},
		{"drift", 3000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := testEpoch.Add(time.Duration(k+tc.n) * time.Millisecond)
			for i := range shared {
				feedModel(t, shared[i], k, k+tc.n, 1)
				feedModel(t, own[i], k, k+tc.n, 1)
			}
			// Reverse order for the own-scratch twins, so no order of sharing is assumed.
			want := make([]string, len(own))
			for i := len(own) - 1; i >= 0; i-- {
				want[i] = statsJSON(t, own[i].evaluate(at, owned[i]))
			}
			for i, m := range shared {
				require.JSONEq(t, want[i], statsJSON(t, m.evaluate(at, &scratch)), m.cfg.Name)
			}
		})
		k += tc.n
	}
}
