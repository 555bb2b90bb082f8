package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// procKiB reads a "Name:   N kB" line of /proc/PID/status.
func procKiB(t *testing.T, pid int, name string) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", name, pid)
	return 0
}

// metricValue is the value of one unlabelled series on vigil's /metrics.
func metricValue(t *testing.T, url, series string) float64 {
	t.Helper()
	code, body := getStatus(t, url+"/metrics")
	require.Equal(t, http.StatusOK, code)
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	t.Fatalf("no series %s on /metrics", series)
	return 0
}

// TestOverload sends a real vigil far more than it may take at once: 32 clients without
// pause against ingest.max_inflight_requests 4. What is over the limit gets 429 with
// Retry-After and is not counted; what got 202 is counted exactly; memory stays bounded
// (the peak RSS is reported and checked against a generous ceiling) and evaluation keeps
// running on its interval.
func TestOverload(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "vigil.yaml")
	logPath := filepath.Join(dir, "vigil.log")
	require.NoError(t, os.WriteFile(cfgPath, fmt.Appendf(nil, `
global: {evaluation_interval: 1s, storage_path: %s}
ingest: {max_inflight_requests: 4}
models:
  - name: fraud
    task: binary_classification
    window: {size: 10000}
    labels: {max_pending: 20000}
    features: [{name: amount, type: numeric}]
`, filepath.Join(dir, "data")), 0o600))
	p := startLogged(t, cfgPath, logPath)
	evalsBefore := metricValue(t, p.url, "vigil_evaluation_duration_seconds_count")
	rssStart := procKiB(t, p.cmd.Process.Pid, "VmRSS")

	const (
		clients = 32
		batch   = 500
		load    = 6 * time.Second
	)
	var (
		mu                   sync.Mutex
		acked, refused, next int
		noRetryAfter         int
		other                []string
	)
	stop := time.Now().Add(load)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			client := &http.Client{Timeout: 30 * time.Second}
			for time.Now().Before(stop) {
				mu.Lock()
				first := next
				next += batch
				mu.Unlock()
				preds, _ := pairs(first, batch, true)
				resp, err := client.Post(p.url+"/api/v1/predictions", "application/x-ndjson", strings.NewReader(strings.Join(preds, "\n")))
				if err != nil {
					mu.Lock()
					other = append(other, err.Error())
					mu.Unlock()
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				switch resp.StatusCode {
				case http.StatusAccepted:
					acked += batch
				case http.StatusTooManyRequests:
					refused++
					if resp.Header.Get("Retry-After") == "" {
						noRetryAfter++
					}
				default:
					other = append(other, fmt.Sprintf("%d %s", resp.StatusCode, body))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	rssPeak := procKiB(t, p.cmd.Process.Pid, "VmHWM")
	evals := metricValue(t, p.url, "vigil_evaluation_duration_seconds_count") - evalsBefore
	t.Logf("%d events acknowledged, %d requests refused with 429; RSS %d KiB at start, peak %d KiB; %.0f evaluations in %s",
		acked, refused, rssStart, rssPeak, evals, load)

	require.Empty(t, other, "every answer is 202 or 429")
	require.Positive(t, refused, "32 clients against 4 in flight must be refused some of the time")
	require.Zero(t, noRetryAfter, "every 429 says when to retry")
	require.Positive(t, acked)
	// 4 requests of 500 events in flight cost a few MB; a ceiling ten times what
	// this run needs still catches memory that grows with the offered load.
	require.Less(t, rssPeak, 256<<10, "peak RSS under overload")
	// Evaluation runs every second; under overload it must not stall (a loose floor: the
	// machine is shared, but a stalled loop would show 0 or 1).
	require.GreaterOrEqual(t, evals, float64(load/time.Second)/2, "evaluations during the overload")
	require.Equal(t, float64(acked), metricValue(t, p.url, `vigil_events_total{kind="prediction",model="fraud"}`),
		"every acknowledged event counted once, none of the refused")

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-p.exited)
}
