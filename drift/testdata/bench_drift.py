#!/usr/bin/python3
"""Times scipy/numpy on the work of drift's Go benchmarks (bench_test.go).

    /usr/bin/python3 drift/testdata/bench_drift.py

1M reference vs 1M current values from N(0,1); "drift" shifts the current
by 0.01 (the KS p-value then takes scipy's Smirnov-series branch). Prints
the median of 5 runs of each, wall-clock and CPU time, in ms. scipy has no way to keep a sorted
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


def timings_ms(f, runs=5):
    """Median wall-clock and median CPU time (this process) of runs, in ms.
    CPU time is what to compare on a machine shared with other work."""
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        f()
        wall.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def show(label, f):
    wall, cpu = timings_ms(f)
    print(f"{label:42s} {wall:12.3f} {cpu:12.3f}")


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
    print(f"{'benchmark (median of 5)':42s} {'wall ms':>12s} {'cpu ms':>12s}")
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
            show(name + ": " + label, f)
    for n1, n2, d in [(10000, 10000, 0.02), (10000, 9999, 0.02), (10000, 9000, 0.05)]:
        g = int(np.gcd(n1, n2))
        lcm = n1 // g * n2
        h = int(round(d * lcm))
        if n1 == n2:
            f = lambda: _compute_prob_outside_square(n1, h)
        else:
            f = lambda: _compute_outer_prob_inside_method(n1, n2, g, h)
        show(f"exact ks p-value {n1}x{n2} d={d}", f)
    show("kstwo.sf(0.001, 500000) (Pelz-Good)", lambda: stats.kstwo.sf(0.001, 500000))
    show("kstwo.sf(0.004, 500000) (Smirnov)", lambda: stats.kstwo.sf(0.004, 500000))


if __name__ == "__main__":
    main()
