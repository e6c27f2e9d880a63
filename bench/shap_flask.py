#!/usr/bin/env python3
"""The Flask peer of bench/shap_http.sh: what people hand-roll today to serve
an XGBoost model's SHAP contributions over HTTP, and the request bodies and
answer check of that benchmark.

As a server (gunicorn, one sync worker):
  gunicorn 'shap_flask:create_app("MODEL.json")'
  POST /contributions {"instances": [[...], ...]} ->
      {"contributions": [[c_0, ..., c_F-1, bias], ...]}
  booster.predict(DMatrix(x), pred_contribs=True), one XGBoost thread.

As a script (in the same venv):
  shap_flask.py make OUTDIR MODEL ROWS_F32
      writes body_{1,64}.json: {"instances": rows, "contributions": true}
      (ngx_forest's simple API; the Flask app ignores the flag), the first
      complete rows of ROWS_F32 as float32's shortest round-trip digits, and
      ref_64.json, XGBoost's own contributions of the 64 rows.
  shap_flask.py check REF RESPONSE...
      exits 1 unless every RESPONSE's "contributions" equal REF's within
      1e-5 absolute + 1e-5 relative, per value.
"""
import json
import os
import sys

import numpy as np
import xgboost as xgb

N_FEATURES = 32
TOL = 1e-5


def load_booster(model):
    booster = xgb.Booster(model_file=model)
    # one worker on one core: XGBoost's own threads would only compete for it
    booster.set_param({"nthread": 1})
    return booster


def contributions(booster, x):
    return booster.predict(xgb.DMatrix(x, missing=np.nan, nthread=1),
                           pred_contribs=True)


def create_app(model):
    from flask import Flask, jsonify, request

    booster = load_booster(model)
    app = Flask(__name__)

    @app.post("/contributions")
    def explain():
        body = request.get_json(force=True)
        rows = body.get("instances", body.get("inputs"))
        x = np.array(rows, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        return jsonify(contributions=contributions(booster, x).tolist())

    return app


def make(outdir, model, rows_f32):
    x = np.fromfile(rows_f32, dtype=np.float32).reshape(-1, N_FEATURES)
    # complete rows: the same bytes mean the same rows to both servers
    x = x[~np.isnan(x).any(axis=1)][:64]
    if len(x) < 64:
        sys.exit(f"{rows_f32}: fewer than 64 rows without missing values")
    os.makedirs(outdir, exist_ok=True)
    for n in (1, 64):
        rows = [[float(str(v)) for v in r] for r in x[:n]]
        with open(os.path.join(outdir, f"body_{n}.json"), "w") as f:
            json.dump({"instances": rows, "contributions": True}, f)
    ref = contributions(load_booster(model), x).astype(np.float64)
    with open(os.path.join(outdir, "ref_64.json"), "w") as f:
        json.dump(ref.tolist(), f)


def check(ref_path, resp_paths):
    with open(ref_path) as f:
        ref = np.array(json.load(f), dtype=np.float64)
    bad = 0
    for path in resp_paths:
        try:
            with open(path) as f:
                got = np.array(json.load(f)["contributions"], dtype=np.float64)
        except (ValueError, KeyError, TypeError) as e:
            print(f"{path}: no contributions in the answer ({e})")
            bad += 1
            continue
        if got.shape != ref.shape:
            print(f"{path}: contributions of shape {got.shape}, "
                  f"expected {ref.shape}")
            bad += 1
            continue
        err = np.abs(got - ref)
        wrong = int((err > TOL + TOL * np.abs(ref)).sum())
        print(f"  {os.path.basename(path)}: {got.shape[0]} rows x "
              f"{got.shape[1]}, max |diff| to XGBoost {err.max():.2e}, "
              f"{wrong} values off")
        bad += wrong > 0
    return 1 if bad else 0


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "make":
        make(*sys.argv[2:])
        return 0
    if len(sys.argv) >= 4 and sys.argv[1] == "check":
        return check(sys.argv[2], sys.argv[3:])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
