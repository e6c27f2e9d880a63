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


def sections(inputs):
    """inputs: (name, shape, dtype, raw bytes), in the order sent"""
    head = json.dumps({"inputs": [
        {"name": n, "shape": shape, "datatype": dt,
         "parameters": {"binary_data_size": len(raw)}}
        for n, shape, dt, raw in inputs]}).encode()
    return struct.pack("<H", len(head)) + head + b"".join(i[3] for i in inputs)


def strings(*s):
    """Triton's BYTES serialisation: a 4-byte length before each string"""
    return b"".join(struct.pack("<I", len(v)) + v for v in s)


ROWS8 = struct.pack("<8f", 1, 2, 3, 4, 5, 6, 7, 8)
bins = {
    "fp32": binary("FP32", "f"),
    "fp64": binary("FP64", "d"),
    "int32": binary("INT32", "i"),
    "uint8": binary("UINT8", "B"),
    "fp16": binary("FP16", "e"),
    "lying": binary("FP32", "f", declared=30),
    # the fuzz model takes 3 margins a row; f1 and f2 have category names
    "base_margin": sections([
        ("input__0", [2, 4], "FP32", ROWS8),
        ("base_margin", [2, 3], "FP64", struct.pack("<6d", 1, 2, 3, 4, 5, 6))]),
    "base_margin_first": sections([
        ("base_margin", [1, 3], "FP32", struct.pack("<3f", 0.5, -1, 2)),
        ("input__0", [1, 4], "FP32", ROWS8[:16])]),
    "bytes": sections([("input__0", [2, 4], "BYTES", strings(
        b"1.5", b"a", b"a", b"2", b"", b"b", b"zz", b"3e1"))]),
    "bytes_margin": sections([
        ("input__0", [1, 4], "BYTES", strings(b"nan", b"b", b"a", b"-4")),
        ("base_margin", [1, 3], "FP32", struct.pack("<3f", 1, 2, 3))]),
    "bytes_past_end": sections([("input__0", [1, 4], "BYTES",
                                 strings(b"1", b"a", b"a") + b"\x40\0\0\0x")]),
}
for i, (name, body) in enumerate(bins.items()):
    write("fuzz_codec_binary", name, bytes([i, i * 71 % 256]) + body)
# fed in 8-byte pieces, a string's length ends a piece (a crash once)
write("fuzz_codec_binary", "bytes_pieces", bytes([5, 0]) + bins["bytes"])
