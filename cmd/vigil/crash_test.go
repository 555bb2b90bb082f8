package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakePagerDuty records the Events API v2 events it receives.
type fakePagerDuty struct {
	mu     sync.Mutex
	events []pdEvent
}

type pdEvent struct {
	RoutingKey  string `json:"routing_key"`
	EventAction string `json:"event_action"`
	DedupKey    string `json:"dedup_key"`
}

func (f *fakePagerDuty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var e pdEvent
	if r.URL.Path != "/v2/enqueue" || json.NewDecoder(r.Body).Decode(&e) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.events = append(f.events, e)
	f.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, `{"status":"success","message":"Event processed","dedup_key":%q}`, e.DedupKey)
}

func (f *fakePagerDuty) actions() []pdEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]pdEvent(nil), f.events...)
}

// crashProcess is a vigil process whose log goes to a file, so that nothing it writes
// can block it however long the test runs.
type crashProcess struct {
	cmd    *exec.Cmd
	url    string
	exited chan error
}

func startLogged(t testing.TB, cfgPath, logPath string) *crashProcess {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	defer logf.Close()
	start, err := logf.Seek(0, io.SeekEnd)
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "run", "--config.file", cfgPath, "--web.listen-address", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "VIGIL_TEST_MAIN=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	p := &crashProcess{cmd: cmd, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	addrRE := regexp.MustCompile(`msg=listening .*address=(\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for p.url == "" {
		b, err := os.ReadFile(logPath)
		require.NoError(t, err)
		if m := addrRE.FindSubmatch(b[start:]); m != nil {
			p.url = "http://" + string(m[1])
			break
		}
		select {
		case err := <-p.exited:
			t.Fatalf("vigil exited before listening (%v):\n%s", err, b[start:])
		default:
		}
		require.True(t, time.Now().Before(deadline), "vigil did not start:\n%s", b[start:])
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

func (p *crashProcess) kill9(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	<-p.exited
}

// predictions is the model's prediction count at vigil's first evaluation after start.
func (p *crashProcess) predictions(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.url + "/api/v1/models/fraud")
		require.NoError(t, err)
		var s struct {
			EvaluatedAt time.Time `json:"evaluated_at"`
			Events      struct{ Predictions int }
		}
		err = json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK && !s.EvaluatedAt.IsZero() {
			return s.Events.Predictions
		}
		require.True(t, time.Now().Before(deadline), "no evaluation after start (status %d, %v)", resp.StatusCode, err)
		time.Sleep(20 * time.Millisecond)
	}
}

// sentResolved reports whether the audit trail has a delivered resolve.
func (p *crashProcess) sentResolved(t *testing.T) bool {
	t.Helper()
	resp, err := http.Get(p.url + "/api/v1/alerts/history")
	require.NoError(t, err)
	defer resp.Body.Close()
	var events []struct{ Type, Status string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&events))
	for _, e := range events {
		if e.Type == "notification_sent" && e.Status == "resolved" {
			return true
		}
	}
	return false
}

// post sends one NDJSON batch and reports whether vigil acknowledged all of it.
func postBatch(url, path string, lines []string) bool {
	resp, err := http.Post(url+path, "application/x-ndjson", strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var out struct{ Accepted int }
	return resp.StatusCode == http.StatusAccepted && json.NewDecoder(resp.Body).Decode(&out) == nil && out.Accepted == len(lines)
}

// pairs is a batch of predictions and their labels; correct says whether each
// prediction is right.
func pairs(first, n int, correct bool) (preds, labels []string) {
	for i := first; i < first+n; i++ {
		y := i % 2
		pred := y
		if !correct {
			pred = 1 - y
		}
		preds = append(preds, fmt.Sprintf(`{"model":"fraud","id":"e%d","features":{"amount":%d},"prediction":%d}`, i, i%1000, pred))
		labels = append(labels, fmt.Sprintf(`{"model":"fraud","id":"e%d","label":%d}`, i, y))
	}
	return preds, labels
}

// TestKill9 kills a real vigil process with SIGKILL at random moments while it ingests,
// evaluates and pages, and checks after each restart that every acknowledged event is
// counted exactly once, the firing alert is not paged again, and its resolve arrives
// once with the same dedup_key.
func TestKill9(t *testing.T) {
	pd := &fakePagerDuty{}
	pdSrv := httptest.NewServer(pd)
	defer pdSrv.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "vigil.yaml")
	logPath := filepath.Join(dir, "vigil.log")
	require.NoError(t, os.WriteFile(cfgPath, fmt.Appendf(nil, `
global: {evaluation_interval: 1s, storage_path: %s, wal: {snapshot_interval: 1s}}
models:
  - name: fraud
    task: binary_classification
    window: {size: 400}
    features: [{name: amount, type: numeric}]
rules:
  - name: AccuracyDrop
    signal: quality.accuracy
    segment: ""
    op: "<"
    threshold: 0.5
    min_samples: 50
    severity: critical
route:
  receiver: pager
  group_by: [alertname, model]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: pager
    pagerduty_configs: [{routing_key: test-routing-key, url: %q}]
`, filepath.Join(dir, "data"), pdSrv.URL), 0o600))

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (rerun with VIGIL_CRASH_SEED)", seed)
	if s := os.Getenv("VIGIL_CRASH_SEED"); s != "" {
		_, err := fmt.Sscan(s, &seed)
		require.NoError(t, err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	const batch = 50
	next, acked := 0, 0

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			require.True(t, time.Now().Before(deadline), "timed out waiting for %s; PagerDuty got %+v", what, pd.actions())
			time.Sleep(50 * time.Millisecond)
		}
	}

	// Wrong predictions: accuracy 0, the alert fires and pages once.
	p := startLogged(t, cfgPath, logPath)
	for range 4 {
		preds, labels := pairs(next, batch, false)
		require.True(t, postBatch(p.url, "/api/v1/predictions", preds))
		require.True(t, postBatch(p.url, "/api/v1/labels", labels))
		next += batch
		acked += batch
	}
	waitFor("the page", func() bool { return len(pd.actions()) >= 1 })
	trigger := pd.actions()[0]
	require.Equal(t, "trigger", trigger.EventAction)
	require.NotEmpty(t, trigger.DedupKey)

	const rounds = 6
	for round := range rounds {
		// Ingest from one client, one request at a time, and kill at a random moment:
		// at most the one batch in flight is in doubt.
		stop := make(chan struct{})
		var inFlight int
		var mu sync.Mutex
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				preds, labels := pairs(next, batch, false)
				mu.Lock()
				inFlight = batch
				mu.Unlock()
				ok := postBatch(p.url, "/api/v1/predictions", preds)
				mu.Lock()
				if ok {
					acked += batch
					inFlight = 0
				}
				next += batch
				mu.Unlock()
				if !ok {
					return // the process is gone: this batch is in doubt
				}
				postBatch(p.url, "/api/v1/labels", labels) // labels may be lost with the batch in doubt
			}
		}()
		time.Sleep(time.Duration(50+rng.IntN(1500)) * time.Millisecond)
		p.kill9(t)
		close(stop)
		<-done

		p = startLogged(t, cfgPath, logPath)
		got := p.predictions(t)
		mu.Lock()
		require.GreaterOrEqual(t, got, acked, "round %d: an acknowledged event was lost", round)
		require.LessOrEqual(t, got, acked+inFlight, "round %d: an event was counted twice", round)
		acked = got // the batch in doubt, if it landed, is now counted
		mu.Unlock()
		t.Logf("round %d: %d events acknowledged and counted", round, got)
	}
	// Several evaluations and delivery ticks after the last restart: still one page.
	time.Sleep(3 * time.Second)
	require.Len(t, pd.actions(), 1, "no second page inside repeat_interval")

	// Right predictions push accuracy back up: the resolve arrives once, same dedup_key.
	for range 10 {
		preds, labels := pairs(next, batch, true)
		require.True(t, postBatch(p.url, "/api/v1/predictions", preds))
		require.True(t, postBatch(p.url, "/api/v1/labels", labels))
		next += batch
	}
	waitFor("the resolve", func() bool { return len(pd.actions()) >= 2 })
	// Killed after the resolve is in vigil's notification log: it is not sent again. (A
	// kill between PagerDuty's answer and that record sends it again, with the same
	// dedup_key, which PagerDuty takes as one: alerting's TestKill9BetweenSendAndLog.)
	waitFor("the resolve in the notification log", func() bool { return p.sentResolved(t) })
	p.kill9(t)
	p = startLogged(t, cfgPath, logPath)
	time.Sleep(3 * time.Second)
	got := pd.actions()
	require.Len(t, got, 2, "the resolve is sent once, even across a kill")
	require.Equal(t, pdEvent{RoutingKey: "test-routing-key", EventAction: "resolve", DedupKey: trigger.DedupKey}, got[1])
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-p.exited)
}

// TestReloadAndSIGTERMUnderLoad reloads the config and then stops vigil with SIGTERM
// while a client keeps ingesting: every acknowledged event is there after the restart.
func TestReloadAndSIGTERMUnderLoad(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "vigil.yaml")
	logPath := filepath.Join(dir, "vigil.log")
	cfg := fmt.Sprintf(`
global: {evaluation_interval: 1s, storage_path: %s}
models:
  - name: fraud
    task: binary_classification
    window: {size: 1000}
    features: [{name: amount, type: numeric}]
`, filepath.Join(dir, "data"))
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	p := startLogged(t, cfgPath, logPath)

	var mu sync.Mutex
	acked, inFlight, next := 0, 0, 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			preds, _ := pairs(next, 100, true)
			mu.Lock()
			inFlight = len(preds)
			mu.Unlock()
			ok := postBatch(p.url, "/api/v1/predictions", preds)
			mu.Lock()
			next += len(preds)
			if ok {
				acked += len(preds)
				inFlight = 0
			}
			mu.Unlock()
			if !ok {
				return // vigil is stopping: the rest is refused, not lost
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	// A reload that adds a model keeps fraud's windows, under load.
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg+"  - {name: other, task: regression}\n"), 0o600))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-p.exited, "a clean exit")
	<-done
	logs, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.Contains(t, string(logs), "config reloaded")

	p = startLogged(t, cfgPath, logPath)
	got := p.predictions(t)
	mu.Lock()
	defer mu.Unlock()
	require.Greater(t, acked, 0)
	require.GreaterOrEqual(t, got, acked, "an acknowledged event was lost")
	require.LessOrEqual(t, got, acked+inFlight)
	t.Logf("%d events acknowledged, %d counted after SIGTERM and restart", acked, got)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, <-p.exited)
}
