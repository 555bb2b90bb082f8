// Package sketch is vigil's streaming mode for drift statistics: bounded
// summaries of a window of one feature that merge (a window is built from
// panes), encode (reference profiles and the state store save them) and
// compare like drift's exact mode, without holding the values. A window of
// 10^5 events × 100 features then takes at most 32 KiB per feature whatever
// the traffic, instead of 8 bytes per value.
//
// Like drift, it is pure: no I/O, no clock, no goroutine.
//
// # Summaries
//
// [Numeric] summarises a numeric feature: exact count, minimum, maximum,
// mean and variance; exact counts over fixed bins given at construction
// (the reference's deciles, with [drift.Bins] semantics); and a DDSketch
// from github.com/DataDog/sketches-go for KS, Wasserstein and quantiles.
// The sketch uses one logarithmic index mapping for all of vigil
// ([RelativeAccuracy] 0.01: buckets [γ^k, γ^(k+1)) with γ ≈ 1.0202, 115 per
// decade), so the buckets of any two summaries align; it keeps two stores
// of at most [MaxBuckets] (1024) buckets that collapse their lowest buckets
// as sketches-go's CollapsingLowestDenseStore does, one for values above the
// centre and one for values below, and counts values at the centre apart.
// The stores are vigil's own (store.go): one byte per bucket in use, the low
// byte of its count, and the rest of the counts in a second such store over
// only the buckets that reached 256. The logarithmic mapping (rather than
// the cubically interpolated one) makes bucket boundaries exact powers of γ,
// cheap to invert, which the comparison does for every bucket.
//
// [NumericOptions] fix what the summaries of one feature share:
//
//   - Bins: the fixed bins of psi, jensen_shannon, hellinger and l_infinity.
//   - Center: the sketch resolves |value - Center| to 1%, so a feature far
//     from zero relative to its spread (a year, a temperature in Kelvin) is
//     blurred unless Center is near its values; it also centres the running
//     moments, which keeps them accurate there.
//   - Scale: pins the sketch's 8.9 decades on the data, from Scale/2.8e4 to
//     Scale*2.8e4, counting values beyond into the end buckets. Without it
//     (Scale 0) the buckets follow the data, and a single value 10^9 times
//     the others (a 3.4e38 sentinel) collapses all the others into one
//     bucket: the streaming KS then sees nothing.
//
// [ReferenceOptions] derives all three from the reference's deciles (Center
// the median, Scale the geometric middle of the deciles' distances to it);
// use it for every feature. For a reference that is streamed rather than
// loaded from a profile, derive the options from the deciles of its first
// values (say 1000, held exactly), stream the rest, then call
// [Numeric.Deciles] and [Numeric.Rebin] on the full reference: Deciles
// places each edge on a bucket boundary next to numpy's decile, so that
// every summary with the same Center and Scale (panes built before the edges
// were known included) rebins into it exactly. Current windows then use
// the reference's [Numeric.Options].
//
// [Categorical] summarises a categorical feature: the count of each
// category, exact below [DefaultMaxCategories] (400) distinct categories;
// beyond, further categories count together as one overflow category.
//
// # Statistics and their error
//
// [Compare] returns the drift.Result of drift.Sample.Compare, and
// [CompareCategorical] that of drift.CompareCategorical:
//
//   - psi, jensen_shannon, hellinger, l_infinity (numeric) are computed by
//     drift's count functions from the fixed-bin counts: identical to exact
//     mode (tested bit for bit) when the bins are the same. All categorical
//     statistics, chi_square included, are identical below the category
//     limit.
//   - ks: both empirical CDFs are exact at every bucket boundary (they count
//     the values below it), so the maximum of |F_R - F_C| over the
//     boundaries of the union of buckets, d, is never above the exact
//     statistic D. Within a bucket holding fractions p of R and q of C, the
//     difference moves by at most +p and -q from its value at the lower
//     boundary, so D <= max over buckets of max(d_k + p, q - d_k): [KS]
//     returns this guaranteed upper bound too, at most d plus the largest
//     share of either window in one bucket. In practice the maximum lies
//     where the densities cross, where the difference is flat, and d is far
//     closer than the bound: see the table. Integer and other tied data,
//     where each distinct value has its own bucket, give D exactly.
//   - ks p-value: [drift.KSPValue] of (n, m, d), exact sizes, while the
//     effective size nm/(n+m) is below [drift.KSAsymptoticMinEN];
//     [drift.KSPValueAsymptotic], Kolmogorov's limit, from there on (within 1%
//     of the series, at a few exponentials instead of O(n)). It inherits the
//     error of d (|Δp| is about |Δd|·sqrt(nm/(n+m)) times the density of
//     Kolmogorov's distribution).
//   - wasserstein: ∫|F_R - F_C| dx with the values of each bucket spread
//     uniformly over the bucket's part of [min, max] of their window, divided
//     by the exact population std of R. Both the exact and this difference
//     stay within [d_k - q, d_k + p] across a bucket, so the distance is off
//     by at most Σ (p+q)·width over the buckets: [Wasserstein] returns that
//     guaranteed bound. Values beyond the Scale window lie in an end bucket
//     that reaches to the window's maximum; with them the distance is off by
//     as much as their spread (as the sentinel and wide rows show), but so
//     is the exact score dominated by them.
//
// The guarantees (d <= D <= upper, the Wasserstein bound, identical binned
// statistics) assume the index mapping is monotone, which math.Log is to
// within ulps at bucket boundaries; the tests check them on thousands of
// random windows of eight shapes, extreme values included.
//
// Measured against exact mode (drift.Sample.Compare on the same values), n
// values in each window, ReferenceOptions unless said otherwise (columns:
// |KS_stream - KS_exact| for n = 1e3, 1e4, 1e5, 1e6; the largest |ΔW| in
// units of std(R) and the largest relative ΔW over the four sizes). The
// binned statistics were identical in every case. TestAccuracy recomputes
// it (VIGIL_SKETCH_TABLE=1 prints it) and fails when a documented bound
// below is broken.
//
//	case                                        ΔKS 1e3  ΔKS 1e4  ΔKS 1e5  ΔKS 1e6  |ΔW|/σ   rel ΔW
//	normal, no drift                            2.0e-03  2.0e-04  3.7e-04  1.1e-04  5.4e-05  1.4e-02
//	normal, shift 0.05σ                         1.0e-03  4.0e-04  6.0e-05  2.8e-05  1.9e-04  3.0e-03
//	normal, shift 0.5σ                          0        2.0e-04  2.0e-04  2.1e-05  2.6e-04  6.2e-04
//	normal, std ×1.25                           0        5.0e-04  7.0e-05  6.5e-05  7.7e-04  3.3e-03
//	lognormal(0,1), shift 0.1 in log            1.0e-03  2.0e-04  7.0e-05  3.5e-05  1.5e-04  1.8e-03
//	uniform(0,1), shift 0.02                    2.0e-03  4.0e-04  3.2e-04  4.1e-05  2.4e-04  3.0e-03
//	integers (ties), floor(lognormal(2,1))      0        0        0        0        4.0e-04  4.9e-03
//	mixture: 30% zeros, N(-5,2), lognormal(1,1) 2.0e-03  0        0        0        3.6e-04  5.7e-03
//	constant 7                                  0        0        0        0        (undefined: std 0)
//	offset: N(1000,1), shift 0.05               1.0e-03  4.0e-04  6.0e-05  2.8e-05  1.9e-04  3.0e-03
//	sentinel: N(10,1) shift 0.3, one 3.4e38     0        3.0e-04  1.2e-04  2.4e-05  3.4e+33  0.50
//	wide: lognormal(0,6), shift 0.3 in log      8.0e-03  4.0e-04  4.0e-05  2.7e-05  3.8      1.0e+03
//	Center 0, Scale 0: offset N(1000,1)         3.7e-02  3.0e-02  2.2e-02  2.2e-02  0.38     7.8
//	Center 0, Scale 0: wide lognormal(0,6)      9.0e-03  4.1e-03  1.1e-02  1.4e-02  8.7e-04  5.7e-03
//
// Documented bounds, asserted by the tests: with ReferenceOptions,
// |ΔKS| <= 4e-3, 1e-3, 6e-4, 3e-4 for n = 1e3, 1e4, 1e5, 1e6 (1e-2 at 1e3
// for "wide"), 0 (to 1e-12) for tied data and constants; |ΔW| <= 2e-3·std(R)
// while the data lie within the Scale window (all rows above the sentinel);
// identical binned statistics always. The relative ΔW is largest when the
// distance itself is only sampling noise (1.4e-2 of W = 0.003σ for "no
// drift"). The last two rows show why ReferenceOptions matters: without a
// Center the offset feature's KS is off by the whole statistic; without
// Scale the wide one collapses its lower buckets.
//
// # Memory
//
// Bytes per feature per window (live heap as measured by TestMemory, and
// encoded size; values N(50,10) unless said otherwise), against exact mode,
// which holds 8 bytes per value:
//
//	window                                   values  in memory  encoded   exact mode
//	normal                                   1e3     2.2 KB     0.9 KB    8 KB
//	normal                                   1e5     2.4 KB     2.2 KB    800 KB
//	normal                                   1e6     2.8 KB     2.9 KB    8 MB
//	every decade of float64, Scale 0         8e4     3.2 KB     4.2 KB    640 KB
//	every decade, ReferenceOptions           8e4     2.6 KB     1.9 KB    640 KB
//	categorical, 500 values of 32 bytes      500     26.5 KB    13.6 KB   -
//
// (Before vigil kept its own stores, sketches-go's float64 stores made these
// 10.1, 14.4, 17.1, 21.4 and 15.6 KB.) A Numeric with the nine decile edges
// never exceeds 32 KiB: each store has at most 1024 buckets, so at most
// 1024+64 bytes of low bytes, plus as much again for every further byte of
// its largest counts (at most 8), and the fixed fields and bins take under
// 1 KB. A streaming window of the daemon is several panes (monitor's
// TestStreamingWindowMemory measures them).
//
// # Cost
//
// CPU time on the 2-vCPU AMD EPYC of the build machine (bench_test.go):
// Add 37 ns per value, no allocation (half of it the math.Log of the index
// mapping); Merge of two 1M-value summaries 1.4 µs; Compare of 1M vs 1M
// values 0.10 ms, independent of the number of values (it walks at most
// 2049 buckets per summary), plus the KS p-value; MarshalBinary 9 µs,
// UnmarshalBinary 50 µs. The p-value is drift's, exact to scipy: under a
// microsecond for large windows without drift, but 15 ms when a drifted
// 1M-value window sends it into the Smirnov series, and O(n·m) (up to tens
// of ms) for unequal windows of about 10^4 values, where scipy computes it
// exactly.
//
// # Encoding
//
// MarshalBinary writes a version byte (1) and a kind byte, then varints;
// version 1 fixes the index mapping and MaxBuckets, so changing either needs
// a new version. UnmarshalBinary rejects anything else with an error
// wrapping [ErrCorrupt], bounds what it allocates, and never panics
// (FuzzUnmarshal, FuzzUnmarshalCategorical).
package sketch
