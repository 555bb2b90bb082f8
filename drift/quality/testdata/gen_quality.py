#!/usr/bin/python3
"""Reference values for package drift/quality, computed with scikit-learn.

Regenerate (from the repository root) with Debian bookworm's interpreter, which
has python3-sklearn 1.2.1 and numpy 1.24 -- not whatever `python3` comes first
on PATH:

    /usr/bin/python3 drift/quality/testdata/gen_quality.py

It writes drift/quality/testdata/quality_cases.json next to itself. The RNG is
seeded, so the output is reproducible for a given sklearn/numpy. Go tests read
the JSON; Python is not needed to run them.

    /usr/bin/python3 drift/quality/testdata/gen_quality.py --bench

instead times sklearn roc_auc_score on 1M samples (median of 5), the size
BenchmarkROCAUC uses, and writes nothing.

JSON conventions: floats are Python floats (repr precision, which round-trips
exactly); NaN is written as null; boolean labels and predictions are 0/1.
"""

import json
import math
import os
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    precision_recall_fscore_support,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

EPS = 1e-15  # log_loss eps, as vigil's DESIGN.md fixes it.
SEED = 20240611
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quality_cases.json")

assert sklearn.__version__ == "1.2.1", sklearn.__version__
assert np.__version__.startswith("1.24"), np.__version__
warnings.simplefilter("ignore", UndefinedMetricWarning)


def num(x):
    """A metric as a JSON value: Python float, NaN as None."""
    x = float(x)
    return None if math.isnan(x) else x


def sig10(a):
    """a rounded to 10 significant digits (shorter JSON)."""
    return np.array([float(f"{v:.10g}") for v in a])


def floats(a):
    return [float(v) for v in a]


def bits(a):
    return [int(bool(v)) for v in a]


# ---------------------------------------------------------------- binary


def binary_case(name, y, pred, score):
    y = np.asarray(y, dtype=bool)
    pred = np.asarray(pred, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[False, True]).ravel()
    case = {
        "name": name,
        "y": bits(y),
        "pred": bits(pred),
        "score": floats(score),
        "confusion": {"tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn)},
        "accuracy": num(accuracy_score(y, pred)),
        "precision": num(precision_score(y, pred, zero_division=0)),
        "recall": num(recall_score(y, pred, zero_division=0)),
        "f1": num(f1_score(y, pred, zero_division=0)),
        # sklearn raises without labels= when y has one class; vigil's
        # LogLoss returns the labels=[False, True] value (see doc.go).
        "log_loss": num(log_loss(y, score, eps=EPS, labels=[False, True])),
        "estimated_accuracy": num(np.mean(np.where(pred, score, 1 - score))),
    }
    if len(np.unique(y)) == 2:
        assert log_loss(y, score, eps=EPS) == case["log_loss"]
    # brier_score_loss rejects scores outside [0, 1]; such cases have none.
    if score.min() >= 0 and score.max() <= 1:
        case["brier"] = num(brier_score_loss(y, score))
    try:
        case["auc"] = num(roc_auc_score(y, score))
    except ValueError as e:
        assert "Only one class present" in str(e), e
        case["auc_error"] = "one_class"
    return case


def binary_cases(rng):
    cases = []

    def size(hi=5000):
        # Log-uniform in [1, hi]: many small windows, a few large ones.
        return int(np.exp(rng.uniform(0, np.log(hi))))

    def labels(n, pi=None):
        pi = rng.uniform(0.05, 0.95) if pi is None else pi
        return rng.random(n) < pi

    def calibrated(y, strength):
        logit = strength * (2 * y - 1) + rng.standard_normal(len(y))
        return 1 / (1 + np.exp(-logit))

    for i in range(21):
        n = size()
        y = labels(n)
        s = calibrated(y, rng.uniform(0, 2))
        if i % 3 == 2:  # shorter JSON; still (almost) no ties
            s = sig10(s)
        thr = 0.5 if i % 2 == 0 else rng.uniform(0.1, 0.9)
        cases.append(binary_case(f"calibrated/{i}", y, s >= thr, s))
    for i in range(14):
        n = size()
        y = labels(n)
        decimals = 1 + i % 3
        s = np.round(calibrated(y, rng.uniform(0, 2)), decimals)
        cases.append(binary_case(f"rounded{decimals}/{i}", y, s >= 0.5, s))
    for i in range(6):
        n = size()
        y = labels(n)
        s = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], n)
        cases.append(binary_case(f"coarse_extremes/{i}", y, s > 0.5, s))
    for i in range(5):
        n = size()
        y = labels(n, pi=0.01)
        s = np.round(calibrated(y, 1.5), 3)
        cases.append(binary_case(f"imbalanced/{i}", y, s >= 0.5, s))
    for i, cls in enumerate([True, False, True, False]):
        n = size(500) if i < 2 else 1
        y = np.full(n, cls)
        s = rng.random(n)
        cases.append(binary_case(f"one_class_{'pos' if cls else 'neg'}/{i}", y, s >= 0.5, s))
    for i in range(3):
        n = size(2000)
        y = labels(n)
        cases.append(binary_case(f"perfect/{i}", y, y, y.astype(float)))
        cases.append(binary_case(f"inverted/{i}", y, ~y, 1 - y.astype(float)))
    for i in range(4):
        n = size()
        y = labels(n)
        s = calibrated(y, 1) * 0.49
        cases.append(binary_case(f"no_predicted_positive/{i}", y, np.zeros(n, bool), s))
    for i in range(2):
        n = size(1000)
        y = labels(n)
        cases.append(binary_case(f"constant_score/{i}", y, np.ones(n, bool), np.full(n, 0.7)))
    for i in range(3):
        n = size(2000)
        y = labels(n)
        s = rng.choice([0.0, 1e-300, 1e-16, 1e-15, 2e-15, 0.5, 1 - 1e-15, 1 - 1e-16, 1.0], n)
        cases.append(binary_case(f"clipping/{i}", y, s >= 0.5, s))
    n = 400
    y = labels(n)
    s = rng.choice([-0.0, 0.0, 0.5], n)  # -0 and +0 tie in sklearn.
    cases.append(binary_case("signed_zero", y, s > 0, s))
    for i in range(3):
        n = size()
        y = labels(n)
        s = rng.standard_normal(n) * 4 + y  # decision_function-like, AUC only.
        cases.append(binary_case(f"unbounded_scores/{i}", y, s > 0, s))
    for n in [2, 3]:
        y = np.array([True, False, True][:n])
        s = rng.random(n)
        cases.append(binary_case(f"tiny/{n}", y, s >= 0.5, s))
    # Long enough to cross numpy's 8192-element reduction chunk.
    n = 9000
    y = labels(n)
    s = np.round(calibrated(y, 1), 2)
    cases.append(binary_case("chunked/9000", y, s >= 0.5, s))
    return cases


# ---------------------------------------------------------------- multiclass


def multiclass_case(name, k, y, pred, probs):
    y = np.asarray(y, dtype=int)
    pred = np.asarray(pred, dtype=int)
    probs = np.asarray(probs, dtype=np.float64).reshape(len(y), k)
    p, r, f, _ = precision_recall_fscore_support(y, pred, average="macro", zero_division=0)
    return {
        "name": name,
        "k": k,
        "y": [int(v) for v in y],
        "pred": [int(v) for v in pred],
        "probs": floats(probs.ravel()),
        "accuracy": num(accuracy_score(y, pred)),
        "macro_precision": num(p),
        "macro_recall": num(r),
        "macro_f1": num(f),
        "log_loss": num(log_loss(y, probs, eps=EPS, labels=list(range(k)))),
    }


def multiclass_cases(rng):
    cases = []

    def size(hi=700):
        return int(np.exp(rng.uniform(0, np.log(hi))))

    def subset(k):
        # A random non-empty subset of classes, so some are missing.
        m = rng.integers(1, k + 1)
        return rng.choice(k, m, replace=False)

    def dirichlet(n, k, conc):
        return rng.dirichlet(np.full(k, conc), n)

    for i in range(30):
        k = int(rng.integers(3, 8))
        n = size()
        y = rng.choice(subset(k), n)
        probs = dirichlet(n, k, rng.uniform(0.2, 3))
        kind = i % 5
        if kind == 0:  # predictions from the probabilities
            pred = probs.argmax(axis=1)
            name = "argmax"
        elif kind == 1:  # predictions from other classes than y has
            pred = rng.choice(subset(k), n)
            name = "disjointish"
        elif kind == 2:  # rounded probabilities: rows do not sum to 1
            probs = np.round(probs, 2)
            pred = probs.argmax(axis=1)
            name = "rounded"
        elif kind == 3:  # unnormalised scores and exact zeros
            probs = probs * rng.uniform(0.1, 3, (n, 1))
            probs[rng.random((n, k)) < 0.2] = 0.0
            probs = np.minimum(probs, 1.0)
            pred = probs.argmax(axis=1)
            name = "unnormalised"
        else:  # mostly right, sharp probabilities
            pred = np.where(rng.random(n) < 0.8, y, rng.integers(0, k, n))
            probs = sig10(dirichlet(n, k, 0.05).ravel())
            name = "sharp"
        cases.append(multiclass_case(f"{name}/k{k}/{i}", k, y, pred, probs))
    for k in [3, 5]:
        n = size(500)
        y = rng.integers(0, k, n)
        onehot = np.eye(k)[y]
        cases.append(multiclass_case(f"perfect_onehot/k{k}", k, y, y, onehot))
        cases.append(multiclass_case(f"wrong_onehot/k{k}", k, y, (y + 1) % k, np.eye(k)[(y + 1) % k]))
    for k in [2, 8, 9, 12]:  # k >= 8 exercises numpy's unrolled row sums
        n = size(800)
        y = rng.choice(subset(k), n)
        probs = dirichlet(n, k, 0.7)
        cases.append(multiclass_case(f"wide/k{k}", k, y, probs.argmax(axis=1), probs))
    k = 4
    cases.append(multiclass_case("single/k4", k, [2], [2], [[0.1, 0.2, 0.6, 0.1]]))
    cases.append(multiclass_case("single_wrong/k4", k, [2], [0], [[1.0, 0.0, 0.0, 0.0]]))
    n = 300
    y = np.full(n, 1)
    cases.append(multiclass_case("one_class_y/k3", 3, y, rng.integers(0, 3, n), dirichlet(n, 3, 1)))
    cases.append(multiclass_case("only_predicted_other/k3", 3, y, np.full(n, 2), dirichlet(n, 3, 1)))
    return cases


# ---------------------------------------------------------------- regression


def vigil_r2(y, pred):
    """r2_score (force_finite=True), except for a y whose values are all identical.

    There vigil applies force_finite's rule exactly (1.0 for a perfect fit, else 0.0):
    sklearn measures the variance around numpy's rounded mean, which for [0.1]*3 is
    5.8e-34 instead of 0 and yields an R2 of -5.19e31 (see drift/quality/doc.go).
    """
    y = np.asarray(y, dtype=float)
    if len(y) >= 2 and np.all(y == y[0]):
        return 1.0 if np.array_equal(y, np.asarray(pred, dtype=float)) else 0.0
    return r2_score(y, pred)


def regression_case(name, y, pred):
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    return {
        "name": name,
        "y": floats(y),
        "pred": floats(pred),
        "mae": num(mean_absolute_error(y, pred)),
        "rmse": num(mean_squared_error(y, pred, squared=False)),
        "mape": num(mean_absolute_percentage_error(y, pred)),
        "r2": num(vigil_r2(y, pred)),
    }


def regression_cases(rng):
    cases = []

    def size(hi=5000):
        return int(np.exp(rng.uniform(0, np.log(hi))))

    for i in range(21):
        n = size()
        scale = 10 ** rng.uniform(-3, 4)
        y = rng.standard_normal(n) * scale + rng.uniform(-2, 2) * scale
        pred = y + rng.standard_normal(n) * scale * rng.uniform(0.01, 2)
        if i % 3 == 0:
            y, pred = np.round(y, 2), np.round(pred, 2)
        elif i % 3 == 1:  # shorter JSON
            y, pred = sig10(y), sig10(pred)
        cases.append(regression_case(f"normal/{i}", y, pred))
    for i in range(5):
        n = size()
        y = np.round(rng.standard_normal(n), 1)  # many exact zeros
        y[rng.random(n) < 0.1] = 0.0
        pred = y + np.round(rng.standard_normal(n) * 0.1, 2)
        cases.append(regression_case(f"zeros_in_y/{i}", y, pred))
    n = 50
    y = np.zeros(n)
    cases.append(regression_case("all_zero_y_exact", y, y))
    cases.append(regression_case("all_zero_y_off", y, rng.standard_normal(n) * 1e-3))
    for i, c in enumerate([2.0, 0.1, -3.7, 1e6 / 3]):
        n = size(300) + 1
        y = np.full(n, c)
        cases.append(regression_case(f"constant_y_perfect/{i}", y, y))
        cases.append(regression_case(f"constant_y_off/{i}", y, y + rng.standard_normal(n)))
    cases.append(regression_case("constant_y_0.1_x3", [0.1] * 3, [0.2] * 3))
    for i in range(3):
        n = size(2000) + 1
        y = rng.standard_normal(n) * 100
        cases.append(regression_case(f"perfect/{i}", y, y))
        cases.append(regression_case(f"mean_predictor/{i}", y, np.full(n, y.mean())))
    cases.append(regression_case("single", [3.5], [2.0]))  # r2 undefined: null
    cases.append(regression_case("single_perfect", [3.5], [3.5]))
    cases.append(regression_case("two", [1.0, 2.0], [1.5, 1.5]))
    n = 1000
    y = rng.integers(0, 100, n).astype(float)
    cases.append(regression_case("integers", y, y + rng.integers(-5, 6, n)))
    n = 400
    y = rng.standard_normal(n) * 1e12 + 1e13
    cases.append(regression_case("large_offset", y, y + rng.standard_normal(n) * 1e9))
    # Long enough to cross numpy's 8192-element reduction chunk.
    n = 10000
    y = np.round(rng.standard_normal(n) * 10, 3)
    cases.append(regression_case("chunked/10000", y, np.round(y + rng.standard_normal(n), 3)))
    return cases


# ---------------------------------------------------------------- main


def bench():
    rng = np.random.default_rng(1)
    n = 1_000_000
    y = rng.random(n) < 0.3
    s = rng.random(n)
    roc_auc_score(y, s)  # warm up
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        roc_auc_score(y, s)
        times.append(time.perf_counter() - t0)
    times.sort()
    print(f"sklearn {sklearn.__version__} roc_auc_score n={n}: median of 5 = {times[2]:.4f} s"
          f" (min {times[0]:.4f}, max {times[-1]:.4f})")


def main():
    if sys.argv[1:] == ["--bench"]:
        bench()
        return
    rng = np.random.default_rng(SEED)
    data = {
        "generator": "drift/quality/testdata/gen_quality.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "seed": SEED,
        "binary": binary_cases(rng),
        "multiclass": multiclass_cases(rng),
        "regression": regression_cases(rng),
    }
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    counts = {k: len(data[k]) for k in ("binary", "multiclass", "regression")}
    print(f"wrote {OUT}: {counts}, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
