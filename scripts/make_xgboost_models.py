#!/usr/bin/env python3
"""Generate the small XGBoost test models in tests/models/.

Run with the global python (xgboost 3.x) -> xgb3_*; it then re-runs itself
under /tmp/venv-xgb17 (xgboost==1.7.6) -> xgb17_* if that venv exists
(python3 -m venv /tmp/venv-xgb17 && /tmp/venv-xgb17/bin/pip install
xgboost==1.7.6 'numpy<2' scipy).

Per model <name>: the model file(s) (.json, .ubj, and .model = legacy binary
save_raw("deprecated") for 1.x), <name>.input.csv (header f0..; %.9g float32;
empty = NaN), <name>.expected.csv (xgboost predict) and <name>.margin.csv
(predict(output_margin=True)), the conventions of
tests/reference/models/README.md.  The last rows of each input are threshold
probes: cells set to split conditions of the model, to pin down x < t versus
x <= t.
"""
import json
import os
import subprocess
import sys

import numpy as np
import xgboost as xgb

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "models")
VENV17 = "/tmp/venv-xgb17/bin/python"
MAJOR = int(xgb.__version__.split(".")[0])
PREFIX = "xgb3_" if MAJOR >= 3 else "xgb17_"
N_FEAT = 6
N_ROWS = 80
N_PROBE = 12


def data(seed, n, categorical=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEAT)).astype(np.float32)
    X[:, 2] = rng.integers(0, 8, size=n)            # integer-valued: exact cut hits
    if categorical:
        X[:, 0] = rng.integers(0, 3, size=n)        # few levels: one-hot splits
        X[:, 1] = rng.integers(0, 12, size=n)       # many levels: set splits
    X[rng.random(n) < 0.1, 3] = np.nan
    X[rng.random(n) < 0.1, 1] = np.nan
    return X


def signal(X):
    x = np.nan_to_num(X)
    return x[:, 0] + 0.5 * x[:, 1] - 0.3 * x[:, 2] + np.sin(x[:, 4])


def split_conditions(booster):
    model = json.loads(booster.save_raw("json"))
    out = []
    for tree in model["learner"]["gradient_booster"].get("model", model["learner"]["gradient_booster"].get("gbtree", {}).get("model"))["trees"]:
        types = tree.get("split_type", [0] * len(tree["left_children"]))
        for i, left in enumerate(tree["left_children"]):
            if left != -1 and types[i] == 0:
                out.append((tree["split_indices"][i], tree["split_conditions"][i]))
    return out


def inputs(booster, seed, categorical):
    X = data(seed + 1000, N_ROWS, categorical)
    X[rng_for(seed).random(X.shape) < 0.05] = np.nan   # NaN anywhere
    conds = split_conditions(booster)
    rng = rng_for(seed + 1)
    for r in range(N_ROWS - N_PROBE, N_ROWS):
        for _ in range(3):
            if conds:
                f, c = conds[rng.integers(len(conds))]
                X[r, f] = np.float32(c)
    return X


def rng_for(seed):
    return np.random.default_rng(seed)


def write_csv(path, header, rows):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join("" if np.isnan(v) else "%.9g" % v for v in row) + "\n")


def save(name, booster, params, seed, formats, categorical=False, label="value"):
    X = inputs(booster, seed, categorical)
    kw = {}
    if categorical:
        kw = dict(feature_types=["c", "c"] + ["q"] * (N_FEAT - 2), enable_categorical=True)
    d = xgb.DMatrix(X, missing=np.nan, **kw)
    pred = np.asarray(booster.predict(d), dtype=np.float32)
    margin = np.asarray(booster.predict(d, output_margin=True), dtype=np.float32)
    pred = pred.reshape(N_ROWS, -1)
    margin = margin.reshape(N_ROWS, -1)
    base = os.path.join(OUT, PREFIX + name)
    for fmt in formats:
        if fmt == "model":
            with open(base + ".model", "wb") as f:
                f.write(booster.save_raw("deprecated"))
        else:
            booster.save_model(base + "." + fmt)
    write_csv(base + ".input.csv", ["f%d" % i for i in range(N_FEAT)], X)
    k = pred.shape[1]
    write_csv(base + ".expected.csv", [label] if k == 1 else ["%s%d" % (label, i) for i in range(k)], pred)
    k = margin.shape[1]
    write_csv(base + ".margin.csv", ["margin"] if k == 1 else ["margin%d" % i for i in range(k)], margin)
    sizes = ", ".join("%s %d B" % (fmt, os.path.getsize(base + "." + fmt)) for fmt in formats)
    print("%-28s %-22s %s" % (PREFIX + name, params.get("objective", ""), sizes))


def train(name, params, label_fn, rounds=12, seed=1, formats=("json",), categorical=False,
          label="value", setup=None):
    X = data(seed, 600, categorical)
    kw = {}
    if categorical:
        kw = dict(feature_types=["c", "c"] + ["q"] * (N_FEAT - 2), enable_categorical=True)
    d = xgb.DMatrix(X, label=label_fn(X), missing=np.nan, **kw)
    if setup:
        setup(d, X)
    p = {"max_depth": 3, "eta": 0.3, "seed": seed, "tree_method": "hist"}
    p.update(params)
    booster = xgb.train(p, d, rounds)
    save(name, booster, p, seed, formats, categorical, label)


def binary(X):
    return (signal(X) > 0.2).astype(np.float32)


def positive(X):
    return np.exp(0.4 * signal(X)).astype(np.float32) + 0.05


def classes(X):
    s = signal(X)
    return np.digitize(s, [-0.8, 0.3, 1.2]).astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    legacy = ("json", "model") if MAJOR < 2 else ("json",)
    train("binary", {"objective": "binary:logistic"}, binary,
          formats=("json", "ubj") + (("model",) if MAJOR < 2 else ()), label="prob1")
    train("multiclass", {"objective": "multi:softprob", "num_class": 4}, classes, rounds=8,
          formats=("json", "ubj") + (("model",) if MAJOR < 2 else ()), label="prob")
    train("softmax", {"objective": "multi:softmax", "num_class": 4}, classes, rounds=6, label="class")
    train("reg", {"objective": "reg:squarederror", "base_score": 3.5}, lambda X: signal(X) + 3,
          formats=legacy)
    train("poisson", {"objective": "count:poisson"}, lambda X: np.round(positive(X) * 3), formats=legacy)
    train("gamma", {"objective": "reg:gamma"}, positive)
    train("tweedie", {"objective": "reg:tweedie", "tweedie_variance_power": 1.4}, positive)
    train("cox", {"objective": "survival:cox"},
          lambda X: positive(X) * np.where(np.arange(len(X)) % 5 == 0, -1, 1))
    train("logitraw", {"objective": "binary:logitraw"}, binary)
    train("hinge", {"objective": "binary:hinge"}, binary, formats=legacy)
    train("cat", {"objective": "binary:logistic", "max_cat_to_onehot": 4}, binary,
          categorical=True, label="prob1", formats=("json", "ubj"))
    train("dart", {"objective": "reg:squarederror", "booster": "dart", "rate_drop": 0.3,
                   "skip_drop": 0.0}, signal, rounds=10, formats=legacy)
    train("rf", {"objective": "binary:logistic", "num_parallel_tree": 4, "subsample": 0.7,
                 "colsample_bynode": 0.7, "eta": 1.0}, binary, rounds=2, label="prob1",
          formats=legacy)
    train("rank", {"objective": "rank:pairwise"}, lambda X: np.clip(np.round(signal(X)), 0, 3),
          setup=lambda d, X: d.set_group([100] * 6))

    def aft_bounds(d, X):
        y = positive(X)
        d.set_float_info("label_lower_bound", y)
        d.set_float_info("label_upper_bound", np.where(np.arange(len(X)) % 4 == 0, np.inf, y))
    train("aft", {"objective": "survival:aft"}, positive, setup=aft_bounds)
    if MAJOR >= 2:
        two = lambda X: np.stack([signal(X), np.nan_to_num(X[:, 3]) * 2], axis=1)
        train("vector_leaf", {"objective": "reg:squarederror", "multi_strategy": "multi_output_tree"},
              two, rounds=6, formats=("json", "ubj"))
        train("multi_target", {"objective": "reg:squarederror"}, two, rounds=6)
        train("quantile", {"objective": "reg:quantileerror", "quantile_alpha": [0.1, 0.5, 0.9]},
              signal, rounds=6)
        train("multiclass_cat", {"objective": "multi:softprob", "num_class": 4}, classes,
              rounds=5, categorical=True, label="prob")
    if MAJOR >= 3 and os.path.exists(VENV17) and "--no-venv" not in sys.argv:
        subprocess.check_call([VENV17, os.path.abspath(__file__), "--no-venv"])


if __name__ == "__main__":
    main()
