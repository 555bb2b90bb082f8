package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func collect(t *testing.T, dir string, after uint64) (lsns []uint64, payloads []string) {
	t.Helper()
	require.NoError(t, Replay(dir, after, func(lsn uint64, p []byte) error {
		lsns = append(lsns, lsn)
		payloads = append(payloads, string(p))
		return nil
	}))
	return lsns, payloads
}

func TestAppendSyncReplay(t *testing.T) {
	for _, fsync := range []bool{false, true} {
		t.Run(fmt.Sprint("fsync=", fsync), func(t *testing.T) {
			dir := t.TempDir()
			l, err := Open(dir, Options{Fsync: fsync, SegmentBytes: 100})
			require.NoError(t, err)
			var want []string
			for i := range 20 {
				p := fmt.Sprintf("record-%d", i)
				want = append(want, p)
				lsn := l.Append([]byte(p))
				require.Equal(t, uint64(i+1), lsn)
				require.NoError(t, l.Sync(lsn))
			}
			require.NoError(t, l.Close())
			lsns, got := collect(t, dir, 0)
			require.Equal(t, want, got)
			require.Equal(t, uint64(1), lsns[0])
			segs, err := (&Log{dir: dir}).segments()
			require.NoError(t, err)
			require.Greater(t, len(segs), 3, "small segments rotate")

			_, got = collect(t, dir, 15)
			require.Equal(t, want[15:], got, "replay starts after the given LSN")

			// Reopening continues the numbering in a new segment.
			l, err = Open(dir, Options{Fsync: fsync})
			require.NoError(t, err)
			require.Equal(t, uint64(20), l.LastLSN())
			require.Equal(t, uint64(21), l.Append([]byte("after restart")))
			require.NoError(t, l.Sync(21))
			require.NoError(t, l.Close())
			_, got = collect(t, dir, 19)
			require.Equal(t, []string{"record-19", "after restart"}, got)
		})
	}
}

func TestUnsyncedRecordsAreNotWritten(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	require.NoError(t, err)
	l.Append([]byte("synced"))
	require.NoError(t, l.Sync(1))
	l.Append([]byte("buffered"))
	// A crash now (no Close) loses only the record no Sync acknowledged.
	_, got := collect(t, dir, 0)
	require.Equal(t, []string{"synced"}, got)
	require.NoError(t, l.Close())
}

func TestRotateAndTruncate(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	require.NoError(t, err)
	for i := range 5 {
		l.Append(fmt.Appendf(nil, "a%d", i))
	}
	mark, err := l.Rotate()
	require.NoError(t, err)
	require.Equal(t, uint64(5), mark)
	l.Append([]byte("b0"))
	require.NoError(t, l.Sync(6))
	require.NoError(t, l.Truncate(mark))
	lsns, got := collect(t, dir, 0)
	require.Equal(t, []uint64{6}, lsns)
	require.Equal(t, []string{"b0"}, got)

	// Rotating an empty segment does nothing; truncating never removes the current one.
	_, err = l.Rotate()
	require.NoError(t, err)
	_, err = l.Rotate()
	require.NoError(t, err)
	require.NoError(t, l.Truncate(100))
	require.NoError(t, l.Close())
	_, got = collect(t, dir, 0)
	require.Empty(t, got, "b0's segment was before the current one and ≤ 100")
	l, err = Open(dir, Options{})
	require.NoError(t, err)
	require.Equal(t, uint64(6), l.LastLSN(), "numbering survives truncation")
	require.NoError(t, l.Close())
}

func lastSegment(t testing.TB, dir string) string {
	segs, err := (&Log{dir: dir}).segments()
	require.NoError(t, err)
	return filepath.Join(dir, segName(segs[len(segs)-1]))
}

func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	require.NoError(t, err)
	for i := range 3 {
		l.Append(fmt.Appendf(nil, "r%d", i))
	}
	require.NoError(t, l.Close())
	path := lastSegment(t, dir)
	full, err := os.ReadFile(path)
	require.NoError(t, err)
	// Cut the last record in half, as a crash in the middle of a write does.
	require.NoError(t, os.WriteFile(path, full[:len(full)-3], 0o640))
	_, got := collect(t, dir, 0)
	require.Equal(t, []string{"r0", "r1"}, got, "a torn last record is not read")

	l, err = Open(dir, Options{})
	require.NoError(t, err)
	require.Equal(t, uint64(2), l.LastLSN())
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, int64(2*(headerLen+2)), info.Size(), "Open cut the torn record off")
	require.Equal(t, uint64(3), l.Append([]byte("r2 again")))
	require.NoError(t, l.Close())
	_, got = collect(t, dir, 0)
	require.Equal(t, []string{"r0", "r1", "r2 again"}, got)
}

func TestCorruptionBeforeTheEndIsAnError(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{SegmentBytes: 1})
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, l.Sync(l.Append(fmt.Appendf(nil, "r%d", i))))
	}
	require.NoError(t, l.Close())
	segs, err := (&Log{dir: dir}).segments()
	require.NoError(t, err)
	first := filepath.Join(dir, segName(segs[0]))
	b, err := os.ReadFile(first)
	require.NoError(t, err)
	b[len(b)-1] ^= 0xff
	require.NoError(t, os.WriteFile(first, b, 0o640))
	err = Replay(dir, 0, func(uint64, []byte) error { return nil })
	require.ErrorContains(t, err, "checksum mismatch")
	require.ErrorContains(t, err, segName(segs[0]))
}

func TestConcurrentAppendSync(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{SegmentBytes: 4096})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				lsn := l.Append(fmt.Appendf(nil, "w%d-%d", w, i))
				if i%10 == 9 {
					if err := l.Sync(lsn); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := l.Rotate(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	require.NoError(t, l.Close())
	lsns, got := collect(t, dir, 0)
	require.Len(t, got, 1600)
	for i, lsn := range lsns {
		require.Equal(t, uint64(i+1), lsn)
	}
}

func FuzzReplay(f *testing.F) {
	dir := f.TempDir()
	l, err := Open(dir, Options{})
	require.NoError(f, err)
	l.Append([]byte("hello"))
	l.Append([]byte(""))
	require.NoError(f, l.Close())
	b, err := os.ReadFile(lastSegment(f, dir))
	require.NoError(f, err)
	f.Add(b)
	f.Add([]byte{})
	f.Add(b[:7])
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, segName(1)), data, 0o640))
		var n uint64
		err := Replay(dir, 0, func(lsn uint64, p []byte) error {
			n++
			if lsn != n {
				t.Fatalf("LSN %d after %d records", lsn, n-1)
			}
			return nil
		})
		require.NoError(t, err, "damage at the end of the newest segment is a torn write")
		l, err := Open(dir, Options{})
		require.NoError(t, err)
		require.Equal(t, n, l.LastLSN())
		require.NoError(t, l.Close())
	})
}

func TestBackgroundFsyncFailureIsReportedOnce(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{SegmentBytes: 64})
	require.NoError(t, err)
	fail := errors.New("disk gone")
	var mu sync.Mutex
	var synced []string
	l.syncFile = func(f *os.File) error {
		mu.Lock()
		defer mu.Unlock()
		synced = append(synced, filepath.Base(f.Name()))
		return fail
	}
	// The first Sync fills the first segment: its fsync runs in the background, and the
	// Sync that filled it succeeds (the records are written to the operating system).
	require.NoError(t, l.Sync(l.Append(make([]byte, 100))))
	l.bg.Wait()
	require.Equal(t, []string{segName(1)}, synced, "the full segment, and only it, was fsynced")
	// The next Sync reports the failure, the one after has nothing to report.
	err = l.Sync(l.Append([]byte("r2")))
	require.ErrorIs(t, err, fail)
	require.ErrorContains(t, err, segName(1))
	require.NoError(t, l.Sync(l.Append([]byte("r3"))))
	l.syncFile = (*os.File).Sync
	require.NoError(t, l.Close())
	_, got := collect(t, dir, 0)
	require.Len(t, got, 3, "every record written, the failure notwithstanding")
}

// A log without Fsync rotates without waiting for the old segment's fsync (the
// snapshot that calls Rotate is written and fsynced itself); one with Fsync fsyncs it
// before Rotate returns.
func TestRotateFsyncsInTheCallerOnlyWithFsync(t *testing.T) {
	t.Run("fsync=false", func(t *testing.T) {
		l, err := Open(t.TempDir(), Options{})
		require.NoError(t, err)
		started, release := make(chan string, 1), make(chan struct{})
		l.syncFile = func(f *os.File) error {
			started <- filepath.Base(f.Name())
			<-release
			return f.Sync()
		}
		require.NoError(t, l.Sync(l.Append([]byte("a"))))
		rotated := make(chan error)
		go func() {
			mark, err := l.Rotate()
			if err == nil && mark != 1 {
				err = fmt.Errorf("mark %d, want 1", mark)
			}
			rotated <- err
		}()
		select { // Rotate returns while the fsync below is held
		case err := <-rotated:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			close(release)
			t.Fatal("Rotate waited for the old segment's fsync")
		}
		require.Equal(t, segName(1), <-started)
		require.Equal(t, uint64(2), l.Append([]byte("b")), "the log goes on meanwhile")
		close(release)
		l.syncFile = (*os.File).Sync
		require.NoError(t, l.Close())
	})
	t.Run("fsync=true", func(t *testing.T) {
		l, err := Open(t.TempDir(), Options{Fsync: true})
		require.NoError(t, err)
		var synced []string
		l.syncFile = func(f *os.File) error {
			synced = append(synced, filepath.Base(f.Name()))
			return f.Sync()
		}
		require.NoError(t, l.Sync(l.Append([]byte("a"))))
		_, err = l.Rotate()
		require.NoError(t, err)
		require.Equal(t, []string{segName(1), segName(1)}, synced, "the Sync's fsync and the Rotate's")
		require.NoError(t, l.Close())
	})
}

// What makes a rotation durable comes in order: the old segment's fsync, then the
// directory's (naming the new segment), before the new segment holds a record — in
// the caller with Fsync, in the background without.
func TestRotationFsyncsOldSegmentThenDirectory(t *testing.T) {
	for _, fsync := range []bool{true, false} {
		t.Run(fmt.Sprint("fsync=", fsync), func(t *testing.T) {
			dir := t.TempDir()
			l, err := Open(dir, Options{Fsync: fsync, SegmentBytes: 10})
			require.NoError(t, err)
			var mu sync.Mutex
			var steps []string
			step := func(s string) {
				mu.Lock()
				defer mu.Unlock()
				steps = append(steps, s)
			}
			l.syncFile = func(f *os.File) error {
				step("fsync " + filepath.Base(f.Name()))
				return f.Sync()
			}
			l.syncDir = func(d string) error {
				fi, err := os.Stat(filepath.Join(d, segName(2)))
				require.NoError(t, err)
				step(fmt.Sprintf("dir, %s holds %d bytes", segName(2), fi.Size()))
				return syncDir(d)
			}
			require.NoError(t, l.Sync(l.Append([]byte("fills the first segment"))))
			l.bg.Wait()
			require.Equal(t, []string{"fsync " + segName(1), "dir, " + segName(2) + " holds 0 bytes"}, steps)
			require.NoError(t, l.Close())
		})
	}
}

// Writeback hints of a new segment start while the old segment's background fsync
// waits for its own hints; each segment has its own.
func TestWritebackHintsAcrossRotations(t *testing.T) {
	l, err := Open(t.TempDir(), Options{SegmentBytes: writebackBytes})
	require.NoError(t, err)
	p := make([]byte, writebackBytes)
	for range 20 {
		require.NoError(t, l.Sync(l.Append(p)))
	}
	require.NoError(t, l.Close())
	lsns, _ := collect(t, l.dir, 0)
	require.Len(t, lsns, 20)
}

// A failed background fsync of an old segment does not keep Close from fsyncing the
// segment it closes; Close reports the failure.
func TestCloseFsyncsItsSegmentAfterABackgroundFailure(t *testing.T) {
	l, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	var synced []string
	l.syncFile = func(f *os.File) error {
		synced = append(synced, filepath.Base(f.Name()))
		if filepath.Base(f.Name()) == segName(1) {
			return errors.New("disk gone")
		}
		return f.Sync()
	}
	require.NoError(t, l.Sync(l.Append([]byte("a"))))
	_, err = l.Rotate()
	require.NoError(t, err, "Rotate does not wait for the old segment's fsync")
	l.bg.Wait()
	l.Append([]byte("b"))
	require.ErrorContains(t, l.Close(), "disk gone")
	require.Equal(t, []string{segName(1), segName(2)}, synced)
}
