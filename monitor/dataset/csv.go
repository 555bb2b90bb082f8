package dataset

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigilml/vigil/internal/strhash"
	"github.com/vigilml/vigil/monitor/event"
)

// csvSource reads a CSV file. Most records are split here, straight from
// the read buffer: a record on one line without quotes, whole in the
// buffer, has no field that needs unquoting, and its fields are numbers or
// categories looked up (interned) without a string per field. Every other
// record (quotes, a line across the end of the buffer, the end of the file)
// is read by encoding/csv from the same buffer, so that the fast path
// changes nothing: the same rows, values, errors and line numbers, and the
// same reads of the file (which decide when MaxRecordBytes is enforced).
type csvSource struct {
	in    countReader
	start int64 // bytes skipped before the header: a byte order mark
	br    *bufio.Reader
	cr    *csv.Reader
	// Bytes and lines of the file consumed from br so far (after the byte
	// order mark), and cr's own count of its lines at that point: cr sees
	// only the records handed to it.
	off, line, crLine int64

	header []string
	p      plan
	types  []ColumnType // of the schema columns
	// Declared types of the prediction and label columns, or 0.
	predType, labelType ColumnType

	fields  [][]byte // of the current record; in br's buffer or scratch
	cats    catCache
	scratch []byte // the fields of a record read by cr

	// Records read ahead to infer types, returned before reading on.
	sample []csvRecord
	fatal  error // what ended the read-ahead early, returned after sample

	// Position of the last record, for the message of a record too large:
	// the line of its last field and the line breaks quoted in that field.
	lastLine int64
	lastNL   int
}

// csvRecord is one record read ahead.
type csvRecord struct {
	line   int64
	data   []byte       // the fields, one after the other
	ends   []int        // the end of each field in data
	reason event.Reason // when the record is rejected
	err    error
}

const csvBufferSize = 64 << 10

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// emptyField is an empty field that is not nil: Row.RawNumbers holds it for
// an empty numeric value that is not a null value.
var emptyField = []byte{}

func openCSV(r *Reader, ra io.ReaderAt) (source, error) {
	s := &csvSource{}
	var bom [3]byte
	if n, _ := ra.ReadAt(bom[:], 0); n == 3 && string(bom[:]) == string(utf8BOM) {
		s.start = 3
	}
	s.in = countReader{r: io.NewSectionReader(ra, s.start, r.size-s.start), max: int64(r.opts.MaxRecordBytes)}
	// csv.Reader uses a *bufio.Reader as it is, so this sets its buffer
	// size (the default 4 KiB would cost a system call per 4 KiB read),
	// and the fast path reads from the same buffer.
	s.br = bufio.NewReaderSize(&s.in, csvBufferSize)
	s.cr = csv.NewReader(s.br)
	s.cr.ReuseRecord = true
	s.cr.FieldsPerRecord = -1 // checked here, for a better message

	rec, line, _, rerr, fatal := s.read(r)
	switch {
	case fatal == io.EOF:
		return nil, r.errorf("%w: a CSV file must start with a header row naming the columns", ErrEmpty)
	case fatal != nil:
		return nil, fatal
	case rerr != nil:
		return nil, r.errorf("header row (line %d): %w", line, rerr)
	}
	s.header = make([]string, len(rec))
	for i, name := range rec {
		s.header[i] = string(name)
		if !utf8.Valid(name) {
			return nil, r.errorf("header row: the name of column %d is not valid UTF-8", i+1)
		}
	}
	var err error
	if s.p, err = r.resolve(s.header, func(int) string { return "" }); err != nil {
		return nil, err
	}
	if s.p.pred >= 0 {
		s.predType = r.opts.Types[s.header[s.p.pred]]
	}
	if s.p.label >= 0 {
		s.labelType = r.opts.Types[s.header[s.p.label]]
	}
	if slices.ContainsFunc(r.schema.Columns, func(c Column) bool { return c.Type == 0 }) {
		s.infer(r)
	}
	s.types = make([]ColumnType, len(r.schema.Columns))
	for k, c := range r.schema.Columns {
		s.types[k] = c.Type
	}
	s.cats = make(catCache, len(r.schema.Columns))
	for k, t := range s.types {
		if t == Categorical {
			s.cats[k] = new([1 << catCacheBits]string)
		}
	}
	return s, nil
}

// infer reads up to InferRows records ahead and sets the undeclared types.
func (s *csvSource) infer(r *Reader) {
	s.sample = make([]csvRecord, 0, min(r.opts.InferRows, 1024))
	for len(s.sample) < r.opts.InferRows {
		rec, line, reason, rerr, fatal := s.read(r)
		if fatal != nil {
			s.fatal = fatal
			break
		}
		item := csvRecord{line: line, reason: reason, err: rerr}
		if rerr == nil {
			item.ends = make([]int, len(rec))
			for i, f := range rec {
				item.data = append(item.data, f...)
				item.ends[i] = len(item.data)
			}
		}
		s.sample = append(s.sample, item)
	}
	cols := r.schema.Columns
	for k := range cols {
		if cols[k].Type != 0 {
			continue
		}
		cols[k].Type, cols[k].Inferred = Numeric, true
		col := s.p.feats[k]
		for i := range s.sample {
			it := &s.sample[i]
			if it.ends == nil {
				continue
			}
			from := 0
			if col > 0 {
				from = it.ends[col-1]
			}
			if v := it.data[from:it.ends[col]]; !r.nulls.hasBytes(v) {
				if _, ok := parseNumber(v); !ok {
					cols[k].Type = Categorical
					break
				}
			}
		}
	}
}

func (s *csvSource) next(r *Reader) error {
	for {
		var (
			rec    [][]byte
			line   int64
			reason event.Reason
			rerr   error
		)
		if len(s.sample) > 0 {
			it := &s.sample[0]
			line, reason, rerr = it.line, it.reason, it.err
			if it.ends != nil {
				s.fields = s.fields[:0]
				from := 0
				for _, end := range it.ends {
					s.fields = append(s.fields, it.data[from:end])
					from = end
				}
				rec = s.fields
			}
			*it = csvRecord{}
			if s.sample = s.sample[1:]; len(s.sample) == 0 {
				s.sample = nil
			}
		} else if s.fatal != nil {
			return s.fatal
		} else {
			var fatal error
			if rec, line, reason, rerr, fatal = s.read(r); fatal != nil {
				s.fatal = fatal
				return fatal
			}
		}
		if rerr != nil {
			r.reject(line, "", reason, rerr)
			continue
		}
		if s.fill(r, rec, line) {
			return nil
		}
	}
}

// read reads one record: its fields, valid until the next read, and the
// line it starts on. A bad record comes with its reason and error; a fatal
// error (io.EOF at the end) means there is no record.
func (s *csvSource) read(r *Reader) (rec [][]byte, line int64, reason event.Reason, rerr, fatal error) {
	recStart := s.off
	for {
		// Only what is buffered: a read from the file is left to cr.
		buf, _ := s.br.Peek(s.br.Buffered())
		n := bytes.IndexByte(buf, '\n')
		if n < 0 {
			break
		}
		l := buf[:n]
		if n > 0 && l[n-1] == '\r' {
			l = l[:n-1] // encoding/csv reads \r\n as \n
		}
		if len(l) == 0 {
			// A blank line, which encoding/csv skips.
			_, _ = s.br.Discard(n + 1)
			s.off += int64(n + 1)
			s.line++
			continue
		}
		if bytes.IndexByte(l, '"') >= 0 {
			break // quoted fields, or a stray quote that makes the record invalid
		}
		s.fields = splitFields(s.fields[:0], l)
		// Discarding keeps the bytes in the buffer until the next read.
		_, _ = s.br.Discard(n + 1)
		s.off += int64(n + 1)
		s.line++
		s.lastLine, s.lastNL = s.line, 0
		reason, rerr := s.fieldCount(len(s.fields))
		return s.fields, s.line, reason, rerr, nil
	}
	return s.readCSV(r, recStart)
}

// fieldCount returns the reason and error of a record of n fields, or nil.
func (s *csvSource) fieldCount(n int) (event.Reason, error) {
	if s.header != nil && n != len(s.header) {
		return ReasonFieldCount, fmt.Errorf("the record has %d fields, the header has %d", n, len(s.header))
	}
	return "", nil
}

// readCSV reads one record with encoding/csv; recStart is where the record
// began, before any blank lines read past already.
func (s *csvSource) readCSV(r *Reader, recStart int64) (rec [][]byte, line int64, reason event.Reason, rerr, fatal error) {
	s.in.recStart = recStart
	off := s.cr.InputOffset()
	strs, err := s.cr.Read()
	s.off += s.cr.InputOffset() - off
	// cr's line numbers are of the lines it read: base turns them into the file's.
	base := s.line - s.crLine
	consumed := func(crLine int64) {
		s.line, s.crLine = base+crLine, crLine
	}
	if s.in.tooLarge {
		where := "the header row"
		if s.header != nil {
			where = "the record after line " + strconv.FormatInt(s.lastLine+int64(s.lastNL), 10)
		}
		return nil, 0, "", nil, r.errorf("%s is longer than %d bytes (MaxRecordBytes): is a quote left open?", where, s.in.max)
	}
	if err != nil {
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			// The record's lines are read to the one with the error.
			consumed(int64(pe.Line))
			start := base + int64(pe.StartLine)
			if pe.Line != pe.StartLine {
				return nil, start, ReasonInvalidCSV, fmt.Errorf("at line %d, byte %d: %w", base+int64(pe.Line), pe.Column, pe.Err), nil
			}
			return nil, start, ReasonInvalidCSV, fmt.Errorf("at byte %d: %w", pe.Column, pe.Err), nil
		case err == io.EOF:
			return nil, 0, "", nil, io.EOF
		default:
			return nil, 0, "", nil, r.errorf("reading after line %d: %w", s.lastLine, err)
		}
	}
	l, _ := s.cr.FieldPos(0)
	line = base + int64(l)
	// The record ends on the line of its last field, plus the line breaks
	// quoted in that field.
	l, _ = s.cr.FieldPos(len(strs) - 1)
	s.lastLine, s.lastNL = base+int64(l), strings.Count(strs[len(strs)-1], "\n")
	consumed(int64(l + s.lastNL))
	// The fields are copied, so that there is one kind of record to fill.
	s.scratch = s.scratch[:0]
	for _, f := range strs {
		s.scratch = append(s.scratch, f...)
	}
	s.fields = s.fields[:0]
	from := 0
	for _, f := range strs {
		s.fields = append(s.fields, s.scratch[from:from+len(f)])
		from += len(f)
	}
	reason, rerr = s.fieldCount(len(strs))
	return s.fields, line, reason, rerr, nil
}

// fill converts a record to r.row and reports whether it is kept.
func (s *csvSource) fill(r *Reader, rec [][]byte, line int64) bool {
	p := r.resetRow(line)
	// Mapped columns first: a rejected row counts no type mismatches.
	if c := s.p.model; c >= 0 {
		m := rec[c]
		if r.nulls.hasBytes(m) {
			m = nil
		} else if why := r.checkString(string(m)); why != "" {
			r.reject(line, s.header[c], event.ReasonInvalidValue, errors.New(why))
			return false
		}
		model := ""
		if len(m) > 0 {
			model = r.strs.bytes(m)
		}
		if !r.setModel(p, line, s.header[c], model) {
			return false
		}
	}
	if c := s.p.id; c >= 0 {
		if v := rec[c]; !r.nulls.hasBytes(v) {
			id := string(v)
			if why := r.checkString(id); why != "" {
				r.reject(line, s.header[c], event.ReasonInvalidValue, errors.New(why))
				return false
			}
			p.ID = id
		}
	}
	if c := s.p.ts; c >= 0 {
		if v := rec[c]; !r.nulls.hasBytes(v) {
			t, err := parseTime(string(v))
			if err != nil {
				r.reject(line, s.header[c], event.ReasonInvalidTimestamp, err)
				return false
			}
			p.Time = t
		}
	}
	if c := s.p.pred; c >= 0 {
		v, err := r.bytesValue(rec[c], s.predType)
		if err != nil {
			r.reject(line, s.header[c], event.ReasonInvalidValue, err)
			return false
		}
		p.Prediction = v
	}
	if c := s.p.score; c >= 0 {
		f, ok, err := r.bytesScore(rec[c])
		if err != nil {
			r.reject(line, s.header[c], event.ReasonInvalidValue, err)
			return false
		}
		p.Score, p.HasScore = f, ok
	}
	if c := s.p.label; c >= 0 {
		v, err := r.bytesValue(rec[c], s.labelType)
		if err != nil {
			r.reject(line, s.header[c], event.ReasonInvalidValue, err)
			return false
		}
		r.row.Label, r.row.HasLabel = v, v.Kind != event.Missing
	}

	feats := r.feats
	raw := r.row.RawNumbers
	clear(raw)
	for k, c := range s.p.feats {
		v := rec[c]
		f := &feats[k].Value
		if r.nulls.hasBytes(v) {
			setMissing(f)
			continue
		}
		if s.types[k] == Numeric {
			if raw != nil {
				// Converted by the caller (Options.DeferNumbers).
				setMissing(f)
				if v == nil {
					v = emptyField
				}
				raw[k] = v
				continue
			}
			x, ok := parseNumber(v)
			if !ok {
				setMissing(f)
				why := ""
				if r.reporting() {
					why = quote(string(v)) + " is not a number"
				}
				r.mismatch(line, k, ReasonTypeMismatch, why)
				continue
			}
			setNumber(f, x)
			continue
		}
		// Categories repeat: the column's cache of recent ones holds most, checked
		// already; the others are checked and interned, so that they cost a
		// lookup and no allocation.
		str, ok := s.cats.get(k, v)
		if !ok {
			if len(v) > r.limits.MaxStringLen || !utf8.Valid(v) {
				setMissing(f)
				r.mismatch(line, k, ReasonTypeMismatch, r.checkString(string(v)))
				continue
			}
			str = r.strs.bytes(v)
			s.cats.put(k, str)
		}
		setStr(&f.Str, str)
		f.Kind, f.Num = event.String, 0
	}
	return true
}

func (s *csvSource) bytesRead() int64 { return s.start + s.in.n }

func (s *csvSource) close() {}

// countReader counts the bytes read, and fails once more than max bytes
// have been read since recStart: csv.Reader would otherwise buffer a record
// of any length.
type countReader struct {
	r        io.Reader
	n        int64
	recStart int64
	max      int64
	tooLarge bool
}

var errTooLarge = errors.New("record too large")

func (c *countReader) Read(p []byte) (int, error) {
	if c.tooLarge || c.max > 0 && c.n-c.recStart > c.max {
		c.tooLarge = true
		return 0, errTooLarge
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// catCacheBits sets the number of categories a column's cache holds: 1<<catCacheBits
// (a 1 KiB table per categorical column).
const catCacheBits = 6

// catCache holds, for each categorical column, the strings of its recent categories,
// direct-mapped by a hash of a few bytes: cheaper than the interner's map for the few
// categories a column usually has. It holds only values that are valid strings.
// A numeric column has none.
type catCache []*[1 << catCacheBits]string

// get returns the cached string equal to category b of schema column k.
func (c catCache) get(k int, b []byte) (string, bool) {
	if v := c[k][strhash.Short(b)>>(32-catCacheBits)]; v == string(b) {
		return v, true
	}
	return "", false
}

// put caches category v of schema column k, replacing any category in its slot.
func (c catCache) put(k int, v string) {
	c[k][strhash.Short(v)>>(32-catCacheBits)] = v
}

// splitFields appends the comma-separated fields of line to fields. It looks
// at eight bytes at a time: fields are short, and a call of bytes.IndexByte
// per field costs more than the field's bytes.
func splitFields(fields [][]byte, line []byte) [][]byte {
	const (
		ones   = 0x0101010101010101
		highs  = 0x8080808080808080
		lows   = 0x7F7F7F7F7F7F7F7F
		commas = ',' * ones
	)
	start, i := 0, 0
	for ; i+8 <= len(line); i += 8 {
		v := binary.LittleEndian.Uint64(line[i:]) ^ commas
		// The high bit of each byte that was a comma (is now zero), exactly: no
		// carry crosses a byte.
		m := ^((v&lows + lows) | v) & highs
		for m != 0 {
			end := i + bits.TrailingZeros64(m)>>3
			fields = append(fields, line[start:end:end])
			start = end + 1
			m &= m - 1
		}
	}
	for ; i < len(line); i++ {
		if line[i] == ',' {
			fields = append(fields, line[start:i:i])
			start = i + 1
		}
	}
	return append(fields, line[start:])
}
