package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMain lets the tests run the real binary: the test executable re-executes itself as
// vigil when VIGIL_TEST_MAIN is set.
func TestMain(m *testing.M) {
	if os.Getenv("VIGIL_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestCheckConfig(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"check", "config", "../../examples/quickstart.yaml"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	require.Contains(t, out.String(), "SUCCESS")
	require.Contains(t, out.String(), "fraud (binary_classification): 4 feature(s), window last 10000 events")

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("models:\n  - name: a\n    task: regression\n    windoe: {size: 1}\n"), 0o600))
	out.Reset()
	errb.Reset()
	code = run([]string{"check", "config", bad}, &out, &errb)
	require.Equal(t, 1, code)
	require.Contains(t, errb.String(), bad+":4: field windoe not found")

	require.Equal(t, 2, run([]string{"check", "config"}, &out, &errb))
	require.Equal(t, 2, run([]string{"check"}, &out, &errb))
	require.Equal(t, 2, run([]string{"frobnicate"}, &out, &errb))
	require.Equal(t, 2, run(nil, &out, &errb))
}

func TestCheckAndTestRules(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"check", "rules", "../../rules/testdata/rules.yml"}, &out, &errb), errb.String())
	require.Contains(t, out.String(), "SUCCESS")
	out.Reset()
	require.Equal(t, 0, run([]string{"test", "rules", "../../rules/testdata/rules_test.yml"}, &out, &errb), out.String()+errb.String())
	require.Contains(t, out.String(), "SUCCESS")

	// A test whose expectation is wrong fails with promtool-style output and exit 1.
	dir := t.TempDir()
	rulesYAML, err := os.ReadFile("../../rules/testdata/rules.yml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yml"), rulesYAML, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t.yml"), []byte(`rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - {model: fraud, signal: quality.accuracy, values: "0.99x30"}
    alert_rule_test:
      - eval_time: 20m
        alertname: AccuracyDrop
        exp_alerts:
          - exp_labels: {model: fraud, severity: critical}
`), 0o600))
	out.Reset()
	errb.Reset()
	require.Equal(t, 1, run([]string{"test", "rules", filepath.Join(dir, "t.yml")}, &out, &errb))
	require.Contains(t, out.String(), "FAILED")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.yml"), []byte("rules:\n  - {name: A, signal: quality.nope, op: '<', threshold: 1}\n"), 0o600))
	errb.Reset()
	require.Equal(t, 1, run([]string{"check", "rules", filepath.Join(dir, "bad.yml")}, &out, &errb))
	require.Contains(t, errb.String(), "bad.yml:2")
	require.Equal(t, 2, run([]string{"test"}, &out, &errb))
}

func TestBaseline(t *testing.T) {
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("amount,country,score\n")
	for i := range 500 {
		fmt.Fprintf(&csv, "%d.5,%s,0.%d\n", i, []string{"DE", "FR", "US"}[i%3], i%10)
	}
	input := filepath.Join(dir, "train.csv")
	require.NoError(t, os.WriteFile(input, []byte(csv.String()), 0o600))
	cfg := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("models:\n  - name: fraud\n    task: binary_classification\n    features: [{name: amount, type: numeric}, {name: country, type: categorical}]\n"), 0o600))
	var out, errb bytes.Buffer
	code := run([]string{"baseline", "--config.file", cfg, "--model", "fraud", "--input", input, "--out", filepath.Join(dir, "fraud.json"), "--score-column", "score"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	require.Contains(t, out.String(), "model fraud, 500 rows (0 rejected)")
	require.NotContains(t, errb.String(), "\r", "no progress bar when stderr is not a terminal")

	// The profile is a valid reference for the model.
	require.NoError(t, os.WriteFile(cfg, []byte("models:\n  - name: fraud\n    task: binary_classification\n    reference: {profile: fraud.json}\n    features: [{name: amount, type: numeric}, {name: country, type: categorical}]\n"), 0o600))
	out.Reset()
	require.Equal(t, 0, run([]string{"check", "config", cfg}, &out, &errb), errb.String())

	// The config that names the profile builds it, also before the profile exists.
	require.NoError(t, os.Remove(filepath.Join(dir, "fraud.json")))
	require.Equal(t, 1, run([]string{"check", "config", cfg}, &out, &errb), "the profile is missing")
	errb.Reset()
	require.Equal(t, 0, run([]string{"baseline", "--config.file", cfg, "--model", "fraud", "--input", input, "--out", filepath.Join(dir, "fraud.json"), "--score-column", "score"}, &out, &errb), errb.String())
	require.Equal(t, 0, run([]string{"check", "config", cfg}, &out, &errb), errb.String())

	require.Equal(t, 2, run([]string{"baseline", "--model", "fraud"}, &out, &errb))
	errb.Reset()
	require.Equal(t, 1, run([]string{"baseline", "--config.file", cfg, "--model", "nope", "--input", input, "--out", filepath.Join(dir, "x.json")}, &out, &errb))
	require.Contains(t, errb.String(), "model not in config")
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	require.Equal(t, 0, run([]string{"version"}, &out, io.Discard))
	require.Regexp(t, `^vigil dev \(commit .+, built .+, go1\.\d+`, out.String())
}

// daemon is a vigil process started from the test binary.
type daemon struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	exited chan error
}

// syncBuffer collects a process's log lines as they come. It never blocks the reader,
// so a process that logs a lot can never stall on a full pipe.
type syncBuffer struct {
	mu     sync.Mutex
	lines  []string
	closed bool
	notify chan struct{} // a line came, or the log ended
	pos    int           // the next line logsUntil looks at
}

func (b *syncBuffer) add(line string) {
	b.mu.Lock()
	b.lines = append(b.lines, line)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

func (b *syncBuffer) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

// String is the whole log so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// next returns the lines after the last call, and whether the log has ended.
func (b *syncBuffer) next() ([]string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.lines[b.pos:]
	b.pos = len(b.lines)
	return out, b.closed
}

// startProcess runs vigil on cfgPath and 127.0.0.1:0, with extra flags for `vigil run`.
func startProcess(t *testing.T, cfgPath string, extra ...string) *daemon {
	t.Helper()
	return startCmd(t, exec.Command(os.Args[0], runArgs(cfgPath, extra...)...))
}

// runArgs are the arguments of vigil run on cfgPath, listening on a free port.
func runArgs(cfgPath string, extra ...string) []string {
	return append([]string{"run", "--config.file", cfgPath, "--web.listen-address", "127.0.0.1:0", "--log.level", "debug"}, extra...)
}

// startCmd starts cmd, a vigil run (possibly through a wrapper), and waits until it listens.
func startCmd(t *testing.T, cmd *exec.Cmd) *daemon {
	t.Helper()
	cmd.Env = append(os.Environ(), "VIGIL_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	d := &daemon{cmd: cmd, stderr: &syncBuffer{notify: make(chan struct{}, 1)}, exited: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			d.stderr.add(sc.Text())
		}
		d.stderr.close()
	}()
	go func() { d.exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	line := d.logsUntil(t, `msg=listening .*address=\S+`)
	d.url = "http://" + regexp.MustCompile(`address=(\S+)`).FindStringSubmatch(line)[1]
	return d
}

// logsUntil reads the process's log until a line matches re.
func (d *daemon) logsUntil(t *testing.T, re string) string {
	t.Helper()
	pat := regexp.MustCompile(re)
	deadline := time.After(30 * time.Second)
	for {
		lines, closed := d.stderr.next()
		for _, l := range lines {
			if pat.MatchString(l) {
				return l
			}
		}
		if closed {
			t.Fatalf("log ended before %q:\n%s", re, d.stderr.String())
		}
		select {
		case <-d.stderr.notify:
		case <-deadline:
			t.Fatalf("no log line %q:\n%s", re, d.stderr.String())
		}
	}
}

func TestProcessReloadAndGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "vigil.yaml")
	cfg := "global: {evaluation_interval: 1h, storage_path: " + filepath.Join(dir, "data") + "}\nmodels:\n  - {name: fraud, task: binary_classification}\n"
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	d := startProcess(t, cfgPath)

	resp, err := http.Get(d.url + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// SIGHUP reloads: a bad file is refused and logged, a good one adds a model.
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg+"  - {name: price, task: regresion}\n"), 0o600))
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGHUP))
	line := d.logsUntil(t, "config reload refused")
	require.Contains(t, line, `regresion`)
	require.Contains(t, line, "vigil.yaml:4")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg+"  - {name: price, task: regression}\n"), 0o600))
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGHUP))
	d.logsUntil(t, "config reloaded")
	resp, err = http.Get(d.url + "/api/v1/models/price")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// A request still sending its body when SIGTERM arrives is finished and answered.
	pr, pw := io.Pipe()
	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := http.Post(d.url+"/api/v1/predictions", "application/x-ndjson", pr)
		if err == nil {
			answered <- resp
		}
		close(answered)
	}()
	_, err = pw.Write([]byte(`{"model":"fraud","id":"1","prediction":1}` + "\n"))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		r, err := http.Get(d.url + "/metrics")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return strings.Contains(string(b), "vigil_ingest_inflight_requests 1")
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	d.logsUntil(t, "shutting down")
	_, err = pw.Write([]byte(`{"model":"fraud","id":"2","prediction":0}` + "\n"))
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	r, ok := <-answered
	require.True(t, ok, "the in-flight request got no answer")
	defer r.Body.Close()
	require.Equal(t, http.StatusAccepted, r.StatusCode)
	var body struct{ Accepted, Rejected int }
	require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
	require.Equal(t, 2, body.Accepted)

	select {
	case err := <-d.exited:
		require.NoError(t, err, "exit status 0 after SIGTERM")
	case <-time.After(30 * time.Second):
		t.Fatal("vigil did not exit after SIGTERM")
	}
	d.logsUntil(t, "msg=stopped")
}

func TestRunFailsOnBadConfig(t *testing.T) {
	var errb bytes.Buffer
	code := run([]string{"run", "--config.file", filepath.Join(t.TempDir(), "missing.yaml")}, io.Discard, &errb)
	require.Equal(t, 1, code)
	require.Contains(t, errb.String(), "missing.yaml")
}

func TestSilenceCommand(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
global: {evaluation_interval: 1h, storage_path: %s}
models: [{name: fraud, task: binary_classification}]
route: {receiver: console}
receivers: [{name: console, console_configs: [{}]}]
`, filepath.Join(dir, "data"))), 0o600))
	d := startProcess(t, cfgPath)

	var out, errb bytes.Buffer
	code := run([]string{"silence", "add", "--url", d.url, "--matcher", `model="fraud"`, "--matcher", `severity=~"crit.*"`, "--comment", "retraining", "--author", "ana", "--duration", "30m"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	id := strings.TrimSpace(out.String())
	require.NotEmpty(t, id)

	out.Reset()
	require.Equal(t, 0, run([]string{"silence", "list", "--url", d.url}, &out, &errb), errb.String())
	require.Contains(t, out.String(), id)
	require.Contains(t, out.String(), `model="fraud",severity=~"crit.*"`)
	require.Contains(t, out.String(), "by ana: retraining")

	require.Equal(t, 0, run([]string{"silence", "expire", "--url", d.url, id}, &out, &errb), errb.String())
	errb.Reset()
	require.Equal(t, 1, run([]string{"silence", "expire", "--url", d.url, "no-such-id"}, &out, &errb))
	require.Contains(t, errb.String(), "404")

	errb.Reset()
	require.Equal(t, 2, run([]string{"silence", "add", "--url", d.url, "--matcher", "model", "--comment", "x"}, &out, &errb))
	require.Contains(t, errb.String(), `want name="value"`)
	require.Equal(t, 2, run([]string{"silence", "add", "--url", d.url, "--matcher", `a="b"`}, &out, &errb), "a comment is required")
	require.Equal(t, 2, run([]string{"silence", "mute"}, &out, &errb))
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-d.exited)
}

func TestReplay(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`
global: {evaluation_interval: 1m, storage_path: `+filepath.Join(dir, "data")+`}
models:
  - name: fraud
    task: binary_classification
    window: {size: 200}
    features: [{name: amount, type: numeric}]
rules:
  - name: AccuracyDrop
    signal: quality.accuracy
    op: "<"
    threshold: 0.8
    for: 5m
    min_samples: 100
    severity: warning
    annotations: {summary: 'accuracy {{ printf "%.2f" .Value }}'}
`), 0o600))
	// Two hours, one prediction every 10 s; in the second hour only half the labels match.
	write := func(name string, degrade bool) (string, string) {
		var preds, labels strings.Builder
		t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		for i := range 720 {
			ts := t0.Add(time.Duration(i) * 10 * time.Second)
			fmt.Fprintf(&preds, `{"model":"fraud","id":"%d","timestamp":%q,"features":{"amount":%d},"prediction":1}`+"\n", i, ts.Format(time.RFC3339), i%50)
			label := 1
			if degrade && i >= 360 && i%2 == 0 {
				label = 0
			}
			fmt.Fprintf(&labels, `{"model":"fraud","id":"%d","timestamp":%q,"label":%d}`+"\n", i, ts.Add(30*time.Second).Format(time.RFC3339), label)
		}
		p, l := filepath.Join(dir, name+"-preds.ndjson"), filepath.Join(dir, name+"-labels.ndjson")
		require.NoError(t, os.WriteFile(p, []byte(preds.String()), 0o600))
		require.NoError(t, os.WriteFile(l, []byte(labels.String()), 0o600))
		return p, l
	}
	bad, badLabels := write("bad", true)
	good, goodLabels := write("good", false)

	var out, errb bytes.Buffer
	junit := filepath.Join(dir, "junit.xml")
	code := run([]string{"replay", "--config", cfg, "--input", bad, "--labels", badLabels, "--junit", junit}, &out, &errb)
	require.Equal(t, 1, code, out.String()+errb.String())
	require.Contains(t, out.String(), "replayed 720 predictions and 720 labels (0 rejected)")
	require.Regexp(t, `FIRED AccuracyDrop \[warning\] \{model="fraud"\} at 2026-11-01T01:\d\d:\d\dZ, still firing at the end: accuracy 0\.\d\d`, out.String())
	require.Contains(t, errb.String(), "FAILED: 1 alert(s) of severity warning or above fired")
	x, err := os.ReadFile(junit)
	require.NoError(t, err)
	require.Contains(t, string(x), `<testsuite name="vigil replay" tests="1" failures="1">`)
	require.Contains(t, string(x), `<failure message="AccuracyDrop fired for {model=&#34;fraud&#34;}`)

	out.Reset()
	errb.Reset()
	require.Equal(t, 0, run([]string{"replay", "--config.file", cfg, "--input", good, "--labels", goodLabels, "--junit", junit}, &out, &errb), errb.String())
	require.Contains(t, out.String(), "no rule fired")
	x, err = os.ReadFile(junit)
	require.NoError(t, err)
	require.Contains(t, string(x), `failures="0"`)

	// A warning does not fail a gate set to critical; the JSON report still lists it.
	out.Reset()
	require.Equal(t, 0, run([]string{"replay", "--config", cfg, "--input", bad, "--labels", badLabels, "--fail-on", "critical", "--output", "json"}, &out, &errb))
	var rep struct {
		Alerts []struct{ Rule, Severity string }
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.Len(t, rep.Alerts, 1)
	require.Equal(t, 2, run([]string{"replay", "--config", cfg}, &out, &errb))
	require.Equal(t, 2, run([]string{"replay", "--config", cfg, "--input", filepath.Join(dir, "missing.ndjson")}, &out, &errb))
}

func TestReportCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.html")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no input", []string{"report", "--config", "../../monitor/testdata/report/fraud.yaml"}, 2, "--config and --input are required"},
		{"bad config", []string{"report", "--config", "nope.yaml", "--input", "x.csv"}, 2, "cannot load config"},
		{"report", []string{"report", "--config", "../../monitor/testdata/report/fraud.yaml", "--input", "../../monitor/testdata/report/current.csv",
			"--reference", "../../monitor/testdata/report/reference.csv", "--score-column", "score", "--prediction-column", "prediction", "--out", out},
			0, "model fraud, 500 rows against reference.csv; 1 of 2 features drifted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			require.Equal(t, tc.code, code, stderr.String())
			require.Contains(t, stdout.String()+stderr.String(), tc.want)
		})
	}
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Contains(t, string(b), `id="feature-amount"`)
	require.NotContains(t, string(b), "<script")
}

// TestTutorialConfig keeps docs/tutorial.md's config loadable.
func TestTutorialConfig(t *testing.T) {
	t.Setenv("PD_ROUTING_KEY", "tutorial0123456789abcdef01234567")
	var out, errb bytes.Buffer
	code := run([]string{"check", "config", "../../examples/kserve/vigil.yaml"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	require.Contains(t, out.String(), "cancer (binary_classification): 5 feature(s), window last 500 events, reference profile cancer-profile.json")
}
