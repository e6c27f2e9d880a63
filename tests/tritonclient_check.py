"""Drives a running nginx + ngx_forest with the real tritonclient.http, as
Triton users do, and compares with the libraries' own predictions.

usage: tritonclient_check.py HOST:PORT SHARED_MODELS_DIR
Prints one line per check and "N passed, N failed, 0 skipped" last.
"""
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from client_common import check, close, finish, read_csv, run

url, models = sys.argv[1], sys.argv[2]


def rows(model, n):
    return read_csv(f"{models}/{model}.input.csv")[:n]


def expected(model, n, binary_proba=False):
    e = read_csv(f"{models}/{model}.expected.csv")[:n].astype(np.float64)
    return np.hstack([1 - e, e]) if binary_proba else e


client = httpclient.InferenceServerClient(url=url)

run("server live", lambda: check("server live", client.is_server_live()))
run("server ready", lambda: check("server ready", client.is_server_ready()))
run("model ready", lambda: check("model ready", client.is_model_ready("fraud")))
run("model ready, version", lambda: check(
    "model ready, version 1", client.is_model_ready("fraud", "1")))
run("unknown model not ready", lambda: check(
    "unknown model not ready", not client.is_model_ready("nosuch")))


def server_metadata():
    md = client.get_server_metadata()
    check("server metadata", "name" in md and "binary_tensor_data" in md.get("extensions", []), md)


def model_metadata():
    md = client.get_model_metadata("fraud")
    ok = (md["name"] == "fraud"
          and md["inputs"][0]["name"] == "input__0"
          and md["inputs"][0]["datatype"] == "FP32"
          and md["inputs"][0]["shape"] == [-1, 20]
          and md["outputs"][0]["name"] == "output__0"
          and md["outputs"][0]["shape"] == [-1, 2])
    check("model metadata", ok, md)


def model_config():
    cfg = client.get_model_config("fraud")
    check("model config", cfg.get("name") == "fraud"
          and cfg["input"][0]["name"] == "input__0", cfg)


def infer(model, x, binary_in, out_binary=None, class_count=0):
    inp = httpclient.InferInput("input__0", list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=binary_in)
    outputs = None
    if out_binary is not None or class_count:
        outputs = [httpclient.InferRequestedOutput(
            "output__0", binary_data=bool(out_binary), class_count=class_count)]
    return client.infer(model, [inp], outputs=outputs, request_id="tc-1")


def infer_defaults():
    x = rows("xgb_binary", 64)
    res = infer("fraud", x, True)
    got = res.as_numpy("output__0")
    check("infer, binary input, client defaults", close(got, expected("xgb_binary", 64, True)),
          None if got is None else got[:2])
    check("infer echoes the request id", res.get_response().get("id") == "tc-1",
          res.get_response())


# tritonclient writes NaN into JSON as a bare NaN token, which is not JSON
# (the module asks for null): JSON-mode checks use rows without missing values.
def complete_rows(model, n):
    x = rows(model, 200)
    keep = np.flatnonzero(~np.isnan(x).any(axis=1))[:n]
    return x[keep], keep


def infer_json():
    x, keep = complete_rows("xgb_binary", 32)
    res = infer("fraud", x, False, out_binary=False)
    got = res.as_numpy("output__0")
    check("infer, JSON input and output", close(got, expected("xgb_binary", 200, True)[keep]),
          None if got is None else got[:2])


def infer_json_in_binary_out():
    x, keep = complete_rows("xgb_binary", 16)
    res = infer("fraud", x, False, out_binary=True)
    got = res.as_numpy("output__0")
    check("infer, JSON input, binary output", close(got, expected("xgb_binary", 200, True)[keep]))


def infer_multiclass():
    x = rows("lgb_multiclass", 50)
    got = infer("iris", x, True).as_numpy("output__0")
    check("infer multiclass (LightGBM)", close(got, expected("lgb_multiclass", 50)))


def infer_regression():
    x = rows("xgb_reg", 50)
    got = infer("reg", x, True).as_numpy("output__0")
    check("infer regression", close(got, expected("xgb_reg", 50)))


def classification():
    x = rows("lgb_multiclass", 5)
    got = infer("iris", x, True, out_binary=False, class_count=2).as_numpy("output__0")
    want = expected("lgb_multiclass", 5)
    ok = got is not None and got.shape == (5, 2)
    for r in range(5 if ok else 0):
        order = np.argsort(-want[r])
        for j in range(2):
            s = got[r][j].decode() if isinstance(got[r][j], bytes) else str(got[r][j])
            value, index = s.split(":")[:2]
            ok = ok and int(index) == order[j] and abs(float(value) - want[r][order[j]]) < 1e-5
    check("classification extension (class_count=2)", ok, got)


def statistics():
    st = client.get_inference_statistics("fraud")
    ms = st["model_stats"][0]
    check("inference statistics", ms["name"] == "fraud" and int(ms["inference_count"]) >= 64, ms)


def unknown_model():
    try:
        infer("nosuch", rows("xgb_binary", 1), True)
        check("unknown model raises", False, "no exception")
    except InferenceServerException as e:
        check("unknown model raises", "nosuch" in str(e), str(e))


def wrong_features():
    try:
        infer("fraud", rows("xgb_reg", 2), True)
        check("wrong feature count raises", False, "no exception")
    except InferenceServerException as e:
        check("wrong feature count raises", "20" in str(e), str(e))


def request_options():
    """per-request parameters, as tritonclient sends them: the model's
    predict_proba=on turned off (class ids), and output_margin"""
    x = rows("xgb_binary", 16)
    inp = httpclient.InferInput("input__0", list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=True)
    got = client.infer("fraud", [inp], parameters={"predict_proba": False}
                       ).as_numpy("output__0")
    want = (expected("xgb_binary", 16) > 0.5).astype(np.float64)
    check("parameters predict_proba=false: class ids", close(got, want), got)
    got = client.infer("fraud", [inp], parameters={"output_margin": True}
                       ).as_numpy("output__0")
    want = read_csv(f"{models}/xgb_binary.margin.csv")[:16].astype(np.float64)
    check("parameters output_margin=true: margins", close(got, want), got)


def treeshap_output():
    """treeshap_output and leaf_index asked for by name, binary, beside
    output__0: XGBoost's pred_contribs and pred_leaf"""
    shap = f"{models}/../shap"
    x = rows("xgb_binary", 8)
    inp = httpclient.InferInput("input__0", list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=True)
    res = client.infer("fraud", [inp], outputs=[
        httpclient.InferRequestedOutput("output__0", binary_data=True),
        httpclient.InferRequestedOutput("treeshap_output", binary_data=True),
        httpclient.InferRequestedOutput("leaf_index", binary_data=True)])
    got = res.as_numpy("treeshap_output")
    want = read_csv(f"{shap}/xgb_binary.contribs.csv")[:8].astype(np.float64)
    check("treeshap_output [N, F+1] = pred_contribs", got is not None
          and got.shape == (8, 21) and bool(np.all(
              np.abs(got - want) <= 1e-5 + 1e-5 * np.abs(want))), got)
    got = res.as_numpy("leaf_index")
    want = read_csv(f"{shap}/xgb_binary.leaf.csv")[:8]
    check("leaf_index [N, T] = pred_leaf", got is not None
          and got.dtype == np.int32 and np.array_equal(got, want), got)
    check("output__0 beside them", close(res.as_numpy("output__0"),
                                         expected("xgb_binary", 8, True)))


rounds = f"{models}/../rounds"
strcat = f"{models}/../../models"


def base_margin():
    """base_margin as a second binary input (FP64 [N] and [N, C], FP32
    [N, 1]): XGBoost's predict with a DMatrix base_margin
    (tests/reference/rounds)"""
    for model, served, dtype, shape, want_proba in [
            ("xgb_binary", "fraud", np.float64, "[N]", True),
            ("xgb_multiclass", "xmc", np.float64, "[N, C]", False),
            ("xgb_reg", "reg", np.float32, "[N, 1]", False)]:
        x = read_csv(f"{rounds}/{model}.input.csv")
        bm = read_csv(f"{rounds}/{model}.base_margin.csv").astype(dtype)
        if shape == "[N]":
            bm = bm[:, 0]
        inp = httpclient.InferInput("input__0", list(x.shape), "FP32")
        inp.set_data_from_numpy(x, binary_data=True)
        b = httpclient.InferInput("base_margin", list(bm.shape),
                                  "FP64" if dtype == np.float64 else "FP32")
        b.set_data_from_numpy(bm, binary_data=True)
        got = client.infer(served, [inp, b]).as_numpy("output__0")
        want = read_csv(f"{rounds}/{model}.bm.expected.csv").astype(np.float64)
        if want_proba:
            want = np.hstack([1 - want, want])
        check(f"base_margin {shape} {bm.dtype} binary ({model}) = XGBoost's",
              close(got, want), None if got is None else got[:2])
        # the inputs in the other order, margins asked for
        got = client.infer(served, [b, inp], parameters={"output_margin": True}
                           ).as_numpy("output__0")
        want = read_csv(f"{rounds}/{model}.bm.margin.csv").astype(np.float64)
        check(f"base_margin before input__0, output_margin ({model})",
              close(got, want), None if got is None else got[:2])


def category_bytes():
    """a BYTES tensor of category names and numbers as text, binary: the
    libraries' answers on the same rows as a DataFrame"""
    import json
    for model in ("xgb3_strcat", "lgb4_strcat"):
        objs = json.load(open(f"{strcat}/categories/{model}.rows.json"))
        # a missing value is the empty string (binary BYTES has no null)
        x = np.array([["" if o[k] is None else str(o[k])
                       for k in ("x0", "color", "x1", "size")] for o in objs],
                     dtype=np.object_)
        inp = httpclient.InferInput("input__0", list(x.shape), "BYTES")
        inp.set_data_from_numpy(x, binary_data=True)
        got = client.infer(model, [inp]).as_numpy("output__0")
        p = read_csv(f"{strcat}/{model}.expected.csv").astype(np.float64)
        check(f"BYTES binary tensor of names ({model}) = the library's",
              close(got, np.hstack([1 - p, p])), None if got is None else got[:2])


def binary_errors():
    x = rows("xgb_binary", 2)
    inp = httpclient.InferInput("input__0", list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=True)
    b = httpclient.InferInput("base_margin", [3], "FP32")
    b.set_data_from_numpy(np.zeros(3, np.float32), binary_data=True)
    try:
        client.infer("fraud", [inp, b])
        check("base_margin of 3 rows for 2: raises", False, "no exception")
    except InferenceServerException as e:
        check("base_margin of 3 rows for 2: raises",
              "base_margin shape has 3 rows; input__0 has 2" in str(e), str(e))


for name, fn in [("server metadata", server_metadata), ("model metadata", model_metadata),
                 ("model config", model_config), ("infer defaults", infer_defaults),
                 ("infer json", infer_json), ("infer json/binary", infer_json_in_binary_out),
                 ("infer multiclass", infer_multiclass), ("infer regression", infer_regression),
                 ("classification", classification), ("statistics", statistics),
                 ("unknown model", unknown_model), ("wrong features", wrong_features),
                 ("request options", request_options), ("treeshap_output", treeshap_output),
                 ("base_margin", base_margin), ("category bytes", category_bytes),
                 ("binary errors", binary_errors)]:
    run(name, fn)

finish()
