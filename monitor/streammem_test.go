package monitor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/event"
)

// maxStreamBytesPerFeature is the memory budget of one feature's streaming window: all its
// panes and the merged summary an evaluation builds from them.
const maxStreamBytesPerFeature = 32 << 10

// streamMemCase is one window configuration and one distribution of feature values.
type streamMemCase struct {
	name        string
	window      int                        // window.size (10 panes)
	values      int                        // predictions sent after the reference
	categorical bool                       // the features are categorical
	gen         func(r *rand.Rand) float64 // numeric value, or category number
}

// streamWindowBytes fills a streaming model of nFeat features (all numeric or all
// categorical) with the reference and then tc.values predictions through addPrediction,
// and returns the live heap that its window's panes hold, and the live heap of the merged
// summary an evaluation builds (runtime.ReadMemStats after GC, with and without them).
func streamWindowBytes(t *testing.T, tc streamMemCase, nFeat int) (panes, merged int) {
	t.Helper()
	typ := "numeric"
	if tc.categorical {
		typ = "categorical"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "models:\n  - name: m\n    task: regression\n    window: {size: %d, mode: streaming}\n    reference: {window: first, size: 10000}\n    features:\n", tc.window)
	for i := range nFeat {
		fmt.Fprintf(&b, "      - {name: f%d, type: %s}\n", i, typ)
	}
	cfg, err := Load([]byte(b.String()))
	require.NoError(t, err)
	c := func() prometheus.Counter { return prometheus.NewCounter(prometheus.CounterOpts{Name: "x"}) }
	mm := &modelMetrics{predictions: c(), labels: c(), evictedPredTTL: c(), evictedPredCapacity: c(),
		evictedLabelTTL: c(), evictedLabelCapacity: c(), schemaViolations: c()}
	m := newModelState(cfg.Models[0], mm, nil)

	r := rand.New(rand.NewPCG(uint64(tc.window), uint64(tc.values)))
	cats := make([]string, 2000)
	for i := range cats {
		cats[i] = fmt.Sprintf("category-%d", i)
	}
	p := event.Prediction{Model: "m", Features: make([]event.Feature, nFeat)}
	for i := range p.Features {
		p.Features[i].Name = fmt.Sprintf("f%d", i)
	}
	arrival := time.Unix(1700000000, 0)
	for i := range 10000 + tc.values {
		for f := range p.Features {
			v := tc.gen(r)
			if tc.categorical {
				p.Features[f].Value = event.StringValue(cats[int(v)])
			} else {
				p.Features[f].Value = event.NumberValue(v)
			}
		}
		p.Prediction = event.NumberValue(r.NormFloat64())
		require.Nil(t, m.addPrediction(&p, arrival.Add(time.Duration(i)*time.Millisecond)))
	}
	require.True(t, m.stream.ready)

	heap := func() int {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int(ms.HeapAlloc)
	}
	h0 := heap()
	sm := m.stream.merge(0, 0)
	h1 := heap()
	require.Equal(t, min(tc.window, tc.values), sm.n)
	runtime.KeepAlive(sm)
	sm = nil
	m.stream = nil
	h2 := heap()
	runtime.KeepAlive(m)
	return h0 - h2, h1 - h0
}

// TestStreamingWindowMemory fills streaming windows with up to 1M values of several
// distributions through the model's ingest path and fails when one feature's window (its
// panes and the merged summary of an evaluation) takes more than 32 KiB.
// VIGIL_STREAM_MEMORY=1 prints the sizes.
func TestStreamingWindowMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation sizes")
	}
	if testing.Short() {
		t.Skip("fills windows with millions of values")
	}
	normal := func(r *rand.Rand) float64 { return 50 + 10*r.NormFloat64() }
	cases := []streamMemCase{
		{"normal, window 10k, 1M values", 10_000, 1_000_000, false, normal},
		{"normal, window 1M", 1_000_000, 1_000_000, false, normal},
		{"lognormal(0,1), window 1M", 1_000_000, 1_000_000, false, func(r *rand.Rand) float64 { return math.Exp(r.NormFloat64()) }},
		{"uniform(0,1), window 1M", 1_000_000, 1_000_000, false, func(r *rand.Rand) float64 { return r.Float64() }},
		{"integers, floor(lognormal(2,1)), window 1M", 1_000_000, 1_000_000, false, func(r *rand.Rand) float64 { return math.Floor(math.Exp(2 + r.NormFloat64())) }},
		{"20 categories, window 1M", 1_000_000, 1_000_000, true, func(r *rand.Rand) float64 { return float64(r.IntN(20)) }},
		{"200 categories (Zipf), window 1M", 1_000_000, 1_000_000, true, func(r *rand.Rand) float64 { return float64(min(199, int(math.Exp(r.Float64()*math.Log(200))))) }},
	}
	var table strings.Builder
	sums := make([]int, len(cases))
	for i, tc := range cases {
		// Per feature: the difference between windows of 9 and 1 features, over 8.
		p9, m9 := streamWindowBytes(t, tc, 9)
		p1, m1 := streamWindowBytes(t, tc, 1)
		panes, merged := (p9-p1)/8, (m9-m1)/8
		fmt.Fprintf(&table, "| %s | %d | %d | %d |\n", tc.name, panes, merged, panes+merged)
		sums[i] = panes + merged
	}
	if os.Getenv("VIGIL_STREAM_MEMORY") != "" {
		t.Logf("bytes per feature per window (panes, merged, sum):\n%s", table.String())
	}
	for i, tc := range cases {
		require.LessOrEqual(t, sums[i], maxStreamBytesPerFeature, tc.name)
	}
}
