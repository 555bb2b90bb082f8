package anomaly

import "testing"

// benchInput is N(0,1) noise with a few spikes, cycled through by the
// benchmarks so that both the winsorised and the plain paths run.
func benchInput() []float64 {
	x := gaussian(newRand(12), 1<<12)
	for i := 0; i < len(x); i += 97 {
		x[i] += 10
	}
	return x
}

func BenchmarkScorerUpdate(b *testing.B) {
	x := benchInput()
	s, err := NewScorer(ScorerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range x {
		s.Update(v)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Update(x[i&(len(x)-1)])
		i++
	}
}

func BenchmarkCUSUMUpdate(b *testing.B) {
	x := benchInput()
	c, err := NewCUSUM(CUSUMOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Update(x[i&(len(x)-1)])
		i++
	}
}

// BenchmarkScorerWarmUp includes the sorts that end warm-up: one tick in
// defaultWarmUp.
func BenchmarkScorerWarmUp(b *testing.B) {
	x := benchInput()
	s, err := NewScorer(ScorerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%defaultWarmUp == 0 {
			if err := s.Restore(ScorerState{}); err != nil {
				b.Fatal(err)
			}
		}
		s.Update(x[i&(len(x)-1)])
		i++
	}
}
