#!/usr/bin/env python3
"""Writes tests/reference/rounds/: XGBoost's own outputs for tree selection
by boosting round (early stopping's best_iteration) and for base_margin.

    build/venv-shap/bin/python scripts/make_rounds_reference.py [OUT_DIR]

Run in the venv of scripts/requirements-shap.txt (xgboost 3.2.0, numpy):
    scripts/make_venv.sh build/venv-shap scripts/requirements-shap.txt

Files (conventions of tests/reference/models/README.md: %.9g, header line,
empty field = missing):
  xgb_early.json, .ubj     XGBClassifier, 3 classes, num_parallel_tree=2
                           (6 trees a round), trained with early stopping
  xgb_early.input.csv      rows to predict
  xgb_early.all.csv        Booster.predict: every tree
  xgb_early.best.csv       XGBClassifier.predict_proba: up to best_iteration
  xgb_early.best.margin.csv  the same as margins
  xgb_early.r2.csv         Booster.predict(iteration_range=(0, 2))
  <m>.input.csv            the first 40 rows of ../models/<m>.input.csv, for
                           xgb_binary, xgb_reg, xgb_multiclass
  <m>.base_margin.csv      a base_margin per row ([N], or [N, C] multiclass)
  <m>.bm.expected.csv      Booster.predict with that base_margin
  <m>.bm.margin.csv        the same, output_margin=True
  <m>.bm.contribs.csv      the same, pred_contribs=True (bias column moves)
"""
import hashlib
import os
import shutil
import sys

import numpy as np
import xgboost as xgb

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = os.path.join(REPO, "tests", "reference", "models")
BASE_MARGIN = ["xgb_binary", "xgb_reg", "xgb_multiclass"]
ROWS = 40


def write_csv(path, header, values):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for row in np.asarray(values).reshape(len(values), -1):
            f.write(",".join("" if np.isnan(v) else "%.9g" % v
                             for v in row) + "\n")


def read_input(name):
    with open(os.path.join(REF, name + ".input.csv")) as f:
        header = f.readline().strip().split(",")
        rows = [[float(v) if v != "" else np.nan
                 for v in line.rstrip("\n").split(",")] for line in f]
    return header, np.array(rows, dtype=np.float64).astype(np.float32)


def cols(prefix, n):
    return ["%s%d" % (prefix, k) for k in range(n)]


def early(out):
    rng = np.random.default_rng(13)
    x = rng.normal(size=(600, 5)).astype(np.float32)
    y = ((x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=1.5, size=600)) > 0) \
        .astype(int) \
        + ((x[:, 2] - x[:, 3] + rng.normal(scale=1.5, size=600)) > 0.5)
    clf = xgb.XGBClassifier(n_estimators=40, max_depth=3, learning_rate=0.5,
                            num_parallel_tree=2, subsample=0.8,
                            colsample_bynode=0.8, early_stopping_rounds=4,
                            random_state=7, n_jobs=1)
    clf.fit(x[:400], y[:400], eval_set=[(x[400:], y[400:])], verbose=False)
    booster = clf.get_booster()
    rounds = booster.num_boosted_rounds()
    assert 2 < clf.best_iteration + 1 < rounds, (clf.best_iteration, rounds)
    booster.save_model(os.path.join(out, "xgb_early.json"))
    booster.save_model(os.path.join(out, "xgb_early.ubj"))
    xt = rng.normal(size=(50, 5)).astype(np.float32)
    xt[::7, 1] = np.nan
    write_csv(os.path.join(out, "xgb_early.input.csv"), cols("f", 5), xt)
    d = xgb.DMatrix(xt)
    write_csv(os.path.join(out, "xgb_early.all.csv"), cols("p", 3),
              booster.predict(d))
    write_csv(os.path.join(out, "xgb_early.best.csv"), cols("p", 3),
              clf.predict_proba(xt))
    write_csv(os.path.join(out, "xgb_early.best.margin.csv"), cols("m", 3),
              clf.predict(xt, output_margin=True))
    write_csv(os.path.join(out, "xgb_early.r2.csv"), cols("p", 3),
              booster.predict(d, iteration_range=(0, 2)))
    print("xgb_early: %d rounds, best_iteration %d"
          % (rounds, clf.best_iteration))


def base_margin(out, name):
    rng = np.random.default_rng(len(name))
    header, x = read_input(name)
    x = x[:ROWS]
    booster = xgb.Booster(model_file=os.path.join(REF, name + ".json"))
    n_out = booster.predict(xgb.DMatrix(x[:1]), output_margin=True).size
    bm = rng.normal(scale=2.0, size=(ROWS, n_out) if n_out > 1 else ROWS)
    bm = bm.astype(np.float32)
    d = xgb.DMatrix(x, base_margin=bm)
    write_csv(os.path.join(out, name + ".input.csv"), header, x)
    write_csv(os.path.join(out, name + ".base_margin.csv"), cols("b", n_out),
              bm.reshape(ROWS, n_out))
    pred = booster.predict(d)
    write_csv(os.path.join(out, name + ".bm.expected.csv"),
              cols("p", pred.size // ROWS), pred.reshape(ROWS, -1))
    write_csv(os.path.join(out, name + ".bm.margin.csv"), cols("m", n_out),
              booster.predict(d, output_margin=True).reshape(ROWS, n_out))
    contribs = booster.predict(d, pred_contribs=True).reshape(ROWS, -1)
    write_csv(os.path.join(out, name + ".bm.contribs.csv"),
              cols("c", contribs.shape[1]), contribs)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        REPO, "tests", "reference", "rounds")
    os.makedirs(out, exist_ok=True)
    early(out)
    for name in BASE_MARGIN:
        base_margin(out, name)
    readme = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "..", "tests", "reference", "rounds", "README.md")
    if os.path.abspath(os.path.dirname(readme)) != os.path.abspath(out):
        shutil.copy(readme, out)
    sums = []
    for fname in sorted(os.listdir(out)):
        if fname != "SHA256SUMS":
            with open(os.path.join(out, fname), "rb") as f:
                sums.append("%s  %s\n" % (hashlib.sha256(f.read()).hexdigest(),
                                          fname))
    with open(os.path.join(out, "SHA256SUMS"), "w") as f:
        f.writelines(sums)
    print("versions: xgboost %s, numpy %s" % (xgb.__version__, np.__version__))


if __name__ == "__main__":
    main()
