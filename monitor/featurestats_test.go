package monitor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/drift"
)

const driftCfg = `
global: {evaluation_interval: 1h}
models:
  - name: m
    task: binary_classification
    window: {size: 500}
    reference: {window: first, size: 500}
    features:
      - {name: x, type: numeric}
      - {name: y, type: numeric, min: -10, max: 10}
      - {name: c, type: categorical}
      - {name: z, type: numeric, drift: {method: psi, threshold: 0.5}}
`

// sendRows posts n predictions built by row(i) in NDJSON batches.
func sendRows(t *testing.T, d *testDaemon, n int, row func(i int) string) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		b.WriteString(row(i))
		b.WriteByte('\n')
	}
	r := d.post(t, "/api/v1/predictions", "application/x-ndjson", b.String())
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	require.Zero(t, decodeIngest(t, r).Rejected, string(r.body))
}

func featureOf(s ModelStats, name string) FeatureStats {
	for _, f := range s.Features {
		if f.Name == name {
			return f
		}
	}
	return FeatureStats{}
}

func TestDriftAndDataQuality(t *testing.T) {
	d := startDaemon(t, driftCfg)
	r := rand.New(rand.NewPCG(1, 1))
	cats := []string{"a", "b", "c"}
	type rowVals struct {
		x, y, z, score float64
		c              string
		missingX       bool
	}
	gen := func(shift float64, catsFrom []string, missingEvery int) []rowVals {
		rows := make([]rowVals, 500)
		for i := range rows {
			rows[i] = rowVals{
				x: r.NormFloat64() + shift, y: r.NormFloat64() * 4, z: r.NormFloat64(),
				score: math.Round(r.Float64()*1000) / 1000, c: catsFrom[r.IntN(len(catsFrom))],
				missingX: missingEvery > 0 && i%missingEvery == 0,
			}
		}
		return rows
	}
	send := func(rows []rowVals) {
		sendRows(t, d, len(rows), func(i int) string {
			v := rows[i]
			x := fmt.Sprintf("%g", v.x)
			if v.missingX {
				x = "null"
			}
			return fmt.Sprintf(`{"model":"m","features":{"x":%s,"y":%g,"z":%g,"c":%q},"score":%g}`, x, v.y, v.z, v.c, v.score)
		})
	}
	ref := gen(0, cats, 0)
	send(ref)
	cur := gen(1, append(cats, "new"), 10) // x shifted by 1σ, a new category, 10% of x missing
	cur[0].y = 50                          // out of the configured [-10, 10]
	send(cur)
	d.m.Evaluate(d.clock.Now())
	s := d.stats(t, "m")
	require.Equal(t, 500, s.Windows.Current)
	require.Equal(t, 500, s.Windows.Reference)

	col := func(rows []rowVals, f func(rowVals) (float64, bool)) []float64 {
		var out []float64
		for _, v := range rows {
			if x, ok := f(v); ok {
				out = append(out, x)
			}
		}
		return out
	}
	xOf := func(v rowVals) (float64, bool) { return v.x, !v.missingX }

	// x: every statistic equals the drift package on the same values; KS decides (reference ≤ 1000).
	x := featureOf(s, "x")
	want := drift.NewSample(col(ref, xOf)).Compare(drift.NewSample(col(cur, xOf)))
	require.Equal(t, 450, x.Current)
	require.Equal(t, 500, x.Reference)
	for method, w := range map[string]float64{MethodKS: want.KS, MethodWasserstein: want.Wasserstein, MethodPSI: want.PSI,
		MethodJensenShannon: want.JensenShannon, MethodHellinger: want.Hellinger, MethodLInfinity: want.LInfinity} {
		require.Equal(t, w, x.Scores[method], method)
	}
	require.Equal(t, want.KSPValue, x.PValues[MethodKS])
	require.Equal(t, MethodKS, x.Method)
	require.NotNil(t, x.Detected)
	require.True(t, *x.Detected, "a 1σ shift on 450 values drifts")
	require.InDelta(t, 0.1, *x.MissingRatio, 1e-12)
	refX := drift.NewSample(col(ref, xOf)).Sorted()
	out := 0
	for _, v := range col(cur, xOf) {
		if v < refX[0] || v > refX[len(refX)-1] {
			out++
		}
	}
	require.Positive(t, out)
	require.Equal(t, float64(out)/450, *x.OutOfRangeRatio, "out of range against the reference's own [min, max]")

	// y: same distribution, configured bounds catch the one 50.
	y := featureOf(s, "y")
	require.False(t, *y.Detected)
	outY := 0
	for _, v := range cur {
		if v.y < -10 || v.y > 10 {
			outY++
		}
	}
	require.Equal(t, float64(outY)/500, *y.OutOfRangeRatio)
	require.Equal(t, 0.0, *y.MissingRatio)

	// c: a new category in about a quarter of the rows; chi-square decides.
	c := featureOf(s, "c")
	newN := 0
	for _, v := range cur {
		if v.c == "new" {
			newN++
		}
	}
	require.InDelta(t, float64(newN)/500, *c.NewCategoryRatio, 1e-12)
	require.Equal(t, MethodChiSquare, c.Method)
	require.True(t, *c.Detected)
	refC, curC := map[string]int64{}, map[string]int64{}
	for i := range ref {
		refC[ref[i].c]++
		curC[cur[i].c]++
	}
	wantC := drift.CompareCategorical(refC, curC)
	require.Equal(t, wantC.ChiSquare, c.Scores[MethodChiSquare])
	require.Equal(t, wantC.ChiSquarePValue, c.PValues[MethodChiSquare])
	require.Equal(t, wantC.JensenShannon, c.Scores[MethodJensenShannon])

	// z: configured method and threshold.
	z := featureOf(s, "z")
	require.Equal(t, MethodPSI, z.Method)
	require.Equal(t, 0.5, *z.Threshold)
	require.False(t, *z.Detected)

	// The prediction: a binary model with scores is tested on its scores.
	p := featureOf(s, PredictionFeature)
	require.Equal(t, Numeric, p.Type)
	require.Equal(t, 500, p.Current)
	require.NotNil(t, p.Detected)
	require.Nil(t, p.MissingRatio)

	// Model level: x and c drifted out of 4 features.
	require.NotNil(t, s.Drift)
	require.Equal(t, 4, s.Drift.Features)
	require.Equal(t, 2, s.Drift.Drifted)
	require.Equal(t, 0.5, s.Drift.Share)
	require.True(t, s.Drift.Detected)

	body := string(d.get(t, "/metrics").body)
	for _, line := range []string{
		`vigil_drift_detected{feature="x",model="m"} 1`,
		`vigil_drift_detected{feature="*",model="m"} 1`,
		`vigil_drift_score{feature="*",method="share",model="m"} 0.5`,
		fmt.Sprintf(`vigil_drift_p_value{feature="x",method="ks",model="m"} %g`, want.KSPValue),
		`vigil_feature_missing_ratio{feature="x",model="m"} 0.1`,
		fmt.Sprintf(`vigil_feature_out_of_range_ratio{feature="y",model="m"} %g`, float64(outY)/500),
		`vigil_feature_type_mismatches_total{feature="x",model="m"} 0`,
	} {
		require.Contains(t, body, line)
	}
	require.NotContains(t, body, `vigil_feature_missing_ratio{feature="__prediction__"`)
}

func TestDriftNoVerdictAndMismatch(t *testing.T) {
	d := startDaemon(t, driftCfg)
	sendRows(t, d, 10, func(i int) string {
		return fmt.Sprintf(`{"model":"m","features":{"x":"oops","c":"a","y":%d}}`, i)
	})
	d.m.Evaluate(d.clock.Now())
	s := d.stats(t, "m")
	x := featureOf(s, "x")
	require.Equal(t, uint64(10), x.TypeMismatches, "a string for a numeric feature is counted")
	require.Equal(t, 1.0, *x.MissingRatio, "and kept as missing")
	require.Nil(t, x.Detected)
	y := featureOf(s, "y")
	require.Nil(t, y.Detected)
	require.Contains(t, y.NoVerdict, "drift.min_samples 30")
	require.Empty(t, y.Scores, "no scores without a verdict")
	require.Nil(t, s.Drift)
	body := string(d.get(t, "/metrics").body)
	require.Contains(t, body, `vigil_feature_type_mismatches_total{feature="x",model="m"} 10`)
	require.NotContains(t, body, "vigil_drift_detected")
}

// TestFalseAlarms measures how often each way of setting a threshold calls drift when
// nothing worth a page happened, on windows of 20,000 values: identical distributions
// (every alarm is false), and a shift of 0.05σ (real, but negligible), where plain
// p-values on large windows cry wolf. The figures are in docs/statistics.md.
func TestFalseAlarms(t *testing.T) {
	const n, evals = 20000, 200
	model := &modelState{cfg: ModelConfig{Drift: DriftConfig{Alpha: 0.05, Correction: "none", Share: 0.5, MinSamples: 30, LargeSample: 1000, Chunks: 10}}}
	ways := []struct {
		name string
		fc   *FeatureConfig
	}{
		{"p-value only", &FeatureConfig{Name: "x", Type: Numeric, Drift: &FeatureDriftConfig{Method: MethodKS, EffectSize: ptr(0.0)}}},
		{"p-value + effect floor", &FeatureConfig{Name: "x", Type: Numeric, Drift: &FeatureDriftConfig{Method: MethodKS}}},
		{"auto", &FeatureConfig{Name: "x", Type: Numeric, Drift: &FeatureDriftConfig{Method: MethodKS, Threshold: Threshold{Auto: true, Set: true}}}},
		{"wasserstein 0.1 (default > 1000)", &FeatureConfig{Name: "x", Type: Numeric}},
	}
	alarms := map[string]map[float64]int{}
	for _, shift := range []float64{0, 0.05} {
		for _, w := range ways {
			r := rand.New(rand.NewPCG(11, 12)) // every way sees the same windows
			refVals := make([]float64, n)
			for i := range refVals {
				refVals[i] = r.NormFloat64()
			}
			var cache refCache
			cache.reset()
			fd := &featureData{name: "x", typ: Numeric, cfg: w.fc, refNum: refVals}
			model.prepareReference(fd, &cache)
			for range evals {
				cur := make([]float64, n)
				for i := range cur {
					cur[i] = r.NormFloat64() + shift
				}
				fd.curNum, fd.curTotal = cur, n
				st := model.judge(fd, &cache)
				require.NotNil(t, st.Detected, w.name)
				if alarms[w.name] == nil {
					alarms[w.name] = map[float64]int{}
				}
				if *st.Detected {
					alarms[w.name][shift]++
				}
			}
			t.Logf("shift %.2fσ  %-34s %4d alarms per 1000 evaluations", shift, w.name, alarms[w.name][shift]*1000/evals)
		}
	}
	// Identical distributions: the p-value test alarms at about alpha (5%: 10 of 200, a
	// binomial with sd 3.1), the effect floor, auto and the distance never.
	require.InDelta(t, 10, alarms["p-value only"][0], 9)
	require.Zero(t, alarms["p-value + effect floor"][0])
	require.LessOrEqual(t, alarms["auto"][0], 1)
	require.Zero(t, alarms["wasserstein 0.1 (default > 1000)"][0])
	// A negligible shift: plain p-values call it drift nearly always; the floor does not.
	require.Greater(t, alarms["p-value only"][0.05], evals*9/10)
	require.Zero(t, alarms["p-value + effect floor"][0.05])
	require.Zero(t, alarms["wasserstein 0.1 (default > 1000)"][0.05])
}

func TestAutoThresholdDetectsRealDrift(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	refVals := make([]float64, 5000)
	for i := range refVals {
		refVals[i] = r.NormFloat64()
	}
	model := &modelState{cfg: ModelConfig{Drift: DriftConfig{Alpha: 0.05, Correction: "none", Share: 0.5, MinSamples: 30, LargeSample: 1000, Chunks: 10}}}
	fc := &FeatureConfig{Name: "x", Type: Numeric, Drift: &FeatureDriftConfig{Threshold: Threshold{Auto: true, Set: true}}}
	var cache refCache
	cache.reset()
	fd := &featureData{name: "x", typ: Numeric, cfg: fc, refNum: refVals}
	model.prepareReference(fd, &cache)
	cur := make([]float64, 5000)
	for i := range cur {
		cur[i] = r.NormFloat64()*1.5 + 0.3
	}
	fd.curNum, fd.curTotal = cur, len(cur)
	st := model.judge(fd, &cache)
	require.Equal(t, MethodWasserstein, st.Method, "a reference over large_sample defaults to wasserstein")
	require.True(t, st.ThresholdAuto)
	require.True(t, *st.Detected, "score %v threshold %v", st.Scores[MethodWasserstein], *st.Threshold)
}

func TestModelDriftCorrection(t *testing.T) {
	mk := func(p float64) FeatureStats {
		f := false
		return FeatureStats{Name: "f", Detected: &f, pvalue: p, effectOK: true}
	}
	ps := []float64{0.001, 0.011, 0.033, 0.045, 0.3}
	var fs []FeatureStats
	for _, p := range ps {
		fs = append(fs, mk(p))
	}
	drifted := map[string]int{}
	for _, corr := range []string{"none", "bonferroni", "benjamini_hochberg"} {
		m := &modelState{cfg: ModelConfig{Drift: DriftConfig{Alpha: 0.05, Correction: corr, Share: 0.5}}}
		md := m.modelDrift(fs)
		require.Equal(t, 5, md.Features)
		drifted[corr] = md.Drifted
	}
	// none: four below 0.05. Bonferroni (p·5): 0.005 only. BH (min over j ≥ i of p_(j)·5/j):
	// 0.005, 0.0275, then min(0.055, 0.05625) = 0.055: two.
	require.Equal(t, map[string]int{"none": 4, "bonferroni": 1, "benjamini_hochberg": 2}, drifted)
}

// TestMultivariateDrift breaks the correlation between two features while each keeps its
// own distribution: the per-feature tests see nothing, the PCA test does.
func TestMultivariateDrift(t *testing.T) {
	d := startDaemon(t, `
global: {evaluation_interval: 1h}
models:
  - name: m
    task: regression
    window: {size: 1000}
    reference: {window: first, size: 1000}
    features:
      - {name: a, type: numeric}
      - {name: b, type: numeric}
`)
	r := rand.New(rand.NewPCG(21, 22))
	row := func(rho float64) func(int) string {
		return func(int) string {
			a := r.NormFloat64()
			b := rho*a + math.Sqrt(1-rho*rho)*r.NormFloat64()
			return fmt.Sprintf(`{"model":"m","features":{"a":%g,"b":%g}}`, a, b)
		}
	}
	sendRows(t, d, 1000, row(0.95))
	sendRows(t, d, 1000, row(0.95))
	d.m.Evaluate(d.clock.Now())
	s := d.stats(t, "m")
	mv := s.Multivariate
	require.NotNil(t, mv)
	require.Equal(t, []string{"a", "b"}, mv.Features)
	require.Equal(t, 1, mv.Components, "one component explains 97.5% of two features correlated at 0.95")
	require.False(t, *mv.Detected, "error %v in [%v, %v]", *mv.Error, *mv.Lower, *mv.Upper)

	sendRows(t, d, 1000, row(-0.95))
	d.m.Evaluate(d.clock.Now())
	s = d.stats(t, "m")
	for _, f := range []string{"a", "b"} {
		require.False(t, *featureOf(s, f).Detected, "%s alone has not drifted", f)
	}
	mv = s.Multivariate
	require.True(t, *mv.Detected, "error %v outside [%v, %v]", *mv.Error, *mv.Lower, *mv.Upper)
	require.Greater(t, *mv.Error, 3*(*mv.Upper))
	body := string(d.get(t, "/metrics").body)
	require.Contains(t, body, fmt.Sprintf(`vigil_drift_score{feature="*",method="pca_reconstruction_error",model="m"} %g`, *mv.Error))
	require.Contains(t, body, fmt.Sprintf(`vigil_drift_threshold{feature="*",method="pca_reconstruction_error",model="m"} %g`, *mv.Upper))
}
