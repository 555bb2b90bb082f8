#!/usr/bin/python3
"""Reference values of Kolmogorov's limiting distribution for kolmogorov_test.go.

Run with Debian's python3-scipy: /usr/bin/python3 testdata/gen_kolmogorov.py > testdata/kolmogorov_cases.json

- kolmogorov: scipy.special.kolmogorov(y), the survival function 1 - K(y) of
  sup|B(t)| for a Brownian bridge, over y in (0, 8].
- ks_limit: what drift.KSPValueAsymptotic(n, m, d) returns, kolmogorov(sqrt(nm/(n+m)) d),
  next to scipy's ks_2samp p-value for the same sizes (kstwo.sf(d, round(en))) to show
  how far the limit is from the finite-n distribution.
"""
import json

import numpy as np
import scipy
from scipy.special import kolmogorov
from scipy.stats import kstwo

ys = [1e-3, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.81, 0.82, 0.83, 0.9, 1.0,
      1.1, 1.2, 1.358, 1.5, 1.63, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
cases = {"scipy": scipy.__version__, "kolmogorov": [], "ks_limit": []}
for y in ys:
    cases["kolmogorov"].append({"y": y, "sf": float(kolmogorov(y))})
for n, m in [(20000, 20000), (100000, 10000), (1000000, 1000000), (50000, 1000000)]:
    en = n * m / (n + m)
    for d in [0.0005, 0.001, 0.002, 0.004, 0.01, 0.02]:
        cases["ks_limit"].append({"n": n, "m": m, "d": d,
                                  "p": float(kolmogorov(np.sqrt(en) * d)),
                                  "kstwo": float(kstwo.sf(d, int(np.round(en))))})
print(json.dumps(cases, indent=1))
