package monitor

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/drift"
	"github.com/vigilml/vigil/monitor/profile"
)

// writeProfile builds a profile of model "m" from n rows and writes it next to the config.
func writeProfile(t *testing.T, dir string, n int) *profile.Profile {
	t.Helper()
	r := rand.New(rand.NewPCG(31, 32))
	b := profile.NewBuilder("m", []profile.Spec{{Name: "x", Type: profile.Numeric}, {Name: "c", Type: profile.Categorical}, {Name: "y", Type: profile.Numeric}}, profile.Numeric, 0)
	for range n {
		b.AddNumber(0, r.NormFloat64())
		b.AddCategory(1, []string{"a", "b", "c"}[r.IntN(3)])
		b.AddNumber(2, r.Float64())
		b.AddPredictionNumber(r.Float64())
	}
	p := b.Finish(profile.Source{Path: "train.csv", Rows: int64(n)}, time.Now(), nil)
	require.NoError(t, profile.WriteFile(filepath.Join(dir, "m.json"), p))
	return p
}

const profileCfg = `
global: {evaluation_interval: 1h}
models:
  - name: m
    task: binary_classification
    window: {size: 400}
    reference: {profile: m.json}
    features:
      - {name: x, type: numeric}
      - {name: c, type: categorical}
      - {name: y, type: numeric}
`

func TestProfileReference(t *testing.T) {
	var p *profile.Profile
	d := startDaemonWith(t, profileCfg, func(dir string) { p = writeProfile(t, dir, 2000) })

	r := rand.New(rand.NewPCG(41, 42))
	var xs []float64
	curC := map[string]int64{}
	sendRows(t, d, 400, func(int) string {
		x := r.NormFloat64() + 0.5
		c := []string{"a", "b", "c", "d"}[r.IntN(4)]
		xs = append(xs, x)
		curC[c]++
		return fmt.Sprintf(`{"model":"m","features":{"x":%g,"c":%q,"y":%g},"score":%g}`, x, c, r.Float64(), r.Float64())
	})
	d.m.Evaluate(d.clock.Now())
	s := d.stats(t, "m")
	require.Equal(t, WindowStats{Current: 400, Reference: 2000, ReferenceKind: "profile", ReferenceFrozen: true}, s.Windows)

	x := featureOf(s, "x")
	want := drift.NewSample(p.Feature("x").Sample).Compare(drift.NewSample(xs))
	require.Equal(t, want.KS, x.Scores[MethodKS])
	require.Equal(t, want.Wasserstein, x.Scores[MethodWasserstein])
	require.Equal(t, want.PSI, x.Scores[MethodPSI])
	require.Equal(t, 2000, x.Reference)
	require.True(t, *x.Detected)
	out := 0
	for _, v := range xs {
		if v < *p.Feature("x").Min || v > *p.Feature("x").Max {
			out++
		}
	}
	require.Equal(t, float64(out)/400, *x.OutOfRangeRatio, "bounds are the profile's exact min and max")

	c := featureOf(s, "c")
	wantC := drift.CompareCategorical(p.Feature("c").Categories, curC)
	require.Equal(t, wantC.JensenShannon, c.Scores[MethodJensenShannon])
	require.Equal(t, wantC.ChiSquare, c.Scores[MethodChiSquare])
	require.InDelta(t, float64(curC["d"])/400, *c.NewCategoryRatio, 1e-12)

	pred := featureOf(s, PredictionFeature)
	require.NotNil(t, pred.Detected, "the prediction's scores are compared with the profile's: %+v", pred)
	require.Equal(t, 2000, pred.Reference)
	require.Contains(t, s.Multivariate.NoVerdict, "a profile keeps each feature's values apart")
}

func TestProfileMismatchRefused(t *testing.T) {
	dir := t.TempDir()
	writeProfile(t, dir, 100)
	cases := map[string]struct{ cfg, want string }{
		"missing feature": {strings.Replace(profileCfg, "{name: c, type: categorical}", "{name: zz, type: categorical}", 1), `m.json has no feature "zz": rebuild it with vigil baseline`},
		"type differs":    {strings.Replace(profileCfg, "{name: x, type: numeric}", "{name: x, type: categorical}", 1), `has feature "x" as numeric, the config declares it categorical`},
		"other model":     {strings.Replace(profileCfg, "name: m\n", "name: n\n", 1), `is a profile of model "m", not "n"`},
		"with a window":   {strings.Replace(profileCfg, "{profile: m.json}", "{profile: m.json, window: first}", 1), "profile excludes window and size"},
		"missing file":    {strings.Replace(profileCfg, "m.json", "nope.json", 1), "nope.json: no such file"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, "vigil.yaml")
			require.NoError(t, os.WriteFile(path, []byte(c.cfg), 0o600))
			_, err := LoadFile(path)
			require.ErrorContains(t, err, c.want)
			require.ErrorContains(t, err, "models[0].reference")
		})
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "m.json"), []byte(`{"format":"vigil-profile","version":1,"model":"m","features":[{"name":"x","type":"numeric","count":3}]}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vigil.yaml"), []byte(profileCfg), 0o600))
	_, err := LoadFile(filepath.Join(dir, "vigil.yaml"))
	require.ErrorContains(t, err, "not a valid vigil profile")
}
