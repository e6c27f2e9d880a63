#!/usr/bin/env python3
"""Benchmark models and data for bench/cpu_bench.py (written under build/bench/,
not committed):

  xgb_bench.json   XGBoost binary:logistic, 500 trees, max_depth 8, 32 features
  lgb_bench.txt    LightGBM binary, 500 trees x 63 leaves, same data
  bench.f32/.csv   100000 float32 rows to predict (row-major, NaN = missing)

Both models are trained on 100k random rows whose label depends non-linearly
on a handful of features, so the trees grow to full depth.
"""
import argparse
import os

import numpy as np

N_FEATURES = 32


def make_rows(rng, n):
    x = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    # a few missing values, so the default branches are walked too
    x[rng.random(size=x.shape) < 0.02] = np.nan
    return x


def make_labels(rng, x):
    z = np.nan_to_num(x.astype(np.float64))
    score = (np.sin(2 * z[:, 0]) + z[:, 1] * z[:, 2] + np.abs(z[:, 3])
             - 0.5 * z[:, 4] ** 2 + 0.3 * z[:, 5:12].sum(axis=1))
    return (score + rng.normal(scale=0.5, size=len(z)) > 0.0).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="build/bench")
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--trees", type=int, default=500)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(20260526)

    x_train = make_rows(rng, 100000)
    y_train = make_labels(rng, x_train)
    x_bench = make_rows(rng, args.rows)
    x_bench.tofile(os.path.join(args.out, "bench.f32"))
    header = ",".join(f"f{i}" for i in range(N_FEATURES))
    with open(os.path.join(args.out, "bench.csv"), "w") as f:
        f.write(header + "\n")
        for row in x_bench:
            f.write(",".join("" if np.isnan(v) else "%.9g" % v for v in row))
            f.write("\n")

    import xgboost as xgb
    dtrain = xgb.DMatrix(x_train, label=y_train, missing=np.nan)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 8,
                         "eta": 0.1, "tree_method": "hist", "nthread": 2,
                         "seed": 1}, dtrain, num_boost_round=args.trees)
    booster.save_model(os.path.join(args.out, "xgb_bench.json"))

    import lightgbm as lgb
    ds = lgb.Dataset(x_train, label=y_train)
    gbm = lgb.train({"objective": "binary", "num_leaves": 63,
                     "min_data_in_leaf": 5, "learning_rate": 0.1,
                     "num_threads": 2, "verbose": -1, "seed": 1}, ds,
                    num_boost_round=args.trees)
    gbm.save_model(os.path.join(args.out, "lgb_bench.txt"))
    print(f"wrote {args.out}/xgb_bench.json, lgb_bench.txt, bench.f32, "
          f"bench.csv ({args.rows} x {N_FEATURES})")


if __name__ == "__main__":
    main()
