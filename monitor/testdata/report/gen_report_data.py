#!/usr/bin/python3
"""Writes the input files of monitor/report_test.go: a reference and a current CSV of a
binary fraud model, the current one with `amount` shifted. Fixed seed; rerun to regenerate.
The expected figures are not written here: the test computes them with the drift and
quality packages, whose agreement with scipy/sklearn is tested on their own."""
import csv, os, random

here = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(9)

def write(name, n, shift, wrong):
    with open(os.path.join(here, name), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "amount", "country", "prediction", "score", "label"])
        for i in range(n):
            y = 1 if rng.random() < 0.3 else 0
            pred = 1 - y if rng.random() < wrong else y
            score = round(0.55 + 0.4 * rng.random(), 4) if pred == 1 else round(0.45 * rng.random(), 4)
            w.writerow([f"{name[:3]}-{i}", round(rng.gauss(100, 20) + shift, 2),
                        rng.choice(["DE", "FR", "US"]), pred, score, y])

write("reference.csv", 600, 0, 0.08)
write("current.csv", 500, 25, 0.2)
