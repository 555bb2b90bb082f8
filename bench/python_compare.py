#!/usr/bin/python3
"""vigil against the Python way, on the same data, in one run.

    /usr/bin/python3 bench/python_compare.py [--n 1000000] [--runs 5]

What a user would otherwise write is a Python job with Debian's numpy, scipy and sklearn.
This script draws the data once (reference N(0,1), current N(0,1) shifted by 0 and by 0.01;
labels with 30% positives and uniform scores), writes it as float64 little-endian files, times
scipy/numpy/sklearn on it here, then runs `go run ./bench/cmd/vigiltime` on the same files and
prints both side by side: median wall-clock and CPU ms of --runs runs, and the ratio
Python/vigil (CPU time: the machine may be shared, CPU time is what the work costs). Values are
checked to agree.

vigil's "together" rows sort both samples as scipy must; "reference kept" is what the daemon
does in exact mode (the sorted reference is kept, only the current window is sorted).
Needs: apt-get install python3-numpy python3-scipy python3-sklearn; Go.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import scipy
import sklearn
from scipy import stats
from scipy.spatial import distance
from sklearn.metrics import roc_auc_score

DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(f, runs):
    """Median wall-clock and CPU ms of runs, and the last value."""
    wall, cpu = [], []
    v = None
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        v = f()
        wall.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
    return {"wall_ms": statistics.median(wall), "cpu_ms": statistics.median(cpu), "value": v}


def psi_counts(r, c):
    edges = np.quantile(r, DECILES)
    return (np.bincount(np.searchsorted(edges, r, side="right"), minlength=10),
            np.bincount(np.searchsorted(edges, c, side="right"), minlength=10))


def psi(rc, cc):
    p, q = rc / rc.sum(), cc / cc.sum()
    p, q = np.where(p == 0, 1e-4, p), np.where(q == 0, 1e-4, q)
    return float(np.sum((q - p) * np.log(q / p)))


def python_side(r, c, y, s, runs):
    rc, cc = psi_counts(r, c)
    sd = np.std(r)
    out = {
        "sort": timed(lambda: float(len(np.sort(c))), runs),
        "ks": timed(lambda: float(stats.ks_2samp(r, c).statistic), runs),
        "ks_pvalue": timed(lambda: float(stats.ks_2samp(r, c).pvalue), runs),
        "wasserstein": timed(lambda: float(stats.wasserstein_distance(r, c) / np.std(r)), runs),
        "psi": timed(lambda: psi(*psi_counts(r, c)), runs),
        "js": timed(lambda: float(distance.jensenshannon(rc / rc.sum(), cc / cc.sum(), base=2)), runs),
        "together": timed(lambda: (
            float(stats.ks_2samp(r, c).statistic), stats.wasserstein_distance(r, c) / sd,
            psi(*psi_counts(r, c)), distance.jensenshannon(rc / rc.sum(), cc / cc.sum(), base=2))[0], runs),
    }
    if y is not None:
        roc_auc_score(y, s)  # warm up
        out["auc"] = timed(lambda: float(roc_auc_score(y, s)), runs)
    return out


def vigil_side(d, runs):
    cmd = ["go", "run", "./bench/cmd/vigiltime", "-dir", d, "-runs", str(runs)]
    res = subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True)
    return json.loads(res.stdout)


ROWS = [
    # (label, python key, vigil key, how the values must agree)
    ("sort 1M (np.sort | radix)", "sort", "sort", None),
    ("KS statistic (ks_2samp)", "ks", "ks", "equal"),
    ("KS p-value (ks_2samp, auto)", "ks_pvalue", "ks_pvalue", 1e-9),
    ("Wasserstein / std(R)", "wasserstein", "wasserstein", 1e-9),
    ("PSI, decile bins of R", "psi", "psi", 1e-9),
    ("Jensen-Shannon, counts given", "js", "js", 1e-9),
    ("together: KS+W+PSI+JS", "together", "together", "equal"),
    ("together, reference kept (daemon)", "together", "together_ref_kept", "equal"),
    ("streaming: sketch compare", "together", "streaming_compare", None),
    ("ROC AUC (roc_auc_score)", "auc", "auc", "equal"),
]


def agree(kind, a, b):
    if kind is None:
        return ""
    if kind == "equal":
        return "equal" if a == b else f"DIFFER {a!r} {b!r}"
    err = abs(a - b) / max(abs(a), 1e-300)
    return "ok" if err <= kind else f"DIFFER rel {err:.1e}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, sklearn {sklearn.__version__}; "
          f"n = {args.n:,} vs {args.n:,}; median of {args.runs} runs; ratio = Python CPU / vigil CPU")
    rng = np.random.default_rng(1)
    y = rng.random(args.n) < 0.3
    s = rng.random(args.n)
    failed = False
    for name, shift in [("nodrift", 0.0), ("drift", 0.01)]:
        r = rng.normal(size=args.n)
        c = rng.normal(size=args.n) + shift
        with tempfile.TemporaryDirectory(prefix="vigil-compare.") as d:
            r.astype("<f8").tofile(os.path.join(d, "ref.f64"))
            c.astype("<f8").tofile(os.path.join(d, "cur.f64"))
            s.astype("<f8").tofile(os.path.join(d, "score.f64"))
            y.astype("u1").tofile(os.path.join(d, "y.u8"))
            py = python_side(r, c, y if name == "nodrift" else None, s, args.runs)
            vg = vigil_side(d, args.runs)
        print(f"\n{name} (current shifted by {shift})")
        print(f"{'computation':36s} {'python ms':>10s} {'(cpu)':>8s} {'vigil ms':>10s} {'(cpu)':>8s} {'ratio':>8s}  values")
        for label, pk, vk, kind in ROWS:
            if pk not in py or vk not in vg:
                continue
            p, v = py[pk], vg[vk]
            ratio = p["cpu_ms"] / v["cpu_ms"] if v["cpu_ms"] > 0 else float("inf")
            a = agree(kind, p["value"], v["value"])
            failed = failed or a.startswith("DIFFER")
            print(f"{label:36s} {p['wall_ms']:10.2f} {p['cpu_ms']:8.1f} {v['wall_ms']:10.2f} {v['cpu_ms']:8.1f} {ratio:7.1f}x  {a}")
        print(f"streaming KS error vs exact: {vg['streaming_ks_error']['value']:.2e}; "
              f"sketch of 1M values: {vg['streaming_sketch_bytes']['value']:.0f} bytes; "
              f"1M sketch inserts: {vg['streaming_add_1m']['cpu_ms']:.1f} ms cpu")
    if failed:
        print("\nFAILED: some values differ", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
