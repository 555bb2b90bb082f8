package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
)

// spillChunk is about how many bytes of rows a refSpill buffers before it writes them.
const spillChunk = 32 << 10

// refSpill keeps the numeric feature values of a streaming model's first-N reference on
// disk while the reference fills, one row of 8-byte values per prediction, in a file under
// storage_path that is unlinked as soon as it is made (so nothing is left behind by a
// crash). Once the reference is full the values are read back, summarised (streamRef) and
// the file closed: a model's memory then no longer holds its reference's raw values even
// while it fills, which is what lets many models fill at once in bounded memory.
//
// The values come back exactly as they were written, so the summaries (decile bins, the
// sketch of the sorted reference, learnt thresholds) are the same as from memory.
//
// A write that fails keeps the rows in memory, as without a spill, and is logged once;
// the next writes are tried when the buffer has doubled. The caller holds the model's lock.
type refSpill struct {
	f       spillFile // nil once closed
	dir     string
	logger  *slog.Logger
	nNum    int
	row     []float64 // the row being filled, NaN for a missing value
	buf     []byte    // rows not written yet
	written int64     // bytes in the file
	retryAt int       // len(buf) at which to write next
	rows    int
	present []int // per column: values that are not missing
	failing bool  // a write failed and was logged
}

// spillFile is what a refSpill needs of its file.
type spillFile interface {
	io.ReaderAt
	io.WriterAt
	Truncate(size int64) error
	Close() error
}

func newRefSpill(dir string, nNum int, logger *slog.Logger) (*refSpill, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("first-N reference spill: %w", err)
	}
	f, err := os.CreateTemp(dir, ".reference-*")
	if err != nil {
		return nil, fmt.Errorf("first-N reference spill: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("first-N reference spill: %w", err)
	}
	s := &refSpill{f: f, dir: dir, logger: logger, nNum: nNum, row: make([]float64, nNum), present: make([]int, nNum)}
	s.retryAt = max(spillChunk, 8*nNum)
	return s, nil
}

// next starts a row: every value missing until the caller sets it.
func (s *refSpill) next() []float64 {
	for i := range s.row {
		s.row[i] = math.NaN()
	}
	return s.row
}

// commit adds the row filled since next, writing the buffered rows out when there are
// enough of them.
func (s *refSpill) commit() {
	for i, v := range s.row {
		s.buf = binary.LittleEndian.AppendUint64(s.buf, math.Float64bits(v))
		if !math.IsNaN(v) {
			s.present[i]++
		}
	}
	s.rows++
	if len(s.buf) >= s.retryAt {
		s.flush()
	}
}

func (s *refSpill) flush() {
	n, err := s.f.WriteAt(s.buf, s.written)
	n -= n % (8 * s.nNum) // a short write's part of a row is written again, at its place
	s.written += int64(n)
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	switch {
	case err != nil:
		s.retryAt = max(2*len(s.buf), spillChunk)
		if !s.failing {
			s.logger.Error("cannot write a filling first-N reference to disk; its values stay in memory until it can", "dir", s.dir, "err", err)
			s.failing = true
		}
	case s.failing:
		s.logger.Info("a filling first-N reference is written to disk again", "dir", s.dir)
		s.failing = false
		s.retryAt = max(spillChunk, 8*s.nNum)
	}
}

// columns reads every row back, column by column in arrival order, missing values NaN.
func (s *refSpill) columns() ([][]float64, error) {
	cols := make([][]float64, s.nNum)
	for i := range cols {
		cols[i] = make([]float64, 0, s.rows)
	}
	add := func(b []byte) {
		for len(b) >= 8*s.nNum {
			for i := range cols {
				cols[i] = append(cols[i], math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
			}
			b = b[8*s.nNum:]
		}
	}
	chunk := make([]byte, max(spillChunk, 8*s.nNum)/(8*s.nNum)*(8*s.nNum))
	for off := int64(0); off < s.written; {
		n, err := s.f.ReadAt(chunk[:min(int64(len(chunk)), s.written-off)], off)
		if err != nil && !errors.Is(err, io.EOF) || n == 0 {
			return nil, fmt.Errorf("reading the first-N reference back from disk: %w", errors.Join(err, io.ErrUnexpectedEOF))
		}
		add(chunk[:n])
		off += int64(n)
	}
	add(s.buf)
	if len(cols) > 0 && len(cols[0]) != s.rows {
		return nil, fmt.Errorf("reading the first-N reference back from disk: %d rows, want %d", len(cols[0]), s.rows)
	}
	return cols, nil
}

// load replaces the rows by those of cols (a restored snapshot's columns, of one length).
func (s *refSpill) load(cols [][]float64) error {
	if len(cols) != s.nNum {
		return fmt.Errorf("%d numeric columns, want %d", len(cols), s.nNum)
	}
	s.buf, s.written, s.rows = s.buf[:0], 0, 0
	clear(s.present)
	if err := s.f.Truncate(0); err != nil {
		return fmt.Errorf("first-N reference spill: %w", err)
	}
	n := 0
	if len(cols) > 0 {
		n = len(cols[0])
	}
	for i, c := range cols {
		if len(c) != n {
			return fmt.Errorf("numeric column %d has %d entries, want %d", i, len(c), n)
		}
	}
	for r := range n {
		row := s.next()
		for i, c := range cols {
			row[i] = c[r]
		}
		s.commit()
	}
	return nil
}

// close drops the file and the buffer; the spill then holds nothing.
func (s *refSpill) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	s.buf, s.row = nil, nil
}

// open reports whether the spill still holds the reference's values.
func (s *refSpill) open() bool { return s.f != nil }

// spillReference keeps the model's filling first-N reference's numeric values in a file
// under dir (refSpill) rather than in memory, when the model has a streaming window, a
// first-N reference and numeric features. It is called on a new model state, before any
// event; without a storage path (dir "") the values stay in memory.
func (m *modelState) spillReference(dir string, logger *slog.Logger) error {
	if dir == "" || m.stream == nil || m.first == nil || m.first.len() > 0 || len(m.first.num) == 0 {
		return nil
	}
	s, err := newRefSpill(dir, len(m.first.num), logger.With("model", m.cfg.Name))
	if err != nil {
		return err
	}
	m.spill = s
	m.first = newPredWindow(m.first.r.max, 0, len(m.first.cat))
	return nil
}

// firstNumeric is the first-N reference's numeric columns without their missing values,
// in arrival order, from memory or from the spill.
func (m *modelState) firstNumeric() ([][]float64, error) {
	f := m.first
	if m.spill == nil {
		refNum := make([][]float64, len(f.num))
		for col := range f.num {
			refNum[col] = appendNumeric(nil, f, f.num[col], 0, f.len())
		}
		return refNum, nil
	}
	cols, err := m.spill.columns()
	if err != nil {
		return nil, err
	}
	for i, c := range cols {
		cols[i] = slices.DeleteFunc(c, math.IsNaN)
	}
	return cols, nil
}

// restoreSpill puts a snapshot's first-N numeric columns (n entries each) into the spill;
// a summarised reference has none, and needs the spill no more.
func (m *modelState) restoreSpill(cols [][]float64, n int, summarised bool) error {
	if len(cols) != m.spill.nNum {
		return fmt.Errorf("%d numeric columns, want %d", len(cols), m.spill.nNum)
	}
	want := n
	if summarised {
		want = 0
	}
	for i, c := range cols {
		if len(c) != want {
			return fmt.Errorf("numeric column %d has %d entries, want %d", i, len(c), want)
		}
	}
	if summarised {
		m.spill.close()
		return nil
	}
	return m.spill.load(cols)
}

// closeSpill closes the model's spill, if any, when the model's state is dropped (a
// reload that changed or removed the model, or the daemon's stop).
func (m *modelState) closeSpill() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.spill != nil {
		m.spill.close()
	}
}
