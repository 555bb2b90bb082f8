// Package wal is an append-only, segmented write-ahead log of opaque records. Each record
// gets a log sequence number (LSN), increasing by one from 1. Records are written to the
// operating system as soon as a caller asks for them to be synced, and fsynced then when
// the log is opened with Fsync, so that what Sync acknowledged survives a process crash
// (and, with Fsync, a machine crash).
//
// On disk a log is a directory of segment files named by the LSN of their first record
// (%020d.wal). A record is framed as
//
//	length uint32 | crc32c(lsn|payload) uint32 | lsn uint64 | payload
//
// little-endian. A crash can leave the newest segment with a torn last record; Replay
// stops at it and Open cuts it off, so such a record (never acknowledged) is not read.
package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultSegmentBytes is the size past which a log starts a new segment.
const DefaultSegmentBytes = 64 << 20

// MaxRecordBytes bounds one record's payload; a frame claiming more is corruption.
const MaxRecordBytes = 64 << 20

const (
	// maxSpare bounds the buffer kept for reuse, so one huge request does not pin memory.
	maxSpare = 8 << 20

	headerLen = 16
	suffix    = ".wal"

	// writebackBytes is how much written data a log without Fsync lets pile up before it
	// asks the kernel to start writing it to disk. A full segment is fsynced before the
	// next one starts; started early, that fsync finds little left to do and does not
	// hold up the ingest request that fills the segment for tens of milliseconds.
	writebackBytes = 4 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Options configure a Log.
type Options struct {
	// Fsync makes Sync call fsync, so that a synced record survives a machine crash,
	// not only a process crash.
	Fsync bool
	// SegmentBytes is the size past which Sync starts a new segment; default
	// DefaultSegmentBytes.
	SegmentBytes int64
}

// Log is an open write-ahead log. Append, Sync, Rotate and Truncate may be called from
// several goroutines.
type Log struct {
	dir  string
	opts Options

	mu      sync.Mutex // guards buf, lsn, f, size, first
	buf     []byte     // framed records not yet written to f
	spare   []byte     // the buffer last written, reused so steady state does not allocate
	lsn     uint64     // the newest record's LSN
	f       *os.File   // the segment being written
	size    int64      // bytes in f, including buf
	firstOf uint64     // LSN of f's first record
	total   int64      // bytes appended since Open

	syncMu sync.Mutex // serialises writes of buf and fsyncs
	synced atomic.Uint64
	closed bool // guarded by syncMu
	// bg is the background fsync of the last full segment; bgErr (guarded by mu) is its
	// failure, returned once by the next Sync, Rotate or Close.
	bg       sync.WaitGroup
	bgErr    error
	syncFile func(*os.File) error   // (*os.File).Sync; a test may make it fail
	syncDir  func(dir string) error // syncDir; a test may watch it
	// written and kicked are the offsets in f up to which data has been written and
	// writeback asked for, guarded by syncMu (and mu where f changes). The asking runs
	// in goroutines, as it can take a millisecond or two; kicks counts those of f (a
	// new one per segment, so that closing a segment waits for its own only), and
	// noKick stops them where the system refuses them.
	written, kicked int64
	kicks           *sync.WaitGroup
	noKick          atomic.Bool
}

// Open opens (creating when needed) the log in dir. Records already there are read back
// with Replay before any Append; Open itself only finds the newest LSN and cuts off a
// torn record at the end of the newest segment. New records go to a new segment.
func Open(dir string, opts Options) (*Log, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("write-ahead log: %w", err)
	}
	l := &Log{dir: dir, opts: opts, syncFile: (*os.File).Sync, syncDir: syncDir}
	segs, err := l.segments()
	if err != nil {
		return nil, err
	}
	if n := len(segs); n > 0 {
		last := segs[n-1]
		end, lsn, err := scan(filepath.Join(dir, segName(last)), last, nil)
		if err != nil && !errors.Is(err, errTorn) {
			return nil, err
		}
		if errors.Is(err, errTorn) {
			if err := os.Truncate(filepath.Join(dir, segName(last)), end); err != nil {
				return nil, fmt.Errorf("write-ahead log: cut off the torn record of %s: %w", segName(last), err)
			}
		}
		l.lsn = max(lsn, last-1)
	}
	l.synced.Store(l.lsn)
	if err := l.openSegment(); err != nil {
		return nil, err
	}
	return l, nil
}

// LastLSN is the newest record's LSN (0 for an empty log).
func (l *Log) LastLSN() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lsn
}

// Append adds a record and returns its LSN. The record is durable once Sync(lsn) returns.
func (l *Log) Append(payload []byte) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lsn++
	n := len(l.buf)
	l.buf = slices.Grow(l.buf, headerLen+len(payload))[:n+headerLen]
	binary.LittleEndian.PutUint32(l.buf[n:], uint32(len(payload)))
	binary.LittleEndian.PutUint64(l.buf[n+8:], l.lsn)
	l.buf = append(l.buf, payload...)
	crc := crc32.Checksum(l.buf[n+8:], castagnoli)
	binary.LittleEndian.PutUint32(l.buf[n+4:], crc)
	l.size += int64(headerLen + len(payload))
	l.total += int64(headerLen + len(payload))
	return l.lsn
}

// Size is the number of bytes appended since Open, for callers that act on the log's
// growth.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Sync makes every record up to lsn durable: written to the operating system, and
// fsynced when the log has Fsync. Concurrent callers share one write and one fsync.
func (l *Log) Sync(lsn uint64) error {
	if l.synced.Load() >= lsn {
		return nil
	}
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if l.synced.Load() >= lsn {
		return nil
	}
	if l.closed {
		return errors.New("write-ahead log: closed")
	}
	err := l.flushLocked(false)
	return errors.Join(err, l.takeBgErr())
}

// flushLocked writes the buffer, fsyncs it when the log has Fsync, and starts a new
// segment when the current one is full or rotate is set. The caller holds syncMu.
//
// A log with Fsync fsyncs the old segment and the directory before the first record of
// the new one is written, in the caller's time: it fsyncs every write anyway. A log
// without Fsync does that in the background, so that the request that fills a segment
// does not wait the tens of milliseconds it takes (most of it the directory's fsync,
// which on ext4 commits the journal and with it the segment's data). A machine crash
// before the background fsync ends can then leave a hole before the newest segment,
// which Replay reports as an error naming the place; such a log promises to keep what
// it acknowledged through a crash of the process only, which this does not change.
func (l *Log) flushLocked(rotate bool) error {
	l.mu.Lock()
	buf, last, f := l.buf, l.lsn, l.f
	l.buf, l.spare = l.spare[:0], nil
	full := l.size >= l.opts.SegmentBytes
	l.mu.Unlock()
	if len(buf) > 0 {
		if _, err := f.Write(buf); err != nil {
			return l.writeFailed(buf, fmt.Errorf("write-ahead log: write %s: %w", f.Name(), err))
		}
		l.written += int64(len(buf))
		if !l.opts.Fsync && !l.noKick.Load() && l.written-l.kicked >= writebackBytes {
			// Advisory only: the fsync at the segment's end still makes it durable.
			off, n := l.kicked, l.written-l.kicked
			l.kicks.Go(func() {
				if startWriteback(f, off, n) != nil {
					l.noKick.Store(true)
				}
			})
			l.kicked = l.written
		}
	}
	if cap(buf) <= maxSpare {
		l.mu.Lock()
		l.spare = buf[:0]
		l.mu.Unlock()
	}
	if l.opts.Fsync {
		if err := l.syncFile(f); err != nil {
			return fmt.Errorf("write-ahead log: fsync %s: %w", f.Name(), err)
		}
	}
	l.synced.Store(last)
	if !rotate && !full {
		return nil
	}
	// One background fsync at a time: a disk slower than the log is written holds up
	// the rotation after next, not memory or open files.
	l.bg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.firstOf == last+1 {
		return nil // the segment is empty: nothing to rotate
	}
	// Records appended since buf was taken are still buffered: they open the new
	// segment, which therefore starts right after the last record written. The old
	// segment stays the one written until the new one exists (on a full disk it may
	// not), so a failed rotation leaves a working log.
	old, kicks := l.f, l.kicks
	if err := l.openSegmentLocked(last + 1); err != nil {
		if !rotate {
			return nil // everything asked for is written; the next Sync tries again
		}
		return err
	}
	if l.opts.Fsync { // fsynced above, and never kicked
		if err := old.Close(); err != nil {
			return fmt.Errorf("write-ahead log: close %s: %w", old.Name(), err)
		}
		return nil
	}
	l.bg.Go(func() {
		kicks.Wait() // they may still use old
		var errs []error
		if err := l.syncFile(old); err != nil {
			errs = append(errs, fmt.Errorf("write-ahead log: fsync %s: %w", old.Name(), err))
		}
		if err := old.Close(); err != nil {
			errs = append(errs, fmt.Errorf("write-ahead log: close %s: %w", old.Name(), err))
		}
		errs = append(errs, l.syncDir(l.dir)) // the new segment's name
		if err := errors.Join(errs...); err != nil {
			l.mu.Lock()
			l.bgErr = errors.Join(l.bgErr, err)
			l.mu.Unlock()
		}
	})
	return nil
}

// takeBgErr returns a background fsync's failure once, to the caller after it, as a
// failed fsync in the foreground would have been.
func (l *Log) takeBgErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.bgErr
	l.bgErr = nil
	return err
}

// writeFailed puts back what could not be written so that a later Sync tries again;
// the failed write may have left part of it in the file, which is cut off first.
func (l *Log) writeFailed(buf []byte, err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	written := l.size - int64(len(l.buf)) - int64(len(buf))
	if terr := l.f.Truncate(written); terr != nil {
		err = errors.Join(err, fmt.Errorf("cut off the partial write: %w", terr))
	}
	if _, serr := l.f.Seek(written, io.SeekStart); serr != nil {
		err = errors.Join(err, serr)
	}
	l.written = written
	l.buf = append(buf, l.buf...)
	return err
}

// Rotate writes everything appended so far (and fsyncs it, with Fsync) and starts a new
// segment. It returns the LSN of the newest record before the new segment: a snapshot
// taken after Rotate covers every record up to it, and Truncate(it) may then drop their
// segments.
func (l *Log) Rotate() (uint64, error) {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if l.closed {
		return 0, errors.New("write-ahead log: closed")
	}
	l.mu.Lock()
	last := l.lsn
	l.mu.Unlock()
	if err := errors.Join(l.flushLocked(true), l.takeBgErr()); err != nil {
		return 0, err
	}
	return last, nil
}

// Truncate removes every segment whose records all have an LSN ≤ upto. The segment
// being written is never removed.
func (l *Log) Truncate(upto uint64) error {
	segs, err := l.segments()
	if err != nil {
		return err
	}
	l.mu.Lock()
	current := l.firstOf
	l.mu.Unlock()
	var errs []error
	for i, first := range segs {
		if first >= current {
			break
		}
		next := current
		if i+1 < len(segs) {
			next = segs[i+1]
		}
		if next-1 > upto {
			break
		}
		if err := os.Remove(filepath.Join(l.dir, segName(first))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("write-ahead log: remove %s: %w", segName(first), err))
		}
	}
	return errors.Join(errs...)
}

// Close writes and fsyncs what is buffered and closes the log.
func (l *Log) Close() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if l.closed {
		return nil
	}
	err := l.flushLocked(false)
	if err == nil {
		err = l.syncFile(l.f)
	}
	l.bg.Wait()
	l.kicks.Wait()
	err = errors.Join(err, l.takeBgErr())
	l.closed = true
	return errors.Join(err, l.f.Close())
}

// Replay calls fn with every record of every segment in LSN order, starting after the
// record with LSN after. A record with a bad frame or checksum ends the replay: at the
// end of the newest segment (a torn write) silently, elsewhere with an error naming the
// file and offset. fn must not keep payload.
func Replay(dir string, after uint64, fn func(lsn uint64, payload []byte) error) error {
	l := &Log{dir: dir}
	segs, err := l.segments()
	if err != nil {
		return err
	}
	for i, first := range segs {
		if i+1 < len(segs) && segs[i+1]-1 <= after {
			continue // every record of this segment is older
		}
		_, _, err := scan(filepath.Join(dir, segName(first)), first, func(lsn uint64, p []byte) error {
			if lsn <= after {
				return nil
			}
			return fn(lsn, p)
		})
		if errors.Is(err, errTorn) && i == len(segs)-1 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var errTorn = errors.New("torn or corrupt record")

// scan reads a segment and returns the offset after the last good record and its LSN.
func scan(path string, first uint64, fn func(lsn uint64, payload []byte) error) (end int64, lsn uint64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("write-ahead log: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var hdr [headerLen]byte
	var payload []byte
	want := first
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				return end, lsn, nil
			}
			return end, lsn, fmt.Errorf("%s at offset %d: %w", path, end, errTorn)
		}
		n := binary.LittleEndian.Uint32(hdr[0:])
		crc := binary.LittleEndian.Uint32(hdr[4:])
		rl := binary.LittleEndian.Uint64(hdr[8:])
		if n > MaxRecordBytes || rl != want {
			return end, lsn, fmt.Errorf("%s at offset %d: %w", path, end, errTorn)
		}
		payload = slices.Grow(payload[:0], int(n))[:n]
		if _, err := io.ReadFull(r, payload); err != nil {
			return end, lsn, fmt.Errorf("%s at offset %d: %w", path, end, errTorn)
		}
		h := crc32.Update(crc32.Checksum(hdr[8:], castagnoli), castagnoli, payload)
		if h != crc {
			return end, lsn, fmt.Errorf("%s at offset %d: checksum mismatch: %w", path, end, errTorn)
		}
		if fn != nil {
			if err := fn(rl, payload); err != nil {
				return end, lsn, err
			}
		}
		end += int64(headerLen) + int64(n)
		lsn = rl
		want++
	}
}

func (l *Log) openSegment() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.openSegmentLocked(l.lsn + 1)
}

// openSegmentLocked starts the segment whose first record has LSN first; the records
// still buffered are counted in its size. The caller holds mu.
func (l *Log) openSegmentLocked(first uint64) error {
	f, err := os.OpenFile(filepath.Join(l.dir, segName(first)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	if err := l.syncDirLocked(); err != nil {
		// An empty segment left behind would look like the newest one at the next Open,
		// while the records go on in the current one.
		f.Close()
		return errors.Join(err, os.Remove(f.Name()))
	}
	l.f, l.size, l.firstOf = f, int64(len(l.buf)), first
	l.written, l.kicked, l.kicks = 0, 0, new(sync.WaitGroup)
	return nil
}

// syncDirLocked makes a new segment's name durable where the log needs it now: with
// Fsync, before a record in it is acknowledged, and at Open. A rotation without Fsync
// does it in the background.
func (l *Log) syncDirLocked() error {
	if !l.opts.Fsync && l.f != nil {
		return nil
	}
	return l.syncDir(l.dir)
}

// segments lists the first LSNs of the segments in dir, in order.
func (l *Log) segments() ([]uint64, error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("write-ahead log: %w", err)
	}
	var out []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), suffix)
		if !ok || e.IsDir() {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 64)
		if err != nil || n == 0 {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

func segName(first uint64) string { return fmt.Sprintf("%020d%s", first, suffix) }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("write-ahead log: fsync %s: %w", dir, err)
	}
	return nil
}
