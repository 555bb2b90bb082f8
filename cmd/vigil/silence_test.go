package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSilenceCommandAdminToken: against a vigil with web.admin_bearer_token_file, vigil
// silence changes silences only with --bearer-token-file naming the admin token.
func TestSilenceCommandAdminToken(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "admin.token"), []byte("adm1n-token\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "wrong.token"), []byte("not-it\n"), 0o600))
	cfgPath := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
global: {evaluation_interval: 1h, storage_path: %s}
web: {admin_bearer_token_file: admin.token}
models: [{name: fraud, task: binary_classification}]
route: {receiver: console}
receivers: [{name: console, console_configs: [{}]}]
`, filepath.Join(dir, "data"))), 0o600))
	d := startProcess(t, cfgPath)
	add := []string{"silence", "add", "--url", d.url, "--matcher", `model="fraud"`, "--comment", "retraining"}

	for _, c := range []struct {
		name  string
		extra []string
		code  int
		want  string // in stderr
	}{
		{"no token", nil, 1, "401"},
		{"wrong token", []string{"--bearer-token-file", filepath.Join(dir, "wrong.token")}, 1, "401"},
		{"missing token file", []string{"--bearer-token-file", filepath.Join(dir, "missing")}, 2, "missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			require.Equal(t, c.code, run(append(append([]string{}, add...), c.extra...), &out, &errb), errb.String())
			require.Contains(t, errb.String(), c.want)
			require.NotContains(t, errb.String(), "adm1n-token")
		})
	}

	var out, errb bytes.Buffer
	tok := []string{"--bearer-token-file", filepath.Join(dir, "admin.token")}
	require.Equal(t, 0, run(append(append([]string{}, add...), tok...), &out, &errb), errb.String())
	id := strings.TrimSpace(out.String())
	require.NotEmpty(t, id)
	out.Reset()
	require.Equal(t, 0, run([]string{"silence", "list", "--url", d.url}, &out, &errb), "listing needs no token: %s", errb.String())
	require.Contains(t, out.String(), id)
	errb.Reset()
	require.Equal(t, 1, run([]string{"silence", "expire", "--url", d.url, id}, &out, &errb))
	require.Contains(t, errb.String(), "401")
	require.Equal(t, 0, run(append([]string{"silence", "expire", "--url", d.url}, append(tok, id)...), &out, &errb), errb.String())
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-d.exited)
}
