package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
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
)

// needTool finds an outside program for an end-to-end test. In CI (CI=true) a missing tool
// fails the test; elsewhere the test is skipped with the install command.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found in CI: .ci/run installs Debian %s", name, pkg)
	}
	t.Skipf("%s not installed (apt-get install %s)", name, pkg)
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestPrometheusScrapesVigil runs a real Prometheus against a running vigil and reads the
// figures back through Prometheus's query API.
func TestPrometheusScrapesVigil(t *testing.T) {
	prom := needTool(t, "prometheus", "prometheus")
	promtool := needTool(t, "promtool", "prometheus")

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(`
global: {evaluation_interval: 1s, storage_path: `+filepath.Join(dir, "data")+`}
models:
  - name: fraud
    task: binary_classification
    window: {size: 100}
    features: [{name: amount, type: numeric}, {name: country, type: categorical}]
    segments: [country]
`), 0o600))
	v := startProcess(t, cfgPath)

	// 10 predictions, 8 labeled, 6 of those correct: accuracy 0.75.
	var preds, labels strings.Builder
	for i := range 10 {
		fmt.Fprintf(&preds, `{"model":"fraud","version":"v1","id":"%d","features":{"amount":%d,"country":"DE"},"prediction":%d,"score":0.%d}`+"\n", i, i, i%2, i)
		if i < 8 {
			label := i % 2
			if i < 2 {
				label = 1 - label // two wrong
			}
			fmt.Fprintf(&labels, `{"model":"fraud","id":"%d","label":%d}`+"\n", i, label)
		}
	}
	for path, body := range map[string]string{"/api/v1/predictions": preds.String(), "/api/v1/labels": labels.String()} {
		resp, err := http.Post(v.url+path, "application/x-ndjson", strings.NewReader(body))
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode, string(b))
	}

	// promtool check metrics on the live exposition, once statistics are in it.
	var exposition []byte
	require.Eventually(t, func() bool {
		resp, err := http.Get(v.url + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		exposition, _ = io.ReadAll(resp.Body)
		return strings.Contains(string(exposition), `vigil_quality{metric="accuracy"`)
	}, 20*time.Second, 100*time.Millisecond)
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(string(exposition))
	out, err := check.CombinedOutput()
	require.NoError(t, err, "promtool check metrics:\n%s", out)

	promPort := freePort(t)
	promCfg := filepath.Join(dir, "prometheus.yml")
	target := strings.TrimPrefix(v.url, "http://")
	require.NoError(t, os.WriteFile(promCfg, []byte(fmt.Sprintf(`
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: vigil
    static_configs: [{targets: [%q]}]
`, target)), 0o600))
	check = exec.Command(promtool, "check", "config", promCfg)
	out, err = check.CombinedOutput()
	require.NoError(t, err, "%s", out)

	p := exec.Command(prom, "--config.file="+promCfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(promPort))
	var plog strings.Builder
	p.Stdout, p.Stderr = &plog, &plog
	require.NoError(t, p.Start())
	t.Cleanup(func() { _ = p.Process.Kill(); _ = p.Wait() })
	promURL := "http://127.0.0.1:" + strconv.Itoa(promPort)

	query := func(q string) (float64, bool) {
		resp, err := http.Get(promURL + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var r struct {
			Status string
			Data   struct {
				Result []struct {
					Value [2]any
				}
			}
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || r.Status != "success" || len(r.Data.Result) != 1 {
			return 0, false
		}
		f, err := strconv.ParseFloat(r.Data.Result[0].Value[1].(string), 64)
		return f, err == nil
	}
	want := map[string]float64{
		`vigil_quality{model="fraud",version="v1",segment="*",metric="accuracy"}`:          0.75,
		`vigil_quality{model="fraud",version="v1",segment="country=DE",metric="accuracy"}`: 0.75,
		`vigil_events_total{model="fraud",kind="prediction"}`:                              10,
		`vigil_events_total{model="fraud",kind="label"}`:                                   8,
		`vigil_window_samples{model="fraud",window="labeled"}`:                             8,
		`vigil_labels_pending{model="fraud"}`:                                              2,
		`up{job="vigil"}`:                                                                  1,
	}
	for q, w := range want {
		var got float64
		require.Eventually(t, func() bool {
			var ok bool
			got, ok = query(q)
			return ok && got == w
		}, 60*time.Second, 250*time.Millisecond, "%s: want %v, got %v\nprometheus log:\n%s", q, w, got, &plog)
	}
}

// TestForwardToAlertmanager runs a real Alertmanager (Debian's prometheus-alertmanager)
// and a vigil that forwards to it; the alert is read back through Alertmanager's API.
func TestForwardToAlertmanager(t *testing.T) {
	am := needTool(t, "prometheus-alertmanager", "prometheus-alertmanager")
	amtool := needTool(t, "amtool", "prometheus-alertmanager")
	dir := t.TempDir()
	amCfg := filepath.Join(dir, "alertmanager.yml")
	require.NoError(t, os.WriteFile(amCfg, []byte("route: {receiver: blackhole}\nreceivers: [{name: blackhole}]\n"), 0o600))
	out, err := exec.Command(amtool, "check-config", amCfg).CombinedOutput()
	require.NoError(t, err, "%s", out)
	amPort := freePort(t)
	amURL := "http://127.0.0.1:" + strconv.Itoa(amPort)
	p := exec.Command(am, "--config.file="+amCfg, "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(amPort), "--cluster.listen-address=")
	var amLog strings.Builder
	p.Stdout, p.Stderr = &amLog, &amLog
	require.NoError(t, p.Start())
	t.Cleanup(func() { _ = p.Process.Kill(); _ = p.Wait() })

	cfgPath := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
global: {evaluation_interval: 1s, storage_path: %s}
models: [{name: fraud, task: binary_classification}]
rules:
  - name: DeadFeed
    signal: staleness
    op: ">"
    threshold: 1
    severity: critical
    labels: {team: risk}
    annotations: {summary: "fraud sends nothing"}
route: {receiver: am, group_wait: 0s, group_interval: 1s, repeat_interval: 1m}
receivers:
  - name: am
    alertmanager_configs: [{url: %q}]
`, filepath.Join(dir, "data"), amURL)), 0o600))
	startProcess(t, cfgPath)

	type amAlert struct {
		Labels      map[string]string
		Annotations map[string]string
		Status      struct{ State string }
	}
	var got []amAlert
	require.Eventually(t, func() bool {
		resp, err := http.Get(amURL + "/api/v2/alerts")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		got = nil
		return json.NewDecoder(resp.Body).Decode(&got) == nil && len(got) == 1
	}, 60*time.Second, 200*time.Millisecond, "Alertmanager never got the alert:\n%s", &amLog)
	require.Equal(t, map[string]string{"alertname": "DeadFeed", "model": "fraud", "severity": "critical", "team": "risk"}, got[0].Labels)
	require.Equal(t, "fraud sends nothing", got[0].Annotations["summary"])
	require.Equal(t, "active", got[0].Status.State)
}
