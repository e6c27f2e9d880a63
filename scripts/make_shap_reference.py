#!/usr/bin/env python3
"""Writes tests/reference/shap/: the libraries' own SHAP contributions and
leaf indices for the reference models of tests/reference/models.

    build/venv-shap/bin/python scripts/make_shap_reference.py [OUT_DIR]

Run in the venv of scripts/requirements-shap.txt (xgboost, lightgbm, shap
and the scikit-learn 1.2.1 that unpickles the reference pickles):
    scripts/make_venv.sh build/venv-shap scripts/requirements-shap.txt

Per model <name> (file conventions of tests/reference/models/README.md:
%.9g, empty field = missing):
  <name>.input.csv     the 200 rows used (a copy of the reference input)
  <name>.contribs.csv  XGBoost predict(pred_contribs=True), LightGBM
                       predict(pred_contrib=True) or shap.TreeExplainer
                       (path-dependent) for scikit-learn: per output k the
                       columns c{k}_f0..c{k}_f{F-1}, c{k}_bias
  <name>.leaf.csv      XGBoost / LightGBM predict(pred_leaf=True): t0..
  <name>.interactions.input.csv  the rows of <name>.interactions.csv:
                       the first IX_ROWS (LightGBM: without missing values)
  <name>.interactions.csv  (INTERACTIONS models)
                       XGBoost predict(pred_interactions=True), or
                       shap.TreeExplainer.shap_interaction_values with
                       expected_value as the bias: per output k the
                       (F+1) x (F+1) matrix row by row, k{k}_{i}_{j}
The Treelite checkpoints converted from xgb_binary / lgb_binary get those
models' contributions (Treelite has none of its own).
xgb_nocover.json is xgb_reg.json without its trees' sum_hessian: a model
that predicts but cannot explain (contributions are refused).
"""
import hashlib
import json
import os
import pickle
import shutil
import sys

import lightgbm as lgb
import numpy as np
import shap
import xgboost as xgb

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = os.path.join(REPO, "tests", "reference", "models")

XGB = ["xgb_binary", "xgb_reg", "xgb_multiclass", "xgb_cat"]
LGB = ["lgb_binary", "lgb_multiclass", "lgb_cat", "lgb_reg"]
SKL = ["skl_rf_clf", "skl_rf_multi", "skl_rf_reg", "skl_gbdt", "skl_et"]
TREELITE = {"tl_xgb_binary": "xgb_binary", "tl_lgb_binary": "lgb_binary"}
# interaction values are (F+1)^2 per row and output: a few rows (each of
# these inputs has missing values among them)
INTERACTIONS = ["xgb_binary", "xgb_multiclass", "xgb_cat", "lgb_binary"]
IX_ROWS = 8


def read_input(name):
    path = os.path.join(REF, name + ".input.csv")
    with open(path) as f:
        header = f.readline().strip().split(",")
        rows = [[float(v) if v != "" else np.nan
                 for v in line.rstrip("\n").split(",")] for line in f]
    x = np.array(rows, dtype=np.float64).astype(np.float32)
    return header, x


def write_csv(path, header, values, fmt="%.9g"):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for row in values:
            f.write(",".join("" if isinstance(v, float) and np.isnan(v)
                             else fmt % v for v in row) + "\n")


def contrib_header(n_out, n_feat):
    return ["c%d_%s" % (k, "f%d" % j if j < n_feat else "bias")
            for k in range(n_out) for j in range(n_feat + 1)]


def write_contribs(out, name, c, n_feat):
    """c: [N, F+1] or [N, K, F+1]"""
    c = np.asarray(c, dtype=np.float64)
    if c.ndim == 2:
        c = c[:, None, :]
    n_out = c.shape[1]
    assert c.shape[2] == n_feat + 1, c.shape
    write_csv(os.path.join(out, name + ".contribs.csv"),
              contrib_header(n_out, n_feat), c.reshape(len(c), -1))


def xgb_model(name):
    bst = xgb.Booster()
    bst.load_model(os.path.join(REF, name + ".json"))
    return bst


def xgb_matrix(bst, x, **kw):
    types = bst.feature_types
    if types is not None and "c" in types:
        return xgb.DMatrix(x, missing=np.nan, feature_types=types,
                           feature_names=bst.feature_names,
                           enable_categorical=True, **kw)
    return xgb.DMatrix(x, missing=np.nan, feature_names=bst.feature_names,
                       **kw)


def do_xgb(out, name):
    header, x = read_input(name)
    bst = xgb_model(name)
    contribs = bst.predict(xgb_matrix(bst, x), pred_contribs=True)
    write_contribs(out, name, contribs, x.shape[1])
    leaf = bst.predict(xgb_matrix(bst, x), pred_leaf=True).astype(np.int64)
    write_csv(os.path.join(out, name + ".leaf.csv"),
              ["t%d" % t for t in range(leaf.shape[1])], leaf, "%d")
    return header, x


def do_lgb(out, name):
    header, x = read_input(name)
    bst = lgb.Booster(model_file=os.path.join(REF, name + ".txt"))
    xd = x.astype(np.float64)
    c = np.asarray(bst.predict(xd, pred_contrib=True))
    k = bst.num_model_per_iteration()
    write_contribs(out, name, c.reshape(len(x), k, x.shape[1] + 1),
                   x.shape[1])
    leaf = np.asarray(bst.predict(xd, pred_leaf=True)).astype(np.int64)
    write_csv(os.path.join(out, name + ".leaf.csv"),
              ["t%d" % t for t in range(leaf.shape[1])], leaf, "%d")
    return header, x


def do_skl(out, name):
    header, x = read_input(name)
    with open(os.path.join(REF, name + ".pkl"), "rb") as f:
        est = pickle.load(f)
    ex = shap.TreeExplainer(est, feature_perturbation="tree_path_dependent")
    xd = x.astype(np.float64)
    sv = ex.shap_values(xd, check_additivity=True)
    base = np.atleast_1d(np.asarray(ex.expected_value, dtype=np.float64))
    if isinstance(sv, list):
        sv = np.stack(sv, axis=1)                  # [N, K, F]
    else:
        sv = np.asarray(sv)
        sv = sv[:, None, :] if sv.ndim == 2 else sv.transpose(0, 2, 1)
    c = np.concatenate([sv, np.broadcast_to(base[None, :, None],
                                            (len(x), len(base), 1))], axis=2)
    write_contribs(out, name, c, x.shape[1])
    return header, x


def write_interactions(out, name, v, n_feat):
    """v: [N, F+1, F+1] or [N, K, F+1, F+1]"""
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 3:
        v = v[:, None, :, :]
    assert v.shape[2:] == (n_feat + 1, n_feat + 1), v.shape
    header = ["k%d_%d_%d" % (k, i, j) for k in range(v.shape[1])
              for i in range(n_feat + 1) for j in range(n_feat + 1)]
    write_csv(os.path.join(out, name + ".interactions.csv"), header,
              v.reshape(len(v), -1))


def do_interactions(out, name):
    header, x = read_input(name)
    if name.startswith("xgb_"):
        x = x[:IX_ROWS]
        bst = xgb_model(name)
        v = bst.predict(xgb_matrix(bst, x), pred_interactions=True)
    else:
        # shap walks LightGBM's trees itself and sends a missing value
        # where LightGBM does not (missing_type None/Zero nodes): its
        # values then stop adding up to LightGBM's pred_contrib.  Rows
        # without missing values, held to pred_contrib below.
        x = x[~np.isnan(x).any(axis=1)][:IX_ROWS]
        bst = lgb.Booster(model_file=os.path.join(REF, name + ".txt"))
        ex = shap.TreeExplainer(bst,
                                feature_perturbation="tree_path_dependent")
        sv = np.asarray(ex.shap_interaction_values(x.astype(np.float64)))
        assert sv.ndim == 3, sv.shape
        f = x.shape[1]
        v = np.zeros((len(x), f + 1, f + 1))
        v[:, :f, :f] = sv
        v[:, f, f] = float(np.ravel(ex.expected_value)[0])
        want = bst.predict(x.astype(np.float64), pred_contrib=True)
        assert np.abs(v.sum(axis=2) - want).max() < 1e-6
    write_csv(os.path.join(out, name + ".interactions.input.csv"), header,
              x.astype(np.float64))
    write_interactions(out, name, v, x.shape[1])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        REPO, "tests", "reference", "shap")
    os.makedirs(out, exist_ok=True)
    for group, fn in ((XGB, do_xgb), (LGB, do_lgb), (SKL, do_skl)):
        for name in group:
            fn(out, name)
            shutil.copyfile(os.path.join(REF, name + ".input.csv"),
                            os.path.join(out, name + ".input.csv"))
            print(name)
    for name, src in TREELITE.items():
        for suffix in (".contribs.csv", ".input.csv"):
            shutil.copyfile(os.path.join(out, src + suffix),
                            os.path.join(out, name + suffix))
        print(name, "(from %s)" % src)
    for name in INTERACTIONS:
        do_interactions(out, name)
        print(name, "interactions")
    with open(os.path.join(REF, "xgb_reg.json")) as f:
        doc = json.load(f)
    for tree in doc["learner"]["gradient_booster"]["model"]["trees"]:
        del tree["sum_hessian"]
    with open(os.path.join(out, "xgb_nocover.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    sums = []
    for fname in sorted(os.listdir(out)):
        if fname == "SHA256SUMS":
            continue
        with open(os.path.join(out, fname), "rb") as f:
            sums.append("%s  %s\n" % (hashlib.sha256(f.read()).hexdigest(),
                                      fname))
    with open(os.path.join(out, "SHA256SUMS"), "w") as f:
        f.writelines(sums)
    print("versions: xgboost %s, lightgbm %s, shap %s, numpy %s"
          % (xgb.__version__, lgb.__version__, shap.__version__,
             np.__version__))


if __name__ == "__main__":
    main()
