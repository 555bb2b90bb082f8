// Command vigil watches machine-learning models in production. See README.md.
package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/prometheus/common/promslog"

	"github.com/vigilml/vigil/monitor"
	"github.com/vigilml/vigil/monitor/profile"
	"github.com/vigilml/vigil/rules"
)

// Set by the linker: -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

const usage = `vigil watches machine-learning models in production.

Usage:
  vigil run [--config.file FILE] [--web.listen-address ADDR] [--web.enable-pprof] [--web.config.file FILE] [--auto-gomemlimit=false] [--auto-gomemlimit.ratio R] [--log.level LEVEL] [--log.format FORMAT]
  vigil check config FILE
  vigil check rules FILE
  vigil test rules FILE
  vigil baseline --model NAME --input FILE --out PROFILE [--config.file FILE]
  vigil replay --config.file FILE --input predictions.ndjson [--labels labels.ndjson] [--junit out.xml] [--output text|json] [--fail-on warning]
  vigil silence add --matcher 'model="fraud"' [--duration 2h] [--comment TEXT] [--author NAME]
  vigil silence list | vigil silence expire ID   (--url http://localhost:9780, --bearer-token-file FILE)
  vigil report --config FILE --input DATA [--reference REF] [--model NAME] --out report.html
  vigil demo [--speed 1] [--duration D] [--slack-webhook-url URL] [--pagerduty-routing-key KEY]
  vigil healthcheck [--url http://127.0.0.1:9780] [--path /healthz] [--timeout 3s]
                    [--tls.ca-file CA.pem] [--tls.server-name NAME] [--tls.insecure-skip-verify]   (with an https:// --url)
  vigil loadgen [--url URL] [--model NAME --features 20 --categorical 2] [--rate N] [--count N | --duration D] [--print-config]
  vigil import [--url URL] [--kind predictions|labels] [--format ndjson|csv] FILE
  vigil version

Run "vigil COMMAND --help" for a command's flags.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runDaemon(args[1:], stderr)
	case "check":
		switch {
		case len(args) >= 2 && args[1] == "config":
			return checkConfig(args[2:], stdout, stderr)
		case len(args) >= 2 && args[1] == "rules":
			return checkRules(args[2:], stdout, stderr)
		}
		fmt.Fprintln(stderr, "usage: vigil check config FILE | vigil check rules FILE...")
		return 2
	case "test":
		if len(args) < 3 || args[1] != "rules" {
			fmt.Fprintln(stderr, "usage: vigil test rules FILE...")
			return 2
		}
		return testRules(args[2:], stdout, stderr)
	case "baseline":
		return baseline(args[1:], stdout, stderr)
	case "silence":
		return silence(args[1:], stdout, stderr)
	case "replay":
		return replay(args[1:], stdout, stderr)
	case "demo":
		return runDemo(args[1:], stdout, stderr)
	case "report":
		return report(args[1:], stdout, stderr)
	case "healthcheck":
		return healthcheck(args[1:], stdout, stderr)
	case "loadgen":
		return loadgenCmd(args[1:], stdout, stderr)
	case "import":
		return importFile(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "vigil: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func versionString() string {
	c, d := commit, date
	if info, ok := debug.ReadBuildInfo(); ok && c == "" {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				c = s.Value
			case "vcs.time":
				d = s.Value
			}
		}
	}
	return fmt.Sprintf("vigil %s (commit %s, built %s, %s)", version, orUnknown(c), orUnknown(d), runtimeVersion())
}

func runtimeVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		return info.GoVersion
	}
	return "go"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func runDaemon(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config.file", "vigil.yaml", "configuration file")
	listen := fs.String("web.listen-address", monitor.DefaultListenAddress, "address of the HTTP API and /metrics")
	external := fs.String("web.external-url", "", "the URL vigil is reached at, for links in notifications (default http://localhost<listen address>)")
	enablePprof := fs.Bool("web.enable-pprof", false, "serve Go's profiler at /debug/pprof/ (CPU, heap, mutex, goroutine profiles)")
	autoMemLimit := fs.Bool("auto-gomemlimit", true, "set GOMEMLIMIT to a share of the container's memory limit (cgroup), unless GOMEMLIMIT is set")
	memLimitRatio := fs.Float64("auto-gomemlimit.ratio", 0.9, "the share of the container's memory limit GOMEMLIMIT is set to, in (0, 1]")
	webConfig := fs.String("web.config.file", "", "Prometheus web config (exporter-toolkit) for TLS: tls_server_config with cert_file and key_file, re-read on each handshake")
	logCfg := &promslog.Config{Level: promslog.NewLevel(), Format: promslog.NewFormat()}
	fs.Var(logCfg.Level, "log.level", "log level: debug, info, warn, error")
	fs.Var(logCfg.Format, "log.format", "log format: logfmt, json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := checkMemLimitRatio(*memLimitRatio); err != nil {
		fmt.Fprintln(stderr, "vigil run:", err)
		return 2
	}
	logCfg.Writer = stderr
	logger := promslog.New(logCfg)
	if *enablePprof {
		// Sample one lock contention in 10 for /debug/pprof/mutex.
		runtime.SetMutexProfileFraction(10)
	}

	// Signals are caught before anything starts: a SIGHUP during start-up must not take
	// the default action, which ends the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *autoMemLimit {
		setMemoryLimit(ctx, memlimit.FromCgroup, *memLimitRatio, memLimitRefresh, logger)
	}
	m, err := monitor.New(monitor.Options{
		ConfigFile:    *configFile,
		ListenAddress: *listen,
		ExternalURL:   strings.TrimSuffix(*external, "/"),
		Logger:        logger,
		Version:       version,
		EnablePprof:   *enablePprof,
		WebConfigFile: *webConfig,
	})
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	if err := m.Start(); err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	for {
		select {
		case <-hup:
			// Reload logs its own outcome.
			_ = m.Reload(ctx)
		case <-ctx.Done():
			logger.Info("shutting down", "reason", "signal")
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := m.Stop(sctx); err != nil {
				logger.Error("unclean shutdown", "err", err)
				return 1
			}
			return 0
		}
	}
}

func checkConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: vigil check config FILE")
		return 2
	}
	cfg, err := monitor.LoadFile(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "FAILED: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "SUCCESS: %s is valid vigil config\n", args[0])
	fmt.Fprintf(stdout, "  evaluation every %s, %d model(s)\n", cfg.Global.EvaluationInterval, len(cfg.Models))
	for _, mc := range cfg.Models {
		win := fmt.Sprintf("last %d events", mc.Window.Size)
		if mc.Window.Duration > 0 {
			win = "last " + mc.Window.Duration.String()
		}
		ref := "window before the current one"
		switch {
		case mc.Reference.Profile != "":
			ref = "profile " + mc.Reference.Profile
		case mc.Reference.Window == "first":
			ref = fmt.Sprintf("first %d predictions", mc.Reference.Size)
		}
		fmt.Fprintf(stdout, "  - %s (%s): %d feature(s), window %s, reference %s, labels wait %s\n",
			mc.Name, mc.Task, len(mc.Features), win, ref, mc.Labels.TTL)
	}
	fmt.Fprintf(stdout, "  %d rule(s)", len(cfg.Rules))
	if r := cfg.Alerting.Route; r != nil {
		var names []string
		for _, rc := range cfg.Alerting.Receivers {
			names = append(names, rc.Name)
		}
		fmt.Fprintf(stdout, ", alerts routed to %s (receivers: %s)\n", r.Receiver, strings.Join(names, ", "))
	} else {
		fmt.Fprintln(stdout, ", no route: alerts are not sent anywhere")
	}
	return 0
}

// checkRules validates rule files (a `rules:` list, as in the config).
func checkRules(files []string, stdout, stderr io.Writer) int {
	if len(files) == 0 {
		fmt.Fprintln(stderr, "usage: vigil check rules FILE...")
		return 2
	}
	code := 0
	for _, f := range files {
		sum, err := rules.CheckFile(f)
		if err != nil {
			fmt.Fprintf(stderr, "FAILED: %v\n", err)
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: %s\n", f, sum)
	}
	return code
}

// testRules runs rule unit tests (promtool test rules, for vigil's signals).
func testRules(files []string, stdout, stderr io.Writer) int {
	code := 0
	for _, f := range files {
		fmt.Fprintf(stdout, "Unit testing %s\n", f)
		ok, err := rules.RunTests(f, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "FAILED: %v\n", err)
			code = 1
			continue
		}
		if !ok {
			code = 1
		}
	}
	return code
}

// baseline builds a reference profile from a data file.
func baseline(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config.file", "", "vigil config: the model's features, types and drift settings (optional; without it every column is profiled with its type inferred)")
	model := fs.String("model", "", "model name (required)")
	input := fs.String("input", "", "training data: .csv, .ndjson/.jsonl or .parquet (required)")
	out := fs.String("out", "", "profile to write (required)")
	predCol := fs.String("prediction-column", "", "CSV/Parquet column holding the model's prediction")
	scoreCol := fs.String("score-column", "", "CSV/Parquet column holding the positive-class score")
	sample := fs.Int("sample", profile.DefaultSampleSize, "values kept per numeric feature (all of them when there are no more)")
	newLogger := logFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *model == "" || *input == "" || *out == "" {
		fmt.Fprintln(stderr, "vigil baseline: --model, --input and --out are required")
		fs.Usage()
		return 2
	}
	logger := newLogger(stderr)
	opts := monitor.BaselineOptions{ModelName: *model, Input: *input, PredictionColumn: *predCol, ScoreColumn: *scoreCol, SampleSize: *sample, Logger: logger}
	if *configFile != "" {
		cfg, err := monitor.LoadFileForBaseline(*configFile, *model)
		if err != nil {
			logger.Error("cannot load config", "err", err)
			return 1
		}
		if opts.Model = cfg.Model(*model); opts.Model == nil {
			logger.Error("model not in config", "model", *model, "file", *configFile)
			return 1
		}
	}
	bar := newProgress(stderr, "profiling "+*input)
	opts.Progress = func(read, total int64) { bar.update("profiling "+*input, read, total) }
	defer bar.finish()
	start := time.Now()
	p, err := monitor.BuildProfile(opts)
	if err != nil {
		logger.Error("cannot build profile", "err", err)
		return 1
	}
	if err := profile.WriteFile(*out, p); err != nil {
		logger.Error("cannot write profile", "err", err)
		return 1
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(stdout, "wrote %s: model %s, %d rows (%d rejected) from %s in %.1fs (%.0f rows/s), %d features\n",
		*out, p.Model, p.Source.Rows, p.Source.Rejected, *input, secs, float64(p.Source.Rows)/secs, len(p.Features))
	return 0
}

// silence adds, lists and expires silences on a running vigil through its HTTP API.
func silence(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: vigil silence add|list|expire [flags]")
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("vigil silence "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://localhost"+monitor.DefaultListenAddress, "vigil's URL")
	var matchers []string
	fs.Func("matcher", `a matcher such as model="fraud" or severity=~"crit.*" (repeat for more)`, func(v string) error {
		matchers = append(matchers, v)
		return nil
	})
	duration := fs.Duration("duration", 2*time.Hour, "how long the silence lasts")
	comment := fs.String("comment", "", "why (required for add)")
	author := fs.String("author", os.Getenv("USER"), "who")
	tokenFile := fs.String("bearer-token-file", "", "file holding the admin bearer token (web.admin_bearer_token)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	token := ""
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "vigil silence: %v\n", err)
			return 2
		}
		token = strings.TrimSpace(string(b))
	}
	client := &http.Client{Timeout: 10 * time.Second}
	base := strings.TrimSuffix(*url, "/") + "/api/v1/silences"
	do := func(req *http.Request) ([]byte, error) {
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
		}
		return b, nil
	}
	switch verb {
	case "add":
		if len(matchers) == 0 || *comment == "" {
			fmt.Fprintln(stderr, "vigil silence add: --matcher and --comment are required")
			return 2
		}
		var ms []map[string]any
		for _, raw := range matchers {
			m, err := parseMatcher(raw)
			if err != nil {
				fmt.Fprintf(stderr, "vigil silence add: --matcher %q: %v\n", raw, err)
				return 2
			}
			ms = append(ms, m)
		}
		now := time.Now().UTC()
		body, _ := json.Marshal(map[string]any{"matchers": ms, "startsAt": now, "endsAt": now.Add(*duration), "createdBy": *author, "comment": *comment})
		req, _ := http.NewRequest(http.MethodPost, base, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		b, err := do(req)
		if err != nil {
			fmt.Fprintf(stderr, "vigil silence add: %v\n", err)
			return 1
		}
		var out struct{ SilenceID string }
		_ = json.Unmarshal(b, &out)
		fmt.Fprintln(stdout, out.SilenceID)
	case "list":
		req, _ := http.NewRequest(http.MethodGet, base, nil)
		b, err := do(req)
		if err != nil {
			fmt.Fprintf(stderr, "vigil silence list: %v\n", err)
			return 1
		}
		var sils []struct {
			ID       string
			Matchers []struct {
				Name, Value      string
				IsRegex, IsEqual bool
			}
			EndsAt    time.Time
			CreatedBy string
			Comment   string
		}
		if err := json.Unmarshal(b, &sils); err != nil {
			fmt.Fprintf(stderr, "vigil silence list: %v\n", err)
			return 1
		}
		for _, s := range sils {
			var ms []string
			for _, m := range s.Matchers {
				op := map[[2]bool]string{{false, true}: "=", {false, false}: "!=", {true, true}: "=~", {true, false}: "!~"}[[2]bool{m.IsRegex, m.IsEqual}]
				ms = append(ms, m.Name+op+strconv.Quote(m.Value))
			}
			fmt.Fprintf(stdout, "%s  ends %s  %s  by %s: %s\n", s.ID, s.EndsAt.Format(time.RFC3339), strings.Join(ms, ","), s.CreatedBy, s.Comment)
		}
	case "expire":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "usage: vigil silence expire ID")
			return 2
		}
		req, _ := http.NewRequest(http.MethodDelete, base+"/"+fs.Arg(0), nil)
		if _, err := do(req); err != nil {
			fmt.Fprintf(stderr, "vigil silence expire: %v\n", err)
			return 1
		}
	default:
		fmt.Fprintf(stderr, "vigil silence: unknown verb %q (add, list, expire)\n", verb)
		return 2
	}
	return 0
}

// parseMatcher reads name="value", name!="value", name=~"re" or name!~"re".
func parseMatcher(s string) (map[string]any, error) {
	for _, op := range []string{"!~", "=~", "!=", "="} {
		name, value, ok := strings.Cut(s, op)
		if !ok || name == "" || strings.ContainsAny(name, "=!~") {
			continue
		}
		if v, err := strconv.Unquote(value); err == nil {
			value = v
		}
		return map[string]any{"name": strings.TrimSpace(name), "value": value, "isRegex": strings.Contains(op, "~"), "isEqual": !strings.HasPrefix(op, "!")}, nil
	}
	return nil, fmt.Errorf(`want name="value", name!="value", name=~"regex" or name!~"regex"`)
}

var severityRank = map[string]int{"info": 0, "warning": 1, "critical": 2}

// replay runs the windows, statistics and rules over recorded traffic: the quality gate
// of a CI pipeline. It exits 1 when a rule of severity --fail-on or above fires.
func replay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config.file", "", "vigil config with the models and rules (required)")
	fs.StringVar(configFile, "config", "", "the same as --config.file")
	input := fs.String("input", "", "predictions, NDJSON in the ingest format, in event-time order (required)")
	labels := fs.String("labels", "", "labels, NDJSON, in event-time order")
	junit := fs.String("junit", "", "write a JUnit XML report here (one test case per rule)")
	output := fs.String("output", "text", "report format: text or json")
	failOn := fs.String("fail-on", "warning", "exit 1 when a rule of this severity or above fires: info, warning, critical")
	newLogger := logFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rank, ok := severityRank[*failOn]
	if *configFile == "" || *input == "" || !ok || (*output != "text" && *output != "json") {
		fmt.Fprintln(stderr, "vigil replay: --config.file and --input are required; --output is text or json; --fail-on is info, warning or critical")
		return 2
	}
	logger := newLogger(stderr)
	cfg, err := monitor.LoadFile(*configFile)
	if err != nil {
		logger.Error("cannot load config", "err", err)
		return 2
	}
	opts := monitor.ReplayOptions{Config: cfg, Predictions: *input, Labels: *labels, Logger: logger}
	bar := newProgress(stderr, "replaying "+*input)
	opts.Progress = func(read, total int64) { bar.update("replaying "+*input, read, total) }
	defer bar.finish()
	rep, err := monitor.Replay(opts)
	if err != nil {
		logger.Error("replay failed", "err", err)
		return 2
	}
	failed := 0
	for _, a := range rep.Alerts {
		if severityRank[a.Severity] >= rank {
			failed++
		}
	}
	if *junit != "" {
		if err := writeJUnit(*junit, rep, rank); err != nil {
			logger.Error("cannot write JUnit report", "err", err)
			return 2
		}
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		fmt.Fprintf(stdout, "replayed %d predictions and %d labels (%d rejected) from %s to %s in %d evaluations\n",
			rep.Predictions, rep.Labels, rep.Rejected, rep.Start.Format(time.RFC3339), rep.End.Format(time.RFC3339), rep.Evaluations)
		for _, a := range rep.Alerts {
			until := "still firing at the end"
			if a.ResolvedAt != nil {
				until = "resolved " + a.ResolvedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "FIRED %s [%s] %s at %s, %s: %s\n", a.Rule, a.Severity, labelString(a.Labels), a.FiredAt.Format(time.RFC3339), until, a.Annotations["summary"])
		}
		if len(rep.Alerts) == 0 {
			fmt.Fprintln(stdout, "no rule fired")
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "FAILED: %d alert(s) of severity %s or above fired\n", failed, *failOn)
		return 1
	}
	return 0
}

func labelString(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		if k != "alertname" && k != "severity" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+strconv.Quote(l[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failures  []junitFailed `xml:"failure"`
}

type junitFailed struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// writeJUnit writes one test case per rule; each alert of a failing severity it fired is
// a failure, so CI systems show which rule broke the gate and where.
func writeJUnit(path string, rep *monitor.ReplayReport, rank int) error {
	suite := junitSuite{Name: "vigil replay"}
	for _, rule := range rep.Rules {
		c := junitCase{Name: rule, ClassName: "vigil.rules"}
		for _, a := range rep.Alerts {
			if a.Rule == rule && severityRank[a.Severity] >= rank {
				c.Failures = append(c.Failures, junitFailed{
					Message: fmt.Sprintf("%s fired for %s at %s", rule, labelString(a.Labels), a.FiredAt.Format(time.RFC3339)),
					Text:    fmt.Sprintf("value %g; %s", a.Value, a.Annotations["summary"]),
				})
			}
		}
		if len(c.Failures) > 0 {
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	b, err := xml.MarshalIndent(junitSuites{Suites: []junitSuite{suite}}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(b, '\n')...), 0o644)
}
