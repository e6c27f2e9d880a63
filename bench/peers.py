"""The compiled and vendor-optimised peers of bench/cpu_bench.py, beside the
originating libraries: Intel oneDAL (daal4py's model builders, as
scikit-learn-intelex uses them), ONNX Runtime (models converted with
onnxmltools), tl2cgen (Treelite's compiler to C, built with gcc) and Treelite
GTIL (its interpreter).  Each peer is (name, make_fn, predictions): make_fn(t)
returns a function of a batch of rows predicting on t threads, predictions
are its probabilities for the check rows, compared with forest's before any
timing.  Pinned in bench/requirements-peers.txt (bench/run.sh's venv).
"""
import os

import numpy as np


def onedal(booster, check):
    import daal4py as d4p

    model = d4p.mb.convert_model(booster)

    def make(t):
        d4p.daalinit(t)
        return lambda rows: model.predict_proba(rows)

    return "oneDAL", make, model.predict_proba(check)[:, 1]


def onnx_runtime(booster, check, kind):
    import onnxmltools
    import onnxruntime as ort
    from onnxmltools.convert.common.data_types import FloatTensorType

    types = [("input", FloatTensorType([None, check.shape[1]]))]
    if kind == "xgb":
        onx = onnxmltools.convert_xgboost(booster, initial_types=types)
    else:
        onx = onnxmltools.convert_lightgbm(booster, initial_types=types,
                                           zipmap=False)
    blob = onx.SerializeToString()

    def session(t):
        so = ort.SessionOptions()
        so.intra_op_num_threads = t
        so.inter_op_num_threads = 1
        # onnxmltools declares the LightGBM label output as shape [1]: ORT
        # warns of it on every run (a line a call), the values are right
        so.log_severity_level = 3
        return ort.InferenceSession(blob, so,
                                    providers=["CPUExecutionProvider"])

    def make(t):
        s = session(t)
        return lambda rows: s.run(None, {"input": rows})

    probs = session(1).run(None, {"input": check})[1]
    return "ONNX RT", make, np.asarray(probs)[:, 1]


def treelite_model(booster, kind):
    import treelite

    if kind == "xgb":
        return treelite.frontend.from_xgboost(booster)
    return treelite.frontend.from_lightgbm(booster)


def tl2cgen_lib(model, check, libpath):
    import tl2cgen

    if not os.path.isfile(libpath):
        tl2cgen.export_lib(model, toolchain="gcc", libpath=libpath,
                           params={"parallel_comp": 32}, nthread=2)

    def make(t):
        p = tl2cgen.Predictor(libpath, nthread=t)
        return lambda rows: p.predict(tl2cgen.DMatrix(rows))

    return ("tl2cgen", make,
            np.asarray(make(1)(check)).reshape(len(check), -1)[:, -1])


def gtil(model, check):
    import treelite

    def make(t):
        return lambda rows: treelite.gtil.predict(model, rows, nthread=t)

    return ("GTIL", make,
            np.asarray(make(1)(check)).reshape(len(check), -1)[:, -1])


def all_peers(booster, kind, check, cache_dir):
    """The four peers for an XGBoost Booster (kind "xgb") or a LightGBM
    Booster ("lgb"); the tl2cgen library is cached in cache_dir."""
    tl = treelite_model(booster, kind)
    return [onedal(booster, check),
            onnx_runtime(booster, check, kind),
            tl2cgen_lib(tl, check, os.path.join(cache_dir,
                                                f"{kind}_bench.tl2cgen.so")),
            gtil(tl, check)]
