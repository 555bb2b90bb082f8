package monitor

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

func f64(v float64) *float64 { return &v }

// specialValues are the sample values whose formatting differs: expfmt writes 1, 0 and -1
// itself, NaN and ±Inf as the text format spells them, -0 as 0, and the rest with
// strconv's shortest 'g'.
var specialValues = []float64{
	math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1, -1, 0.1, 1e-310,
	1.5e300, 123456789.125, -2.5, 1e21, 1e20, 0.000001, 1234567,
}

// expositionStats is a snapshot of many models whose label values need escaping (quotes,
// backslashes, new lines), are not ASCII or not valid UTF-8, and whose values are
// NaN, ±Inf and the other special values.
func expositionStats(models int) map[string]*ModelStats {
	features := []string{"amount", `with "quotes"`, `back\slash`, "new\nline", "ünïcödé", "bad\xffutf8", "", "zz-last"}
	versions := []string{"v1", `v"2`, "v\xfe3", ""}
	segments := []string{AllValue, "DE", `a\b`, "", "ß"}
	out := map[string]*ModelStats{}
	k := 0
	next := func() float64 {
		k++
		return specialValues[k%len(specialValues)]
	}
	for m := range models {
		name := fmt.Sprintf("model-%02d", m)
		if m%3 == 1 {
			name = fmt.Sprintf("a.b:c_%d", m) // every character a model name may have
		}
		st := &ModelStats{Model: name, Windows: WindowStats{Current: m * 100, Reference: 7, Labeled: m}}
		st.Labels.PendingPredictions = m
		if m%2 == 0 {
			st.Labels.LagSeconds = f64(next())
			at := time.Unix(1_700_000_000+int64(m), 123_456_789)
			st.LastEventAt = &at
		}
		for _, v := range versions[:1+m%len(versions)] {
			for _, s := range segments {
				for _, metric := range []string{"accuracy", "auc", "f1"} {
					st.Quality = append(st.Quality, QualityValue{Version: v, Segment: s, Metric: metric, Value: next()})
				}
			}
		}
		for i, f := range append(slices.Clone(features), PredictionFeature) {
			fs := FeatureStats{Name: f, TypeMismatches: uint64(i * m),
				Scores: map[string]float64{"psi": next(), "ks": next(), "wasserstein": next()}, PValues: map[string]float64{"ks": next()}}
			if i%2 == 0 {
				fs.MissingRatio, fs.OutOfRangeRatio = f64(next()), f64(next())
			} else {
				fs.NewCategoryRatio = f64(next())
			}
			if (i+m)%3 != 0 {
				d := i%2 == 0
				fs.Detected, fs.Threshold, fs.Method = &d, f64(next()), "ks"
			}
			st.Features = append(st.Features, fs)
		}
		if m%4 != 3 {
			st.Drift = &ModelDrift{Share: next(), Detected: m%2 == 0}
			st.Multivariate = &MultivariateDrift{Error: f64(next()), Upper: f64(next())}
		}
		for _, s := range []string{"prediction_mean", "volume"} {
			a := AnomalySignal{Signal: s, Alarms: uint64(m)}
			if m%2 == 0 {
				a.Value, a.Score = f64(next()), f64(next())
			}
			st.Anomalies = append(st.Anomalies, a)
		}
		out[name] = st
	}
	return out
}

// expositionPair registers others in two registries: new, served by the handler under test
// (the statistics' names reserved, the statistics written by the handler), and old, the
// way /metrics was served before: the statistics collector registered with the others and
// promhttp over it all.
func expositionPair(t *testing.T, snapshot map[string]*ModelStats, others ...prometheus.Collector) (fast *metricsHandler, old http.Handler, fellBack *int) {
	t.Helper()
	c := newStatsCollector(func() map[string]*ModelStats { return snapshot })
	reg, oldReg := prometheus.NewPedanticRegistry(), prometheus.NewPedanticRegistry()
	for _, o := range others {
		reg.MustRegister(o)
		oldReg.MustRegister(o)
	}
	reg.MustRegister(reservedStats{c})
	oldReg.MustRegister(c)
	statsReg := prometheus.NewRegistry()
	statsReg.MustRegister(c)
	errLog := log.New(io.Discard, "", 0)
	fast = newMetricsHandler(reg, c, prometheus.Gatherers{reg, statsReg}, errLog)
	fellBack = new(int)
	promh := fast.fallback
	fast.fallback = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*fellBack++
		promh.ServeHTTP(w, r)
	})
	// Both count their errors in the same promhttp_metric_handler_errors_total, so that
	// its created timestamps agree in the protobuf exposition.
	oldReg.MustRegister(fast.errCnt)
	return fast, promhttp.HandlerFor(oldReg, promhttp.HandlerOpts{ErrorLog: errLog, Registry: oldReg}), fellBack
}

// otherCollectors are families of the registry that sort before, between and after the
// statistics, with label values needing escaping, and of every metric type.
func otherCollectors() []prometheus.Collector {
	events := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_events_total", Help: "Events with a\\backslash and\nnew line in the help."}, []string{labelModel, labelKind})
	events.WithLabelValues(`quo"te`, "prediction").Add(3)
	events.WithLabelValues("back\\slash", "label").Add(1e21)
	events.WithLabelValues("new\nline", "ünï").Inc()
	first := prometheus.NewGauge(prometheus.GaugeOpts{Name: "aaa_first", Help: "Sorts first."})
	first.Set(math.NaN())
	between := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigil_drift_scores_x", Help: "Sorts right after vigil_drift_score."}, []string{"x"})
	between.WithLabelValues("").Set(math.Inf(-1))
	last := prometheus.NewGauge(prometheus.GaugeOpts{Name: "zzz_last", Help: "Sorts last."})
	last.Set(math.Inf(1))
	hist := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vigil_evaluation_duration_seconds", Help: "A histogram.", Buckets: []float64{0.1, 1}})
	hist.Observe(0.5)
	sum := prometheus.NewSummary(prometheus.SummaryOpts{Name: "vigil_quality_summary", Help: "A summary.", Objectives: map[float64]float64{0.5: 0.05}})
	sum.Observe(2)
	untyped := prometheus.NewUntypedFunc(prometheus.UntypedOpts{Name: "vigil_labels_pending_untyped", Help: "Untyped."}, func() float64 { return -1 })
	return []prometheus.Collector{events, first, between, last, hist, sum, untyped}
}

type scrapeResult struct {
	status int
	header http.Header
	body   []byte // decompressed
}

func scrapeWith(t *testing.T, h http.Handler, target string, header http.Header) scrapeResult {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header = header.Clone()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if rec.Header().Get("Content-Encoding") == "gzip" {
		z, err := gzip.NewReader(bytes.NewReader(body))
		require.NoError(t, err)
		body, err = io.ReadAll(z)
		require.NoError(t, err)
	}
	return scrapeResult{status: rec.Code, header: rec.Header(), body: body}
}

// parseText parses an exposition with the expfmt text parser and returns every family,
// each series as one line: sorted label pairs, the value's bits (NaN as one NaN), and
// whether it carries a timestamp.
func parseText(t *testing.T, body []byte) map[string][]string {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err)
	out := map[string][]string{}
	for name, mf := range mfs {
		fam := []string{fmt.Sprintf("%s %q %s", name, mf.GetHelp(), mf.GetType())}
		for _, m := range mf.Metric {
			var labels []string
			for _, l := range m.Label {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			slices.Sort(labels)
			fam = append(fam, fmt.Sprintf("%s %s ts=%v", strings.Join(labels, ","), valueBits(m), m.TimestampMs != nil))
		}
		out[name] = fam
	}
	return out
}

func valueBits(m *dto.Metric) string {
	var vs []float64
	switch {
	case m.Gauge != nil:
		vs = []float64{m.Gauge.GetValue()}
	case m.Counter != nil:
		vs = []float64{m.Counter.GetValue()}
	case m.Untyped != nil:
		vs = []float64{m.Untyped.GetValue()}
	case m.Histogram != nil:
		vs = []float64{m.Histogram.GetSampleSum(), float64(m.Histogram.GetSampleCount())}
		for _, b := range m.Histogram.Bucket {
			vs = append(vs, b.GetUpperBound(), float64(b.GetCumulativeCount()))
		}
	case m.Summary != nil:
		vs = []float64{m.Summary.GetSampleSum(), float64(m.Summary.GetSampleCount())}
		for _, q := range m.Summary.Quantile {
			vs = append(vs, q.GetQuantile(), q.GetValue())
		}
	}
	var s []string
	for _, v := range vs {
		if math.IsNaN(v) {
			s = append(s, "NaN")
			continue
		}
		s = append(s, fmt.Sprintf("%x", math.Float64bits(v)))
	}
	return strings.Join(s, "/")
}

// requireSameExposition checks that two scrapes are the same: status, the headers a
// scraper reads, and the body, byte for byte and parsed.
func requireSameExposition(t *testing.T, want, got scrapeResult) {
	t.Helper()
	require.Equal(t, want.status, got.status)
	for _, h := range []string{"Content-Type", "Content-Encoding", "Vary"} {
		require.Equal(t, want.header.Values(h), got.header.Values(h), h)
	}
	if want.status != http.StatusOK {
		return
	}
	if strings.HasPrefix(want.header.Get("Content-Type"), "text/plain") {
		require.True(t, utf8.Valid(got.body), "the exposition is valid UTF-8")
		wantFams, gotFams := parseText(t, want.body), parseText(t, got.body)
		require.Equal(t, slices.Sorted(maps.Keys(wantFams)), slices.Sorted(maps.Keys(gotFams)), "families")
		for name, w := range wantFams {
			require.Equal(t, w, gotFams[name], name)
		}
	}
	if !bytes.Equal(want.body, got.body) {
		wl, gl := bytes.Split(want.body, []byte("\n")), bytes.Split(got.body, []byte("\n"))
		i := 0
		for i < len(wl) && i < len(gl) && bytes.Equal(wl[i], gl[i]) {
			i++
		}
		t.Fatalf("bodies differ from line %d on (%d and %d bytes):\nwant %q\ngot  %q", i+1, len(want.body), len(got.body),
			wl[i:min(i+3, len(wl))], gl[i:min(i+3, len(gl))])
	}
}

// TestMetricsExposition compares /metrics with what promhttp over one registry holding
// the statistics collector serves (the way vigil served it before), for the requests
// Prometheus and others send, and checks which of them the fast path answers.
func TestMetricsExposition(t *testing.T) {
	fast, old, fellBack := expositionPair(t, expositionStats(12), otherCollectors()...)
	cases := []struct {
		name, target string
		header       http.Header
		fallback     bool
	}{
		{name: "no headers", target: "/metrics"},
		{name: "Prometheus 3", target: "/metrics", header: http.Header{"Accept": {prometheus3Accept}, "Accept-Encoding": {"gzip"}}},
		{name: "Prometheus 2", target: "/metrics", header: http.Header{"Accept": {"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"}, "Accept-Encoding": {"gzip"}}},
		{name: "text, escaping underscores", target: "/metrics", header: http.Header{"Accept": {"text/plain;version=0.0.4;escaping=underscores"}}},
		{name: "text, escaping allow-utf-8", target: "/metrics", header: http.Header{"Accept": {"text/plain;version=0.0.4;escaping=allow-utf-8"}}},
		{name: "gzip and identity: identity", target: "/metrics", header: http.Header{"Accept-Encoding": {"gzip, identity"}}},
		{name: "gzip and star: identity", target: "/metrics", header: http.Header{"Accept-Encoding": {"gzip,*"}}},
		{name: "curl --compressed", target: "/metrics", header: http.Header{"Accept-Encoding": {"deflate, gzip, br, zstd"}}},
		{name: "two headers", target: "/metrics", header: http.Header{"Accept-Encoding": {"br", "gzip"}}},
		{name: "other query", target: "/metrics?debug=1"},
		{name: "protobuf", target: "/metrics", fallback: true,
			header: http.Header{"Accept": {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3"}, "Accept-Encoding": {"gzip"}}},
		{name: "protobuf text", target: "/metrics", fallback: true, header: http.Header{"Accept": {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text"}}},
		{name: "q-values", target: "/metrics", fallback: true, header: http.Header{"Accept-Encoding": {"gzip;q=1.0, identity;q=0.5"}}},
		{name: "q zero", target: "/metrics", fallback: true, header: http.Header{"Accept-Encoding": {"gzip;q=0"}}},
		{name: "name filter", target: "/metrics?name[]=vigil_drift_score&name[]=vigil_events_total", fallback: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := *fellBack
			want := scrapeWith(t, old, tc.target, tc.header)
			got := scrapeWith(t, fast, tc.target, tc.header)
			require.Equal(t, http.StatusOK, got.status)
			requireSameExposition(t, want, got)
			require.Equal(t, tc.fallback, *fellBack > before, "served by promhttp")
		})
	}
}

// TestMetricsExpositionErrors: a scrape that promhttp answers with 500 is still answered
// by promhttp, not written half or dropped.
func TestMetricsExpositionErrors(t *testing.T) {
	yes := true
	for name, bad := range map[string]FeatureStats{
		// two series with the same labels: a feature named "*" and the model-level verdict
		"duplicate series": {Name: AllValue, Detected: &yes, Threshold: f64(1), Method: "ks"},
		// a snapshot breaking its invariants: a verdict without its threshold
		"panic": {Name: "no threshold", Detected: &yes},
	} {
		t.Run(name, func(t *testing.T) {
			snap := expositionStats(2)
			snap["model-00"].Features = append(snap["model-00"].Features, bad)
			fast, old, fellBack := expositionPair(t, snap, otherCollectors()...)
			want := scrapeWith(t, old, "/metrics", nil)
			got := scrapeWith(t, fast, "/metrics", nil)
			require.Equal(t, http.StatusInternalServerError, want.status)
			require.Equal(t, want.status, got.status)
			require.Equal(t, 1, *fellBack)
		})
	}
}

// TestMetricsExpositionEmpty: no statistics yet, and a registry with nothing but them.
func TestMetricsExpositionEmpty(t *testing.T) {
	fast, old, _ := expositionPair(t, map[string]*ModelStats{}, otherCollectors()...)
	requireSameExposition(t, scrapeWith(t, old, "/metrics", nil), scrapeWith(t, fast, "/metrics", nil))
	fast, old, _ = expositionPair(t, expositionStats(3))
	requireSameExposition(t, scrapeWith(t, old, "/metrics", nil), scrapeWith(t, fast, "/metrics", nil))
}

// FuzzMetricsExposition compares the two ways of serving one model's statistics for any
// label value and sample value.
func FuzzMetricsExposition(f *testing.F) {
	f.Add("feature", "v1", "DE", 0.5)
	f.Add(`q"u\o`+"\nte", "\xff", "", math.Inf(-1))
	f.Add(AllValue, AllValue, AllValue, math.NaN())
	f.Fuzz(func(t *testing.T, feature, version, segment string, v float64) {
		st := &ModelStats{Model: "m", Quality: []QualityValue{{Version: version, Segment: segment, Metric: "auc", Value: v}}}
		st.Features = []FeatureStats{{Name: feature, Scores: map[string]float64{"psi": v}, MissingRatio: &v}}
		st.Drift = &ModelDrift{Share: v}
		fast, old, _ := expositionPair(t, map[string]*ModelStats{"m": st})
		requireSameExposition(t, scrapeWith(t, old, "/metrics", nil), scrapeWith(t, fast, "/metrics", nil))
	})
}

const expositionCfg = `
global: {evaluation_interval: 1h}
models:
  - name: fraud
    task: binary_classification
    window: {size: 1000}
    reference: {window: first, size: 20}
    features:
      - {name: amount, type: numeric}
      - {name: "odd \"name\" \\ here", type: numeric}
      - {name: country, type: categorical}
    segments: [country]
  - name: price
    task: regression
    window: {size: 1000}
    reference: {window: first, size: 20}
    features:
      - {name: rooms, type: numeric}
`

// TestMetricsDaemon scrapes a running daemon over HTTP, as Prometheus does, and compares
// what it serves with promhttp over everything it gathers.
func TestMetricsDaemon(t *testing.T) {
	d := startDaemon(t, expositionCfg)
	var preds, labels strings.Builder
	for i := range 60 {
		country := []string{"DE", `F"R`, "é\\s"}[i%3]
		fmt.Fprintf(&preds, `{"model":"fraud","version":"v%d","id":"f%d","features":{"amount":%d,"odd \"name\" \\ here":%d,"country":%q},"score":%.2f}`+"\n",
			1+i%2, i, i*7%50, i%5, country, float64(i%10)/10)
		fmt.Fprintf(&labels, `{"model":"fraud","id":"f%d","label":%d}`+"\n", i, i%2)
		fmt.Fprintf(&preds, `{"model":"price","id":"p%d","features":{"rooms":%d},"prediction":%d}`+"\n", i, i%4, i*3)
		fmt.Fprintf(&labels, `{"model":"price","id":"p%d","label":%d}`+"\n", i, i*3+i%2)
	}
	require.Equal(t, http.StatusAccepted, d.post(t, "/api/v1/predictions", "application/x-ndjson", preds.String()).status)
	require.Equal(t, http.StatusAccepted, d.post(t, "/api/v1/labels", "application/x-ndjson", labels.String()).status)
	d.m.Evaluate(d.clock.Now())

	old := promhttp.HandlerFor(d.m.gatherer, promhttp.HandlerOpts{})
	for _, hdr := range []http.Header{{}, {"Accept": {prometheus3Accept}, "Accept-Encoding": {"gzip"}}} {
		req, err := http.NewRequest(http.MethodGet, d.url+"/metrics", nil)
		require.NoError(t, err)
		req.Header = hdr.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gzip: see what is sent
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		if resp.Header.Get("Content-Encoding") == "gzip" {
			z, err := gzip.NewReader(bytes.NewReader(body))
			require.NoError(t, err)
			body, err = io.ReadAll(z)
			require.NoError(t, err)
		}
		got := scrapeResult{status: resp.StatusCode, header: resp.Header, body: body}
		want := scrapeWith(t, old, "/metrics", hdr)
		requireSameExposition(t, want, got)
		for _, s := range []string{`vigil_quality{metric="accuracy",model="fraud",segment="country=F\"R",version="v1"}`, `feature="odd \"name\" \\ here"`, `segment="country=é\\s"`} {
			require.Contains(t, string(body), s)
		}
	}
}

// TestMetricsDefaultRegistry: with the default registry /metrics has the Go and process
// collectors' families next to the statistics.
func TestMetricsDefaultRegistry(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vigil.yaml")
	cfg := strings.Replace(expositionCfg, "global: {evaluation_interval: 1h}", "global: {evaluation_interval: 1h, storage_path: "+filepath.Join(dir, "data")+"}", 1)
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	m, err := New(Options{ConfigFile: path})
	require.NoError(t, err)
	m.Evaluate(time.Now())
	got := scrapeWith(t, m.Handler(), "/metrics", http.Header{"Accept": {prometheus3Accept}})
	require.Equal(t, http.StatusOK, got.status)
	require.Equal(t, "text/plain; version=0.0.4; charset=utf-8; escaping=underscores", got.header.Get("Content-Type"))
	fams := parseText(t, got.body)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "vigil_build_info", "vigil_events_total", "vigil_window_samples", "vigil_feature_type_mismatches_total"} {
		require.Contains(t, fams, name)
	}
	want := scrapeWith(t, promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{}), "/metrics", http.Header{"Accept": {prometheus3Accept}})
	require.Equal(t, slices.Sorted(maps.Keys(parseText(t, want.body))), slices.Sorted(maps.Keys(fams)))
}
