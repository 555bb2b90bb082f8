package dataset

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigilml/vigil/monitor/event"
)

// refCSVSource is the CSV reader before the fast path (commit 82e5086):
// encoding/csv, record by record, a string per record. The fast path must
// read every input as it does.
type refCSVSource struct {
	in     countReader
	start  int64 // bytes skipped before the header: a byte order mark
	cr     *csv.Reader
	header []string
	p      plan
	types  []ColumnType // of the schema columns
	// Declared types of the prediction and label columns, or 0.
	predType, labelType ColumnType

	// Records read ahead to infer types, returned before reading on.
	sample []refCSVRecord
	fatal  error // what ended the read-ahead early, returned after sample

	// Position of the last record, for the message of a record too large.
	lastLine  int64
	lastField string
}

// refCSVRecord is one record read ahead.
type refCSVRecord struct {
	line   int64
	rec    []string
	reason event.Reason // when the record is rejected
	err    error
}

func openRefCSV(r *Reader, ra io.ReaderAt) (source, error) {
	s := &refCSVSource{}
	var bom [3]byte
	if n, _ := ra.ReadAt(bom[:], 0); n == 3 && string(bom[:]) == string(utf8BOM) {
		s.start = 3
	}
	s.in = countReader{r: io.NewSectionReader(ra, s.start, r.size-s.start), max: int64(r.opts.MaxRecordBytes)}
	// csv.Reader uses a *bufio.Reader as it is, so this sets its buffer
	// size (the default 4 KiB would cost a system call per 4 KiB read).
	s.cr = csv.NewReader(bufio.NewReaderSize(&s.in, csvBufferSize))
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
	s.header = slices.Clone(rec)
	for i, name := range s.header {
		if !utf8.ValidString(name) {
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
	return s, nil
}

// infer reads up to InferRows records ahead and sets the undeclared types.
func (s *refCSVSource) infer(r *Reader) {
	s.sample = make([]refCSVRecord, 0, min(r.opts.InferRows, 1024))
	for len(s.sample) < r.opts.InferRows {
		rec, line, reason, rerr, fatal := s.read(r)
		if fatal != nil {
			s.fatal = fatal
			break
		}
		item := refCSVRecord{line: line, reason: reason, err: rerr}
		if rerr == nil {
			item.rec = slices.Clone(rec) // the strings are not reused, the slice is
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
		for _, it := range s.sample {
			if it.rec == nil {
				continue
			}
			if v := it.rec[col]; !r.nulls.has(v) {
				if _, ok := parseNumber(v); !ok {
					cols[k].Type = Categorical
					break
				}
			}
		}
	}
}

func (s *refCSVSource) next(r *Reader) error {
	for {
		var (
			rec    []string
			line   int64
			reason event.Reason
			rerr   error
		)
		if len(s.sample) > 0 {
			it := &s.sample[0]
			rec, line, reason, rerr = it.rec, it.line, it.reason, it.err
			*it = refCSVRecord{}
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

// read reads one record. A bad record comes with its reason and error; a
// fatal error (io.EOF at the end) means there is no record.
func (s *refCSVSource) read(r *Reader) (rec []string, line int64, reason event.Reason, rerr, fatal error) {
	s.in.recStart = s.cr.InputOffset()
	rec, err := s.cr.Read()
	if s.in.tooLarge {
		where := "the header row"
		if s.header != nil {
			where = "the record after line " + strconv.FormatInt(s.lastLine+int64(strings.Count(s.lastField, "\n")), 10)
		}
		return nil, 0, "", nil, r.errorf("%s is longer than %d bytes (MaxRecordBytes): is a quote left open?", where, s.in.max)
	}
	if err != nil {
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			if pe.Line != pe.StartLine {
				return nil, int64(pe.StartLine), ReasonInvalidCSV, fmt.Errorf("at line %d, byte %d: %w", pe.Line, pe.Column, pe.Err), nil
			}
			return nil, int64(pe.StartLine), ReasonInvalidCSV, fmt.Errorf("at byte %d: %w", pe.Column, pe.Err), nil
		case err == io.EOF:
			return nil, 0, "", nil, io.EOF
		default:
			return nil, 0, "", nil, r.errorf("reading after line %d: %w", s.lastLine, err)
		}
	}
	l, _ := s.cr.FieldPos(0)
	line = int64(l)
	// The record ends on the line of its last field, plus the line breaks
	// quoted in that field (counted only for a message).
	l, _ = s.cr.FieldPos(len(rec) - 1)
	s.lastLine, s.lastField = int64(l), rec[len(rec)-1]
	if s.header != nil && len(rec) != len(s.header) {
		return rec, line, ReasonFieldCount, fmt.Errorf("the record has %d fields, the header has %d", len(rec), len(s.header)), nil
	}
	return rec, line, "", nil, nil
}

// fill converts a record to r.row and reports whether it is kept.
func (s *refCSVSource) fill(r *Reader, rec []string, line int64) bool {
	p := r.resetRow(line)
	// Mapped columns first: a rejected row counts no type mismatches.
	if c := s.p.model; c >= 0 {
		m := rec[c]
		if r.nulls.has(m) {
			m = ""
		} else if why := r.checkString(m); why != "" {
			r.reject(line, s.header[c], event.ReasonInvalidValue, errors.New(why))
			return false
		}
		if !r.setModel(p, line, s.header[c], r.strs.str(m)) {
			return false
		}
	}
	if c := s.p.id; c >= 0 {
		if v := rec[c]; !r.nulls.has(v) {
			if why := r.checkString(v); why != "" {
				r.reject(line, s.header[c], event.ReasonInvalidValue, errors.New(why))
				return false
			}
			p.ID = v
		}
	}
	if c := s.p.ts; c >= 0 {
		if v := rec[c]; !r.nulls.has(v) {
			t, err := parseTime(v)
			if err != nil {
				r.reject(line, s.header[c], event.ReasonInvalidTimestamp, err)
				return false
			}
			p.Time = t
		}
	}
	if c := s.p.pred; c >= 0 {
		v, err := r.textValue(rec[c], s.predType)
		if err != nil {
			r.reject(line, s.header[c], event.ReasonInvalidValue, err)
			return false
		}
		p.Prediction = v
	}
	if c := s.p.score; c >= 0 {
		f, ok, err := r.textScore(rec[c])
		if err != nil {
			r.reject(line, s.header[c], event.ReasonInvalidValue, err)
			return false
		}
		p.Score, p.HasScore = f, ok
	}
	if c := s.p.label; c >= 0 {
		v, err := r.textValue(rec[c], s.labelType)
		if err != nil {
			r.reject(line, s.header[c], event.ReasonInvalidValue, err)
			return false
		}
		r.row.Label, r.row.HasLabel = v, v.Kind != event.Missing
	}

	feats := r.feats
	for k, c := range s.p.feats {
		v := rec[c]
		f := &feats[k].Value
		if r.nulls.has(v) {
			setMissing(f)
			continue
		}
		if s.types[k] == Numeric {
			x, ok := parseNumber(v)
			if !ok {
				setMissing(f)
				why := ""
				if r.reporting() {
					why = quote(v) + " is not a number"
				}
				r.mismatch(line, k, ReasonTypeMismatch, why)
				continue
			}
			setNumber(f, x)
			continue
		}
		// The value is kept as it is, a part of the record's string:
		// encoding/csv allocates that string anyway, so interning would
		// save no allocation, and a lookup costs more than the rest of
		// the conversion.
		if len(v) > r.limits.MaxStringLen || !utf8.ValidString(v) {
			setMissing(f)
			r.mismatch(line, k, ReasonTypeMismatch, r.checkString(v))
			continue
		}
		setString(f, v)
	}
	return true
}

func (s *refCSVSource) bytesRead() int64 { return s.start + s.in.n }

func (s *refCSVSource) close() {}
