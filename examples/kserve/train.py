#!/usr/bin/env python3
"""Trains the tutorial's scikit-learn model (docs/tutorial.md) and writes:
  model.joblib  the model, as KServe's sklearn server loads it
  train.csv     the training rows with the model's prediction and the true label,
                for `vigil baseline` (the reference vigil compares live traffic with)
  live.csv      held-out rows to play the part of production traffic
Needs scikit-learn and joblib (Debian: python3-sklearn)."""
import csv

import joblib
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = {"mean radius": "radius", "mean texture": "texture", "mean smoothness": "smoothness",
            "mean concavity": "concavity", "mean symmetry": "symmetry"}

data = load_breast_cancer(as_frame=True)
X = data.frame[list(FEATURES)].rename(columns=FEATURES)
y = data.frame["target"]  # 1 = benign, 0 = malignant
X_train, X_live, y_train, y_live = train_test_split(X, y, test_size=0.4, random_state=0)

model = make_pipeline(StandardScaler(), LogisticRegression())
model.fit(X_train.values, y_train.values)
joblib.dump(model, "model.joblib")


def write(path, X, y):
    pred = model.predict(X.values)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(list(X.columns) + ["prediction", "label"])
        for row, p, label in zip(X.values.tolist(), pred, y):
            w.writerow([round(v, 5) for v in row] + [int(p), int(label)])


write("train.csv", X_train, y_train)
write("live.csv", X_live, y_live)
print(f"model.joblib, train.csv ({len(X_train)} rows), live.csv ({len(X_live)} rows); "
      f"held-out accuracy {model.score(X_live.values, y_live.values):.3f}")
