package profile

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/drift"
)

func build(t *testing.T, n, sampleSize int) (*Profile, []float64) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	b := NewBuilder("fraud", []Spec{{"amount", Numeric}, {"country", Categorical}}, Numeric, sampleSize)
	var vals []float64
	for i := range n {
		if i%10 == 0 {
			b.AddMissing(0, i%20 == 0)
		} else {
			v := r.NormFloat64()*3 + 10
			vals = append(vals, v)
			b.AddNumber(0, v)
		}
		b.AddCategory(1, []string{"DE", "FR", "US"}[i%3])
		b.AddPredictionNumber(r.Float64())
	}
	return b.Finish(Source{Path: "train.csv", Rows: int64(n)}, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), nil), vals
}

func TestBuildExact(t *testing.T) {
	p, vals := build(t, 1000, 0)
	f := p.Feature("amount")
	require.Equal(t, int64(900), f.Count)
	require.Equal(t, int64(100), f.Missing)
	require.Equal(t, int64(50), f.TypeMismatches)
	require.True(t, f.SampleExact)
	require.Equal(t, vals, f.Sample, "every value, in the order read")
	var sum float64
	minV, maxV := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		sum += v
		minV, maxV = math.Min(minV, v), math.Max(maxV, v)
	}
	mean := sum / float64(len(vals))
	var ss float64
	for _, v := range vals {
		ss += (v - mean) * (v - mean)
	}
	require.InDelta(t, mean, *f.Mean, 1e-12)
	require.InDelta(t, math.Sqrt(ss/float64(len(vals))), *f.Std, 1e-12)
	require.Equal(t, minV, *f.Min)
	require.Equal(t, maxV, *f.Max)
	require.Equal(t, map[string]int64{"DE": 334, "FR": 333, "US": 333}, p.Feature("country").Categories)
	bins := drift.NewSample(vals).Bins()
	require.Equal(t, bins.Edges, f.Edges, "the deciles of the values, as numpy.quantile")
	require.Equal(t, bins.Counts(vals), f.BinCounts)
	require.Equal(t, int64(1000), p.Feature("__prediction__").Count)
	require.Nil(t, p.Feature("nope"))
}

func TestReservoir(t *testing.T) {
	p1, vals := build(t, 20000, 1000)
	p2, _ := build(t, 20000, 1000)
	f := p1.Feature("amount")
	require.False(t, f.SampleExact)
	require.Len(t, f.Sample, 1000)
	require.Equal(t, f.Sample, p2.Feature("amount").Sample, "the same data gives the same profile")
	// A uniform sample: its mean is within 4 standard errors of the population's.
	var s float64
	for _, v := range f.Sample {
		s += v
	}
	require.InDelta(t, *f.Mean, s/1000, 4*(*f.Std)/math.Sqrt(1000))
	seen := map[float64]bool{}
	for _, v := range vals {
		seen[v] = true
	}
	for _, v := range f.Sample {
		require.True(t, seen[v])
	}
}

func TestRoundTrip(t *testing.T) {
	p, _ := build(t, 500, 0)
	path := filepath.Join(t.TempDir(), "p.json")
	require.NoError(t, WriteFile(path, p))
	got, err := LoadFile(path)
	require.NoError(t, err)
	require.Equal(t, p, got)
}

func TestParseRefusesBadProfiles(t *testing.T) {
	p, _ := build(t, 200, 0)
	var good bytes.Buffer
	require.NoError(t, Write(&good, p))
	mutate := func(f func(m map[string]any)) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal(good.Bytes(), &m))
		f(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return string(b)
	}
	feature := func(m map[string]any, i int) map[string]any { return m["features"].([]any)[i].(map[string]any) }
	cases := map[string]struct {
		data string
		want string
	}{
		"empty":          {"", "EOF"},
		"truncated":      {good.String()[:good.Len()/2], "unexpected EOF"},
		"not json":       {"hello", "invalid character"},
		"other format":   {mutate(func(m map[string]any) { m["format"] = "evidently" }), `format is "evidently"`},
		"future version": {mutate(func(m map[string]any) { m["version"] = 2 }), "version 2, this vigil reads version 1"},
		"unknown field":  {mutate(func(m map[string]any) { m["colour"] = 1 }), `unknown field "colour"`},
		"no model":       {mutate(func(m map[string]any) { m["model"] = "" }), "no model"},
		"bad type":       {mutate(func(m map[string]any) { feature(m, 0)["type"] = "text" }), `type "text"`},
		"min above max":  {mutate(func(m map[string]any) { feature(m, 0)["min"] = 1e9 }), "min ≤ max"},
		"sample outside": {mutate(func(m map[string]any) { feature(m, 0)["sample"].([]any)[0] = -1e9 }), "outside [min, max]"},
		"sample count":   {mutate(func(m map[string]any) { feature(m, 0)["count"] = 5 }), "does not fit a count of 5"},
		"categories sum": {mutate(func(m map[string]any) { feature(m, 1)["count"] = 7 }), "add up to 200, count is 7"},
		"dup feature":    {mutate(func(m map[string]any) { feature(m, 1)["name"] = "amount" }), `"amount" appears twice`},
		"trailing data":  {good.String() + "{}", "data after the profile"},
		"bin counts":     {mutate(func(m map[string]any) { feature(m, 0)["bin_counts"] = []any{1, 2} }), "2 bin counts for 9 edges"},
		"neg threshold":  {mutate(func(m map[string]any) { feature(m, 0)["thresholds"] = map[string]any{"ks": -1} }), "threshold ks is -1"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(c.data))
			require.ErrorIs(t, err, ErrFormat)
			require.ErrorContains(t, err, c.want)
		})
	}
	_, err := LoadFile(filepath.Join(t.TempDir(), "missing.json"))
	require.ErrorContains(t, err, "no such file")
}

func FuzzParse(f *testing.F) {
	p := &Profile{Format: FormatName, Version: Version, Model: "m", Features: []Feature{{Name: "x", Type: Numeric}}}
	var b bytes.Buffer
	if err := Write(&b, p); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			require.ErrorIs(t, err, ErrFormat)
			return
		}
		// Whatever loads is consistent: samples lie within [min, max], categories add up.
		for _, f := range p.Features {
			for _, v := range f.Sample {
				require.False(t, math.IsNaN(v))
				require.True(t, v >= *f.Min && v <= *f.Max)
			}
			require.NotEmpty(t, f.Name)
		}
	})
}

// TestCategoryCounts: the counts equal a plain count of the values, whatever the cache
// of recent categories holds: the empty category, categories whose hashes collide, and
// categories past MaxCategories, counted under OtherCategory.
func TestCategoryCounts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		distinct int
	}{
		{"few", 5},
		{"more than the cache", 300},
		{"more than MaxCategories", MaxCategories + 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.distinct), 3))
			// Categories alike in their first and last bytes collide in the cache.
			names := []string{"", "a", "ab", "axxb", "ayyb", "azzb"}
			for i := len(names); i < tc.distinct; i++ {
				names = append(names, "c"+strconv.Itoa(i)+"x")
			}
			b := NewBuilder("m", []Spec{{"c", Categorical}}, Categorical, 0)
			want := map[string]int64{}
			var order []string
			for range 200000 {
				v := names[r.IntN(len(names))]
				if r.IntN(4) == 0 {
					v = names[r.IntN(min(6, len(names)))]
				}
				if _, ok := want[v]; !ok && len(order) < MaxCategories {
					order = append(order, v)
					want[v] = 0
				}
				if _, ok := want[v]; ok {
					want[v]++
				} else {
					want[OtherCategory]++
				}
				b.AddCategory(0, v)
				b.AddPredictionCategory(v)
			}
			p := b.Finish(Source{}, time.Unix(0, 0), nil)
			require.Equal(t, want, p.Features[0].Categories)
			require.Equal(t, want, p.Prediction.Categories)
			require.Equal(t, int64(200000), p.Features[0].Count)
		})
	}
}

// TestWriteMatchesEncoder: Write writes exactly what json.Encoder with SetIndent("", " ")
// writes, the format of every profile written so far.
func TestWriteMatchesEncoder(t *testing.T) {
	exact, _ := build(t, 1000, 0)
	sampled, _ := build(t, 5000, 100)
	sampled.Features[0].Thresholds = map[string]float64{"psi": 0.25, "ks": 1e-7, "wasserstein": 3e21}
	sampled.Features[1].Categories["<&>\u2028\"é\\\x01"] = 3
	sampled.Features[1].Categories[""] = 1
	sampled.Features[1].Categories["\"sample\": [\n"] = 2 // the text Write looks for, in a string
	empty := NewBuilder("m", []Spec{{"x", Numeric}, {"y", Categorical}}, "", 0).Finish(Source{}, time.Time{}, nil)
	// Several samples, one empty, values in both of encoding/json's forms and at the
	// edges between them.
	b := NewBuilder("m", []Spec{{"a", Numeric}, {"none", Numeric}, {"c", Categorical}, {"b", Numeric}}, Numeric, 0)
	odd := []float64{1e-7, 9.99999e-7, 1e-6, 1e21, 9.999999999999999e20, 3e21, math.Copysign(0, -1), 5e-324, 1e150, -1.5e-300, 123456789012345678, 0.1, 1, -2.5e-10, 1e100}
	for i, v := range odd {
		b.AddNumber(0, v)
		b.AddMissing(1, false)
		b.AddCategory(2, "x")
		b.AddNumber(3, -v*float64(i+1))
		b.AddPredictionNumber(v / 3)
	}
	many := b.Finish(Source{}, time.Time{}, nil)
	for _, tc := range []struct {
		name string
		p    *Profile
	}{
		{"every value", exact},
		{"sampled, thresholds, odd categories", sampled},
		{"no values, no prediction", empty},
		{"several samples, one empty, odd values", many},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want, got bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", " ")
			require.NoError(t, enc.Encode(tc.p))
			require.NoError(t, Write(&got, tc.p))
			require.Equal(t, want.String(), got.String())
		})
	}
}

// FuzzAppendIndent: appendIndent indents any compact JSON as json.Indent does.
func FuzzAppendIndent(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,2,{"b":{}}],"c":"x\"y\\","d":[[]]}`, `"s"`, `[{"":""},null,true,-1.5e-7]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		var compact, want bytes.Buffer
		require.NoError(t, json.Compact(&compact, data))
		require.NoError(t, json.Indent(&want, compact.Bytes(), "", " "))
		require.Equal(t, want.String(), string(appendIndent(nil, compact.Bytes(), " ")))
	})
}

// TestWriteRefusesWhatTheEncoderRefuses: a sample with NaN or an infinity is not written,
// with encoding/json's error.
func TestWriteRefusesWhatTheEncoderRefuses(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		p, _ := build(t, 100, 0)
		p.Features[0].Sample[7] = v
		_, want := json.Marshal(p)
		require.Error(t, want)
		var buf bytes.Buffer
		err := Write(&buf, p)
		require.EqualError(t, err, "write profile: "+want.Error())
		require.Zero(t, buf.Len())
	}
}

// FuzzAppendFloat: appendFloat writes a float64 as encoding/json does.
func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1e-7, 1e-6, 1e21, 1e20, 5e-324, math.MaxFloat64, 0.1, -123.456} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		want, err := json.Marshal(v)
		if err != nil {
			require.True(t, math.IsNaN(v) || math.IsInf(v, 0))
			return
		}
		require.Equal(t, string(want), string(appendFloat(nil, v)))
	})
}

// BenchmarkWrite writes a profile of eleven numeric features of 100,000 sampled values,
// as `vigil baseline` does for a 20-column training file.
func BenchmarkWrite(b *testing.B) {
	specs := []Spec{}
	for i := range 11 {
		specs = append(specs, Spec{strconv.Itoa(i), Numeric})
	}
	bld := NewBuilder("m", specs, Numeric, 0)
	r := rand.New(rand.NewPCG(1, 2))
	for range DefaultSampleSize {
		for i := range specs {
			bld.AddNumber(i, r.NormFloat64()*float64(i+1))
		}
		bld.AddPredictionNumber(r.Float64())
	}
	p := bld.Finish(Source{}, time.Time{}, nil)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Write(&buf, p); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
