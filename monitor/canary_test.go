package monitor

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/drift/quality"
)

const canaryCfg = `
global: {evaluation_interval: 1h}
models:
  - name: fraud
    task: binary_classification
    window: {size: 1000}
    labels: {ttl: 1h}
    canary:
      baseline: v1
      candidate: v2
      min_samples: 100
      pair_ttl: 5m
      max_pending_pairs: 50
      criteria:
        min_agreement: 0.9
        max_accuracy_drop: 0.02
        max_auc_drop: 0.05
        max_latency_p95_ratio: 1.5
        max_prediction_drift: 0.1
`

// canaryTraffic is n requests answered by v1 (primary) and v2 (shadow) with the same id,
// and their labels. v2 flips its prediction on a share flip of the requests and is slow
// times as slow.
type canaryTraffic struct {
	preds, labels   strings.Builder
	y, predB, predC []bool
	scoreB, scoreC  []float64
	latB, latC      []float64
}

func newCanaryTraffic(n int, flip, slow float64, seed uint64) *canaryTraffic {
	r := rand.New(rand.NewPCG(seed, 7))
	tr := &canaryTraffic{}
	for i := range n {
		y := r.Float64() < 0.4
		s := 0.25 + 0.2*r.Float64()
		if y {
			s += 0.3
		}
		if r.Float64() < 0.1 {
			s = 1 - s // the baseline is wrong on about a tenth
		}
		sc := math.Round((s+0.02*r.NormFloat64())*1000) / 1000
		sc = max(0, min(1, sc))
		if r.Float64() < flip {
			sc = 1 - sc
		}
		lb := 10 + 5*r.Float64()
		lc := lb * slow * (0.9 + 0.2*r.Float64())
		lb, lc = math.Round(lb*100)/100, math.Round(lc*100)/100
		s = math.Round(s*1000) / 1000
		tr.y = append(tr.y, y)
		tr.predB, tr.predC = append(tr.predB, s >= 0.5), append(tr.predC, sc >= 0.5)
		tr.scoreB, tr.scoreC = append(tr.scoreB, s), append(tr.scoreC, sc)
		tr.latB, tr.latC = append(tr.latB, lb), append(tr.latC, lc)
		fmt.Fprintf(&tr.preds, `{"model":"fraud","version":"v1","id":"r%d","score":%g,"latency_ms":%g}`+"\n", i, s, lb)
		fmt.Fprintf(&tr.preds, `{"model":"fraud","version":"v2","role":"shadow","id":"r%d","score":%g,"latency_ms":%g}`+"\n", i, sc, lc)
		fmt.Fprintf(&tr.labels, `{"model":"fraud","id":"r%d","label":%d}`+"\n", i, b2i(y))
	}
	return tr
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (tr *canaryTraffic) send(t *testing.T, d *testDaemon) {
	t.Helper()
	r := d.post(t, "/api/v1/predictions", "application/x-ndjson", tr.preds.String())
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	require.Zero(t, decodeIngest(t, r).Rejected)
	r = d.post(t, "/api/v1/labels", "application/x-ndjson", tr.labels.String())
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
}

func TestCanaryNotEnoughDataExportsEverySeries(t *testing.T) {
	d := startDaemon(t, canaryCfg)
	tr := newCanaryTraffic(50, 0, 1, 1) // below min_samples
	tr.send(t, d)
	d.m.Evaluate(d.clock.Now())

	st := d.stats(t, "fraud").Canary
	require.NotNil(t, st)
	require.Equal(t, VerdictNoData, st.Verdict)
	require.Equal(t, CanarySamples{Baseline: 50, Candidate: 50, ShadowPairs: 50, BaselineLabeled: 50, CandidateLabeled: 50, BaselineLatency: 50, CandidateLatency: 50}, st.Samples)
	for _, c := range st.Criteria {
		require.Equal(t, VerdictNoData, c.Result, c.Name)
	}
	problems, err := testutil.GatherAndLint(d.m.gatherer)
	require.NoError(t, err)
	require.Empty(t, problems)
	const l = `baseline="v1",candidate="v2",model="fraud"`
	require.NoError(t, testutil.GatherAndCompare(d.reg, bytes.NewBufferString(strings.NewReplacer("@@", l).Replace(`
# HELP vigil_canary_agreement_ratio Share of shadow pairs (same id, both versions) whose predicted classes agree; -1 when not enough data.
# TYPE vigil_canary_agreement_ratio gauge
vigil_canary_agreement_ratio{@@} -1
# HELP vigil_canary_verdict Canary verdict from the configured criteria: 1 pass, 0 fail, -1 not enough data.
# TYPE vigil_canary_verdict gauge
vigil_canary_verdict{@@} -1
# HELP vigil_canary_latency_p95_ratio Candidate over baseline 95th percentile of latency_ms; -1 when not enough data.
# TYPE vigil_canary_latency_p95_ratio gauge
vigil_canary_latency_p95_ratio{@@} -1
# HELP vigil_canary_quality_delta Candidate minus baseline quality on labeled predictions (accuracy; auc for binary models); -1 when not enough data (read canary_samples to tell it from a real -1).
# TYPE vigil_canary_quality_delta gauge
vigil_canary_quality_delta{baseline="v1",candidate="v2",metric="accuracy",model="fraud"} -1
vigil_canary_quality_delta{baseline="v1",candidate="v2",metric="auc",model="fraud"} -1
# HELP vigil_canary_prediction_drift_p_value p-value of that test; -1 when not enough data.
# TYPE vigil_canary_prediction_drift_p_value gauge
vigil_canary_prediction_drift_p_value{baseline="v1",candidate="v2",method="ks",model="fraud"} -1
# HELP vigil_canary_samples Samples behind the canary figures: baseline and candidate predictions, shadow_pairs, baseline_labeled, candidate_labeled, baseline_latency, candidate_latency.
# TYPE vigil_canary_samples gauge
vigil_canary_samples{@@,sample="baseline"} 50
vigil_canary_samples{@@,sample="baseline_labeled"} 50
vigil_canary_samples{@@,sample="baseline_latency"} 50
vigil_canary_samples{@@,sample="candidate"} 50
vigil_canary_samples{@@,sample="candidate_labeled"} 50
vigil_canary_samples{@@,sample="candidate_latency"} 50
vigil_canary_samples{@@,sample="shadow_pairs"} 50
`)), "vigil_canary_agreement_ratio", "vigil_canary_verdict", "vigil_canary_latency_p95_ratio",
		"vigil_canary_quality_delta", "vigil_canary_prediction_drift_p_value", "vigil_canary_samples"))
}

func TestCanaryVerdict(t *testing.T) {
	tests := []struct {
		name        string
		flip, slow  float64
		verdict     int
		failing     []string
		wantLatency float64
	}{
		{name: "pass", flip: 0, slow: 1, verdict: VerdictPass},
		{name: "fail", flip: 0.4, slow: 2, verdict: VerdictFail,
			failing: []string{CriterionAgreement, CriterionPredictionDrift, CriterionAccuracy, CriterionAUC, CriterionLatencyP95}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := startDaemon(t, canaryCfg)
			tr := newCanaryTraffic(400, tt.flip, tt.slow, 3)
			tr.send(t, d)
			d.m.Evaluate(d.clock.Now())
			st := d.stats(t, "fraud").Canary
			require.NotNil(t, st)

			// The figures, recomputed here from the traffic.
			agree, correctB, correctC, mad := 0, 0, 0, 0.0
			for i := range tr.y {
				agree += b2i(tr.predB[i] == tr.predC[i])
				correctB += b2i(tr.predB[i] == tr.y[i])
				correctC += b2i(tr.predC[i] == tr.y[i])
				mad += math.Abs(tr.scoreC[i] - tr.scoreB[i])
			}
			n := len(tr.y)
			require.Equal(t, 400, st.Samples.ShadowPairs)
			require.InDelta(t, float64(agree)/float64(n), *st.Agreement, 1e-12)
			require.InDelta(t, mad/float64(n), *st.ScoreMeanAbsDiff, 1e-12)
			require.InDelta(t, quality.Pearson(tr.scoreB, tr.scoreC), *st.ScoreCorrelation, 1e-12)
			acc := quality.TwoProportionZTest(correctB, n, correctC, n)
			require.Equal(t, acc, *st.Accuracy)
			auc, ok := quality.DeLongTest(tr.y, tr.scoreB, tr.y, tr.scoreC)
			require.True(t, ok)
			require.InDelta(t, auc.Delta, st.AUC.Delta, 1e-12)
			require.InDelta(t, auc.PValue, st.AUC.PValue, 1e-12)
			p95 := quality.Quantile(tr.latC, 0.95) / quality.Quantile(tr.latB, 0.95)
			require.InDelta(t, p95, *st.LatencyP95Ratio, 1e-12)
			require.Equal(t, MethodKS, st.PredictionDrift.Method)

			require.Equal(t, tt.verdict, st.Verdict, "%+v", st.Criteria)
			var failing []string
			for _, c := range st.Criteria {
				if c.Result == VerdictFail {
					failing = append(failing, c.Name)
				}
			}
			require.ElementsMatch(t, tt.failing, failing)

			exp := d.get(t, "/metrics")
			require.Contains(t, string(exp.body), fmt.Sprintf(`vigil_canary_verdict{baseline="v1",candidate="v2",model="fraud"} %d`, tt.verdict))
		})
	}
}

func TestCanaryShadowPairTTLAndCapacity(t *testing.T) {
	d := startDaemon(t, canaryCfg)
	var b strings.Builder
	for i := range 60 { // 10 more than max_pending_pairs, never paired
		fmt.Fprintf(&b, `{"model":"fraud","version":"v1","id":"u%d","score":0.5}`+"\n", i)
	}
	r := d.post(t, "/api/v1/predictions", "application/x-ndjson", b.String())
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	d.m.Evaluate(d.clock.Now())
	st := d.stats(t, "fraud").Canary
	require.Equal(t, 50, st.PairsPending)
	require.Equal(t, uint64(10), st.PairsEvicted)

	d.clock.Add(6 * time.Minute) // past pair_ttl
	d.m.Evaluate(d.clock.Now())
	st = d.stats(t, "fraud").Canary
	require.Zero(t, st.PairsPending)
	require.Equal(t, uint64(50), st.PairsExpired)
	require.Zero(t, st.Samples.ShadowPairs)
}

func TestCanaryRuleSignal(t *testing.T) {
	cfg := canaryCfg + `
rules:
  - name: CanaryFailing
    signal: canary.verdict
    op: "=="
    threshold: 0
  - name: CanarySlow
    signal: canary.latency_p95_ratio
    op: ">"
    threshold: 1.5
    min_samples: 100
`
	d := startDaemon(t, cfg)
	newCanaryTraffic(200, 0.4, 2, 5).send(t, d)
	d.m.Evaluate(d.clock.Now())
	var firing []string
	for _, a := range alertsOf(t, d) {
		if a.State == "firing" {
			firing = append(firing, a.Rule)
			require.Equal(t, "v2", a.Labels["version"])
		}
	}
	require.ElementsMatch(t, []string{"CanaryFailing", "CanarySlow"}, firing)
}

func TestCanaryConfigErrors(t *testing.T) {
	tests := []struct{ name, canary, want string }{
		{"same versions", `{baseline: v1, candidate: v1}`, "two different versions"},
		{"alpha", `{baseline: v1, candidate: v2, alpha: 2}`, "alpha"},
		{"min_samples", `{baseline: v1, candidate: v2, min_samples: 1}`, "min_samples"},
		{"criterion", `{baseline: v1, candidate: v2, criteria: {max_accuracy_drop: -1}}`, "max_accuracy_drop"},
		{"correlation", `{baseline: v1, candidate: v2, criteria: {min_score_correlation: 2}}`, "min_score_correlation"},
		{"unknown", `{baseline: v1, candidate: v2, criteria: {max_accuracy: 1}}`, "max_accuracy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte("models:\n  - {name: m, task: binary_classification, canary: " + tt.canary + "}\n"))
			require.ErrorContains(t, err, tt.want)
		})
	}
	cfg, err := Load([]byte("models:\n  - {name: m, task: binary_classification, canary: {baseline: a, candidate: b}}\n"))
	require.NoError(t, err)
	c := cfg.Models[0].Canary
	require.Equal(t, DefaultCanaryMinSamples, c.MinSamples)
	require.NotNil(t, c.Criteria.MaxPredictionDrift, "without criteria the prediction-drift default applies")
}
