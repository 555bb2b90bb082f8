package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vigilml/vigil/monitor"
)

// report writes the offline HTML drift and quality report of one data file.
func report(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "vigil config with the model's features, task and drift settings (required)")
	fs.StringVar(configFile, "config.file", "", "the same as --config")
	model := fs.String("model", "", "the config's model to report on (needed when it has several)")
	input := fs.String("input", "", "the data to report on: .csv, .ndjson/.jsonl or .parquet (required)")
	reference := fs.String("reference", "", "reference data of the same kind (default: the model's configured reference; see docs)")
	out := fs.String("out", "report.html", "HTML file to write")
	predCol := fs.String("prediction-column", "", "CSV/Parquet column holding the model's prediction")
	scoreCol := fs.String("score-column", "", "CSV/Parquet column holding the positive-class score")
	labelCol := fs.String("label-column", "", `CSV/Parquet column holding the true label (default "label" when present)`)
	idCol := fs.String("id-column", "", "CSV/Parquet column holding the row id")
	newLogger := logFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *configFile == "" || *input == "" {
		fmt.Fprintln(stderr, "vigil report: --config and --input are required")
		fs.Usage()
		return 2
	}
	logger := newLogger(stderr)
	cfg, err := monitor.LoadFile(*configFile)
	if err != nil {
		logger.Error("cannot load config", "err", err)
		return 2
	}
	opts := monitor.ReportOptions{
		Config: cfg, Model: *model, Input: *input, Reference: *reference,
		PredictionColumn: *predCol, ScoreColumn: *scoreCol, LabelColumn: *labelCol, IDColumn: *idCol, Logger: logger,
	}
	bar := newProgress(stderr, "reading")
	opts.Progress = func(file string, read, total int64) { bar.update("reading "+filepath.Base(file), read, total) }
	rep, err := monitor.BuildReport(opts)
	bar.finish()
	if err != nil {
		logger.Error("cannot build report", "err", err)
		return 1
	}
	rep.Version = version
	f, err := os.Create(*out)
	if err != nil {
		logger.Error("cannot write report", "err", err)
		return 1
	}
	if err := rep.WriteHTML(f); err != nil {
		f.Close()
		logger.Error("cannot write report", "err", err)
		return 1
	}
	if err := f.Close(); err != nil {
		logger.Error("cannot write report", "err", err)
		return 1
	}
	drifted := "no drift verdict"
	if d := rep.Stats.Drift; d != nil {
		drifted = fmt.Sprintf("%d of %d features drifted", d.Drifted, d.Features)
	}
	fmt.Fprintf(stdout, "wrote %s: model %s, %d rows against %s; %s\n", *out, rep.Model, rep.Rows, rep.Reference, drifted)
	return 0
}
