// Package anomaly scores a model's own time series, one value per
// evaluation tick, and detects changes in them: a [Scorer] turns each value
// into a robust signed anomaly score, in σ, and a [CUSUM] on those scores
// alarms on sustained shifts. vigil keeps one of each per model and signal
// (prediction rate, mean score, positive rate, missing ratio, p95 latency)
// and exports the score as vigil_anomaly_score{signal=...}. The package is
// pure: no I/O, clocks, goroutines or globals; state is persisted through
// [Scorer.State] and [CUSUM.State], plain JSON-friendly structs.
//
// # Score
//
// The first WarmUp finite values (default 30) are buffered and score
// nothing; their median and 1.4826·MAD (σ for normal data) become the mean
// m and the scale s, so up to half of them may be outliers. When more than
// half are equal the MAD is 0 and the mean absolute deviation from the
// median, times √(π/2), is used instead. From then on each value x is first
// scored against the past,
//
//	z = (x − m) / s′,  s′ = max(s, MinScale),
//
// then learnt with its residual r = x − m winsorised to r′ = clip(r, ±k·s′),
// k = Winsor (default 3):
//
//	m ← m + a·r′
//	s ← s + a·(√(π/2)·|r′| − s)
//	a = max(α, 1/n), α = 1 − 2^(−1/HalfLife)
//
// where n counts the values learnt, so that the first ticks after warm-up
// refine its estimates as a running mean would. HalfLife defaults to 100
// ticks.
//
// The scale is an exponentially weighted mean absolute deviation, times
// √(π/2) so that it estimates σ for normal data, rather than an
// exponentially weighted variance: an outlier's influence on it is linear
// rather than quadratic, and with winsorisation bounded by k·s either way,
// so one bad tick cannot blow it up; it needs no square root; and an exact
// running median of absolute deviations cannot be updated in O(1).
// Winsorising at 3σ lowers it by 0.1% for normal data.
//
// The score is signed, positive above the mean, so that the CUSUM can be
// two-sided and dashboards show the direction; alert on abs(). It is capped
// at ±Cap (default 100), so a gauge never holds Inf. While s′ is not above
// 1e-9·|m| (a signal that has not moved, up to rounding noise) residuals
// are measured in units of 1e-9·|m| instead, or, at m = 0, a value equal to
// the mean scores 0 and any other ±Cap; such a value is learnt
// unwinsorised, which gives the scale its first non-zero value. Set
// MinScale, in the signal's unit, to the smallest change worth a score of 1
// for signals that can sit still, such as a missing ratio of 0. NaN, ±Inf
// and |x| > 1e300 are skipped: they score nothing and are not learnt.
//
// How the score reacts, at the defaults and on N(0,1):
//
//   - A spike is scored in full but moves the mean by at most a·k·s and the
//     scale by a factor of at most 1 + a·(√(π/2)·k − 1): 0.02σ and 2% once
//     a = α (after 1/α ≈ 145 ticks; before, a = 1/n is larger). The next
//     tick scores as usual.
//   - A level shift of Δσ scores about Δ at once and decays as the mean
//     learns it. Residuals above k·s are clipped, so a large shift is learnt
//     at first by the winsorised amount while the scale inflates, then the
//     scale relaxes (table below): a 10σ shift hides smaller anomalies
//     behind a scale of up to 4.7σ for a few hundred ticks.
//   - A trend of b per tick is lagged by L = b·(1−α)/α. Residuals are then
//     N(L, σ²), part of the lag is absorbed in the scale, and the score
//     settles at L/(√(π/2)·E|N(L,1)|), never above 1/√(π/2) ≈ 0.8: a trend
//     shows as repeated CUSUM alarms, not as a high score. A trend slower
//     than about 0.004σ per tick settles below K = 0.5 and only shortens
//     the CUSUM's run length: 0.002σ per tick is found after a median 704
//     ticks.
//
// # Change detection
//
// [CUSUM] is the two-sided tabular CUSUM on standardised values, with each
// input clipped to ±Clip (default 4), the robust CUSUM of Lucas and Crosier
// (1982):
//
//	S⁺ ← max(0, S⁺ + clip(z) − K)
//	S⁻ ← max(0, S⁻ − clip(z) − K)
//
// alarming when S⁺ > h or S⁻ > h and then restarting both from 0. K
// (default 0.5) makes it quickest for shifts of 2K = 1σ. A persistent shift
// alarms again each time it has built a fresh sum, until the Scorer has
// learnt it: the daemon should count alarms and alert on their increase.
// Clipping means one spike cannot alarm (three in a row can): spikes are the
// score's job.
//
// The threshold h is set from the target average run length between false
// alarms, ARL0 (default 10000 ticks), as online drift detectors set theirs,
// by Siegmund's approximation to the in-control run length of a one-sided
// CUSUM on N(0,1) input (D. Siegmund, Sequential Analysis: Tests and
// Confidence Intervals, Springer, 1985; quoted in D. C. Montgomery,
// Introduction to Statistical Quality Control, ch. 9):
//
//	ARL(h) ≈ (exp(2K·b) − 2K·b − 1) / (2K²),  b = h + 1.166
//
// and b² for K = 0. The 1.166 is twice 0.583 ≈ −ζ(1/2)/√(2π), the expected
// overshoot of a Gaussian random walk, correcting the Brownian
// approximation for discrete steps. The sides are combined as
// 1/ARL0 = 1/ARL⁺ + 1/ARL⁻, so each side is given 2·ARL0, and ARL(h) = 2·ARL0
// is solved by bisection: h = 8.045 at the defaults. On independent N(0,1)
// input, over 20M ticks per setting with ARL0 from 100 to 10000, the
// measured run length was within 1.5% of ARL0 for K = 0.25 and 0.5 and 5–8%
// short for K = 1 (TestCUSUMRunLength holds it to 15% on fewer ticks). For
// h = 4 and 5 at K = 0.5 the approximation gives 169 and 469, against the
// exact 168 and 465.
//
// # Measured behaviour
//
// Defaults throughout, 200 seeded runs per row; TestReport prints these
// tables (go test -run TestReport -v ./drift/anomaly/). Changes are
// injected into N(0,1) 500 ticks after warm-up. Delay is the median number
// of ticks from the first changed tick to the first alarm (0: on that
// tick; —: over half missed), detected the share of runs alarmed within
// 1000 ticks (10 for the spike), alarms the mean number of CUSUM alarms in
// those 1000 ticks; |z|≥4 is the score alone crossing 4:
//
//	change                CUSUM   detected  alarms   |z|≥4   detected
//	spike +6σ, one tick       —         0%     0.1       0       100%
//	level shift +1σ          14       100%     2.8       —        10%
//	level shift +2σ           5       100%     8.6       —        24%
//	level shift −3σ           3       100%    13.0       5        70%
//	trend +0.01σ/tick        88       100%    35.4       —         6%
//	trend +0.002σ/tick      704        70%     1.1       —        10%
//
// False alarms per 10k scored ticks, 200 runs of 10k ticks after warm-up
// (ARL0 = 10000 promises 1 for the CUSUM on independent normal data):
//
//	series                       CUSUM   |z|≥4
//	N(0,1)                        0.68    0.83
//	AR(1) φ=0.5                  55.48    0.79
//	AR(1) φ=0.5, ARL0=1e8         1.24    0.79
//	Poisson(5)                    1.26    5.92
//
// On N(0,1) the pair is slightly conservative: the adaptive mean takes back
// part of every excursion. The calibration assumes independent ticks;
// positive autocorrelation, as in AR(1) with φ = 0.5, inflates the CUSUM
// sums and with them false alarms, 55 per 10k (a run length of about 180
// ticks); for such a signal raise ARL0 (1e8 gives h = 17.3) or K. Counts
// are skewed, so the score's upper tail is heavier than normal.
//
// HalfLife trades detection against repeated alarms: the CUSUM must build
// up its sum before the mean has learnt the shift, and the longer the
// half-life the longer a persistent shift keeps alarming:
//
//	half-life   +1σ detected  +1σ delay  +2σ alarms
//	30                   70%         21         2.5
//	50                   92%         16         4.2
//	100                 100%         14         8.6
//	200                 100%         13        17.1
//
// Mean score / scale (σ, after the tick) k ticks after a level shift:
//
//	shift          k=0        k=10       k=100       k=200       k=400       k=800
//	+3σ     3.06/ 1.01  2.52/ 1.17  0.83/ 1.82  0.47/ 1.67  0.06/ 1.22 -0.07/ 1.02
//	+10σ   10.09/ 1.02  8.19/ 1.23  1.35/ 4.38  0.63/ 4.74  0.24/ 2.57 -0.03/ 1.12
package anomaly
