package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// startPrometheus runs a real Prometheus scraping target (host:port) every second and
// returns a function that runs an instant query and returns the single result's value.
func startPrometheus(t *testing.T, dir, target string) (query promQuery, logs fmt.Stringer) {
	t.Helper()
	prom := needTool(t, "prometheus", "prometheus")
	promtool := needTool(t, "promtool", "prometheus")
	port := freePort(t)
	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: vigil
    static_configs: [{targets: [%q]}]
`, target), 0o600))
	out, err := exec.Command(promtool, "check", "config", cfg).CombinedOutput()
	require.NoError(t, err, "%s", out)
	p := exec.Command(prom, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port))
	plog := &strings.Builder{}
	p.Stdout, p.Stderr = plog, plog
	require.NoError(t, p.Start())
	t.Cleanup(func() { _ = p.Process.Kill(); _ = p.Wait() })
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond, "prometheus never got ready")
	return promQuery(base), plog
}

// promQuery is a running Prometheus's base URL.
type promQuery string

// targets is Prometheus's view of its scrape targets (health, last error), for failures.
func (base promQuery) targets() string {
	resp, err := http.Get(string(base) + "/api/v1/targets")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// value runs an instant query and returns the single result's value.
func (base promQuery) value(q string) (float64, bool) {
	{
		resp, err := http.Get(string(base) + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var r struct {
			Status string
			Data   struct{ Result []struct{ Value [2]any } }
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || r.Status != "success" || len(r.Data.Result) != 1 {
			return 0, false
		}
		f, err := strconv.ParseFloat(r.Data.Result[0].Value[1].(string), 64)
		return f, err == nil
	}
}

// canaryTraffic writes n requests of model answered by v1 (primary) and v2 (shadow), with
// labels. v2 flips its answer on a share flip of them.
func canaryTraffic(model string, n int, flip float64) (preds, labels string) {
	r := rand.New(rand.NewPCG(11, uint64(len(model))))
	var p, l strings.Builder
	for i := range n {
		y := r.Float64() < 0.4
		s := 0.2 + 0.25*r.Float64()
		if y {
			s += 0.35
		}
		c := math.Round((s+0.01*r.NormFloat64())*1000) / 1000
		if r.Float64() < flip {
			c = 1 - c
		}
		s = math.Round(s*1000) / 1000
		label := 0
		if y {
			label = 1
		}
		fmt.Fprintf(&p, `{"model":%q,"version":"v1","id":"%d","score":%g,"latency_ms":10}`+"\n", model, i, s)
		fmt.Fprintf(&p, `{"model":%q,"version":"v2","role":"shadow","id":"%d","score":%g,"latency_ms":11}`+"\n", model, i, max(0, min(1, c)))
		fmt.Fprintf(&l, `{"model":%q,"id":"%d","label":%d}`+"\n", model, i, label)
	}
	return p.String(), l.String()
}

// TestRolloutTemplatesAgainstPrometheus runs the PromQL of deploy/examples' Argo Rollouts
// AnalysisTemplate and Flagger MetricTemplate against a real Prometheus that scrapes a vigil
// fed a passing canary, a failing one and one without data, and applies each template's
// pass/fail conditions to the results.
func TestRolloutTemplatesAgainstPrometheus(t *testing.T) {
	needTool(t, "prometheus", "prometheus")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "vigil.yaml")
	var models strings.Builder
	for _, name := range []string{"good", "bad", "fresh"} {
		fmt.Fprintf(&models, `
  - name: %s
    task: binary_classification
    window: {size: 1000}
    canary:
      baseline: v1
      candidate: v2
      min_samples: 100
      criteria: {min_agreement: 0.9, max_accuracy_drop: 0.02, max_prediction_drift: 0.1, max_latency_p95_ratio: 1.5}
`, name)
	}
	require.NoError(t, os.WriteFile(cfgPath, []byte("global: {evaluation_interval: 1s, storage_path: "+filepath.Join(dir, "data")+"}\nmodels:"+models.String()), 0o600))
	v := startProcess(t, cfgPath)
	for model, flip := range map[string]float64{"good": 0, "bad": 0.4} {
		preds, labels := canaryTraffic(model, 300, flip)
		for path, body := range map[string]string{"/api/v1/predictions": preds, "/api/v1/labels": labels} {
			resp, err := http.Post(v.url+path, "application/x-ndjson", strings.NewReader(body))
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusAccepted, resp.StatusCode, string(b))
		}
	}
	query, plog := startPrometheus(t, dir, strings.TrimPrefix(v.url, "http://"))

	// Argo Rollouts: the query with the args filled in; the conditions read result[0].
	var argo struct {
		Spec struct {
			Metrics []struct {
				SuccessCondition string `yaml:"successCondition"`
				FailureCondition string `yaml:"failureCondition"`
				Provider         struct {
					Prometheus struct{ Query string } `yaml:"prometheus"`
				} `yaml:"provider"`
			} `yaml:"metrics"`
		} `yaml:"spec"`
	}
	readYAML(t, "argo-analysistemplate.yaml", 0, &argo)
	require.Len(t, argo.Spec.Metrics, 1)
	am := argo.Spec.Metrics[0]
	success, failure := resultEquals(t, am.SuccessCondition), resultEquals(t, am.FailureCondition)
	argoPhase := func(model string) string {
		q := strings.NewReplacer("{{args.model}}", model, "{{args.baseline}}", "v1", "{{args.candidate}}", "v2").Replace(am.Provider.Prometheus.Query)
		var got float64
		var ok bool
		require.Eventually(t, func() bool { got, ok = query.value(q); return ok }, 60*time.Second, 250*time.Millisecond, "no result for %s", q)
		switch got {
		case success:
			return "Successful"
		case failure:
			return "Failed"
		}
		return "Inconclusive"
	}

	// Flagger: the template's query with the Canary's templateVariables; a check passes
	// inside thresholdRange.
	var flagger struct {
		Spec struct{ Query string } `yaml:"spec"`
	}
	readYAML(t, "flagger-metrictemplate.yaml", 0, &flagger)
	var canary struct {
		Spec struct {
			Analysis struct {
				Metrics []struct {
					TemplateVariables map[string]string           `yaml:"templateVariables"`
					ThresholdRange    struct{ Min, Max *float64 } `yaml:"thresholdRange"`
				} `yaml:"metrics"`
			} `yaml:"analysis"`
		} `yaml:"spec"`
	}
	readYAML(t, "flagger-metrictemplate.yaml", 1, &canary)
	fm := canary.Spec.Analysis.Metrics[0]
	flaggerPasses := func(model string) bool {
		vars := fm.TemplateVariables
		q := strings.NewReplacer("{{ variables.model }}", model, "{{ variables.baseline }}", vars["baseline"], "{{ variables.candidate }}", vars["candidate"]).Replace(flagger.Spec.Query)
		require.NotContains(t, q, "{{", "a template variable is left: %s", q)
		var got float64
		var ok bool
		require.Eventually(t, func() bool { got, ok = query.value(q); return ok }, 60*time.Second, 250*time.Millisecond, "no result for %s", q)
		r := fm.ThresholdRange
		return !math.IsNaN(got) && (r.Min == nil || got >= *r.Min) && (r.Max == nil || got <= *r.Max)
	}
	require.Contains(t, fm.TemplateVariables, "model")
	// This test's traffic has versions v1 and v2.
	fm.TemplateVariables["baseline"], fm.TemplateVariables["candidate"] = "v1", "v2"

	// Let vigil's evaluation and Prometheus's scrapes catch up with the traffic.
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		got, ok := query.value(`vigil_canary_samples{model="bad",sample="shadow_pairs"}`)
		g2, ok2 := query.value(`vigil_canary_samples{model="good",sample="candidate_labeled"}`)
		if ok && ok2 && got == 300 && g2 == 300 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("vigil's canary series never reached Prometheus (shadow_pairs %v %v, candidate_labeled %v %v)\nprometheus targets:\n%s\nprometheus log:\n%s\nvigil log:\n%s",
				got, ok, g2, ok2, query.targets(), plog, v.stderr.String())
		}
	}

	require.Equal(t, "Successful", argoPhase("good"))
	require.Equal(t, "Failed", argoPhase("bad"))
	require.Equal(t, "Inconclusive", argoPhase("fresh"))
	require.True(t, flaggerPasses("good"))
	require.False(t, flaggerPasses("bad"))
	require.False(t, flaggerPasses("fresh"), "Flagger must not promote without evidence")
}

// readYAML decodes the i-th document of deploy/examples/name into v.
func readYAML(t *testing.T, name string, i int, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "examples", name))
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for range i {
		var skip any
		require.NoError(t, dec.Decode(&skip))
	}
	require.NoError(t, dec.Decode(v))
}

// resultEquals reads an Argo Rollouts condition of the form "result[0] == N". The test
// refuses other forms rather than guess how Argo's expression language would read them.
func resultEquals(t *testing.T, cond string) float64 {
	t.Helper()
	rest, ok := strings.CutPrefix(strings.TrimSpace(cond), "result[0] == ")
	require.True(t, ok, "condition %q: this test understands result[0] == N only", cond)
	f, err := strconv.ParseFloat(rest, 64)
	require.NoError(t, err)
	return f
}
