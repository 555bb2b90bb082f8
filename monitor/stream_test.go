package monitor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestStreamingMatchesExact feeds the same traffic to a model in exact mode and its twin in
// streaming mode: the binned statistics must be identical and KS and Wasserstein within the
// sketch's documented error.
func TestStreamingMatchesExact(t *testing.T) {
	model := func(name, mode string) string {
		return fmt.Sprintf(`
  - name: %s
    task: binary_classification
    window: {size: 5000, mode: %s}
    reference: {window: first, size: 5000}
    features:
      - {name: x, type: numeric}
      - {name: c, type: categorical}
      - {name: y, type: numeric, max: 3}
`, name, mode)
	}
	d := startDaemon(t, "global: {evaluation_interval: 1h}\nmodels:"+model("exact", "exact")+model("stream", "streaming"))
	r := rand.New(rand.NewPCG(61, 62))
	type row struct {
		x, y, s float64
		c       string
		miss    bool
	}
	gen := func(n int, shift float64, cats []string) []row {
		rows := make([]row, n)
		for i := range rows {
			rows[i] = row{x: r.NormFloat64()*2 + shift, y: r.ExpFloat64(), s: r.Float64(), c: cats[r.IntN(len(cats))], miss: i%20 == 0}
		}
		return rows
	}
	send := func(rows []row) {
		for _, m := range []string{"exact", "stream"} {
			sendRows(t, d, len(rows), func(i int) string {
				v := rows[i]
				y := fmt.Sprintf("%g", v.y)
				if v.miss {
					y = "null"
				}
				return fmt.Sprintf(`{"model":%q,"features":{"x":%g,"y":%s,"c":%q},"score":%g}`, m, v.x, y, v.c, v.s)
			})
		}
	}
	send(gen(5000, 0, []string{"a", "b", "c"}))
	// The reference is full; the streaming window starts now.
	d.m.Evaluate(d.clock.Now())
	require.Equal(t, 0, d.stats(t, "stream").Windows.Current, "nothing after the reference yet")

	send(gen(5000, 0.3, []string{"a", "b", "c", "d"}))
	d.m.Evaluate(d.clock.Add(time.Minute))
	ex, st := d.stats(t, "exact"), d.stats(t, "stream")
	require.Equal(t, 5000, ex.Windows.Current)
	require.Equal(t, 5000, st.Windows.Current)
	for _, name := range []string{"x", "y", "c", PredictionFeature} {
		fe, fs := featureOf(ex, name), featureOf(st, name)
		require.Equal(t, fe.Current, fs.Current, name)
		require.Equal(t, fe.Reference, fs.Reference, name)
		for _, method := range []string{MethodPSI, MethodJensenShannon, MethodHellinger, MethodLInfinity, MethodChiSquare} {
			if v, ok := fe.Scores[method]; ok {
				require.InDelta(t, v, fs.Scores[method], 1e-12, "%s %s: the binned statistics are exact", name, method)
			}
		}
		if v, ok := fe.Scores[MethodKS]; ok {
			// The sketch's bound is 4e-3 at 1e3 values and 1e-3 at 1e4 (drift/sketch's doc).
			require.InDelta(t, v, fs.Scores[MethodKS], 2e-3, "%s ks", name)
			require.InDelta(t, fe.Scores[MethodWasserstein], fs.Scores[MethodWasserstein], 2e-3*math.Max(1, fe.Scores[MethodWasserstein]), "%s wasserstein", name)
		}
		require.Equal(t, *fe.Detected, *fs.Detected, "%s: the same verdict", name)
		if fe.MissingRatio != nil {
			require.Equal(t, *fe.MissingRatio, *fs.MissingRatio, name)
		}
		if fe.NewCategoryRatio != nil {
			require.Equal(t, *fe.NewCategoryRatio, *fs.NewCategoryRatio, name)
		}
	}
	require.Equal(t, *featureOf(ex, "y").OutOfRangeRatio, *featureOf(st, "y").OutOfRangeRatio, "configured max")
	require.NotNil(t, ex.Multivariate)
	require.Nil(t, st.Multivariate, "the multivariate test needs rows")

	// The streaming model keeps no feature values per prediction.
	ms := d.m.state.Load().models["stream"]
	require.Empty(t, ms.window.num)
	require.Empty(t, ms.window.cat)
}

func TestStreamingDurationPanes(t *testing.T) {
	d := startDaemon(t, `
global: {evaluation_interval: 1h}
models:
  - name: m
    task: regression
    window: {duration: 10m, mode: streaming, panes: 5}
    reference: {window: first, size: 100}
    features: [{name: x, type: numeric}]
`)
	t0 := d.clock.Now()
	at := func(min float64) string {
		return t0.Add(time.Duration(min * float64(time.Minute))).Format(time.RFC3339Nano)
	}
	var b strings.Builder
	for i := range 100 { // the reference, before t0-30m
		fmt.Fprintf(&b, `{"model":"m","features":{"x":%d},"prediction":1,"timestamp":%q}`+"\n", i, at(-40))
	}
	for i := range 30 { // one prediction a minute from t0-29m to t0
		fmt.Fprintf(&b, `{"model":"m","features":{"x":%d},"prediction":1,"timestamp":%q}`+"\n", i, at(float64(i-29)))
	}
	r := d.post(t, "/api/v1/predictions", "application/x-ndjson", b.String())
	require.Zero(t, decodeIngest(t, r).Rejected, string(r.body))
	d.m.Evaluate(t0)
	// Panes of 2 minutes: the window (t0-10m, t0] is made of whole panes that reach into it.
	cur := d.stats(t, "m").Windows.Current
	require.GreaterOrEqual(t, cur, 10)
	require.LessOrEqual(t, cur, 12)
	d.m.Evaluate(t0.Add(time.Hour))
	require.Equal(t, 0, d.stats(t, "m").Windows.Current, "panes older than the window are left out")
}

func TestStreamingConfig(t *testing.T) {
	_, err := Load([]byte("models:\n  - {name: m, task: regression, window: {size: 10, mode: streaming}, reference: {window: previous}}\n"))
	require.ErrorContains(t, err, "streaming needs a fixed reference")
	_, err = Load([]byte("models:\n  - {name: m, task: regression, window: {size: 10, mode: fast}}\n"))
	require.ErrorContains(t, err, `"fast" is not one of exact, streaming`)
}

func TestStreamingFromProfile(t *testing.T) {
	results := map[string]ModelStats{}
	for _, mode := range []string{"exact", "streaming"} {
		cfg := strings.Replace(profileCfg, "window: {size: 400}", "window: {size: 400, mode: "+mode+"}", 1)
		d := startDaemonWith(t, cfg, func(dir string) { writeProfile(t, dir, 2000) })
		r := rand.New(rand.NewPCG(71, 72))
		sendRows(t, d, 400, func(int) string {
			return fmt.Sprintf(`{"model":"m","features":{"x":%g,"c":%q,"y":%g},"score":%g}`,
				r.NormFloat64()+0.5, []string{"a", "b", "c", "d"}[r.IntN(4)], r.Float64(), r.Float64())
		})
		d.m.Evaluate(d.clock.Now())
		results[mode] = d.stats(t, "m")
	}
	for _, name := range []string{"x", "c", "y", PredictionFeature} {
		fe, fs := featureOf(results["exact"], name), featureOf(results["streaming"], name)
		require.NotNil(t, fs.Detected, name)
		require.Equal(t, *fe.Detected, *fs.Detected, name)
		require.InDelta(t, fe.Scores[MethodPSI], fs.Scores[MethodPSI], 1e-12, name)
		if v, ok := fe.Scores[MethodKS]; ok {
			require.InDelta(t, v, fs.Scores[MethodKS], 4e-3, name)
		}
	}
	require.Equal(t, *featureOf(results["exact"], "c").NewCategoryRatio, *featureOf(results["streaming"], "c").NewCategoryRatio)
	require.Equal(t, *featureOf(results["exact"], "x").OutOfRangeRatio, *featureOf(results["streaming"], "x").OutOfRangeRatio)
}
