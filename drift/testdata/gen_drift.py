#!/usr/bin/python3
"""Reference values for vigil's drift package (drift_cases.json).

Run with Debian bookworm's interpreter, which has scipy 1.10.1 and numpy 1.24:

    /usr/bin/python3 drift/testdata/gen_drift.py

Every figure is computed by the reference implementation named in
shared/DESIGN.md ("Statistics"). Small samples are drawn with numpy's
default_rng and stored in full. Large samples are described by generator
parameters and regenerated bit-exactly by the Go tests: a splitmix64 stream
turned into doubles with IEEE-exact operations only (+, -, *, /, floor), so
Python and Go produce identical values (see gen_sample / generate in
drift_cases_test.go).
"""

import json
import math
import os
import sys
import warnings

import numpy as np
import scipy
import scipy.special as sc
from scipy import stats
from scipy.spatial import distance
from scipy.stats import kstwo
from scipy.stats._stats_py import _attempt_exact_2kssamp, _compute_prob_outside_square
from scipy.stats._stats_pythran import _compute_outer_prob_inside_method

assert scipy.__version__ == "1.10.1", scipy.__version__
assert np.__version__.startswith("1.24"), np.__version__

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "drift_cases.json")
DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
MAX_AUTO_N = 10000  # scipy's ks_2samp switch

# ---------------------------------------------------------------------------
# Bit-exact generator shared with Go.
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)


def splitmix_uniform(seed, count):
    """count doubles in [0, 1): (splitmix64 >> 11) * 2^-53."""
    with np.errstate(over="ignore"):
        state = np.uint64(seed) + np.arange(1, count + 1, dtype=np.uint64) * GOLDEN
        z = state
        z = (z ^ (z >> np.uint64(30))) * M1
        z = (z ^ (z >> np.uint64(27))) * M2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def gen_sample(spec):
    """Regenerates a sample from {"dist", "n", "seed", "params"} (see Go's generate)."""
    dist, n, seed, prm = spec["dist"], spec["n"], spec["seed"], spec["params"]
    if dist == "uniform":  # lo + (hi-lo)*u
        u = splitmix_uniform(seed, n)
        return prm[0] + (prm[1] - prm[0]) * u
    if dist == "normal":  # mu + sigma*(u1+...+u12 - 6), summed left to right
        u = splitmix_uniform(seed, 12 * n).reshape(n, 12)
        s = u[:, 0].copy()
        for k in range(1, 12):
            s = s + u[:, k]
        return prm[0] + prm[1] * (s - 6.0)
    if dist == "pareto":  # scale*(1/(1-u) - 1): heavy right tail
        u = splitmix_uniform(seed, n)
        return prm[0] * (1.0 / (1.0 - u) - 1.0)
    if dist == "integer":  # floor(k*u) + offset: heavy ties
        u = splitmix_uniform(seed, n)
        return np.floor(prm[0] * u) + prm[1]
    if dist == "constant":
        return np.full(n, float(prm[0]))
    if dist == "grid":  # lo + (hi-lo)*((i+0.5)/n): evenly spaced, no randomness
        return prm[0] + (prm[1] - prm[0]) * ((np.arange(n) + 0.5) / n)
    raise ValueError(dist)


# ---------------------------------------------------------------------------
# Reference statistics.


def ks_path(r, c):
    """Which p-value path ks_2samp(method='auto') takes."""
    n1, n2 = len(r), len(c)
    if max(n1, n2) > MAX_AUTO_N:
        return "asymp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = stats.ks_2samp(r, c, method="asymp").statistic
    ok, _, _ = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
    return "exact" if ok else "exact_fallback"


def fnum(x):
    x = float(x)
    return None if math.isnan(x) else x


def bin_stats(rc, cc):
    """PSI, JS, Hellinger, L-infinity of two aligned count vectors."""
    rc = np.asarray(rc, dtype=np.int64)
    cc = np.asarray(cc, dtype=np.int64)
    p = rc / rc.sum()
    q = cc / cc.sum()
    pz = np.where(p == 0, 1e-4, p)
    qz = np.where(q == 0, 1e-4, q)
    psi = np.sum((qz - pz) * np.log(qz / pz))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        js = distance.jensenshannon(p, q, base=2)
    hel = np.sqrt(max(0.0, 1.0 - np.sum(np.sqrt(p * q))))
    linf = np.max(np.abs(p - q))
    return {"psi": fnum(psi), "jensen_shannon": fnum(js), "hellinger": fnum(hel),
            "l_infinity": fnum(linf)}


def numeric_case(name, r, c, ref_spec=None, cur_spec=None):
    r = np.asarray(r, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ks = stats.ks_2samp(r, c)
    edges = np.quantile(r, DECILES)
    rc = np.bincount(np.searchsorted(edges, r, side="right"), minlength=10)
    cc = np.bincount(np.searchsorted(edges, c, side="right"), minlength=10)
    wd = stats.wasserstein_distance(r, c)
    std = np.std(r)
    constant = bool(r.min() == r.max())
    case = {
        "name": name,
        "ref": ref_spec if ref_spec is not None else {"values": r.tolist()},
        "cur": cur_spec if cur_spec is not None else {"values": c.tolist()},
        "n_ref": len(r), "n_cur": len(c),
        "ks": float(ks.statistic), "ks_p_value": float(ks.pvalue), "ks_path": ks_path(r, c),
        "wasserstein_distance": float(wd), "std_ref": float(std),
        # undefined for a constant reference (numpy's std may then be a tiny
        # rounding residue instead of 0; vigil treats it as exactly 0).
        "wasserstein": None if constant else float(wd / std),
        "edges": edges.tolist(), "ref_counts": rc.tolist(), "cur_counts": cc.tolist(),
    }
    case.update(bin_stats(rc, cc))
    return case


def categorical_case(name, ref_counts, cur_counts):
    keys = sorted(set(ref_counts) | set(cur_counts))
    rc = [ref_counts.get(k, 0) for k in keys]
    cc = [cur_counts.get(k, 0) for k in keys]
    res = stats.chi2_contingency([rc, cc], correction=False)
    case = {"name": name, "ref": ref_counts, "cur": cur_counts,
            "chi_square": float(res[0]), "chi_square_p_value": float(res[1])}
    case.update(bin_stats(rc, cc))
    return case


# ---------------------------------------------------------------------------
# Cases.


def small_numeric_cases():
    rng = np.random.default_rng(20240601)
    cases = []
    draws = {
        "normal": lambda n: rng.normal(0.0, 1.0, n),
        "shifted": lambda n: rng.normal(0.5, 1.0, n),
        "scaled": lambda n: rng.normal(0.0, 2.0, n),
        "lognormal": lambda n: rng.lognormal(0.0, 1.0, n),
        "uniform": lambda n: rng.uniform(-1.0, 1.0, n),
        "integer": lambda n: rng.integers(0, 5, n).astype(np.float64),
        "integer_wide": lambda n: rng.integers(-3, 40, n).astype(np.float64),
        "constant": lambda n: np.full(n, 3.25),
        "constant2": lambda n: np.full(n, -1.0),
    }
    pairs = [
        ("normal", "normal"), ("normal", "shifted"), ("normal", "scaled"),
        ("lognormal", "lognormal"), ("uniform", "normal"), ("integer", "integer"),
        ("integer", "integer_wide"), ("constant", "normal"), ("normal", "constant"),
        ("constant", "constant"), ("constant", "constant2"), ("lognormal", "shifted"),
    ]
    sizes = [(1, 1), (1, 4), (3, 1), (2, 3), (5, 5), (10, 10), (10, 15), (17, 9),
             (50, 50), (64, 48), (100, 80), (200, 200), (333, 250), (1000, 1000),
             (1000, 997), (2000, 1500)]
    for (a, b) in pairs:
        for (n1, n2) in sizes:
            if n1 * n2 > 10000 and (a, b) not in (("normal", "shifted"), ("integer", "integer"),
                                                  ("normal", "normal"), ("lognormal", "shifted")):
                continue
            cases.append(numeric_case(f"{a}_vs_{b}_{n1}x{n2}", draws[a](n1), draws[b](n2)))
    # Identical samples, all ties, tiny samples.
    x = rng.normal(size=40)
    cases.append(numeric_case("identical_40", x, x.copy()))
    cases.append(numeric_case("permuted_40", x, rng.permutation(x)))
    cases.append(numeric_case("all_ties_same", np.full(30, 2.0), np.full(20, 2.0)))
    cases.append(numeric_case("two_values", np.array([0.0] * 10 + [1.0] * 10),
                              np.array([0.0] * 3 + [1.0] * 17)))
    cases.append(numeric_case("disjoint_10x12", np.arange(10.0), np.arange(100.0, 112.0)))
    cases.append(numeric_case("signed_zeros", np.array([-0.0, 0.0, 1.0, -1.0, 0.0]),
                              np.array([0.0, -0.0, 2.0])))
    # Ties on decile edges: values equal to an edge go to the upper bin.
    cases.append(numeric_case("edge_ties", np.arange(11.0), np.array([0.0, 1.0, 1.0, 5.0, 9.0, 10.0, 11.0, -1.0])))
    cases.append(numeric_case("heavy_ties_edges", np.array([1.0] * 50 + [2.0] * 30 + [3.0] * 20),
                              np.array([1.0] * 20 + [2.0] * 20 + [3.0] * 40 + [4.0] * 5)))
    # Equal sizes whose exact p-value rounds above 1: scipy falls back to
    # the asymptotic distribution (d = h/n with h = 1 or 2).
    for n, shift in [(5, 0.5), (7, 0.5), (13, 0.5), (30, 0.5), (36, 0.5), (60, 1.5),
                     (69, 1.5), (72, 0.5), (300, 1.5)]:
        r = np.arange(float(n))
        cases.append(numeric_case(f"square_fallback_{n}_{shift}", r, r + shift))
    # Unequal small sizes with a large statistic (tiny exact p-values).
    cases.append(numeric_case("separated_300x200", rng.normal(0, 1, 300), rng.normal(3, 1, 200)))
    cases.append(numeric_case("separated_400x400", rng.normal(0, 1, 400), rng.normal(2.5, 1, 400)))
    cases.append(numeric_case("separated_1000x999", rng.normal(0, 1, 1000), rng.normal(1.5, 1, 999)))
    return cases


def generated_numeric_cases():
    """Large cases whose samples the Go tests regenerate from parameters."""
    specs = [
        # Both sides of scipy's exact/asymptotic switch (max(n1, n2) <= 10000).
        ("switch_10000x10000_same", ("normal", 10000, 1, [0, 1]), ("normal", 10000, 2, [0, 1])),
        ("switch_10000x10000_shift", ("normal", 10000, 3, [0, 1]), ("normal", 10000, 4, [0.05, 1])),
        ("switch_10000x9999_same", ("normal", 10000, 5, [0, 1]), ("normal", 9999, 6, [0, 1])),
        ("switch_10000x9999_shift", ("normal", 10000, 7, [0, 1]), ("normal", 9999, 8, [0.08, 1])),
        ("switch_10000x500_shift", ("uniform", 10000, 9, [0, 1]), ("uniform", 500, 10, [0.05, 1.05])),
        ("switch_10001x10000_same", ("normal", 10001, 11, [0, 1]), ("normal", 10000, 12, [0, 1])),
        ("switch_10001x10000_shift", ("normal", 10001, 13, [0, 1]), ("normal", 10000, 14, [0.05, 1])),
        ("switch_10001x10001_same", ("normal", 10001, 15, [0, 1]), ("normal", 10001, 16, [0, 1])),
        ("switch_10001x500_shift", ("uniform", 10001, 17, [0, 1]), ("uniform", 500, 18, [0.05, 1.05])),
        ("switch_500x10001_shift", ("uniform", 500, 19, [0.05, 1.05]), ("uniform", 10001, 20, [0, 1])),
        ("exact_8000x3000_scaled", ("normal", 8000, 21, [0, 1]), ("normal", 3000, 22, [0, 1.1])),
        ("exact_5000x5000_integer", ("integer", 5000, 23, [7, 0]), ("integer", 5000, 24, [7, 0])),
        ("exact_6000x4000_pareto", ("pareto", 6000, 25, [1]), ("pareto", 4000, 26, [1.2])),
        # Asymptotic with a small current window (kstwo n <= 140: Ruben-Gambino,
        # Durbin matrix, Pomeranz and Smirnov branches).
        ("asymp_20000x1", ("normal", 20000, 27, [0, 1]), ("normal", 1, 28, [0, 1])),
        ("asymp_20000x2", ("normal", 20000, 29, [0, 1]), ("normal", 2, 30, [3, 1])),
        ("asymp_20000x5", ("normal", 20000, 31, [0, 1]), ("normal", 5, 32, [0, 1])),
        ("asymp_20000x30_same", ("normal", 20000, 33, [0, 1]), ("normal", 30, 34, [0, 1])),
        ("asymp_20000x30_shift", ("normal", 20000, 35, [0, 1]), ("normal", 30, 36, [0.6, 1])),
        ("asymp_20000x30_far", ("normal", 20000, 37, [0, 1]), ("normal", 30, 38, [1.5, 1])),
        ("asymp_20000x100_same", ("normal", 20000, 39, [0, 1]), ("normal", 100, 40, [0, 1])),
        ("asymp_20000x100_shift", ("normal", 20000, 41, [0, 1]), ("normal", 100, 42, [0.3, 1])),
        ("asymp_20000x140_shift", ("normal", 20000, 43, [0, 1]), ("normal", 141, 44, [0.5, 1])),
        ("asymp_20000x300_same", ("normal", 20000, 45, [0, 1]), ("normal", 300, 46, [0, 1])),
        ("asymp_20000x300_shift", ("normal", 20000, 47, [0, 1]), ("normal", 300, 48, [0.25, 1])),
        ("asymp_30000x2000_same", ("uniform", 30000, 49, [0, 1]), ("uniform", 2000, 50, [0, 1])),
        ("asymp_30000x2000_shift", ("uniform", 30000, 51, [0, 1]), ("uniform", 2000, 52, [0.04, 1.04])),
        ("asymp_30000x30000_pareto", ("pareto", 30000, 53, [1]), ("pareto", 30000, 54, [1])),
        ("asymp_30000x20000_integer", ("integer", 30000, 55, [10, -5]), ("integer", 20000, 56, [10, -5])),
        ("asymp_30000x20000_integer_shift", ("integer", 30000, 57, [10, -5]), ("integer", 20000, 58, [11, -5])),
        ("asymp_20000x20000_constant", ("constant", 20000, 0, [1.5]), ("normal", 20000, 59, [1.5, 1])),
        ("asymp_20000x20000_both_constant", ("constant", 20000, 0, [1.5]), ("constant", 20000, 0, [1.5])),
        # Up to 100k: Pelz-Good (same distribution) and Smirnov (drift).
        ("large_100000x100000_same", ("normal", 100000, 60, [0, 1]), ("normal", 100000, 61, [0, 1])),
        ("large_100000x100000_shift", ("normal", 100000, 62, [0, 1]), ("normal", 100000, 63, [0.02, 1])),
        ("large_100000x100000_scaled", ("normal", 100000, 64, [0, 1]), ("normal", 100000, 65, [0, 1.05])),
        ("large_100000x50000_far", ("normal", 100000, 66, [0, 1]), ("normal", 50000, 67, [0.1, 1])),
        ("large_100000x40000_pareto", ("pareto", 100000, 68, [1]), ("pareto", 40000, 69, [1])),
        ("large_100000x100000_uniform", ("uniform", 100000, 70, [0, 1]), ("uniform", 100000, 71, [0.004, 1.004])),
        ("large_100000x100000_integer", ("integer", 100000, 72, [1000, 0]), ("integer", 100000, 73, [1000, 0])),
        # Very close samples: kstwo's Durbin matrix branch for n > 140; and
        # samples so far apart that kstwo.sf is exactly 0 (n*d^2 >= 370).
        ("dmtw_20000x300_grid", ("uniform", 20000, 74, [0, 1]), ("grid", 300, 0, [0.004, 1.004])),
        ("dmtw_100000x100000_grid", ("grid", 100000, 0, [0, 1]), ("grid", 100000, 0, [0.0005, 1.0005])),
        ("zero_100000x100000_far", ("normal", 100000, 75, [0, 1]), ("normal", 100000, 76, [0.6, 1])),
    ]
    cases = []
    for name, a, b in specs:
        ra = {"dist": a[0], "n": a[1], "seed": a[2], "params": a[3]}
        rb = {"dist": b[0], "n": b[1], "seed": b[2], "params": b[3]}
        cases.append(numeric_case(name, gen_sample(ra), gen_sample(rb), {"gen": ra}, {"gen": rb}))
    return cases


def categorical_cases():
    rng = np.random.default_rng(77)
    cases = []

    def draw(cats, probs, n):
        v = rng.choice(cats, size=n, p=probs)
        u, cnt = np.unique(v, return_counts=True)
        return {str(k): int(x) for k, x in zip(u, cnt)}

    cats = ["DE", "FR", "US", "GB", "IT"]
    cases.append(categorical_case("same_5", draw(cats, [.3, .2, .2, .2, .1], 1000),
                                  draw(cats, [.3, .2, .2, .2, .1], 800)))
    cases.append(categorical_case("shifted_5", draw(cats, [.3, .2, .2, .2, .1], 1000),
                                  draw(cats, [.1, .2, .2, .2, .3], 900)))
    cases.append(categorical_case("new_category", {"a": 50, "b": 30, "c": 20},
                                  {"a": 40, "b": 30, "c": 20, "new": 10}))
    cases.append(categorical_case("vanished_category", {"a": 50, "b": 30, "c": 20, "gone": 5},
                                  {"a": 60, "b": 30, "c": 10}))
    cases.append(categorical_case("new_and_vanished", {"a": 5, "b": 7, "old": 3},
                                  {"a": 4, "b": 9, "new": 6}))
    cases.append(categorical_case("single_category", {"x": 10}, {"x": 3}))
    cases.append(categorical_case("disjoint", {"a": 10, "b": 5}, {"c": 7, "d": 1}))
    cases.append(categorical_case("tiny", {"a": 1}, {"b": 1}))
    cases.append(categorical_case("identical", {"a": 3, "b": 4, "c": 5}, {"a": 3, "b": 4, "c": 5}))
    cases.append(categorical_case("proportional", {"a": 30, "b": 40, "c": 50}, {"a": 3, "b": 4, "c": 5}))
    many = [f"c{i:02d}" for i in range(60)]
    pr = rng.dirichlet(np.ones(60))
    pr2 = rng.dirichlet(np.ones(60))
    cases.append(categorical_case("many_same", draw(many, pr, 20000), draw(many, pr, 5000)))
    cases.append(categorical_case("many_shifted", draw(many, pr, 20000), draw(many, pr2, 5000)))
    cases.append(categorical_case("huge_counts", {"a": 5_000_000, "b": 3_000_000, "c": 2_000_000},
                                  {"a": 4_990_000, "b": 3_010_000, "c": 2_000_000}))
    cases.append(categorical_case("huge_shift", {"a": 5_000_000, "b": 3_000_000, "c": 2_000_000},
                                  {"a": 4_000_000, "b": 3_500_000, "c": 2_500_000}))
    return cases


def kstwo_grid():
    """kstwo.sf and smirnov over n and x, every branch of _kolmogn."""
    rng = np.random.default_rng(5)
    ks, sm = [], []
    ns = [1, 2, 3, 5, 10, 11, 20, 50, 100, 139, 140, 141, 200, 500, 1000, 1012, 1013,
          5000, 10000, 50000, 99999, 100000, 100001, 500000, 1000001, 2000000]
    for n in ns:
        xs = {0.0, 1.0, 0.5, 1.0 / n, 0.5 / n, 2.0 / n, 1 - 1.0 / n, 0.999, 0.25}
        for c in [0.1, 0.3, 0.5, 0.8, 0.87, 1.0, 1.2, 1.5, 2.0, 2.5, 3, 4, 6, 10, 13, 19.3]:
            xs.add(c / np.sqrt(n))
        xs.update(rng.uniform(0, 1, 4).tolist())
        xs.update((rng.uniform(0, 5, 6) / np.sqrt(n)).tolist())
        if n >= 500000:  # each costs O(n): keep a few
            xs = {x for x in xs if x > 3 / np.sqrt(n) or x < 1.5 / np.sqrt(n)}
        for x in sorted(xs):
            if 0 <= x <= 1:
                sm.append([n, float(x), float(sc.smirnov(n, x))])
                ks.append([n, float(x), float(kstwo.sf(x, n))])
    return ks, sm


def exact_grid():
    """The two exact path-counting algorithms over (n1, n2, h)."""
    rng = np.random.default_rng(9)
    rows = []
    for n in [1, 2, 3, 5, 10, 37, 100, 1000, 9999]:
        for h in sorted({1, 2, max(1, n // 10), max(1, n // 3), n}):
            rows.append([n, n, h, float(_compute_prob_outside_square(n, h))])
    for _ in range(150):
        n1, n2 = (int(v) for v in rng.integers(1, 120, 2))
        if n1 == n2:
            continue
        g = math.gcd(n1, n2)
        lcm = n1 // g * n2
        h = int(rng.integers(1, lcm + 1))
        rows.append([n1, n2, h, float(_compute_outer_prob_inside_method(n1, n2, g, h))])
    for n1, n2, h in [(10000, 9999, 3000000), (5000, 3000, 300000), (9000, 1, 9000)]:
        g = math.gcd(n1, n2)
        rows.append([n1, n2, h, float(_compute_outer_prob_inside_method(n1, n2, g, h))])
    return rows


def main():
    numeric = small_numeric_cases() + generated_numeric_cases()
    kst, smi = kstwo_grid()
    doc = {
        "about": "Reference values from scipy %s / numpy %s (gen_drift.py); do not edit."
                 % (scipy.__version__, np.__version__),
        "python": sys.version.split()[0],
        "numeric": numeric,
        "categorical": categorical_cases(),
        "kstwo_sf": kst,
        "smirnov": smi,
        "exact_prob": exact_grid(),
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
    paths = {}
    for c in numeric:
        paths[c["ks_path"]] = paths.get(c["ks_path"], 0) + 1
    print(f"{OUT}: {os.path.getsize(OUT)} bytes; numeric {len(numeric)} (ks paths {paths}), "
          f"categorical {len(doc['categorical'])}, kstwo {len(kst)}, smirnov {len(smi)}, "
          f"exact {len(doc['exact_prob'])}")


if __name__ == "__main__":
    main()
