package sketch

import (
	"maps"
	"math"
	"slices"

	"github.com/vigilml/vigil/drift"
)

// DefaultMaxCategories is the number of distinct categories a [Categorical]
// counts one by one unless told otherwise: with keys of up to 32 bytes, a
// summary then stays under 32 KiB.
const DefaultMaxCategories = 400

// Categorical summarises one window (or pane) of one categorical feature:
// the count of each category, exact and mergeable. To keep memory bounded
// whatever a producer sends (a request id sent as a category), it counts at
// most a fixed number of distinct categories; values of further categories
// are counted together as "overflow", which the statistics treat as one
// more category. Below the limit everything equals drift's exact
// categorical mode.
//
// The zero value is not usable; call [NewCategorical]. A Categorical is not
// safe for concurrent use.
type Categorical struct {
	counts   map[string]int64
	overflow int64
	n        int64
	limit    int
}

// NewCategorical returns an empty summary that counts up to maxCategories
// distinct categories ([DefaultMaxCategories] if maxCategories <= 0).
func NewCategorical(maxCategories int) *Categorical {
	if maxCategories <= 0 {
		maxCategories = DefaultMaxCategories
	}
	return &Categorical{counts: make(map[string]int64), limit: maxCategories}
}

// Add counts one value of category.
func (c *Categorical) Add(category string) { c.AddN(category, 1) }

// AddN counts n values of category; n <= 0 is ignored.
func (c *Categorical) AddN(category string, n int64) {
	if n <= 0 {
		return
	}
	c.n += n
	if _, ok := c.counts[category]; ok || len(c.counts) < c.limit {
		c.counts[category] += n
		return
	}
	c.overflow += n
}

// Merge adds the values summarised by o to c. When the categories of both
// exceed c's limit, o's new categories join in ascending order until the
// limit and the rest count as overflow, so the result does not depend on
// map iteration order.
func (c *Categorical) Merge(o *Categorical) {
	fresh := 0
	for k := range o.counts {
		if _, ok := c.counts[k]; !ok {
			fresh++
		}
	}
	n := c.n
	if len(c.counts)+fresh <= c.limit {
		for k, v := range o.counts {
			c.counts[k] += v
		}
	} else {
		for _, k := range slices.Sorted(maps.Keys(o.counts)) {
			c.AddN(k, o.counts[k])
		}
	}
	c.overflow += o.overflow
	c.n = n + o.n
}

// Reset empties c, keeping its limit.
func (c *Categorical) Reset() {
	clear(c.counts)
	c.overflow, c.n = 0, 0
}

// Clone returns a deep copy of c.
func (c *Categorical) Clone() *Categorical {
	d := *c
	d.counts = maps.Clone(c.counts)
	return &d
}

// Count is the number of values counted, overflow included.
func (c *Categorical) Count() int64 { return c.n }

// Counts returns the count of each category counted one by one (a copy).
func (c *Categorical) Counts() map[string]int64 { return maps.Clone(c.counts) }

// Overflow is the number of values of categories beyond the limit.
func (c *Categorical) Overflow() int64 { return c.overflow }

// MaxCategories is the number of distinct categories c counts one by one.
func (c *Categorical) MaxCategories() int { return c.limit }

// CompareCategorical computes the categorical drift statistics of ref
// against cur over the categories of both, as [drift.CompareCategorical]:
// PSI, Jensen-Shannon, Hellinger, L-infinity and the chi-square test. When
// either side has overflow, the overflow counts form one more category. KS
// and Wasserstein are NaN.
func CompareCategorical(ref, cur *Categorical) drift.Result {
	_, r, c := drift.AlignCounts(ref.counts, cur.counts)
	if ref.overflow > 0 || cur.overflow > 0 {
		r = append(r, ref.overflow)
		c = append(c, cur.overflow)
	}
	nan := math.NaN()
	res := drift.Result{KS: nan, KSPValue: nan, Wasserstein: nan}
	res.PSI = drift.PSI(r, c)
	res.JensenShannon = drift.JensenShannon(r, c)
	res.Hellinger = drift.Hellinger(r, c)
	res.LInfinity = drift.LInfinity(r, c)
	res.ChiSquare, res.ChiSquarePValue = drift.ChiSquare(r, c)
	return res
}
