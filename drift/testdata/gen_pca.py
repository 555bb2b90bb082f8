#!/usr/bin/python3
"""Reference values for drift.PCA: NannyML's multivariate drift measure as sklearn computes it.

Regenerate with Debian's Python (python3-sklearn 1.2.1, numpy 1.24):
    /usr/bin/python3 drift/testdata/gen_pca.py
It writes drift/testdata/pca_cases.json; the Go tests need no Python.

For each case: StandardScaler().fit(R) (NaN imputed with R's column mean first, as
SimpleImputer(strategy="mean") does), PCA(n_components=share, svd_solver="full") on the scaled
reference, then for data X the mean over rows of ||x_s - inverse_transform(transform(x_s))||.
"""
import json
import os

import numpy as np
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

rng = np.random.default_rng(20261125)


def case(name, ref, cur, share=0.65):
    imp = SimpleImputer(strategy="mean").fit(ref)
    scaler = StandardScaler().fit(imp.transform(ref))
    pca = PCA(n_components=share, svd_solver="full").fit(scaler.transform(imp.transform(ref)))

    def err(x):
        xs = scaler.transform(imp.transform(x))
        rec = pca.inverse_transform(pca.transform(xs))
        return float(np.mean(np.linalg.norm(xs - rec, axis=1)))

    def enc(a):
        return [[None if np.isnan(v) else float(v) for v in row] for row in a]

    return {
        "name": name, "share": share, "ref": enc(ref), "cur": enc(cur),
        "components": int(pca.n_components_), "ref_error": err(ref), "cur_error": err(cur),
    }


def correlated(n, rho, shift=0.0):
    cov = np.array([[1, rho, 0.3 * rho], [rho, 1, 0.2], [0.3 * rho, 0.2, 1]])
    return rng.multivariate_normal([shift, 0, 0], cov, size=n) * [1, 10, 0.1] + [0, 5, -3]


cases = [
    case("same_distribution", correlated(300, 0.8), correlated(300, 0.8)),
    case("broken_correlation", correlated(300, 0.9), correlated(300, -0.9)),
    case("mean_shift", correlated(200, 0.5), correlated(150, 0.5, shift=1.5)),
    case("share_090", correlated(200, 0.7), correlated(100, 0.7), share=0.9),
    case("independent_5d", rng.normal(size=(250, 5)), rng.normal(size=(120, 5)) * 1.3),
]
with_nan = correlated(200, 0.8)
with_nan[::7, 1] = np.nan
cur_nan = correlated(100, 0.8)
cur_nan[::5, 0] = np.nan
cases.append(case("missing_values", with_nan, cur_nan))
const = correlated(100, 0.6)
const[:, 2] = 4.0
cases.append(case("constant_column", const, correlated(50, 0.6)))

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pca_cases.json")
with open(out, "w") as f:
    json.dump(cases, f)
print(f"wrote {out}: {len(cases)} cases")
