#!/usr/bin/env python3
"""Writes the scikit-learn HistGradientBoosting test models tests/models/skl19_hgb_*.

    python3 scripts/make_hgb_models.py

Run in the venv of scripts/requirements-refgen.txt (scikit-learn 1.9.1,
treelite 4.8.1).  Each estimator is converted by scripts/convert_sklearn.py
into <name>.treelite; <name>.input.csv, <name>.expected.csv (predict /
predict_proba) and <name>.margin.csv (decision_function, classifiers) follow
tests/reference/models/README.md, and edge/<name>.*.csv hold the same
estimator's outputs on scripts/make_edge_references.py's edge rows (this
script writes them: the scikit-learn estimator, not Treelite, is the
reference).

  skl19_hgb_inf_reg   NaN in training, the target jumps where f1 is missing:
                      splits "f1 <= +inf" (non-missing left); the input's
                      last rows hold +-inf, -0, subnormals, +-FLT_MAX.
  skl19_hgb_cat_bin   categorical f0 (training codes 0,1,2,4,7, NaN) and f3
  skl19_hgb_cat_multi (codes 0..5); the input's last rows hold unseen (3, 5,
  skl19_hgb_cat_reg   100), negative (-1, -0.5) and fractional (0.5, 1.5,
                      4.25, 6.5) codes, which scikit-learn >= 1.4 treats as
                      missing.
"""
import os
import pickle
import subprocess
import sys

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier as HGBC
from sklearn.ensemble import HistGradientBoostingRegressor as HGBR

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_edge_references as edge  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "models")
CONVERT = os.path.join(ROOT, "scripts", "convert_sklearn.py")
ODD_CODES = [3, 5, 100, -1, -0.5, 0.5, 1.5, 4.25, 6.5]


def write(path, header, X):
    edge.write_csv(path, header, X)


def numeric_data(rng, n):
    X = rng.normal(size=(n, 4)).astype(np.float32)
    X[rng.random(n) < 0.3, 1] = np.nan
    y = np.isnan(X[:, 1]) * 2.0 + X[:, 0] + 0.5 * np.nan_to_num(X[:, 2])
    return X, y


def categorical_data(rng, n):
    X = rng.normal(size=(n, 4)).astype(np.float32)
    X[:, 0] = rng.choice(np.array([0, 1, 2, 4, 7], np.float32), n)
    X[:, 3] = rng.integers(0, 6, n)
    X[rng.random(n) < 0.1, 0] = np.nan
    X[rng.random(n) < 0.1, 1] = np.nan
    # missing f0 behaves like codes 2 and 7; fractions of 0, 1 and 4 (which
    # truncation would take for those codes) must behave like missing
    score = (np.isin(X[:, 0], [2, 7]) | np.isnan(X[:, 0])) * 1.5 \
        + (X[:, 3] % 2) - np.nan_to_num(X[:, 1])
    return X, score


def odd_rows(X):
    rows = []
    for c in ODD_CODES:
        for f in (0, 3):
            r = X[0].copy()
            r[f] = c
            rows.append(r)
        r = X[1].copy()
        r[0] = r[3] = c
        rows.append(r)
    return np.array(rows, dtype=np.float32)


def outputs(est, X):
    if hasattr(est, "predict_proba"):
        p = est.predict_proba(X)
        return (p[:, 1:] if p.shape[1] == 2 else p), est.decision_function(X)
    return est.predict(X), None


def save(name, est, X, cats=()):
    pkl = os.path.join(OUT, name + ".pkl")
    with open(pkl, "wb") as f:
        pickle.dump(est, f)
    subprocess.run([sys.executable, CONVERT, pkl,
                    os.path.join(OUT, name + ".treelite")], check=True)
    os.unlink(pkl)
    header = ",".join("f%d" % i for i in range(X.shape[1]))
    write(os.path.join(OUT, name + ".input.csv"), header, X)
    for prefix, rows in ((os.path.join(OUT, name), X),
                         (os.path.join(OUT, "edge", name),
                          edge.edge_rows(X[0], set(cats)))):
        if prefix != os.path.join(OUT, name):
            write(prefix + ".input.csv", header, rows)
        value, margin = outputs(est, rows)
        value = np.reshape(value, (len(rows), -1))
        cols = (["prob1"] if value.shape[1] == 1 and margin is not None else
                ["prob%d" % k for k in range(value.shape[1])]
                if margin is not None else ["value"])
        write(prefix + ".expected.csv", ",".join(cols), value)
        if margin is not None:
            margin = np.reshape(margin, (len(rows), -1))
            write(prefix + ".margin.csv", ",".join(
                ["margin"] if margin.shape[1] == 1 else
                ["margin%d" % k for k in range(margin.shape[1])]), margin)
    print(name, len(X), "rows")


def main():
    rng = np.random.default_rng(11)
    X, y = numeric_data(rng, 600)
    est = HGBR(max_iter=20, max_leaf_nodes=8, random_state=0).fit(X, y)
    Xt = np.vstack([X[:60], edge.edge_rows(X[0], set())[:40]])
    save("skl19_hgb_inf_reg", est, Xt)

    X, s = categorical_data(rng, 800)
    Xt = np.vstack([X[:60], odd_rows(X)])
    kw = dict(max_iter=15, max_leaf_nodes=8, categorical_features=[0, 3],
              random_state=0)
    save("skl19_hgb_cat_bin", HGBC(**kw).fit(X, s > 0.5), Xt, (0, 3))
    save("skl19_hgb_cat_multi",
         HGBC(**kw).fit(X, np.digitize(s, [0.0, 1.2])), Xt, (0, 3))
    save("skl19_hgb_cat_reg", HGBR(**kw).fit(X, s), Xt, (0, 3))


if __name__ == "__main__":
    main()
