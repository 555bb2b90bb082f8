package monitor

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/drift"
)

// statusCfg is a demo-like model: a numeric feature that will drift, a categorical one
// that will not, labels, a canary, a drift rule and alerting (for silences).
const statusCfg = `
global: {evaluation_interval: 1h}
models:
  - name: fraud
    task: binary_classification
    window: {size: 400}
    reference: {window: first, size: 400}
    features:
      - {name: amount, type: numeric}
      - {name: country, type: categorical}
    segments: [country]
    canary: {baseline: v3, candidate: v4}
    labels: {ttl: 1h}
  - name: idle
    task: regression
    window: {size: 10}
    features: [{name: x, type: numeric}]
rules:
  - name: FeatureDrift
    signal: drift.detected
    feature: "?*"
    op: "=="
    threshold: 1
    annotations: {summary: '{{ .Model }}: {{ .Feature }} drifted'}
route: {receiver: console, group_wait: 1h}
receivers: [{name: console, console_configs: [{}]}]
`

// feedDemoTraffic sends 400 normal predictions with labels (the reference), evaluates,
// then 400 with amount shifted by shift, evaluating after every 100.
func feedDemoTraffic(t *testing.T, d *testDaemon, shift float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	countries := []string{"DE", "FR", "US"}
	seq := 0
	send := func(n int, shift float64) {
		var preds, labels strings.Builder
		for range n {
			seq++
			version, role := "v3", "primary"
			if seq%10 == 0 {
				version, role = "v4", "canary"
			}
			y := rng.IntN(2)
			pred := y
			if rng.Float64() < 0.1 {
				pred = 1 - y
			}
			fmt.Fprintf(&preds, `{"model":"fraud","version":%q,"role":%q,"id":"p%d","features":{"amount":%.2f,"country":%q},"prediction":%d,"score":%.3f}`+"\n",
				version, role, seq, 100+20*rng.NormFloat64()+shift, countries[rng.IntN(3)], pred, 0.2+0.6*float64(pred))
			fmt.Fprintf(&labels, `{"model":"fraud","id":"p%d","label":%d}`+"\n", seq, y)
		}
		require.Equal(t, http.StatusAccepted, d.post(t, "/api/v1/predictions", "application/x-ndjson", preds.String()).status)
		require.Equal(t, http.StatusAccepted, d.post(t, "/api/v1/labels", "application/x-ndjson", labels.String()).status)
		d.m.Evaluate(d.clock.Add(time.Minute))
	}
	for range 4 {
		send(100, 0)
	}
	for range 4 {
		send(100, shift)
	}
}

func TestStatusPages(t *testing.T) {
	d := startDaemon(t, statusCfg)
	feedDemoTraffic(t, d, 60)
	sil := d.post(t, "/api/v1/silences", "application/json", fmt.Sprintf(
		`{"matchers":[{"name":"model","value":"fraud","isRegex":false,"isEqual":true}],"startsAt":%q,"endsAt":%q,"createdBy":"ops","comment":"retraining tonight"}`,
		d.clock.Now().Format(time.RFC3339), d.clock.Now().Add(time.Hour).Format(time.RFC3339)))
	require.Equal(t, http.StatusOK, sil.status, string(sil.body))

	for _, tc := range []struct {
		path   string
		status int
		want   []string
		match  []string
		not    []string
	}{
		{path: "/", status: http.StatusOK, want: []string{
			`<a href="/models/fraud">fraud</a>`, `<span class="drift">amount</span>`, `FeatureDrift`, `1 firing`,
			`{feature=&#34;amount&#34;, model=&#34;fraud&#34;}`, "retraining tonight", `<a href="/models/idle">idle</a>`, "no labels yet",
		}},
		{path: "/models/fraud", status: http.StatusOK, want: []string{
			`<section class="feature drifted" id="feature-amount" data-method="ks"`, `<section class="feature" id="feature-country" data-method="chi_square"`,
			"Canary: v4 against v3", "whole window", "country=FR", "retraining tonight",
			"accuracy of the whole window over the last evaluations", `aria-label="amount: reference and current distribution"`,
		}, match: []string{
			// The shifted values lie above the reference's maximum: a data-quality issue.
			`amount: [1-9][0-9.]*% of current values out of the reference&#39;s range`,
		}, not: []string{"No feature has 1% or more"}},
		{path: "/models/idle", status: http.StatusOK, want: []string{"No quality yet", "No alert is pending or firing."}, not: []string{"Canary:"}},
		{path: "/models/nope", status: http.StatusNotFound, want: []string{`unknown model "nope"`}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := d.get(t, tc.path)
			body := string(r.body)
			require.Equal(t, tc.status, r.status, body)
			for _, w := range tc.want {
				require.Contains(t, body, w)
			}
			for _, re := range tc.match {
				require.Regexp(t, regexp.MustCompile(re), body)
			}
			for _, n := range tc.not {
				require.NotContains(t, body, n)
			}
		})
	}
	// The page draws the exact counts the drift statistics use.
	st := d.stats(t, "fraud")
	h := st.Features[0].Histogram
	require.NotNil(t, h)
	require.Equal(t, int64(400), sum64(h.Reference))
	require.Equal(t, int64(400), sum64(h.Current))
}

func sum64(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
}

// TestNumericHistogramUsesPSIBins checks the histogram against the drift package: its
// edges are the reference's deciles and its counts those the PSI is computed from.
func TestNumericHistogramUsesPSIBins(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ref, cur := make([]float64, 1000), make([]float64, 700)
	for i := range ref {
		ref[i] = rng.NormFloat64()
	}
	for i := range cur {
		cur[i] = 0.5 + rng.NormFloat64()
	}
	s := drift.NewSample(ref)
	h := NumericHistogram(s, cur)
	bins := s.Bins()
	require.Equal(t, bins.Edges, h.Edges)
	require.Equal(t, bins.Counts(ref), h.Reference)
	require.Equal(t, bins.Counts(cur), h.Current)
	require.InDelta(t, drift.PSI(h.Reference, h.Current), s.Compare(drift.NewSample(cur)).PSI, 1e-12)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range append(append([]float64{}, ref...), cur...) {
		lo, hi = min(lo, v), max(hi, v)
	}
	require.Equal(t, lo, h.Min)
	require.Equal(t, hi, h.Max)
	require.Nil(t, NumericHistogram(s, nil))
}

func TestCategoricalHistogramFoldsTheTail(t *testing.T) {
	ref, cur := map[uint32]int64{}, map[uint32]int64{}
	for id := uint32(1); id <= 30; id++ {
		ref[id] = int64(100 - id)
		cur[id] = 1
	}
	cur[99] = 5 // a category the reference lacks
	h := CategoricalHistogram(ref, cur, func(id uint32) string { return fmt.Sprintf("c%d", id) })
	require.Len(t, h.Categories, maxHistogramCategories+1)
	require.Equal(t, "c1", h.Categories[0], "most frequent in the reference first")
	require.Equal(t, OtherValue, h.Categories[maxHistogramCategories])
	require.Equal(t, sum64(h.Reference), int64(30*100-30*31/2))
	require.Equal(t, sum64(h.Current), int64(35))
}

// TestStatusPageInBrowser loads the status page in a real headless Chromium: the overview
// names the drifted feature, its link leads to the model page, which draws the feature's
// histograms; a screenshot is saved and checked to be a real picture. CI (CI=true) fails
// when chromium is missing; elsewhere the test is skipped.
func TestStatusPageInBrowser(t *testing.T) {
	browser := findChromium(t)
	d := startDaemon(t, statusCfg)
	feedDemoTraffic(t, d, 60)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1600),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(d.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/models/fraud"]`)),
	))
	driftCell, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`td span.drift`)))
	require.NoError(t, err)
	require.Equal(t, "amount", driftCell, "the overview names the drifted feature")

	// No script on the page: following the plain link opens the model's page.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href="/models/fraud"]`)),
		chromedp.WaitVisible(chromedp.ID("feature-amount")),
	))
	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	require.Equal(t, "fraud · vigil", title)
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#feature-amount svg.chart rect').length`))
	require.NoError(t, err)
	require.Greater(t, bars, 20, "both windows' bars of the amount histogram are drawn")
	drifted, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('section.feature.drifted')].map(s => s.id)`))
	require.NoError(t, err)
	require.Equal(t, []string{"feature-amount"}, drifted, "only amount drifted")
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG, less: JPEG
	require.NoError(t, err)

	path := filepath.Join(t.TempDir(), "status-fraud.png")
	require.NoError(t, os.WriteFile(path, shot, 0o600))
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err, "the screenshot is a PNG")
	bounds := img.Bounds()
	require.GreaterOrEqual(t, bounds.Dx(), 1000)
	require.Greater(t, bounds.Dy(), 1000, "the full page is taller than the window's first screen")
	colours := map[[3]uint32]bool{}
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 7 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 7 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
		}
	}
	require.Greater(t, len(colours), 50, "a rendered page, not a blank one")
}

func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found in CI: .ci/run installs Debian chromium")
	}
	t.Skip("chromium not installed (apt-get install chromium)")
	return ""
}
