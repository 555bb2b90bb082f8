package monitor

import (
	"bufio"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilml/vigil/monitor/event"
	"github.com/vigilml/vigil/monitor/wal"
)

// Files under global.storage_path.
const (
	walDir       = "wal"
	snapshotFile = "snapshot.gob"
)

// durable keeps accepted events across crashes: every applied event goes to the
// write-ahead log before its request is answered, and a snapshot of every model's state
// lets the log before it be removed. At start the snapshot is loaded and the log after
// it replayed through the same code that applied the events the first time.
type durable struct {
	log    *wal.Log
	dir    string
	cfg    WALConfig
	logger *slog.Logger

	mu        sync.Mutex // serialises snapshots
	lastSnap  time.Time
	snapBytes int64 // log size at the last snapshot, to trigger the next by size
	failing   bool  // a snapshot failed and was logged; guarded by mu
}

// appendArrival starts a log record with the event's arrival time.
func appendArrival(b []byte, arrival time.Time) []byte {
	return binary.LittleEndian.AppendUint64(b, uint64(arrival.UnixNano()))
}

// openDurable loads the snapshot and replays the log into the models of st, then
// opens the log for new events. A damaged snapshot or log record is logged and skipped:
// vigil starts with what it can read rather than not at all.
func openDurable(cfg *Config, st *engineState, logger *slog.Logger, now time.Time) (*durable, error) {
	d := &durable{dir: cfg.Global.StoragePath, cfg: cfg.Global.WAL, logger: logger, lastSnap: now}
	if err := os.MkdirAll(d.dir, 0o750); err != nil {
		return nil, fmt.Errorf("storage_path: %w", err)
	}
	start := time.Now()
	restored, err := d.loadSnapshot(cfg, st)
	if err != nil {
		logger.Error("cannot read the snapshot; windows are rebuilt from the write-ahead log alone", "file", filepath.Join(d.dir, snapshotFile), "err", err)
	}
	l, err := wal.Open(filepath.Join(d.dir, walDir), wal.Options{Fsync: d.cfg.Fsync})
	if err != nil {
		return nil, err
	}
	d.log = l
	replayed, skipped, err := d.replay(st)
	if err != nil {
		logger.Error("the write-ahead log is damaged; events after the damage are lost", "err", err)
	}
	if restored > 0 || replayed > 0 {
		logger.Info("windows restored", "models_from_snapshot", restored, "events_replayed", replayed,
			"events_skipped", skipped, "duration", time.Since(start).Round(time.Millisecond))
	}
	for _, ms := range st.models {
		ms.log = l
	}
	// What was just replayed, and when each model began to be watched, go into a
	// snapshot at once: the next start replays less, and a crash keeps the clocks.
	if err := d.snapshot(st, now); err != nil {
		return nil, err
	}
	return d, nil
}

// loadSnapshot restores every model whose config is unchanged since the snapshot.
func (d *durable) loadSnapshot(cfg *Config, st *engineState) (int, error) {
	f, err := os.Open(filepath.Join(d.dir, snapshotFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	dec := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	restored := 0
	for {
		var s modelSnap
		if err := dec.Decode(&s); err != nil {
			if errors.Is(err, io.EOF) {
				return restored, nil
			}
			return restored, err
		}
		ms := st.models[s.Model]
		switch {
		case ms == nil:
			d.logger.Info("the snapshot has a model the config no longer declares; its state is dropped", "model", s.Model)
			continue
		case !restorableFormat(s.Format) || !fingerprintMatches(s.Fingerprint, ms.cfg, ms.profile):
			d.logger.Warn("model config changed since the snapshot; its windows start from the write-ahead log alone", "model", s.Model)
			continue
		}
		spillDir := ""
		if ms.spill != nil {
			spillDir = ms.spill.dir // restoreState may drop a spill it cannot read
		}
		if err := ms.restoreState(&s); err != nil {
			d.logger.Error("cannot restore a model's windows from the snapshot", "model", s.Model, "err", err)
			fresh := newModelState(ms.cfg, ms.metrics, ms.profile)
			ms.closeSpill()
			if spillDir != "" {
				if err := fresh.spillReference(spillDir, d.logger); err != nil {
					d.logger.Warn("a filling first-N reference is kept in memory", "model", s.Model, "err", err)
				}
			}
			st.models[s.Model] = fresh
			continue
		}
		restored++
	}
}

// replay applies the log's records that the snapshot does not hold. Metrics are not
// counted again: the events were counted when they were first accepted.
func (d *durable) replay(st *engineState) (replayed, skipped int, err error) {
	quiet := newMetrics(prometheus.NewRegistry())
	saved := make(map[*modelState]*modelMetrics, len(st.models))
	for name, ms := range st.models {
		saved[ms] = ms.metrics
		ms.metrics = quiet.forModel(name)
	}
	defer func() {
		for ms, mm := range saved {
			ms.metrics = mm
		}
	}()
	var p event.Prediction
	var l event.Label
	err = wal.Replay(filepath.Join(d.dir, walDir), 0, func(lsn uint64, rec []byte) error {
		if len(rec) < 8 {
			skipped++
			return nil
		}
		arrival := time.Unix(0, int64(binary.LittleEndian.Uint64(rec))).UTC()
		rec = rec[8:]
		var model string
		var apply func(ms *modelState) *rejection
		if event.IsPrediction(rec) {
			if err := event.DecodePrediction(rec, &p); err != nil {
				return fmt.Errorf("record %d: %w", lsn, err)
			}
			model, apply = p.Model, func(ms *modelState) *rejection { return ms.addPrediction(&p, arrival) }
		} else {
			if err := event.DecodeLabel(rec, &l); err != nil {
				return fmt.Errorf("record %d: %w", lsn, err)
			}
			model, apply = l.Model, func(ms *modelState) *rejection { return ms.addLabel(&l, arrival) }
		}
		ms := st.models[model]
		if ms == nil || lsn <= ms.lsn {
			skipped++ // in the snapshot already, or a model no longer declared
			return nil
		}
		if apply(ms) != nil {
			skipped++ // the config changed so that the event no longer fits
		}
		ms.lsn = lsn
		replayed++
		return nil
	})
	return replayed, skipped, err
}

// due reports whether a snapshot should be taken now.
func (d *durable) due(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return now.Sub(d.lastSnap) >= time.Duration(d.cfg.SnapshotInterval) || d.log.Size()-d.snapBytes >= d.cfg.MaxLogBytes
}

// snapshot writes every model's state and removes the log it covers. It is safe to
// call while events are ingested: each model is copied under its own lock, and the log
// records after the copy are replayed at start (each model skips what its copy holds).
func (d *durable) snapshot(st *engineState, now time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.snapshotLocked(st)
	d.lastSnap = now
	switch {
	case err != nil && !d.failing:
		d.logger.Error("cannot write the snapshot; the write-ahead log keeps growing until it can", "err", err)
		d.failing = true
	case err == nil && d.failing:
		d.logger.Info("the snapshot is written again")
		d.failing = false
	}
	return err
}

func (d *durable) snapshotLocked(st *engineState) error {
	mark, err := d.log.Rotate()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d.dir, ".snapshot-*")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	w := bufio.NewWriterSize(tmp, 1<<20)
	enc := gob.NewEncoder(w)
	for name, ms := range st.models {
		s, err := ms.snapState(name, modelFingerprint(ms.cfg, ms.profile))
		if err != nil {
			tmp.Close()
			return fmt.Errorf("snapshot of model %q: %w", name, err)
		}
		if err := enc.Encode(s); err != nil {
			tmp.Close()
			return fmt.Errorf("snapshot of model %q: %w", name, err)
		}
	}
	if err := errors.Join(w.Flush(), tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(d.dir, snapshotFile)); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := syncDir(d.dir); err != nil {
		return err
	}
	// Every record up to mark was applied before its model was copied.
	if err := d.log.Truncate(mark); err != nil {
		return err
	}
	d.snapBytes = d.log.Size()
	return nil
}

// close takes a last snapshot (so the next start replays nothing) and closes the log.
func (d *durable) close(st *engineState, now time.Time) error {
	err := d.snapshot(st, now)
	return errors.Join(err, d.log.Close())
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
