package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRunWebConfigFlag: --web.config.file reaches the daemon, which refuses to start on a
// web config whose certificate cannot be read.
func TestRunWebConfigFlag(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("global: {storage_path: "+filepath.Join(dir, "data")+"}\nmodels: []\n"), 0o600))
	web := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(web, []byte("tls_server_config: {cert_file: absent.crt, key_file: absent.key}\n"), 0o600))
	var errb bytes.Buffer
	code := run([]string{"run", "--config.file", cfg, "--web.listen-address", "127.0.0.1:0", "--web.config.file", web}, io.Discard, &errb)
	require.Equal(t, 1, code)
	require.Contains(t, errb.String(), "absent.crt")
}
