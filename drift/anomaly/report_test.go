package anomaly

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The report runs the default Scorer and CUSUM over seeded series: detection
// delays for injected changes and false alarms on clean series. Its table
// is quoted in the package documentation; print it with
//
//	go test -run TestReport -v ./drift/anomaly/
const (
	reportRuns    = 200    // seeded runs per row
	reportPre     = 500    // scored ticks before a change
	reportHorizon = 1000   // ticks after a change within which it counts as detected
	reportClean   = 10_000 // scored ticks per clean run
	scoreAlarm    = 4      // |score| at or above which the score alone alarms
)

// changeScenario adds offset(i) to the i-th tick after the change (i ≥ 0)
// of an N(0,1) series; an alarm up to horizon ticks after the change
// detects it.
type changeScenario struct {
	name    string
	horizon int
	offset  func(i int) float64
}

var changeScenarios = []changeScenario{
	{"spike +6σ, one tick", 10, func(i int) float64 {
		if i == 0 {
			return 6
		}
		return 0
	}},
	{"level shift +1σ", reportHorizon, func(int) float64 { return 1 }},
	{"level shift +2σ", reportHorizon, func(int) float64 { return 2 }},
	{"level shift −3σ", reportHorizon, func(int) float64 { return -3 }},
	{"trend +0.01σ/tick", reportHorizon, func(i int) float64 { return 0.01 * float64(i+1) }},
	{"trend +0.002σ/tick", reportHorizon, func(i int) float64 { return 0.002 * float64(i+1) }},
}

func scenario(name string) changeScenario {
	i := slices.IndexFunc(changeScenarios, func(sc changeScenario) bool { return sc.name == name })
	return changeScenarios[i]
}

// detection summarises one detector over the runs of a change scenario.
type detection struct {
	delays   []int // ticks after the change to the first alarm; −1: missed
	alarmSum int   // alarms within the horizon, over all runs
}

func (d *detection) add(delay, alarms int) {
	d.delays = append(d.delays, delay)
	d.alarmSum += alarms
}

// median returns the median delay, counting misses as infinitely late, and
// false when more than half of the runs missed.
func (d *detection) median() (int, bool) {
	s := slices.Clone(d.delays)
	for i, v := range s {
		if v < 0 {
			s[i] = math.MaxInt
		}
	}
	slices.Sort(s)
	m := s[(len(s)-1)/2]
	return m, m != math.MaxInt
}

func (d *detection) detected() float64 {
	n := 0
	for _, v := range d.delays {
		if v >= 0 {
			n++
		}
	}
	return float64(n) / float64(len(d.delays))
}

func (d *detection) String() string {
	m, ok := d.median()
	med := "—"
	if ok {
		med = fmt.Sprint(m)
	}
	return fmt.Sprintf("%6s %9.0f%%", med, 100*d.detected())
}

// runChange runs both detectors over reportRuns seeded series with the
// change injected after warm-up plus reportPre ticks.
func runChange(t testing.TB, opts ScorerOptions, sc changeScenario) (cusum, score *detection) {
	cusum, score = &detection{}, &detection{}
	for run := range reportRuns {
		s, err := NewScorer(opts)
		require.NoError(t, err)
		c, err := NewCUSUM(CUSUMOptions{})
		require.NoError(t, err)
		rng := newRand(uint64(1_000 + run))
		onset := defaultWarmUp + reportPre
		cDelay, sDelay, cAlarms := -1, -1, 0
		for i := range onset + reportHorizon {
			x := rng.NormFloat64()
			if i >= onset {
				x += sc.offset(i - onset)
			}
			z, ok := s.Update(x)
			if !ok && i >= defaultWarmUp {
				t.Fatalf("run %d tick %d: no score", run, i)
			}
			alarm := ok && c.Update(z)
			if i < onset {
				continue
			}
			if alarm {
				cAlarms++
				if cDelay < 0 && i-onset < sc.horizon {
					cDelay = i - onset
				}
			}
			if math.Abs(z) >= scoreAlarm && sDelay < 0 && i-onset < sc.horizon {
				sDelay = i - onset
			}
		}
		cusum.add(cDelay, cAlarms)
		score.add(sDelay, 0)
	}
	return cusum, score
}

var decayTicks = []int{0, 10, 100, 200, 400, 800}

// runDecay returns the mean score and scale decayTicks after a level shift.
func runDecay(t testing.TB, shift float64) (z, scale []float64) {
	z, scale = make([]float64, len(decayTicks)), make([]float64, len(decayTicks))
	for run := range reportRuns {
		s, err := NewScorer(ScorerOptions{})
		require.NoError(t, err)
		rng := newRand(uint64(3_000 + run))
		onset := defaultWarmUp + reportPre
		for i := range onset + decayTicks[len(decayTicks)-1] + 1 {
			x := rng.NormFloat64()
			if i >= onset {
				x += shift
			}
			score, _ := s.Update(x)
			if j := slices.Index(decayTicks, i-onset); j >= 0 {
				z[j] += score / reportRuns
				scale[j] += s.State().Scale / reportRuns
			}
		}
	}
	return z, scale
}

// cleanSeries generates one clean run from its seed.
type cleanSeries struct {
	name  string
	cusum CUSUMOptions
	gen   func(seed uint64) []float64
}

var cleanSerieses = []cleanSeries{
	{"N(0,1)", CUSUMOptions{}, func(seed uint64) []float64 {
		return gaussian(newRand(seed), defaultWarmUp+reportClean)
	}},
	{"AR(1) φ=0.5", CUSUMOptions{}, func(seed uint64) []float64 {
		return ar1(newRand(seed), defaultWarmUp+reportClean, 0.5)
	}},
	{"AR(1) φ=0.5, ARL0=1e8", CUSUMOptions{ARL0: 1e8}, func(seed uint64) []float64 {
		return ar1(newRand(seed), defaultWarmUp+reportClean, 0.5)
	}},
	{"Poisson(5)", CUSUMOptions{}, func(seed uint64) []float64 {
		return poisson(newRand(seed), defaultWarmUp+reportClean, 5)
	}},
}

// runClean returns the CUSUM and score alarms per 10k scored ticks.
func runClean(t testing.TB, cs cleanSeries) (cusum, score float64) {
	var cAlarms, sAlarms, ticks int
	for run := range reportRuns {
		s, err := NewScorer(ScorerOptions{})
		require.NoError(t, err)
		c, err := NewCUSUM(cs.cusum)
		require.NoError(t, err)
		for _, x := range cs.gen(uint64(2_000 + run)) {
			z, ok := s.Update(x)
			if !ok {
				continue
			}
			ticks++
			if c.Update(z) {
				cAlarms++
			}
			if math.Abs(z) >= scoreAlarm {
				sAlarms++
			}
		}
	}
	per10k := func(n int) float64 { return 1e4 * float64(n) / float64(ticks) }
	return per10k(cAlarms), per10k(sAlarms)
}

func newDefaults(t testing.TB) (*Scorer, *CUSUM) {
	s, err := NewScorer(ScorerOptions{})
	require.NoError(t, err)
	c, err := NewCUSUM(CUSUMOptions{})
	require.NoError(t, err)
	return s, c
}

func TestReport(t *testing.T) {
	if testing.Short() {
		t.Skip("the report runs 4.8M ticks")
	}
	t.Parallel()
	var b strings.Builder
	fmt.Fprintf(&b, "Detection on N(0,1), %d runs: median delay in ticks from the first changed tick (0: on it), share detected within %d ticks (10 for the spike), CUSUM alarms per run in those %d ticks:\n\n", reportRuns, reportHorizon, reportHorizon)
	fmt.Fprintf(&b, "  %-20s %6s %10s %7s  %6s %10s\n", "change", "CUSUM", "detected", "alarms", "|z|≥4", "detected")
	results := map[string][2]*detection{}
	for _, sc := range changeScenarios {
		c, s := runChange(t, ScorerOptions{}, sc)
		results[sc.name] = [2]*detection{c, s}
		fmt.Fprintf(&b, "  %-20s %s %7.1f  %s\n", sc.name, c, float64(c.alarmSum)/reportRuns, s)
	}
	fmt.Fprintf(&b, "\nFalse alarms per 10k ticks on clean series (ARL0 = %d predicts 1 for the CUSUM on N(0,1)), %d runs of %d ticks:\n\n", defaultARL0, reportRuns, reportClean)
	fmt.Fprintf(&b, "  %-26s %7s %7s\n", "series", "CUSUM", "|z|≥4")
	clean := map[string][2]float64{}
	for _, cs := range cleanSerieses {
		c, s := runClean(t, cs)
		clean[cs.name] = [2]float64{c, s}
		fmt.Fprintf(&b, "  %-26s %7.2f %7.2f\n", cs.name, c, s)
	}

	fmt.Fprintf(&b, "\nHalfLife against detection and repeated alarms (CUSUM, N(0,1), %d runs):\n\n", reportRuns)
	fmt.Fprintf(&b, "  %-10s %13s %10s %11s\n", "half-life", "+1σ detected", "+1σ delay", "+2σ alarms")
	sweep := map[float64][2]*detection{}
	for _, hl := range []float64{30, 50, 100, 200} {
		one, _ := runChange(t, ScorerOptions{HalfLife: hl}, scenario("level shift +1σ"))
		two, _ := runChange(t, ScorerOptions{HalfLife: hl}, scenario("level shift +2σ"))
		sweep[hl] = [2]*detection{one, two}
		m, _ := one.median()
		fmt.Fprintf(&b, "  %-10v %12.0f%% %10d %11.1f\n", hl, 100*one.detected(), m, float64(two.alarmSum)/reportRuns)
	}

	fmt.Fprintf(&b, "\nMean score / scale (σ) k ticks after a level shift, N(0,1), %d runs:\n\n", reportRuns)
	fmt.Fprintf(&b, "  %-6s", "shift")
	for _, k := range decayTicks {
		fmt.Fprintf(&b, " %11s", fmt.Sprintf("k=%d", k))
	}
	fmt.Fprintln(&b)
	decay := map[float64][]float64{}
	for _, shift := range []float64{3, 10} {
		z, scale := runDecay(t, shift)
		decay[shift] = z
		fmt.Fprintf(&b, "  %-6s", fmt.Sprintf("+%vσ", shift))
		for i := range decayTicks {
			fmt.Fprintf(&b, " %5.2f/%5.2f", z[i], scale[i])
		}
		fmt.Fprintln(&b)
	}
	t.Log("\n" + b.String())

	// Loose bounds around the figures in the package documentation.
	delay := func(d *detection) int { m, _ := d.median(); return m }
	spike := results["spike +6σ, one tick"]
	require.Zero(t, delay(spike[1]))
	require.Equal(t, 1.0, spike[1].detected())
	require.Less(t, spike[0].detected(), 0.05, "clipping: a lone spike is not a change")
	for name, maxDelay := range map[string]int{
		"level shift +1σ":   25,
		"level shift +2σ":   8,
		"level shift −3σ":   5,
		"trend +0.01σ/tick": 150,
	} {
		require.GreaterOrEqual(t, results[name][0].detected(), 0.99, name)
		require.LessOrEqual(t, delay(results[name][0]), maxDelay, name)
	}
	require.InDelta(t, 1, clean["N(0,1)"][0], 0.5)
	require.Less(t, clean["N(0,1)"][1], 1.5)
	require.Less(t, clean["Poisson(5)"][0], 2.0)
	require.Greater(t, clean["AR(1) φ=0.5"][0], 10.0, "autocorrelation is outside the calibration")
	require.Less(t, clean["AR(1) φ=0.5, ARL0=1e8"][0], 3.0)
	require.Less(t, sweep[30][0].detected(), 0.9, "a short half-life learns 1σ shifts before the CUSUM sees them")
	require.Greater(t, sweep[200][1].alarmSum, sweep[100][1].alarmSum)
	for _, z := range decay {
		require.Less(t, math.Abs(z[len(z)-1]), 0.2, "the shift is learnt")
	}
}
