package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/vigilml/vigil/loadgen"
	"github.com/vigilml/vigil/monitor"
)

// loadgenCmd sends synthetic load to a running vigil (see docs/performance.md). It exits
// 0 when every event sent was accepted, 1 otherwise, 2 on bad flags.
func loadgenCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "http://localhost"+monitor.DefaultListenAddress, "vigil's URL; an address that is not loopback is used only when given here explicitly")
	transport := fs.String("transport", loadgen.TransportHTTP, "how to send the load: http (NDJSON), kafka, or cloudevents (KServe payload-logger events, labels over HTTP)")
	kafkaBrokers := fs.String("kafka-brokers", "", "with --transport kafka: the seed brokers, comma-separated")
	kafkaTopic := fs.String("kafka-topic", "vigil-predictions", "with --transport kafka: the topic of the predictions")
	kafkaLabelTopic := fs.String("kafka-label-topic", "vigil-labels", "with --transport kafka: the topic of the labels")
	settle := fs.Duration("settle", loadgen.DefaultSettle, "with --transport kafka or cloudevents: how long to wait after the last send for vigil to count every event")
	model := fs.String("model", "loadgen", "model name")
	models := fs.Int("models", 1, "number of models: with more than one they are named MODEL-000, MODEL-001, ... and batches go to each in turn")
	task := fs.String("task", loadgen.BinaryClassification, "binary_classification or regression")
	features := fs.Int("features", 20, "features per prediction")
	categorical := fs.Int("categorical", 2, "how many of the features are categorical")
	categories := fs.Int("categories", 10, "distinct values of each categorical feature")
	windowSize := fs.Int("window-size", 100000, "window and reference size written by --print-config")
	windowMode := fs.String("window-mode", monitor.ModeExact, "window mode written by --print-config: exact or streaming")
	printConfig := fs.Bool("print-config", false, "print a vigil config declaring the model these flags describe, and exit")
	batch := fs.Int("batch-size", 1000, "events per request")
	concurrency := fs.Int("concurrency", 2, "requests in flight at once")
	rate := fs.Float64("rate", 0, "predictions per second; 0 sends as fast as they are accepted")
	count := fs.Int64("count", 0, "stop after this many predictions")
	duration := fs.Duration("duration", 0, "stop after this long (default 10s when --count is not given either)")
	labels := fs.Float64("labels", 1, "share of predictions that get a label (0 to 1)")
	driftAfter := fs.Duration("drift-after", 0, "start the drift this long after the start")
	driftShift := fs.Float64("drift-shift", 0, "drift size: numeric features move by this many standard deviations, this share of categorical values becomes v0")
	seed := fs.Uint64("seed", 1, "random seed of the data")
	tokenFile := fs.String("bearer-token-file", "", "file holding the ingest bearer token")
	output := fs.String("output", "text", "report format: text or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	explicitURL := false
	fs.Visit(func(f *flag.Flag) { explicitURL = explicitURL || f.Name == "url" })
	spec := loadgen.Spec{
		Model: *model, Models: *models, Task: *task, Features: *features, Categorical: *categorical, Categories: *categories,
		DriftAfter: *driftAfter, DriftShift: *driftShift, WindowSize: *windowSize, WindowMode: *windowMode,
	}
	if err := spec.Validate(); err != nil {
		fmt.Fprintf(stderr, "vigil loadgen: %v\n", err)
		return 2
	}
	opts := loadgen.Options{
		URL: *target, AllowNonLoopback: explicitURL, Spec: spec, BatchSize: *batch, Concurrency: *concurrency,
		Rate: *rate, Count: *count, Duration: *duration, LabelRatio: *labels, Seed: *seed,
		Transport: *transport, Settle: *settle,
		Kafka: loadgen.Kafka{Brokers: splitList(*kafkaBrokers), Topic: *kafkaTopic, LabelTopic: *kafkaLabelTopic},
	}
	switch *transport {
	case loadgen.TransportHTTP, loadgen.TransportCloudEvents:
	case loadgen.TransportKafka:
		if len(opts.Kafka.Brokers) == 0 {
			fmt.Fprintln(stderr, "vigil loadgen: --transport kafka needs --kafka-brokers")
			return 2
		}
	default:
		fmt.Fprintf(stderr, "vigil loadgen: --transport %q: want http, kafka or cloudevents\n", *transport)
		return 2
	}
	if *printConfig {
		fmt.Fprint(stdout, spec.Config()+opts.SourceConfig())
		return 0
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintln(stderr, "vigil loadgen: --output is text or json")
		return 2
	}
	if *count <= 0 && *duration <= 0 {
		opts.Duration = 10 * time.Second
	}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "vigil loadgen: %v\n", err)
			return 2
		}
		opts.BearerToken = strings.TrimSpace(string(b))
	}
	if _, err := loadgen.CheckTarget(opts.URL, opts.AllowNonLoopback); err != nil {
		fmt.Fprintf(stderr, "vigil loadgen: %v\n", err)
		return 2
	}
	if os.Getenv("GOGC") == "" {
		// loadgen shares the machine with the vigil it measures, and each collection of
		// its own lands in the latencies it reports. Its live heap is a few MiB (the
		// batches it reuses) and each request leaves about 50 KB of garbage in net/http,
		// so collecting at 9× the live heap instead of 2× costs some MiB and cuts its
		// collections during a million-event run from about 20 to 3.
		defer debug.SetGCPercent(debug.SetGCPercent(800))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := loadgen.Run(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "vigil loadgen: %v\n", err)
		return 2
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		rep.WriteText(stdout)
	}
	if !rep.OK() {
		return 1
	}
	return 0
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
