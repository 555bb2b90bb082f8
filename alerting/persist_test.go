package alerting_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/alerting"
	"github.com/vigilml/vigil/alerting/alertingtest"
)

func openBolt(t *testing.T, path string) *alerting.BoltStore {
	t.Helper()
	s, err := alerting.OpenBoltStore(path)
	require.NoError(t, err)
	return s
}

func countRecords(t *testing.T, s alerting.Store, bucket string) int {
	t.Helper()
	n := 0
	require.NoError(t, s.Load(bucket, func(_, _ []byte) error { n++; return nil }))
	return n
}

// Everything written through the bbolt store comes back after a reopen: the
// notification log, the outbox (with its retry times), silences and history; a group
// notified before is not notified again, and a queued message is delivered.
func TestPersistenceAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "alerting.db")
	store := openBolt(t, path)
	h := newHarness(t, twoReceivers, nil, longResolve, func(o *alerting.Options) { o.Store = store })
	h.recs["pd"].Script(alertingtest.Result{State: map[string]string{"incident": "P123"}})
	h.recs["slack"].Fail(alerting.Retryable(errors.New("429"), 10*time.Minute), 1)
	crit := alert("alertname", "X", "severity", "critical", "team", "ml")
	h.put(crit)
	silID, err := h.d.Silences().Set(alerting.Silence{Matchers: mustMatchers(t, "team=infra"), EndsAt: t0.Add(time.Hour), CreatedBy: "ana"})
	require.NoError(t, err)
	h.at(30 * time.Second)
	require.Len(t, h.sent("pd"), 1)
	require.Len(t, h.sent("hook"), 1)
	require.Empty(t, h.sent("slack"), "slack answered 429: queued")
	require.NoError(t, store.Close()) // the crash

	store2 := openBolt(t, path)
	defer store2.Close()
	require.Equal(t, 2, countRecords(t, store2, alerting.BucketNflog))
	require.Equal(t, 1, countRecords(t, store2, alerting.BucketOutbox))
	require.Equal(t, 1, countRecords(t, store2, alerting.BucketSilences))
	require.Positive(t, countRecords(t, store2, alerting.BucketHistory))

	h2 := newHarness(t, twoReceivers, nil, longResolve, func(o *alerting.Options) { o.Store = store2 })
	got, err := h2.d.Silences().Get(silID)
	require.NoError(t, err)
	require.Equal(t, "ana", got.CreatedBy)
	require.NotEmpty(t, h2.d.History(alerting.HistoryFilter{Types: []alerting.EventType{alerting.EventSent}}), "history survives")

	h2.clock.Set(t0.Add(time.Minute))
	h2.put(crit)
	h2.every(time.Minute, 10*time.Minute+29*time.Second, time.Second, crit)
	require.Empty(t, h2.sent("slack"), "Retry-After (10m) still holds after the restart")
	require.Empty(t, h2.sent("pd"), "not notified again")
	h2.at(10*time.Minute + 30*time.Second)
	require.Len(t, h2.sent("slack"), 1, "the queued message is delivered after the restart")
	require.Equal(t, 0, countRecords(t, store2, alerting.BucketOutbox))

	// The integration's state came back with the log: the resolve carries it.
	h2.clock.Set(t0.Add(11 * time.Minute))
	h2.put(resolvedAt(crit, t0.Add(11*time.Minute)))
	h2.every(11*time.Minute, 20*time.Minute, time.Minute)
	require.Len(t, h2.sent("pd"), 1)
	require.Equal(t, alerting.StatusResolved, h2.sent("pd")[0].Status)
	require.Equal(t, map[string]string{"incident": "P123"}, h2.sent("pd")[0].State)
}

// The crash test proper: a child process is killed with SIGKILL while an integration
// call is in flight (the peer has the message, the log does not). After the restart
// exactly that one message is sent again; the message logged before it is not.
func TestKill9BetweenSendAndLog(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	dir := t.TempDir()
	db, sent := filepath.Join(dir, "alerting.db"), filepath.Join(dir, "sent.txt")
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "VIGIL_CRASH_DB="+db, "VIGIL_CRASH_SENT="+sent)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	// Wait until the child reports that the peer received B (and the child hangs there).
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(readOr(sent), "B\n") {
		require.True(t, time.Now().Before(deadline), "the child did not get to B")
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	require.Equal(t, "A\nB\n", readOr(sent), "before the crash the peer received A, then B")

	store := openBolt(t, db)
	defer store.Close()
	require.Equal(t, 1, countRecords(t, store, alerting.BucketOutbox), "B: still queued")
	require.Equal(t, 1, countRecords(t, store, alerting.BucketNflog), "A: logged")

	h := newHarness(t, oneReceiver, nil, longResolve, func(o *alerting.Options) { o.Store = store })
	a, b := alert("alertname", "A"), alert("alertname", "B")
	h.clock.Set(t0.Add(time.Minute))
	h.put(a, b)
	h.every(time.Minute, time.Hour, 30*time.Second, a, b)
	var got []string
	for _, m := range h.sent("rec") {
		got = append(got, m.GroupLabels["alertname"])
	}
	require.Equal(t, []string{"B"}, got, "exactly the in-flight message is sent again; A is not")
}

func readOr(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// TestCrashChild is the child of TestKill9BetweenSendAndLog.
func TestCrashChild(t *testing.T) {
	db, sentPath := os.Getenv("VIGIL_CRASH_DB"), os.Getenv("VIGIL_CRASH_SENT")
	if db == "" {
		t.Skip("only run as the child of TestKill9BetweenSendAndLog")
	}
	store, err := alerting.OpenBoltStore(db)
	require.NoError(t, err)
	f, err := os.OpenFile(sentPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	peer := alerting.NotifierFunc(func(_ context.Context, m *alerting.Message) (map[string]string, error) {
		name := m.GroupLabels["alertname"]
		w := bufio.NewWriter(f)
		_, _ = w.WriteString(name + "\n")
		_ = w.Flush()
		_ = f.Sync()
		if name == "B" {
			select {} // the peer has it; we die before the log does
		}
		return nil, nil
	})
	clock := alertingtest.NewClock(t0)
	d, err := alerting.New(alerting.Options{Store: store, Now: clock.Now, ResolveTimeout: 1000 * time.Hour})
	require.NoError(t, err)
	cfg, err := alerting.LoadConfig([]byte(oneReceiver))
	require.NoError(t, err)
	require.NoError(t, d.ApplyConfig(cfg, func(string, func(any) error) (alerting.Notifier, error) { return peer, nil }))
	ctx := context.Background()
	require.NoError(t, d.Put(ctx, []*alerting.Alert{alert("alertname", "A")}))
	clock.Set(t0.Add(30 * time.Second))
	d.Tick(ctx, clock.Now())
	clock.Set(t0.Add(40 * time.Second))
	b := alert("alertname", "B")
	b.StartsAt = clock.Now()
	require.NoError(t, d.Put(ctx, []*alerting.Alert{b}))
	clock.Set(t0.Add(70 * time.Second))
	d.Tick(ctx, clock.Now()) // hangs in B's delivery until killed
}

// Kill -9 at random moments while a child process notifies continuously. Whatever the
// moment, the store opens, nothing the peer received is missing from both the log and
// the outbox, nothing is logged that the peer did not receive, and at most one message
// (the one in flight) is not in the log.
func TestKill9AtRandomMoments(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	for round := range 5 {
		dir := t.TempDir()
		db, sent := filepath.Join(dir, "alerting.db"), filepath.Join(dir, "sent.txt")
		cmd := exec.Command(exe, "-test.run=^TestCrashLoopChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "VIGIL_CRASH_DB="+db, "VIGIL_CRASH_SENT="+sent)
		require.NoError(t, cmd.Start())
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(readOr(sent), "\n") {
			require.True(t, time.Now().Before(deadline), "the child sent nothing")
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(5+round*37%100) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()

		received := map[string]int{}
		for _, line := range strings.SplitAfter(readOr(sent), "\n") {
			if strings.HasSuffix(line, "\n") { // a torn last line was not received
				received[strings.TrimSpace(line)]++
			}
		}
		store := openBolt(t, db)
		logged, queued := map[string]bool{}, map[string]bool{}
		groupName := func(key string) string { // {}:{alertname="N"}
			return strings.TrimSuffix(strings.TrimPrefix(key[strings.Index(key, ":")+1:], `{alertname="`), `"}`)
		}
		require.NoError(t, store.Load(alerting.BucketNflog, func(k, _ []byte) error {
			parts := strings.Split(string(k), "\x1f")
			logged[groupName(parts[2])] = true
			return nil
		}))
		require.NoError(t, store.Load(alerting.BucketOutbox, func(_, v []byte) error {
			var e struct {
				GroupKey string `json:"groupKey"`
			}
			require.NoError(t, json.Unmarshal(v, &e), "every outbox record decodes")
			queued[groupName(e.GroupKey)] = true
			return nil
		}))
		require.NoError(t, store.Close())
		inFlight := 0
		for name, n := range received {
			require.Equal(t, 1, n, "round %d: %s was sent twice before the crash", round, name)
			if !logged[name] {
				require.True(t, queued[name], "round %d: %s was received but is neither logged nor queued", round, name)
				inFlight++
			}
		}
		for name := range logged {
			require.Contains(t, received, name, "round %d: %s logged but never received", round, name)
		}
		require.LessOrEqual(t, inFlight, 1, "round %d: more than the in-flight message unlogged", round)
		t.Logf("round %d: %d received, %d logged, %d queued, %d in flight at the kill", round, len(received), len(logged), len(queued), inFlight)
	}
}

// TestCrashLoopChild is the child of TestKill9AtRandomMoments: it notifies a new group
// every (fake) minute, as fast as it can, until killed.
func TestCrashLoopChild(t *testing.T) {
	db, sentPath := os.Getenv("VIGIL_CRASH_DB"), os.Getenv("VIGIL_CRASH_SENT")
	if db == "" {
		t.Skip("only run as the child of TestKill9AtRandomMoments")
	}
	store, err := alerting.OpenBoltStore(db)
	require.NoError(t, err)
	f, err := os.OpenFile(sentPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	peer := alerting.NotifierFunc(func(_ context.Context, m *alerting.Message) (map[string]string, error) {
		if _, err := f.WriteString(m.GroupLabels["alertname"] + "\n"); err != nil {
			return nil, err
		}
		return nil, f.Sync()
	})
	clock := alertingtest.NewClock(t0)
	d, err := alerting.New(alerting.Options{Store: store, Now: clock.Now, ResolveTimeout: 1000 * time.Hour})
	require.NoError(t, err)
	cfg, err := alerting.LoadConfig([]byte(oneReceiver))
	require.NoError(t, err)
	require.NoError(t, d.ApplyConfig(cfg, func(string, func(any) error) (alerting.Notifier, error) { return peer, nil }))
	ctx := context.Background()
	for i := 0; ; i++ {
		a := alert("alertname", "N"+strconv.Itoa(i))
		a.StartsAt = clock.Now()
		require.NoError(t, d.Put(ctx, []*alerting.Alert{a}))
		d.Tick(ctx, clock.Advance(30*time.Second))
		clock.Advance(30 * time.Second)
	}
}
