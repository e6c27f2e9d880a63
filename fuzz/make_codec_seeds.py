#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz_codec_* targets (fuzz/corpus/<target>/):
valid and near-valid requests of each form.  Each seed starts with the
target's prefix (see fuzz/fuzz_codec.h): 2 selector bytes, and for the
binary target 2 bytes of JSON header length."""
import json
import struct

from seed_corpus import write


def kserve(rows, dtype="FP32", nested=False, **extra):
    data = rows if nested else [v for r in rows for v in r]
    req = {"id": "r1", "inputs": [{"name": "input__0", "shape": [len(rows), 4],
                                   "datatype": dtype, "data": data}]}
    req.update(extra)
    return json.dumps(req).encode()


ROWS = [[1, 2.5, None, -4], [0.1, 1e30, 3, 4]]
OUT = {"outputs": [{"name": "output__0",
                    "parameters": {"binary_data": False, "classification": 2}}]}
seeds = {
    "flat": kserve(ROWS),
    "nested": kserve(ROWS, nested=True),
    "int": kserve([[1, 2, 3, 4]], "INT64"),
    "bool": kserve([[True, False, True, False]], "BOOL"),
    "outputs": kserve(ROWS, **OUT),
    "params": kserve(ROWS, parameters={"binary_data_output": True,
                                       "sequence_id": 4}),
    "nan": b'{"inputs":[{"name":"input__0","shape":[1,4],"datatype":"FP32",'
           b'"data":[NaN,1,2,3]}]}',
    # the fuzz model takes 3 margins a row
    "base_margin": b'{"inputs":[{"name":"input__0","shape":[2,4],'
                   b'"datatype":"FP32","data":[1,2,3,4,5,6,7,8]},'
                   b'{"name":"base_margin","shape":[2,3],"datatype":"FP64",'
                   b'"data":[[0.5,-1,2],[1,1,1]]}]}',
}
for i, (name, body) in enumerate(seeds.items()):
    write("fuzz_codec_kserve", name, bytes([i, i * 37 % 256]) + body)

simple = {
    "instances": b'{"instances":[[1,2,null,4],[5,6,7,8]]}',
    "inputs": b'{"inputs":[[1,2,3,4]]}',
    "row": b'[1,2,3,4]',
    "rows": b'[[1,2,3,4],{"f0":1,"f3":2}]',
    "object": b'{"f0":1,"f1":null,"f2":3}',
    "named": b'{"instances":[{"f0":1},{"f2":2,"f3":4}],"signature_name":"x"}',
    "base_margin": b'{"base_margin":[[1,2,3]],"instances":[[1,2,3,4]]}',
}
for i, (name, body) in enumerate(simple.items()):
    write("fuzz_codec_simple", name, bytes([i, i * 53 % 256]) + body)


def binary(dtype, fmt, declared=None):
    vals = [1, 2, 3, 4, 5, 6, 7, 8]
    raw = struct.pack("<" + fmt * 8, *vals)
    head = json.dumps({"inputs": [{
        "name": "input__0", "shape": [2, 4], "datatype": dtype,
        "parameters": {"binary_data_size": len(raw) if declared is None
                       else declared}}],
        "parameters": {"binary_data_output": True}}).encode()
    return struct.pack("<H", len(head)) + head + raw


bins = {
    "fp32": binary("FP32", "f"),
    "fp64": binary("FP64", "d"),
    "int32": binary("INT32", "i"),
    "uint8": binary("UINT8", "B"),
    "fp16": binary("FP16", "e"),
    "lying": binary("FP32", "f", declared=30),
}
for i, (name, body) in enumerate(bins.items()):
    write("fuzz_codec_binary", name, bytes([i, i * 71 % 256]) + body)
