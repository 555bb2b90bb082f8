package monitor

import (
	"fmt"
	"math"
	"strconv"

	"github.com/vigilml/vigil/drift/sketch"
)

// catCounts counts one categorical feature's values in one pane of a streaming window, by
// the feature's dictionary id: a counter per id up to the largest seen, 4 bytes each
// (8 once a count passes 2^32-1). A pane of a feature with 200 categories takes under
// 1 KB, where a sketch.Categorical (a map from the id's decimal string) took 6.8 KB, ten
// times over in a window of ten panes. It counts as a sketch.Categorical of limit
// streamCategories would: at most that many distinct ids one by one, the values of
// further ids as overflow; toSketch turns it into one.
type catCounts struct {
	c32      []uint32 // c32[id], until a count passes math.MaxUint32
	c64      []uint64 // c64[id] after that; then c32 is nil
	distinct int
	overflow int64
}

// add counts one value of id (> 0).
func (c *catCounts) add(id uint32) {
	i := int(id)
	if c.count(i) == 0 {
		if c.distinct >= streamCategories {
			c.overflow++
			return
		}
		c.distinct++
	}
	c.addN(i, 1)
}

func (c *catCounts) count(i int) uint64 {
	switch {
	case c.c64 != nil && i < len(c.c64):
		return c.c64[i]
	case i < len(c.c32):
		return uint64(c.c32[i])
	}
	return 0
}

// addN adds n to the counter of i, growing and widening the counters as needed.
func (c *catCounts) addN(i int, n uint64) {
	if c.c64 == nil {
		if i >= len(c.c32) {
			c.c32 = append(c.c32, make([]uint32, i+1-len(c.c32)+len(c.c32)/8)...)
		}
		if v := uint64(c.c32[i]) + n; v <= math.MaxUint32 {
			c.c32[i] = uint32(v)
			return
		}
		c.c64 = make([]uint64, len(c.c32))
		for j, v := range c.c32 {
			c.c64[j] = uint64(v)
		}
		c.c32 = nil
	}
	if i >= len(c.c64) {
		c.c64 = append(c.c64, make([]uint64, i+1-len(c.c64))...)
	}
	c.c64[i] += n
}

func (c *catCounts) reset() {
	clear(c.c32)
	clear(c.c64)
	c.distinct, c.overflow = 0, 0
}

// each calls fn for each id counted, in ascending order.
func (c *catCounts) each(fn func(id uint32, n uint64)) {
	for i := range max(len(c.c32), len(c.c64)) {
		if v := c.count(i); v > 0 {
			fn(uint32(i), v)
		}
	}
}

// overflowKey is a category key no id has (ids are decimal), to count overflow with.
const overflowKey = "overflow"

// toSketch returns the summary that a sketch.Categorical of limit streamCategories, fed
// the same values with each id as its dictionary key, would hold.
func (c *catCounts) toSketch(d *dict) *sketch.Categorical {
	s := sketch.NewCategorical(streamCategories)
	c.each(func(id uint32, n uint64) { s.AddN(d.key(id), int64(n)) })
	// Overflow only once the limit is reached: a key beyond it counts there.
	s.AddN(overflowKey, c.overflow)
	return s
}

// fromSketch replaces c by the counts of s, a summary that toSketch made (as a snapshot
// holds it).
func (c *catCounts) fromSketch(s *sketch.Categorical) error {
	c.reset()
	for key, n := range s.Counts() {
		id, err := strconv.ParseUint(key, 10, 32)
		if err != nil || id == 0 {
			return fmt.Errorf("streaming summary: category key %q is not an id", key)
		}
		c.addN(int(id), uint64(n))
		c.distinct++
	}
	c.overflow = s.Overflow()
	return nil
}
