package monitor

import "slices"

// probSlab keeps the class probabilities of multiclass predictions waiting for their
// labels: width floats a prediction, in one slice whose rows are reused through a free
// list. A pendingPred refers to its row by number, so it holds no pointer: the pending
// set's nodes are then memory the garbage collector never scans, and a prediction that
// waits costs no allocation of its own.
type probSlab struct {
	width int
	data  []float64
	free  []int32 // rows given back, reused first
}

// put copies p into a row (cut or padded with zeros to width) and returns the row's
// reference, which is never 0; a slab of width 0 (not multiclass) keeps nothing and
// returns 0.
func (s *probSlab) put(p []float64) int32 {
	if s.width == 0 {
		return 0
	}
	var r int32
	if n := len(s.free); n > 0 {
		r, s.free = s.free[n-1], s.free[:n-1]
	} else {
		n := len(s.data)
		s.data = slices.Grow(s.data, s.width)[:n+s.width]
		r = int32(n/s.width) + 1
	}
	row := s.row(r)
	clear(row[copy(row, p):])
	return r
}

// get returns the row of reference r, aliasing the slab, or nil for 0.
func (s *probSlab) get(r int32) []float64 {
	if r == 0 {
		return nil
	}
	return s.row(r)
}

// release gives row r back; 0 is no row.
func (s *probSlab) release(r int32) {
	if r != 0 {
		s.free = append(s.free, r)
	}
}

// rows is how many rows are in use.
func (s *probSlab) rows() int {
	if s.width == 0 {
		return 0
	}
	return len(s.data)/s.width - len(s.free)
}

func (s *probSlab) row(r int32) []float64 {
	i := int(r-1) * s.width
	return s.data[i : i+s.width : i+s.width]
}
