package dataset

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/vigilml/vigil/monitor/event"
)

// pqKind is how the values of a Parquet column are converted.
type pqKind uint8

const (
	pqUnsupported pqKind = iota
	pqBool
	pqInt32
	pqInt64
	pqUint32
	pqUint64
	pqFloat
	pqDouble
	pqDecimalBytes // big-endian two's complement (BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY)
	pqInt96        // legacy timestamps: nanoseconds of the day and Julian day
	pqText         // BYTE_ARRAY strings, enums, JSON
	pqUUID         // FIXED_LEN_BYTE_ARRAY(16)
)

const (
	// valueBufferSize is the number of values read from a column at a time.
	valueBufferSize = 256
	// parquetBufferSize is the read buffer of each column.
	parquetBufferSize = 64 << 10
)

// pqCol is one column read.
type pqCol struct {
	name string
	leaf int // leaf column index in the file
	kind pqKind
	// A number is float64(raw) / div * mul: decimals divide by 10^scale,
	// timestamps by their units per second, dates multiply by 86400.
	div, mul float64
	scale    int32
	tsUnit   int64 // nanoseconds per unit of a TIMESTAMP column, else 0
	date     bool  // a DATE column (days)
	clock    bool  // a TIME column (time of day): not an instant

	vr   parquet.ColumnChunkValueReader
	buf  []parquet.Value
	n, i int
}

// pqSource reads a Parquet file column chunk by column chunk, one page of
// each column at a time.
type pqSource struct {
	ra     *countReaderAt
	file   *parquet.File
	groups []parquet.RowGroup
	group  int   // index of the current row group, -1 before the first
	left   int64 // rows left in the current row group
	rowNum int64

	cols  []pqCol // the features in schema order, then the mapped columns
	types []ColumnType
	// Indexes in cols of the mapped columns, or -1.
	pred, score, label, id, ts, model int
	predType, labelType               ColumnType
}

func openParquet(r *Reader, ra io.ReaderAt) (s *pqSource, err error) {
	s = &pqSource{ra: &countReaderAt{r: ra}, group: -1}
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, r.errorf("corrupt Parquet file: %v", p)
		}
	}()
	// parquet-go allocates the footer size written at the end of the file
	// before it reads the footer: check it first.
	var tail [8]byte
	if r.size < 12 {
		return nil, r.errorf("not a readable Parquet file: %d bytes are too few", r.size)
	}
	if _, err := ra.ReadAt(tail[:], r.size-8); err != nil {
		return nil, r.errorf("reading the Parquet footer: %w", err)
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > r.size-12 {
		return nil, r.errorf("not a readable Parquet file: its footer size, %d bytes, exceeds the file", n)
	}
	s.file, err = parquet.OpenFile(s.ra, r.size,
		parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true),
		// Pages are read through a buffer of this size per column; the
		// default, 4 KiB, costs a system call per 4 KiB.
		parquet.ReadBufferSize(parquetBufferSize))
	if err != nil {
		return nil, r.errorf("not a readable Parquet file: %w", err)
	}
	if err := s.checkLayout(r.size); err != nil {
		return nil, r.errorf("corrupt Parquet file: %w", err)
	}
	s.groups = s.file.RowGroups()

	top := s.file.Root().Columns()
	names := make([]string, len(top))
	all := make([]pqCol, len(top))
	whys := make([]string, len(top))
	for i, c := range top {
		names[i] = c.Name()
		all[i], whys[i] = classify(c)
	}
	p, err := r.resolve(names, func(i int) string { return whys[i] })
	if err != nil {
		return nil, err
	}
	for k, i := range p.feats {
		col := &r.schema.Columns[k]
		if col.Type == 0 {
			col.Type, col.Inferred = all[i].natural(), true
		}
		s.cols = append(s.cols, all[i])
		s.types = append(s.types, col.Type)
	}
	use := func(i int, role string, ok bool, want string) (int, error) {
		if i < 0 {
			return -1, nil
		}
		if !ok {
			return -1, r.errorf("%s %s has values of type %s; want %s", role, quote(names[i]), top[i].Type(), want)
		}
		s.cols = append(s.cols, all[i])
		return len(s.cols) - 1, nil
	}
	kind := func(i int) pqKind {
		if i < 0 {
			return pqUnsupported
		}
		return all[i].kind
	}
	number := func(i int) bool { k := kind(i); return k >= pqInt32 && k <= pqInt96 }
	if s.pred, err = use(p.pred, "PredictionColumn", kind(p.pred) != pqUnsupported, "numbers, strings or booleans"); err != nil {
		return nil, err
	}
	if s.label, err = use(p.label, "LabelColumn", kind(p.label) != pqUnsupported, "numbers, strings or booleans"); err != nil {
		return nil, err
	}
	if s.score, err = use(p.score, "ScoreColumn", number(p.score) || kind(p.score) == pqText, "numbers"); err != nil {
		return nil, err
	}
	idOK := kind(p.id) == pqText || kind(p.id) == pqUUID || kind(p.id) >= pqInt32 && kind(p.id) <= pqUint64 && all[p.id].div == 1 && all[p.id].mul == 1
	if s.id, err = use(p.id, "IDColumn", idOK, "strings or integers"); err != nil {
		return nil, err
	}
	tsOK := kind(p.ts) == pqText || number(p.ts) && !all[p.ts].clock
	if s.ts, err = use(p.ts, "TimestampColumn", tsOK, "timestamps, dates, RFC 3339 strings or Unix seconds"); err != nil {
		return nil, err
	}
	if s.model, err = use(p.model, "ModelColumn", kind(p.model) == pqText, "strings"); err != nil {
		return nil, err
	}
	if p.pred >= 0 {
		s.predType = r.opts.Types[names[p.pred]]
	}
	if p.label >= 0 {
		s.labelType = r.opts.Types[names[p.label]]
	}
	for i := range s.cols {
		s.cols[i].buf = make([]parquet.Value, valueBufferSize)
	}
	return s, nil
}

// checkLayout checks that the column chunks lie within the file, so that a
// corrupt footer cannot make the reader allocate more than the file holds.
func (s *pqSource) checkLayout(size int64) error {
	md := s.file.Metadata()
	for g := range md.RowGroups {
		rg := &md.RowGroups[g]
		if rg.NumRows < 0 {
			return fmt.Errorf("row group %d has %d rows", g, rg.NumRows)
		}
		for c := range rg.Columns {
			m := &rg.Columns[c].MetaData
			start := m.DataPageOffset
			if m.DictionaryPageOffset > 0 && m.DictionaryPageOffset < start {
				start = m.DictionaryPageOffset
			}
			if start < 0 || m.TotalCompressedSize < 0 || m.TotalCompressedSize > size || start > size-m.TotalCompressedSize {
				return fmt.Errorf("column chunk %d of row group %d lies outside the file", c, g)
			}
		}
	}
	return nil
}

// classify returns how to read a top-level column, or why it cannot be read.
func classify(c *parquet.Column) (pqCol, string) {
	col := pqCol{name: c.Name(), leaf: c.Index(), div: 1, mul: 1}
	switch {
	case !c.Leaf():
		return col, "it is a group (nested columns are not supported)"
	case c.Repeated():
		return col, "it is a repeated column (lists are not supported)"
	case col.leaf < 0:
		return col, "it has no column index"
	}
	t := c.Type()
	phys := t.Kind()
	bad := func() (pqCol, string) {
		return col, "values of type " + t.String() + " are not supported"
	}
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	switch lt := lt.(type) {
	case nil:
		switch phys {
		case parquet.Boolean:
			col.kind = pqBool
		case parquet.Int32:
			col.kind = pqInt32
		case parquet.Int64:
			col.kind = pqInt64
		case parquet.Float:
			col.kind = pqFloat
		case parquet.Double:
			col.kind = pqDouble
		case parquet.ByteArray:
			col.kind = pqText // plain binary columns usually hold strings
		case parquet.Int96:
			col.kind, col.tsUnit = pqInt96, 1
		default:
			return bad()
		}
	case *format.StringType, *format.EnumType, *format.JsonType:
		if phys != parquet.ByteArray {
			return bad()
		}
		col.kind = pqText
	case *format.IntType:
		switch {
		case phys == parquet.Int32 && lt.IsSigned:
			col.kind = pqInt32
		case phys == parquet.Int32:
			col.kind = pqUint32
		case phys == parquet.Int64 && lt.IsSigned:
			col.kind = pqInt64
		case phys == parquet.Int64:
			col.kind = pqUint64
		default:
			return bad()
		}
	case *format.DecimalType:
		col.scale = lt.Scale
		col.div = math.Pow10(int(lt.Scale))
		switch phys {
		case parquet.Int32:
			col.kind = pqInt32
		case parquet.Int64:
			col.kind = pqInt64
		case parquet.ByteArray, parquet.FixedLenByteArray:
			col.kind = pqDecimalBytes
		default:
			return bad()
		}
	case *format.DateType:
		if phys != parquet.Int32 {
			return bad()
		}
		col.kind, col.date, col.mul = pqInt32, true, 86400
	case *format.TimestampType:
		if phys != parquet.Int64 {
			return bad()
		}
		col.kind, col.tsUnit = pqInt64, unitNanos(lt.Unit)
		if col.tsUnit == 0 {
			return bad()
		}
		col.div = float64(1e9 / col.tsUnit)
	case *format.TimeType:
		u := unitNanos(lt.Unit)
		switch {
		case phys == parquet.Int32 && u == 1e6:
			col.kind = pqInt32
		case phys == parquet.Int64 && u != 0 && u != 1e6:
			col.kind = pqInt64
		default:
			return bad()
		}
		col.clock, col.div = true, float64(1e9/u)
	case *format.UUIDType:
		if phys != parquet.FixedLenByteArray || t.Length() != 16 {
			return bad()
		}
		col.kind = pqUUID
	default:
		return bad()
	}
	return col, ""
}

func unitNanos(u format.TimeUnit) int64 {
	switch u.Value.(type) {
	case *format.MilliSeconds:
		return 1e6
	case *format.MicroSeconds:
		return 1e3
	case *format.NanoSeconds:
		return 1
	}
	return 0
}

// natural is the type of a feature column that is not declared.
func (c *pqCol) natural() ColumnType {
	switch c.kind {
	case pqBool, pqText, pqUUID:
		return Categorical
	}
	return Numeric
}

func (s *pqSource) next(r *Reader) error {
	for {
		for s.left == 0 {
			if err := s.nextGroup(r); err != nil {
				return err
			}
		}
		s.left--
		s.rowNum++
		for i := range s.cols {
			c := &s.cols[i]
			if c.i+1 < c.n {
				c.i++
			} else if err := c.refill(); err != nil {
				return r.errorf("row %d: %w", s.rowNum, err)
			}
		}
		if s.fill(r) {
			return nil
		}
	}
}

// nextGroup moves to the next row group; io.EOF after the last.
func (s *pqSource) nextGroup(r *Reader) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = r.errorf("corrupt Parquet row group %d: %v", s.group, p)
		}
	}()
	s.closeColumns()
	if s.group+1 >= len(s.groups) {
		return io.EOF
	}
	s.group++
	g := s.groups[s.group]
	chunks := g.ColumnChunks()
	for i := range s.cols {
		c := &s.cols[i]
		if c.leaf >= len(chunks) {
			return r.errorf("corrupt Parquet file: row group %d has no column %s", s.group, quote(c.name))
		}
		c.vr = parquet.NewColumnChunkValueReader(chunks[c.leaf])
		c.n, c.i = 0, 0
	}
	s.left = g.NumRows()
	return nil
}

// refill reads the next values of the column.
func (c *pqCol) refill() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt Parquet data in column %s: %v", quote(c.name), p)
		}
	}()
	n, err := c.vr.ReadValues(c.buf)
	if n > 0 {
		c.n, c.i = n, 0
		return nil
	}
	if err == nil || err == io.EOF {
		return fmt.Errorf("corrupt Parquet file: column %s has fewer values than its row group has rows", quote(c.name))
	}
	return fmt.Errorf("column %s: %w", quote(c.name), err)
}

func (s *pqSource) closeColumns() {
	for i := range s.cols {
		if c := &s.cols[i]; c.vr != nil {
			c.vr.Close()
			c.vr = nil
		}
	}
}

// fill converts the current values to r.row and reports whether it is kept.
func (s *pqSource) fill(r *Reader) bool {
	line := s.rowNum
	p := r.resetRow(line)
	if s.model >= 0 {
		c := &s.cols[s.model]
		m := ""
		if v := c.value(); !v.IsNull() {
			b := v.ByteArray()
			if why := r.checkBytes(b); why != "" {
				r.reject(line, c.name, event.ReasonInvalidValue, errors.New(why))
				return false
			}
			m = r.strs.bytes(b)
		}
		if !r.setModel(p, line, c.name, m) {
			return false
		}
	}
	if s.id >= 0 {
		c := &s.cols[s.id]
		if v := c.value(); !v.IsNull() {
			switch c.kind {
			case pqText:
				b := v.ByteArray()
				if why := r.checkBytes(b); why != "" {
					r.reject(line, c.name, event.ReasonInvalidValue, errors.New(why))
					return false
				}
				p.ID = string(b)
			case pqUUID:
				p.ID = formatUUID(v.ByteArray())
			case pqInt32:
				p.ID = strconv.FormatInt(int64(v.Int32()), 10)
			case pqUint32:
				p.ID = strconv.FormatUint(uint64(uint32(v.Int32())), 10)
			case pqInt64:
				p.ID = strconv.FormatInt(v.Int64(), 10)
			case pqUint64:
				p.ID = strconv.FormatUint(v.Uint64(), 10)
			}
		}
	}
	if s.ts >= 0 {
		c := &s.cols[s.ts]
		if v := c.value(); !v.IsNull() {
			t, err := c.time(v)
			if err != nil {
				r.reject(line, c.name, event.ReasonInvalidTimestamp, err)
				return false
			}
			p.Time = t
		}
	}
	if s.pred >= 0 {
		c := &s.cols[s.pred]
		v, err := r.pqValue(c, s.predType)
		if err != nil {
			r.reject(line, c.name, event.ReasonInvalidValue, err)
			return false
		}
		p.Prediction = v
	}
	if s.score >= 0 {
		c := &s.cols[s.score]
		if v := c.value(); !v.IsNull() {
			var (
				f   float64
				ok  bool
				err error
			)
			if c.kind == pqText {
				f, ok, err = r.textScore(string(v.ByteArray()))
			} else {
				f, ok, err = checkScore(c.number(v))
			}
			if err != nil {
				r.reject(line, c.name, event.ReasonInvalidValue, err)
				return false
			}
			p.Score, p.HasScore = f, ok
		}
	}
	if s.label >= 0 {
		c := &s.cols[s.label]
		v, err := r.pqValue(c, s.labelType)
		if err != nil {
			r.reject(line, c.name, event.ReasonInvalidValue, err)
			return false
		}
		r.row.Label, r.row.HasLabel = v, v.Kind != event.Missing
	}

	feats := r.feats
	for k := range feats {
		c := &s.cols[k]
		f := &feats[k].Value
		v := c.value()
		if v.IsNull() {
			setMissing(f)
			continue
		}
		numeric := s.types[k] == Numeric
		switch c.kind {
		case pqBool:
			x := 0.0
			if v.Boolean() {
				x = 1
			}
			setNumber(f, x)
			if !numeric {
				f.Kind = event.Bool
			}
		case pqText:
			b := v.ByteArray()
			if numeric {
				str := r.strs.bytes(b)
				if r.nulls.has(str) {
					setMissing(f)
					continue
				}
				x, ok := parseNumber(str)
				if !ok {
					setMissing(f)
					why := ""
					if r.reporting() {
						why = quote(str) + " is not a number"
					}
					r.mismatch(line, k, ReasonTypeMismatch, why)
					continue
				}
				setNumber(f, x)
				continue
			}
			if why := r.checkBytes(b); why != "" {
				setMissing(f)
				r.mismatch(line, k, ReasonTypeMismatch, why)
				continue
			}
			setString(f, r.strs.bytes(b))
		case pqUUID:
			if numeric {
				setMissing(f)
				r.mismatch(line, k, ReasonTypeMismatch, "a UUID is not a number")
				continue
			}
			setString(f, formatUUID(v.ByteArray()))
		default:
			x := c.number(v)
			switch {
			case math.IsNaN(x):
				setMissing(f) // NaN is how many writers store a missing float
			case math.IsInf(x, 0):
				setMissing(f)
				r.mismatch(line, k, ReasonTypeMismatch, "an infinite number is not accepted")
			default:
				setNumber(f, x)
			}
		}
	}
	return true
}

// value returns the current value of the column.
func (c *pqCol) value() *parquet.Value { return &c.buf[c.i] }

// number converts a value of a numeric column.
func (c *pqCol) number(v *parquet.Value) float64 {
	var x float64
	switch c.kind {
	case pqInt32:
		x = float64(v.Int32())
	case pqUint32:
		x = float64(uint32(v.Int32()))
	case pqInt64:
		x = float64(v.Int64())
	case pqUint64:
		x = float64(v.Uint64())
	case pqFloat:
		x = float64(v.Float())
	case pqDouble:
		x = v.Double()
	case pqBool:
		if v.Boolean() {
			x = 1
		}
	case pqDecimalBytes:
		x = decimalBytes(v.ByteArray())
	case pqInt96:
		t := int96Time(v)
		x = float64(t.Unix()) + float64(t.Nanosecond())/1e9
	default:
		return math.NaN()
	}
	if c.div != 1 {
		x /= c.div
	}
	if c.mul != 1 {
		x *= c.mul
	}
	return x
}

// time converts a value of the timestamp column.
func (c *pqCol) time(v *parquet.Value) (time.Time, error) {
	switch {
	case c.kind == pqText:
		b := v.ByteArray()
		if !utf8.Valid(b) {
			return time.Time{}, errors.New("the timestamp is not valid UTF-8")
		}
		return parseTime(string(b))
	case c.kind == pqInt96:
		return int96Time(v), nil
	case c.tsUnit == 1:
		return time.Unix(0, v.Int64()).UTC(), nil
	case c.tsUnit == 1e3:
		return time.UnixMicro(v.Int64()).UTC(), nil
	case c.tsUnit == 1e6:
		return time.UnixMilli(v.Int64()).UTC(), nil
	case c.date:
		return time.Unix(int64(v.Int32())*86400, 0).UTC(), nil
	}
	// Plain numbers are Unix seconds, as in the HTTP API.
	f := c.number(v)
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return time.Time{}, fmt.Errorf("%v is not a Unix time", f)
	case f < 0:
		return time.Time{}, fmt.Errorf("the Unix time %v is negative", f)
	case f >= maxUnix:
		return time.Time{}, tooLate(strconv.FormatFloat(f, 'g', -1, 64), f)
	}
	w, fr := math.Modf(f)
	return time.Unix(int64(w), int64(math.Round(fr*1e9))).UTC(), nil
}

// pqValue converts a value of the prediction or label column.
func (r *Reader) pqValue(c *pqCol, declared ColumnType) (event.Value, error) {
	v := c.value()
	if v.IsNull() {
		return event.Value{}, nil
	}
	switch c.kind {
	case pqBool:
		return event.BoolValue(v.Boolean()), nil
	case pqText:
		b := v.ByteArray()
		if declared == Numeric {
			return r.textValue(string(b), Numeric)
		}
		if why := r.checkBytes(b); why != "" {
			return event.Value{}, errors.New(why)
		}
		return event.StringValue(r.strs.bytes(b)), nil
	case pqUUID:
		return event.StringValue(formatUUID(v.ByteArray())), nil
	}
	x := c.number(v)
	if math.IsNaN(x) {
		return event.Value{}, nil
	}
	if math.IsInf(x, 0) {
		return event.Value{}, errors.New("an infinite number is not accepted")
	}
	return event.NumberValue(x), nil
}

// checkBytes is checkString for bytes.
func (r *Reader) checkBytes(b []byte) string {
	if len(b) > r.limits.MaxStringLen {
		return "a string of " + strconv.Itoa(len(b)) + " bytes exceeds the limit of " + strconv.Itoa(r.limits.MaxStringLen) + " bytes"
	}
	if !utf8.Valid(b) {
		return quote(string(b)) + " is not valid UTF-8"
	}
	return ""
}

// decimalBytes converts a big-endian two's complement integer.
func decimalBytes(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	if len(b) <= 8 {
		var x int64
		if b[0]&0x80 != 0 {
			x = -1
		}
		for _, c := range b {
			x = x<<8 | int64(c)
		}
		return float64(x)
	}
	n := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	f, _ := new(big.Float).SetInt(n).Float64()
	return f
}

// julianUnixEpoch is the Julian day of 1970-01-01.
const julianUnixEpoch = 2440588

// int96Time converts a legacy INT96 timestamp: nanoseconds of the day, then
// the Julian day.
func int96Time(v *parquet.Value) time.Time {
	i := v.Int96()
	nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
	days := int64(i[2]) - julianUnixEpoch
	return time.Unix(days*86400, 0).Add(time.Duration(nanos)).UTC()
}

func formatUUID(b []byte) string {
	if len(b) != 16 {
		return hex.EncodeToString(b)
	}
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

func (s *pqSource) bytesRead() int64 { return s.ra.n.Load() }

func (s *pqSource) close() { s.closeColumns() }

// countReaderAt counts the bytes read through it.
type countReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}
