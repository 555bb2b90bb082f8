package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/vigilml/vigil/monitor/event"
)

// ndjsonSource reads NDJSON line by line, decoding each line with the
// event decoder of the HTTP API.
type ndjsonSource struct {
	in   countReader
	br   *bufio.Reader
	max  int
	long []byte // a line longer than the bufio buffer
	line int64  // line number of the last line read

	dec  *event.Decoder
	pred event.Prediction // the last line decoded, copied by onPrediction
	got  bool             // onPrediction was called
	fn   func(int, *event.Prediction)

	labelKey string
	names    []string // schema column names
	types    []ColumnType
	index    map[string]int // feature name → schema column
	pos      []int          // schema column last seen at each feature position

	sample []ndjsonRecord // lines read ahead to infer types
	fatal  error          // what ended the read-ahead early
}

// ndjsonRecord is one line read ahead: a decoded prediction, or the
// rejection of the line.
type ndjsonRecord struct {
	line   int64
	pred   event.Prediction
	reason event.Reason
	err    error
}

const ndjsonBufferSize = 64 << 10

func openNDJSON(r *Reader, ra io.ReaderAt) (*ndjsonSource, error) {
	o := &r.opts
	if o.PredictionColumn != "" || o.ScoreColumn != "" || o.IDColumn != "" || o.TimestampColumn != "" || o.ModelColumn != "" {
		return nil, r.errorf("PredictionColumn, ScoreColumn, IDColumn, TimestampColumn and ModelColumn do not apply to NDJSON: each line is a prediction object with its own fields")
	}
	s := &ndjsonSource{
		in:       countReader{r: io.NewSectionReader(ra, 0, r.size)},
		max:      o.MaxRecordBytes,
		dec:      event.NewDecoder(o.Limits),
		labelKey: o.LabelColumn,
	}
	s.br = bufio.NewReaderSize(&s.in, ndjsonBufferSize)
	s.fn = s.onPrediction

	// Read ahead: the schema comes from the features seen.
	s.sample = make([]ndjsonRecord, 0, min(o.InferRows, 1024))
	for len(s.sample) < o.InferRows {
		p, reason, err := s.read(r)
		if reason == "" && err != nil {
			s.fatal = err
			break
		}
		rec := ndjsonRecord{line: s.line, reason: reason, err: err}
		if p != nil {
			rec.pred = *p
			rec.pred.Features = slices.Clone(p.Features)
			rec.pred.Scores = slices.Clone(p.Scores)
		}
		s.sample = append(s.sample, rec)
	}
	if len(s.sample) == 0 && s.fatal == io.EOF {
		return nil, r.errorf("%w: no NDJSON lines", ErrEmpty)
	}
	if err := s.buildSchema(r); err != nil {
		return nil, err
	}
	return s, nil
}

// buildSchema sets r.schema from the options and the lines read ahead.
func (s *ndjsonSource) buildSchema(r *Reader) error {
	o := &r.opts
	var names []string
	seen := make(map[string]bool)
	add := func(name string) {
		if !seen[name] && (s.labelKey == "" || name != s.labelKey) {
			seen[name] = true
			names = append(names, name)
		}
	}
	if o.FeatureColumns != nil {
		for _, name := range o.FeatureColumns {
			switch {
			case s.labelKey != "" && name == s.labelKey:
				return r.errorf("column %s is both a feature and LabelColumn", quote(name))
			case seen[name]:
				return r.errorf("feature column %s is listed twice", quote(name))
			}
			add(name)
		}
	} else {
		for i := range s.sample {
			for _, f := range s.sample[i].pred.Features {
				add(f.Name)
			}
		}
		declared := make([]string, 0, len(o.Types))
		for name := range o.Types {
			declared = append(declared, name)
		}
		sort.Strings(declared)
		for _, name := range declared {
			add(name)
		}
	}
	if len(names) > r.limits.MaxFeatures {
		return r.errorf("the first %d lines have %d different features, more than the limit of %d: set FeatureColumns", len(s.sample), len(names), r.limits.MaxFeatures)
	}
	s.names = names
	s.index = make(map[string]int, len(names))
	cols := make([]Column, len(names))
	for k, name := range names {
		s.index[name] = k
		cols[k] = Column{Name: name, Type: o.Types[name]}
		if cols[k].Type != 0 {
			continue
		}
		cols[k].Type, cols[k].Inferred = Numeric, true
	sample:
		for i := range s.sample {
			for _, f := range s.sample[i].pred.Features {
				if f.Name == name && f.Value.Kind != event.Missing && f.Value.Kind != event.Number {
					cols[k].Type = Categorical
					break sample
				}
			}
		}
	}
	r.schema.Columns = cols
	s.types = make([]ColumnType, len(cols))
	for k, c := range cols {
		s.types[k] = c.Type
	}
	return nil
}

// onPrediction copies the decoded prediction, which the decoder reuses once
// this returns (its strings may be kept), into buffers of the source.
func (s *ndjsonSource) onPrediction(_ int, p *event.Prediction) {
	feats, scores := s.pred.Features[:0], s.pred.Scores[:0]
	s.pred = *p
	s.pred.Features = append(feats, p.Features...)
	s.pred.Scores = append(scores, p.Scores...)
	s.got = true
}

func (s *ndjsonSource) next(r *Reader) error {
	for {
		if len(s.sample) > 0 {
			rec := &s.sample[0]
			if s.sample = s.sample[1:]; len(s.sample) == 0 {
				s.sample = nil
			}
			if rec.err != nil {
				r.reject(rec.line, "", rec.reason, rec.err)
				continue
			}
			s.fill(r, &rec.pred, rec.line)
			// The row's slices are those of the copy, which is dropped
			// here; it is not reused, so they stay valid.
			*rec = ndjsonRecord{}
			return nil
		}
		if s.fatal != nil {
			return s.fatal
		}
		p, reason, err := s.read(r)
		switch {
		case reason != "":
			r.reject(s.line, "", reason, err)
		case err != nil:
			s.fatal = err
			return err
		default:
			s.fill(r, p, s.line)
			return nil
		}
	}
}

// read reads and decodes the next non-blank line. It returns the
// prediction, valid until the next call; or the reason and error of a
// rejected line; or, with no reason, io.EOF or a fatal error.
func (s *ndjsonSource) read(r *Reader) (*event.Prediction, event.Reason, error) {
	for {
		line, tooLong, err := s.readLine()
		if err != nil {
			if err != io.EOF {
				err = r.errorf("reading line %d: %w", s.line+1, err)
			}
			return nil, "", err
		}
		if tooLong {
			return nil, event.ReasonTooLarge, fmt.Errorf("the line is longer than %d bytes (MaxRecordBytes)", s.max)
		}
		if blank(line) {
			continue
		}
		s.got = false
		_, errs, err := s.dec.Predictions(line, event.NDJSON, r.opts.Model, s.fn)
		switch {
		case len(errs) > 0:
			e := errs[0].Err
			var se *event.SyntaxError
			if errors.As(e, &se) {
				e = fmt.Errorf("invalid JSON at byte %d: %s", se.Column, se.Msg)
			}
			return nil, errs[0].Reason, e
		case err != nil:
			return nil, event.ReasonInvalidJSON, err
		case !s.got:
			return nil, event.ReasonInvalidJSON, errors.New("no record")
		}
		return &s.pred, "", nil
	}
}

// readLine returns the next line without its line break. A line longer
// than s.max is skipped, with tooLong set.
func (s *ndjsonSource) readLine() (line []byte, tooLong bool, err error) {
	b, err := s.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.long = append(s.long[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = s.br.ReadSlice('\n')
			if tooLong = tooLong || len(s.long)+len(b) > s.max+1; !tooLong {
				s.long = append(s.long, b...)
			}
		}
		b = s.long
	}
	switch {
	case err == io.EOF && len(b) == 0 && !tooLong:
		return nil, false, io.EOF
	case err != nil && err != io.EOF:
		return nil, false, err
	}
	s.line++
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if tooLong || len(b) > s.max {
		return nil, true, nil
	}
	return b, false, nil
}

// blank reports whether a line holds only JSON whitespace.
func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// fill sets r.row from a decoded prediction, its features in schema order.
func (s *ndjsonSource) fill(r *Reader, p *event.Prediction, line int64) {
	feats := r.feats
	r.row = Row{Line: line, Prediction: *p}
	r.row.Prediction.Features = feats
	for k := range feats {
		setMissing(&feats[k].Value)
	}
	for j, f := range p.Features {
		if s.labelKey != "" && f.Name == s.labelKey {
			r.row.Label, r.row.HasLabel = f.Value, f.Value.Kind != event.Missing
			continue
		}
		k := s.lookup(j, f.Name)
		if k < 0 {
			r.stats.UnknownFeatures++
			continue
		}
		v := f.Value
		if s.types[k] == Numeric {
			switch v.Kind {
			case event.Bool:
				v.Kind = event.Number // Num is 1 or 0
			case event.String:
				why := ""
				if r.reporting() {
					why = "the string " + quote(v.Str) + " is not a number"
				}
				r.mismatch(line, k, ReasonTypeMismatch, why)
				v = event.Value{}
			}
		}
		feats[k].Value = v
	}
}

// lookup returns the schema column of the feature at position j, or -1.
// Lines usually list features in the same order, so the column found at
// each position last time is tried first (names are interned by the
// decoder, so that comparison is usually a pointer check).
func (s *ndjsonSource) lookup(j int, name string) int {
	if j < len(s.pos) {
		if k := s.pos[j]; k >= 0 && s.names[k] == name {
			return k
		}
	}
	k, ok := s.index[name]
	if !ok {
		k = -1
	}
	for len(s.pos) <= j {
		s.pos = append(s.pos, -1)
	}
	s.pos[j] = k
	return k
}

func (s *ndjsonSource) bytesRead() int64 { return s.in.n }

func (s *ndjsonSource) close() {}
