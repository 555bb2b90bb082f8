package sketch

// store counts values per bucket index for one side of the centre. It keeps
// the semantics of sketches-go's CollapsingLowestDenseStore with MaxBuckets
// buckets (the non-empty buckets span at most MaxBuckets indices; beyond,
// the lowest ones fold into the lowest that remains, so that a bucket k ends
// up in max(k, M-MaxBuckets+1) where M is the highest index added since the
// store was emptied, whatever the order of adds and merges), but not its
// memory: sketches-go counts in float64 over a range it grows by at least 64
// buckets at a time, about 7 KB per store whatever the data, which, times
// the panes of a window, put one feature's window at 140 KB.
//
// Here the counters cover the non-empty range with a small margin, one byte
// per bucket: the low byte of its count. The rest of each count (count/256)
// is kept by another store of the same kind, made when a first bucket
// reaches 256, which covers only the buckets that did. Most buckets of a
// sketch hold few values (the tails, and the many narrow buckets near the
// centre), so a pane of 1,000 values takes a few hundred bytes per store
// and a summary of 1M values about 1.5 KB.
type store struct {
	low   []uint8 // low byte of each bucket's count; low[i] is bucket off+i
	high  *store  // count/256 of each bucket; nil until a count reaches 256
	off   int
	lo    int    // lowest non-empty bucket; meaningful when total > 0
	hi    int    // highest bucket in use; meaningful when total > 0
	total uint64 // sum of the counts
}

// bounds returns the lowest and highest non-empty bucket.
func (s *store) bounds() (lo, hi int, ok bool) { return s.lo, s.hi, s.total > 0 }

// add counts n values in bucket k (n > 0).
func (s *store) add(k int, n uint64) {
	switch {
	case s.total == 0:
		s.reserve(k, k)
		s.lo, s.hi = k, k
	case k > s.hi:
		if k-s.lo+1 > MaxBuckets {
			s.collapseBelow(k - MaxBuckets + 1)
		}
		s.reserve(s.lo, k)
		s.hi = k
	case k < s.lo:
		k = max(k, s.hi-MaxBuckets+1)
		if k < s.lo {
			s.reserve(k, s.hi)
			s.lo = k
		}
	}
	s.total += n
	s.inc(k, n)
}

// inc adds n to the count of bucket k, which the counters cover.
func (s *store) inc(k int, n uint64) {
	i := k - s.off
	v := uint64(s.low[i]) + n
	s.low[i] = uint8(v)
	if v >>= 8; v > 0 {
		if s.high == nil {
			s.high = &store{}
		}
		s.high.add(k, v)
	}
}

// get returns the count of bucket k.
func (s *store) get(k int) uint64 {
	if s.total == 0 || k < s.lo || k > s.hi {
		return 0
	}
	v := uint64(s.low[k-s.off])
	if s.high != nil {
		v += s.high.get(k) << 8
	}
	return v
}

// collapseBelow folds the counts of the buckets below lo into bucket lo, which
// becomes the lowest; lo may lie above every non-empty bucket.
func (s *store) collapseBelow(lo int) {
	if lo <= s.lo {
		return
	}
	total := s.total
	sum := s.takeBelow(lo)
	if s.total == 0 {
		// Everything folds into one bucket, maybe beyond the counters.
		s.reserve(lo, lo)
		s.hi = lo
	}
	s.lo = lo
	s.total = total
	s.inc(lo, sum)
}

// takeBelow removes the counts of the buckets below lo and returns their sum.
// The store's range then starts at lo, unless it is empty.
func (s *store) takeBelow(lo int) uint64 {
	if s.total == 0 || lo <= s.lo {
		return 0
	}
	var sum uint64
	for k := s.lo; k <= min(lo-1, s.hi); k++ {
		sum += uint64(s.low[k-s.off])
		s.low[k-s.off] = 0
	}
	if s.high != nil {
		sum += s.high.takeBelow(lo) << 8
	}
	s.total -= sum
	if s.total > 0 {
		s.lo = lo
	}
	return sum
}

// reserve makes the counters cover buckets [lo, hi] (hi-lo < MaxBuckets),
// keeping the counts of the current range, which must lie within.
func (s *store) reserve(lo, hi int) {
	if lo >= s.off && hi < s.off+len(s.low) {
		return
	}
	need := hi - lo + 1
	size := min(need+max(4, need/16), MaxBuckets)
	off := lo
	if s.total > 0 && lo < s.lo {
		off = hi - size + 1 // growing downwards: leave the margin below
	}
	low := make([]uint8, size)
	if s.total > 0 {
		copy(low[s.lo-off:], s.low[s.lo-s.off:s.hi-s.off+1])
	}
	s.low, s.off = low, off
}

// mergeWith adds the counts of o to s, as adding each of o's values would.
func (s *store) mergeWith(o *store) {
	if o.total == 0 {
		return
	}
	if s.total == 0 {
		s.reserve(o.lo, o.hi)
	} else {
		// Make room once for the merged range, folding what falls below it.
		hi := max(s.hi, o.hi)
		if hi-s.lo+1 > MaxBuckets {
			s.collapseBelow(hi - MaxBuckets + 1)
		}
		s.reserve(max(min(s.lo, o.lo), hi-MaxBuckets+1), max(hi, s.hi))
	}
	// Adding o's highest bucket first moves the collapse threshold as far as
	// it goes; every lower bucket then folds as add folds it.
	for k := o.hi; k >= o.lo; k-- {
		if c := o.get(k); c > 0 {
			s.add(k, c)
		}
	}
}

// clear empties the store, keeping its counters for reuse.
func (s *store) clear() {
	clear(s.low)
	s.total = 0
	if s.high != nil {
		s.high.clear()
	}
}

// clone returns a deep copy of s whose counters cover only its range.
func (s *store) clone() store {
	if s.total == 0 {
		return store{}
	}
	c := store{total: s.total, lo: s.lo, hi: s.hi, off: s.lo}
	c.low = append([]uint8(nil), s.low[s.lo-s.off:s.hi-s.off+1]...)
	if s.high != nil && s.high.total > 0 {
		h := s.high.clone()
		c.high = &h
	}
	return c
}

// forEach calls fn for each non-empty bucket in ascending order.
func (s *store) forEach(fn func(k int, n uint64)) {
	if s.total == 0 {
		return
	}
	for k := s.lo; k <= s.hi; k++ {
		if c := s.get(k); c > 0 {
			fn(k, c)
		}
	}
}
