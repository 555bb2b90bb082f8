#!/usr/bin/python3
"""Reference values for drift/quality/compare.go (canary comparisons).

Regenerate from the repository root with Debian bookworm's interpreter
(python3-scipy 1.10, python3-sklearn 1.2, numpy 1.24):

    /usr/bin/python3 drift/quality/testdata/gen_compare.py

It writes drift/quality/testdata/compare_cases.json. The RNG is seeded.

- two-proportion z-test: the pooled z statistic (statsmodels' proportions_ztest
  formula, written out here so statsmodels is not needed) with the p-value from
  scipy.stats.norm.sf;
- DeLong: each AUC's variance from its structural components computed with
  scipy.stats.rankdata midranks (Sun & Xu 2014's fast DeLong), the AUC itself
  checked against sklearn.metrics.roc_auc_score, p from scipy.stats.norm.sf;
- Pearson: scipy.stats.pearsonr's statistic;
- quantile: numpy.quantile (linear interpolation).
"""

import json
import os

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score


def ztest(xa, na, xb, nb):
    pa, pb = xa / na, xb / nb
    pool = (xa + xb) / (na + nb)
    se = np.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))
    if se == 0:
        return {"a": pa, "b": pb, "delta": pb - pa, "z": 0.0, "p_value": 1.0}
    z = (pb - pa) / se
    return {"a": pa, "b": pb, "delta": pb - pa, "z": float(z), "p_value": float(2 * stats.norm.sf(abs(z)))}


def delong_one(y, s):
    y = np.asarray(y, dtype=bool)
    s = np.asarray(s, dtype=float)
    pos, neg = s[y], s[~y]
    m, n = len(pos), len(neg)
    tz = stats.rankdata(np.concatenate([pos, neg]))
    tx = stats.rankdata(pos)
    ty = stats.rankdata(neg)
    v10 = (tz[:m] - tx) / n
    v01 = 1 - (tz[m:] - ty) / m
    auc = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
    assert abs(auc - roc_auc_score(y, s)) < 1e-12
    return auc, np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n


def delong(ya, sa, yb, sb):
    a, va = delong_one(ya, sa)
    b, vb = delong_one(yb, sb)
    se = np.sqrt(va + vb)
    z = (b - a) / se if se > 0 else 0.0
    p = float(2 * stats.norm.sf(abs(z))) if se > 0 else 1.0
    return {"a": float(a), "b": float(b), "delta": float(b - a), "z": float(z), "p_value": p}


def main():
    rng = np.random.default_rng(20261203)
    out = {"ztest": [], "delong": [], "pearson": [], "quantile": []}
    for xa, na, xb, nb in [(90, 100, 80, 100), (900, 1000, 880, 1000), (50, 100, 50, 100),
                           (100, 100, 100, 100), (0, 10, 0, 20), (10, 10, 9, 10),
                           (4500, 5000, 4400, 5000), (1, 3, 2, 7)]:
        out["ztest"].append({"xa": xa, "na": na, "xb": xb, "nb": nb, **ztest(xa, na, xb, nb)})
    for name, na, nb, shift_a, shift_b, rounded in [("separated", 200, 300, 1.5, 0.5, False),
                                                    ("equal", 500, 500, 1.0, 1.0, False),
                                                    ("ties", 300, 250, 1.0, 0.6, True),
                                                    ("small", 12, 15, 0.8, 0.8, True)]:
        def sample(n, shift):
            y = rng.random(n) < 0.4
            s = rng.normal(0, 1, n) + shift * y
            s = 1 / (1 + np.exp(-s))
            if rounded:
                s = np.round(s, 1)
            return y, s
        ya, sa = sample(na, shift_a)
        yb, sb = sample(nb, shift_b)
        out["delong"].append({"name": name, "ya": ya.astype(int).tolist(), "sa": sa.tolist(),
                              "yb": yb.astype(int).tolist(), "sb": sb.tolist(), **delong(ya, sa, yb, sb)})
    for name, n, rho in [("strong", 200, 0.9), ("none", 100, 0.0), ("negative", 50, -0.5)]:
        x = rng.normal(0, 1, n)
        y = rho * x + np.sqrt(1 - rho * rho) * rng.normal(0, 1, n)
        out["pearson"].append({"name": name, "x": x.tolist(), "y": y.tolist(),
                               "r": float(stats.pearsonr(x, y)[0])})
    for name, x in [("latency", rng.gamma(2.0, 10.0, 101).round(2)), ("one", np.array([3.5])),
                    ("even", rng.normal(50, 5, 40))]:
        out["quantile"].append({"name": name, "x": x.tolist(),
                                "q50": float(np.quantile(x, 0.5)), "q95": float(np.quantile(x, 0.95))})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compare_cases.json")
    with open(path, "w") as f:
        json.dump(out, f)
        f.write("\n")


if __name__ == "__main__":
    main()
