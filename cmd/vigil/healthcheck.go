package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// healthcheck asks a running vigil whether it is alive: the image's HEALTHCHECK, since a
// distroless image has no shell or curl. It exits 0 on a 200 answer and 1 on anything else,
// flag errors included, because Docker reserves exit code 2.
func healthcheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:9780", "vigil's URL")
	path := fs.String("path", "/healthz", "the endpoint to ask: /healthz (alive) or /readyz (ready to ingest)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "vigil healthcheck: unexpected argument %q\n", fs.Arg(0))
		return 1
	}
	target := strings.TrimSuffix(*url, "/") + "/" + strings.TrimPrefix(*path, "/")
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		fmt.Fprintf(stderr, "vigil healthcheck: %v\n", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "vigil healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "vigil healthcheck: %s answered %s: %s\n", target, resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s\n", target, strings.TrimSpace(string(body)))
	return 0
}
