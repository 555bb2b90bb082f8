package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
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
	cfg := filepath.Join(t.TempDir(), "vigil.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("models:\n  - {name: fraud, task: binary_classification}\n"), 0o600))
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
