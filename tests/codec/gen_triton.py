"""Bodies built by the real tritonclient.http for the codec test, and the
check that tritonclient decodes the codec's answers.

  gen_triton.py gen DIR    writes <case>.body/.hlen/.expect
  gen_triton.py check DIR  decodes <case>.response; prints "N passed, N failed, 0 skipped"
"""
import os
import sys

import numpy as np
from tritonclient.http import InferInput, InferRequestedOutput, InferResult
from tritonclient.http._utils import _get_inference_request

# what the test driver answers for every case: a 3-class probability model
PROBA = np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1], [0.25, 0.25, 0.5]],
                 dtype=np.float32)


def rows(dtype, with_nan):
    x = (0.5 * np.arange(12)).reshape(3, 4).astype(dtype)
    if np.issubdtype(dtype, np.integer):
        x = np.arange(12, dtype=dtype).reshape(3, 4)
    if with_nan:
        x[1, 2] = np.nan
    return x


# name: (numpy dtype, Triton datatype, binary input, outputs, NaN in rows)
CASES = {
    "json": (np.float32, "FP32", False,
             [InferRequestedOutput("output__0", binary_data=False)], False),
    "binary": (np.float32, "FP32", True, None, True),
    "fp64_binary": (np.float64, "FP64", True,
                    [InferRequestedOutput("output__0")], True),
    "int32_json": (np.int32, "INT32", False,
                   [InferRequestedOutput("output__0", binary_data=False)],
                   False),
    "classify": (np.float32, "FP32", True,
                 [InferRequestedOutput("output__0", class_count=2)], True),
}


def gen(d):
    for name, (dt, triton_dt, binary, outputs, nan) in CASES.items():
        x = rows(dt, nan)
        inp = InferInput("input__0", list(x.shape), triton_dt)
        inp.set_data_from_numpy(x, binary_data=binary)
        body, json_len = _get_inference_request(
            [inp], "req-" + name, outputs, 0, False, False, 0, None, None)
        with open(os.path.join(d, name + ".body"), "wb") as f:
            f.write(body if isinstance(body, bytes) else body.encode())
        with open(os.path.join(d, name + ".hlen"), "w") as f:
            f.write(str(-1 if json_len is None else json_len))
        x.astype("<f4").tofile(os.path.join(d, name + ".expect"))


def check(d):
    passed = failed = 0
    for name in CASES:
        try:
            with open(os.path.join(d, name + ".response"), "rb") as f:
                json_len = int(f.readline())
                body = f.read()
            res = InferResult.from_response_body(
                body, header_length=None if json_len < 0 else json_len)
            out = res.as_numpy("output__0")
            if name == "classify":
                want = np.array([[b"0.700000:1", b"0.200000:2"],
                                 [b"0.600000:0", b"0.300000:1"],
                                 [b"0.500000:2", b"0.250000:0"]],
                                dtype=np.object_)
                ok = out.shape == want.shape and (out == want).all()
            else:
                ok = out.dtype == np.float32 and np.array_equal(out, PROBA)
            ok = ok and res.get_response()["id"] == "req-" + name
        except Exception as e:  # a decode failure is this case's failure
            print(f"{name}: {e!r}")
            ok = False
        if not ok:
            print(f"{name}: tritonclient decoded {out!r}")
        passed, failed = passed + ok, failed + (not ok)
    print(f"{passed} passed, {failed} failed, 0 skipped")
    return failed == 0


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2])
    else:
        sys.exit(0 if check(sys.argv[2]) else 1)
