package monitor

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/event"
	"github.com/vigilml/vigil/monitor/profile"
)

// profileStreamCfg is a streaming model on a profile with threshold: auto on its numeric
// features. The profile (writeProfile) has no thresholds: they are learnt from its samples.
const profileStreamCfg = `
global: {evaluation_interval: 1h}
models:
  - name: m
    task: binary_classification
    window: {size: 400, mode: streaming}
    reference: {profile: m.json}
    drift: {min_samples: 50}
    features:
      - {name: x, type: numeric, drift: {threshold: auto}}
      - {name: c, type: categorical}
      - {name: y, type: numeric, drift: {method: wasserstein, threshold: auto}}
`

// loadProfileModel writes cfg and a profile of n rows into dir, and makes the model state
// of a config loaded from them, as the daemon would.
func loadProfileModel(t *testing.T, dir, cfg string, n int) (*modelState, *loadedProfile) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "m.json")); err != nil {
		writeProfile(t, dir, n)
	}
	path := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	c, err := LoadFile(path)
	require.NoError(t, err)
	lp := c.profiles["m"]
	m := newModelState(c.Models[0], newMetrics(nil).forModel("m"), lp)
	return m, lp
}

// TestStreamingProfileSummarised: a streaming model keeps its profile as summaries made
// when it starts, and its statistics are bit-identical to those of the way before, which
// kept the profile's samples and built the summaries at the first evaluation; after
// releaseProfileSamples, the profile holds no sample.
func TestStreamingProfileSummarised(t *testing.T) {
	dir := t.TempDir()
	lazy, _ := loadProfileModel(t, dir, profileStreamCfg, 3000)
	lazy.stream.ref = nil // the way before: no summaries, the samples at each evaluation
	m, lp := loadProfileModel(t, dir, profileStreamCfg, 3000)
	require.NotNil(t, m.stream.ref)
	require.NotNil(t, m.stream.ref.pred, "the profile's prediction is numeric (scores)")
	require.Len(t, m.stream.ref.auto, 2)
	m.releaseProfileSamples(lp)
	for _, name := range []string{"x", "y"} {
		require.Nil(t, lp.p.Feature(name).Sample, name)
	}
	require.Nil(t, lp.p.Prediction.Sample)

	r := rand.New(rand.NewPCG(5, 6))
	p := event.Prediction{Model: "m", Features: make([]event.Feature, 3)}
	for i, name := range []string{"x", "c", "y"} {
		p.Features[i].Name = name
	}
	for k := range 1000 {
		p.Features[0].Value = event.NumberValue(r.NormFloat64() + 0.3)
		p.Features[1].Value = event.StringValue([]string{"a", "b", "c", "d"}[r.IntN(4)])
		p.Features[2].Value = event.NumberValue(r.Float64() * 1.1)
		p.Score, p.HasScore = r.Float64(), true
		at := testEpoch.Add(time.Duration(k) * time.Millisecond)
		require.Nil(t, lazy.addPrediction(&p, at))
		require.Nil(t, m.addPrediction(&p, at))
	}
	at := testEpoch.Add(time.Second)
	want, got := lazy.evaluate(at, &evalScratch{}), m.evaluate(at, &evalScratch{})
	require.JSONEq(t, statsJSON(t, want), statsJSON(t, got))
	for _, f := range got.Features {
		require.NotNil(t, f.Detected, "%s: %s", f.Name, f.NoVerdict)
	}
	require.NotNil(t, featureOf(got, "x").Threshold)
	require.NotNil(t, featureOf(got, "y").Threshold)
}

// TestDaemonReleasesProfileSamples: the daemon drops a streaming model's profile samples
// once the model is made, and after a reload that keeps the model, the samples of the
// profile read again too; an exact model keeps them (its windows are compared with them).
func TestDaemonReleasesProfileSamples(t *testing.T) {
	cfg := strings.Replace(profileStreamCfg, "  - name: m\n", "  - name: m\n", 1)
	d := startDaemonWith(t, cfg, func(dir string) { writeProfile(t, dir, 2000) })
	sampleOf := func() []float64 {
		st := d.m.state.Load()
		require.Nil(t, st.cfg.profiles["m"].p.Feature("y").Sample, "the config's copy")
		return st.models["m"].profile.p.Feature("x").Sample
	}
	require.Nil(t, sampleOf())
	require.NoError(t, os.WriteFile(d.cfg, []byte(strings.Replace(cfg, "evaluation_interval: 1h", "evaluation_interval: 2h", 1)), 0o600))
	require.NoError(t, d.m.reload())
	require.Nil(t, sampleOf())

	exact := startDaemonWith(t, strings.Replace(cfg, ", mode: streaming", "", 1), func(dir string) { writeProfile(t, dir, 2000) })
	require.Len(t, exact.m.state.Load().models["m"].profile.p.Feature("x").Sample, 2000)
}

// TestStreamingProfileMemory measures what a streaming model on a profile of 100,000
// values per feature holds, its profile included: within the streaming budget per feature
// (32 KiB) and the model's per-prediction columns, where the samples alone were 1.6 MB per
// feature (kept, plus a sorted copy).
func TestStreamingProfileMemory(t *testing.T) {
	const nFeat = 20
	dir := t.TempDir()
	specs := make([]profile.Spec, nFeat)
	var feats strings.Builder
	for i := range specs {
		specs[i] = profile.Spec{Name: fmt.Sprintf("f%d", i), Type: profile.Numeric}
		fmt.Fprintf(&feats, "      - {name: f%d, type: numeric}\n", i)
	}
	b := profile.NewBuilder("m", specs, profile.Numeric, 0)
	r := rand.New(rand.NewPCG(1, 2))
	for range profile.DefaultSampleSize {
		for i := range nFeat {
			b.AddNumber(i, r.NormFloat64()*float64(i+1))
		}
		b.AddPredictionNumber(r.Float64())
	}
	require.NoError(t, profile.WriteFile(filepath.Join(dir, "m.json"), b.Finish(profile.Source{Rows: profile.DefaultSampleSize}, time.Now(), nil)))
	cfg := "global: {evaluation_interval: 1h}\nmodels:\n  - name: m\n    task: regression\n    window: {size: 10000, mode: streaming}\n    reference: {profile: m.json}\n    features:\n" + feats.String()

	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	m, lp := loadProfileModel(t, dir, cfg, 0)
	m.releaseProfileSamples(lp)
	p := event.Prediction{Model: "m", Features: make([]event.Feature, nFeat)}
	for i := range p.Features {
		p.Features[i].Name = fmt.Sprintf("f%d", i)
	}
	for k := range 20000 {
		for i := range p.Features {
			p.Features[i].Value = event.NumberValue(r.NormFloat64() * float64(i+1))
		}
		p.Prediction = event.NumberValue(r.Float64())
		require.Nil(t, m.addPrediction(&p, testEpoch.Add(time.Duration(k)*time.Millisecond)))
	}
	st := m.evaluate(testEpoch.Add(time.Minute), &evalScratch{})
	require.NotNil(t, st.Features[0].Detected, st.Features[0].NoVerdict)
	held := heap() - before
	runtime.KeepAlive(m)
	runtime.KeepAlive(lp)
	t.Logf("a streaming model of %d features on a profile of %d values per feature holds %.1f KiB per feature, model included", nFeat, profile.DefaultSampleSize, float64(held)/nFeat/1024)
	// The streaming budget per feature, and the model's own columns: time, version,
	// prediction and score of each of the window's 10,000 predictions (28 bytes).
	require.Less(t, held, uint64(nFeat*maxStreamBytesPerFeature+28*10000))
}

// TestStreamingProfileNumericPredictionOfClasses: a multiclass streaming model on a profile
// whose prediction is numeric (built with --score-column, or from NDJSON without a model
// config): the types differ, so the prediction has no reference, as before the profile was
// summarised; its scores are not compared with class ids.
func TestStreamingProfileNumericPredictionOfClasses(t *testing.T) {
	cfg := strings.Replace(profileStreamCfg, "task: binary_classification", "task: multiclass_classification", 1)
	dir := t.TempDir()
	lazy, _ := loadProfileModel(t, dir, cfg, 3000)
	lazy.stream.ref = nil // the way before
	m, _ := loadProfileModel(t, dir, cfg, 3000)
	r := rand.New(rand.NewPCG(5, 6))
	p := event.Prediction{Model: "m", Features: make([]event.Feature, 3)}
	for i, name := range []string{"x", "c", "y"} {
		p.Features[i].Name = name
	}
	for k := range 1000 {
		p.Features[0].Value = event.NumberValue(r.NormFloat64())
		p.Features[1].Value = event.StringValue([]string{"a", "b", "c"}[r.IntN(3)])
		p.Features[2].Value = event.NumberValue(r.Float64())
		p.Prediction = event.StringValue([]string{"u", "v", "w"}[r.IntN(3)])
		at := testEpoch.Add(time.Duration(k) * time.Millisecond)
		require.Nil(t, lazy.addPrediction(&p, at))
		require.Nil(t, m.addPrediction(&p, at))
	}
	at := testEpoch.Add(time.Second)
	want, got := lazy.evaluate(at, &evalScratch{}), m.evaluate(at, &evalScratch{})
	require.Zero(t, featureOf(got, PredictionFeature).Reference)
	require.JSONEq(t, statsJSON(t, want), statsJSON(t, got))
}
