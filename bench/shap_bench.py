#!/usr/bin/env python3
"""Contributions benchmark: forest's TreeSHAP against XGBoost's
predict(pred_contribs=True) and LightGBM's predict(pred_contrib=True), one
thread each, at every batch size, on the bench models
(bench/make_bench_models.py).  Before timing, forest's contributions on the
first rows are checked against each library's (1e-5 abs + 1e-5 rel).
Prints rows per CPU-second (one thread each, so a loaded machine changes
neither side) and forest's speed-up over each library per batch.
"""
import argparse
import os
import re
import subprocess
import time

import lightgbm as lgb
import numpy as np
import xgboost as xgb

from timing import timed_loop


CHECK_ROWS = 200
# batches this large are timed over one call (XGBoost takes minutes for
# 10,000 rows of the bench model), without a warm-up call
ONE_CALL_BATCH = 1000


def cpu_loop(fn, x, batch, seconds):
    """rows per CPU-second of fn: CPU time, as shap_bench measures it, so
    that a loaded machine slows neither side's number"""
    return timed_loop(fn, x, batch, seconds, clock=time.process_time,
                      min_calls=1 if batch >= ONE_CALL_BATCH else 3)


def forest_rps(exe, model, data, batch, seconds):
    calls = 1 if batch >= ONE_CALL_BATCH else 3
    out = subprocess.run([exe, model, data, "--batch", str(batch),
                          "--seconds", str(seconds), "--calls", str(calls)],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"rows_per_s=([0-9.]+)", out).group(1))


def forest_contribs(exe, model, data, tmp):
    subprocess.run([exe, model, data, "--batch", "1", "--seconds", "0",
                    "--dump", str(CHECK_ROWS), tmp], check=True,
                   capture_output=True)
    return np.fromfile(tmp, dtype=np.float32).reshape(CHECK_ROWS, -1)


def check(name, got, want):
    want = np.asarray(want, dtype=np.float64).reshape(got.shape)
    bad = np.abs(got - want) > 1e-5 + 1e-5 * np.abs(want)
    if bad.any():
        raise SystemExit("%s: %d contributions differ from forest's (max "
                         "%.3g)" % (name, bad.sum(),
                                    np.abs(got - want).max()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shap-bench", required=True)
    ap.add_argument("--dir", default="build/bench")
    ap.add_argument("--batches", default="1,64,10000")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--features", type=int, default=32)
    args = ap.parse_args()
    data = os.path.join(args.dir, "bench.f32")
    x = np.fromfile(data, dtype=np.float32).reshape(-1, args.features)
    xm = os.path.join(args.dir, "xgb_bench.json")
    lm = os.path.join(args.dir, "lgb_bench.txt")
    bst = xgb.Booster(params={"nthread": 1})
    bst.load_model(xm)
    gbm = lgb.Booster(model_file=lm, params={"num_threads": 1})

    def xgb_fn(rows):
        return bst.predict(xgb.DMatrix(rows, missing=np.nan, nthread=1),
                           pred_contribs=True)

    def lgb_fn(rows):
        return gbm.predict(rows, pred_contrib=True, num_threads=1)

    tmp = os.path.join(args.dir, "shap_check.f32")
    check("xgboost", forest_contribs(args.shap_bench, xm, data, tmp),
          xgb_fn(x[:CHECK_ROWS]))
    check("lightgbm", forest_contribs(args.shap_bench, lm, data, tmp),
          lgb_fn(x[:CHECK_ROWS]))
    print("contributions checked on %d rows against both libraries"
          % CHECK_ROWS)
    print("%-7s %12s %12s %12s %12s %8s %8s" % (
        "batch", "xgboost", "forest(xgb)", "lightgbm", "forest(lgb)",
        "x xgb", "x lgb"))
    for batch in (int(b) for b in args.batches.split(",")):
        xr = cpu_loop(xgb_fn, x, batch, args.seconds)
        fx = forest_rps(args.shap_bench, xm, data, batch, args.seconds)
        lr = cpu_loop(lgb_fn, x, batch, args.seconds)
        fl = forest_rps(args.shap_bench, lm, data, batch, args.seconds)
        print("%-7d %12.1f %12.1f %12.1f %12.1f %7.2fx %7.2fx" % (
            batch, xr, fx, lr, fl, fx / xr, fl / lr))


if __name__ == "__main__":
    main()
