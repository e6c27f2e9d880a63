#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/fuzz_grpc_frame.c and fuzz/fuzz_grpc_infer.c
(fuzz/corpus/<target>/): framed model requests, and ModelInferRequest
messages of each form (typed contents of every kind, raw contents, outputs
with classification, treeshap_output and leaf_index, InferParameter options,
unknown fields) for a 4-feature model.  Protobuf is
written by hand, so no protobuf package is needed."""
import struct

from seed_corpus import write


def varint(v):
    v &= (1 << 64) - 1
    out = b""
    while v >= 0x80:
        out += bytes([v & 0x7f | 0x80])
        v >>= 7
    return out + bytes([v])


def tag(field, wire):
    return varint(field << 3 | wire)


def ln(field, data):
    return tag(field, 2) + varint(len(data)) + data


def packed(field, values):
    return ln(field, b"".join(varint(v) for v in values))


def param(field, key, value):
    return ln(field, ln(1, key) + ln(2, value))


def tensor(dtype, rows, contents=None, name=b"input__0", shape=None):
    t = ln(1, name) + ln(2, dtype) + packed(3, shape or [rows, 4])
    return ln(5, t + (ln(5, contents) if contents is not None else b""))


def strings(*s):
    """Triton's BYTES serialisation: a 4-byte length before each string"""
    return b"".join(struct.pack("<I", len(v)) + v for v in s)


def frame(msg, flag=0):
    return struct.pack(">BI", flag, len(msg)) + msg


head = ln(1, b"fuzz") + ln(3, b"req-1")
vals = [1.5, float("nan"), -2.0, 3.25, 0.0, 1e30, -1e-30, 7.0]
infer = {
    "fp32": head + tensor(b"FP32", 2, ln(6, struct.pack("<8f", *vals))),
    "fp32_unpacked": head + tensor(b"FP32", 1, b"".join(
        tag(6, 5) + struct.pack("<f", v) for v in vals[:4])),
    "fp64": head + tensor(b"FP64", 2, ln(7, struct.pack("<8d", *vals))),
    "int32": head + tensor(b"INT32", 1, packed(2, [1, -2, 3, 2**31 - 1])),
    "int8_range": head + tensor(b"INT8", 1, packed(2, [1, -2, 300, 4])),
    "int64": head + tensor(b"INT64", 1, packed(3, [1, -2, 2**62, 4])),
    "uint32": head + tensor(b"UINT32", 1, packed(4, [1, 2, 3, 2**32 - 1])),
    "uint64": head + tensor(b"UINT64", 1, packed(5, [1, 2, 3, 2**64 - 1])),
    "bool": head + tensor(b"BOOL", 1, packed(1, [1, 0, 1, 0])),
    "raw_fp16": head + tensor(b"FP16", 1) + ln(7, struct.pack("<4e", 1, 2, 3, 4)),
    "raw_fp32": head + tensor(b"FP32", 2) + ln(7, struct.pack("<8f", *vals)),
    "outputs": head + tensor(b"FP32", 1, ln(6, struct.pack("<4f", *vals[:4])))
    + ln(6, ln(1, b"output__0") + param(2, b"classification", tag(2, 0) + varint(2))),
    "params": head + param(4, b"sequence_id", tag(2, 0) + varint(4))
    + tensor(b"FP32", 1, ln(6, struct.pack("<4f", *vals[:4]))),
    "unknown_fields": tag(99, 0) + varint(5) + ln(100, b"xyz") + head
    + tensor(b"FP32", 1, ln(6, struct.pack("<4f", *vals[:4]))) + tag(101, 1) + b"\0" * 8,
    "shm": head + ln(5, ln(1, b"input__0") + ln(2, b"FP32") + packed(3, [1, 4])
                     + param(4, b"shared_memory_region", ln(3, b"r"))),
    # the fuzz model takes 3 margins a row; f1 and f2 have category names
    "base_margin_raw": head + tensor(b"FP32", 2)
    + tensor(b"FP64", 0, name=b"base_margin", shape=[2, 3])
    + ln(7, struct.pack("<8f", *vals)) + ln(7, struct.pack("<6d", 1, 2, 3, 4, 5, 6)),
    "base_margin_typed": head
    + tensor(b"FP32", 0, ln(6, struct.pack("<3f", 1, 2, 3)), name=b"base_margin",
             shape=[1, 3])
    + tensor(b"FP32", 1, ln(6, struct.pack("<4f", *vals[:4]))),
    "bytes_raw": head + tensor(b"BYTES", 2) + ln(7, strings(
        b"1.5", b"a", b"a", b"2", b"", b"b", b"zz", b"3e1")),
    "bytes_contents": head + tensor(b"BYTES", 1, b"".join(
        ln(8, v) for v in (b"nan", b"b", b"a", b"-4"))),
    "bytes_past_end": head + tensor(b"BYTES", 1) + ln(7, strings(b"1", b"a")
                                                     + b"\x40\0\0\0x"),
    # InferParameter options: bool_param on the request and on input__0,
    # a wrong kind (int64_param), and the extra outputs in the request's order
    "options": head + param(4, b"predict_proba", tag(1, 0) + varint(1))
    + ln(5, ln(1, b"input__0") + ln(2, b"FP32") + packed(3, [1, 4])
         + param(4, b"output_margin", tag(1, 0) + varint(0))
         + ln(5, ln(6, struct.pack("<4f", *vals[:4]))))
    + param(4, b"raw_score", tag(1, 0) + varint(1)),
    "option_wrong_kind": head + param(4, b"predict_proba", tag(2, 0) + varint(1))
    + tensor(b"FP32", 1, ln(6, struct.pack("<4f", *vals[:4]))),
    "extra_outputs": head + tensor(b"FP32", 2, ln(6, struct.pack("<8f", *vals)))
    + ln(6, ln(1, b"leaf_index")) + ln(6, ln(1, b"treeshap_output"))
    + ln(6, ln(1, b"output__0") + param(2, b"classification", tag(2, 0) + varint(2)))
    + ln(6, ln(1, b"leaf_index")),
    "output_unknown": head + tensor(b"FP32", 1, ln(6, struct.pack("<4f", *vals[:4])))
    + ln(6, ln(1, b"treeshap_outputs")),
}
for i, (name, msg) in enumerate(infer.items()):
    write("fuzz_grpc_infer", name, bytes([i, i * 37 % 256]) + msg)

frames = {
    "ready": frame(ln(1, b"fuzz") + ln(2, b"1")),
    "index": frame(tag(2, 0) + varint(1)),
    "empty": frame(b""),
    "compressed": frame(ln(1, b"fuzz"), 1),
    "short": frame(ln(1, b"fuzz"))[:-2],
    "two": frame(b"") + frame(b""),
    "infer": frame(infer["fp32"]),
}
for name, body in frames.items():
    write("fuzz_grpc_frame", name, body)
