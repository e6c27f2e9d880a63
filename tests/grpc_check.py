"""Drives a running nginx + ngx_forest with the real tritonclient.grpc (its
defaults), as Triton users do, and compares every answer with the
libraries' own predictions (tests/reference/models).

usage: grpc_check.py HOST:PORT REF_DIR MODELS [--tls CERT]
       grpc_check.py HOST:PORT REF_DIR MODELS --load SECONDS CLIENTS
MODELS: comma-separated name=reference_model pairs as nginx serves them.
Prints one line per check and "N passed, N failed, 0 skipped" last (the
load mode prints one "load: ..." line of counts instead).
"""
import sys
import threading
import time

import grpc
import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.grpc import service_pb2
from tritonclient.utils import InferenceServerException

import client_common
from client_common import check, close, finish, read_csv, run

url, ref = sys.argv[1], sys.argv[2]
models = dict(kv.split("=") for kv in sys.argv[3].split(","))
opts = sys.argv[4:]
tls = opts[1] if opts[:1] == ["--tls"] else None
client_common.label = "tls " if tls else "h2c "


def rows(model, n=200):
    return read_csv(f"{ref}/{model}.input.csv")[:n]


def expected(model, n=200):
    e = read_csv(f"{ref}/{model}.expected.csv")[:n].astype(np.float64)
    # the module's binary classifiers answer [1-p, p] (predict_proba=on)
    return np.hstack([1 - e, e]) if e.shape[1] == 1 and "reg" not in model else e


def client():
    if tls:
        return grpcclient.InferenceServerClient(url, ssl=True, root_certificates=tls)
    return grpcclient.InferenceServerClient(url)


def request(x, dtype="FP32", outputs=None):
    """infer()'s keyword arguments for input__0 = x"""
    inp = grpcclient.InferInput("input__0", list(x.shape), dtype)
    inp.set_data_from_numpy(x)
    return {"inputs": [inp], "outputs": outputs}


def load(seconds, n_clients):
    """Each client (its own channel: its own HTTP/2 connection) calls in a
    loop; counts answers, wrong answers and failures by status code."""
    x, want = rows("xgb_binary", 4), expected("xgb_binary", 4)
    counts = {"ok": 0, "wrong": 0}
    lock = threading.Lock()
    stop = time.time() + seconds

    def worker():
        c = client()
        req = request(x)
        while time.time() < stop:
            try:
                got = c.infer("fraud", **req).as_numpy("output__0")
                key = "ok" if close(got, want) else "wrong"
            except InferenceServerException as e:
                key = str(e.status())
            with lock:
                counts[key] = counts.get(key, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("load: " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))


if opts[:1] == ["--load"]:
    load(float(opts[1]), int(opts[2]))
    sys.exit(0)

c = client()


def health():
    check("server live", c.is_server_live())
    check("server ready", c.is_server_ready())
    check("model ready", c.is_model_ready("fraud"))
    check("model ready, version 1", c.is_model_ready("fraud", "1"))
    check("unknown model not ready", not c.is_model_ready("nosuch"))


def metadata():
    md = c.get_server_metadata()
    check("server metadata", md.name == "ngx_forest"
          and "classification" in md.extensions, md)
    md = c.get_model_metadata("fraud")
    check("model metadata", md.name == "fraud" and list(md.versions) == ["1"]
          and md.inputs[0].name == "input__0" and md.inputs[0].datatype == "FP32"
          and list(md.inputs[0].shape) == [-1, 20]
          and md.outputs[0].name == "output__0"
          and list(md.outputs[0].shape) == [-1, 2], md)
    cfg = c.get_model_config("fraud").config
    check("model config", cfg.name == "fraud" and cfg.input[0].name == "input__0"
          and list(cfg.input[0].dims) == [20] and list(cfg.output[0].dims) == [2]
          and cfg.parameters["objective"].string_value == "binary:logistic", cfg)
    idx = c.get_model_repository_index()
    check("repository index", sorted(m.name for m in idx.models) == sorted([*models, *STRCAT])
          and all(m.state == "READY" for m in idx.models), idx)


def every_model():
    for name, model in models.items():
        x = rows(model)
        res = c.infer(name, **request(x), request_id=f"id-{name}")
        got = res.as_numpy("output__0")
        check(f"infer {name} ({model}, 200 rows FP32 with NaN)",
              close(got, expected(model)), None if got is None else got[:2])
        check(f"infer {name} echoes the id", res.get_response().id == f"id-{name}")


def dtypes():
    x = rows("lgb_multiclass", 50)
    got = c.infer("iris", **request(x.astype(np.float64), "FP64")).as_numpy("output__0")
    check("infer FP64 input", close(got, expected("lgb_multiclass", 50)))
    xi = np.nan_to_num(np.round(rows("xgb_binary", 40)), nan=0.0)
    via_f32 = c.infer("fraud", **request(xi.astype(np.float32))).as_numpy("output__0")
    via_i64 = c.infer("fraud", **request(xi.astype(np.int64), "INT64")).as_numpy("output__0")
    via_i32 = c.infer("fraud", **request(xi.astype(np.int32), "INT32")).as_numpy("output__0")
    check("infer INT64 input equals the same values as FP32",
          via_f32 is not None and np.array_equal(via_f32, via_i64))
    check("infer INT32 input equals the same values as FP32",
          via_f32 is not None and np.array_equal(via_f32, via_i32))


def outputs():
    x = rows("xgb_binary", 16)
    out = [grpcclient.InferRequestedOutput("output__0")]
    got = c.infer("fraud", **request(x, outputs=out)).as_numpy("output__0")
    check("requested output output__0", close(got, expected("xgb_binary", 16)))
    x = rows("lgb_multiclass", 5)
    out = [grpcclient.InferRequestedOutput("output__0", class_count=2)]
    got = c.infer("iris", **request(x, outputs=out)).as_numpy("output__0")
    want = expected("lgb_multiclass", 5)
    ok = got is not None and got.shape == (5, 2)
    for r in range(5 if ok else 0):
        order = np.argsort(-want[r])
        for j in range(2):
            value, index = got[r][j].decode().split(":")[:2]
            ok = ok and int(index) == order[j] and abs(float(value) - want[r][order[j]]) < 1e-5
    check("classification (class_count=2)", ok, got)


def concurrent():
    x, want = rows("xgb_binary"), expected("xgb_binary")
    results, done = {}, threading.Event()

    def callback(i):
        def cb(result, error):
            results[i] = error if error else result.as_numpy("output__0")
            if len(results) == 64:
                done.set()
        return cb

    for i in range(64):
        c.async_infer("fraud", **request(x[i:i + 3]), callback=callback(i))
    done.wait(30)
    check("64 async_infer calls in flight",
          len(results) == 64 and all(close(results[i], want[i:i + 3]) for i in range(64)))

    bad = []

    def caller(t):
        cc = client()
        for k in range(10):
            i = (t * 10 + k) % 190
            got = cc.infer("fraud", **request(x[i:i + 10])).as_numpy("output__0")
            if not close(got, want[i:i + 10]):
                bad.append(i)

    threads = [threading.Thread(target=caller, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check("8 clients x 10 calls at once", not bad, bad)


def statistics():
    st = c.get_inference_statistics("fraud")
    ms = st.model_stats[0]
    check("inference statistics", ms.name == "fraud" and ms.inference_count >= 200
          and ms.inference_stats.success.count > 0, ms)
    check("statistics of every model",
          len(c.get_inference_statistics().model_stats) == len(models) + len(STRCAT))


def raises(name, code, fn):
    try:
        fn()
        check(name, False, "no exception")
    except InferenceServerException as e:
        check(name, e.status() == f"StatusCode.{code}", f"{e.status()} {e.message()}")


def errors():
    x = rows("xgb_binary", 2)
    raises("unknown model: NOT_FOUND", "NOT_FOUND",
           lambda: c.infer("nosuch", **request(x)))
    raises("unknown version: NOT_FOUND", "NOT_FOUND",
           lambda: c.infer("fraud", **request(x), model_version="7"))
    raises("metadata of unknown model: NOT_FOUND", "NOT_FOUND",
           lambda: c.get_model_metadata("nosuch"))
    raises("wrong feature count: INVALID_ARGUMENT", "INVALID_ARGUMENT",
           lambda: c.infer("reg", **request(x)))
    raises("BYTES input: INVALID_ARGUMENT", "INVALID_ARGUMENT",
           lambda: c.infer("fraud", **request(np.array([[b"a"] * 20], dtype=np.object_), "BYTES")))
    raises("over forest_max_rows: RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED",
           lambda: c.infer("fraud", **request(np.zeros((300, 20), np.float32))))
    raises("load_model: UNIMPLEMENTED", "UNIMPLEMENTED", lambda: c.load_model("fraud"))
    raises("shared memory status: UNIMPLEMENTED", "UNIMPLEMENTED",
           lambda: c.get_system_shared_memory_status())
    # ModelStreamInfer: the stream ends with UNIMPLEMENTED, no hang
    errs = []
    c.start_stream(callback=lambda result, error: errs.append(error))
    try:
        c.async_stream_infer("fraud", **request(x))
    except InferenceServerException:
        pass  # the stream has already ended, its error given to the callback
    for _ in range(100):
        if errs:
            break
        time.sleep(0.05)
    c.stop_stream()
    check("ModelStreamInfer: UNIMPLEMENTED", errs and errs[0] is not None
          and "UNIMPLEMENTED" in str(errs[0].status()), errs)


# models trained on DataFrames with string categories (tests/models), served
# under their own names beside MODELS
STRCAT = ("xgb3_strcat", "lgb4_strcat")
rounds = f"{ref}/../rounds"
strcat = f"{ref}/../../models"


def infer_call(channel_url):
    """ModelInfer with messages built here (typed contents, which
    tritonclient never sends): (request message) -> response or status"""
    ch = grpc.secure_channel(channel_url, grpc.ssl_channel_credentials(open(tls, "rb").read())) \
        if tls else grpc.insecure_channel(channel_url)
    return ch.unary_unary("/inference.GRPCInferenceService/ModelInfer",
                          request_serializer=lambda m: m.SerializeToString(),
                          response_deserializer=service_pb2.ModelInferResponse.FromString)


def output_of(resp):
    shape = list(resp.outputs[0].shape)
    return np.frombuffer(resp.raw_output_contents[0], "<f4").reshape(shape).astype(np.float64)


def base_margin():
    """base_margin as a second input, raw (tritonclient's way) and as typed
    contents: XGBoost's predict with a DMatrix base_margin
    (tests/reference/rounds)"""
    call = infer_call(url)
    for model, name, dtype, shape in [("xgb_binary", "fraud", "FP64", "[N]"),
                                      ("xgb_multiclass", "xmc", "FP64", "[N, C]"),
                                      ("xgb_reg", "reg", "FP32", "[N, 1]")]:
        x = read_csv(f"{rounds}/{model}.input.csv")
        bm = read_csv(f"{rounds}/{model}.base_margin.csv").astype(
            np.float64 if dtype == "FP64" else np.float32)
        if shape == "[N]":
            bm = bm[:, 0]
        want = read_csv(f"{rounds}/{model}.bm.expected.csv").astype(np.float64)
        if model == "xgb_binary":
            want = np.hstack([1 - want, want])
        b = grpcclient.InferInput("base_margin", list(bm.shape), dtype)
        b.set_data_from_numpy(bm)
        req = request(x)
        got = c.infer(name, inputs=[b] + req["inputs"]).as_numpy("output__0")
        check(f"base_margin {shape} {dtype} raw ({model}) = XGBoost's",
              close(got, want), None if got is None else got[:2])
        m = service_pb2.ModelInferRequest(model_name=name)
        t = m.inputs.add(name="input__0", datatype="FP32", shape=list(x.shape))
        t.contents.fp32_contents.extend(x.ravel().tolist())
        t = m.inputs.add(name="base_margin", datatype=dtype, shape=list(bm.shape))
        (t.contents.fp64_contents if dtype == "FP64" else t.contents.fp32_contents
         ).extend(bm.ravel().tolist())
        check(f"base_margin {shape} {dtype} typed contents ({model})",
              close(output_of(call(m, timeout=10)), want))


def category_bytes():
    """BYTES input__0 of category names and numbers as text, raw (Triton's
    4-byte lengths) and as bytes_contents: the libraries' DataFrame answers"""
    import json
    call = infer_call(url)
    for model in STRCAT:
        objs = json.load(open(f"{strcat}/categories/{model}.rows.json"))
        # a missing value is the empty string (binary BYTES has no null)
        x = np.array([["" if o[k] is None else str(o[k])
                       for k in ("x0", "color", "x1", "size")] for o in objs],
                     dtype=np.object_)
        p = read_csv(f"{strcat}/{model}.expected.csv").astype(np.float64)
        want = np.hstack([1 - p, p])
        got = c.infer(model, **request(x, "BYTES")).as_numpy("output__0")
        check(f"BYTES raw of names ({model}) = the library's", close(got, want),
              None if got is None else got[:2])
        m = service_pb2.ModelInferRequest(model_name=model)
        t = m.inputs.add(name="input__0", datatype="BYTES", shape=list(x.shape))
        t.contents.bytes_contents.extend(v.encode() for v in x.ravel())
        check(f"BYTES bytes_contents of names ({model})",
              close(output_of(call(m, timeout=10)), want))


def bad_inputs():
    """malformed base_margin and BYTES inputs: INVALID_ARGUMENT naming it"""
    call = infer_call(url)
    x = rows("xgb_binary", 2)

    def msg(model, inputs, raw=None):
        m = service_pb2.ModelInferRequest(model_name=model)
        for name, dtype, shape, field, vals in inputs:
            t = m.inputs.add(name=name, datatype=dtype, shape=shape)
            if field:
                getattr(t.contents, field).extend(vals)
        m.raw_input_contents.extend(raw or [])
        return m

    def status(m):
        try:
            call(m, timeout=10)
            return "OK", ""
        except grpc.RpcError as e:
            return e.code().name, e.details()

    x20 = x.ravel().tolist()
    blen = lambda *s: b"".join(len(v).to_bytes(4, "little") + v for v in s)
    for name, m, text in [
        ("base_margin of 3 rows for 2", msg("fraud", [
            ("input__0", "FP32", [2, 20], "fp32_contents", x20),
            ("base_margin", "FP32", [3], "fp32_contents", [0, 0, 0])]),
         "base_margin shape has 3 rows; input__0 has 2"),
        ("base_margin [N] for 4 classes", msg("xmc", [
            ("input__0", "FP32", [1, 12], "fp32_contents", [0] * 12),
            ("base_margin", "FP32", [1], "fp32_contents", [0])]),
         "base_margin shape must be [1, 4]"),
        ("base_margin INT32", msg("fraud", [
            ("input__0", "FP32", [2, 20], "fp32_contents", x20),
            ("base_margin", "INT32", [2], "int_contents", [0, 0])]),
         "base_margin datatype must be FP32 or FP64"),
        ("base_margin FP64 sent as fp32_contents", msg("fraud", [
            ("input__0", "FP32", [2, 20], "fp32_contents", x20),
            ("base_margin", "FP64", [2], "fp32_contents", [0, 0])]),
         "base_margin is FP64 but its contents hold fp32_contents"),
        ("base_margin raw of the wrong size", msg("fraud", [
            ("input__0", "FP32", [2, 20], None, None),
            ("base_margin", "FP32", [2], None, None)], [x.tobytes(), b"\0" * 4]),
         "base_margin raw_input_contents holds 4 bytes but shape [2] of FP32 takes 8"),
        ("one raw_input_contents for two inputs", msg("fraud", [
            ("input__0", "FP32", [2, 20], None, None),
            ("base_margin", "FP32", [2], None, None)], [x.tobytes()]),
         "the request has 1 raw_input_contents for 2 inputs"),
        ("input__0 twice", msg("fraud", [
            ("input__0", "FP32", [2, 20], "fp32_contents", x20),
            ("input__0", "FP32", [2, 20], "fp32_contents", x20)]),
         "the request gives input__0 twice"),
        ("BYTES length past the end", msg("xgb3_strcat", [
            ("input__0", "BYTES", [1, 4], None, None)],
            [blen(b"1", b"red", b"2") + b"\x09\0\0\0S"]),
         "string 3 is 9 bytes long, past the end"),
        ("BYTES length cut short", msg("xgb3_strcat", [
            ("input__0", "BYTES", [1, 4], None, None)],
            [blen(b"1", b"red", b"2", b"S") + b"\1\0"]),
         "string 4 has no room for its 4-byte length"),
        ("BYTES with too few strings", msg("xgb3_strcat", [
            ("input__0", "BYTES", [1, 4], "bytes_contents", [b"1", b"red", b"2"])]),
         "input__0 shape [1,4] has 4 values, got 3"),
        ("BYTES name the model never saw", msg("xgb3_strcat", [
            ("input__0", "BYTES", [1, 4], "bytes_contents", [b"1", b"purple", b"2", b"S"])]),
         "\"purple\" is not one of the model's categories"),
        ("BYTES text that is no number", msg("xgb3_strcat", [
            ("input__0", "BYTES", [1, 4], "bytes_contents", [b"one", b"red", b"2", b"S"])]),
         "the string is not a number"),
    ]:
        code, details = status(m)
        check(f"bad input, {name}: INVALID_ARGUMENT", code == "INVALID_ARGUMENT"
              and text in details, f"{code} {details}")


shap = f"{ref}/../shap"


def shap_ref(model, kind, n, groups=1):
    """XGBoost's / LightGBM's pred_contribs ([N, F+1] or [N, C, F+1]) or
    pred_leaf of the first n rows (tests/reference/shap)"""
    want = read_csv(f"{shap}/{model}.{kind}.csv")[:n].astype(np.float64)
    return want.reshape(n, groups, -1) if groups > 1 else want


def near(got, want):
    """issue 13's tolerance: 1e-5 absolute + 1e-5 relative, per value"""
    return got is not None and got.shape == want.shape and bool(
        np.all(np.abs(got.astype(np.float64) - want) <= 1e-5 + 1e-5 * np.abs(want)))


def explain():
    """treeshap_output and leaf_index asked for by name, several at once:
    answered in the request's order, each as raw_output_contents, equal to
    the libraries' pred_contribs and pred_leaf"""
    x = read_csv(f"{shap}/xgb_binary.input.csv")[:8]
    names = ["leaf_index", "output__0", "treeshap_output"]
    res = c.infer("fraud", **request(x, outputs=[
        grpcclient.InferRequestedOutput(n) for n in names]))
    resp = res.get_response()
    check("three outputs in the request's order",
          [o.name for o in resp.outputs] == names
          and [o.datatype for o in resp.outputs] == ["INT32", "FP32", "FP32"]
          and len(resp.raw_output_contents) == 3, resp.outputs)
    check("treeshap_output [N, F+1] = XGBoost pred_contribs (xgb_binary)",
          near(res.as_numpy("treeshap_output"), shap_ref("xgb_binary", "contribs", 8)))
    got = res.as_numpy("leaf_index")
    check("leaf_index INT32 [N, T] = XGBoost pred_leaf (xgb_binary)",
          got is not None and got.dtype == np.int32
          and np.array_equal(got, shap_ref("xgb_binary", "leaf", 8)), got)
    check("output__0 beside them", close(res.as_numpy("output__0"), expected("xgb_binary", 8)))
    for name, model, groups in [("xmc", "xgb_multiclass", 4), ("iris", "lgb_multiclass", 3),
                                ("lbin", "lgb_binary", 1)]:
        x = read_csv(f"{shap}/{model}.input.csv")[:6]
        res = c.infer(name, **request(x, outputs=[
            grpcclient.InferRequestedOutput("treeshap_output")]))
        check(f"treeshap_output alone ({model}): only it, {'[N, C, F+1]' if groups > 1 else '[N, F+1]'}",
              [o.name for o in res.get_response().outputs] == ["treeshap_output"]
              and near(res.as_numpy("treeshap_output"), shap_ref(model, "contribs", 6, groups)),
              res.as_numpy("treeshap_output"))
    x = read_csv(f"{shap}/xgb_multiclass.input.csv")[:3]
    res = c.infer("xmc", **request(x, outputs=[
        grpcclient.InferRequestedOutput("treeshap_interactions")]))
    got = res.as_numpy("treeshap_interactions")
    check("treeshap_interactions [N, C, F+1, F+1] = XGBoost pred_interactions (xgb_multiclass)",
          near(got, shap_ref("xgb_multiclass", "interactions", 3).reshape(3, 4, 13, 13)), got)
    x = read_csv(f"{shap}/lgb_multiclass.input.csv")[:4]
    res = c.infer("iris", **request(x, outputs=[
        grpcclient.InferRequestedOutput("leaf_index"),
        grpcclient.InferRequestedOutput("output__0", class_count=1)]))
    got = res.as_numpy("output__0")
    top = np.argmax(expected("lgb_multiclass", 4), axis=1)
    check("leaf_index = LightGBM pred_leaf, with classification on output__0",
          np.array_equal(res.as_numpy("leaf_index"), shap_ref("lgb_multiclass", "leaf", 4))
          and got is not None and got.shape == (4, 1)
          and [int(v[0].decode().split(":")[1]) for v in got] == list(top), got)


def options():
    """InferParameter options on the request (tritonclient's parameters=)
    and on input__0: HTTP's predict_proba and output_margin/raw_score"""
    x = rows("xgb_binary", 16)
    got = c.infer("fraud", **request(x), parameters={"predict_proba": False}).as_numpy("output__0")
    check("parameters predict_proba=false: class ids",
          close(got, (read_csv(f"{ref}/xgb_binary.expected.csv")[:16] > 0.5).astype(np.float64)), got)
    margin = read_csv(f"{ref}/xgb_binary.margin.csv")[:16].astype(np.float64)
    got = c.infer("fraud", **request(x), parameters={"output_margin": True}).as_numpy("output__0")
    check("parameters output_margin=true: margins", close(got, margin), got)
    got = c.infer("lbin", **request(rows("lgb_binary", 16)), parameters={"raw_score": True}
                  ).as_numpy("output__0")
    check("parameters raw_score=true: LightGBM raw scores",
          close(got, read_csv(f"{ref}/lgb_binary.margin.csv")[:16].astype(np.float64)), got)
    call = infer_call(url)
    m = service_pb2.ModelInferRequest(model_name="fraud")
    t = m.inputs.add(name="input__0", datatype="FP32", shape=list(x.shape))
    t.contents.fp32_contents.extend(x.ravel().tolist())
    t.parameters["output_margin"].bool_param = True
    check("input__0 parameter output_margin=true: margins",
          close(output_of(call(m, timeout=10)), margin))


def bad_options():
    """hostile parameters and outputs: INVALID_ARGUMENT naming the fault"""
    x = rows("xgb_binary", 2)

    def details(**kw):
        try:
            c.infer("fraud", **request(x, outputs=kw.pop("outputs", None)), **kw)
            return "OK no exception"
        except InferenceServerException as e:
            return f"{e.status()} {e.message()}"

    for name, kw, text in [
        ("predict_proba as int64_param", {"parameters": {"predict_proba": 1}},
         'parameter "predict_proba" is an int64_param; it must be a bool_param'),
        ("output_margin as string_param", {"parameters": {"output_margin": "true"}},
         'parameter "output_margin" is a string_param; it must be a bool_param'),
        ("raw_score as double_param", {"parameters": {"raw_score": 1.0}},
         'parameter "output_margin" is a double_param'),
        ("unknown output", {"outputs": [grpcclient.InferRequestedOutput("shap")]},
         'unknown output "shap": model fraud answers output__0, treeshap_output, leaf_index, '
         'treeshap_interactions'),
        ("classification on treeshap_output", {"outputs": [
            grpcclient.InferRequestedOutput("treeshap_output", class_count=2)]},
         'parameter "classification" applies to output__0 only'),
    ]:
        got = details(**kw)
        check(f"bad option, {name}: INVALID_ARGUMENT",
              got.startswith("StatusCode.INVALID_ARGUMENT") and text in got, got)


def raw_messages():
    """Protobuf the client library would never send, through grpcio with
    the bytes as they are (the framing is grpcio's own)."""
    ch = grpc.secure_channel(url, grpc.ssl_channel_credentials(open(tls, "rb").read())) \
        if tls else grpc.insecure_channel(url)
    call = ch.unary_unary("/inference.GRPCInferenceService/ModelInfer",
                          request_serializer=lambda b: b,
                          response_deserializer=lambda b: b)
    req = service_pb2.ModelInferRequest(model_name="fraud")
    req.inputs.add(name="input__0", datatype="FP32", shape=[1, 20])
    req.raw_input_contents.append(rows("xgb_binary", 1).tobytes())
    good = req.SerializeToString()

    def status(body):
        try:
            call(body, timeout=10)
            return "OK"
        except grpc.RpcError as e:
            return e.code().name

    unknown = b"\xf8\x07\x2a" + b"\xfa\x07\x03abc" + b"\x85\x08\x00\x00\x00\x00"
    check("unknown fields are skipped", status(unknown + good + unknown) == "OK")
    for name, body, want in [
        ("model_name as a varint", b"\x08\x01" + good, "INVALID_ARGUMENT"),
        ("a length past the end", good + b"\x3a\x10abc", "INVALID_ARGUMENT"),
        ("a truncated varint", good + b"\x3a\xff", "INVALID_ARGUMENT"),
        ("a group wire type", good + b"\x0b", "INVALID_ARGUMENT"),
        ("field number 0", b"\x02\x00" + good, "INVALID_ARGUMENT"),
        ("inputs as a varint", good + b"\x28\x01", "INVALID_ARGUMENT"),
        ("raw contents of the wrong size", good + b"\x3a\x03abc", "INVALID_ARGUMENT"),
        ("an empty message", b"", "NOT_FOUND"),
        ("oversize message", good + b"\xfa\x07\x80\x80\x80\x01" + b"\0" * (2 << 20),
         "RESOURCE_EXHAUSTED"),
    ]:
        got = status(body)
        check(f"hostile protobuf, {name}: {want}", got == want, got)
    check("server live after the hostile messages", c.is_server_live())


for name, fn in [("health", health), ("metadata", metadata),
                 ("every model", every_model), ("dtypes", dtypes),
                 ("outputs", outputs), ("concurrent", concurrent),
                 ("statistics", statistics), ("errors", errors),
                 ("raw messages", raw_messages), ("base_margin", base_margin),
                 ("category bytes", category_bytes), ("bad inputs", bad_inputs)]:
    run(name, fn)
# outputs and options are the codec's, whatever the transport: h2c only
for name, fn in [] if tls else [("explain", explain), ("options", options),
                                ("bad options", bad_options)]:
    run(name, fn)

finish()
