package monitor

import "github.com/prometheus/client_golang/prometheus"

// Label names of the canary metrics.
const (
	labelBaseline  = "baseline"
	labelCandidate = "candidate"
	labelSample    = "sample"
	labelCriterion = "criterion"
)

// noData is the value of a canary figure without enough samples. Argo Rollouts counts an
// empty query result as an error and Flagger counts NaN or no data as a failed check, so
// every canary series is always exported: -1 when not enough data.
const noData = -1

// canaryCollector exports the last evaluation's canary statistics at scrape time.
type canaryCollector struct {
	snapshot func() map[string]*ModelStats

	verdict, criterion, samples, agreement, scoreMAE, scoreCorr *prometheus.Desc
	driftScore, driftPValue, qualityDelta, qualityPValue        *prometheus.Desc
	latencyP50, latencyP95, pairsPending, pairsDropped          *prometheus.Desc
}

func newCanaryCollector(snapshot func() map[string]*ModelStats) *canaryCollector {
	d := func(name, help string, extra ...string) *prometheus.Desc {
		labels := append([]string{labelModel, labelBaseline, labelCandidate}, extra...)
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "canary", name), help, labels, nil)
	}
	return &canaryCollector{
		snapshot:      snapshot,
		verdict:       d("verdict", "Canary verdict from the configured criteria: 1 pass, 0 fail, -1 not enough data."),
		criterion:     d("criterion", "Result of one canary criterion: 1 pass, 0 fail, -1 not enough data.", labelCriterion),
		samples:       d("samples", "Samples behind the canary figures: baseline and candidate predictions, shadow_pairs, baseline_labeled, candidate_labeled, baseline_latency, candidate_latency.", labelSample),
		agreement:     d("agreement_ratio", "Share of shadow pairs (same id, both versions) whose predicted classes agree; -1 when not enough data."),
		scoreMAE:      d("score_mean_abs_diff", "Mean absolute difference of the shadow pairs' scores (binary) or values (regression); -1 when not enough data."),
		scoreCorr:     d("score_correlation", "Pearson correlation of the shadow pairs' scores or values; -1 when not enough data (read canary_samples to tell it from a real -1)."),
		driftScore:    d("prediction_drift_score", "Test statistic of the candidate's outputs against the baseline's (ks on scores or values, chi_square on classes); -1 when not enough data.", labelMethod),
		driftPValue:   d("prediction_drift_p_value", "p-value of that test; -1 when not enough data.", labelMethod),
		qualityDelta:  d("quality_delta", "Candidate minus baseline quality on labeled predictions (accuracy; auc for binary models); -1 when not enough data (read canary_samples to tell it from a real -1).", labelMetric),
		qualityPValue: d("quality_delta_p_value", "Two-sided p-value of the quality difference: two-proportion z-test for accuracy, DeLong's test for auc; -1 when not enough data.", labelMetric),
		latencyP50:    d("latency_p50_ratio", "Candidate over baseline median latency_ms; -1 when not enough data."),
		latencyP95:    d("latency_p95_ratio", "Candidate over baseline 95th percentile of latency_ms; -1 when not enough data."),
		pairsPending:  d("shadow_pairs_pending", "Shadow predictions waiting for the other version's prediction of the same id."),
		pairsDropped:  d("shadow_pairs_dropped_total", "Shadow predictions that never found their partner, by reason (ttl, capacity).", labelReason),
	}
}

// Describe implements prometheus.Collector.
func (c *canaryCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.verdict, c.criterion, c.samples, c.agreement, c.scoreMAE, c.scoreCorr,
		c.driftScore, c.driftPValue, c.qualityDelta, c.qualityPValue, c.latencyP50, c.latencyP95, c.pairsPending, c.pairsDropped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *canaryCollector) Collect(ch chan<- prometheus.Metric) {
	for name, st := range c.snapshot() {
		cs := st.Canary
		if cs == nil {
			continue
		}
		gauge := func(d *prometheus.Desc, v float64, extra ...string) {
			labels := append([]string{name, cs.Baseline, cs.Candidate}, extra...)
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
		}
		opt := func(d *prometheus.Desc, v *float64, extra ...string) {
			if v == nil {
				gauge(d, noData, extra...)
				return
			}
			gauge(d, *v, extra...)
		}
		gauge(c.verdict, float64(cs.Verdict))
		for _, cr := range cs.Criteria {
			gauge(c.criterion, float64(cr.Result), cr.Name)
		}
		sm := cs.Samples
		for _, s := range []struct {
			name string
			n    int
		}{
			{"baseline", sm.Baseline}, {"candidate", sm.Candidate}, {"shadow_pairs", sm.ShadowPairs},
			{"baseline_labeled", sm.BaselineLabeled}, {"candidate_labeled", sm.CandidateLabeled},
			{"baseline_latency", sm.BaselineLatency}, {"candidate_latency", sm.CandidateLatency},
		} {
			gauge(c.samples, float64(s.n), s.name)
		}
		if st.Task != Regression {
			opt(c.agreement, cs.Agreement)
		}
		if st.Task != MulticlassClassification {
			opt(c.scoreMAE, cs.ScoreMeanAbsDiff)
			opt(c.scoreCorr, cs.ScoreCorrelation)
		}
		method := cs.PredictionDriftMethod
		if pd := cs.PredictionDrift; pd != nil {
			gauge(c.driftScore, pd.Score, pd.Method)
			gauge(c.driftPValue, pd.PValue, pd.Method)
		} else {
			gauge(c.driftScore, noData, method)
			gauge(c.driftPValue, noData, method)
		}
		if st.Task != Regression {
			qualityPair(gauge, c.qualityDelta, c.qualityPValue, "accuracy", cs.Accuracy != nil, func() (float64, float64) { return cs.Accuracy.Delta, cs.Accuracy.PValue })
		}
		if st.Task == BinaryClassification {
			qualityPair(gauge, c.qualityDelta, c.qualityPValue, "auc", cs.AUC != nil, func() (float64, float64) { return cs.AUC.Delta, cs.AUC.PValue })
		}
		opt(c.latencyP50, cs.LatencyP50Ratio)
		opt(c.latencyP95, cs.LatencyP95Ratio)
		gauge(c.pairsPending, float64(cs.PairsPending))
		ch <- prometheus.MustNewConstMetric(c.pairsDropped, prometheus.CounterValue, float64(cs.PairsExpired), name, cs.Baseline, cs.Candidate, "ttl")
		ch <- prometheus.MustNewConstMetric(c.pairsDropped, prometheus.CounterValue, float64(cs.PairsEvicted), name, cs.Baseline, cs.Candidate, "capacity")
	}
}

func qualityPair(gauge func(*prometheus.Desc, float64, ...string), delta, pvalue *prometheus.Desc, metric string, ok bool, get func() (float64, float64)) {
	if !ok {
		gauge(delta, noData, metric)
		gauge(pvalue, noData, metric)
		return
	}
	d, p := get()
	gauge(delta, d, metric)
	gauge(pvalue, p, metric)
}
