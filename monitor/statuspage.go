package monitor

import (
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"maps"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/monitor/chart"
	"github.com/vigilml/vigil/rules"
)

// The status page: server-rendered HTML from html/template, no script and no build step.
// GET / lists the models; GET /models/{model} shows one model's drift per feature with its
// histograms, quality over the last evaluations, data quality, canary comparison, alerts
// and silences. `vigil report` renders the same feature and quality sections offline.

//go:embed templates/*.html
var templateFS embed.FS

// pageTemplates are parsed once; they hold no state.
var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"fmtf":     fmtFloat,
	"fmtp":     fmtPtr,
	"raw":      rawPtr,
	"pct":      fmtPct,
	"ago":      ago,
	"labels":   labelText,
	"lower":    strings.ToLower,
	"isIssue":  func(v *float64) bool { return v != nil && *v >= dataIssueRatio },
	"deref":    func(b *bool) bool { return b != nil && *b },
	"deref2":   func(v *float64) float64 { return *v },
	"hasValue": func(b *bool) bool { return b != nil },
}).ParseFS(templateFS, "templates/*.html"))

// dataIssueRatio is the share of missing, out-of-range or new-category values from which
// the pages list a data-quality issue: a few stray values in a large window are normal.
const dataIssueRatio = 0.01

// qualityHistoryLen is how many evaluations the status page's quality charts cover.
const qualityHistoryLen = 120

// qualityHistory keeps each model's whole-window quality over the last evaluations for
// the status page (the JSON API and metrics show only the latest).
type qualityHistory struct {
	mu     sync.Mutex
	points map[string][]qualityPoint
}

type qualityPoint struct {
	at     time.Time
	values map[string]float64 // "version\x00metric" for segment "*"
}

// record appends one evaluation's whole-window quality of every model.
func (h *qualityHistory) record(ts time.Time, stats map[string]*ModelStats) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.points == nil {
		h.points = map[string][]qualityPoint{}
	}
	for name, s := range stats {
		if len(s.Quality) == 0 {
			continue
		}
		p := qualityPoint{at: ts, values: map[string]float64{}}
		for _, q := range s.Quality {
			if q.Segment == AllValue {
				p.values[q.Version+"\x00"+q.Metric] = q.Value
			}
		}
		pts := append(h.points[name], p)
		if len(pts) > qualityHistoryLen {
			pts = slices.Delete(pts, 0, len(pts)-qualityHistoryLen)
		}
		h.points[name] = pts
	}
	for name := range h.points {
		if _, ok := stats[name]; !ok {
			delete(h.points, name)
		}
	}
}

// chart draws metric per version over the recorded evaluations.
func (h *qualityHistory) chart(model, metric string) template.HTML {
	h.mu.Lock()
	defer h.mu.Unlock()
	return qualityChart(h.points[model], metric)
}

// qualityChart draws metric per version over points (oldest first).
func qualityChart(points []qualityPoint, metric string) template.HTML {
	byVersion := map[string]*chart.Series{}
	for _, p := range points {
		for k, v := range p.values {
			version, m, _ := strings.Cut(k, "\x00")
			if m != metric {
				continue
			}
			s := byVersion[version]
			if s == nil {
				s = &chart.Series{Name: metric + " " + version}
				byVersion[version] = s
			}
			s.X = append(s.X, float64(p.at.UnixMilli())/1000)
			s.Y = append(s.Y, v)
		}
	}
	var series []chart.Series
	for _, v := range slices.Sorted(maps.Keys(byVersion)) {
		series = append(series, *byVersion[v])
	}
	return chart.LinesSVG(series, metric+" over the last evaluations")
}

// headlineMetric is the quality metric a page leads with for a task.
func headlineMetric(t Task) string {
	if t == Regression {
		return "mae"
	}
	return "accuracy"
}

// statusRoutes adds the status pages to mux.
func (m *Monitor) statusRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", m.statusIndex)
	mux.HandleFunc("GET /models/{model}", m.statusModel)
}

// indexPage is the data of GET /.
type indexPage struct {
	Version   string
	Now       time.Time
	Models    []modelRow
	Alerts    []alertRow
	Silences  []silenceRow
	Alerting  bool
	Evaluated time.Time
}

type modelRow struct {
	*ModelStats
	Headline []QualityValue
	Drifted  []string
	Firing   int
	Pending  int
}

type alertRow struct {
	Rule, State, Severity, Summary string
	Labels                         map[string]string
	Value                          *float64
	Since                          time.Time
}

type silenceRow struct {
	alerting.Silence
	Matchers string
}

func (m *Monitor) statusIndex(w http.ResponseWriter, _ *http.Request) {
	now := m.opts.Now()
	all := *m.stats.Load()
	alerts := m.alertRows("")
	p := indexPage{Version: m.opts.Version, Now: now, Alerts: alerts, Alerting: m.alerting != nil, Silences: m.silenceRows(now, "")}
	for _, name := range m.modelNames() {
		s, ok := all[name]
		if !ok {
			continue
		}
		p.Evaluated = s.EvaluatedAt
		row := modelRow{ModelStats: s, Headline: headline(s), Drifted: driftedFeatures(s)}
		for _, a := range alerts {
			if a.Labels["model"] == name {
				if a.State == "firing" {
					row.Firing++
				} else {
					row.Pending++
				}
			}
		}
		p.Models = append(p.Models, row)
	}
	m.render(w, "index.html", p)
}

// headline lists the whole-window headline metric of every version.
func headline(s *ModelStats) []QualityValue {
	var out []QualityValue
	want := headlineMetric(s.Task)
	for _, q := range s.Quality {
		if q.Segment == AllValue && q.Metric == want {
			out = append(out, q)
		}
	}
	return out
}

func driftedFeatures(s *ModelStats) []string {
	var out []string
	for _, f := range s.Features {
		if f.Detected != nil && *f.Detected {
			out = append(out, f.Name)
		}
	}
	return out
}

// alertRows lists the pending and firing alerts (of one model, unless model is ""),
// firing first.
func (m *Monitor) alertRows(model string) []alertRow {
	var out []alertRow
	for _, a := range *m.alerts.Load() {
		if a.State != rules.StateFiring && a.State != rules.StatePending {
			continue
		}
		if model != "" && a.Model != model {
			continue
		}
		r := alertRow{Rule: a.Rule, State: a.State.String(), Severity: a.Severity, Labels: a.Labels, Summary: a.Annotations["summary"], Since: a.ActiveAt}
		if !a.FiredAt.IsZero() {
			r.Since = a.FiredAt
		}
		if !a.NoData && finite(a.Value) {
			r.Value = ptr(a.Value)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b alertRow) int {
		return cmp.Or(cmp.Compare(b.State, a.State), cmp.Compare(a.Rule, b.Rule), cmp.Compare(labelText(a.Labels), labelText(b.Labels)))
	})
	return out
}

// silenceRows lists the active silences (those that can silence model, unless model is "").
func (m *Monitor) silenceRows(now time.Time, model string) []silenceRow {
	if m.alerting == nil {
		return nil
	}
	var out []silenceRow
	for _, s := range m.alerting.d.Silences().List() {
		if s.State(now) != alerting.SilenceActive {
			continue
		}
		if model != "" {
			applies := true
			for _, mt := range s.Matchers {
				if mt.Name == "model" && !mt.Matches(model) {
					applies = false
				}
			}
			if !applies {
				continue
			}
		}
		out = append(out, silenceRow{Silence: s, Matchers: s.Matchers.String()})
	}
	return out
}

// modelPage is the data of GET /models/{model}.
type modelPage struct {
	Version  string
	Now      time.Time
	S        *ModelStats
	Alerts   []alertRow
	Silences []silenceRow
	Alerting bool
	Report   reportBody
}

// reportBody is what the status page's model view and `vigil report` share: quality,
// its history, drift per feature with charts, data quality and the canary comparison.
type reportBody struct {
	Metrics        []string
	Quality        []qualityRow
	QualityChart   template.HTML
	QualityCaption string
	HeadlineMetric string
	Features       []featureRow
	DataIssues     []string
	Canary         *canaryView
}

type qualityRow struct {
	Version, Segment string
	Samples          int
	Values           []*float64 // by Metrics
}

type featureRow struct {
	FeatureStats
	Display string
	Score   *float64
	PValue  *float64
	Chart   template.HTML
}

type canaryView struct {
	Baseline, Candidate string
	Rows                []canaryRow
}

type canaryRow struct {
	Metric              string
	Baseline, Candidate float64
	BaseN, CandN        int
	Delta               float64
	Worse               bool
}

// newReportBody builds the shared sections from one evaluation's statistics.
func newReportBody(s *ModelStats, cfg *ModelConfig, qualityChart template.HTML) reportBody {
	r := reportBody{QualityChart: qualityChart, HeadlineMetric: headlineMetric(s.Task),
		QualityCaption: headlineMetric(s.Task) + " of the whole window over the last evaluations"}
	metricSet := map[string]bool{}
	for _, q := range s.Quality {
		metricSet[q.Metric] = true
	}
	r.Metrics = slices.Sorted(maps.Keys(metricSet))
	col := map[string]int{}
	for i, mt := range r.Metrics {
		col[mt] = i
	}
	rows := map[[2]string]*qualityRow{}
	var keys [][2]string
	for _, q := range s.Quality {
		k := [2]string{q.Version, q.Segment}
		row := rows[k]
		if row == nil {
			row = &qualityRow{Version: q.Version, Segment: q.Segment, Values: make([]*float64, len(r.Metrics))}
			rows[k] = row
			keys = append(keys, k)
		}
		row.Values[col[q.Metric]] = ptr(q.Value)
		if q.Metric != "estimated_accuracy" || row.Samples == 0 {
			row.Samples = max(row.Samples, q.Samples)
		}
	}
	// The whole window first, then the segments; by version within each.
	sort.SliceStable(keys, func(i, j int) bool {
		ai, aj := keys[i][1] == AllValue, keys[j][1] == AllValue
		if ai != aj {
			return ai
		}
		return cmp.Or(cmp.Compare(keys[i][1], keys[j][1]), cmp.Compare(keys[i][0], keys[j][0])) < 0
	})
	for _, k := range keys {
		r.Quality = append(r.Quality, *rows[k])
	}

	for _, f := range s.Features {
		fr := featureRow{FeatureStats: f, Display: f.Name}
		if f.Name == PredictionFeature {
			fr.Display = "prediction (the model's output)"
		}
		if v, ok := f.Scores[f.Method]; ok {
			fr.Score = ptr(v)
		}
		if v, ok := f.PValues[f.Method]; ok {
			fr.PValue = ptr(v)
		}
		if h := f.Histogram; h != nil {
			fr.Chart = chart.HistogramSVG(&chart.Histogram{Edges: h.Edges, Min: h.Min, Max: h.Max, Categories: h.Categories, Reference: h.Reference, Current: h.Current},
				fmt.Sprintf("%s: reference and current distribution", fr.Display))
		}
		r.Features = append(r.Features, fr)
		if f.Name == PredictionFeature {
			continue
		}
		for _, issue := range []struct {
			v    *float64
			what string
		}{{f.MissingRatio, "missing"}, {f.OutOfRangeRatio, "out of the reference's range"}, {f.NewCategoryRatio, "in categories the reference lacks"}} {
			if issue.v != nil && *issue.v >= dataIssueRatio {
				r.DataIssues = append(r.DataIssues, fmt.Sprintf("%s: %s of current values %s", f.Name, fmtPct(*issue.v), issue.what))
			}
		}
		if f.TypeMismatches > 0 {
			r.DataIssues = append(r.DataIssues, fmt.Sprintf("%s: %d values of the wrong type since start (kept as missing)", f.Name, f.TypeMismatches))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.UnknownFeatures)) {
		r.DataIssues = append(r.DataIssues, fmt.Sprintf("%s: sent %d times but not declared in the config", name, s.UnknownFeatures[name]))
	}
	if cfg != nil {
		r.Canary = canaryComparison(s, cfg)
	}
	return r
}

// canaryComparison sets the canary's whole-window quality beside its baseline's, when the
// model declares a canary and both versions have quality. Lower is better for the error
// metrics; Worse marks a candidate doing worse than its baseline.
func canaryComparison(s *ModelStats, cfg *ModelConfig) *canaryView {
	if cfg.Canary == nil {
		return nil
	}
	c := &canaryView{Baseline: cfg.Canary.Baseline, Candidate: cfg.Canary.Candidate}
	base, cand := map[string]QualityValue{}, map[string]QualityValue{}
	for _, q := range s.Quality {
		if q.Segment != AllValue {
			continue
		}
		switch q.Version {
		case c.Baseline:
			base[q.Metric] = q
		case c.Candidate:
			cand[q.Metric] = q
		}
	}
	for _, mt := range slices.Sorted(maps.Keys(base)) {
		cq, ok := cand[mt]
		if !ok {
			continue
		}
		bq := base[mt]
		d := cq.Value - bq.Value
		lowerBetter := map[string]bool{"log_loss": true, "brier": true, "mae": true, "rmse": true, "mape": true}[mt]
		c.Rows = append(c.Rows, canaryRow{Metric: mt, Baseline: bq.Value, Candidate: cq.Value, BaseN: bq.Samples, CandN: cq.Samples,
			Delta: d, Worse: (d < 0) != lowerBetter && d != 0})
	}
	if len(c.Rows) == 0 {
		return nil
	}
	return c
}

func (m *Monitor) statusModel(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("model")
	s, ok := m.Stats(name)
	if !ok {
		http.Error(w, fmt.Sprintf("unknown model %q", name), http.StatusNotFound)
		return
	}
	now := m.opts.Now()
	cfg := m.state.Load().cfg.Model(name)
	p := modelPage{
		Version: m.opts.Version, Now: now, S: s, Alerts: m.alertRows(name),
		Silences: m.silenceRows(now, name), Alerting: m.alerting != nil,
		Report: newReportBody(s, cfg, m.history.chart(name, headlineMetric(s.Task))),
	}
	m.render(w, "model.html", p)
}

func (m *Monitor) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplates.ExecuteTemplate(w, name, data); err != nil {
		m.logger.Warn("render status page", "page", name, "err", err)
	}
}

func fmtFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v != 0 && (math.Abs(v) < 1e-3 || math.Abs(v) >= 1e6):
		return fmt.Sprintf("%.3g", v)
	case math.Abs(v) >= 1000:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.4f", v)
}

func fmtPtr(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmtFloat(*v)
}

// rawPtr is v at full precision, for data attributes that tools (and tests) read back.
func rawPtr(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

func fmtPct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

func ago(now time.Time, t any) string {
	var at time.Time
	switch x := t.(type) {
	case time.Time:
		at = x
	case *time.Time:
		if x == nil {
			return "never"
		}
		at = *x
	}
	if at.IsZero() {
		return "never"
	}
	d := now.Sub(at)
	if d < time.Second {
		return "just now"
	}
	return d.Round(time.Second).String() + " ago"
}

// labelText is labels as {k="v", ...} in key order, without alertname and severity.
func labelText(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		if k != "alertname" && k != "severity" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, l[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
