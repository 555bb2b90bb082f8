package monitor

import "math"

// predWindow holds predictions column by column: one float64 column per numeric feature
// (NaN = missing), one dictionary-id column per categorical feature (0 = missing). It is a
// ring: once full, each new prediction overwrites the oldest. Memory is 8 bytes per numeric
// value and 4 per categorical one, allocated as the window fills.
type predWindow struct {
	r       ring
	full    bool // reached max once (used to freeze the first-N reference)
	time    []int64
	version []uint32
	pred    []float64
	score   []float64
	num     [][]float64
	cat     [][]uint32
}

func newPredWindow(maxLen, nNum, nCat int) *predWindow {
	return &predWindow{
		r:   ring{max: maxLen},
		num: make([][]float64, nNum),
		cat: make([][]uint32, nCat),
	}
}

// frozen reports whether a first-N reference has filled up and stopped taking events.
func (w *predWindow) frozen() bool { return w.full }

// len is the number of predictions held.
func (w *predWindow) len() int { return w.r.n }

func (w *predWindow) grow(newCap int) {
	h, n := w.r.head, w.r.n
	w.time = relayout(w.time, h, n, newCap)
	w.version = relayout(w.version, h, n, newCap)
	w.pred = relayout(w.pred, h, n, newCap)
	w.score = relayout(w.score, h, n, newCap)
	for i := range w.num {
		w.num[i] = relayout(w.num[i], h, n, newCap)
	}
	for i := range w.cat {
		w.cat[i] = relayout(w.cat[i], h, n, newCap)
	}
}

// push adds a prediction and returns its slot; the caller fills the feature columns.
func (w *predWindow) push(t int64, version uint32, pred, score float64) int {
	slot, _ := w.r.next(w.grow)
	w.time[slot], w.version[slot], w.pred[slot], w.score[slot] = t, version, pred, score
	if w.r.n == w.r.max {
		w.full = true
	}
	return slot
}

// clearFeatures marks every feature of a slot missing.
func (w *predWindow) clearFeatures(slot int) {
	for i := range w.num {
		w.num[i][slot] = math.NaN()
	}
	for i := range w.cat {
		w.cat[i][slot] = 0
	}
}

// dropBefore evicts predictions older than cutoff from the front (duration windows).
func (w *predWindow) dropBefore(cutoff int64) {
	k := 0
	for k < w.r.n && w.time[w.r.slot(k)] < cutoff {
		k++
	}
	w.r.dropFront(k)
}

// span returns the logical range [lo, hi) of entries that make up a window: for a size
// window the last size entries ending skip entries before the newest; for a duration
// window the entries whose time lies in (end-d, end].
func (w *predWindow) span(size int, skip int) (lo, hi int) {
	hi = max(0, w.r.n-skip)
	lo = max(0, hi-size)
	return lo, hi
}

// timeSpan returns the logical range of entries with from < time ≤ to. Entries are in
// arrival order, which is event-time order up to the sender's disorder; the range is the
// first and last entry inside the interval, and entries inside it that are out of order
// are counted by the caller's filter.
func timeSpan(n int, timeAt func(i int) int64, from, to int64) (lo, hi int) {
	lo = 0
	for lo < n && timeAt(lo) <= from {
		lo++
	}
	hi = n
	for hi > lo && timeAt(hi-1) > to {
		hi--
	}
	return lo, hi
}

// pairWindow holds joined prediction-label pairs for the quality statistics.
type pairWindow struct {
	r       ring
	time    []int64 // prediction event time
	version []uint32
	seg     [][]uint32
	y       []float64
	pred    []float64
	score   []float64
	lag     []float64
	width   int       // probabilities per row (multiclass), else 0
	probs   []float64 // width per row
}

func newPairWindow(maxLen, nSeg, width int) *pairWindow {
	return &pairWindow{r: ring{max: maxLen}, seg: make([][]uint32, nSeg), width: width}
}

func (w *pairWindow) grow(newCap int) {
	h, n := w.r.head, w.r.n
	w.time = relayout(w.time, h, n, newCap)
	w.version = relayout(w.version, h, n, newCap)
	w.y = relayout(w.y, h, n, newCap)
	w.pred = relayout(w.pred, h, n, newCap)
	w.score = relayout(w.score, h, n, newCap)
	w.lag = relayout(w.lag, h, n, newCap)
	for i := range w.seg {
		w.seg[i] = relayout(w.seg[i], h, n, newCap)
	}
	if w.width > 0 {
		// Rows move as blocks of width.
		out := make([]float64, newCap*w.width)
		for i := range n {
			src := ((h + i) % max(w.r.cap, 1)) * w.width
			copy(out[i*w.width:(i+1)*w.width], w.probs[src:src+w.width])
		}
		w.probs = out
	}
}

// push adds a joined pair: the prediction p with its class probabilities probs
// (multiclass; nil otherwise) and its label y.
func (w *pairWindow) push(t int64, p *pendingPred, probs []float64, y, lag float64) {
	slot, _ := w.r.next(w.grow)
	w.time[slot], w.version[slot], w.y[slot], w.pred[slot], w.score[slot], w.lag[slot] = t, p.version, y, p.pred, p.score, lag
	for i := range w.seg {
		w.seg[i][slot] = p.seg[i]
	}
	if w.width > 0 {
		row := w.probs[slot*w.width : (slot+1)*w.width]
		if probs != nil {
			copy(row, probs)
		} else {
			clear(row)
		}
	}
}

func (w *pairWindow) dropBefore(cutoff int64) {
	k := 0
	for k < w.r.n && w.time[w.r.slot(k)] < cutoff {
		k++
	}
	w.r.dropFront(k)
}
