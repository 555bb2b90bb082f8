package drift

import "math"

// ecdfWalk is the result of one merge pass over two sorted samples: the
// extreme differences of their empirical CDFs (for KS) and, optionally, the
// area between them (the 1-Wasserstein distance).
type ecdfWalk struct {
	n1, n2 int
	// maxD and minD are the largest and smallest exact differences
	// i*n2 - j*n1 over the evaluation points (i, j = counts <= value);
	// maxF and minF are the float64 values i/n1 - j/n2 there, as scipy
	// computes them (the largest, resp. smallest, among exact ties).
	maxD, minD int64
	maxF, minF float64
	// area is sum over consecutive distinct values of |i*n2 - j*n1| * gap.
	area kahan
}

// walkSplitMin is the smallest reference for which walk splits the merge
// into two interleaved halves.
const walkSplitMin = 4096

// walk merges two sorted, non-empty samples. The empirical CDFs are
// evaluated after the last copy of each distinct value, as scipy evaluates
// them at every value (duplicates give the same point). With withArea it
// also integrates |F1 - F2| for the Wasserstein distance.
//
// The merge is split at the median of a into two independent halves that
// advance in the same loop: each merge step is a chain of dependent loads
// and compares, and two chains keep the CPU busy twice as well.
func walk(a, b []float64, withArea bool) ecdfWalk {
	return walkSplit(a, b, withArea, len(a) >= walkSplitMin)
}

func walkSplit(a, b []float64, withArea, split bool) ecdfWalk {
	n1, n2 := len(a), len(b)
	w := ecdfWalk{n1: n1, n2: n2, maxD: math.MinInt64, minD: math.MaxInt64}
	m := merger{a: a, b: b, N1: int64(n1), N2: int64(n2), withArea: withArea}
	lo := m.chain(0, 0, n1, n2)
	if !split {
		lo.run(&m, &w)
	} else {
		// Values below the pivot go to lo, the others to hi.
		p := a[n1/2]
		ia, jb := lowerBound(a, p), lowerBound(b, p)
		lo = m.chain(0, 0, ia, jb)
		hi := m.chain(ia, jb, n1, n2)
		if ia > 0 {
			hi.prev = a[ia-1]
		}
		if jb > 0 {
			hi.prev = max(hi.prev, b[jb-1])
		}
		interleave(&m, &lo, &hi)
		lo.run(&m, &w)
		hi.run(&m, &w)
	}
	w.visit(0, n1, n2) // the end point (n1, n2)
	return w
}

// lowerBound is the number of values in sorted x that are < v.
func lowerBound(x []float64, v float64) int {
	lo, hi := 0, len(x)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if x[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// merger holds what the chains of one walk share.
type merger struct {
	a, b     []float64
	N1, N2   int64
	withArea bool
}

// chain merges a[i:ea] with b[j:eb]. Its state (i, j), the values consumed
// so far, is an evaluation point exactly when the next value is larger than
// the last one consumed (prev); it is visited at the start of the next step.
type chain struct {
	i, j, ea, eb int
	D            int64 // i*N2 - j*N1
	prev         float64
	acc          ecdfWalk // extremes seen by this chain
	area         kahan
}

func (m *merger) chain(i, j, ea, eb int) chain {
	return chain{
		i: i, j: j, ea: ea, eb: eb,
		D:    int64(i)*m.N2 - int64(j)*m.N1,
		prev: math.Inf(-1),
		acc:  ecdfWalk{n1: len(m.a), n2: len(m.b), maxD: math.MinInt64, minD: math.MaxInt64},
	}
}

// step consumes the smaller of a[i] and b[j]; both must exist. Which side
// advances is unpredictable, so the advance is computed without a branch.
func (c *chain) step(m *merger) {
	x, y := m.a[c.i], m.b[c.j]
	v := min(x, y)
	if v > c.prev && c.i+c.j > 0 {
		c.acc.visit(c.D, c.i, c.j)
		if m.withArea {
			c.area.addPositive(float64(abs64(c.D)) * (v - c.prev))
		}
	}
	var t int64
	if x <= y {
		t = 1
	}
	c.i += int(t)
	c.j += int(1 - t)
	c.D += t*(m.N1+m.N2) - m.N1
	c.prev = v
}

// interleave advances two chains in one loop while both have values left on
// both sides. It is chain.step written out twice over local variables, so
// that the state of both chains stays in registers.
func interleave(m *merger, c0, c1 *chain) {
	a, b := m.a, m.b
	N1, N2 := m.N1, m.N2
	withArea := m.withArea
	i0, j0, ea0, eb0, D0, prev0, k0 := c0.i, c0.j, c0.ea, c0.eb, c0.D, c0.prev, c0.area
	i1, j1, ea1, eb1, D1, prev1, k1 := c1.i, c1.j, c1.ea, c1.eb, c1.D, c1.prev, c1.area
	for i0 < ea0 && j0 < eb0 && i1 < ea1 && j1 < eb1 {
		x0, y0 := a[i0], b[j0]
		x1, y1 := a[i1], b[j1]
		v0, v1 := min(x0, y0), min(x1, y1)
		if v0 > prev0 && i0+j0 > 0 {
			c0.acc.visit(D0, i0, j0)
			if withArea {
				k0.addPositive(float64(abs64(D0)) * (v0 - prev0))
			}
		}
		if v1 > prev1 && i1+j1 > 0 {
			c1.acc.visit(D1, i1, j1)
			if withArea {
				k1.addPositive(float64(abs64(D1)) * (v1 - prev1))
			}
		}
		var t0, t1 int64
		if x0 <= y0 {
			t0 = 1
		}
		if x1 <= y1 {
			t1 = 1
		}
		i0 += int(t0)
		j0 += int(1 - t0)
		D0 += t0*(N1+N2) - N1
		prev0 = v0
		i1 += int(t1)
		j1 += int(1 - t1)
		D1 += t1*(N1+N2) - N1
		prev1 = v1
	}
	c0.i, c0.j, c0.D, c0.prev, c0.area = i0, j0, D0, prev0, k0
	c1.i, c1.j, c1.D, c1.prev, c1.area = i1, j1, D1, prev1, k1
}

// run finishes the chain and folds its extremes and area into w.
func (c *chain) run(m *merger, w *ecdfWalk) {
	for c.i < c.ea && c.j < c.eb {
		c.step(m)
	}
	for ; c.i < c.ea; c.i++ {
		c.single(m, m.a[c.i])
		c.D += m.N2
	}
	for ; c.j < c.eb; c.j++ {
		c.single(m, m.b[c.j])
		c.D -= m.N1
	}
	w.merge(&c.acc)
	w.area.add(c.area.value())
}

// single visits before consuming v when only one side is left.
func (c *chain) single(m *merger, v float64) {
	if v > c.prev && c.i+c.j > 0 {
		c.acc.visit(c.D, c.i, c.j)
		if m.withArea {
			c.area.addPositive(float64(abs64(c.D)) * (v - c.prev))
		}
	}
	c.prev = v
}

// visit records the evaluation point (i, j) with exact difference D.
func (w *ecdfWalk) visit(D int64, i, j int) {
	if D >= w.maxD {
		f := float64(i)/float64(w.n1) - float64(j)/float64(w.n2)
		if D > w.maxD || f > w.maxF {
			w.maxD, w.maxF = D, f
		}
	}
	if D <= w.minD {
		f := float64(i)/float64(w.n1) - float64(j)/float64(w.n2)
		if D < w.minD || f < w.minF {
			w.minD, w.minF = D, f
		}
	}
}

// merge folds the extremes of o into w.
func (w *ecdfWalk) merge(o *ecdfWalk) {
	if o.maxD > w.maxD || (o.maxD == w.maxD && o.maxF > w.maxF) {
		w.maxD, w.maxF = o.maxD, o.maxF
	}
	if o.minD < w.minD || (o.minD == w.minD && o.minF < w.minF) {
		w.minD, w.minF = o.minD, o.minF
	}
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// ksStat is ks_2samp's two-sided statistic: max(maxS, clip(-minS, 0, 1)),
// taking minS only when strictly larger.
func (w *ecdfWalk) ksStat() float64 {
	maxS := w.maxF
	minS := clip01(-w.minF)
	if minS > maxS {
		return minS
	}
	return maxS
}

// wassersteinDistance is scipy.stats.wasserstein_distance of the two walked
// samples.
func (w *ecdfWalk) wassersteinDistance() float64 {
	return w.area.value() / (float64(w.n1) * float64(w.n2))
}

// Wasserstein is the drift score scipy.stats.wasserstein_distance(ref, cur)
// / numpy.std(ref) (population standard deviation). ok is false, and the
// score NaN, when it is undefined: ref is constant (std(ref) = 0), or either
// input is empty or holds a NaN or infinity. It copies and sorts both inputs;
// to reuse a sorted reference, build a [Sample] and call [Sample.Wasserstein].
func Wasserstein(ref, cur []float64) (score float64, ok bool) {
	return NewSample(ref).Wasserstein(NewSample(cur))
}

// Wasserstein is the normalised Wasserstein drift score of s (the reference)
// against cur, as [Wasserstein].
func (s *Sample) Wasserstein(cur *Sample) (score float64, ok bool) {
	if !s.usable() || !cur.usable() {
		return math.NaN(), false
	}
	std := s.Std()
	if std == 0 {
		return math.NaN(), false
	}
	w := walk(s.sorted, cur.sorted, true)
	return w.wassersteinDistance() / std, true
}
