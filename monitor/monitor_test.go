package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/drift/quality"
)

// fakeClock is a settable clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

type testDaemon struct {
	m     *Monitor
	url   string
	clock *fakeClock
	reg   *prometheus.Registry
	cfg   string
}

// startDaemon runs a Monitor on 127.0.0.1:0 with cfg. Evaluation is driven by the test
// (the interval is an hour), through Evaluate with the fake clock's time.
func startDaemon(t *testing.T, cfg string) *testDaemon {
	t.Helper()
	return startDaemonWith(t, cfg, nil)
}

// startDaemonWith is startDaemon with setup run on the config's directory first.
func startDaemonWith(t *testing.T, cfg string, setup func(dir string)) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	if setup != nil {
		setup(dir)
	}
	path := filepath.Join(dir, "vigil.yaml")
	// State goes to the test's directory, never into the source tree.
	if !strings.Contains(cfg, "storage_path") {
		cfg = strings.Replace(cfg, "global: {evaluation_interval: 1h}", "global: {evaluation_interval: 1h, storage_path: "+filepath.Join(dir, "data")+"}", 1)
	}
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	clock := newFakeClock()
	reg := prometheus.NewPedanticRegistry()
	m, err := New(Options{ConfigFile: path, ListenAddress: "127.0.0.1:0", Now: clock.Now, Registry: reg, Version: "test"})
	require.NoError(t, err)
	require.NoError(t, m.Start())
	t.Cleanup(func() { require.NoError(t, m.Stop(context.Background())) })
	return &testDaemon{m: m, url: "http://" + m.Addr().String(), clock: clock, reg: reg, cfg: path}
}

const binaryCfg = `
global: {evaluation_interval: 1h}
models:
  - name: fraud
    task: binary_classification
    window: {size: 1000}
    reference: {window: first, size: 5}
    features:
      - {name: amount, type: numeric}
      - {name: country, type: categorical}
    segments: [country]
    labels: {ttl: 1h, max_pending: 100}
`

type response struct {
	status int
	header http.Header
	body   []byte
}

func (d *testDaemon) post(t *testing.T, path, contentType, body string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.url+path, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (d *testDaemon) get(t *testing.T, path string) response {
	t.Helper()
	resp, err := http.Get(d.url + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func decodeIngest(t *testing.T, r response) IngestResponse {
	t.Helper()
	var out IngestResponse
	require.NoError(t, json.Unmarshal(r.body, &out), string(r.body))
	return out
}

func (d *testDaemon) stats(t *testing.T, model string) ModelStats {
	t.Helper()
	r := d.get(t, "/api/v1/models/"+model)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var s ModelStats
	require.NoError(t, json.Unmarshal(r.body, &s))
	return s
}

func qualityValue(s ModelStats, version, segment, metric string) (float64, bool) {
	for _, q := range s.Quality {
		if q.Version == version && q.Segment == segment && q.Metric == metric {
			return q.Value, true
		}
	}
	return 0, false
}

func TestIngestMixedBatch(t *testing.T) {
	d := startDaemon(t, binaryCfg)
	body := strings.Join([]string{
		`{"model":"fraud","id":"a","features":{"amount":10,"country":"DE"},"prediction":1,"score":0.9}`,
		`{"model":"nope","id":"b","features":{}}`,
		`{"model":"fraud","id":"c","features":{"amount":1e400}}`,
		``,
		`{"model":"fraud","id":"d",`,
		`{"model":"fraud","id":"e","feautres":{"amount":1}}`,
		`{"model":"fraud","id":"f","features":{"amount":3,"colour":"red"},"prediction":0,"score":0.2}`,
	}, "\n")
	r := d.post(t, "/api/v1/predictions", "application/x-ndjson", body)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	got := decodeIngest(t, r)
	require.Equal(t, 2, got.Accepted)
	require.Equal(t, 4, got.Rejected)
	require.Len(t, got.Errors, 4)
	wantIdx := []int{1, 2, 3, 4} // blank lines are not records
	wantReason := []string{"unknown_model", "invalid_value", "invalid_json", "unknown_field"}
	for i, e := range got.Errors {
		require.Equal(t, wantIdx[i], e.Index, e.Error)
		require.Equal(t, wantReason[i], string(e.Reason), e.Error)
	}
	require.Contains(t, got.Errors[0].Error, `unknown model "nope"`)
	require.Contains(t, got.Errors[1].Error, "amount")
	require.Contains(t, got.Errors[3].Error, "feautres")

	require.Equal(t, 2.0, testutil.ToFloat64(d.m.metrics.events.WithLabelValues("fraud", "prediction")))
	require.Equal(t, 1.0, testutil.ToFloat64(d.m.metrics.rejected.WithLabelValues("", "unknown_model")))
	require.Equal(t, 1.0, testutil.ToFloat64(d.m.metrics.rejected.WithLabelValues("fraud", "invalid_value")))
	require.Equal(t, 1.0, testutil.ToFloat64(d.m.metrics.schemaViolations.WithLabelValues("fraud")), "undeclared feature colour is counted")

	d.m.Evaluate(d.clock.Now())
	s := d.stats(t, "fraud")
	require.Equal(t, 2, s.Windows.Current)
	require.Equal(t, 2, s.Labels.PendingPredictions)
	require.Equal(t, map[string]uint64{"colour": 1}, s.UnknownFeatures)
	// Unknown model names never become label values.
	exp := d.get(t, "/metrics")
	require.NotContains(t, string(exp.body), `model="nope"`)
}

func TestIngestStatusCodes(t *testing.T) {
	cfg := strings.Replace(binaryCfg, "global: {evaluation_interval: 1h}",
		"global: {evaluation_interval: 1h}\ningest: {max_body_bytes: 200, bearer_token: t0ken}", 1)
	d := startDaemon(t, cfg)
	auth := []string{"Authorization", "Bearer t0ken"}
	one := `{"model":"fraud","id":"a","prediction":1}`

	cases := []struct {
		name   string
		path   string
		ctype  string
		body   string
		hdr    []string
		status int
		want   string
	}{
		{"no token", "/api/v1/predictions", "", one, nil, 401, "bearer token"},
		{"wrong token", "/api/v1/predictions", "", one, []string{"Authorization", "Bearer nope"}, 401, "bearer token"},
		{"single object", "/api/v1/predictions", "application/json", one, auth, 202, `"accepted":1`},
		{"array", "/api/v1/predictions", "", `[` + one + `,` + one + `]`, auth, 202, `"accepted":2`},
		{"empty body", "/api/v1/predictions", "", ``, auth, 400, "error"},
		{"whitespace body", "/api/v1/predictions", "application/x-ndjson", "\n\n", auth, 400, "empty body"},
		{"syntax error", "/api/v1/predictions", "", `{"model":`, auth, 400, "error"},
		{"all rejected", "/api/v1/predictions", "", `{"model":"nope"}`, auth, 400, `"rejected":1`},
		{"too large", "/api/v1/predictions", "", `[` + strings.Repeat(one+",", 10) + one + `]`, auth, 413, "max_body_bytes"},
		{"url model", "/api/v1/models/fraud/predictions", "", `{"id":"z","prediction":0}`, auth, 202, `"accepted":1`},
		{"url model mismatch", "/api/v1/models/fraud/predictions", "", `{"model":"x","id":"z"}`, auth, 400, "model_mismatch"},
		{"unknown url model", "/api/v1/models/nope/predictions", "", one, auth, 404, `unknown model \"nope\"`},
		{"label without id", "/api/v1/labels", "", `{"model":"fraud","label":1}`, auth, 400, "missing_field"},
		{"label", "/api/v1/models/fraud/labels", "", `{"id":"a","label":1}`, auth, 202, `"accepted":1`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := d.post(t, c.path, c.ctype, c.body, c.hdr...)
			require.Equal(t, c.status, r.status, string(r.body))
			require.Contains(t, string(r.body), c.want)
			require.Equal(t, "application/json", r.header.Get("Content-Type"))
			if c.status == 401 {
				require.Equal(t, `Bearer realm="vigil"`, r.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestIngestQueueFull(t *testing.T) {
	cfg := strings.Replace(binaryCfg, "global: {evaluation_interval: 1h}",
		"global: {evaluation_interval: 1h}\ningest: {max_inflight_requests: 1}", 1)
	d := startDaemon(t, cfg)

	// Hold the only slot with a request whose body has not finished arriving.
	pr, pw := io.Pipe()
	done := make(chan response, 1)
	go func() {
		resp, err := http.Post(d.url+"/api/v1/predictions", "application/x-ndjson", pr)
		if err != nil {
			done <- response{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- response{status: resp.StatusCode, body: b}
	}()
	_, err := pw.Write([]byte(`{"model":"fraud","id":"slow","prediction":1}` + "\n"))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(d.m.metrics.inflight) == 1
	}, 5*time.Second, 5*time.Millisecond)

	r := d.post(t, "/api/v1/predictions", "", `{"model":"fraud","id":"x"}`)
	require.Equal(t, http.StatusTooManyRequests, r.status)
	require.Equal(t, "1", r.header.Get("Retry-After"))
	require.Contains(t, string(r.body), "queue is full")

	require.NoError(t, pw.Close())
	slow := <-done
	require.Equal(t, http.StatusAccepted, slow.status, string(slow.body))
	require.Equal(t, 1.0, testutil.ToFloat64(d.m.metrics.events.WithLabelValues("fraud", "prediction")), "the held request was applied, the refused one was not")
}

// TestLabelJoinAndQuality sends predictions and labels in both orders and checks that the
// engine's quality equals the quality package on the same pairs.
func TestLabelJoinAndQuality(t *testing.T) {
	d := startDaemon(t, binaryCfg)
	type rec struct {
		id      string
		country string
		pred    int
		score   float64
		label   int
	}
	recs := []rec{
		{"1", "DE", 1, 0.9, 1}, {"2", "DE", 0, 0.2, 0}, {"3", "DE", 1, 0.7, 0}, {"4", "FR", 0, 0.4, 1},
		{"5", "FR", 1, 0.8, 1}, {"6", "FR", 0, 0.1, 0}, {"7", "DE", 1, 0.6, 1}, {"8", "FR", 1, 0.55, 0},
	}
	var preds, labelsEarly, labelsLate strings.Builder
	for i, r := range recs {
		fmt.Fprintf(&preds, `{"model":"fraud","version":"v1","id":%q,"features":{"amount":%d,"country":%q},"prediction":%d,"score":%g}`+"\n", r.id, i, r.country, r.pred, r.score)
		l := fmt.Sprintf(`{"model":"fraud","id":%q,"label":%d}`+"\n", r.id, r.label)
		if i%2 == 0 {
			labelsEarly.WriteString(l) // labels that arrive before their prediction
		} else {
			labelsLate.WriteString(l)
		}
	}
	for _, b := range []string{labelsEarly.String(), preds.String(), labelsLate.String()} {
		path := "/api/v1/labels"
		if strings.Contains(b, "prediction") {
			path = "/api/v1/predictions"
		}
		r := d.post(t, path, "application/x-ndjson", b)
		require.Equal(t, http.StatusAccepted, r.status, string(r.body))
		require.Zero(t, decodeIngest(t, r).Rejected, string(r.body))
	}
	d.m.Evaluate(d.clock.Now())
	s := d.stats(t, "fraud")
	require.Equal(t, 8, s.Windows.Labeled)
	require.Zero(t, s.Labels.PendingPredictions)
	require.Zero(t, s.Labels.PendingLabels)
	require.Equal(t, 5, s.Windows.Reference, "first-N reference holds 5")
	require.True(t, s.Windows.ReferenceFrozen)

	check := func(segment string, keep func(rec) bool) {
		var y, p []bool
		var sc []float64
		for _, r := range recs {
			if keep(r) {
				y, p, sc = append(y, r.label == 1), append(p, r.pred == 1), append(sc, r.score)
			}
		}
		c := quality.BinaryConfusion(y, p)
		auc, err := quality.ROCAUC(y, sc)
		require.NoError(t, err)
		want := map[string]float64{
			"accuracy": c.Accuracy(), "precision": c.Precision(), "recall": c.Recall(), "f1": c.F1(),
			"auc": auc, "log_loss": quality.LogLoss(y, sc), "brier": quality.Brier(y, sc),
		}
		for metric, w := range want {
			got, ok := qualityValue(s, "v1", segment, metric)
			require.True(t, ok, "%s %s missing", segment, metric)
			require.InDelta(t, w, got, 1e-12, "%s %s", segment, metric)
		}
	}
	check("*", func(rec) bool { return true })
	check("country=DE", func(r rec) bool { return r.country == "DE" })
	check("country=FR", func(r rec) bool { return r.country == "FR" })

	est, ok := qualityValue(s, "v1", "*", "estimated_accuracy")
	require.True(t, ok)
	var p []bool
	var sc []float64
	for _, r := range recs {
		p, sc = append(p, r.pred == 1), append(sc, r.score)
	}
	require.InDelta(t, quality.EstimatedAccuracy(p, sc), est, 1e-12)

	// The same figures reach /metrics.
	body := string(d.get(t, "/metrics").body)
	require.Contains(t, body, fmt.Sprintf(`vigil_quality{metric="accuracy",model="fraud",segment="*",version="v1"} %g`, 5.0/8))
	require.Contains(t, body, `vigil_window_samples{model="fraud",window="labeled"} 8`)
	require.Contains(t, body, `vigil_labels_pending{model="fraud"} 0`)
}

func TestLabelTTLAndCapacity(t *testing.T) {
	cfg := strings.Replace(binaryCfg, "labels: {ttl: 1h, max_pending: 100}", "labels: {ttl: 1h, max_pending: 3}", 1)
	d := startDaemon(t, cfg)
	t0 := d.clock.Now()
	var b strings.Builder
	for i := range 5 {
		fmt.Fprintf(&b, `{"model":"fraud","id":"p%d","prediction":1,"timestamp":%q}`+"\n", i, t0.Add(time.Duration(i)*time.Minute).Format(time.RFC3339))
	}
	r := d.post(t, "/api/v1/predictions", "application/x-ndjson", b.String())
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	evicted := d.m.metrics.evicted
	require.Equal(t, 2.0, testutil.ToFloat64(evicted.WithLabelValues("fraud", "prediction", "capacity")), "p0 and p1 made room for p3 and p4")

	// A label for an evicted prediction waits; one for a kept prediction joins.
	r = d.post(t, "/api/v1/labels", "application/x-ndjson", `{"model":"fraud","id":"p0","label":1}`+"\n"+`{"model":"fraud","id":"p4","label":1}`)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	d.m.Evaluate(t0.Add(30 * time.Minute))
	s := d.stats(t, "fraud")
	require.Equal(t, 2, s.Labels.PendingPredictions)
	require.Equal(t, 1, s.Labels.PendingLabels)
	require.Equal(t, 1, s.Windows.Labeled)

	// Past the TTL everything still waiting expires and is counted.
	d.clock.Add(2 * time.Hour)
	d.m.Evaluate(d.clock.Now())
	s = d.stats(t, "fraud")
	require.Zero(t, s.Labels.PendingPredictions)
	require.Zero(t, s.Labels.PendingLabels)
	require.Equal(t, 2.0, testutil.ToFloat64(evicted.WithLabelValues("fraud", "prediction", "ttl")))
	require.Equal(t, 1.0, testutil.ToFloat64(evicted.WithLabelValues("fraud", "label", "ttl")))
	require.Equal(t, 1, s.Windows.Labeled, "joined pairs stay in the size window")
}

func TestWindows(t *testing.T) {
	cfg := `
global: {evaluation_interval: 1h}
models:
  - name: sized
    task: regression
    window: {size: 4}
    reference: {window: previous}
    features: [{name: x, type: numeric}]
  - name: first
    task: regression
    window: {size: 4}
    reference: {window: first, size: 3}
    features: [{name: x, type: numeric}]
  - name: timed
    task: regression
    window: {duration: 10m}
    reference: {window: previous}
    features: [{name: x, type: numeric}]
`
	d := startDaemon(t, cfg)
	t0 := d.clock.Now()
	for _, model := range []string{"sized", "first", "timed"} {
		var b strings.Builder
		for i := range 10 {
			// one prediction a minute, labeled with an error of i
			ts := t0.Add(time.Duration(i-9) * 3 * time.Minute).Format(time.RFC3339Nano)
			fmt.Fprintf(&b, `{"model":%q,"id":"%d","features":{"x":%d},"prediction":%d,"timestamp":%q}`+"\n", model, i, i, 2*i, ts)
		}
		r := d.post(t, "/api/v1/predictions", "application/x-ndjson", b.String())
		require.Equal(t, http.StatusAccepted, r.status, string(r.body))
		b.Reset()
		for i := range 10 {
			fmt.Fprintf(&b, `{"model":%q,"id":"%d","label":%d}`+"\n", model, i, i)
		}
		r = d.post(t, "/api/v1/labels", "application/x-ndjson", b.String())
		require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	}
	d.m.Evaluate(t0)

	s := d.stats(t, "sized")
	require.Equal(t, WindowStats{Current: 4, Reference: 4, Labeled: 4, ReferenceKind: "previous"}, s.Windows)
	mae, _ := qualityValue(s, "", "*", "mae")
	require.InDelta(t, quality.MAE([]float64{6, 7, 8, 9}, []float64{12, 14, 16, 18}), mae, 1e-12, "the last 4 pairs")

	s = d.stats(t, "first")
	require.Equal(t, WindowStats{Current: 4, Reference: 3, Labeled: 4, ReferenceKind: "first", ReferenceFrozen: true}, s.Windows)

	// Predictions at t0-27m, -24m, ..., -3m, 0: the last 10 minutes (t0-10m, t0] hold
	// -9m, -6m, -3m, 0 → 4; the 10 minutes before (-20m, -10m] hold -18m ... -12m → 3.
	s = d.stats(t, "timed")
	require.Equal(t, WindowStats{Current: 4, Reference: 3, Labeled: 4, ReferenceKind: "previous"}, s.Windows)

	// Time passes: the duration window empties, the size windows keep their events.
	d.m.Evaluate(t0.Add(time.Hour))
	require.Equal(t, 0, d.stats(t, "timed").Windows.Current)
	require.Empty(t, d.stats(t, "timed").Quality)
	require.Equal(t, 4, d.stats(t, "sized").Windows.Current)
}

func TestReload(t *testing.T) {
	d := startDaemon(t, binaryCfg)
	r := d.post(t, "/api/v1/predictions", "", `{"model":"fraud","id":"a","prediction":1}`)
	require.Equal(t, http.StatusAccepted, r.status)

	// A bad config is refused with file, line and field; the running one is kept.
	require.NoError(t, os.WriteFile(d.cfg, []byte(binaryCfg+"  - {name: x, task: regression, labels: {tll: 1h}}\n"), 0o600))
	r = d.post(t, "/-/reload", "", "")
	require.Equal(t, http.StatusInternalServerError, r.status)
	require.Contains(t, string(r.body), d.cfg+":13:")
	require.Contains(t, string(r.body), "field tll not found")
	require.Equal(t, 0.0, testutil.ToFloat64(d.m.metrics.reloadSuccess))
	r = d.post(t, "/api/v1/predictions", "", `{"model":"fraud","id":"b","prediction":1}`)
	require.Equal(t, http.StatusAccepted, r.status)

	// A good config adds a model and keeps the unchanged one's windows.
	good := binaryCfg + `  - name: price
    task: regression
`
	require.NoError(t, os.WriteFile(d.cfg, []byte(good), 0o600))
	r = d.post(t, "/-/reload", "", "")
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Equal(t, 1.0, testutil.ToFloat64(d.m.metrics.reloadSuccess))
	require.Equal(t, 2, d.stats(t, "fraud").Windows.Current, "windows survive a reload")
	r = d.post(t, "/api/v1/predictions", "", `{"model":"price","id":"a","prediction":3.5}`)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))

	// Removing a model removes its series.
	require.NoError(t, os.WriteFile(d.cfg, []byte("global: {evaluation_interval: 1h}\nmodels:\n  - {name: price, task: regression}\n"), 0o600))
	require.NoError(t, d.m.Reload(context.Background()))
	body := string(d.get(t, "/metrics").body)
	require.NotContains(t, body, `model="fraud"`)
	require.Contains(t, body, `vigil_events_total{kind="prediction",model="price"} 1`)
	require.Equal(t, http.StatusNotFound, d.get(t, "/api/v1/models/fraud").status)
}

func TestHealthAndStatus(t *testing.T) {
	d := startDaemon(t, binaryCfg)
	for _, p := range []string{"/healthz", "/-/healthy", "/readyz", "/-/ready"} {
		r := d.get(t, p)
		require.Equal(t, http.StatusOK, r.status, p)
	}
	r := d.get(t, "/")
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, string(r.body), "fraud")
	require.Contains(t, r.header.Get("Content-Type"), "text/html")
	r = d.get(t, "/api/v1/models")
	require.Equal(t, http.StatusOK, r.status)
	var list ModelList
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Len(t, list.Models, 1)
	require.Equal(t, "fraud", list.Models[0].Model)
	require.Equal(t, http.StatusNotFound, d.get(t, "/nope").status)

	require.NoError(t, d.m.Stop(context.Background()))
	require.False(t, d.m.ready.Load())
	require.NoError(t, d.m.Stop(context.Background()), "Stop is idempotent")
}

// TestMetricsLint runs the exposition through the client library's linter, the checks
// promtool check metrics makes.
func TestMetricsLint(t *testing.T) {
	d := startDaemon(t, binaryCfg)
	r := d.post(t, "/api/v1/predictions", "", `{"model":"fraud","id":"a","prediction":1,"score":0.8}`)
	require.Equal(t, http.StatusAccepted, r.status)
	d.post(t, "/api/v1/labels", "", `{"model":"fraud","id":"a","label":1}`)
	d.m.Evaluate(d.clock.Now())
	problems, err := testutil.GatherAndLint(d.m.gatherer)
	require.NoError(t, err)
	require.Empty(t, problems)
	require.NoError(t, testutil.GatherAndCompare(d.reg, bytes.NewBufferString(`
# HELP vigil_events_total Events accepted, by model and kind (prediction, label).
# TYPE vigil_events_total counter
vigil_events_total{kind="label",model="fraud"} 1
vigil_events_total{kind="prediction",model="fraud"} 1
`), "vigil_events_total"))
}
