package monitor

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/wal"
)

const durableCfg = `
global: {evaluation_interval: 1h, storage_path: %s, wal: {fsync: %v}}
models:
  - name: fraud
    task: binary_classification
    window: {size: 50}
    reference: {window: first, size: 20}
    features:
      - {name: amount, type: numeric}
      - {name: country, type: categorical}
    segments: [country]
    labels: {ttl: 1h, max_pending: 40}
  - name: intent
    task: multiclass_classification
    window: {size: 30}
    reference: {window: previous}
    features: [{name: words, type: numeric}, {name: lang, type: categorical}]
  - name: price
    task: regression
    window: {size: 60, mode: streaming, panes: 4}
    reference: {window: first, size: 20}
    features: [{name: x, type: numeric}, {name: shop, type: categorical}]
`

// durableRig is a Monitor on a config and a storage directory that outlive it, so a
// test can drop one Monitor without stopping it (a crash) and start the next.
type durableRig struct {
	t     *testing.T
	cfg   string
	data  string
	clock *fakeClock
}

func newDurableRig(t *testing.T, fsync bool) *durableRig {
	dir := t.TempDir()
	r := &durableRig{t: t, cfg: filepath.Join(dir, "vigil.yaml"), data: filepath.Join(dir, "data"), clock: newFakeClock()}
	r.writeConfig(fmt.Sprintf(durableCfg, r.data, fsync))
	return r
}

func (r *durableRig) writeConfig(cfg string) {
	require.NoError(r.t, os.WriteFile(r.cfg, []byte(cfg), 0o600))
}

func (r *durableRig) open() (*Monitor, *httptest.Server) {
	m, err := New(Options{ConfigFile: r.cfg, Now: r.clock.Now, Registry: prometheus.NewPedanticRegistry()})
	require.NoError(r.t, err)
	srv := httptest.NewServer(m.Handler())
	r.t.Cleanup(srv.Close)
	return m, srv
}

// traffic is a deterministic mix: labels before and after their predictions, labels
// that never come, unknown features, wrong types, shadow predictions and several
// versions, so that every part of a model's state has something in it.
func traffic(seed uint64, n int) (preds, labels []string) {
	rng := rand.New(rand.NewPCG(seed, 7))
	countries := []string{"DE", "FR", "US", "BR"}
	for i := range n {
		id := fmt.Sprintf("s%d-%d", seed, i)
		score := rng.Float64()
		ts := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)
		extra := ""
		if i%17 == 0 {
			extra = `, "unknown_feature": 1`
		}
		amount := fmt.Sprint(rng.NormFloat64()*100 + 500)
		if i%23 == 0 {
			amount = `"not a number"`
		}
		role := ""
		if i%11 == 0 {
			role = `, "role": "shadow"`
		}
		preds = append(preds,
			fmt.Sprintf(`{"model":"fraud","version":"v%d","id":%q,"timestamp":%q%s,"features":{"amount":%s,"country":%q%s},"score":%v}`,
				1+i%2, id, ts, role, amount, countries[rng.IntN(4)], extra, score),
			fmt.Sprintf(`{"model":"intent","id":%q,"features":{"words":%d,"lang":%q},"scores":{"greet":%v,"bye":%v}}`,
				id, rng.IntN(40), countries[rng.IntN(3)], score, 1-score),
			fmt.Sprintf(`{"model":"price","id":%q,"features":{"x":%v,"shop":"s%d"},"prediction":%v,"latency_ms":%v}`,
				id, rng.NormFloat64(), rng.IntN(5), rng.Float64()*100, rng.Float64()*20))
		if i%5 != 4 { // every fifth prediction never gets its label
			y := 0
			if rng.Float64() < score {
				y = 1
			}
			labels = append(labels,
				fmt.Sprintf(`{"model":"fraud","id":%q,"label":%d}`, id, y),
				fmt.Sprintf(`{"model":"intent","id":%q,"label":%q}`, id, []string{"greet", "bye"}[y]),
				fmt.Sprintf(`{"model":"price","id":%q,"label":%v}`, id, rng.Float64()*100))
		}
	}
	return preds, labels
}

// feedDurable posts the traffic in batches, labels interleaved with (and some before) their
// predictions, and checks every record was accepted.
func feedDurable(t *testing.T, srv *httptest.Server, preds, labels []string) {
	t.Helper()
	post := func(path string, lines []string) {
		resp, err := http.Post(srv.URL+path, "application/x-ndjson", strings.NewReader(strings.Join(lines, "\n")))
		require.NoError(t, err)
		var out IngestResponse
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
		require.Equal(t, len(lines), out.Accepted+countTypeErrors(out))
	}
	for i := 0; i < len(preds); i += 30 {
		j := min(i+30, len(preds))
		if i%60 == 0 && i < len(labels) {
			post("/api/v1/labels", labels[i:min(j, len(labels))]) // some labels come first
			post("/api/v1/predictions", preds[i:j])
		} else {
			post("/api/v1/predictions", preds[i:j])
			if i < len(labels) {
				post("/api/v1/labels", labels[i:min(j, len(labels))])
			}
		}
	}
}

func countTypeErrors(r IngestResponse) int { return r.Rejected }

// state is everything a model's windows show: its statistics at a fixed time, as the
// API gives them. The anomaly signals are left out: they are per-tick series whose
// history starts afresh after a restart (docs/configuration.md, global.wal).
func state(t *testing.T, m *Monitor, ts time.Time) map[string]string {
	t.Helper()
	m.Evaluate(ts)
	out := map[string]string{}
	for _, name := range []string{"fraud", "intent", "price"} {
		s, ok := m.Stats(name)
		require.True(t, ok, name)
		c := *s
		c.Anomalies = nil
		b, err := json.MarshalIndent(c, "", " ")
		require.NoError(t, err)
		out[name] = string(b)
	}
	return out
}

func walRecords(t *testing.T, data string) int {
	n := 0
	require.NoError(t, wal.Replay(filepath.Join(data, walDir), 0, func(uint64, []byte) error { n++; return nil }))
	return n
}

func TestCrashLosesNoAcceptedEvent(t *testing.T) {
	for _, fsync := range []bool{true, false} {
		t.Run(fmt.Sprint("fsync=", fsync), func(t *testing.T) {
			r := newDurableRig(t, fsync)
			preds, labels := traffic(1, 300)
			m, srv := r.open()
			feedDurable(t, srv, preds[:450], labels[:300])
			// A snapshot in the middle: the restart reads it, then the log after it.
			require.NoError(t, m.durable.snapshot(m.state.Load(), r.clock.Now()))
			feedDurable(t, srv, preds[450:], labels[300:])
			ts := r.clock.Add(time.Minute)
			want := state(t, m, ts)
			require.Contains(t, want["fraud"], `"predictions": 300`)
			srv.Close() // the process dies: no Stop, no last snapshot

			m2, _ := r.open()
			require.Equal(t, want, state(t, m2, ts))
			require.Less(t, walRecords(t, r.data), len(preds)+len(labels), "the snapshot removed the log before it")
		})
	}
}

func TestCleanStopLeavesOnlyTheSnapshot(t *testing.T) {
	r := newDurableRig(t, false)
	preds, labels := traffic(2, 120)
	m, srv := r.open()
	feedDurable(t, srv, preds, labels)
	ts := r.clock.Add(time.Minute)
	want := state(t, m, ts)
	require.NoError(t, m.Stop(t.Context()))
	require.Zero(t, walRecords(t, r.data), "the last snapshot holds everything")

	m2, _ := r.open()
	require.Equal(t, want, state(t, m2, ts))
}

func TestTornLogTail(t *testing.T) {
	r := newDurableRig(t, false)
	preds, labels := traffic(3, 60)
	m, srv := r.open()
	feedDurable(t, srv, preds, labels)
	ts := r.clock.Add(time.Minute)
	want := state(t, m, ts)
	srv.Close()
	// A write cut short by the crash: half a frame at the end of the newest segment.
	segs, err := filepath.Glob(filepath.Join(r.data, walDir, "*.wal"))
	require.NoError(t, err)
	f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{40, 0, 0, 0, 1, 2, 3})
	require.NoError(t, err)
	require.NoError(t, f.Close())

	m2, srv2 := r.open()
	require.Equal(t, want, state(t, m2, ts))
	// The log goes on after the cut.
	more, _ := traffic(4, 5)
	feedDurable(t, srv2, more[:3], nil)
	want2 := state(t, m2, ts)
	srv2.Close()
	m3, _ := r.open()
	require.Equal(t, want2, state(t, m3, ts))
}

// Without fsync a full segment is fsynced in the background, so a machine crash can
// leave a hole before the newest segment: here the last record of the older segment is
// torn. vigil starts with every event before the hole, says what it lost, and the
// snapshot it takes at start drops the damaged log, so the next start loses nothing more.
func TestHoleBeforeTheNewestSegment(t *testing.T) {
	r := newDurableRig(t, false)
	var logs strings.Builder
	preds, labels := traffic(5, 40)
	m, srv := r.open()
	feedDurable(t, srv, preds, labels)
	_, err := m.durable.log.Rotate() // as a full segment does
	require.NoError(t, err)
	more, _ := traffic(6, 20)
	feedDurable(t, srv, more, nil)
	srv.Close()
	segs, err := filepath.Glob(filepath.Join(r.data, walDir, "*.wal"))
	require.NoError(t, err)
	require.Len(t, segs, 2)
	fi, err := os.Stat(segs[0])
	require.NoError(t, err)
	require.NoError(t, os.Truncate(segs[0], fi.Size()-3))

	// The same events but the older segment's last, which was the last label (each
	// batch of predictions is followed by its labels), fed to a fresh daemon.
	want := newDurableRig(t, false)
	mw, srvw := want.open()
	feedDurable(t, srvw, preds, labels[:len(labels)-1])
	ts := r.clock.Add(time.Minute)
	want.clock.Add(time.Minute)

	m2, err := New(Options{ConfigFile: r.cfg, Now: r.clock.Now, Registry: prometheus.NewPedanticRegistry(),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	require.Equal(t, state(t, mw, ts), state(t, m2, ts))
	require.Contains(t, logs.String(), "level=ERROR msg=\"the write-ahead log is damaged; events after the damage are lost\"")
	require.Contains(t, logs.String(), filepath.Base(segs[0]))
	require.NoError(t, wal.Replay(filepath.Join(r.data, walDir), 0, func(uint64, []byte) error { return nil }),
		"the snapshot at start dropped the damaged segment")
	m3, _ := r.open()
	require.Equal(t, state(t, m2, ts), state(t, m3, ts))
}

func TestChangedModelStartsEmptyOthersKeepTheirWindows(t *testing.T) {
	r := newDurableRig(t, false)
	preds, labels := traffic(5, 100)
	m, srv := r.open()
	feedDurable(t, srv, preds, labels)
	ts := r.clock.Add(time.Minute)
	want := state(t, m, ts)
	require.NoError(t, m.Stop(t.Context()))

	r.writeConfig(strings.Replace(fmt.Sprintf(durableCfg, r.data, false), "window: {size: 30}", "window: {size: 31}", 1))
	m2, _ := r.open()
	got := state(t, m2, ts)
	require.Equal(t, want["fraud"], got["fraud"])
	require.Equal(t, want["price"], got["price"])
	require.NotEqual(t, want["intent"], got["intent"])
	require.Contains(t, got["intent"], `"predictions": 0`)
}

func TestWALOff(t *testing.T) {
	r := newDurableRig(t, false)
	r.writeConfig(strings.Replace(fmt.Sprintf(durableCfg, r.data, false), "wal: {fsync: false}", "wal: {enabled: false}", 1))
	preds, labels := traffic(6, 40)
	m, srv := r.open()
	require.Nil(t, m.durable)
	feedDurable(t, srv, preds, labels)
	srv.Close()
	m2, _ := r.open()
	require.Contains(t, state(t, m2, r.clock.Now())["fraud"], `"predictions": 0`)
	_, err := os.Stat(filepath.Join(r.data, walDir))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestUnwritableLogAnswers503AndNotReady(t *testing.T) {
	r := newDurableRig(t, false)
	m, srv := r.open()
	m.ready.Store(true)
	preds, _ := traffic(7, 3)
	resp, err := http.Post(srv.URL+"/api/v1/predictions", "application/x-ndjson", strings.NewReader(preds[0]))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	// The log can no longer be written (as on a full or read-only disk).
	require.NoError(t, m.durable.log.Close())
	resp, err = http.Post(srv.URL+"/api/v1/predictions", "application/x-ndjson", strings.NewReader(preds[1]))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Contains(t, string(body), "cannot store the events")
	resp, err = http.Get(srv.URL + "/-/ready")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Contains(t, string(body), "write-ahead log")
}
