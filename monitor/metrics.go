package monitor

import (
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

// statsCollector exports the last evaluation's statistics at scrape time, so a scrape costs
// one pass over the snapshot and no per-event work is done for gauges.
type statsCollector struct {
	snapshot func() map[string]*ModelStats

	windowSamples, quality, labelsPending, labelLag, lastEvent *prometheus.Desc
	driftScore, driftPValue, driftDetected, driftThreshold     *prometheus.Desc
	missingRatio, outOfRange, newCategory, typeMismatches      *prometheus.Desc
	anomalyScore, anomalyValue, anomalyAlarms                  *prometheus.Desc
}

func newStatsCollector(snapshot func() map[string]*ModelStats) *statsCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	return &statsCollector{
		snapshot:      snapshot,
		windowSamples: d("window_samples", "Events in a model's window: current and reference predictions, labeled pairs.", labelModel, labelWindow),
		quality:       d("quality", "Quality of a model version on the current window of labeled pairs, overall (segment=\"*\") and per segment.", labelModel, labelVersion, labelSegment, labelMetric),
		labelsPending: d("labels_pending", "Predictions waiting for their label.", labelModel),
		labelLag:      d("label_lag_seconds", "Median time from prediction to label over the current window's labeled pairs.", labelModel),
		lastEvent:     d("last_event_timestamp_seconds", "Arrival time of the model's newest event.", labelModel),
		driftScore: d("drift_score", "Drift statistic of a feature's current window against its reference, by method; feature=\"*\" method=\"share\" is the share of drifted features.",
			labelModel, labelFeature, labelMethod),
		driftPValue:    d("drift_p_value", "p-value of a feature's drift test (ks, chi_square), uncorrected.", labelModel, labelFeature, labelMethod),
		driftDetected:  d("drift_detected", "1 when the feature's deciding method says it drifted, else 0; feature=\"*\" is the model-level verdict after the multiple-testing correction. Absent without a verdict.", labelModel, labelFeature),
		driftThreshold: d("drift_threshold", "The limit the deciding method's statistic is compared with (the p-value's alpha for p-value tests); feature=\"*\" method=\"pca_reconstruction_error\" is the upper bound of the multivariate test.", labelModel, labelFeature, labelMethod),
		missingRatio:   d("feature_missing_ratio", "Share of the current window's predictions without the feature.", labelModel, labelFeature),
		outOfRange:     d("feature_out_of_range_ratio", "Share of the feature's current values outside the configured bounds or the reference's [min, max].", labelModel, labelFeature),
		newCategory:    d("feature_new_category_ratio", "Share of the feature's current values whose category the reference lacks.", labelModel, labelFeature),
		anomalyScore:   d("anomaly_score", "Robust z-score of one of the model's own time series against its history (signed, capped at ±100).", labelModel, labelSignal),
		anomalyValue:   d("anomaly_signal_value", "The model's own time series over the predictions since the previous evaluation.", labelModel, labelSignal),
		anomalyAlarms:  d("anomaly_alarms_total", "Alarms of the CUSUM change detector on a signal; alert on its increase.", labelModel, labelSignal),
		typeMismatches: d("feature_type_mismatches_total", "Values of the wrong type for the declared feature type (kept as missing).", labelModel, labelFeature),
	}
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.windowSamples
	ch <- c.quality
	ch <- c.labelsPending
	ch <- c.labelLag
	ch <- c.lastEvent
	ch <- c.driftScore
	ch <- c.driftPValue
	ch <- c.driftDetected
	ch <- c.driftThreshold
	ch <- c.missingRatio
	ch <- c.outOfRange
	ch <- c.newCategory
	ch <- c.typeMismatches
	ch <- c.anomalyScore
	ch <- c.anomalyValue
	ch <- c.anomalyAlarms
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	for name, st := range c.snapshot() {
		gauge := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
		}
		gauge(c.windowSamples, float64(st.Windows.Current), name, "current")
		gauge(c.windowSamples, float64(st.Windows.Reference), name, "reference")
		gauge(c.windowSamples, float64(st.Windows.Labeled), name, "labeled")
		for _, q := range st.Quality {
			gauge(c.quality, q.Value, name, q.Version, q.Segment, q.Metric)
		}
		gauge(c.labelsPending, float64(st.Labels.PendingPredictions), name)
		if st.Labels.LagSeconds != nil {
			gauge(c.labelLag, *st.Labels.LagSeconds, name)
		}
		if st.LastEventAt != nil {
			gauge(c.lastEvent, float64(st.LastEventAt.UnixNano())/1e9, name)
		}
		opt := func(d *prometheus.Desc, v *float64, feature string) {
			if v != nil {
				gauge(d, *v, name, feature)
			}
		}
		for i := range st.Features {
			f := &st.Features[i]
			for method, v := range f.Scores {
				gauge(c.driftScore, v, name, f.Name, method)
			}
			for method, v := range f.PValues {
				gauge(c.driftPValue, v, name, f.Name, method)
			}
			if f.Detected != nil {
				gauge(c.driftDetected, boolValue(*f.Detected), name, f.Name)
				gauge(c.driftThreshold, *f.Threshold, name, f.Name, f.Method)
			}
			if f.Name == PredictionFeature {
				continue
			}
			opt(c.missingRatio, f.MissingRatio, f.Name)
			opt(c.outOfRange, f.OutOfRangeRatio, f.Name)
			opt(c.newCategory, f.NewCategoryRatio, f.Name)
			ch <- prometheus.MustNewConstMetric(c.typeMismatches, prometheus.CounterValue, float64(f.TypeMismatches), name, f.Name)
		}
		if st.Drift != nil {
			gauge(c.driftScore, st.Drift.Share, name, AllValue, "share")
			gauge(c.driftDetected, boolValue(st.Drift.Detected), name, AllValue)
		}
		for _, a := range st.Anomalies {
			if a.Value != nil {
				gauge(c.anomalyValue, *a.Value, name, a.Signal)
			}
			if a.Score != nil {
				gauge(c.anomalyScore, *a.Score, name, a.Signal)
			}
			ch <- prometheus.MustNewConstMetric(c.anomalyAlarms, prometheus.CounterValue, float64(a.Alarms), name, a.Signal)
		}
		if mv := st.Multivariate; mv != nil && mv.Error != nil {
			gauge(c.driftScore, *mv.Error, name, AllValue, MethodPCA)
			gauge(c.driftThreshold, *mv.Upper, name, AllValue, MethodPCA)
		}
	}
}
