#!/usr/bin/env python3
"""Plays production traffic for the tutorial (docs/tutorial.md): each row of live.csv is
sent to the model (KServe's v1 protocol, or the local model.joblib with --local), and the
features and prediction are logged to vigil under one id. The true labels are written to
labels.ndjson, to be posted later, as they would arrive in real life.

  python3 log_predictions.py --vigil http://localhost:9780 --kserve http://cancer.default.example.com
  python3 log_predictions.py --vigil http://localhost:9780 --local --shift texture=8
"""
import argparse
import csv
import json
import urllib.request
import uuid

p = argparse.ArgumentParser()
p.add_argument("--vigil", default="http://localhost:9780")
p.add_argument("--kserve", help="the InferenceService URL (its v1 :predict endpoint is used)")
p.add_argument("--local", action="store_true", help="predict with model.joblib instead of KServe")
p.add_argument("--model", default="cancer")
p.add_argument("--version", default="v1")
p.add_argument("--shift", action="append", default=[], help="FEATURE=DELTA: add DELTA to a feature (drift)")
p.add_argument("--repeat", type=int, default=1, help="send the rows this many times")
args = p.parse_args()
shift = {k: float(v) for k, v in (s.split("=") for s in args.shift)}

if args.local:
    import joblib
    local = joblib.load("model.joblib")


def post(url, body, content_type="application/json"):
    req = urllib.request.Request(url, data=body.encode(), headers={"Content-Type": content_type})
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read() or b"{}")


def predict(row):
    if args.local:
        return int(local.predict([row])[0])
    out = post(f"{args.kserve}/v1/models/{args.model}:predict", json.dumps({"instances": [row]}))
    return int(out["predictions"][0])


with open("live.csv") as f:
    rows = list(csv.DictReader(f))
names = [c for c in rows[0] if c not in ("prediction", "label")]
events, labels = [], []
for _ in range(args.repeat):
    for r in rows:
        features = {n: float(r[n]) + shift.get(n, 0.0) for n in names}
        rid = str(uuid.uuid4())
        pred = predict([features[n] for n in names])
        events.append({"model": args.model, "version": args.version, "id": rid,
                       "features": features, "prediction": pred})
        labels.append({"model": args.model, "id": rid, "label": int(r["label"])})

ndjson = "\n".join(json.dumps(e) for e in events) + "\n"
print("predictions:", post(f"{args.vigil}/api/v1/predictions", ndjson, "application/x-ndjson"))
with open("labels.ndjson", "w") as f:
    f.write("\n".join(json.dumps(l) for l in labels) + "\n")
print(f"wrote labels.ndjson ({len(labels)} labels): post them with\n"
      f"  curl -XPOST -H 'Content-Type: application/x-ndjson' --data-binary @labels.ndjson {args.vigil}/api/v1/labels")
