package monitor

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// spilledModel is streamingModel with its filling first-N reference's numeric values on
// disk, in a fresh directory.
func spilledModel(t *testing.T) *modelState {
	t.Helper()
	m := streamingModel(t)
	require.NoError(t, m.spillReference(t.TempDir(), slog.New(slog.DiscardHandler)))
	require.NotNil(t, m.spill)
	return m
}

// requireSameStreamRef checks that two streaming models started their windows alike: the
// same summarised reference, options and bounds, bit for bit.
func requireSameStreamRef(t *testing.T, want, got *modelState) {
	t.Helper()
	require.NotNil(t, want.stream.ref)
	require.NotNil(t, got.stream.ref)
	require.Equal(t, want.stream.numOpts, got.stream.numOpts)
	require.Equal(t, want.stream.bounds, got.stream.bounds)
	require.Equal(t, want.stream.predOpts, got.stream.predOpts)
	require.Len(t, got.stream.ref.num, len(want.stream.ref.num))
	for col, k := range want.stream.ref.num {
		wb, err := k.MarshalBinary()
		require.NoError(t, err)
		gb, err := got.stream.ref.num[col].MarshalBinary()
		require.NoError(t, err)
		require.Equal(t, wb, gb, "numeric column %d", col)
	}
	require.Equal(t, want.stream.ref.cat, got.stream.ref.cat)
	require.Equal(t, want.stream.ref.auto, got.stream.ref.auto)
	require.NotEmpty(t, got.stream.ref.auto, "the model learns thresholds: their values are compared")
}

// TestSpilledReferenceMatchesMemory feeds the same predictions to a streaming model that
// keeps its filling first-N reference in memory and to one that keeps it on disk: while
// filling, the disk one holds no numeric column and reports the same reference sizes; once
// full both summarise it identically, the file is closed, and the statistics are equal.
func TestSpilledReferenceMatchesMemory(t *testing.T) {
	mem, disk := streamingModel(t), spilledModel(t)
	n := mem.cfg.Reference.Size
	for _, to := range []int{1, 700, n - 1} {
		from := mem.first.len()
		feedModel(t, mem, from, to, 1)
		feedModel(t, disk, from, to, 1)
		require.Empty(t, disk.first.num, "the disk model keeps numeric values in memory")
		require.True(t, disk.spill.open())
		require.Equal(t, to, disk.spill.rows)
		for col, c := range mem.first.num {
			require.Equal(t, countNumeric(mem.first, c, 0, to), disk.spill.present[col], "column %d", col)
		}
		at := testEpoch.Add(time.Duration(to) * time.Millisecond)
		require.JSONEq(t, statsJSON(t, mem.evaluate(at, &evalScratch{})), statsJSON(t, disk.evaluate(at, &evalScratch{})))
	}
	feedModel(t, mem, n-1, n+800, 1)
	feedModel(t, disk, n-1, n+800, 1)
	requireSameStreamRef(t, mem, disk)
	require.False(t, disk.spill.open(), "the file is closed once the reference is summarised")
	at := testEpoch.Add(time.Duration(n+800) * time.Millisecond)
	require.JSONEq(t, statsJSON(t, mem.evaluate(at, &evalScratch{})), statsJSON(t, disk.evaluate(at, &evalScratch{})))
}

// TestSpillLeavesNoFile: the spill's file is unlinked as soon as it is made, so neither a
// crash nor a model dropped by a reload leaves it behind.
func TestSpillLeavesNoFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // made by the spill
	m := streamingModel(t)
	require.NoError(t, m.spillReference(dir, slog.New(slog.DiscardHandler)))
	feedModel(t, m, 0, m.cfg.Reference.Size-1, 1)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
	fi, err := m.spill.f.(*os.File).Stat()
	require.NoError(t, err)
	require.Positive(t, fi.Size(), "the rows are written to the unlinked file")
}

// TestSpillReferenceOnlyWhenUseful: only a new streaming model with a first-N reference
// and numeric features spills, and only with a directory.
func TestSpillReferenceOnlyWhenUseful(t *testing.T) {
	exact := testModels(t, scratchModels)
	for _, m := range exact {
		if m.stream != nil {
			continue
		}
		require.NoError(t, m.spillReference(t.TempDir(), slog.New(slog.DiscardHandler)))
		require.Nil(t, m.spill, "exact model %s", m.cfg.Name)
	}
	m := streamingModel(t)
	require.NoError(t, m.spillReference("", slog.New(slog.DiscardHandler)))
	require.Nil(t, m.spill, "no storage path")
	feedModel(t, m, 0, 10, 1)
	require.NoError(t, m.spillReference(t.TempDir(), slog.New(slog.DiscardHandler)))
	require.Nil(t, m.spill, "a reference that has values already")
	notDir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notDir, nil, 0o600))
	require.Error(t, streamingModel(t).spillReference(notDir, slog.New(slog.DiscardHandler)))
}

// TestSnapshotSpilledReference snapshots a filling reference kept on disk and one kept in
// memory, and restores each into both kinds of model: the snapshot holds the same raw
// columns either way, and every restored model ends with the reference the original has.
func TestSnapshotSpilledReference(t *testing.T) {
	const filled = 1500
	kinds := map[string]func(*testing.T) *modelState{"memory": streamingModel, "disk": spilledModel}
	want := streamingModel(t)
	n := want.cfg.Reference.Size
	feedModel(t, want, 0, n+300, 1)
	num, _ := rawReference(want, 1)
	for fromName, from := range kinds {
		for toName, to := range kinds {
			t.Run(fromName+" to "+toName, func(t *testing.T) {
				orig := from(t)
				feedModel(t, orig, 0, filled, 1)
				snap, err := orig.snapState("s", "fp")
				require.NoError(t, err)
				require.Len(t, snap.First.Num, len(num))
				for col, c := range snap.First.Num {
					require.Len(t, c, filled)
					for i, v := range c {
						require.True(t, v == num[col][i] || math.IsNaN(v) && math.IsNaN(num[col][i]), "column %d row %d: %v, want %v", col, i, v, num[col][i])
					}
				}
				var buf bytes.Buffer
				require.NoError(t, gob.NewEncoder(&buf).Encode(snap))
				var got modelSnap
				require.NoError(t, gob.NewDecoder(&buf).Decode(&got))
				restored := to(t)
				require.NoError(t, restored.restoreState(&got))
				if restored.spill != nil {
					require.Equal(t, filled, restored.spill.rows)
				}
				feedModel(t, restored, filled, n+300, 1)
				requireSameStreamRef(t, want, restored)

				// The snapshot of the summarised reference has no raw values, and restores.
				snap, err = restored.snapState("s", "fp")
				require.NoError(t, err)
				require.Len(t, snap.First.Num, len(num))
				for _, c := range snap.First.Num {
					require.Empty(t, c)
				}
				again := to(t)
				require.NoError(t, again.restoreState(snap))
				requireSameStreamRef(t, want, again)
				if again.spill != nil {
					require.False(t, again.spill.open())
				}
			})
		}
	}
}

// recordingHandler keeps the messages logged, by level.
type recordingHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, r.Level.String()+" "+r.Message)
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

// TestRefSpillWriteFailure: rows that cannot be written stay in memory and come back with
// the written ones; the failure is logged once, and so is the recovery.
func TestRefSpillWriteFailure(t *testing.T) {
	var h recordingHandler
	s, err := newRefSpill(t.TempDir(), 3, slog.New(&h))
	require.NoError(t, err)
	rows := (spillChunk/24 + 1) * 5 // five writes' worth
	var want [3][]float64
	add := func(r int) {
		row := s.next()
		for i := range row {
			if (r+i)%7 != 0 { // some missing
				row[i] = float64(r*10 + i)
			}
			want[i] = append(want[i], row[i])
		}
		s.commit()
	}
	for r := range rows {
		add(r)
	}
	require.Positive(t, s.written)
	good := s.f
	ro, err := os.Open(os.DevNull)
	require.NoError(t, err)
	s.f = ro // writes now fail
	for r := rows; r < 3*rows; r++ {
		add(r)
	}
	require.Equal(t, []string{"ERROR cannot write a filling first-N reference to disk; its values stay in memory until it can"}, h.msgs)
	require.Greater(t, len(s.buf), spillChunk, "the rows stay in memory")
	s.f = good
	for r := 3 * rows; r < 5*rows; r++ {
		add(r)
	}
	require.Len(t, h.msgs, 2)
	require.Equal(t, "INFO a filling first-N reference is written to disk again", h.msgs[1])
	require.Less(t, len(s.buf), spillChunk)
	cols, err := s.columns()
	require.NoError(t, err)
	for i := range want {
		require.Len(t, cols[i], len(want[i]))
		for r, v := range want[i] {
			require.True(t, v == cols[i][r] || math.IsNaN(v) && math.IsNaN(cols[i][r]), "column %d row %d", i, r)
		}
		present := len(slices.DeleteFunc(slices.Clone(want[i]), math.IsNaN))
		require.Equal(t, present, s.present[i])
	}
	ro.Close()
	s.close()
	require.False(t, s.open())
}

// TestSpilledReferenceLost: when the values cannot be read back, the reference starts
// filling again in memory, and says so.
func TestSpilledReferenceLost(t *testing.T) {
	var h recordingHandler
	m := streamingModel(t)
	require.NoError(t, m.spillReference(t.TempDir(), slog.New(&h)))
	n := m.cfg.Reference.Size
	feedModel(t, m, 0, n-1, 1)
	nNum := m.spill.nNum
	require.Positive(t, m.spill.written)
	m.spill.f.Close() // the file is gone
	feedModel(t, m, n-1, n, 1)
	require.Nil(t, m.spill)
	require.False(t, m.stream.ready)
	require.Equal(t, 0, m.first.len())
	require.Len(t, m.first.num, nNum, "the values are kept in memory now")
	require.Contains(t, h.msgs, "ERROR a first-N reference is lost; it fills again from the next predictions")
	feedModel(t, m, n, 2*n, 1)
	require.NotNil(t, m.stream.ref, "the reference filled again")
}

// TestFillingReferenceOnDiskSurvivesACrash runs the daemon's way: a streaming model's
// filling first-N reference is on disk, a snapshot is taken half-way through the fill, more
// predictions arrive, and the process dies. The restart has the reference's rows back (from
// the snapshot and the log) and, once fed the rest, the same statistics as a daemon that
// never stopped.
func TestFillingReferenceOnDiskSurvivesACrash(t *testing.T) {
	preds, labels := traffic(3, 40) // "price" is the streaming model, first 20 as reference
	control := newDurableRig(t, true)
	cm, csrv := control.open()
	feedDurable(t, csrv, preds, nil)
	postLabels(t, csrv, labels)

	r := newDurableRig(t, true)
	m, srv := r.open()
	price := m.state.Load().models["price"]
	require.NotNil(t, price.spill, "the daemon keeps the filling reference on disk")
	feedDurable(t, srv, preds[:30], nil) // 10 predictions of each model
	require.NoError(t, m.durable.snapshot(m.state.Load(), r.clock.Now()))
	feedDurable(t, srv, preds[30:45], nil)
	require.Equal(t, 15, price.spill.rows)
	srv.Close() // the process dies

	m2, srv2 := r.open()
	price = m2.state.Load().models["price"]
	require.True(t, price.spill.open())
	require.Equal(t, 15, price.spill.rows, "10 rows from the snapshot, 5 from the log")
	feedDurable(t, srv2, preds[45:], nil)
	require.False(t, price.spill.open(), "the reference filled")
	postLabels(t, srv2, labels)
	require.Equal(t, state(t, cm, control.clock.Add(time.Minute)), state(t, m2, r.clock.Add(time.Minute)))
}

// postLabels posts labels in one request and checks every one was accepted.
func postLabels(t *testing.T, srv *httptest.Server, labels []string) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/api/v1/labels", "application/x-ndjson", strings.NewReader(strings.Join(labels, "\n")))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out IngestResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Equal(t, len(labels), out.Accepted)
}

// shortWriter makes its file's writes stop short, with an error, when armed: as a disk
// that fills up mid-write does.
type shortWriter struct {
	*os.File
	armed bool
}

func (w *shortWriter) WriteAt(b []byte, off int64) (int, error) {
	if w.armed && len(b) > 1000 {
		n, _ := w.File.WriteAt(b[:1000], off) // not a whole number of rows
		return n, syscall.ENOSPC
	}
	return w.File.WriteAt(b, off)
}

// TestRefSpillShortWrite: a write that stops mid-row keeps the spill's rows in place: the
// part of a row written is written again, and every row reads back.
func TestRefSpillShortWrite(t *testing.T) {
	s, err := newRefSpill(t.TempDir(), 3, slog.New(slog.DiscardHandler)) // 24-byte rows
	require.NoError(t, err)
	w := &shortWriter{File: s.f.(*os.File), armed: true}
	s.f = w
	const rows = 5000
	for r := range rows {
		if r == 3000 {
			w.armed = false
		}
		row := s.next()
		for i := range row {
			row[i] = float64(r*10 + i)
		}
		s.commit()
	}
	require.Zero(t, s.written%24)
	require.Positive(t, s.written)
	cols, err := s.columns()
	require.NoError(t, err)
	require.Len(t, cols[0], rows)
	for r := range rows {
		for i := range 3 {
			require.Equal(t, float64(r*10+i), cols[i][r], "row %d", r)
		}
	}
}

// reloadStreamFirstCfg is a streaming model whose first-N reference fills on disk.
const reloadStreamFirstCfg = `
global: {evaluation_interval: 1h}
models:
  - name: s
    task: regression
    window: {size: 400, mode: streaming}
    reference: {window: first, size: 1000}
    features:
      - {name: x, type: numeric}
`

// TestDroppedStateClosesItsSpill: a reload that changes a model whose reference fills on
// disk, or removes it, closes the dropped state's file at once (not whenever the garbage
// collector finalises it), and so does the daemon's stop.
func TestDroppedStateClosesItsSpill(t *testing.T) {
	for _, tc := range []struct{ name, cfg string }{
		{"changed", strings.Replace(reloadStreamFirstCfg, "size: 400", "size: 500", 1)},
		{"removed", strings.Replace(reloadStreamFirstCfg, "name: s", "name: t", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDaemonWith(t, reloadStreamFirstCfg, nil)
			old := d.m.state.Load().models["s"]
			require.True(t, old.spill.open())
			require.NoError(t, os.WriteFile(d.cfg, []byte(tc.cfg), 0o600))
			require.NoError(t, d.m.reload())
			require.False(t, old.spill.open())
			now := d.m.state.Load().models[map[string]string{"changed": "s", "removed": "t"}[tc.name]]
			require.True(t, now.spill.open())
			require.NoError(t, d.m.Stop(t.Context()))
			require.False(t, now.spill.open())
		})
	}
}
