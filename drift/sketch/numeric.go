package sketch

import (
	"errors"
	"math"
	"slices"

	"github.com/DataDog/sketches-go/ddsketch/mapping"

	"github.com/vigilml/vigil/drift"
)

const (
	// RelativeAccuracy is the relative accuracy of the DDSketch index
	// mapping shared by every summary of vigil: the bucket of a value y
	// (after centring, see [NumericOptions.Center]) is [γ^k, γ^(k+1)) with
	// γ = (1+RelativeAccuracy)/(1-RelativeAccuracy) ≈ 1.0202, about 115
	// buckets per decade. Changing it changes the encoding (see
	// [Numeric.MarshalBinary]) and invalidates stored summaries.
	RelativeAccuracy = 0.01

	// MaxBuckets bounds the buckets of each of the two stores (values above
	// and below the centre): 1024 buckets span 8.9 decades of |y|. Beyond
	// that, the buckets nearest to the centre collapse into one (sketches-go's
	// CollapsingLowestDenseStore), which keeps the memory of a summary under
	// 32 KiB whatever the data.
	MaxBuckets = 1024
)

// indexMapping is the fixed DDSketch mapping shared by all summaries (it is
// immutable): bucket boundaries align across sketches, so any two can be
// merged and compared bucket by bucket.
var indexMapping = func() *mapping.LogarithmicMapping {
	m, err := mapping.NewLogarithmicMapping(RelativeAccuracy)
	if err != nil {
		panic(err) // unreachable: the accuracy is a valid constant
	}
	return m
}()

var (
	// minIndexable and maxIndexable bound |y| in the positive and negative
	// stores: |y| <= minIndexable goes to the zero bucket (only 0 and
	// subnormals), |y| > maxIndexable is clamped to it (only |y| > 1.76e308).
	minIndexable = indexMapping.MinIndexableValue()
	maxIndexable = indexMapping.MaxIndexableValue()
	// minIndex and maxIndex are the bucket indices of minIndexable's
	// successor and of maxIndexable: the valid range of a store.
	minIndex = indexMapping.Index(math.Nextafter(minIndexable, math.Inf(1)))
	maxIndex = indexMapping.Index(maxIndexable)
)

// ErrIncompatible is returned when two summaries cannot be merged: their
// options differ.
var ErrIncompatible = errors.New("incompatible summaries")

// NumericOptions fix what every summary of one numeric feature must share
// to be merged and compared. [ReferenceOptions] derives them from the
// reference's bins.
type NumericOptions struct {
	// Bins are the fixed bins of the count-based statistics (psi,
	// jensen_shannon, hellinger, l_infinity), normally the deciles of the
	// reference ([drift.Sample.Bins], or [Numeric.Deciles] for a streamed
	// reference). Counting follows [drift.Bins]: a value equal to an edge
	// goes to the upper bin. No edges give a single bin. At most 1024 edges.
	Bins drift.Bins
	// Center is subtracted from each value before it enters the quantile
	// sketch, whose resolution is relative to |value - Center|: at 1e6 a
	// bucket is 2e4 wide, so a feature whose spread is small against its
	// magnitude (years, Kelvin, timestamps) needs a Center near its values,
	// such as the reference median. It must be finite. It does not affect
	// the exact parts (count, min, max, moments, bin counts).
	Center float64
	// Scale, when positive, is a typical |value - Center|: the sketch then
	// resolves |value - Center| over the 1024 buckets (8.9 decades)
	// centred on Scale in log terms, from Scale/2.8e4 to Scale*2.8e4,
	// and counts values beyond either end in the end bucket. A few extreme
	// values (a sentinel such as 3.4e38, a unit mix-up) then cannot take
	// the resolution away from where the data lie. When 0, the buckets
	// follow the data and, once they span more than 8.9 decades, the ones
	// nearest to Center collapse (sketches-go's CollapsingLowestDenseStore):
	// one value 1e9 times larger than the others collapses them all. It must
	// be finite and not negative.
	Scale float64
}

// ReferenceOptions returns the options for the summaries of a feature whose
// reference has the given bins (its deciles): those bins, Center at their
// middle edge (the reference median) and Scale the geometric mean of the
// smallest and largest non-zero distance of an edge from it, so that the
// sketch's 8.9 decades cover the deciles with equal margins on both sides.
// Without finite edges, Center and Scale are 0.
func ReferenceOptions(bins drift.Bins) NumericOptions {
	opts := NumericOptions{Bins: drift.Bins{Edges: slices.Clone(bins.Edges)}}
	if len(bins.Edges) == 0 {
		return opts
	}
	c := bins.Edges[len(bins.Edges)/2]
	if math.IsNaN(c) || math.IsInf(c, 0) {
		return opts
	}
	opts.Center = c
	lo, hi := math.Inf(1), 0.0
	for _, e := range bins.Edges {
		if d := math.Abs(e - c); d > 0 && d <= math.MaxFloat64 {
			lo, hi = min(lo, d), max(hi, d)
		}
	}
	if hi > 0 {
		opts.Scale = math.Sqrt(lo) * math.Sqrt(hi)
	}
	return opts
}

// maxEdges bounds len(NumericOptions.Bins.Edges).
const maxEdges = 1024

// Numeric summarises one window (or pane) of one numeric feature in bounded
// memory: a DDSketch for KS, Wasserstein and quantiles, and exact counts,
// minimum, maximum, mean and variance, and counts over the fixed bins.
// Summaries with the same [NumericOptions] merge exactly (the sketch merges
// bucket by bucket), so a window can be assembled from panes.
//
// The DDSketch is held as its parts: sketches-go's shared logarithmic
// [mapping.LogarithmicMapping], a store of bucket counts for values above
// the centre and one for values below (indexed by |y|), and the count of
// values at the centre. The stores collapse as sketches-go's
// CollapsingLowestDenseStore does, but count in counters as narrow as their
// counts allow, over only the buckets in use (see store.go): the panes of a
// window are many small summaries.
//
// The zero value is not usable; call [NewNumeric]. A Numeric is not safe for
// concurrent use.
type Numeric struct {
	edges  []float64
	counts []int64 // per bin, len(edges)+1
	center float64
	scale  float64
	// lo and hi clamp the bucket index of both stores: the window of Scale,
	// or the whole indexable range.
	lo, hi int

	n   int64 // finite values added
	bad int64 // NaN and infinite values added

	min, max float64 // of the finite values; +Inf, -Inf when n == 0
	// Welford's running mean of value-center and sum of squared deviations:
	// centring keeps them accurate when the spread is tiny against the
	// values (with Center the median, |mean - Center| <= std).
	mean, m2 float64

	pos, neg store
	zero     int64 // values whose centred value is within ±minIndexable
}

// NewNumeric returns an empty summary. It returns an error when opts.Center
// is not finite or there are more than 1024 edges.
func NewNumeric(opts NumericOptions) (*Numeric, error) {
	if err := validOptions(len(opts.Bins.Edges), opts.Center, opts.Scale); err != nil {
		return nil, err
	}
	return newNumeric(slices.Clone(opts.Bins.Edges), opts.Center, opts.Scale), nil
}

func validOptions(edges int, center, scale float64) error {
	switch {
	case math.IsNaN(center) || math.IsInf(center, 0):
		return errors.New("sketch: center must be finite")
	case !(scale >= 0) || math.IsInf(scale, 0):
		return errors.New("sketch: scale must be finite and not negative")
	case edges > maxEdges:
		return errors.New("sketch: more than 1024 bin edges")
	}
	return nil
}

func newNumeric(edges []float64, center, scale float64) *Numeric {
	s := &Numeric{
		edges:  edges,
		counts: make([]int64, len(edges)+1),
		center: center,
		scale:  scale,
		lo:     minIndex,
		hi:     maxIndex,
		min:    math.Inf(1),
		max:    math.Inf(-1),
	}
	if scale > 0 {
		k := indexMapping.Index(min(max(scale, minIndexable), maxIndexable))
		s.lo = min(max(k-MaxBuckets/2, minIndex), maxIndex-MaxBuckets+1)
		s.hi = s.lo + MaxBuckets - 1
	}
	return s
}

// Add adds one value. NaN and infinities are counted but make the summary
// unusable: every statistic computed from it is NaN, as in drift's exact
// mode. Add does not allocate once the sketch spans the data's range.
func (s *Numeric) Add(x float64) {
	if x-x != 0 { // NaN or ±Inf
		s.bad++
		return
	}
	s.n++
	s.min = min(s.min, x)
	s.max = max(s.max, x)
	y := x - s.center
	d := y - s.mean
	s.mean += d / float64(s.n)
	s.m2 += d * (y - s.mean)

	k := 0
	for _, e := range s.edges {
		if e <= x {
			k++
		}
	}
	s.counts[k]++

	switch {
	case y > minIndexable:
		s.pos.add(min(max(indexMapping.Index(min(y, maxIndexable)), s.lo), s.hi), 1)
	case y < -minIndexable:
		s.neg.add(min(max(indexMapping.Index(min(-y, maxIndexable)), s.lo), s.hi), 1)
	default:
		s.zero++
	}
}

// Merge adds the values summarised by o to s. It returns [ErrIncompatible],
// leaving s unchanged, when their options differ.
func (s *Numeric) Merge(o *Numeric) error {
	if !s.compatible(o) {
		return ErrIncompatible
	}
	if o.n > 0 {
		// Chan et al.'s pairwise update of the mean and M2.
		n := s.n + o.n
		delta := o.mean - s.mean
		fs, fo, fn := float64(s.n), float64(o.n), float64(n)
		s.mean += delta * fo / fn
		s.m2 += o.m2 + delta*delta*fs*fo/fn
		s.n = n
		s.min = min(s.min, o.min)
		s.max = max(s.max, o.max)
		for i, c := range o.counts {
			s.counts[i] += c
		}
		s.pos.mergeWith(&o.pos)
		s.neg.mergeWith(&o.neg)
		s.zero += o.zero
	}
	s.bad += o.bad
	return nil
}

// compatible reports whether s and o have the same options (edges bit for
// bit, so NaN edges match).
func (s *Numeric) compatible(o *Numeric) bool {
	return s.sameSketch(o) && sameEdges(s.edges, o.edges)
}

// sameSketch reports whether the sketches of s and o file values alike, so
// that their buckets can be compared.
func (s *Numeric) sameSketch(o *Numeric) bool {
	return s.center == o.center && s.scale == o.scale
}

func sameEdges(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool {
		return math.Float64bits(x) == math.Float64bits(y)
	})
}

// Reset empties s, keeping its options and its allocated buckets.
func (s *Numeric) Reset() {
	clear(s.counts)
	s.n, s.bad, s.zero = 0, 0, 0
	s.min, s.max = math.Inf(1), math.Inf(-1)
	s.mean, s.m2 = 0, 0
	s.pos.clear()
	s.neg.clear()
}

// Clone returns a deep copy of s.
func (s *Numeric) Clone() *Numeric {
	c := *s
	// The edges are never written in place (Rebin replaces them), so
	// clones share them.
	c.counts = slices.Clone(s.counts)
	c.pos = s.pos.clone()
	c.neg = s.neg.clone()
	return &c
}

// Options returns the options of s (a copy): those it was built with, with
// the bins of the last [Numeric.Rebin].
func (s *Numeric) Options() NumericOptions {
	return NumericOptions{Bins: drift.Bins{Edges: slices.Clone(s.edges)}, Center: s.center, Scale: s.scale}
}

// Count is the number of values added, including NaN and infinite ones.
func (s *Numeric) Count() int64 { return s.n + s.bad }

// usable reports whether statistics can be computed from s: it holds at
// least one value and no NaN or infinity.
func (s *Numeric) usable() bool { return s.n > 0 && s.bad == 0 }

// Min is the smallest value added (exact), NaN when s is empty or unusable.
func (s *Numeric) Min() float64 {
	if !s.usable() {
		return math.NaN()
	}
	return s.min
}

// Max is the largest value added (exact), NaN when s is empty or unusable.
func (s *Numeric) Max() float64 {
	if !s.usable() {
		return math.NaN()
	}
	return s.max
}

// Mean is the mean of the values, NaN when s is empty or unusable.
func (s *Numeric) Mean() float64 {
	if !s.usable() {
		return math.NaN()
	}
	return s.mean + s.center
}

// Std is the population standard deviation, numpy.std(values), from
// Welford's running moments of value - Center (merged by Chan's formula):
// within 1e-9 relative of numpy's two-pass value when |mean - Center| is
// at most a few std (as with Center the median), and when the spread is not
// below 1e-7 of |mean - Center| otherwise. It is exactly 0 when all values
// are equal, as [drift.Sample.Std], and NaN when s is empty or unusable.
func (s *Numeric) Std() float64 {
	if !s.usable() {
		return math.NaN()
	}
	if s.min == s.max {
		return 0
	}
	return math.Sqrt(max(s.m2, 0) / float64(s.n))
}

// Bins returns the fixed bins of s (a copy).
func (s *Numeric) Bins() drift.Bins { return drift.Bins{Edges: slices.Clone(s.edges)} }

// BinCounts returns the number of finite values in each fixed bin (a copy),
// exactly as [drift.Bins.Counts] would count them.
func (s *Numeric) BinCounts() []int64 { return slices.Clone(s.counts) }
