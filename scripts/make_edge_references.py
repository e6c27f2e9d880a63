#!/usr/bin/env python3
"""Writes the edge-value parity references into tests/models/edge/.

    python3 scripts/make_edge_references.py [BUILD_DIR]

Run it in the venv of scripts/requirements-refgen.txt (xgboost, lightgbm,
treelite, scikit-learn, pandas at pinned versions); the scikit-learn 1.2.1
pickles of the reference set are evaluated by re-running this script under
build/venv-skl121 (scripts/requirements-skl121.txt).  BUILD_DIR (default
build) holds bin/forest, used only to list a model's categorical features.

For every model stem with references (tests/reference/models and
tests/models, as tests/parity.py finds them) it writes
edge/<stem>.input.csv, edge/<stem>.expected.csv and, for models with a
margin reference, edge/<stem>.margin.csv, following the conventions of
tests/reference/models/README.md.  The rows are the model's first input row
with one feature at a time, then every feature, set to each edge value:
+inf, -inf, -0, +-the smallest subnormal, the largest subnormal, +-FLT_MAX.
Categorical features get only -0 and the subnormals (XGBoost and LightGBM
define no category for an infinite or huge code).  Outputs are the
originating library's own: xgboost Booster.inplace_predict, lightgbm
Booster.predict, treelite GTIL for checkpoints, and for the scikit-learn
pickles the estimators' own per-tree predict (check_input=False: the
ensembles' predict refuses infinities before any tree sees them) combined as
the ensemble combines them.
"""
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = os.path.join(ROOT, "tests", "reference", "models")
LOCAL = os.path.join(ROOT, "tests", "models")
OUT = os.path.join(LOCAL, "edge")
SKL121 = os.path.join(ROOT, "build", "venv-skl121", "bin", "python")

F32 = np.finfo(np.float32)
SUB_MIN = np.float32(np.nextafter(np.float32(0), np.float32(1)))
SUB_MAX = np.float32(F32.tiny - SUB_MIN)
EDGE = [np.inf, -np.inf, -0.0, SUB_MIN, -SUB_MIN, SUB_MAX, F32.max, -F32.max]
CAT_OK = {-0.0, float(SUB_MIN), float(-SUB_MIN), float(SUB_MAX)}

# stems whose library cannot read the model any more (a Treelite 3.x
# checkpoint: treelite 4 reads only its own serialization)
NO_LIBRARY = {"tl3_skl_gb_multi"}
# stems whose edge references scripts/make_hgb_models.py writes from the
# scikit-learn estimator itself
OWN_EDGE = "skl19_"


def read_input(prefix):
    with open(prefix + ".input.csv") as f:
        header = f.readline().strip()
        first = f.readline().rstrip("\n").split(",")
    return header, np.array([float(v) if v else np.nan for v in first],
                            dtype=np.float32)


def categorical(forest, model):
    out = subprocess.run([forest, "info", model], capture_output=True,
                         text=True, check=True).stdout
    info = dict(line.split(": ", 1) for line in out.splitlines()
                if ": " in line)
    v = info.get("categorical_features", "(none)")
    if v.startswith("("):
        return set()
    names = info.get("feature_names", "").split(",")
    return {names.index(c) if c in names else int(c) for c in v.split(",")}


def edge_rows(base, cats):
    rows = []
    for v in EDGE:
        if not cats or float(v) in CAT_OK:
            every = np.full_like(base, v)
        else:
            every = base.copy()
            for j in range(len(base)):
                if j not in cats:
                    every[j] = v
        rows.append(every)
        for j in range(len(base)):
            if j in cats and float(v) not in CAT_OK:
                continue
            r = base.copy()
            r[j] = v
            rows.append(r)
    return np.array(rows, dtype=np.float32)


def write_csv(path, header, X):
    with open(path, "w") as f:
        f.write(header + "\n")
        for row in np.reshape(X, (len(X), -1)):
            f.write(",".join("" if np.isnan(v) else "%.9g" % v for v in row)
                    + "\n")


def xgboost_predict(model, X, margin):
    import xgboost as xgb
    # inplace_predict: DMatrix refuses infinities, the trees do not
    b = xgb.Booster(model_file=model)
    return b.inplace_predict(X, missing=np.nan,
                             predict_type="margin" if margin else "value")


def lightgbm_predict(model, X, margin):
    import lightgbm as lgb
    return lgb.Booster(model_file=model).predict(X.astype(np.float64),
                                                 raw_score=margin)


def treelite_predict(model, X, margin):
    import treelite
    m = treelite.Model.deserialize(model)
    out = treelite.gtil.predict(m, X.astype(np.float64 if m.input_type ==
                                            "float64" else np.float32),
                                pred_margin=margin)
    return np.reshape(out, (len(X), -1))


def sklearn_predict(pkl, X, margin):
    import pickle
    with open(pkl, "rb") as f:
        est = pickle.load(f)
    kind = type(est).__name__
    X = np.ascontiguousarray(X, dtype=np.float32)
    if kind in ("RandomForestClassifier", "ExtraTreesClassifier"):
        p = np.mean([t.predict_proba(X, check_input=False)
                     for t in est.estimators_], axis=0)
        return p[:, 1:] if p.shape[1] == 2 else p
    if kind in ("RandomForestRegressor", "ExtraTreesRegressor"):
        return np.mean([t.predict(X, check_input=False)
                        for t in est.estimators_], axis=0)
    if kind == "GradientBoostingClassifier" and est.n_classes_ == 2:
        init = est._raw_predict_init(np.zeros((1, X.shape[1]), np.float32))
        raw = init[0, 0] + est.learning_rate * np.sum(
            [s[0].predict(X, check_input=False) for s in est.estimators_],
            axis=0)
        return raw if margin else 1.0 / (1.0 + np.exp(-raw))
    raise SystemExit("%s: no edge evaluation for %s" % (pkl, kind))


def model_for(prefix):
    """(loader name, model file) that the library reads for this stem"""
    stem = os.path.basename(prefix)
    for d in (REF, LOCAL):
        for ext, lib in (("json", "xgboost"), ("txt", "lightgbm"),
                         ("pkl", "sklearn"), ("treelite", "treelite")):
            p = os.path.join(d, stem + "." + ext)
            if os.path.isfile(p):
                return lib, p
    return None, None


def forest_model(prefix):
    """a file forest loads for this stem (for its categorical features)"""
    stem = os.path.basename(prefix)
    for d in (os.path.dirname(prefix), LOCAL):
        for f in sorted(os.listdir(d)):
            if f.startswith(stem + ".") and f.rsplit(".", 1)[1] in (
                    "json", "txt", "treelite"):
                return os.path.join(d, f)
    raise SystemExit("%s: no model file forest reads" % prefix)


def stems():
    out = []
    for d in (REF, LOCAL):
        for f in sorted(os.listdir(d)):
            if f.endswith(".expected.csv"):
                stem = f[:-len(".expected.csv")]
                if stem not in NO_LIBRARY and not stem.startswith(OWN_EDGE):
                    out.append(os.path.join(d, stem))
    return out


def write_outputs(prefix, X, predict):
    """edge/<stem>.expected.csv (and .margin.csv where the stem has margins)
    from predict(X, margin), with the headers of the stem's references"""
    stem = os.path.basename(prefix)
    for kind in ("expected", "margin"):
        ref = prefix + "." + kind + ".csv"
        if os.path.isfile(ref):
            with open(ref) as f:
                header = f.readline().strip()
            write_csv(os.path.join(OUT, "%s.%s.csv" % (stem, kind)), header,
                      predict(X, kind == "margin"))


def skl121_main(prefix):
    """under scikit-learn 1.2.1: edge/<stem>.*.csv from the pickle"""
    stem = os.path.basename(prefix)
    X = np.loadtxt(os.path.join(OUT, stem + ".input.csv"), delimiter=",",
                   skiprows=1, ndmin=2).astype(np.float32)
    write_outputs(prefix, X, lambda X, margin: sklearn_predict(
        prefix + ".pkl", X, margin))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--skl121":
        skl121_main(sys.argv[2])
        return
    forest = os.path.join(os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                                          else "build"), "bin", "forest")
    os.makedirs(OUT, exist_ok=True)
    for prefix in stems():
        stem = os.path.basename(prefix)
        lib, model = model_for(prefix)
        header, base = read_input(prefix)
        X = edge_rows(base, categorical(forest, forest_model(prefix)))
        write_csv(os.path.join(OUT, stem + ".input.csv"), header, X)
        if lib == "sklearn":
            subprocess.run([SKL121, __file__, "--skl121", prefix], check=True)
            print("%s: %d rows (scikit-learn 1.2.1)" % (stem, len(X)))
            continue
        predict = {"xgboost": xgboost_predict, "lightgbm": lightgbm_predict,
                   "treelite": treelite_predict}[lib]
        write_outputs(prefix, X, lambda X, margin: predict(model, X, margin))
        print("%s: %d rows (%s)" % (stem, len(X), lib))


if __name__ == "__main__":
    main()
