#!/usr/bin/env python3
"""CPU benchmark: forest's CPU executor side by side with the originating
libraries on the same rows, in one run.

  XGBoost model (xgb_bench.json): forest vs XGBoost inplace_predict
  LightGBM model (lgb_bench.txt): forest vs LightGBM predict vs lleaves
  both: vs oneDAL, ONNX Runtime, tl2cgen and Treelite GTIL (bench/peers.py)

for every batch size and thread count; prints rows/s, ns per row per tree
and forest's speed-up over each peer.  Before timing, forest's predictions
on the first rows are checked against each peer's (a wrong answer fast is
no result).  Inputs come from bench/make_bench_models.py.
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np

from timing import timed_loop

N_FEATURES = 32
CHECK_ROWS = 1000


def forest_run(exe, model, data, batch, threads, seconds, extra=()):
    out = subprocess.run([exe, model, data, "--batch", str(batch),
                          "--threads", str(threads), "--seconds",
                          str(seconds), *extra],
                         check=True, capture_output=True, text=True).stdout
    fields = dict(re.findall(r"(\w+)=([0-9.]+)", out))
    return float(fields["rows_per_s"]), float(fields["cpu_ns_per_row_tree"])


def forest_predictions(exe, model, data, tmpdir):
    path = os.path.join(tmpdir, os.path.basename(model) + ".pred.f32")
    subprocess.run([exe, model, data, "--batch", "1", "--seconds", "0",
                    "--dump", str(CHECK_ROWS), path], check=True,
                   capture_output=True)
    return np.fromfile(path, dtype=np.float32)


def run_lleaves(args, model, data):
    """lleaves timings {(batch, threads): rows/s} and its predictions,
    from bench/lleaves_bench.py in its own interpreter."""
    here = os.path.dirname(os.path.abspath(__file__))
    pred = os.path.join(args.dir, "lgb_bench.lleaves.pred.f64")
    out = subprocess.run([args.lleaves_python,
                          os.path.join(here, "lleaves_bench.py"), model, data,
                          "--features", str(N_FEATURES), "--cache",
                          os.path.join(args.dir, "lgb_bench.lleaves.o"),
                          "--batches", args.batches, "--threads",
                          args.threads, "--seconds", str(args.seconds),
                          "--dump", str(CHECK_ROWS), pred],
                         check=True, capture_output=True, text=True).stdout
    rps = {}
    for line in out.splitlines():
        f = dict(re.findall(r"(\w+)=([0-9.]+)", line))
        rps[(int(f["batch"]), int(f["threads"]))] = float(f["rows_per_s"])
    return rps, np.fromfile(pred, dtype=np.float64)


def check_close(name, got, want):
    err = float(np.max(np.abs(got.astype(np.float64) - want)))
    ok = err <= 1e-5
    print(f"check {name}: max |forest - peer| over {len(got)} rows = "
          f"{err:.3g} {'ok' if ok else 'MISMATCH'}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forest-bench", required=True,
                    help="the forest_bench executable")
    ap.add_argument("--dir", default="build/bench")
    ap.add_argument("--batches", default="1,16,256,100000")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--lleaves-python", default=sys.executable,
                    help="python with a working lleaves (bench/run.sh)")
    args = ap.parse_args()

    batches = [int(b) for b in args.batches.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    data = os.path.join(args.dir, "bench.f32")
    xgb_model = os.path.join(args.dir, "xgb_bench.json")
    lgb_model = os.path.join(args.dir, "lgb_bench.txt")
    x = np.fromfile(data, dtype=np.float32).reshape(-1, N_FEATURES)

    import lightgbm as lgb
    import xgboost as xgb

    xgb_booster = xgb.Booster(model_file=xgb_model)
    lgb_booster = lgb.Booster(model_file=lgb_model)
    lleaves_rps, lleaves_pred = run_lleaves(args, lgb_model, data)
    n_trees = {"xgb": len(xgb_booster.get_dump()),
               "lgb": lgb_booster.num_trees()}

    forest_xgb = forest_predictions(args.forest_bench, xgb_model, data,
                                    args.dir)
    ok = check_close("xgb_bench vs XGBoost", forest_xgb,
                     xgb_booster.inplace_predict(x[:CHECK_ROWS]))
    lgb_forest = forest_predictions(args.forest_bench, lgb_model, data,
                                    args.dir)
    ok &= check_close("lgb_bench vs LightGBM", lgb_forest,
                      lgb_booster.predict(x[:CHECK_ROWS]))
    ok &= check_close("lgb_bench vs lleaves", lgb_forest, lleaves_pred)
    import peers as more

    extra = {"xgb": more.all_peers(xgb_booster, "xgb", x[:CHECK_ROWS],
                                   args.dir),
             "lgb": more.all_peers(lgb_booster, "lgb", x[:CHECK_ROWS],
                                   args.dir)}
    for name, _, pred in extra["xgb"]:
        ok &= check_close(f"xgb_bench vs {name}", pred, forest_xgb)
    for name, _, pred in extra["lgb"]:
        ok &= check_close(f"lgb_bench vs {name}", pred, lgb_forest)
    if not ok:
        sys.exit("forest disagrees with a peer; not timing it")

    def xgb_fn(t):
        xgb_booster.set_param({"nthread": t})
        return lambda rows: xgb_booster.inplace_predict(rows)

    peers = {
        "xgb": [("XGBoost", xgb_fn, x)]
        + [(name, fn, x) for name, fn, _ in extra["xgb"]],
        "lgb": [("LightGBM",
                 lambda t: lambda rows: lgb_booster.predict(rows,
                                                            num_threads=t),
                 x),
                ("lleaves", None, None)]
        + [(name, fn, x) for name, fn, _ in extra["lgb"]],
    }
    models = {"xgb": xgb_model, "lgb": lgb_model}
    print(f"load average at start: {os.getloadavg()[0]:.2f} "
          f"({os.cpu_count()} CPUs); forest 'cpu ns' = CPU time per "
          f"row-tree (all threads)")
    header = (f"{'model':<4} {'batch':>6} {'thr':>3} {'engine':<9} "
              f"{'rows/s':>12} {'ns/row/tree':>12} {'cpu ns':>7} "
              f"{'forest x':>9}")
    print(header)
    print("-" * len(header))
    for key in ("xgb", "lgb"):
        for batch in batches:
            for t in threads:
                rps, cpu_ns = forest_run(args.forest_bench, models[key], data,
                                         batch, t, args.seconds)
                ns = 1e9 / (rps * n_trees[key])
                print(f"{key:<4} {batch:>6} {t:>3} {'forest':<9} "
                      f"{rps:>12.0f} {ns:>12.2f} {cpu_ns:>7.2f} {'':>9}",
                      flush=True)
                for name, make_fn, rows in peers[key]:
                    if make_fn is None:
                        prps = lleaves_rps[(batch, t)]
                    else:
                        prps = timed_loop(make_fn(t), rows, batch,
                                          args.seconds)
                    pns = 1e9 / (prps * n_trees[key])
                    print(f"{key:<4} {batch:>6} {t:>3} {name:<9} "
                          f"{prps:>12.0f} {pns:>12.2f} {'':>7} "
                          f"{rps / prps:>8.1f}x", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
