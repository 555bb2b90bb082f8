package sketch

import (
	"math"
	"slices"

	"github.com/vigilml/vigil/drift"
)

// A slot is one bucket of a sketch in value order: the buckets of the
// negative store from the most negative, the zero bucket, then the buckets
// of the positive store. Its key orders slots as their values: -keyBias-k
// for negative bucket k, 0 for the zero bucket, keyBias+k for positive
// bucket k (|k| < 2^31).
type slot struct {
	key int64
	n   int64
}

const keyBias = int64(1) << 40

// noCollapse is a collapse threshold below every valid index.
const noCollapse = math.MinInt32 - 1

// collapse holds the merged ranges of a comparison. Positive buckets with
// index <= pos, and negative ones with index <= neg, are merged into one slot
// that reaches to the centre: a store's lowest bucket holds the values of
// all lower buckets when Scale clamps them there, or may hold them when a
// collapsing store folded them in. Buckets with index >= top (the top of
// Scale's window, or the last indexable bucket) reach to infinity.
type collapse struct{ pos, neg, top int }

// full reports whether a store spans MaxBuckets buckets: only then can its
// lowest bucket hold collapsed values. (A store that collapsed has spanned
// exactly MaxBuckets ever since; merging it into another makes that one
// span MaxBuckets too.)
func full(lo, hi int) bool { return hi-lo+1 >= MaxBuckets }

// collapseOf returns the merged ranges of s alone.
func (s *Numeric) collapseOf() collapse {
	if s.scale > 0 {
		return collapse{pos: s.lo, neg: s.lo, top: s.hi}
	}
	c := collapse{pos: noCollapse, neg: noCollapse, top: s.hi}
	if lo, hi, ok := s.pos.bounds(); ok && full(lo, hi) {
		c.pos = lo
	}
	if lo, hi, ok := s.neg.bounds(); ok && full(lo, hi) {
		c.neg = lo
	}
	return c
}

// union is the merged ranges that apply to both a and b, of summaries with
// the same Scale.
func union(a, b collapse) collapse {
	return collapse{pos: max(a.pos, b.pos), neg: max(a.neg, b.neg), top: min(a.top, b.top)}
}

// appendSlots appends the non-empty slots of s in ascending key order,
// merging the collapsed ranges of c.
func (s *Numeric) appendSlots(dst []slot, c collapse) []slot {
	push := func(key int64, n int64) {
		if last := len(dst) - 1; last >= 0 && dst[last].key == key {
			dst[last].n += n
			return
		}
		dst = append(dst, slot{key: key, n: n})
	}
	if dst == nil {
		dst = make([]slot, 0, s.buckets())
	}
	start := len(dst)
	s.neg.forEach(func(k int, n uint64) {
		push(negKey(max(k, c.neg)), int64(n))
	})
	slices.Reverse(dst[start:])
	if s.zero > 0 {
		push(0, s.zero)
	}
	s.pos.forEach(func(k int, n uint64) {
		push(posKey(max(k, c.pos)), int64(n))
	})
	return dst
}

// buckets is an upper bound on the number of slots of s.
func (s *Numeric) buckets() int {
	n := 1
	for _, st := range [...]*store{&s.pos, &s.neg} {
		if lo, hi, ok := st.bounds(); ok {
			n += hi - lo + 1
		}
	}
	return n
}

func negKey(k int) int64 { return -keyBias - int64(k) }
func posKey(k int) int64 { return keyBias + int64(k) }

// keyOf is the slot key of a centred value y under c, as Add files it.
func keyOf(y float64, c collapse) int64 {
	switch {
	case y > minIndexable:
		return posKey(max(min(indexMapping.Index(min(y, maxIndexable)), c.top), c.pos))
	case y < -minIndexable:
		return negKey(max(min(indexMapping.Index(min(-y, maxIndexable)), c.top), c.neg))
	default:
		return 0
	}
}

// bucketLow is the lower boundary γ^k of positive bucket k, clamped to the
// indexable range.
func bucketLow(k int) float64 {
	if k > maxIndex {
		return maxIndexable
	}
	return indexMapping.LowerBound(k)
}

// lows remembers the last two boundaries computed: walking slots in order,
// each boundary is the upper one of a bucket and the lower one of the next,
// so this halves the calls to math.Exp.
type lows struct {
	k [2]int
	v [2]float64
}

func newLows() lows { return lows{k: [2]int{noCollapse, noCollapse}} }

func (l *lows) at(k int) float64 {
	switch k {
	case l.k[0]:
		return l.v[0]
	case l.k[1]:
		return l.v[1]
	}
	v := bucketLow(k)
	l.k[1], l.v[1] = l.k[0], l.v[0]
	l.k[0], l.v[0] = k, v
	return v
}

// bounds returns the interval of centred values [lo, hi] that the slot key
// covers under c. The intervals of ascending keys are ascending and touch.
func (l *lows) bounds(key int64, c collapse) (lo, hi float64) {
	switch {
	case key == 0:
		return 0, 0
	case key > 0:
		k := int(key - keyBias)
		hi = math.Inf(1)
		if k < c.top {
			hi = l.at(k + 1)
		}
		if k > c.pos {
			lo = l.at(k)
		}
		return lo, hi
	default:
		k := int(-keyBias - key)
		lo = math.Inf(-1)
		if k < c.top {
			lo = -l.at(k + 1)
		}
		if k > c.neg {
			hi = -l.at(k)
		}
		return lo, hi
	}
}

// minIndexed is the smallest float64 y > minIndexable with bucket index >= k.
func minIndexed(k int) float64 {
	if k <= minIndex {
		return math.Nextafter(minIndexable, math.Inf(1))
	}
	if k > maxIndex {
		return math.Inf(1)
	}
	y := max(indexMapping.LowerBound(k), math.Nextafter(minIndexable, math.Inf(1)))
	// LowerBound is within a few ulps of the boundary; step to it.
	for i := 0; i < 64 && indexMapping.Index(y) < k; i++ {
		y = math.Nextafter(y, math.Inf(1))
	}
	for i := 0; i < 64; i++ {
		p := math.Nextafter(y, 0)
		if p <= minIndexable || indexMapping.Index(p) < k {
			break
		}
		y = p
	}
	return y
}

// lowest is the smallest centred value that Add files in slot key under c.
func lowest(key int64, c collapse) float64 {
	switch {
	case key == 0:
		return -minIndexable
	case key > 0:
		k := int(key - keyBias)
		if k <= c.pos {
			return math.Nextafter(minIndexable, math.Inf(1))
		}
		return minIndexed(k)
	default:
		// The largest |y| of negative bucket k. The end bucket reaches
		// to -Inf: Add clamps values beyond it, so no cut inside it is exact.
		k := int(-keyBias - key)
		if k >= c.top {
			return math.Inf(-1)
		}
		return -min(math.Nextafter(minIndexed(k+1), 0), maxIndexable)
	}
}

// shift is the centred value that Add files x under: monotone in x.
func (s *Numeric) shift(x float64) float64 {
	return min(max(x-s.center, -maxIndexable), maxIndexable)
}

// cut is the smallest float64 x with s.shift(x) >= y: the value x is >= cut
// exactly when its centred value is >= y. With centre 0 it is y itself.
func (s *Numeric) cut(y float64) float64 {
	if math.IsInf(y, 0) {
		return y
	}
	x := y + s.center
	for i := 0; i < 256 && s.shift(x) < y; i++ {
		x = math.Nextafter(x, math.Inf(1))
	}
	for i := 0; i < 256; i++ {
		p := math.Nextafter(x, math.Inf(-1))
		if s.shift(p) < y {
			break
		}
		x = p
	}
	return x
}

// rank returns the slot holding the value of 0-based rank r (0 <= r < n) of
// the ascending slots, and its position.
func rank(slots []slot, r int64) int {
	var cum int64
	for i, sl := range slots {
		cum += sl.n
		if cum > r {
			return i
		}
	}
	return len(slots) - 1
}

// Quantile estimates numpy.quantile(values, q) from the sketch: the value of
// rank floor(q*(n-1)), within RelativeAccuracy of its distance to Center.
// Ranks 0 and n-1 give the exact minimum and maximum. A rank in a merged
// bucket (beyond the window of Scale, or collapsed) gives the bucket's
// finite boundary. q outside [0, 1], an empty or unusable summary give NaN.
func (s *Numeric) Quantile(q float64) float64 {
	if !s.usable() || math.IsNaN(q) || q < 0 || q > 1 {
		return math.NaN()
	}
	r := int64(math.Floor(q * float64(s.n-1)))
	switch r {
	case 0:
		return s.min
	case s.n - 1:
		return s.max
	}
	c := s.collapseOf()
	slots := s.appendSlots(nil, c)
	sl := slots[rank(slots, r)]
	// DDSketch's estimate: the point within RelativeAccuracy of the whole
	// bucket [γ^k, γ^(k+1)).
	var y float64
	l := newLows()
	switch lo, hi := l.bounds(sl.key, c); {
	case sl.key > 0 && math.IsInf(hi, 1):
		y = lo
	case sl.key > 0:
		y = lo * (1 + RelativeAccuracy)
	case sl.key < 0 && math.IsInf(lo, -1):
		y = hi
	case sl.key < 0:
		y = hi * (1 + RelativeAccuracy)
	}
	return min(max(y+s.center, s.min), s.max)
}

// Deciles returns bins for the count-based statistics from the sketch alone,
// for a reference that was streamed rather than held: each of the nine edges
// is placed on a bucket boundary next to the matching numpy decile, so that
// [Numeric.Rebin] counts every summary into them exactly. Where the decile
// interpolates between two values in different buckets, the edge splits the
// data exactly as numpy's does; otherwise it is the lower boundary of the
// decile's bucket, which also matches numpy when the bucket holds a single
// distinct value (ties, integers), and is at most one bucket (2% of the
// distance to the centre) below it otherwise. An empty or unusable summary
// gives NaN edges, as [drift.Sample.Bins] of an empty sample.
func (s *Numeric) Deciles() drift.Bins {
	edges := make([]float64, 9)
	if !s.usable() {
		for i := range edges {
			edges[i] = math.NaN()
		}
		return drift.Bins{Edges: edges}
	}
	c := s.collapseOf()
	slots := s.appendSlots(nil, c)
	for i := range edges {
		q := float64(i+1) / 10
		virtual := q * float64(s.n-1)
		lo := math.Floor(virtual)
		at := rank(slots, int64(lo))
		if virtual > lo {
			at = rank(slots, int64(lo)+1)
		}
		edges[i] = s.cut(lowest(slots[at].key, c))
	}
	return drift.Bins{Edges: edges}
}

// Rebin replaces the fixed bins of s by b and recounts the values into them
// from the sketch. It reports whether the new counts are exact: they are
// when every edge lies on a bucket boundary (as the edges of
// [Numeric.Deciles] do), outside [Min, Max], or in a bucket that s leaves
// empty. Otherwise the values of a bucket that an edge splits all go to the
// side of the bucket's midpoint, so each count is off by at most the
// content of the buckets its edges split. More than 1024 edges give
// [ErrIncompatible] and leave s unchanged.
func (s *Numeric) Rebin(b drift.Bins) (exact bool, err error) {
	if len(b.Edges) > maxEdges {
		return false, ErrIncompatible
	}
	counts, exact := s.countInto(b.Edges)
	s.edges = slices.Clone(b.Edges)
	s.counts = counts
	return exact, nil
}

// countInto counts the values of s into the bins of edges from the sketch.
func (s *Numeric) countInto(edges []float64) (counts []int64, exact bool) {
	counts = make([]int64, len(edges)+1)
	exact = true
	if s.n == 0 {
		return counts, true
	}
	c := s.collapseOf()
	slots := s.appendSlots(nil, c)
	keys := make([]int64, len(edges))
	for i, e := range edges {
		keys[i] = keyOf(s.shift(e), c)
	}
	l := newLows()
	yMin, yMax := s.shift(s.min), s.shift(s.max)
	for _, sl := range slots {
		// The slot's midpoint within [min, max], for slots an edge splits.
		lo, hi := l.bounds(sl.key, c)
		lo, hi = within(lo, hi, yMin, yMax)
		rep := s.center + (lo+hi)/2
		bin := 0
		for i, e := range edges {
			switch ke := keys[i]; {
			case math.IsNaN(e) || e > s.max:
				// no value is >= e
			case e <= s.min || ke < sl.key:
				bin++
			case ke > sl.key:
				// every value of the slot is < e
			case e <= s.cut(lowest(sl.key, c)):
				bin++ // e is the slot's lower boundary
			default:
				exact = false
				if e <= rep {
					bin++
				}
			}
		}
		counts[bin] += sl.n
	}
	return counts, exact
}
