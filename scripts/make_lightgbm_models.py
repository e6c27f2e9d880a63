#!/usr/bin/env python3
"""Writes the small LightGBM 4.x test models into tests/models/lgb4_*.

Each model <name> gets <name>.txt (the library's own text model),
<name>.input.csv (float32 values as %.9g, empty = NaN), <name>.expected.csv
(Booster.predict) and <name>.margin.csv (predict(raw_score=True)), following
the conventions of tests/reference/models/README.md.  The last rows of every
input are threshold probes: cells set to exact split thresholds (as float32)
and their float32 neighbours, to catch <= vs < and float64 threshold
mistakes.

Usage: python3 scripts/make_lightgbm_models.py [outdir]   (lightgbm 4.x)
"""
import os
import sys

import lightgbm as lgb
import numpy as np
import pandas as pd

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "models")
N_ROWS = 80
N_PROBE = 12

BASE = dict(verbose=-1, num_threads=1, deterministic=True, seed=7,
            num_leaves=8, min_data_in_leaf=10, learning_rate=0.2)


def features(rng, n, d, nan_cols=(1,)):
    X = rng.normal(size=(n, d)).astype(np.float32)
    X[:, 0] = np.round(X[:, 0] * 3).astype(np.float32)   # ties on thresholds
    for c in nan_cols:
        X[rng.random(n) < 0.15, c] = np.nan
    return X


def split_thresholds(booster):
    """(feature, threshold) of every numerical split in the model."""
    out = []

    def walk(node):
        if "split_feature" not in node:
            return
        if node["decision_type"] == "<=":
            out.append((node["split_feature"], node["threshold"]))
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    return out


def test_input(rng, booster, X_train, extra_nan_col=None):
    """Rows drawn like the training data plus NaNs and threshold probes."""
    d = X_train.shape[1]
    idx = rng.integers(0, X_train.shape[0], N_ROWS)
    X = X_train[idx].copy()
    X += (rng.normal(size=X.shape) * 0.05).astype(np.float32) * \
        (X != np.round(X))
    X[rng.random(X.shape) < 0.08] = np.nan
    if extra_nan_col is not None:   # a column never missing in training
        X[rng.random(N_ROWS) < 0.2, extra_nan_col] = np.nan
    probes = split_thresholds(booster)
    for r in range(N_ROWS - N_PROBE, N_ROWS):
        for _ in range(min(3, len(probes))):
            f, t = probes[rng.integers(0, len(probes))]
            v = np.float32(t)
            step = rng.integers(-1, 2)
            if step:
                v = np.nextafter(v, np.float32(np.inf * step),
                                 dtype=np.float32)
            X[r, f] = v
    return X.astype(np.float32)


def fmt(v):
    return "" if np.isnan(v) else "%.9g" % v


def write_csv(path, header, rows):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(fmt(v) for v in row) + "\n")


def save(name, booster, X, kind, predict_input=None):
    """kind: 'prob' (classifier) or 'value' (regressor / ranker)."""
    path = os.path.join(OUT, name)
    booster.save_model(path + ".txt")
    # predict from the saved file, as the loader will see it
    b = lgb.Booster(model_file=path + ".txt")
    src = X if predict_input is None else predict_input
    pred = np.asarray(b.predict(src)).reshape(len(X), -1)
    raw = np.asarray(b.predict(src, raw_score=True)).reshape(len(X), -1)
    d = X.shape[1]
    write_csv(path + ".input.csv", ["f%d" % i for i in range(d)], X)
    if kind == "prob":
        cols = ["prob1"] if pred.shape[1] == 1 else \
            ["prob%d" % k for k in range(pred.shape[1])]
    else:
        cols = ["value"]
    write_csv(path + ".expected.csv", cols, pred)
    write_csv(path + ".margin.csv", ["margin"] if raw.shape[1] == 1 else
              ["margin%d" % k for k in range(raw.shape[1])], raw)
    print("%-28s %3d trees  %s" % (name, b.num_trees(),
                                   b.model_to_string().split("objective=")[1]
                                   .split("\n")[0]))


def train(params, X, y, rounds, **ds):
    p = dict(BASE)
    p.update(params)
    return lgb.train(p, lgb.Dataset(X, y, **ds), num_boost_round=rounds)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240)
    n, d = 600, 6

    X = features(rng, n, d, nan_cols=(1, 3))
    lin = X[:, 0] + np.nan_to_num(X[:, 1]) * 0.8 - X[:, 2] * X[:, 4]
    y_bin = (lin + rng.normal(size=n) * 0.5 > 0).astype(int)
    b = train(dict(objective="binary", sigmoid=0.7), X, y_bin, 15)
    save("lgb4_binary_sigmoid", b, test_input(rng, b, X, 5), "prob")

    y_cls = np.digitize(lin + rng.normal(size=n) * 0.3, [-0.7, 0.7])
    b = train(dict(objective="multiclass", num_class=3), X, y_cls, 8)
    save("lgb4_multiclass", b, test_input(rng, b, X, 5), "prob")
    b = train(dict(objective="multiclassova", num_class=3, sigmoid=1.5),
              X, y_cls, 8)
    save("lgb4_multiclassova", b, test_input(rng, b, X, 5), "prob")
    # a high split-gain floor leaves some class trees without a split
    b = train(dict(objective="multiclass", num_class=3, min_gain_to_split=6),
              X, y_cls, 8)
    assert "num_leaves=1\n" in b.model_to_string(), "no single-leaf tree"
    save("lgb4_multiclass_leaf1", b, test_input(rng, b, X), "prob")
    b = train(dict(objective="multiclass", num_class=3, boosting="rf",
                   bagging_freq=1, bagging_fraction=0.6,
                   feature_fraction=0.8), X, y_cls, 6)
    save("lgb4_rf_multiclass", b, test_input(rng, b, X, 5), "prob")

    p_soft = 1 / (1 + np.exp(-lin))
    b = train(dict(objective="cross_entropy"), X, p_soft, 10)
    save("lgb4_xentropy", b, test_input(rng, b, X), "prob")
    b = train(dict(objective="cross_entropy_lambda"), X, p_soft, 10)
    save("lgb4_xentlambda", b, test_input(rng, b, X), "value")

    y_reg = lin * 2 + rng.normal(size=n) * 0.2
    b = train(dict(objective="regression"), X, y_reg, 12)
    save("lgb4_regression", b, test_input(rng, b, X, 5), "value")
    b = train(dict(objective="regression", reg_sqrt=True), X, y_reg, 12)
    save("lgb4_regression_sqrt", b, test_input(rng, b, X), "value")
    b = train(dict(objective="huber", alpha=1.5), X, y_reg, 12)
    save("lgb4_huber", b, test_input(rng, b, X), "value")

    y_pos = np.exp(0.5 * lin) * rng.gamma(2.0, 0.5, n)
    for obj in ("poisson", "gamma", "tweedie"):
        b = train(dict(objective=obj), X, y_pos, 12)
        save("lgb4_" + obj, b, test_input(rng, b, X, 5), "value")

    rel = np.clip(np.round(lin + 1.5), 0, 4).astype(int)
    b = train(dict(objective="lambdarank", min_data_in_leaf=5), X, rel, 10,
              group=[20] * (n // 20))
    save("lgb4_lambdarank", b, test_input(rng, b, X), "value")

    # zero_as_missing: exact zeros in f2 and f5 take the default branch
    Xz = X.copy()
    Xz[rng.random(n) < 0.25, 2] = 0.0
    Xz[rng.random(n) < 0.25, 5] = 0.0
    b = train(dict(objective="regression", zero_as_missing=True), Xz, y_reg,
              12)
    Xt = test_input(rng, b, Xz)
    Xt[rng.random(N_ROWS) < 0.3, 2] = 0.0
    Xt[rng.random(N_ROWS) < 0.3, 5] = -0.0
    save("lgb4_zero_missing", b, Xt, "value")

    # 70 categories: bitsets of three 32-bit words
    Xc = X.copy()
    cat = rng.integers(0, 70, n)
    Xc[:, 0] = cat.astype(np.float32)
    Xc[rng.random(n) < 0.1, 0] = np.nan
    effect = rng.normal(size=70) * 2
    y_cat = (effect[cat] + X[:, 2] + rng.normal(size=n) * 0.3 > 0).astype(int)
    b = train(dict(objective="binary", max_cat_threshold=64, cat_smooth=1,
                   min_data_per_group=5, cat_l2=1, max_cat_to_onehot=4),
              Xc, y_cat, 15, categorical_feature=[0])
    Xt = test_input(rng, b, Xc)
    # unseen, negative, and codes in (-1, 0), which LightGBM truncates to 0
    Xt[:10, 0] = [70, 71, 95, 200, -1, -5, 1000, 40.5, -0.5, -0.999]
    save("lgb4_cat_wide", b, Xt, "prob")

    # pandas category dtype: codes in the CSV, model carries the trailer
    levels = ["red", "green", "blue", "cyan", "magenta"]
    df = pd.DataFrame(X[:, 1:], columns=["f%d" % i for i in range(1, d)])
    codes = rng.integers(0, len(levels), n)
    df.insert(0, "f0", pd.Categorical.from_codes(codes, levels))
    y_pd = (codes % 2 + X[:, 2] + rng.normal(size=n) * 0.3 > 0.5).astype(int)
    b = train(dict(objective="binary"), df, y_pd, 10)
    assert "pandas_categorical:[[" in b.model_to_string()
    Xt = test_input(rng, b, np.column_stack([codes, X[:, 1:]])
                    .astype(np.float32))
    Xt[:, 0] = rng.integers(0, len(levels), N_ROWS)
    Xt[:4, 0] = np.nan
    dft = pd.DataFrame(Xt[:, 1:], columns=df.columns[1:])
    dft.insert(0, "f0", pd.Categorical.from_codes(
        np.where(np.isnan(Xt[:, 0]), -1, Xt[:, 0]).astype(int), levels))
    save("lgb4_pandas_cat", b, Xt, "prob", predict_input=dft)

    # linear trees: the loader must refuse them
    b = train(dict(objective="regression", linear_tree=True), X, y_reg, 3)
    b.save_model(os.path.join(OUT, "lgb4_linear.txt"))
    print("lgb4_linear (refusal test, no predictions)")


if __name__ == "__main__":
    main()
