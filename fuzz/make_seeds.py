#!/usr/bin/env python3
"""Writes the fuzz seed corpora fuzz/corpus/<target>/: tiny real models (a few
trees, a few features) saved by the libraries themselves, so the fuzzer starts
from valid files of every format and variant, plus a few CSV inputs.

    python3 fuzz/make_seeds.py [XGBOOST17_PYTHON]

XGBOOST17_PYTHON: a python with xgboost 1.7.x (for the legacy binary format
and the 1.x JSON/UBJSON schema); skipped when not given.
"""
import os
import subprocess
import sys
import tempfile

import lightgbm as lgb
import numpy as np
import treelite
import xgboost as xgb
from seed_corpus import CORPUS, write

HERE = os.path.dirname(os.path.abspath(__file__))


def out(target, name, data):
    write(target, name, data)
    # format detection sees every seed too
    write("fuzz_load_auto", target[len("fuzz_load_"):] + "_" + name, data)


def data(n_features=4, n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    return X, rng


XGB_CASES = {
    "binary": ({"objective": "binary:logistic", "max_depth": 2}, 2),
    "multi": ({"objective": "multi:softprob", "num_class": 3,
               "max_depth": 2}, 3),
    "reg": ({"objective": "reg:squarederror", "max_depth": 3,
             "base_score": 1.5}, 0),
}


def xgb_models(tmp):
    for name, (params, k) in XGB_CASES.items():
        X, rng = data()
        y = rng.integers(0, max(k, 2), len(X)) if k else rng.normal(size=len(X))
        b = xgb.train(params, xgb.DMatrix(X, y), num_boost_round=2)
        for ext, target in (("json", "fuzz_load_xgboost_json"),
                            ("ubj", "fuzz_load_xgboost_ubj")):
            p = os.path.join(tmp, "m." + ext)
            b.save_model(p)
            out(target, "xgb3_%s.%s" % (name, ext), open(p, "rb").read())
        tl = treelite.frontend.from_xgboost(b)
        out("fuzz_load_treelite", "tl_xgb_%s.treelite" % name,
            bytes(tl.serialize_bytes()))
    # categorical splits
    X, rng = data()
    X[:, 0] = rng.integers(0, 5, len(X))
    d = xgb.DMatrix(X, rng.integers(0, 2, len(X)), enable_categorical=True,
                    feature_types=["c", "q", "q", "q"])
    b = xgb.train({"objective": "binary:logistic", "max_depth": 2,
                   "tree_method": "hist", "max_cat_to_onehot": 1}, d, 2)
    for ext, target in (("json", "fuzz_load_xgboost_json"),
                        ("ubj", "fuzz_load_xgboost_ubj")):
        p = os.path.join(tmp, "c." + ext)
        b.save_model(p)
        out(target, "xgb3_cat." + ext, open(p, "rb").read())


XGB17_SCRIPT = r"""
import sys, numpy as np, xgboost as xgb
rng = np.random.default_rng(1)
X = rng.normal(size=(200, 4)).astype(np.float32)
X[rng.random(X.shape) < 0.1] = np.nan
b = xgb.train({"objective": "binary:logistic", "max_depth": 2},
              xgb.DMatrix(X, rng.integers(0, 2, 200)), 2)
d = sys.argv[1]
b.save_model(d + "/m.json"); b.save_model(d + "/m.ubj")
open(d + "/m.bin", "wb").write(b.save_raw(raw_format="deprecated"))
"""


def xgb17_models(python, tmp):
    subprocess.run([python, "-c", XGB17_SCRIPT, tmp], check=True)
    for src, target, name in (("m.json", "fuzz_load_xgboost_json", "xgb17.json"),
                              ("m.ubj", "fuzz_load_xgboost_ubj", "xgb17.ubj"),
                              ("m.bin", "fuzz_load_xgboost_binary",
                               "xgb17.model")):
        out(target, name, open(os.path.join(tmp, src), "rb").read())


LGB_CASES = {
    "binary": {"objective": "binary", "num_leaves": 4},
    "multi": {"objective": "multiclass", "num_class": 3, "num_leaves": 4},
    "zero": {"objective": "regression", "num_leaves": 4,
             "zero_as_missing": True},
    "cat": {"objective": "binary", "num_leaves": 4,
            "min_data_per_group": 5, "cat_smooth": 1},
}


def lgb_models():
    for name, params in LGB_CASES.items():
        X, rng = data()
        if name == "cat":
            X[:, 0] = rng.integers(0, 40, len(X))
        k = params.get("num_class", 2)
        y = rng.normal(size=len(X)) if name == "zero" else \
            rng.integers(0, k, len(X))
        b = lgb.train(dict(params, verbose=-1, min_data_in_leaf=5),
                      lgb.Dataset(X, y, categorical_feature=[0]
                                  if name == "cat" else "auto"),
                      num_boost_round=2)
        text = b.model_to_string().encode()
        out("fuzz_load_lightgbm", "lgb_%s.txt" % name, text)
        if name == "binary":
            tl = treelite.frontend.from_lightgbm(b)
            out("fuzz_load_treelite", "tl_lgb_binary.treelite",
                bytes(tl.serialize_bytes()))


CSV_SEEDS = {
    "plain.csv": b"f0,f1,f2\n1.5,,nan\n-2,3e2,NaN\n",
    "crlf_quoted.csv": b"\"a,b\",\"c\"\"d\"\r\n\"1\", 2 \r\n\r\n3,4",
    "header_only.csv": b"x\n",
    "probe.csv": b"f0,f1\n0.100000001,-1.00000002e-35\ninf,-inf\n",
}


# the first bytes of the reference set's models (other library versions)
REFERENCE_CUTS = (
    ("xgb_binary.model", "fuzz_load_xgboost_binary", 4096),
    ("tl_xgb_binary.treelite", "fuzz_load_treelite", 4096),
    ("tl_lgb_binary.treelite", "fuzz_load_treelite", 4096),
    ("lgb_cat.txt", "fuzz_load_lightgbm", 8192),
)


def reference_cuts():
    base = os.path.join(HERE, "..", "tests", "reference", "models")
    for fname, target, size in REFERENCE_CUTS:
        with open(os.path.join(base, fname), "rb") as f:
            out(target, "cut_" + fname, f.read(size))


# test models that exercise a feature the tiny seeds lack
TEST_MODEL_SEEDS = (
    ("xgb3_vector_leaf.ubj", "fuzz_load_xgboost_ubj"),
    ("xgb3_multi_target.json", "fuzz_load_xgboost_json"),
    ("xgb17_dart.json", "fuzz_load_xgboost_json"),
    ("xgb17_dart.model", "fuzz_load_xgboost_binary"),
    ("xgb17_multiclass.model", "fuzz_load_xgboost_binary"),
    ("lgb4_linear.txt", "fuzz_load_lightgbm"),
    ("lgb4_multiclass_leaf1.txt", "fuzz_load_lightgbm"),
    ("tl_skl_hgb_bin_cat_nan.treelite", "fuzz_load_treelite"),
)


def test_model_seeds():
    base = os.path.join(HERE, "..", "tests", "models")
    for fname, target in TEST_MODEL_SEEDS:
        path = os.path.join(base, fname)
        if os.path.isfile(path) and os.path.getsize(path) <= 32768:
            with open(path, "rb") as f:
                out(target, fname, f.read())


def main():
    reference_cuts()
    test_model_seeds()
    with tempfile.TemporaryDirectory() as tmp:
        xgb_models(tmp)
        lgb_models()
        if len(sys.argv) > 1:
            xgb17_models(sys.argv[1], tmp)
    for name, text in CSV_SEEDS.items():
        d = os.path.join(CORPUS, "fuzz_csv")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(text)


if __name__ == "__main__":
    main()
