package monitor

import (
	"cmp"
	"slices"

	"github.com/vigilml/vigil/drift"
)

// maxHistogramCategories bounds the categories a histogram lists; the rest are summed
// into one OtherValue bar so a page stays readable.
const maxHistogramCategories = 20

// Histogram is a feature's reference and current distributions over the bins its drift
// statistics are computed on: for a numeric feature the PSI bins (the reference's deciles;
// bin 0 lies below Edges[0], bin i in [Edges[i-1], Edges[i]), the last at or above the
// last edge), for a categorical feature its categories. It is what the status page and
// `vigil report` draw.
type Histogram struct {
	// Edges are the numeric bins' edges; empty for a categorical feature.
	Edges []float64 `json:"edges,omitempty"`
	// Min and Max are the smallest and largest value of either window (numeric), so the
	// two open-ended bins can be drawn.
	Min float64 `json:"min,omitempty"`
	Max float64 `json:"max,omitempty"`
	// Categories name the categorical bins, most frequent in the reference first.
	Categories []string `json:"categories,omitempty"`
	// Reference and Current count each window's values per bin.
	Reference []int64 `json:"reference"`
	Current   []int64 `json:"current"`
}

// NumericHistogram bins ref and cur on the deciles of ref, as the PSI does. It returns nil
// when either side is empty.
func NumericHistogram(ref *drift.Sample, cur []float64) *Histogram {
	if ref == nil || ref.Len() == 0 || len(cur) == 0 {
		return nil
	}
	bins := ref.Bins()
	sorted := ref.Sorted()
	h := &Histogram{
		Edges: bins.Edges, Min: sorted[0], Max: sorted[len(sorted)-1],
		Reference: bins.CountsSorted(ref), Current: bins.Counts(cur),
	}
	for _, v := range cur {
		h.Min, h.Max = min(h.Min, v), max(h.Max, v)
	}
	return h
}

// CategoricalHistogram counts ref and cur per category, the categories named by name.
func CategoricalHistogram[K comparable](ref, cur map[K]int64, name func(K) string) *Histogram {
	if len(ref) == 0 && len(cur) == 0 {
		return nil
	}
	type bar struct {
		name     string
		ref, cur int64
	}
	byName := map[string]*bar{}
	add := func(k K, r, c int64) {
		n := name(k)
		b := byName[n]
		if b == nil {
			b = &bar{name: n}
			byName[n] = b
		}
		b.ref += r
		b.cur += c
	}
	for k, v := range ref {
		add(k, v, 0)
	}
	for k, v := range cur {
		add(k, 0, v)
	}
	bars := make([]*bar, 0, len(byName))
	for _, b := range byName {
		bars = append(bars, b)
	}
	slices.SortFunc(bars, func(a, b *bar) int {
		return cmp.Or(cmp.Compare(b.ref, a.ref), cmp.Compare(b.cur, a.cur), cmp.Compare(a.name, b.name))
	})
	h := &Histogram{}
	for i, b := range bars {
		if i == maxHistogramCategories {
			h.Categories = append(h.Categories, OtherValue)
			h.Reference = append(h.Reference, 0)
			h.Current = append(h.Current, 0)
		}
		if i >= maxHistogramCategories {
			h.Reference[maxHistogramCategories] += b.ref
			h.Current[maxHistogramCategories] += b.cur
			continue
		}
		h.Categories = append(h.Categories, b.name)
		h.Reference = append(h.Reference, b.ref)
		h.Current = append(h.Current, b.cur)
	}
	return h
}

// histogram is feature i's histogram at this evaluation (the prediction is the last
// feature), or nil in streaming mode, where the current window's values are not kept.
func (m *modelState) histogram(i int, fd *featureData, cache *refCache) *Histogram {
	if fd.streaming {
		return nil
	}
	if fd.typ == Numeric {
		return NumericHistogram(cache.samples[fd.name], fd.curNum)
	}
	names := m.categoryNames(i)
	return CategoricalHistogram(cache.counts[fd.name], drift.CountCategories(fd.curCat), func(id uint32) string {
		if int(id) < len(names) {
			return names[id]
		}
		return OtherValue
	})
}

// categoryNames copies the names of feature i's category ids (the prediction's classes
// for the last index) under the model's lock: ingest adds to the dictionaries.
func (m *modelState) categoryNames(i int) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i < len(m.feats) {
		return names(m.feats[i].dict)
	}
	// Predicted classes are stored as class + 1: binary 1 negative, 2 positive.
	if m.cfg.Task == BinaryClassification {
		return []string{"", "not " + string(m.cfg.PositiveClass), string(m.cfg.PositiveClass)}
	}
	cls := names(m.classes)
	return append([]string{""}, cls...)
}
