package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// healthcheck asks a running vigil whether it is alive: the image's HEALTHCHECK, since a
// distroless image has no shell or curl. It exits 0 on a 200 answer and 1 on anything else,
// flag errors included, because Docker reserves exit code 2.
//
// Over https:// it verifies the server's certificate against the system's roots or
// --tls.ca-file, under the URL's host name or --tls.server-name; --tls.insecure-skip-verify
// turns verification off and so proves only that the port answers TLS and HTTP.
func healthcheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "http://127.0.0.1:9780", "vigil's URL, http:// or https:// (vigil run --web.config.file with tls_server_config serves https only)")
	path := fs.String("path", "/healthz", "the endpoint to ask: /healthz (alive) or /readyz (ready to ingest)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	caFile := fs.String("tls.ca-file", "", "PEM file of the CA certificate(s) that signed vigil's certificate (default: the system's roots); https:// only")
	serverName := fs.String("tls.server-name", "", "name to send (SNI) and to verify the certificate against instead of the URL's host, e.g. vigil.vigil.svc when probing 127.0.0.1; https:// only")
	insecure := fs.Bool("tls.insecure-skip-verify", false, "do not verify the certificate at all: this only proves that the port answers TLS and HTTP, not that it is vigil's certificate; https:// only")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "vigil healthcheck: unexpected argument %q\n", fs.Arg(0))
		return 1
	}
	u, err := url.Parse(*rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "vigil healthcheck: --url %q: want http://host:port or https://host:port\n", *rawURL)
		return 1
	}
	client := &http.Client{}
	if u.Scheme == "https" {
		cfg, err := healthcheckTLS(*caFile, *serverName, *insecure)
		if err != nil {
			fmt.Fprintf(stderr, "vigil healthcheck: %v\n", err)
			return 1
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg
		client.Transport = tr
	} else if *caFile != "" || *serverName != "" || *insecure {
		// Silently probing plain HTTP would hide a healthcheck that was meant to check TLS.
		fmt.Fprintf(stderr, "vigil healthcheck: --tls.* flags need an https:// --url, not %q\n", *rawURL)
		return 1
	}
	target := strings.TrimSuffix(*rawURL, "/") + "/" + strings.TrimPrefix(*path, "/")
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		fmt.Fprintf(stderr, "vigil healthcheck: %v\n", err)
		return 1
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "vigil healthcheck: %v%s\n", err, tlsHint(err))
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

// healthcheckTLS is the client side of an https:// healthcheck.
func healthcheckTLS(caFile, serverName string, insecure bool) (*tls.Config, error) {
	if insecure && (caFile != "" || serverName != "") {
		return nil, errors.New("--tls.insecure-skip-verify verifies nothing, so --tls.ca-file and --tls.server-name would be ignored: give one or the other")
	}
	// InsecureSkipVerify only on the explicit flag, whose help says what it proves.
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName, InsecureSkipVerify: insecure}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--tls.ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--tls.ca-file %s: no PEM certificate in it", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// tlsHint says which flag fixes a failed certificate verification.
func tlsHint(err error) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	switch {
	case errors.As(err, &unknown):
		return " (give the CA that signed vigil's certificate with --tls.ca-file)"
	case errors.As(err, &host):
		names := host.Certificate.DNSNames
		for _, ip := range host.Certificate.IPAddresses {
			names = append(names, ip.String())
		}
		if len(names) == 0 {
			return " (the certificate holds no DNS name or IP address)"
		}
		return fmt.Sprintf(" (the certificate holds %s: give one with --tls.server-name)", strings.Join(names, ", "))
	}
	return ""
}
