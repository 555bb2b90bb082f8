package deploy_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

// notYetExported are metrics of DESIGN.md that the dashboards and rules use but that
// vigil does not export yet. Queries on them are parsed but not required to return data.
// The test fails once vigil exports one of them, so that it is taken off this list.
var notYetExported = []string{}

// query is one PromQL expression that ships, and where it comes from.
type query struct {
	source string
	expr   string
}

// variableValues stand in for the dashboards' template variables, as Grafana would
// interpolate them for the live vigil below.
var variableValues = strings.NewReplacer(
	"$__rate_interval", "15s", "$__interval", "5s", "$__range", "1m",
	"${model}", "fraud", "$model", "fraud",
	"${feature}", "(amount|country)", "$feature", "(amount|country)", // a multi-value selection, as Grafana renders it
	"${metric}", "accuracy", "$metric", "accuracy",
	"${method}", "psi", "$method", "psi",
	"${instance}", ".+", "$instance", ".+",
)

var labelValuesRE = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// shippedQueries collects every expression of the dashboards (panels and variables) and
// of the recommended alerts.
func shippedQueries(t *testing.T) []query {
	t.Helper()
	var qs []query
	files, err := filepath.Glob("../dashboards/*.json")
	require.NoError(t, err)
	require.Len(t, files, 4)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var db dashboardJSON
		require.NoError(t, json.Unmarshal(raw, &db))
		for _, v := range db.Templating.List {
			if v.Type != "query" {
				continue
			}
			m := labelValuesRE.FindStringSubmatch(v.Query)
			require.NotNil(t, m, "%s variable %s: want label_values(selector, label), got %s", f, v.Name, v.Query)
			qs = append(qs, query{fmt.Sprintf("%s variable %s", filepath.Base(f), v.Name), fmt.Sprintf("count by (%s) (%s)", m[2], m[1])})
		}
		for _, p := range db.Panels {
			for _, tg := range p.Targets {
				qs = append(qs, query{fmt.Sprintf("%s panel %q query %s", filepath.Base(f), p.Title, tg.RefID), tg.Expr})
			}
		}
	}
	for _, g := range loadRulesFile(t).Groups {
		for _, r := range g.Rules {
			qs = append(qs, query{"vigil-alerts.yml alert " + r.Alert, r.Expr.String()})
		}
	}
	return qs
}

type dashboardJSON struct {
	Templating struct {
		List []struct{ Type, Name, Query string } `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// parse parses an expression with Prometheus's own PromQL parser.
func parse(expr string) (parser.Expr, error) {
	return parser.NewParser(parser.Options{}).ParseExpr(expr)
}

// withoutThreshold turns an alert condition such as `x > 0.5` into `x`, whose series must
// exist even while the alert does not fire.
func withoutThreshold(e parser.Expr) parser.Expr {
	for {
		switch b := e.(type) {
		case *parser.ParenExpr:
			e = b.Expr
			continue
		case *parser.BinaryExpr:
			if b.Op.IsComparisonOperator() && !b.ReturnBool {
				if _, ok := b.RHS.(*parser.NumberLiteral); ok {
					e = b.LHS
					continue
				}
			}
		}
		return e
	}
}

func metricNames(e parser.Expr) []string {
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

func TestQueriesParse(t *testing.T) {
	qs := shippedQueries(t)
	require.Greater(t, len(qs), 40)
	for _, q := range qs {
		e, err := parse(variableValues.Replace(q.expr))
		require.NoError(t, err, "%s: %s", q.source, q.expr)
		names := metricNames(e)
		require.NotEmpty(t, names, "%s selects no metric", q.source)
		for _, n := range names {
			require.Regexp(t, `^(vigil_[a-z_]+|up)$`, n, q.source)
		}
	}
	// The parser is not a rubber stamp.
	for _, bad := range []string{`rate(vigil_events_total[5m]`, `sum by model (vigil_quality)`, `vigil_quality{model=fraud}`} {
		_, err := parse(bad)
		require.Error(t, err, bad)
	}
}

// TestQueriesReturnData runs every shipped expression against a real Prometheus (Debian's,
// scraping every second) that scrapes a real vigil fed traffic which drifts, gets labels,
// has rejects and fires an alert: each must return at least one series.
func TestQueriesReturnData(t *testing.T) {
	prom := needTool(t, "prometheus", "prometheus")
	bin := dockerfileBinary(t)
	dir := t.TempDir()

	var hooks atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hooks.Add(1) }))
	defer hook.Close()
	vigilAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cfg := filepath.Join(dir, "vigil.yaml")
	writeFile(t, cfg, fmt.Sprintf(`
global: {evaluation_interval: 1s, storage_path: %s}
models:
  - name: fraud
    task: binary_classification
    positive_class: 1
    window: {size: 200}
    reference: {window: first, size: 200}
    features:
      - {name: amount, type: numeric}
      - {name: country, type: categorical}
    segments: [country]
    labels: {ttl: 1h}
    canary: {baseline: v1, candidate: v2}
rules:
  - name: FeatureDrift
    signal: drift.detected
    op: "=="
    threshold: 1
    severity: warning
route: {receiver: hook, group_wait: 0s, group_interval: 1s, repeat_interval: 1m}
receivers:
  - name: hook
    webhook_configs: [{url: %q}]
`, filepath.Join(dir, "state"), hook.URL))
	v := exec.Command(bin, "run", "--config.file", cfg, "--web.listen-address", vigilAddr)
	var vlog strings.Builder
	v.Stdout, v.Stderr = &vlog, &vlog
	require.NoError(t, v.Start())
	t.Cleanup(func() { _ = v.Process.Kill(); _ = v.Wait() })
	vigilURL := "http://" + vigilAddr
	require.Eventually(t, func() bool {
		resp, err := http.Get(vigilURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "vigil did not become ready:\n%s", &vlog)

	post := func(path, body string) {
		t.Helper()
		resp, err := http.Post(vigilURL+path, "application/x-ndjson", strings.NewReader(body))
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", b)
	}
	// The reference: 200 predictions around 100, from DE and FR, a minute old.
	ts := time.Now().Add(-time.Minute).Unix()
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, `{"model":"fraud","version":"v1","id":"r%d","timestamp":%d,"features":{"amount":%d,"country":"%s"},"prediction":%d,"score":0.%d}`+"\n",
			i, ts, 100+i%20, []string{"DE", "FR"}[i%2], i%2, 1+i%9)
	}
	post("/api/v1/predictions", b.String())
	// The current window: amounts around 500, a new country, some amounts missing; labeled.
	b.Reset()
	var labels strings.Builder
	for i := range 200 {
		amount := strconv.Itoa(500 + i%20)
		if i%10 == 0 {
			amount = "null"
		}
		fmt.Fprintf(&b, `{"model":"fraud","version":"v2","id":"c%d","timestamp":%d,"features":{"amount":%s,"country":"%s"},"prediction":%d,"score":0.%d,"latency_ms":%d}`+"\n",
			i, ts, amount, []string{"DE", "FR", "IT"}[i%3], i%2, 1+i%9, 5+i%7)
		if i < 150 {
			fmt.Fprintf(&labels, `{"model":"fraud","id":"c%d","label":%d}`+"\n", i, (i/3)%2)
		}
	}
	post("/api/v1/predictions", b.String())
	post("/api/v1/labels", labels.String())
	// Rejected records: one for an undeclared model, one with a bad score.
	post("/api/v1/predictions", `{"model":"fraud","id":"ok","prediction":1,"score":0.5}`+"\n"+`{"model":"nope","id":"x","prediction":1}`+"\n"+`{"model":"fraud","id":"y","score":2}`+"\n")

	promAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	promCfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, promCfg, fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: vigil\n    static_configs: [{targets: [%q]}]\n", vigilAddr))
	p := exec.Command(prom, "--config.file="+promCfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promAddr)
	var plog strings.Builder
	p.Stdout, p.Stderr = &plog, &plog
	require.NoError(t, p.Start())
	t.Cleanup(func() { _ = p.Process.Kill(); _ = p.Wait() })
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + promAddr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 200*time.Millisecond, "Prometheus did not become ready:\n%s", &plog)

	qs := shippedQueries(t)
	run := func(expr string) (int, error) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(expr))
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var r struct {
			Status, Error string
			Data          struct {
				ResultType string
				Result     json.RawMessage
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return 0, err
		}
		if r.Status != "success" {
			return 0, fmt.Errorf("%s", r.Error)
		}
		if r.Data.ResultType == "scalar" {
			return 1, nil
		}
		var series []json.RawMessage
		if err := json.Unmarshal(r.Data.Result, &series); err != nil {
			return 0, err
		}
		return len(series), nil
	}

	// A trickle of predictions keeps the per-tick signals (anomaly scores) defined while
	// their scorers warm up (30 evaluations).
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
				body := fmt.Sprintf(`{"model":"fraud","version":"v2","id":"t%d","features":{"amount":%d,"country":"DE"},"prediction":1,"score":0.7,"latency_ms":9}`, i, 500+i%20)
				if resp, err := http.Post(vigilURL+"/api/v1/predictions", "application/json", strings.NewReader(body)); err == nil {
					resp.Body.Close()
				}
			}
		}
	}()
	defer func() { close(stop); <-done }()

	var skipped int
	for _, q := range qs {
		e, err := parse(variableValues.Replace(q.expr))
		require.NoError(t, err)
		if slices.ContainsFunc(metricNames(e), func(n string) bool { return slices.Contains(notYetExported, n) }) {
			skipped++
		}
	}
	t.Logf("%d queries; %d of them on metrics not exported yet", len(qs), skipped)
	var empty []string
	deadline := time.Now().Add(120 * time.Second)
	for {
		empty = empty[:0]
		for _, q := range qs {
			e, err := parse(variableValues.Replace(q.expr))
			require.NoError(t, err)
			if slices.ContainsFunc(metricNames(e), func(n string) bool { return slices.Contains(notYetExported, n) }) {
				continue
			}
			expr := variableValues.Replace(q.expr)
			if strings.HasPrefix(q.source, "vigil-alerts.yml") {
				expr = withoutThreshold(e).String()
			}
			n, err := run(expr)
			require.NoError(t, err, "%s: %s", q.source, expr)
			if n == 0 {
				empty = append(empty, q.source+": "+expr)
			}
		}
		if len(empty) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	sort.Strings(empty)
	require.Empty(t, empty, "queries without data (vigil log:\n%s)", &vlog)
	require.Positive(t, hooks.Load(), "the drift alert never reached the webhook")

	// The allow-list is tightened as soon as vigil exports a listed metric.
	resp, err := http.Get(vigilURL + "/metrics")
	require.NoError(t, err)
	exposition, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range notYetExported {
		require.NotContains(t, string(exposition), "\n"+name, "vigil exports %s now: take it off notYetExported", name)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
