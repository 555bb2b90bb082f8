package monitor

// ring tracks the logical order of a circular buffer whose storage lives in parallel column
// slices. It grows by doubling up to max and then overwrites the oldest entry. The columns
// are kept by the owner; ring only says which physical slot holds the i-th oldest entry.
type ring struct {
	max  int // most entries ever held
	cap  int // current physical capacity of every column
	head int // physical slot of the oldest entry
	n    int // entries held
}

// next returns the physical slot for a new entry and whether the oldest entry was
// overwritten. grow is called with the new capacity when the columns must be enlarged; it
// must re-lay each column out with relayout.
func (r *ring) next(grow func(newCap int)) (slot int, evicted bool) {
	if r.n == r.cap && r.cap < r.max {
		newCap := min(max(2*r.cap, 64), r.max)
		grow(newCap)
		r.head, r.cap = 0, newCap
	}
	if r.n < r.cap {
		slot = (r.head + r.n) % r.cap
		r.n++
		return slot, false
	}
	slot = r.head
	r.head = (r.head + 1) % r.cap
	return slot, true
}

// slot returns the physical slot of the i-th oldest entry.
func (r *ring) slot(i int) int { return (r.head + i) % r.cap }

// dropFront forgets the k oldest entries.
func (r *ring) dropFront(k int) {
	k = min(k, r.n)
	if k == 0 {
		return
	}
	r.head = (r.head + k) % r.cap
	r.n -= k
}

// relayout copies the n entries of s that start at physical slot head into a new slice of
// length newCap, oldest first.
func relayout[T any](s []T, head, n, newCap int) []T {
	out := make([]T, newCap)
	if n > 0 {
		k := copy(out, s[head:min(head+n, len(s))])
		copy(out[k:], s[:n-k])
	}
	return out
}
