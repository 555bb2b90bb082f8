package monitor

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// TestPprof: the profiler is served only when asked for.
func TestPprof(t *testing.T) {
	for _, tc := range []struct {
		name   string
		enable bool
		want   int
	}{{"off by default", false, http.StatusNotFound}, {"on", true, http.StatusOK}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "vigil.yaml")
			require.NoError(t, os.WriteFile(path, []byte("global: {storage_path: "+filepath.Join(dir, "data")+"}\nmodels: []\n"), 0o600))
			m, err := New(Options{ConfigFile: path, ListenAddress: "127.0.0.1:0", Registry: prometheus.NewRegistry(), EnablePprof: tc.enable})
			require.NoError(t, err)
			require.NoError(t, m.Start())
			defer func() { require.NoError(t, m.Stop(context.Background())) }()
			for _, p := range []string{"/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/cmdline"} {
				resp, err := http.Get("http://" + m.Addr().String() + p)
				require.NoError(t, err)
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.Equal(t, tc.want, resp.StatusCode, p)
				if tc.enable && p == "/debug/pprof/heap?debug=1" {
					require.Contains(t, string(body), "heap profile")
				}
			}
		})
	}
}
