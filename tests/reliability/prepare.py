#!/usr/bin/env python3
"""Requests for the reliability runs, each with the answer it must get.

Usage: prepare.py DIR PORT REFERENCE_MODELS_DIR

Builds valid requests (KServe JSON, KServe binary, simple API) on rows of the
xgb_binary reference model and invalid ones (bad JSON, NaN, wrong feature
count, unknown model, too many rows), sends each once to the server on PORT,
checks the valid answers against the reference probabilities in
xgb_binary.expected.csv (xgboost's own output) and the invalid ones against
their status, and writes DIR/requests.lua: the table the wrk scripts send
and compare every response with, byte for byte.
"""
import csv
import http.client
import json
import struct
import sys

TOL = 1e-5


def rows(ref, name, kind, start, n):
    with open(f"{ref}/{name}.{kind}.csv") as f:
        r = csv.reader(f)
        next(r)
        data = [[float(v) if v else None for v in line] for line in r]
    return data[start:start + n]


def num(v):
    return "null" if v is None else repr(v)


def kserve_json(rs):
    data = ",".join(num(v) for row in rs for v in row)
    return (f'{{"inputs":[{{"name":"input__0","shape":[{len(rs)},{len(rs[0])}],'
            f'"datatype":"FP32","data":[{data}]}}]}}').encode()


def kserve_binary(rs):
    blob = struct.pack(f"<{len(rs) * len(rs[0])}f",
                       *[float("nan") if v is None else v for row in rs for v in row])
    head = json.dumps({"inputs": [{"name": "input__0", "shape": [len(rs), len(rs[0])],
                                   "datatype": "FP32",
                                   "parameters": {"binary_data_size": len(blob)}}]},
                      separators=(",", ":")).encode()
    return head + blob, {"Inference-Header-Content-Length": str(len(head))}


def simple_json(rs):
    return json.dumps({"instances": rs}).replace("NaN", "null").encode()


def close(got, want):
    return len(got) == len(want) and all(
        abs(g - w) <= TOL * max(1.0, abs(w)) for g, w in zip(got, want))


def lua_string(b):
    return '"' + "".join(chr(c) if 32 <= c < 127 and chr(c) not in '"\\' else f"\\{c:03d}"
                         for c in b) + '"'


def main():
    out_dir, port, ref = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    reqs = []

    def add(name, path, body, headers, status, check):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", path, body, headers)
        resp = conn.getresponse()
        answer = resp.read()
        conn.close()
        if resp.status != status:
            sys.exit(f"prepare: {name}: status {resp.status}, want {status}: {answer[:300]!r}")
        why = check(answer)
        if why:
            sys.exit(f"prepare: {name}: {why}: {answer[:300]!r}")
        reqs.append((name, path, body, headers, status, answer))

    def proba_of(start, n, key):
        want = [x for p in rows(ref, "xgb_binary", "expected", start, n) for x in (1 - p[0], p[0])]

        def check(answer):
            doc = json.loads(answer)
            got = doc["outputs"][0]["data"] if key == "outputs" else [x for r in doc["predictions"] for x in r]
            return None if close(got, want) else f"predictions differ from xgboost's {want}"
        return check

    def error_like(text):
        return lambda answer: None if text in json.loads(answer).get("error", "") else f"error lacks {text!r}"

    r = rows(ref, "xgb_binary", "input", 0, 4)
    add("kserve-json", "/v2/models/fraud/infer", kserve_json(r), {}, 200, proba_of(0, 4, "outputs"))
    r = rows(ref, "xgb_binary", "input", 4, 4)
    body, hdr = kserve_binary(r)
    add("kserve-binary", "/v2/models/fraud/infer", body, hdr, 200, proba_of(4, 4, "outputs"))
    r = rows(ref, "xgb_binary", "input", 8, 3)
    add("simple", "/predict/fraud", simple_json(r), {}, 200, proba_of(8, 3, "predictions"))
    n_valid = len(reqs)

    add("bad-json", "/v2/models/fraud/infer", b'{"inputs":[{"name":"input__0"', {}, 400,
        error_like("invalid JSON"))
    add("nan", "/predict/fraud", b"[[NaN" + b",0" * 19 + b"]]", {}, 400, error_like("send null"))
    add("features", "/predict/fraud", b"[[1,2,3]]", {}, 400, error_like("expects 20"))
    add("unknown-model", "/v2/models/nosuch/infer", kserve_json([[0] * 20]), {}, 404,
        error_like("unknown model"))
    add("too-many-rows", "/few/fraud", simple_json([[0] * 20] * 17), {}, 413, error_like("at most 16"))

    with open(f"{out_dir}/requests.lua", "w") as f:
        f.write("-- written by tests/reliability/prepare.py\nreturn {\n")
        for i, (name, path, body, headers, status, answer) in enumerate(reqs):
            hs = ", ".join(f"[{lua_string(k.encode())}] = {lua_string(v.encode())}" for k, v in headers.items())
            f.write(f"  {{ name = {lua_string(name.encode())}, valid = {'true' if i < n_valid else 'false'}, "
                    f"path = {lua_string(path.encode())}, headers = {{ {hs} }}, status = {status},\n"
                    f"    body = {lua_string(body)},\n    answer = {lua_string(answer)} }},\n")
        f.write("}\n")
    print(f"prepare: {n_valid} valid and {len(reqs) - n_valid} invalid requests checked")


if __name__ == "__main__":
    main()
