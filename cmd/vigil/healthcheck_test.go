package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHealthcheck(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			_, _ = w.Write([]byte("OK"))
		case "/readyz":
			http.Error(w, "stopping", http.StatusServiceUnavailable)
		case "/slow":
			<-release
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	defer close(release)
	closed := "http://127.0.0.1:" + strconv.Itoa(freePort(t))

	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		wantOut string
		wantErr string
	}{
		{"healthy", []string{"--url", srv.URL}, 0, "/healthz: OK", ""},
		{"trailing slash and path without slash", []string{"--url", srv.URL + "/", "--path", "healthz"}, 0, "/healthz: OK", ""},
		{"not ready", []string{"--url", srv.URL, "--path", "/readyz"}, 1, "", "503 Service Unavailable: stopping"},
		{"no such endpoint", []string{"--url", srv.URL, "--path", "/nope"}, 1, "", "404"},
		{"nobody listening", []string{"--url", closed}, 1, "", "connection refused"},
		{"too slow", []string{"--url", srv.URL, "--path", "/slow", "--timeout", "200ms"}, 1, "", "context deadline exceeded"},
		{"bad flag exits 1, not Docker's reserved 2", []string{"--frobnicate"}, 1, "", "flag provided but not defined"},
		{"stray argument", []string{"extra"}, 1, "", `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			require.Equal(t, tc.code, run(append([]string{"healthcheck"}, tc.args...), &out, &errb), errb.String())
			require.Contains(t, out.String(), tc.wantOut)
			require.Contains(t, errb.String(), tc.wantErr)
		})
	}
}

// TestHealthcheckAgainstDaemon asks a real vigil process, as the image's HEALTHCHECK does.
func TestHealthcheckAgainstDaemon(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vigil.yaml")
	// State goes to the test's directory, never into the source tree.
	require.NoError(t, os.WriteFile(cfg, []byte("global: {storage_path: "+filepath.Join(dir, "data")+"}\nmodels:\n  - {name: fraud, task: binary_classification}\n"), 0o600))
	d := startProcess(t, cfg)
	for _, path := range []string{"/healthz", "/-/healthy", "/readyz", "/-/ready"} {
		var out, errb bytes.Buffer
		require.Equal(t, 0, run([]string{"healthcheck", "--url", d.url, "--path", path, "--timeout", "5s"}, &out, &errb), errb.String())
	}
	require.NoError(t, d.cmd.Process.Kill())
	<-d.exited
	var out, errb bytes.Buffer
	require.Eventually(t, func() bool {
		return run([]string{"healthcheck", "--url", d.url, "--timeout", "1s"}, &out, &errb) == 1
	}, 10*time.Second, 100*time.Millisecond)
}

// TestHealthcheckTLS: over https:// the healthcheck verifies vigil's certificate against
// --tls.ca-file under the URL's host or --tls.server-name, and says which flag is missing
// when verification fails.
func TestHealthcheckTLS(t *testing.T) {
	ca, other := newTestCA(t, "vigil-ca"), newTestCA(t, "other-ca")
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("OK")) })
	serve := func(cert tls.Certificate) *httptest.Server {
		srv := httptest.NewUnstartedServer(ok)
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are the point
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	// byIP holds 127.0.0.1; byName only the Service's DNS name, as a certificate for a
	// Kubernetes Service does, while the healthcheck runs inside the pod on 127.0.0.1.
	byIP := serve(ca.issue(t, "", "", nil, net.ParseIP("127.0.0.1")))
	byName := serve(ca.issue(t, "", "", []string{"vigil.vigil.svc"}))
	plain := httptest.NewServer(ok)
	defer plain.Close()
	notPEM := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600))
	missing := filepath.Join(t.TempDir(), "absent-ca.crt")

	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		wantErr []string
	}{
		{"verified with the CA", []string{"--url", byIP.URL, "--tls.ca-file", ca.certFile}, 0, nil},
		{"without the CA", []string{"--url", byIP.URL}, 1, []string{"certificate signed by unknown authority", "--tls.ca-file"}},
		{"another authority's CA", []string{"--url", byIP.URL, "--tls.ca-file", other.certFile}, 1, []string{"unknown authority", "--tls.ca-file"}},
		{"certificate for a DNS name, probed by IP", []string{"--url", byName.URL, "--tls.ca-file", ca.certFile}, 1, []string{"certificate holds vigil.vigil.svc: give one with --tls.server-name"}},
		{"server name", []string{"--url", byName.URL, "--tls.ca-file", ca.certFile, "--tls.server-name", "vigil.vigil.svc"}, 0, nil},
		{"server name the certificate does not hold", []string{"--url", byIP.URL, "--tls.ca-file", ca.certFile, "--tls.server-name", "vigil.example"}, 1, []string{"vigil.example", "certificate holds 127.0.0.1", "--tls.server-name"}},
		{"insecure skip verify", []string{"--url", byName.URL, "--tls.insecure-skip-verify"}, 0, nil},
		{"insecure skip verify with a CA", []string{"--url", byName.URL, "--tls.insecure-skip-verify", "--tls.ca-file", ca.certFile}, 1, []string{"--tls.insecure-skip-verify", "one or the other"}},
		{"missing CA file", []string{"--url", byIP.URL, "--tls.ca-file", missing}, 1, []string{"--tls.ca-file", missing, "no such file"}},
		{"CA file without a certificate", []string{"--url", byIP.URL, "--tls.ca-file", notPEM}, 1, []string{"--tls.ca-file " + notPEM, "no PEM certificate"}},
		{"TLS flags on an http URL", []string{"--url", plain.URL, "--tls.ca-file", ca.certFile}, 1, []string{"need an https:// --url"}},
		{"https to a plain HTTP server", []string{"--url", "https://" + plain.Listener.Addr().String()}, 1, []string{"server gave HTTP response to HTTPS client"}},
		{"http to a TLS server", []string{"--url", "http://" + byIP.Listener.Addr().String()}, 1, []string{"400 Bad Request", "HTTPS server"}},
		{"URL without a scheme", []string{"--url", byIP.Listener.Addr().String()}, 1, []string{"want http://host:port or https://host:port"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(append([]string{"healthcheck", "--timeout", "5s"}, tc.args...), &out, &errb)
			require.Equal(t, tc.code, code, errb.String())
			if tc.code == 0 {
				require.Contains(t, out.String(), "/healthz: OK")
				require.Empty(t, errb.String())
			}
			for _, want := range tc.wantErr {
				require.Contains(t, errb.String(), want)
			}
		})
	}
}

// TestHealthcheckTLSAgainstDaemon: a real vigil serving TLS from a certificate mounted the
// way Kubernetes mounts a kubernetes.io/tls Secret (files behind a ..data symlink that the
// kubelet swaps atomically) passes the healthcheck, and after the Secret is rotated to a
// certificate from another CA, without a restart, passes it with the new CA and fails it
// with the old one.
func TestHealthcheckTLSAgainstDaemon(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "tls")
	require.NoError(t, os.Mkdir(secret, 0o700))
	// mount writes a Secret version as the kubelet's atomic writer does.
	mount := func(ca *testCA, version string) {
		v := filepath.Join(secret, version)
		require.NoError(t, os.Mkdir(v, 0o700))
		ca.issue(t, filepath.Join(v, "tls.crt"), filepath.Join(v, "tls.key"), []string{"vigil.vigil.svc"})
		require.NoError(t, os.Symlink(version, filepath.Join(secret, "..data_tmp")))
		require.NoError(t, os.Rename(filepath.Join(secret, "..data_tmp"), filepath.Join(secret, "..data")))
	}
	first, second := newTestCA(t, "first-ca"), newTestCA(t, "second-ca")
	mount(first, "..v1")
	for _, f := range []string{"tls.crt", "tls.key"} {
		require.NoError(t, os.Symlink(filepath.Join("..data", f), filepath.Join(secret, f)))
	}
	web := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(web, []byte("tls_server_config:\n  cert_file: "+filepath.Join(secret, "tls.crt")+"\n  key_file: "+filepath.Join(secret, "tls.key")+"\n"), 0o600))
	cfg := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("global: {storage_path: "+filepath.Join(dir, "data")+"}\nmodels:\n  - {name: fraud, task: binary_classification}\n"), 0o600))
	d := startProcess(t, cfg, "--web.config.file", web)
	url := strings.Replace(d.url, "http://", "https://", 1)

	check := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"healthcheck", "--url", url, "--timeout", "5s"}, args...), &out, &errb)
		return code, errb.String()
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		code, errs := check("--path", path, "--tls.ca-file", first.certFile, "--tls.server-name", "vigil.vigil.svc")
		require.Equal(t, 0, code, errs)
	}
	code, errs := check("--tls.ca-file", first.certFile)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "--tls.server-name")

	mount(second, "..v2")
	require.Eventually(t, func() bool {
		code, _ := check("--tls.ca-file", second.certFile, "--tls.server-name", "vigil.vigil.svc")
		return code == 0
	}, 10*time.Second, 50*time.Millisecond, "the rotated certificate is served without a restart")
	code, errs = check("--tls.ca-file", first.certFile, "--tls.server-name", "vigil.vigil.svc")
	require.Equal(t, 1, code, "the old CA no longer verifies")
	require.Contains(t, errs, "unknown authority")
	code, errs = check("--tls.insecure-skip-verify")
	require.Equal(t, 0, code, errs)
	select {
	case err := <-d.exited:
		t.Fatalf("vigil exited: %v\n%s", err, d.stderr.String())
	default:
	}
}
