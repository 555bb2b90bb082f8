package monitor

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const namespace = "vigil"

// Label names of vigil's metrics.
const (
	labelModel   = "model"
	labelKind    = "kind"
	labelReason  = "reason"
	labelWindow  = "window"
	labelVersion = "version"
	labelSegment = "segment"
	labelMetric  = "metric"
	labelFeature = "feature"
	labelMethod  = "method"
	labelSignal  = "signal"
)

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// metrics are the instrumentation the daemon updates as events arrive.
type metrics struct {
	events           *prometheus.CounterVec
	rejected         *prometheus.CounterVec
	evicted          *prometheus.CounterVec
	schemaViolations *prometheus.CounterVec
	inflight         prometheus.Gauge
	reloadSuccess    prometheus.Gauge
	reloadTimestamp  prometheus.Gauge
	evalDuration     prometheus.Histogram
	evalTimestamp    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		events: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "events_total",
			Help: "Events accepted, by model and kind (prediction, label).",
		}, []string{labelModel, labelKind}),
		rejected: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "events_rejected_total",
			Help: "Records rejected, by model (empty when the model is not declared) and reason.",
		}, []string{labelModel, labelReason}),
		evicted: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "label_join_evicted_total",
			Help: "Predictions (kind=prediction) that never got a label and labels (kind=label) that never got a prediction, dropped from the join buffer by reason (ttl, capacity).",
		}, []string{labelModel, labelKind, labelReason}),
		schemaViolations: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "schema_violations_total",
			Help: "Feature values of undeclared features, counted and not exported by name.",
		}, []string{labelModel}),
		inflight: f.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "ingest_inflight_requests",
			Help: "Ingest requests being decoded and applied now.",
		}),
		reloadSuccess: f.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "config_last_reload_successful",
			Help: "Whether the last configuration reload succeeded (1) or was refused (0).",
		}),
		reloadTimestamp: f.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "config_last_reload_success_timestamp_seconds",
			Help: "When the configuration was last loaded successfully.",
		}),
		evalDuration: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "evaluation_duration_seconds",
			Help:    "Time one evaluation of every model took.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}),
		evalTimestamp: f.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "evaluation_last_timestamp_seconds",
			Help: "When the last evaluation finished.",
		}),
	}
}

// modelMetrics are one model's counters, resolved once so the ingest path does no label lookups.
type modelMetrics struct {
	predictions, labels                   prometheus.Counter
	evictedPredTTL, evictedPredCapacity   prometheus.Counter
	evictedLabelTTL, evictedLabelCapacity prometheus.Counter
	schemaViolations                      prometheus.Counter
}

func (m *metrics) forModel(name string) *modelMetrics {
	return &modelMetrics{
		predictions:          m.events.WithLabelValues(name, "prediction"),
		labels:               m.events.WithLabelValues(name, "label"),
		evictedPredTTL:       m.evicted.WithLabelValues(name, "prediction", "ttl"),
		evictedPredCapacity:  m.evicted.WithLabelValues(name, "prediction", "capacity"),
		evictedLabelTTL:      m.evicted.WithLabelValues(name, "label", "ttl"),
		evictedLabelCapacity: m.evicted.WithLabelValues(name, "label", "capacity"),
		schemaViolations:     m.schemaViolations.WithLabelValues(name),
	}
}

// forget deletes every series of a model that is no longer configured.
func (m *metrics) forget(name string) {
	l := prometheus.Labels{labelModel: name}
	m.events.DeletePartialMatch(l)
	m.rejected.DeletePartialMatch(l)
	m.evicted.DeletePartialMatch(l)
	m.schemaViolations.DeletePartialMatch(l)
}

// Families of the per-model statistics, in the order statsCollector.fams holds them.
const (
	famWindowSamples = iota
	famQuality
	famLabelsPending
	famLabelLag
	famLastEvent
	famDriftScore
	famDriftPValue
	famDriftDetected
	famDriftThreshold
	famMissingRatio
	famOutOfRange
	famNewCategory
	famTypeMismatches
	famAnomalyScore
	famAnomalyValue
	famAnomalyAlarms
	numStatFamilies
)

// maxStatLabels is the most labels a statistics family has (vigil_quality's four).
const maxStatLabels = 4

// labelValues are one series' label values, in the order of its family's labels.
type labelValues [maxStatLabels]string

// statFamily is one family of the per-model statistics, described once for the two ways
// it is exported: the client library's Collector and the /metrics handler's own text
// writer (exposition.go).
type statFamily struct {
	name, help string
	valueType  prometheus.ValueType
	labels     []string // in the order walk passes their values
	desc       *prometheus.Desc
	text       familyText
}

// statsCollector exports the last evaluation's statistics at scrape time, so a scrape costs
// one pass over the snapshot and no per-event work is done for gauges.
type statsCollector struct {
	snapshot func() map[string]*ModelStats
	fams     [numStatFamilies]statFamily
	// byName lists the families in name order, the order of the exposition.
	byName [numStatFamilies]int
}

func newStatsCollector(snapshot func() map[string]*ModelStats) *statsCollector {
	c := &statsCollector{snapshot: snapshot}
	d := func(f int, name, help string, labels ...string) {
		c.fams[f] = statFamily{name: prometheus.BuildFQName(namespace, "", name), help: help, valueType: prometheus.GaugeValue, labels: labels}
	}
	d(famWindowSamples, "window_samples", "Events in a model's window: current and reference predictions, labeled pairs.", labelModel, labelWindow)
	d(famQuality, "quality", "Quality of a model version on the current window of labeled pairs, overall (segment=\"*\") and per segment.", labelModel, labelVersion, labelSegment, labelMetric)
	d(famLabelsPending, "labels_pending", "Predictions waiting for their label.", labelModel)
	d(famLabelLag, "label_lag_seconds", "Median time from prediction to label over the current window's labeled pairs.", labelModel)
	d(famLastEvent, "last_event_timestamp_seconds", "Arrival time of the model's newest event.", labelModel)
	d(famDriftScore, "drift_score", "Drift statistic of a feature's current window against its reference, by method; feature=\"*\" method=\"share\" is the share of drifted features.",
		labelModel, labelFeature, labelMethod)
	d(famDriftPValue, "drift_p_value", "p-value of a feature's drift test (ks, chi_square), uncorrected.", labelModel, labelFeature, labelMethod)
	d(famDriftDetected, "drift_detected", "1 when the feature's deciding method says it drifted, else 0; feature=\"*\" is the model-level verdict after the multiple-testing correction. Absent without a verdict.", labelModel, labelFeature)
	d(famDriftThreshold, "drift_threshold", "The limit the deciding method's statistic is compared with (the p-value's alpha for p-value tests); feature=\"*\" method=\"pca_reconstruction_error\" is the upper bound of the multivariate test.", labelModel, labelFeature, labelMethod)
	d(famMissingRatio, "feature_missing_ratio", "Share of the current window's predictions without the feature.", labelModel, labelFeature)
	d(famOutOfRange, "feature_out_of_range_ratio", "Share of the feature's current values outside the configured bounds or the reference's [min, max].", labelModel, labelFeature)
	d(famNewCategory, "feature_new_category_ratio", "Share of the feature's current values whose category the reference lacks.", labelModel, labelFeature)
	d(famTypeMismatches, "feature_type_mismatches_total", "Values of the wrong type for the declared feature type (kept as missing).", labelModel, labelFeature)
	d(famAnomalyScore, "anomaly_score", "Robust z-score of one of the model's own time series against its history (signed, capped at ±100).", labelModel, labelSignal)
	d(famAnomalyValue, "anomaly_signal_value", "The model's own time series over the predictions since the previous evaluation.", labelModel, labelSignal)
	d(famAnomalyAlarms, "anomaly_alarms_total", "Alarms of the CUSUM change detector on a signal; alert on its increase.", labelModel, labelSignal)
	c.fams[famTypeMismatches].valueType = prometheus.CounterValue
	c.fams[famAnomalyAlarms].valueType = prometheus.CounterValue
	for i := range c.fams {
		f := &c.fams[i]
		f.desc = prometheus.NewDesc(f.name, f.help, f.labels, nil)
		f.text = newFamilyText(f.name, f.help, f.valueType, f.labels)
		c.byName[i] = i
	}
	slices.SortFunc(c.byName[:], func(a, b int) int { return strings.Compare(c.fams[a].name, c.fams[b].name) })
	return c
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for i := range c.fams {
		ch <- c.fams[i].desc
	}
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	c.walk(c.snapshot(), func(f int, v float64, l labelValues) {
		fam := &c.fams[f]
		ch <- prometheus.MustNewConstMetric(fam.desc, fam.valueType, v, l[:len(fam.labels)]...)
	})
}

// walk passes every series of the snapshot's statistics to emit, with its family (one of
// the fam constants) and its label values in the order of the family's labels. Both
// exporters walk the same way, so they export the same series.
func (c *statsCollector) walk(snapshot map[string]*ModelStats, emit func(f int, v float64, l labelValues)) {
	for name, st := range snapshot {
		emit(famWindowSamples, float64(st.Windows.Current), labelValues{name, "current"})
		emit(famWindowSamples, float64(st.Windows.Reference), labelValues{name, "reference"})
		emit(famWindowSamples, float64(st.Windows.Labeled), labelValues{name, "labeled"})
		for _, q := range st.Quality {
			emit(famQuality, q.Value, labelValues{name, validUTF8(q.Version), validUTF8(q.Segment), q.Metric})
		}
		emit(famLabelsPending, float64(st.Labels.PendingPredictions), labelValues{name})
		if st.Labels.LagSeconds != nil {
			emit(famLabelLag, *st.Labels.LagSeconds, labelValues{name})
		}
		if st.LastEventAt != nil {
			emit(famLastEvent, float64(st.LastEventAt.UnixNano())/1e9, labelValues{name})
		}
		opt := func(f int, v *float64, feature string) {
			if v != nil {
				emit(f, *v, labelValues{name, feature})
			}
		}
		for i := range st.Features {
			f := &st.Features[i]
			feature := validUTF8(f.Name)
			for method, v := range f.Scores {
				emit(famDriftScore, v, labelValues{name, feature, method})
			}
			for method, v := range f.PValues {
				emit(famDriftPValue, v, labelValues{name, feature, method})
			}
			if f.Detected != nil {
				emit(famDriftDetected, boolValue(*f.Detected), labelValues{name, feature})
				emit(famDriftThreshold, *f.Threshold, labelValues{name, feature, f.Method})
			}
			if f.Name == PredictionFeature {
				continue
			}
			opt(famMissingRatio, f.MissingRatio, feature)
			opt(famOutOfRange, f.OutOfRangeRatio, feature)
			opt(famNewCategory, f.NewCategoryRatio, feature)
			emit(famTypeMismatches, float64(f.TypeMismatches), labelValues{name, feature})
		}
		if st.Drift != nil {
			emit(famDriftScore, st.Drift.Share, labelValues{name, AllValue, "share"})
			emit(famDriftDetected, boolValue(st.Drift.Detected), labelValues{name, AllValue})
		}
		for _, a := range st.Anomalies {
			if a.Value != nil {
				emit(famAnomalyValue, *a.Value, labelValues{name, a.Signal})
			}
			if a.Score != nil {
				emit(famAnomalyScore, *a.Score, labelValues{name, a.Signal})
			}
			emit(famAnomalyAlarms, float64(a.Alarms), labelValues{name, a.Signal})
		}
		if mv := st.Multivariate; mv != nil && mv.Error != nil {
			emit(famDriftScore, *mv.Error, labelValues{name, AllValue, MethodPCA})
			emit(famDriftThreshold, *mv.Upper, labelValues{name, AllValue, MethodPCA})
		}
	}
}

// validUTF8 replaces the invalid UTF-8 of a label value that comes from outside the
// config. The event decoder refuses invalid UTF-8, so this should never change anything;
// it is here because one invalid value would otherwise fail the whole scrape (the client
// library refuses such a series and answers 500).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, string(utf8.RuneError))
}

// reservedStats describes the statistics' families to the registry the daemon serves and
// collects nothing: the /metrics handler writes the statistics itself. Describing them
// keeps the registry's checks: it refuses another collector's family of the same name
// with other labels or help.
type reservedStats struct{ c *statsCollector }

// Describe implements prometheus.Collector.
func (r reservedStats) Describe(ch chan<- *prometheus.Desc) { r.c.Describe(ch) }

// Collect implements prometheus.Collector.
func (reservedStats) Collect(chan<- prometheus.Metric) {}
