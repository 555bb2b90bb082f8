package main

import (
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// memoryCgroup makes a cgroup v1 memory controller group with the given limit and
// returns its cgroup.procs file. It needs root and a writable controller (CI has both);
// elsewhere the test is skipped, in CI it fails.
func memoryCgroup(t *testing.T, limit int64) string {
	t.Helper()
	dir := filepath.Join("/sys/fs/cgroup/memory", "vigil-test-"+strconv.Itoa(os.Getpid()))
	err := os.Mkdir(dir, 0o755)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(strconv.FormatInt(limit, 10)), 0o644)
	}
	if err != nil {
		_ = os.Remove(dir)
		if os.Getenv("CI") == "true" {
			t.Fatalf("make a memory cgroup (CI runs as root): %v", err)
		}
		t.Skipf("cannot make a memory cgroup (needs root and cgroup v1's memory controller): %v", err)
	}
	t.Cleanup(func() {
		// The process in it is killed first (cleanups run last-in first-out); the
		// group can be removed once it has exited.
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := os.Remove(dir)
			if err == nil || errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	return filepath.Join(dir, "cgroup.procs")
}

// TestAutoGoMemLimitFromCgroup runs vigil inside a memory cgroup of 512 MiB, as a
// Kubernetes container with limits.memory: 512Mi is: GOMEMLIMIT becomes 90% of it, and
// the Go collector exports it.
func TestAutoGoMemLimitFromCgroup(t *testing.T) {
	procs := memoryCgroup(t, 512<<20)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "vigil.yaml")
	cfg := "global: {evaluation_interval: 1h, storage_path: " + filepath.Join(dir, "data") + "}\nmodels:\n  - {name: fraud, task: binary_classification}\n"
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))

	// The shell moves itself into the group, then becomes vigil: the limit applies from
	// vigil's first instruction.
	wrap := func(extra ...string) *exec.Cmd {
		return exec.Command("sh", append([]string{"-c", `echo $$ > "$0" && exec "$@"`, procs, os.Args[0]}, runArgs(cfgPath, extra...)...)...)
	}
	metric := func(d *daemon) string {
		resp, err := http.Get(d.url + "/metrics")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "go_gc_gomemlimit_bytes ") {
				return l
			}
		}
		t.Fatal("no go_gc_gomemlimit_bytes in /metrics")
		return ""
	}
	t.Setenv("GOMEMLIMIT", "")

	d := startCmd(t, wrap())
	require.Contains(t, d.stderr.String(), "GOMEMLIMIT=483183820", "0.9 × 512 MiB")
	require.Equal(t, "go_gc_gomemlimit_bytes 4.8318382e+08", metric(d))
	require.NoError(t, d.cmd.Process.Kill())
	<-d.exited

	d = startCmd(t, wrap("--auto-gomemlimit.ratio", "0.5"))
	require.Contains(t, d.stderr.String(), "GOMEMLIMIT=268435456")
	require.Equal(t, "go_gc_gomemlimit_bytes 2.68435456e+08", metric(d))
	require.NoError(t, d.cmd.Process.Kill())
	<-d.exited

	d = startCmd(t, wrap("--auto-gomemlimit=false"))
	require.Equal(t, "go_gc_gomemlimit_bytes 9.223372036854776e+18", metric(d), "no limit")
	require.NotContains(t, d.stderr.String(), "GOMEMLIMIT")
}
