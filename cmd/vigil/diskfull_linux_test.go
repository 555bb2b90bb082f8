package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// mountTmpfs mounts a tmpfs of the given size on dir: a real filesystem that fills up.
// Mounting needs root (CI runs as root); elsewhere the test is skipped, in CI it fails.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o750))
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a tmpfs for the disk-full test (CI runs as root): %v", err)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
}

func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDiskFull fills the real filesystem under vigil's storage_path while it ingests:
// the first request that cannot be stored gets 503, readiness turns false, the requests
// after it are refused without being applied, and once there is room again ingest and
// readiness come back by themselves. After a restart every acknowledged event is counted
// once; of the refused ones at most the batch that met the full disk (applied in memory
// before its write failed, and written when the room came back) is counted.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	mountTmpfs(t, data, "1m")
	cfgPath := filepath.Join(dir, "vigil.yaml")
	logPath := filepath.Join(dir, "vigil.log")
	require.NoError(t, os.WriteFile(cfgPath, fmt.Appendf(nil, `
global: {evaluation_interval: 1s, storage_path: %s, wal: {snapshot_interval: 1h}}
models:
  - name: fraud
    task: binary_classification
    window: {size: 1000}
    features: [{name: amount, type: numeric}]
`, data), 0o600))
	p := startLogged(t, cfgPath, logPath)

	const batch = 200
	post := func(first int) (int, string) {
		preds, _ := pairs(first, batch, true)
		resp, err := http.Post(p.url+"/api/v1/predictions", "application/x-ndjson", strings.NewReader(strings.Join(preds, "\n")))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	next, acked := 0, 0
	for {
		code, body := post(next)
		next += batch
		if code == http.StatusServiceUnavailable {
			require.Contains(t, body, "cannot store the events")
			require.Contains(t, body, "no space left on device")
			break
		}
		require.Equal(t, http.StatusAccepted, code, body)
		acked += batch
		require.Less(t, next, 1_000_000, "1 MiB never filled up")
	}
	t.Logf("disk full after %d acknowledged events", acked)

	code, body := getStatus(t, p.url+"/-/ready")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "write-ahead log")
	code, _ = getStatus(t, p.url+"/-/healthy")
	require.Equal(t, http.StatusOK, code, "a full disk is not a reason to restart vigil")
	// The retries of a client while the disk stays full: refused, not applied.
	for range 5 {
		code, body := post(next)
		next += batch
		require.Equal(t, http.StatusServiceUnavailable, code, body)
	}

	// Room again: readiness and ingest come back without a restart.
	require.NoError(t, syscall.Mount("tmpfs", data, "tmpfs", syscall.MS_REMOUNT, "size=64m"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := getStatus(t, p.url+"/-/ready"); code == http.StatusOK {
			break
		}
		require.True(t, time.Now().Before(deadline), "not ready again after the disk got room")
		time.Sleep(50 * time.Millisecond)
	}
	for range 5 {
		code, body := post(next)
		next += batch
		require.Equal(t, http.StatusAccepted, code, body)
		acked += batch
	}

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-p.exited, "a clean exit")
	logs, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(logs), "cannot store accepted events"), "the failure is logged once:\n%s", logs)
	require.Equal(t, 1, strings.Count(string(logs), "the write-ahead log is written again"), "and its end once:\n%s", logs)

	p = startLogged(t, cfgPath, logPath)
	got := p.predictions(t)
	t.Logf("%d events acknowledged, %d counted after the restart", acked, got)
	require.GreaterOrEqual(t, got, acked, "an acknowledged event was lost")
	require.LessOrEqual(t, got, acked+batch, "refused events were counted")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-p.exited)
}
