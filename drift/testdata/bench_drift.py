#!/usr/bin/python3
"""Times scipy/numpy on the work of drift's Go benchmarks (bench_test.go).

    /usr/bin/python3 drift/testdata/bench_drift.py

1M reference vs 1M current values from N(0,1); "drift" shifts the current
by 0.01 (the KS p-value then takes scipy's Smirnov-series branch). Prints
the median of 5 runs of each, in ms. scipy has no way to keep a sorted
reference, so its KS and Wasserstein sort both samples every time.
"""

import statistics
import time
import warnings

import numpy as np
from scipy import stats
from scipy.spatial import distance
from scipy.stats._stats_py import _compute_prob_outside_square
from scipy.stats._stats_pythran import _compute_outer_prob_inside_method

N = 1_000_000
DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def median_ms(f, runs=5):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def psi_counts(r, c):
    edges = np.quantile(r, DECILES)
    rc = np.bincount(np.searchsorted(edges, r, side="right"), minlength=10)
    cc = np.bincount(np.searchsorted(edges, c, side="right"), minlength=10)
    return rc, cc


def psi(rc, cc):
    p, q = rc / rc.sum(), cc / cc.sum()
    p, q = np.where(p == 0, 1e-4, p), np.where(q == 0, 1e-4, q)
    return np.sum((q - p) * np.log(q / p))


def main():
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(1)
    print(f"{'benchmark':42s} {'ms (median of 5)':>16s}")
    for name, shift in [("nodrift", 0.0), ("drift", 0.01)]:
        r = rng.normal(size=N)
        c = rng.normal(size=N) + shift
        rc, cc = psi_counts(r, c)
        rows = {
            "sort 1M (np.sort)": lambda: np.sort(c),
            "ks_2samp": lambda: stats.ks_2samp(r, c),
            "wasserstein_distance/std": lambda: stats.wasserstein_distance(r, c) / np.std(r),
            "psi (quantile+bin both+formula)": lambda: psi(*psi_counts(r, c)),
            "psi (bin current+formula)": lambda: psi(rc, np.bincount(np.searchsorted(
                np.quantile(r, DECILES), c, side="right"), minlength=10)),
            "jensenshannon (counts given)": lambda: distance.jensenshannon(rc / rc.sum(), cc / cc.sum(), base=2),
            "together: ks+wasserstein+psi+js": lambda: (
                stats.ks_2samp(r, c), stats.wasserstein_distance(r, c) / np.std(r),
                psi(*psi_counts(r, c)), distance.jensenshannon(rc / rc.sum(), cc / cc.sum(), base=2)),
        }
        for label, f in rows.items():
            print(f"{name + ': ' + label:42s} {median_ms(f):16.3f}")
    d = 0.02
    for n1, n2 in [(10000, 10000), (10000, 9999)]:
        g = np.gcd(n1, n2)
        lcm = n1 // g * n2
        h = int(round(d * lcm))
        if n1 == n2:
            f = lambda: _compute_prob_outside_square(n1, h)
        else:
            f = lambda: _compute_outer_prob_inside_method(n1, n2, g, h)
        print(f"{f'exact ks p-value {n1}x{n2} d={d}':42s} {median_ms(f):16.3f}")
    print(f"{'kstwo.sf(0.001, 500000) (Pelz-Good)':42s} {median_ms(lambda: stats.kstwo.sf(0.001, 500000)):16.3f}")
    print(f"{'kstwo.sf(0.004, 500000) (Smirnov)':42s} {median_ms(lambda: stats.kstwo.sf(0.004, 500000)):16.3f}")


if __name__ == "__main__":
    main()
