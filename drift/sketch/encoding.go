package sketch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
)

// The encodings start with a version byte and a kind byte. Version 1 fixes
// the index mapping (logarithmic, RelativeAccuracy 0.01) and MaxBuckets;
// a change to either needs a new version.
const (
	encodingVersion = 1
	kindNumeric     = 'N'
	kindCategorical = 'C'
)

// maxExactCount bounds every count: the sketch's stores count in float64,
// exact up to 2^53.
const maxExactCount = 1 << 53

// ErrCorrupt is wrapped by the errors of UnmarshalBinary for input that is
// not a valid encoding.
var ErrCorrupt = errors.New("corrupt summary encoding")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("sketch: %w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// AppendBinary appends the encoding of s to b (encoding.BinaryAppender).
//
// Layout (version 1), integers as unsigned varints unless noted, floats as
// 8 bytes little-endian: version 1, kind 'N'; the number of edges, the
// edges, the centre, the scale; the count of each bin; the number of finite values n
// and of non-finite ones; if n > 0 the minimum, maximum, mean and M2; the
// zero-bucket count; then the positive and the negative store, each as its
// number of non-empty buckets, the first index (signed varint) and count,
// and for each further bucket its index gap and count. About 2 to 3 bytes
// per non-empty bucket: see the package documentation for sizes.
func (s *Numeric) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, encodingVersion, kindNumeric)
	b = binary.AppendUvarint(b, uint64(len(s.edges)))
	for _, e := range s.edges {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e))
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.center))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.scale))
	for _, c := range s.counts {
		b = binary.AppendUvarint(b, uint64(c))
	}
	b = binary.AppendUvarint(b, uint64(s.n))
	b = binary.AppendUvarint(b, uint64(s.bad))
	if s.n > 0 {
		for _, v := range [...]float64{s.min, s.max, s.mean, s.m2} {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	b = binary.AppendUvarint(b, uint64(s.zero))
	for _, st := range [...]*store{&s.pos, &s.neg} {
		var buckets uint64
		st.forEach(func(int, uint64) { buckets++ })
		b = binary.AppendUvarint(b, buckets)
		first, prev := true, 0
		st.forEach(func(k int, n uint64) {
			if first {
				b = binary.AppendVarint(b, int64(k))
				first = false
			} else {
				b = binary.AppendUvarint(b, uint64(k-prev))
			}
			b = binary.AppendUvarint(b, n)
			prev = k
		})
	}
	return b, nil
}

// MarshalBinary encodes s (encoding.BinaryMarshaler), as [Numeric.AppendBinary].
func (s *Numeric) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary replaces s by the summary encoded in data
// (encoding.BinaryUnmarshaler). Input that is not a valid encoding of this
// version gives an error wrapping [ErrCorrupt] and leaves s unchanged; it
// never panics, and the memory it allocates is bounded as for any summary.
func (s *Numeric) UnmarshalBinary(data []byte) error {
	r := reader{b: data}
	if err := r.header(kindNumeric); err != nil {
		return err
	}
	ne := r.uvarint()
	if ne > maxEdges || ne*8 > uint64(len(r.b)) {
		return corrupt("%d bin edges", ne)
	}
	var edges []float64 // nil without edges, as NewNumeric leaves it
	if ne > 0 {
		edges = make([]float64, ne)
	}
	for i := range edges {
		edges[i] = r.float()
	}
	center, scale := r.float(), r.float()
	if r.err != nil {
		return r.err
	}
	if err := validOptions(len(edges), center, scale); err != nil {
		return corrupt("%v", err)
	}
	d := newNumeric(edges, center, scale)
	var binned uint64
	for i := range d.counts {
		c := r.count()
		binned += c
		d.counts[i] = int64(c)
	}
	n, bad := r.count(), r.count()
	d.n, d.bad = int64(n), int64(bad)
	if r.err == nil && binned != n {
		return corrupt("bin counts sum to %d, not %d", binned, n)
	}
	if n > 0 {
		d.min, d.max, d.mean, d.m2 = r.float(), r.float(), r.float(), r.float()
		// The moments may have overflowed on extreme values; only the
		// extremes must be sound.
		if !(d.min <= d.max) || math.IsInf(d.min, 0) || math.IsInf(d.max, 0) {
			return corrupt("minimum %v, maximum %v", d.min, d.max)
		}
	}
	zero := r.count()
	d.zero = int64(zero)
	sketched := zero
	for _, st := range [...]*store{&d.pos, &d.neg} {
		buckets := r.uvarint()
		k := int64(0)
		first := int64(0)
		for i := uint64(0); i < buckets && r.err == nil; i++ {
			if i == 0 {
				k = r.varint()
				first = k
			} else {
				gap := r.uvarint()
				if gap == 0 || gap >= MaxBuckets {
					return corrupt("bucket index gap %d", gap)
				}
				k += int64(gap)
			}
			c := r.count()
			if r.err != nil {
				break
			}
			if k < int64(d.lo) || k > int64(d.hi) || k-first >= MaxBuckets || c == 0 {
				return corrupt("bucket %d (count %d)", k, c)
			}
			sketched += c
			if sketched > maxExactCount {
				return corrupt("count overflow")
			}
			st.add(int(k), c)
		}
	}
	if r.err == nil && len(r.b) > 0 {
		return corrupt("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return r.err
	}
	if sketched != n {
		return corrupt("sketch counts sum to %d, not %d", sketched, n)
	}
	*s = *d
	return nil
}

// AppendBinary appends the encoding of c to b (encoding.BinaryAppender).
//
// Layout (version 1), integers as unsigned varints: version 1, kind 'C'; the
// limit, the overflow count, the number of categories; then for each
// category in ascending order its length, its bytes and its count.
func (c *Categorical) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, encodingVersion, kindCategorical)
	b = binary.AppendUvarint(b, uint64(c.limit))
	b = binary.AppendUvarint(b, uint64(c.overflow))
	b = binary.AppendUvarint(b, uint64(len(c.counts)))
	for _, k := range slices.Sorted(maps.Keys(c.counts)) {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(c.counts[k]))
	}
	return b, nil
}

// MarshalBinary encodes c (encoding.BinaryMarshaler), as [Categorical.AppendBinary].
func (c *Categorical) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// maxCategoriesLimit bounds the limit accepted when decoding.
const maxCategoriesLimit = 1 << 24

// UnmarshalBinary replaces c by the summary encoded in data
// (encoding.BinaryUnmarshaler). Input that is not a valid encoding gives an
// error wrapping [ErrCorrupt] and leaves c unchanged; it never panics.
func (c *Categorical) UnmarshalBinary(data []byte) error {
	r := reader{b: data}
	if err := r.header(kindCategorical); err != nil {
		return err
	}
	limit := r.uvarint()
	overflow := r.count()
	cats := r.uvarint()
	if r.err != nil {
		return r.err
	}
	if limit == 0 || limit > maxCategoriesLimit || cats > limit || cats > uint64(len(r.b))/2 {
		return corrupt("%d categories, limit %d", cats, limit)
	}
	d := &Categorical{counts: make(map[string]int64, cats), limit: int(limit), overflow: int64(overflow)}
	total := overflow
	prev := ""
	for i := uint64(0); i < cats; i++ {
		l := r.uvarint()
		if r.err != nil || l > uint64(len(r.b)) {
			return corrupt("category length")
		}
		k := string(r.b[:l])
		r.b = r.b[l:]
		v := r.count()
		if r.err != nil {
			return r.err
		}
		if v == 0 || (i > 0 && k <= prev) {
			return corrupt("category %q", k)
		}
		total += v
		if total > maxExactCount {
			return corrupt("count overflow")
		}
		d.counts[k] = int64(v)
		prev = k
	}
	if len(r.b) > 0 {
		return corrupt("%d trailing bytes", len(r.b))
	}
	d.n = int64(total)
	*c = *d
	return nil
}

// reader decodes varints and floats, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) header(kind byte) error {
	if len(r.b) < 2 {
		return corrupt("short input")
	}
	if r.b[0] != encodingVersion {
		return corrupt("unsupported version %d", r.b[0])
	}
	if r.b[1] != kind {
		return corrupt("kind %q, want %q", r.b[1], kind)
	}
	r.b = r.b[2:]
	return nil
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = corrupt("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = corrupt("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count is a uvarint that must fit the sketch's exact counting range.
func (r *reader) count() uint64 {
	v := r.uvarint()
	if v > maxExactCount && r.err == nil {
		r.err = corrupt("count %d too large", v)
	}
	return v
}

func (r *reader) float() float64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.err = corrupt("short input")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}
