// Package profile builds, writes and loads reference profiles: what a model's training (or
// any trusted) data looked like, feature by feature, so that live traffic can be compared
// with it from the daemon's first minute.
//
// A profile is built in one streaming pass in constant memory. For a numeric feature it
// keeps the exact count, missing count, minimum, maximum, mean and standard deviation, and
// a reservoir sample of at most SampleSize values (every value when there are no more, so
// the drift statistics then equal scipy's on the full data exactly; beyond it they are
// those of a uniform random sample, drawn with a fixed seed so the same file gives the same
// profile). For a categorical feature it keeps the exact count of every category (up to
// MaxCategories; the rest are counted under "__other__").
package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/vigilml/vigil/drift"
	"github.com/vigilml/vigil/internal/strhash"
)

// FormatName and Version identify the file format; Load refuses any other.
const (
	FormatName = "vigil-profile"
	Version    = 1
)

// DefaultSampleSize is the default reservoir size per numeric feature.
const DefaultSampleSize = 100000

// MaxCategories bounds the categories kept per categorical feature.
const MaxCategories = 10000

// OtherCategory counts the categories past MaxCategories.
const OtherCategory = "__other__"

// Type is a feature's type, as in the vigil config.
type Type string

// The feature types.
const (
	Numeric     Type = "numeric"
	Categorical Type = "categorical"
)

// Profile is a model's reference profile.
type Profile struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	Model     string    `json:"model"`
	CreatedAt time.Time `json:"created_at"`
	Source    Source    `json:"source"`
	// Features are in the order they were declared; Prediction is the model's output,
	// tested as the feature "__prediction__", when the data had one.
	Features   []Feature `json:"features"`
	Prediction *Feature  `json:"prediction,omitempty"`
}

// Source describes the data a profile was built from.
type Source struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	Rows   int64  `json:"rows"`
	// Rejected counts rows that could not be read at all.
	Rejected int64 `json:"rejected"`
}

// Feature is one feature's profile.
type Feature struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
	// Count is the number of non-missing values, Missing of missing ones (absent, null,
	// or of the wrong type, which TypeMismatches counts too).
	Count          int64 `json:"count"`
	Missing        int64 `json:"missing"`
	TypeMismatches int64 `json:"type_mismatches"`
	// Numeric features.
	Min  *float64 `json:"min,omitempty"`
	Max  *float64 `json:"max,omitempty"`
	Mean *float64 `json:"mean,omitempty"`
	Std  *float64 `json:"std,omitempty"` // population standard deviation
	// Sample is a uniform sample of the values in the order they were read; it holds every
	// value when SampleExact.
	Sample      []float64 `json:"sample,omitempty"`
	SampleExact bool      `json:"sample_exact,omitempty"`
	// Edges are the deciles of the sample (numpy.quantile, linear) and BinCounts the
	// sample's values per bin (a value equal to an edge counts in the upper bin): the bins
	// psi, jensen_shannon, hellinger and l_infinity compare on.
	Edges     []float64 `json:"edges,omitempty"`
	BinCounts []int64   `json:"bin_counts,omitempty"`
	// Categories counts each category of a categorical feature.
	Categories map[string]int64 `json:"categories,omitempty"`
	// Thresholds are limits learnt from the data for `threshold: auto`, by method.
	Thresholds map[string]float64 `json:"thresholds,omitempty"`
}

// Spec declares a feature to profile.
type Spec struct {
	Name string
	Type Type
}

// Builder accumulates a profile row by row.
//
// A Builder is not safe for concurrent use, with one exception: different features may be
// added to from different goroutines, provided that every numeric feature and a numeric
// prediction are added to from one and the same goroutine. Those share the random source
// of the reservoir samples, so the order of their values across features decides the
// samples; the other features' values only need to arrive in row order.
type Builder struct {
	profile    Profile
	sampleSize int
	rng        *rand.Rand
	// One allocation each, so that accumulators filled from different goroutines share
	// no cache line.
	acc  []*accumulator
	pred *accumulator
}

type accumulator struct {
	f *Feature
	// The counts, copied to f by Finish.
	count, missing, mismatches int64
	n                          int64 // values offered to the reservoir
	mean                       float64
	m2                         float64 // Welford
	min, max                   float64
	sample                     []float64
	// categories: one hash per value, the counts in a slice
	catIdx map[string]int32
	cats   []string
	counts []int64
	// recent categories and their indexes, direct-mapped by a hash of a few bytes:
	// cheaper than catIdx for the few categories a feature usually has
	recent *[1 << recentBits]recentCategory
}

// recentBits sets the number of categories an accumulator's cache holds: 1<<recentBits.
const recentBits = 6

type recentCategory struct {
	v string
	i int32 // the index + 1; 0 for an empty slot
}

// NewBuilder starts a profile of model with the given features. sampleSize ≤ 0 means
// DefaultSampleSize. predictionType is the type of the model's output ("" when the data
// has none).
func NewBuilder(model string, specs []Spec, predictionType Type, sampleSize int) *Builder {
	if sampleSize <= 0 {
		sampleSize = DefaultSampleSize
	}
	b := &Builder{
		profile:    Profile{Format: FormatName, Version: Version, Model: model},
		sampleSize: sampleSize,
		rng:        rand.New(rand.NewPCG(0x76696769, 0x6c)), // fixed: the same data gives the same profile
	}
	b.profile.Features = make([]Feature, len(specs))
	b.acc = make([]*accumulator, len(specs))
	for i, s := range specs {
		b.profile.Features[i] = newFeature(s.Name, s.Type)
		b.acc[i] = &accumulator{f: &b.profile.Features[i]}
	}
	if predictionType != "" {
		f := newFeature("__prediction__", predictionType)
		b.profile.Prediction = &f
		b.pred = &accumulator{f: b.profile.Prediction}
	}
	return b
}

func newFeature(name string, t Type) Feature {
	f := Feature{Name: name, Type: t}
	if t == Categorical {
		f.Categories = map[string]int64{}
	}
	return f
}

// AddNumber adds a value of feature i (a numeric one).
func (b *Builder) AddNumber(i int, v float64) { b.acc[i].addNumber(v, b) }

// AddCategory adds a value of feature i (a categorical one).
func (b *Builder) AddCategory(i int, v string) { b.acc[i].addCategory(v) }

// AddMissing counts a missing value of feature i; mismatch says it was of the wrong type.
func (b *Builder) AddMissing(i int, mismatch bool) { b.acc[i].addMissing(mismatch) }

// AddPredictionNumber and AddPredictionCategory add the model's output of one row.
func (b *Builder) AddPredictionNumber(v float64) {
	if b.pred != nil {
		b.pred.addNumber(v, b)
	}
}

// AddPredictionCategory adds a class the model predicted.
func (b *Builder) AddPredictionCategory(v string) {
	if b.pred != nil {
		b.pred.addCategory(v)
	}
}

func (a *accumulator) addMissing(mismatch bool) {
	a.missing++
	if mismatch {
		a.mismatches++
	}
}

func (a *accumulator) addNumber(v float64, b *Builder) {
	if v-v != 0 { // NaN or ±Inf, in one comparison
		a.addMissing(false)
		return
	}
	a.count++
	if a.count == 1 {
		a.min, a.max = v, v
	} else if v < a.min {
		a.min = v
	} else if v > a.max {
		a.max = v
	}
	d := v - a.mean
	a.mean += d / float64(a.count)
	a.m2 += d * (v - a.mean)
	// Algorithm R: the k-th value replaces a random slot with probability size/k.
	a.n++
	if len(a.sample) < b.sampleSize {
		if len(a.sample) == cap(a.sample) {
			// Doubling, up to the sample size: append grows a large slice by a
			// quarter, copying the sample some twenty times on its way to 100,000.
			a.sample = slices.Grow(a.sample, min(max(cap(a.sample), 256), b.sampleSize-len(a.sample)))
		}
		a.sample = append(a.sample, v)
	} else if j := b.rng.Int64N(a.n); j < int64(b.sampleSize) {
		a.sample[j] = v
	}
}

func (a *accumulator) addCategory(v string) {
	a.count++
	if a.recent == nil {
		a.recent = new([1 << recentBits]recentCategory)
	}
	// A cached index is the one catIdx gives, or the index of OtherCategory for a
	// value past MaxCategories, which stays there.
	key := v
	r := &a.recent[strhash.Short(key)>>(32-recentBits)]
	if r.i > 0 && r.v == key {
		a.counts[r.i-1]++
		return
	}
	i, ok := a.catIdx[v]
	if !ok {
		if a.catIdx == nil {
			a.catIdx = map[string]int32{}
		}
		if len(a.cats) >= MaxCategories {
			v = OtherCategory
		}
		if i, ok = a.catIdx[v]; !ok {
			i = int32(len(a.cats))
			a.catIdx[v] = i
			a.cats = append(a.cats, v)
			a.counts = append(a.counts, 0)
		}
	}
	r.v, r.i = key, i+1 // under the value seen, which may count as OtherCategory
	a.counts[i]++
}

// Finish completes the profile with its source description. Learn, when not nil, is
// called for each feature with its finished profile and may fill Thresholds.
func (b *Builder) Finish(src Source, created time.Time, learn func(*Feature)) *Profile {
	p := &b.profile
	p.Source, p.CreatedAt = src, created.UTC()
	all := slices.Clone(b.acc)
	if b.pred != nil {
		all = append(all, b.pred)
	}
	for _, a := range all {
		f := a.f
		f.Count, f.Missing, f.TypeMismatches = a.count, a.missing, a.mismatches
		for i, c := range a.cats {
			f.Categories[c] = a.counts[i]
		}
		if f.Type == Numeric && f.Count > 0 {
			mean, std, lo, hi := a.mean, math.Sqrt(a.m2/float64(f.Count)), a.min, a.max
			f.Mean, f.Std, f.Min, f.Max = &mean, &std, &lo, &hi
			f.Sample = a.sample
			f.SampleExact = int64(len(a.sample)) == f.Count
			sorted := drift.NewSample(a.sample)
			bins := sorted.Bins()
			f.Edges, f.BinCounts = bins.Edges, bins.CountsSorted(sorted)
		}
		if learn != nil {
			learn(f)
		}
	}
	return p
}

// Write writes p as indented JSON, byte for byte what json.Encoder writes with
// SetIndent("", " ").
//
// Most of a profile is its samples (eleven of 100,000 values make 1.1M numbers), and most
// of the time encoding/json takes is formatting them one reflect call at a time. So the
// samples are formatted apart, on all cores, as encoding/json formats a float64
// (appendFloat), and put in place of a one-value placeholder in the rest of the profile,
// which encoding/json writes.
func Write(w io.Writer, p *Profile) error {
	skel := *p
	skel.Features = slices.Clone(p.Features)
	if p.Prediction != nil {
		pred := *p.Prediction
		skel.Prediction = &pred
	}
	var samples [][]float64 // in the order they appear in the file
	for i := range skel.Features {
		samples = append(samples, skel.Features[i].Sample)
	}
	if skel.Prediction != nil {
		samples = append(samples, skel.Prediction.Sample)
	}
	placeholders := make([]float64, len(samples))
	at := func(k int) *Feature {
		if k < len(skel.Features) {
			return &skel.Features[k]
		}
		return skel.Prediction
	}
	for k, s := range samples {
		if len(s) > 0 {
			// A number no sample is compared with: the sample's own text is searched for
			// as the value of a "sample" key, where only the placeholder can be.
			placeholders[k] = math.Float64frombits(0x7fe1234500000000 + uint64(k))
			at(k).Sample = placeholders[k : k+1]
		}
	}
	b, err := json.Marshal(&skel)
	if err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	// The Encoder indents with json.Indent, which checks the JSON again as it goes.
	skel1 := appendIndent(make([]byte, 0, 2*len(b)), b, " ")

	// Each placeholder is alone on its line, after the line of its "sample" key.
	type hole struct {
		start, end int // of the placeholder's line, without the line break
		indent     []byte
	}
	holes := make([]hole, len(samples))
	from := 0
	key := []byte(`"sample": [` + "\n")
	for k, s := range samples {
		if len(s) == 0 {
			continue
		}
		ph := appendFloat(nil, placeholders[k])
		i := bytes.Index(skel1[from:], key)
		if i < 0 {
			return fmt.Errorf("write profile: sample %d not placed", k) // cannot happen
		}
		start := from + i + len(key)
		n := bytes.IndexByte(skel1[start:], '\n')
		if n < 0 || !bytes.HasSuffix(skel1[start:start+n], ph) {
			return fmt.Errorf("write profile: sample %d not placed", k) // cannot happen
		}
		holes[k] = hole{start, start + n, skel1[start : start+n-len(ph)]}
		from = start + n
	}

	texts := make([][]byte, len(samples))
	errs := make([]error, len(samples))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(samples)) {
		wg.Go(func() {
			for k := range next {
				texts[k], errs[k] = appendSample(nil, samples[k], holes[k].indent)
			}
		})
	}
	for k, s := range samples {
		if len(s) > 0 {
			next <- k
		}
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}

	size := len(skel1) + 1
	for _, t := range texts {
		size += len(t)
	}
	out := make([]byte, 0, size)
	from = 0
	for k, t := range texts {
		if t != nil {
			out = append(append(out, skel1[from:holes[k].start]...), t...)
			from = holes[k].end
		}
	}
	out = append(append(out, skel1[from:]...), '\n')
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	return nil
}

// appendSample appends the values of s as json.Indent lays out an array's numbers: one a
// line, each after indent, with a comma and a line break between them; each value as
// encoding/json writes a float64.
func appendSample(dst []byte, s []float64, indent []byte) ([]byte, error) {
	dst = slices.Grow(dst, (len(indent)+22)*len(s))
	for i, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(v, 'g', -1, 64))
		}
		if i > 0 {
			dst = append(dst, ',', '\n')
		}
		dst = appendFloat(append(dst, indent...), v)
	}
	return dst, nil
}

// appendFloat appends f as encoding/json writes a float64: the shortest decimal that reads
// back as f, in exponent form below 1e-6 and from 1e21 on, with a one-digit negative
// exponent written without its leading zero (1e-7, not 1e-07).
func appendFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendIndent appends src, compact JSON as json.Marshal writes it, indented as
// json.Indent(dst, src, "", indent) indents it.
func appendIndent(dst, src []byte, indent string) []byte {
	depth := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '"':
			j := i + 1
			for ; j < len(src) && src[j] != '"'; j++ {
				if src[j] == '\\' {
					j++
				}
			}
			dst = append(dst, src[i:min(j+1, len(src))]...)
			i = j
			continue
		case '{', '[':
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, c, src[i+1])
				i++
				continue
			}
			depth++
			dst = append(dst, c)
		case '}', ']':
			depth--
			dst = appendNewline(dst, depth, indent)
			dst = append(dst, c)
			continue
		case ',':
			dst = append(dst, c)
		case ':':
			dst = append(dst, ':', ' ')
			continue
		default:
			dst = append(dst, c)
			continue
		}
		dst = appendNewline(dst, depth, indent)
	}
	return dst
}

func appendNewline(dst []byte, depth int, indent string) []byte {
	dst = append(dst, '\n')
	for range depth {
		dst = append(dst, indent...)
	}
	return dst
}

// WriteFile writes p to path atomically (a temporary file renamed over it).
func WriteFile(path string, p *Profile) error {
	tmp, err := os.CreateTemp(dirOf(path), ".profile-*.json")
	if err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := Write(tmp, p); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write profile: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	return nil
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[:i+1]
		}
	}
	return "."
}

// ErrFormat is wrapped by every error about a file that is not a valid profile.
var ErrFormat = errors.New("not a valid vigil profile")

// LoadFile reads and checks a profile.
func LoadFile(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

// Parse decodes and checks a profile: unknown fields, another format or version, and
// inconsistent figures are errors wrapping ErrFormat.
func Parse(data []byte) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the profile", ErrFormat)
	}
	if p.Format != FormatName {
		return nil, fmt.Errorf("%w: format is %q, want %q", ErrFormat, p.Format, FormatName)
	}
	if p.Version != Version {
		return nil, fmt.Errorf("%w: version %d, this vigil reads version %d", ErrFormat, p.Version, Version)
	}
	if p.Model == "" {
		return nil, fmt.Errorf("%w: no model", ErrFormat)
	}
	seen := map[string]bool{}
	all := slices.Clone(p.Features)
	if p.Prediction != nil {
		all = append(all, *p.Prediction)
	}
	for i := range all {
		f := &all[i]
		if seen[f.Name] {
			return nil, fmt.Errorf("%w: feature %q appears twice", ErrFormat, f.Name)
		}
		seen[f.Name] = true
		if err := f.check(); err != nil {
			return nil, fmt.Errorf("%w: feature %q: %v", ErrFormat, f.Name, err)
		}
	}
	return &p, nil
}

func (f *Feature) check() error {
	if f.Name == "" {
		return errors.New("no name")
	}
	if f.Count < 0 || f.Missing < 0 || f.TypeMismatches < 0 || f.TypeMismatches > f.Missing {
		return errors.New("negative or inconsistent counts")
	}
	for m, v := range f.Thresholds {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("threshold %s is %v", m, v)
		}
	}
	switch f.Type {
	case Numeric:
		if f.Categories != nil {
			return errors.New("a numeric feature has categories")
		}
		if f.Count == 0 {
			if f.Min != nil || f.Max != nil || len(f.Sample) > 0 {
				return errors.New("figures without values")
			}
			return nil
		}
		if f.Min == nil || f.Max == nil || f.Mean == nil || f.Std == nil || *f.Min > *f.Max || !(*f.Std >= 0) {
			return errors.New("min, max, mean and std must be set, with min ≤ max and std ≥ 0")
		}
		if len(f.Sample) == 0 || int64(len(f.Sample)) > f.Count || (f.SampleExact && int64(len(f.Sample)) != f.Count) {
			return fmt.Errorf("sample of %d values does not fit a count of %d", len(f.Sample), f.Count)
		}
		for _, v := range f.Sample {
			if v < *f.Min || v > *f.Max || math.IsNaN(v) {
				return fmt.Errorf("sample value %v outside [min, max]", v)
			}
		}
		if len(f.BinCounts) != 0 && len(f.BinCounts) != len(f.Edges)+1 {
			return fmt.Errorf("%d bin counts for %d edges", len(f.BinCounts), len(f.Edges))
		}
		var binned int64
		for _, c := range f.BinCounts {
			binned += c
		}
		if len(f.BinCounts) > 0 && binned != int64(len(f.Sample)) {
			return fmt.Errorf("bin counts add up to %d, the sample holds %d", binned, len(f.Sample))
		}
	case Categorical:
		if f.Sample != nil || f.Min != nil || f.Max != nil {
			return errors.New("a categorical feature has numeric figures")
		}
		var sum int64
		for c, n := range f.Categories {
			if n <= 0 {
				return fmt.Errorf("category %q has count %d", c, n)
			}
			sum += n
		}
		if sum != f.Count {
			return fmt.Errorf("categories add up to %d, count is %d", sum, f.Count)
		}
	default:
		return fmt.Errorf("type %q is not numeric or categorical", f.Type)
	}
	return nil
}

// Feature returns the named feature's profile ("__prediction__" for the prediction), or nil.
func (p *Profile) Feature(name string) *Feature {
	if name == "__prediction__" {
		return p.Prediction
	}
	for i := range p.Features {
		if p.Features[i].Name == name {
			return &p.Features[i]
		}
	}
	return nil
}
