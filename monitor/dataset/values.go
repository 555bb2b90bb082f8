package dataset

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/vigilml/vigil/monitor/event"
)

// plan maps the columns of a CSV or Parquet file to their roles.
type plan struct {
	feats []int // file column of each schema column
	// File columns of the mapped roles, -1 when absent.
	pred, score, label, id, ts, model int
}

// role is one mapped column option.
type role struct {
	option string // the Options field, for messages
	name   string
	dst    *int
}

// resolve builds the plan and r.schema (declared types only) from the
// column names of a file. unusable returns why column i cannot be read, or "".
func (r *Reader) resolve(names []string, unusable func(i int) string) (plan, error) {
	o := &r.opts
	p := plan{pred: -1, score: -1, label: -1, id: -1, ts: -1, model: -1}
	index := make(map[string]int, len(names))
	for i, n := range names {
		if _, dup := index[n]; dup && n != "" {
			return p, r.errorf("column %s appears twice", quote(n))
		}
		index[n] = i
	}
	lookup := func(what, name string) (int, error) {
		i, ok := index[name]
		if !ok || name == "" {
			return -1, r.errorf("%s %s is not a column of the file (columns: %s)", what, quote(name), listNames(names))
		}
		if why := unusable(i); why != "" {
			return -1, r.errorf("%s %s cannot be read: %s", what, quote(name), why)
		}
		return i, nil
	}
	taken := make(map[int]string) // file column → the option using it
	roles := []role{
		{"PredictionColumn", o.PredictionColumn, &p.pred},
		{"ScoreColumn", o.ScoreColumn, &p.score},
		{"LabelColumn", o.LabelColumn, &p.label},
		{"IDColumn", o.IDColumn, &p.id},
		{"TimestampColumn", o.TimestampColumn, &p.ts},
		{"ModelColumn", o.ModelColumn, &p.model},
	}
	for _, ro := range roles {
		if ro.name == "" {
			continue
		}
		i, err := lookup(ro.option, ro.name)
		if err != nil {
			return p, err
		}
		if prev, ok := taken[i]; ok {
			return p, r.errorf("column %s is both %s and %s", quote(ro.name), prev, ro.option)
		}
		taken[i] = ro.option
		*ro.dst = i
	}
	// In name order, so that the error for a file missing several is always the same.
	for _, name := range slices.Sorted(maps.Keys(o.Types)) {
		i, ok := index[name]
		if !ok {
			return p, r.errorf("declared column %s is not a column of the file (columns: %s)", quote(name), listNames(names))
		}
		if why := unusable(i); why != "" {
			return p, r.errorf("declared column %s cannot be read: %s", quote(name), why)
		}
	}
	if o.FeatureColumns != nil {
		for _, name := range o.FeatureColumns {
			i, err := lookup("feature column", name)
			if err != nil {
				return p, err
			}
			switch prev, ok := taken[i]; {
			case ok && prev == "":
				return p, r.errorf("feature column %s is listed twice", quote(name))
			case ok:
				return p, r.errorf("column %s is both a feature and %s", quote(name), prev)
			}
			taken[i] = "" // a feature
			p.feats = append(p.feats, i)
		}
	} else {
		for i, name := range names {
			if _, ok := taken[i]; ok {
				continue
			}
			if name == "" || unusable(i) != "" {
				r.schema.Ignored = append(r.schema.Ignored, name)
				continue
			}
			p.feats = append(p.feats, i)
		}
	}
	if len(p.feats) > r.limits.MaxFeatures {
		return p, r.errorf("%d feature columns exceed the limit of %d features", len(p.feats), r.limits.MaxFeatures)
	}
	r.schema.Columns = make([]Column, len(p.feats))
	for k, i := range p.feats {
		name := names[i]
		if len(name) > r.limits.MaxStringLen {
			return p, r.errorf("column name %s is longer than the limit of %d bytes", quote(name), r.limits.MaxStringLen)
		}
		r.schema.Columns[k] = Column{Name: name, Type: o.Types[name]}
	}
	return p, nil
}

// listNames lists column names for a message, shortened if many.
func listNames(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i == 20 {
			fmt.Fprintf(&b, " and %d more", len(names)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(n))
	}
	return b.String()
}

// nullSet is the set of texts read as missing values.
type nullSet struct {
	custom bool
	m      map[string]struct{}
}

func newNullSet(vals []string) nullSet {
	if vals == nil {
		return nullSet{}
	}
	m := make(map[string]struct{}, len(vals))
	for _, v := range vals {
		m[v] = struct{}{}
	}
	return nullSet{custom: true, m: m}
}

// has reports whether s is a missing value.
func (n *nullSet) has(s string) bool {
	if n.custom {
		_, ok := n.m[s]
		return ok
	}
	// DefaultNullValues; a switch is several times faster than a map.
	switch s {
	case "", "NA", "N/A", "NaN", "nan", "null", "NULL":
		return true
	}
	return false
}

// hasBytes is has for a field still in the read buffer. The string
// conversions in the map index and the switch allocate nothing.
func (n *nullSet) hasBytes(b []byte) bool {
	if n.custom {
		_, ok := n.m[string(b)]
		return ok
	}
	switch string(b) {
	case "", "NA", "N/A", "NaN", "nan", "null", "NULL":
		return true
	}
	return false
}

// text is the type of a field: a string, or bytes still in the read buffer.
type text interface{ ~string | ~[]byte }

// parseNumber parses a finite number, allowing spaces around it. Numbers too
// small for float64 become 0; too large ones, NaN and infinities are not
// numbers.
//
// For bytes, the string handed to strconv.ParseFloat (only for numbers
// parseDecimal leaves to it) does not escape, so the conversion of a number
// of up to 32 bytes is on the stack.
func parseNumber[T text](s T) (float64, bool) {
	if f, ok := parseDecimal(s); ok {
		return f, true
	}
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		var ne *strconv.NumError
		if !errors.As(err, &ne) || ne.Err != strconv.ErrRange || f != 0 {
			return 0, false
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseDecimal is a fast path of strconv.ParseFloat for the commonest
// numbers in data files: [-]digits[.digits] with at most 19 significant
// digits and 22 decimals. It returns the correctly rounded result, as
// ParseFloat does, or ok false when the number is outside that form or its
// rounding needs more precision.
func parseDecimal[T text](s T) (float64, bool) {
	i := 0
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		i = 1
	}
	start := i
	var mant uint64 // overflows only past 19 significant digits, checked below
	for ; i < len(s) && s[i]-'0' <= 9; i++ {
		mant = mant*10 + uint64(s[i]-'0')
	}
	nd, frac := i-start, 0
	if i < len(s) && s[i] == '.' {
		i++
		f0 := i
		for ; i < len(s) && s[i]-'0' <= 9; i++ {
			mant = mant*10 + uint64(s[i]-'0')
		}
		frac = i - f0
		nd += frac
	}
	if i != len(s) || nd == 0 || frac >= len(pow10) {
		return 0, false
	}
	if nd <= 15 {
		// Clinger's fast path: mantissa and power of ten are exact in
		// float64, so one correctly rounded division is the answer.
		f := float64(mant)
		if frac > 0 {
			f /= pow10[frac]
		}
		if neg {
			f = -f
		}
		return f, true
	}
	// Leading zeros are not significant.
	sig := nd
	for k := start; k < len(s) && (s[k] == '0' || s[k] == '.'); k++ {
		if s[k] == '0' {
			sig--
		}
	}
	switch {
	case sig > 19:
		return 0, false
	case mant == 0:
		if neg {
			return math.Copysign(0, -1), true
		}
		return 0, true
	case sig <= 15:
		f := float64(mant) / pow10[frac]
		if neg {
			f = -f
		}
		return f, true
	}
	return eiselLemire(mant, -frac, neg)
}

// negPow10 holds 10^-q for q = 0..22 as 128-bit mantissas, rounded down and
// normalized (top bit set), computed exactly: the table of the
// Eisel-Lemire algorithm for the exponents parseDecimal uses.
var negPow10 = func() (t [len(pow10)][2]uint64) {
	one := big.NewInt(1)
	mask := new(big.Int).Lsh(one, 64)
	mask.Sub(mask, one)
	for q := range t {
		d := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(q)), nil)
		// floor(2^k / 10^q) with k chosen to give exactly 128 bits.
		k := 127 + d.BitLen()
		x := new(big.Int).Quo(new(big.Int).Lsh(one, uint(k)), d)
		for x.BitLen() > 128 {
			k--
			x.Quo(new(big.Int).Lsh(one, uint(k)), d)
		}
		t[q][0] = new(big.Int).And(x, mask).Uint64()
		t[q][1] = new(big.Int).Rsh(x, 64).Uint64()
	}
	return t
}()

// eiselLemire converts man × 10^exp10 (exp10 in -22..0, man ≠ 0) to the
// nearest float64, following Daniel Lemire, "Number Parsing at a Gigabyte
// per Second" (2021). ok is false when the 128-bit product cannot decide the
// rounding; the caller then uses strconv.
func eiselLemire(man uint64, exp10 int, neg bool) (float64, bool) {
	pow := &negPow10[-exp10]
	clz := bits.LeadingZeros64(man)
	man <<= uint(clz)
	const bias = 1023
	// 217706/2^16 ≈ log2(10).
	exp2 := uint64(217706*exp10>>16+64+bias) - uint64(clz)
	hi, lo := bits.Mul64(man, pow[1])
	if hi&0x1FF == 0x1FF && lo+man < man {
		// The truncated power may matter: add the low half's product.
		yHi, yLo := bits.Mul64(man, pow[0])
		mHi, mLo := hi, lo+yHi
		if mLo < lo {
			mHi++
		}
		if mHi&0x1FF == 0x1FF && mLo+1 == 0 && yLo+man < man {
			return 0, false
		}
		hi, lo = mHi, mLo
	}
	msb := hi >> 63
	m := hi >> (msb + 9)
	exp2 -= 1 ^ msb
	if lo == 0 && hi&0x1FF == 0 && m&3 == 1 {
		return 0, false // exactly halfway: ties need the exact value
	}
	m += m & 1
	m >>= 1
	if m>>53 > 0 {
		m >>= 1
		exp2++
	}
	if exp2-1 >= 0x7FF-1 {
		return 0, false // subnormal or overflow
	}
	b := exp2<<52 | m&(1<<52-1)
	if neg {
		b |= 1 << 63
	}
	return math.Float64frombits(b), true
}

// maxUnix is 10000-01-01T00:00:00Z in Unix seconds, as in the HTTP API.
const maxUnix = 253402300800

// parseTime parses an RFC 3339 time or Unix seconds (a non-negative decimal
// number), as the HTTP API does, and returns it in UTC.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New(`empty timestamp`)
	}
	if c := s[0]; (c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+') && !(len(s) > 4 && s[4] == '-') {
		return parseUnix(s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf(`%s is not an RFC 3339 time (such as "2026-11-24T10:00:00Z") or Unix seconds`, quote(s))
	}
	return t.UTC(), nil
}

// parseUnix converts Unix seconds, exactly when written as digits[.digits].
func parseUnix(s string) (time.Time, error) {
	whole, frac, dot := strings.Cut(s, ".")
	sec, err := strconv.ParseUint(whole, 10, 63)
	exact := err == nil && (!dot || frac != "" && len(frac) <= 9 && digits(frac)) && (whole != "" || dot)
	if !exact {
		f, ok := parseNumber(s)
		switch {
		case !ok:
			return time.Time{}, fmt.Errorf(`%s is not an RFC 3339 time (such as "2026-11-24T10:00:00Z") or Unix seconds`, quote(s))
		case f < 0:
			return time.Time{}, fmt.Errorf("the Unix time %s is negative", quote(s))
		case f >= maxUnix:
			return time.Time{}, tooLate(s, f)
		}
		w, fr := math.Modf(f)
		return time.Unix(int64(w), int64(math.Round(fr*1e9))).UTC(), nil
	}
	if sec >= maxUnix {
		return time.Time{}, tooLate(s, float64(sec))
	}
	var nsec int64
	for i := range 9 {
		nsec *= 10
		if i < len(frac) {
			nsec += int64(frac[i] - '0')
		}
	}
	return time.Unix(int64(sec), nsec).UTC(), nil
}

func tooLate(s string, f float64) error {
	msg := "the Unix time " + quote(s) + " is after the year 9999"
	if f >= 1e11 && f < 1e20 {
		msg += "; timestamps are Unix seconds, not milliseconds, microseconds or nanoseconds"
	}
	return errors.New(msg)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Intern table bounds, as in the event decoder: at most internMaxEntries
// strings of at most internMaxLen bytes. When full the table is emptied, so
// that one-off values cannot fill it for good.
const (
	internMaxEntries = 16384
	internMaxLen     = 64
)

// interner shares the strings of repeated values (categories, model names),
// so that rows allocate no strings for them.
type interner struct {
	m map[string]string
}

// str returns s, interned when short. s may be part of a larger string
// (a CSV record), which an interned copy does not keep alive.
func (in *interner) str(s string) string {
	if len(s) > internMaxLen {
		return s
	}
	if v, ok := in.m[s]; ok {
		return v
	}
	s = strings.Clone(s)
	in.add(s)
	return s
}

// bytes returns b as a string, interned when short.
func (in *interner) bytes(b []byte) string {
	if len(b) > internMaxLen {
		return string(b)
	}
	if v, ok := in.m[string(b)]; ok {
		return v
	}
	s := string(b)
	in.add(s)
	return s
}

func (in *interner) add(s string) {
	if in.m == nil {
		in.m = make(map[string]string, 256)
	} else if len(in.m) >= internMaxEntries {
		clear(in.m)
	}
	in.m[s] = s
}

// checkString returns why s cannot be a string value, or "".
func (r *Reader) checkString(s string) string {
	if len(s) > r.limits.MaxStringLen {
		return "a string of " + strconv.Itoa(len(s)) + " bytes exceeds the limit of " + strconv.Itoa(r.limits.MaxStringLen) + " bytes"
	}
	if !utf8.ValidString(s) {
		return quote(s) + " is not valid UTF-8"
	}
	return ""
}

// textValue converts the text of a prediction or label: Missing for a null
// text, a Number when it is a number (unless declared Categorical), else a
// String (an error when declared Numeric).
func (r *Reader) textValue(s string, declared ColumnType) (event.Value, error) {
	if r.nulls.has(s) {
		return event.Value{}, nil
	}
	if declared != Categorical {
		if f, ok := parseNumber(s); ok {
			return event.NumberValue(f), nil
		}
		if declared == Numeric {
			return event.Value{}, fmt.Errorf("%s is not a number", quote(s))
		}
	}
	if why := r.checkString(s); why != "" {
		return event.Value{}, errors.New(why)
	}
	return event.StringValue(r.strs.str(s)), nil
}

// bytesValue is textValue for a field still in the read buffer.
func (r *Reader) bytesValue(b []byte, declared ColumnType) (event.Value, error) {
	if r.nulls.hasBytes(b) {
		return event.Value{}, nil
	}
	if declared != Categorical {
		if f, ok := parseNumber(b); ok {
			return event.NumberValue(f), nil
		}
		if declared == Numeric {
			return event.Value{}, fmt.Errorf("%s is not a number", quote(string(b)))
		}
	}
	if len(b) > r.limits.MaxStringLen || !utf8.Valid(b) {
		return event.Value{}, errors.New(r.checkString(string(b)))
	}
	return event.StringValue(r.strs.bytes(b)), nil
}

// bytesScore is textScore for a field still in the read buffer.
func (r *Reader) bytesScore(b []byte) (p float64, ok bool, err error) {
	if r.nulls.hasBytes(b) {
		return 0, false, nil
	}
	f, isNum := parseNumber(b)
	if !isNum {
		return 0, false, fmt.Errorf("%s is not a probability (a number from 0 to 1)", quote(string(b)))
	}
	return checkScore(f)
}

// textScore converts the text of a score column; ok is false when missing.
func (r *Reader) textScore(s string) (p float64, ok bool, err error) {
	if r.nulls.has(s) {
		return 0, false, nil
	}
	f, isNum := parseNumber(s)
	if !isNum {
		return 0, false, fmt.Errorf("%s is not a probability (a number from 0 to 1)", quote(s))
	}
	return checkScore(f)
}

func checkScore(f float64) (float64, bool, error) {
	if f < 0 || f > 1 || math.IsNaN(f) {
		return 0, false, fmt.Errorf("%v is outside [0, 1]", f)
	}
	return f, true, nil
}

// setModel sets the row's model from a model column value (or "" when the
// row names none) and reports whether the row may be kept.
func (r *Reader) setModel(p *event.Prediction, line int64, column, model string) bool {
	switch {
	case model == "":
		p.Model = r.opts.Model
	case r.opts.Model != "" && model != r.opts.Model:
		r.rejectf(line, column, event.ReasonModelMismatch, "%s does not match the model %s", quote(model), quote(r.opts.Model))
		return false
	default:
		p.Model = model
	}
	return true
}

// resetRow clears what the previous row set, keeping the feature slice.
//
// Rows are written field by field, and string fields only when they
// change: a pointer write costs a GC write barrier while the collector
// marks, which, with a string allocated per CSV record, is often.
func (r *Reader) resetRow(line int64) *event.Prediction {
	row := &r.row
	p := &row.Prediction
	row.Line, row.HasLabel = line, false
	setMissing(&row.Label)
	setStr(&p.Model, r.opts.Model)
	setStr(&p.Version, "")
	setStr(&p.ID, "")
	p.Role = event.RolePrimary
	if p.Time != (time.Time{}) {
		p.Time = time.Time{}
	}
	setMissing(&p.Prediction)
	p.Score, p.HasScore, p.LatencyMS, p.HasLatency = 0, false, 0, false
	if p.Scores != nil {
		p.Scores = nil
	}
	if len(p.Features) != len(r.feats) || len(r.feats) > 0 && &p.Features[0] != &r.feats[0] {
		p.Features = r.feats
	}
	return p
}

// setStr sets *dst to s, writing only when it changes.
func setStr(dst *string, s string) {
	if *dst != s {
		*dst = s
	}
}

// setMissing sets v to Missing.
func setMissing(v *event.Value) {
	v.Kind, v.Num = event.Missing, 0
	setStr(&v.Str, "")
}

// setNumber sets v to the Number x.
func setNumber(v *event.Value, x float64) {
	v.Kind, v.Num = event.Number, x
	setStr(&v.Str, "")
}

// setString sets v to the String s.
func setString(v *event.Value, s string) {
	v.Kind, v.Num, v.Str = event.String, 0, s
}

// hasher computes the SHA-256 of a file in a goroutine of its own.
type hasher struct {
	done    chan struct{}
	stopped atomic.Bool
	once    sync.Once
	sum     [32]byte
	err     error
}

var errHashStopped = errors.New("hashing stopped")

func startHash(ra io.ReaderAt, size int64) *hasher {
	h := &hasher{done: make(chan struct{})}
	go func() {
		defer close(h.done)
		d := sha256.New()
		buf := make([]byte, min(size, 256<<10))
		for off := int64(0); off < size; {
			if h.stopped.Load() {
				h.err = errHashStopped
				return
			}
			n, err := ra.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
			d.Write(buf[:n])
			off += int64(n)
			if err != nil && (err != io.EOF || off < size) {
				h.err = fmt.Errorf("reading the file for its hash: %w", err)
				return
			}
		}
		d.Sum(h.sum[:0])
	}()
	return h
}

// wait waits for the hash and returns its error.
func (h *hasher) wait() error {
	<-h.done
	return h.err
}

// stop ends hashing early and waits for the goroutine.
func (h *hasher) stop() {
	h.once.Do(func() {
		h.stopped.Store(true)
		<-h.done
	})
}

// ParseNumber converts the text of a numeric CSV value as [Reader.Next] does
// (Row.RawNumbers, with Options.DeferNumbers): a finite number, allowing
// spaces around it. ok is false when the text is not a number: a type
// mismatch.
func ParseNumber(b []byte) (f float64, ok bool) {
	// parseDecimal first, as parseNumber does, but without parseNumber's frame (which
	// holds the buffer of its string conversion) for the numbers that need no more.
	if f, ok := parseDecimal(b); ok {
		return f, true
	}
	return parseNumber(b)
}

// NumberMismatch returns the RowError that Next reports for the text b of
// numeric feature column, on line, that is not a number.
func NumberMismatch(line int64, column string, b []byte) *RowError {
	return &RowError{Line: line, Column: column, Reason: ReasonTypeMismatch, Err: errors.New(quote(string(b)) + " is not a number")}
}
