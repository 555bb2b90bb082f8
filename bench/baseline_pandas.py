#!/usr/bin/python3
"""What a user would otherwise write for a reference profile: pandas reads the CSV (holding it
all in memory) and summarises each column. Run with Debian's Python:

    /usr/bin/python3 bench/baseline_pandas.py train.csv

Prints rows/s for the read alone and for read + profile, to compare with `vigil baseline`
on the same file (see docs/performance.md).
"""
import sys
import time

import numpy as np
import pandas as pd

path = sys.argv[1]
t0 = time.perf_counter()
df = pd.read_csv(path)
t1 = time.perf_counter()
for col in df.columns:
    s = df[col]
    if pd.api.types.is_numeric_dtype(s):
        v = s.dropna().to_numpy()
        np.quantile(v, [0.1 * i for i in range(1, 10)])
        v.min(), v.max(), v.mean(), v.std()
    else:
        s.value_counts()
t2 = time.perf_counter()
n = len(df)
print(f"pandas read_csv: {n / (t1 - t0):,.0f} rows/s; read + profile: {n / (t2 - t0):,.0f} rows/s "
      f"({n} rows, {t2 - t0:.2f} s, {df.memory_usage(deep=True).sum() / 2**20:.0f} MiB in memory)")
