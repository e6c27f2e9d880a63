#!/usr/bin/env python3
"""Request bodies and the correctness check of bench/http_bench.sh.

  http_payloads.py make OUTDIR MODEL ROWS_F32
      writes simple_{1,64}.json ({"instances": ...}), v2_{1,64}.json (KServe
      v2, input__0 FP32 [N,32]) and ref_64.json (XGBoost's own predictions of
      the 64 rows); also the model's first tree alone (model_1tree.json, for
      the module's cost without the big prediction) and its predictions of
      the same rows (ref_1tree_64.json).  The rows are the first complete rows of ROWS_F32: V2 JSON
      has no NaN, so every peer gets the same rows without missing values.
  http_payloads.py check REF RESPONSE [TOL]
      exits 1 unless RESPONSE (simple {"predictions"} or V2 {"outputs"})
      holds REF's predictions within TOL (default 1e-5).
"""
import json
import os
import sys

import numpy as np

N_FEATURES = 32


def make(outdir, model, rows_f32):
    x = np.fromfile(rows_f32, dtype=np.float32).reshape(-1, N_FEATURES)
    x = x[~np.isnan(x).any(axis=1)][:64]
    if len(x) < 64:
        sys.exit(f"{rows_f32}: fewer than 64 rows without missing values")
    import xgboost as xgb
    booster = xgb.Booster(model_file=model)
    ref = booster.inplace_predict(x).astype(np.float64)
    os.makedirs(outdir, exist_ok=True)
    for n in (1, 64):
        # float32's shortest round-trip digits, as a client would send them
        rows = [[float(str(v)) for v in r] for r in x[:n]]
        with open(os.path.join(outdir, f"simple_{n}.json"), "w") as f:
            json.dump({"instances": rows}, f)
        with open(os.path.join(outdir, f"v2_{n}.json"), "w") as f:
            json.dump({"inputs": [{"name": "input__0", "shape": [n, N_FEATURES],
                                   "datatype": "FP32",
                                   "data": [v for r in rows for v in r]}]}, f)
    with open(os.path.join(outdir, "ref_64.json"), "w") as f:
        json.dump(ref.tolist(), f)
    one_tree = booster[0:1]
    one_tree.save_model(os.path.join(outdir, "model_1tree.json"))
    with open(os.path.join(outdir, "ref_1tree_64.json"), "w") as f:
        json.dump(one_tree.inplace_predict(x).astype(np.float64).tolist(), f)


def check(ref_path, resp_path, tol):
    with open(ref_path) as f:
        ref = np.array(json.load(f))
    try:
        with open(resp_path) as f:
            resp = json.load(f)
        if "predictions" in resp:
            got = resp["predictions"]
        else:
            got = resp["outputs"][0]["data"]
        got = np.array(got, dtype=np.float64).reshape(-1)
    except (ValueError, KeyError, IndexError, TypeError) as e:
        print(f"{resp_path}: not a prediction response ({e})")
        return 1
    if got.shape != ref.shape:
        print(f"{resp_path}: {got.size} predictions, expected {ref.size}")
        return 1
    err = float(np.max(np.abs(got - ref)))
    print(f"max |diff| to XGBoost {err:.2e}")
    return 0 if err <= tol else 1


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "make":
        make(*sys.argv[2:])
        return 0
    if len(sys.argv) in (4, 5) and sys.argv[1] == "check":
        tol = float(sys.argv[4]) if len(sys.argv) == 5 else 1e-5
        return check(sys.argv[2], sys.argv[3], tol)
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
