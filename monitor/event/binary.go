package event

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The binary form of records, for vigil's write-ahead log: compact, exact (floats keep
// every bit) and cheap to write. It is not a wire format for other programs.
const (
	binPrediction byte = 'P'
	binLabel      byte = 'L'
)

// Flags of a binary prediction.
const (
	binHasScore = 1 << iota
	binHasLatency
	binHasTime
)

// AppendPrediction appends p's binary form to b.
func AppendPrediction(b []byte, p *Prediction) []byte {
	b = append(b, binPrediction)
	var flags byte
	if p.HasScore {
		flags |= binHasScore
	}
	if p.HasLatency {
		flags |= binHasLatency
	}
	if !p.Time.IsZero() {
		flags |= binHasTime
	}
	b = append(b, flags, byte(p.Role))
	b = appendString(b, p.Model)
	b = appendString(b, p.Version)
	b = appendString(b, p.ID)
	if !p.Time.IsZero() {
		b = binary.AppendVarint(b, p.Time.UnixNano())
	}
	b = appendValue(b, p.Prediction)
	if p.HasScore {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Score))
	}
	if p.HasLatency {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.LatencyMS))
	}
	b = binary.AppendUvarint(b, uint64(len(p.Features)))
	for _, f := range p.Features {
		b = appendString(b, f.Name)
		b = appendValue(b, f.Value)
	}
	b = binary.AppendUvarint(b, uint64(len(p.Scores)))
	for _, s := range p.Scores {
		b = appendString(b, s.Class)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.P))
	}
	return b
}

// AppendLabel appends l's binary form to b.
func AppendLabel(b []byte, l *Label) []byte {
	b = append(b, binLabel)
	b = appendString(b, l.Model)
	b = appendString(b, l.ID)
	var t int64
	if !l.Time.IsZero() {
		t = l.Time.UnixNano()
		b = append(b, 1)
		b = binary.AppendVarint(b, t)
	} else {
		b = append(b, 0)
	}
	return appendValue(b, l.Label)
}

// IsPrediction reports whether b holds a binary prediction (else, a label).
func IsPrediction(b []byte) bool { return len(b) > 0 && b[0] == binPrediction }

// DecodePrediction reads a binary prediction into p, reusing p's slices. Strings are
// copied out of b.
func DecodePrediction(b []byte, p *Prediction) error {
	r := binReader{b: b}
	if r.byte() != binPrediction {
		return errors.New("not a binary prediction")
	}
	flags := r.byte()
	role := Role(r.byte())
	if role > RoleShadow {
		r.fail("role %d", role)
	}
	*p = Prediction{Features: p.Features[:0], Scores: p.Scores[:0], Role: role}
	p.Model = r.string()
	p.Version = r.string()
	p.ID = r.string()
	if flags&binHasTime != 0 {
		p.Time = time.Unix(0, r.varint()).UTC()
	}
	p.Prediction = r.value()
	if flags&binHasScore != 0 {
		p.Score, p.HasScore = r.float(), true
	}
	if flags&binHasLatency != 0 {
		p.LatencyMS, p.HasLatency = r.float(), true
	}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		name := r.string()
		p.Features = append(p.Features, Feature{Name: name, Value: r.value()})
	}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		class := r.string()
		p.Scores = append(p.Scores, ClassScore{Class: class, P: r.float()})
	}
	return r.done()
}

// DecodeLabel reads a binary label into l.
func DecodeLabel(b []byte, l *Label) error {
	r := binReader{b: b}
	if r.byte() != binLabel {
		return errors.New("not a binary label")
	}
	*l = Label{Model: r.string(), ID: r.string()}
	if r.byte() == 1 {
		l.Time = time.Unix(0, r.varint()).UTC()
	}
	l.Label = r.value()
	return r.done()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendValue(b []byte, v Value) []byte {
	b = append(b, byte(v.Kind))
	switch v.Kind {
	case Number, Bool:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Num))
	case String:
		b = appendString(b, v.Str)
	}
	return b
}

type binReader struct {
	b   []byte
	err error
}

func (r *binReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("binary record: "+format, args...)
	}
}

func (r *binReader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *binReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if r.err != nil || n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *binReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if r.err != nil || n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length that must fit in what is left (each item takes at least a byte).
func (r *binReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("count %d exceeds the record", n)
		return 0
	}
	return int(n)
}

func (r *binReader) string() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *binReader) float() float64 {
	if r.err != nil || len(r.b) < 8 {
		r.fail("truncated")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *binReader) value() Value {
	k := Kind(r.byte())
	switch k {
	case Missing:
		return Value{}
	case Number, Bool:
		return Value{Kind: k, Num: r.float()}
	case String:
		return Value{Kind: k, Str: r.string()}
	}
	r.fail("value kind %d", k)
	return Value{}
}

func (r *binReader) done() error {
	if r.err == nil && len(r.b) > 0 {
		r.fail("%d bytes after the record", len(r.b))
	}
	return r.err
}
