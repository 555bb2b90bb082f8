// Command vigil watches machine-learning models in production. See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

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
  vigil run [--config.file FILE] [--web.listen-address ADDR] [--log.level LEVEL] [--log.format FORMAT]
  vigil check config FILE
  vigil check rules FILE
  vigil test rules FILE
  vigil baseline --model NAME --input FILE --out PROFILE [--config.file FILE]
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
	logCfg := &promslog.Config{Level: promslog.NewLevel(), Format: promslog.NewFormat()}
	fs.Var(logCfg.Level, "log.level", "log level: debug, info, warn, error")
	fs.Var(logCfg.Format, "log.format", "log format: logfmt, json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logCfg.Writer = stderr
	logger := promslog.New(logCfg)

	// Signals are caught before anything starts: a SIGHUP during start-up must not take
	// the default action, which ends the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m, err := monitor.New(monitor.Options{
		ConfigFile:    *configFile,
		ListenAddress: *listen,
		Logger:        logger,
		Version:       version,
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
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *model == "" || *input == "" || *out == "" {
		fmt.Fprintln(stderr, "vigil baseline: --model, --input and --out are required")
		fs.Usage()
		return 2
	}
	logger := promslog.New(&promslog.Config{Writer: stderr})
	opts := monitor.BaselineOptions{ModelName: *model, Input: *input, PredictionColumn: *predCol, ScoreColumn: *scoreCol, SampleSize: *sample, Logger: logger}
	if *configFile != "" {
		cfg, err := monitor.LoadFile(*configFile)
		if err != nil {
			logger.Error("cannot load config", "err", err)
			return 1
		}
		if opts.Model = cfg.Model(*model); opts.Model == nil {
			logger.Error("model not in config", "model", *model, "file", *configFile)
			return 1
		}
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar := progressbar.NewOptions64(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("profiling "+*input), progressbar.OptionClearOnFinish())
		opts.Progress = func(read, total int64) {
			bar.ChangeMax64(total)
			_ = bar.Set64(read)
		}
		defer bar.Finish()
	}
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
