#!/usr/bin/env python3
"""Request payloads and the correctness check of bench/grpc_bench.sh.

  grpc_payloads.py make OUTDIR ROWS_F32
      writes grpc_{1,64}.bin (a framed inference.ModelInferRequest for model
      "bench", input__0 FP32 [N,32] in raw_input_contents, as tritonclient
      sends it) and v2bin_{1,64}.bin + .len (KServe v2 with Triton's binary
      tensor extension: the JSON header, its length in .len, then the rows),
      from the rows bench/http_payloads.py sends (the first 64 rows without
      missing values).
  grpc_payloads.py check GRPC_HOST:PORT HTTP_HOST:PORT OUTDIR
      sends grpc_64.bin's message as it is (grpcio) and v2bin_64.bin over
      HTTP, and exits 1 unless both answers hold OUTDIR/ref_64.json
      (XGBoost's own predictions) within 1e-5.
  grpc_payloads.py check-grpc NAME GRPC_HOST:PORT OUTDIR
      the gRPC half of check alone, for another server of the same
      inference.GRPCInferenceService (MLServer), its answers called NAME.
"""
import json
import os
import struct
import sys
import urllib.request

import numpy as np

N_FEATURES = 32


def make(outdir, rows_f32):
    from tritonclient.grpc import service_pb2
    x = np.fromfile(rows_f32, dtype=np.float32).reshape(-1, N_FEATURES)
    x = x[~np.isnan(x).any(axis=1)][:64]
    for n in (1, 64):
        req = service_pb2.ModelInferRequest(model_name="bench")
        req.inputs.add(name="input__0", datatype="FP32", shape=[n, N_FEATURES])
        req.raw_input_contents.append(x[:n].tobytes())
        msg = req.SerializeToString()
        with open(os.path.join(outdir, f"grpc_{n}.bin"), "wb") as f:
            f.write(struct.pack(">BI", 0, len(msg)) + msg)
        head = json.dumps({"inputs": [{
            "name": "input__0", "shape": [n, N_FEATURES], "datatype": "FP32",
            "parameters": {"binary_data_size": n * N_FEATURES * 4}}],
            "parameters": {"binary_data_output": True}}).encode()
        with open(os.path.join(outdir, f"v2bin_{n}.bin"), "wb") as f:
            f.write(head + x[:n].tobytes())
        with open(os.path.join(outdir, f"v2bin_{n}.len"), "w") as f:
            f.write(str(len(head)))


def grpc_answer(grpc_addr, outdir):
    """The predictions a server answers to grpc_64.bin's message."""
    import grpc
    from tritonclient.grpc import service_pb2
    with open(os.path.join(outdir, "grpc_64.bin"), "rb") as f:
        msg = f.read()[5:]
    call = grpc.insecure_channel(grpc_addr).unary_unary(
        "/inference.GRPCInferenceService/ModelInfer",
        request_serializer=lambda b: b, response_deserializer=lambda b: b)
    resp = service_pb2.ModelInferResponse.FromString(call(msg, timeout=10))
    dtype = {"FP32": "<f4", "FP64": "<f8"}[resp.outputs[0].datatype]
    return np.frombuffer(resp.raw_output_contents[0], dtype=dtype)


def compare(answers, outdir):
    """0 when every (name, predictions) pair holds ref_64.json within 1e-5."""
    with open(os.path.join(outdir, "ref_64.json")) as f:
        ref = np.array(json.load(f))
    rc = 0
    for name, got in answers:
        got = got.astype(np.float64).reshape(-1)
        if got.shape != ref.shape:
            print(f"{name}: {got.size} predictions, expected {ref.size}")
            rc = 1
            continue
        err = float(np.max(np.abs(got - ref)))
        print(f"{name}: max |diff| to XGBoost {err:.2e}")
        rc |= err > 1e-5
    return rc


def check(grpc_addr, http_addr, outdir):
    got_grpc = grpc_answer(grpc_addr, outdir)
    with open(os.path.join(outdir, "v2bin_64.bin"), "rb") as f:
        body = f.read()
    with open(os.path.join(outdir, "v2bin_64.len")) as f:
        head_len = f.read().strip()
    req = urllib.request.Request(f"http://{http_addr}/v2/models/bench/infer", data=body,
                                 headers={"Inference-Header-Content-Length": head_len})
    with urllib.request.urlopen(req, timeout=10) as r:
        answer = r.read()
        json_len = int(r.headers["Inference-Header-Content-Length"])
    got_http = np.frombuffer(answer[json_len:], dtype="<f4")
    return compare((("gRPC", got_grpc), ("HTTP binary", got_http)), outdir)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        make(*sys.argv[2:])
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "check":
        return check(*sys.argv[2:])
    if len(sys.argv) == 5 and sys.argv[1] == "check-grpc":
        name, addr, outdir = sys.argv[2:]
        return compare(((name, grpc_answer(addr, outdir)),), outdir)
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
