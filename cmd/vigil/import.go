package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vigilml/vigil/monitor"
	"github.com/vigilml/vigil/monitor/files"
)

// importFile sends a file of records to a running vigil once (vigil import).
func importFile(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://localhost"+monitor.DefaultListenAddress, "vigil's URL")
	kind := fs.String("kind", "predictions", "predictions or labels")
	format := fs.String("format", "", "ndjson or csv (default: from the file name, else ndjson)")
	batch := fs.Int("batch", 5000, "records per request")
	tokenFile := fs.String("bearer-token-file", "", "a file with the ingest bearer token")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || (*kind != "predictions" && *kind != "labels") {
		fmt.Fprintln(stderr, "usage: vigil import [--url URL] [--kind predictions|labels] [--format ndjson|csv] FILE")
		return 2
	}
	path := fs.Arg(0)
	csv := *format == "csv" || (*format == "" && strings.HasSuffix(strings.ToLower(path), ".csv"))
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(stderr, "vigil import:", err)
		return 1
	}
	defer f.Close()
	o := files.ImportOptions{URL: *url, Labels: *kind == "labels", CSV: csv, BatchLines: *batch}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintln(stderr, "vigil import:", err)
			return 1
		}
		o.BearerToken = strings.TrimSpace(string(b))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := files.Import(ctx, f, o)
	fmt.Fprintf(stdout, "%s: %d records sent, %d accepted, %d rejected\n", path, res.Records, res.Accepted, res.Rejected)
	for _, e := range res.Errors {
		fmt.Fprintln(stdout, "  rejected:", e)
	}
	if err != nil {
		fmt.Fprintln(stderr, "vigil import:", err)
		return 1
	}
	if res.Rejected > 0 {
		return 1
	}
	return 0
}
