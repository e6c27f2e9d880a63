#!/usr/bin/env python3
"""Load for tests/suite_scaleout.sh, every answer checked against the reference.

Usage: load.py URL SECONDS CONNS MODEL_DIR

CONNS threads, each with one kept-alive connection to URL, send inference
requests on the iris model for SECONDS: simple API and KServe JSON, 1 to 8
rows each, taken from MODEL_DIR/iris.input.csv.  Every 200 answer is parsed
and compared with MODEL_DIR/iris.expected.csv (LightGBM's own
probabilities), so an answer from the wrong model, rows out of order or a
truncated body counts as wrong, not as answered.  Every request sent gets
exactly one outcome: ok, failed (a status other than 200, or the connection
broke; the thread then opens a new one) or wrong.

Prints one line:
  LOAD sent=N ok=N failed=N wrong=N rows=N secs=S rps=R rows_per_s=R
       instances=ID:N,... failures=KIND:N,...
where instances counts the ok answers by the X-Instance header the suite's
instances add, and failures the failed requests by status or exception.
A wrong answer also prints "LOAD first wrong: ...".
"""
import csv
import http.client
import json
import sys
import threading
import time
import urllib.parse
from collections import Counter

TOL = 1e-5
MAX_ROWS = 8


def read_csv(path):
    with open(path) as f:
        r = csv.reader(f)
        next(r)
        return [[float(v) for v in line] for line in r]


def requests(model_dir):
    """(path, body, rows, expected flat probabilities, answer key) for each request."""
    inputs = read_csv(f"{model_dir}/iris.input.csv")
    expected = read_csv(f"{model_dir}/iris.expected.csv")
    out = []
    for start in range(len(inputs)):
        n = start % MAX_ROWS + 1
        rows = inputs[start:start + n]
        want = [p for row in expected[start:start + n] for p in row]
        if start % 2:
            body = json.dumps({"instances": rows})
            out.append(("/predict/iris", body, len(rows), want, "predictions"))
        else:
            data = [v for row in rows for v in row]
            body = json.dumps({"inputs": [{"name": "input__0", "shape": [len(rows), len(rows[0])],
                                           "datatype": "FP32", "data": data}]})
            out.append(("/v2/models/iris/infer", body, len(rows), want, "outputs"))
    return out


def got_of(answer, key):
    doc = json.loads(answer)
    if key == "outputs":
        return doc["outputs"][0]["data"]
    return [p for row in doc["predictions"] for p in row]


def right(answer, key, want):
    try:
        got = got_of(answer, key)
    except (ValueError, KeyError, IndexError, TypeError):
        return False
    return len(got) == len(want) and all(
        abs(g - w) <= TOL * max(1.0, abs(w)) for g, w in zip(got, want))


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = self.wrong = self.rows = 0
        self.instances = Counter()
        self.failures = Counter()
        self.first_wrong = None


def worker(host, port, deadline, reqs, offset, tally):
    conn = None
    i = offset
    while time.monotonic() < deadline:
        path, body, n_rows, want, key = reqs[i % len(reqs)]
        i += 1
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            answer = resp.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            conn = None
            with tally.lock:
                tally.failures[type(e).__name__] += 1
            continue
        with tally.lock:
            if resp.status != 200:
                tally.failures[str(resp.status)] += 1
            elif right(answer, key, want):
                tally.ok += 1
                tally.rows += n_rows
                tally.instances[resp.getheader("X-Instance", "?")] += 1
            else:
                tally.wrong += 1
                if tally.first_wrong is None:
                    tally.first_wrong = f"{path} {body[:120]} -> {answer[:200]!r}"
    if conn is not None:
        conn.close()


def main():
    url, secs, conns, model_dir = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    u = urllib.parse.urlsplit(url)
    reqs = requests(model_dir)
    tally = Tally()
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker,
                                args=(u.hostname, u.port, t0 + secs, reqs, k * len(reqs) // conns, tally))
               for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    failed = sum(tally.failures.values())
    sent = tally.ok + failed + tally.wrong

    def counts(c):
        return ",".join(f"{k}:{v}" for k, v in sorted(c.items())) or "-"
    print(f"LOAD sent={sent} ok={tally.ok} failed={failed} wrong={tally.wrong} rows={tally.rows} "
          f"secs={took:.1f} rps={sent / took:.0f} rows_per_s={tally.rows / took:.0f} "
          f"instances={counts(tally.instances)} failures={counts(tally.failures)}")
    if tally.first_wrong:
        print(f"LOAD first wrong: {tally.first_wrong}")


if __name__ == "__main__":
    main()
