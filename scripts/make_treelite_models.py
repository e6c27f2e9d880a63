#!/usr/bin/env python3
"""Regenerate tests/models/tl_skl_* : small scikit-learn ensembles, converted
to Treelite checkpoints by scripts/convert_sklearn.py, with inputs and
scikit-learn's own predictions for tests/unit/test_treelite.c.

    python3 scripts/make_treelite_models.py [--venv121 build/venv-skl121]

Needs the global scikit-learn + treelite.  With --venv121 (the venv of
scripts/requirements-skl121.txt: scikit-learn==1.2.1, treelite==4.0.0) it
also converts the reference set's scikit-learn 1.2.1 pickles
(tests/reference/models/skl_*.pkl) into tests/models/skl_*.treelite, which
tests/parity.py checks against tests/reference/models/skl_*.expected.csv.

With --venv39 (treelite==3.9.1, treelite_runtime==3.9.1,
scikit-learn==1.2.1) it writes tests/models/tl3_skl_gb_multi.*, a Treelite 3.9
checkpoint.

Per model <name> it writes
  <name>.treelite       the checkpoint (via convert_sklearn.py on a pickle)
  <name>.input.csv      50 rows, header f0..; %.9g of float32; empty = NaN
  <name>.expected.csv   scikit-learn's predict_proba (classifiers: every
                        class column, except 1 column prob1 for the gradient
                        boosting binary classifiers whose checkpoint has one
                        output), predict (regressors), and for IsolationForest
                        -score_samples, which is what Treelite (GTIL) and
                        Triton FIL output: 2^(-mean depth / c).
  <name>.margin.csv     decision_function of the gradient boosting classifiers
Each expected file is also checked against treelite.gtil.predict here.
"""
import argparse
import os
import pickle
import subprocess
import sys
import tempfile

import numpy as np
import treelite
import sklearn
from sklearn import ensemble as E

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "models")
CONVERT = os.path.join(ROOT, "scripts", "convert_sklearn.py")
N_ROWS, N_FEAT = 50, 6


def make_data(rng, n, cat=False, nan=False):
    X = rng.normal(size=(n, N_FEAT)).astype(np.float32)
    X[:, 1] = rng.integers(0, 8, size=n)          # integer-valued: ties at cuts
    if cat:
        X[:, 0] = rng.integers(0, 6, size=n)      # category codes
    if nan:
        X[rng.random(size=n) < 0.1, 2] = np.nan
    return X


def probe_thresholds(est, X, rng):
    """Overwrite cells of the last 10 rows with exact split thresholds (as
    float32) so `<=` vs `<` and float64-vs-float32 thresholds matter."""
    thr = []
    trees = []
    for e in np.ravel(getattr(est, "estimators_", [])):
        trees.append(e.tree_)
    for t in trees:
        for f, v in zip(t.feature, t.threshold):
            if f >= 0:
                thr.append((int(f), v))
    if not thr:
        return X
    X = X.copy()
    for r in range(N_ROWS - 10, N_ROWS):
        for _ in range(3):
            f, v = thr[rng.integers(len(thr))]
            X[r, f] = np.float32(v)
    return X


def write_csv(path, header, M):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for row in np.atleast_2d(M):
            f.write(",".join("" if np.isnan(v) else "%.9g" % v for v in row)
                    + "\n")


def convert(est, name, python=sys.executable):
    with tempfile.TemporaryDirectory() as d:
        pkl = os.path.join(d, name + ".pkl")
        with open(pkl, "wb") as f:
            pickle.dump(est, f, protocol=4)
        out = os.path.join(OUT, name + ".treelite")
        subprocess.run([python, CONVERT, pkl, out], check=True)
    return out


def check_gtil(path, X, expected, what):
    m = treelite.Model.deserialize(path)
    got = treelite.gtil.predict(m, X.astype(np.float64)
                                if m.input_type == "float64" else X)
    got = np.asarray(got).reshape(len(X), -1)
    exp = np.asarray(expected).reshape(len(X), -1)
    if got.shape[1] == 2 and exp.shape[1] == 1:
        got = got[:, 1:]
    diff = np.max(np.abs(got - exp))
    print(f"  {os.path.basename(path)}: gtil vs {what}: max |diff| {diff:.3g}")
    if diff > 1e-5 * max(1.0, np.max(np.abs(exp))):
        sys.exit(f"{path}: treelite GTIL disagrees with {what}")


def build(name, est, X, rng, kind):
    est.fit(X, TARGETS[kind](X, rng))
    Xt = probe_thresholds(est, make_data(rng, N_ROWS,
                                         cat="cat" in name, nan="nan" in name),
                          rng)
    path = convert(est, name)
    write_csv(os.path.join(OUT, name + ".input.csv"),
              [f"f{i}" for i in range(N_FEAT)], Xt)
    if kind == "iforest":
        exp = -est.score_samples(Xt).reshape(N_ROWS, 1)
        hdr = ["value"]
        what = "-score_samples"
    elif kind.startswith("reg"):
        exp = est.predict(Xt).reshape(N_ROWS, -1)
        hdr = ["value"] if exp.shape[1] == 1 else \
            [f"value{k}" for k in range(exp.shape[1])]
        what = "predict"
    else:
        exp = est.predict_proba(Xt)
        one_col = exp.shape[1] == 2 and not isinstance(
            est, (E.RandomForestClassifier, E.ExtraTreesClassifier))
        if one_col:
            exp = exp[:, 1:]
        hdr = ["prob1"] if one_col else [f"prob{k}" for k in range(exp.shape[1])]
        what = "predict_proba"
        if hasattr(est, "decision_function"):
            mg = est.decision_function(Xt).reshape(N_ROWS, -1)
            write_csv(os.path.join(OUT, name + ".margin.csv"),
                      ["margin"] if mg.shape[1] == 1 else
                      [f"margin{k}" for k in range(mg.shape[1])], mg)
    write_csv(os.path.join(OUT, name + ".expected.csv"), hdr, exp)
    check_gtil(path, Xt, exp, what)


TARGETS = {
    "bin": lambda X, r: (np.nan_to_num(X[:, 0]) + X[:, 1] / 4
                         + r.normal(size=len(X)) > 1).astype(int),
    "multi": lambda X, r: (np.nan_to_num(X[:, 0]) > 0).astype(int)
    + (X[:, 1] > 3).astype(int) + (np.nan_to_num(X[:, 3]) > 0.5).astype(int),
    "reg": lambda X, r: 3 * np.nan_to_num(X[:, 0]) + X[:, 1]
    + r.normal(size=len(X)),
    "reg2": lambda X, r: np.stack([3 * np.nan_to_num(X[:, 0]) + X[:, 1],
                                   np.nan_to_num(X[:, 2]) - X[:, 3]], axis=1),
    "iforest": lambda X, r: None,
}

MODELS = [
    ("tl_skl_rf_bin", "bin", lambda: E.RandomForestClassifier(
        n_estimators=8, max_depth=5, random_state=1)),
    ("tl_skl_rf_multi_nan", "multi", lambda: E.RandomForestClassifier(
        n_estimators=8, max_depth=5, random_state=2)),
    ("tl_skl_rf_reg", "reg", lambda: E.RandomForestRegressor(
        n_estimators=8, max_depth=5, random_state=3)),
    ("tl_skl_rf_reg2", "reg2", lambda: E.RandomForestRegressor(
        n_estimators=6, max_depth=4, random_state=4)),
    ("tl_skl_et_bin", "bin", lambda: E.ExtraTreesClassifier(
        n_estimators=8, max_depth=5, random_state=5)),
    ("tl_skl_et_multi", "multi", lambda: E.ExtraTreesClassifier(
        n_estimators=8, max_depth=5, random_state=6)),
    ("tl_skl_et_reg2", "reg2", lambda: E.ExtraTreesRegressor(
        n_estimators=6, max_depth=4, random_state=7)),
    ("tl_skl_gb_bin", "bin", lambda: E.GradientBoostingClassifier(
        n_estimators=15, max_depth=3, random_state=8)),
    ("tl_skl_gb_multi", "multi", lambda: E.GradientBoostingClassifier(
        n_estimators=10, max_depth=3, random_state=9)),
    ("tl_skl_gb_reg", "reg", lambda: E.GradientBoostingRegressor(
        n_estimators=15, max_depth=3, random_state=10)),
    ("tl_skl_hgb_bin_cat_nan", "bin", lambda: E.HistGradientBoostingClassifier(
        max_iter=12, max_depth=4, categorical_features=[0], random_state=11)),
    ("tl_skl_hgb_multi_nan", "multi", lambda: E.HistGradientBoostingClassifier(
        max_iter=8, max_depth=3, random_state=12)),
    ("tl_skl_hgb_reg_cat", "reg", lambda: E.HistGradientBoostingRegressor(
        max_iter=12, max_depth=4, categorical_features=[0], random_state=13)),
    ("tl_skl_iforest", "iforest", lambda: E.IsolationForest(
        n_estimators=10, max_samples=64, random_state=14)),
]


def convert_reference(venv):
    """The reference pickles need scikit-learn 1.2.1 to unpickle, and a
    treelite that still imports its trees (4.0.0; 4.8.1 wants sklearn >= 1.3
    trees).  tests/suite_convert_sklearn.sh converts them again and compares
    the bytes."""
    python = os.path.join(venv, "bin", "python")
    for name in ("skl_rf_clf", "skl_rf_multi", "skl_rf_reg", "skl_et",
                 "skl_gbdt"):
        pkl = os.path.join(ROOT, "tests", "reference", "models", name + ".pkl")
        subprocess.run([python, CONVERT, pkl,
                        os.path.join(OUT, name + ".treelite")], check=True)


V39_SCRIPT = r"""
import pickle, sys, numpy as np, treelite
from sklearn.ensemble import GradientBoostingClassifier
out = sys.argv[1]
rng = np.random.default_rng(39)
X = rng.normal(size=(300, 5)).astype(np.float32)
X[:, 1] = rng.integers(0, 8, size=300)
y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 3)
gb = GradientBoostingClassifier(n_estimators=5, max_depth=2, init="zero",
                                random_state=39).fit(X, y)
treelite.sklearn.import_model(gb).serialize(out + ".treelite")
Xt = X[:50]
hdr = ",".join(f"f{i}" for i in range(5))
np.savetxt(out + ".input.csv", Xt, delimiter=",", fmt="%.9g", header=hdr,
           comments="")
np.savetxt(out + ".expected.csv", gb.predict_proba(Xt), delimiter=",",
           fmt="%.9g", header="prob0,prob1,prob2", comments="")
np.savetxt(out + ".margin.csv", gb.decision_function(Xt), delimiter=",",
           fmt="%.9g", header="margin0,margin1,margin2", comments="")
"""


def convert_v39(venv):
    """A Treelite 3.9 checkpoint (grove per class), written by treelite
    3.9.1 (+ treelite_runtime 3.9.1, scikit-learn 1.2.1; its sklearn import
    needs init='zero' for gradient boosting)."""
    python = os.path.join(venv, "bin", "python")
    subprocess.run([python, "-c", V39_SCRIPT,
                    os.path.join(OUT, "tl3_skl_gb_multi")], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv121", default=None)
    ap.add_argument("--venv39", default=None,
                    help="venv with treelite==3.9.1 and scikit-learn==1.2.1")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    print(f"scikit-learn {sklearn.__version__}, treelite {treelite.__version__}")
    for i, (name, kind, make) in enumerate(MODELS):
        rng = np.random.default_rng(100 + i)
        X = make_data(rng, 400, cat="cat" in name, nan="nan" in name)
        build(name, make(), X, rng, kind)
    if args.venv121:
        convert_reference(args.venv121)
    if args.venv39:
        convert_v39(args.venv39)


if __name__ == "__main__":
    main()
