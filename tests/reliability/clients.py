#!/usr/bin/env python3
"""Raw-socket clients for the fault runs.

  clients.py disconnect PORT ROUNDS CONNS
      Each round opens CONNS connections sending a 1000-row KServe request;
      half close right after the whole body is sent (their rows are batched
      or running when they go), half close halfway through the body.
      Prints "sent N".

  clients.py inflight PORT N REL_DIR QUIT_CMD...
      Sends one large request (its 4 rows repeated 5000 times) and N small
      ones at once, waits 50 ms (the small ones wait in the pending batch,
      the large one runs), runs QUIT_CMD (graceful shutdown), then reads
      every answer.  Prints "answered A of T, wrong W" and exits non-zero
      unless every request got its right answer.
"""
import json
import socket
import struct
import subprocess
import sys
import time


def request(path, body, headers=None):
    head = f"POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def kserve(n_rows, value=0.5):
    data = ",".join([repr(value)] * (20 * n_rows))
    return (f'{{"inputs":[{{"name":"input__0","shape":[{n_rows},20],'
            f'"datatype":"FP32","data":[{data}]}}]}}').encode()


def disconnect(port, rounds, conns):
    req = request("/v2/models/fraud/infer", kserve(1000))
    sent = 0
    for _ in range(rounds):
        socks = []
        for i in range(conns):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(req if i % 2 == 0 else req[:len(req) // 2])
            socks.append(s)
            sent += 1
        for s in socks:
            # RST rather than FIN: the client is gone, not done
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
    print(f"sent {sent}")


def load_answer(rel_dir, name):
    """Body and answer of a prepared request (requests.lua, prepare.py)."""
    text = open(f"{rel_dir}/requests.lua", encoding="latin-1").read()
    start = text.index(f'name = "{name}"')
    def field(key):
        i = text.index(f"{key} = \"", start) + len(key) + 4
        out, j = bytearray(), i
        while text[j] != '"':
            if text[j] == "\\":
                out.append(int(text[j + 1:j + 4]))
                j += 4
            else:
                out.append(ord(text[j]))
                j += 1
        return bytes(out)
    return field("body"), field("answer")


def read_all(s, deadline):
    out = b""
    while time.time() < deadline:
        s.settimeout(max(0.1, deadline - time.time()))
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        if not b:
            break
        out += b
    return out


def inflight(port, n, rel_dir, quit_cmd):
    body, answer = load_answer(rel_dir, "kserve-json")
    doc = json.loads(body)
    data = doc["inputs"][0]["data"]
    doc["inputs"][0]["data"] = data * 5000
    doc["inputs"][0]["shape"] = [4 * 5000, 20]
    big_body = json.dumps(doc).encode()
    big_want = json.loads(answer)["outputs"][0]["data"] * 5000

    socks = []
    big = socket.create_connection(("127.0.0.1", port))
    big.sendall(request("/v2/models/fraud/infer", big_body))
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(request("/v2/models/fraud/infer", body))
        socks.append(s)
    time.sleep(0.05)
    subprocess.run(quit_cmd, check=True)

    deadline = time.time() + 20
    answered = wrong = 0
    for s in socks:
        raw = read_all(s, deadline)
        head, _, got = raw.partition(b"\r\n\r\n")
        if head.startswith(b"HTTP/1.1 200"):
            answered += 1
            wrong += got != answer
    raw = read_all(big, deadline)
    head, _, got = raw.partition(b"\r\n\r\n")
    if head.startswith(b"HTTP/1.1 200"):
        answered += 1
        data = json.loads(got)["outputs"][0]["data"]
        wrong += len(data) != len(big_want) or any(
            abs(a - b) > 1e-6 for a, b in zip(data, big_want))
    print(f"answered {answered} of {n + 1}, wrong {wrong}")
    return 0 if answered == n + 1 and wrong == 0 else 1


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "disconnect":
        disconnect(port, int(sys.argv[3]), int(sys.argv[4]))
        return 0
    if cmd == "inflight":
        return inflight(port, int(sys.argv[3]), sys.argv[4], sys.argv[5:])
    sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main())
