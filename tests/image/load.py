#!/usr/bin/env python3
"""Load during a stop, for tests/image/smoke.sh.

    load.py HOST:PORT MODELS_DIR WARMUP_S -- STOP_COMMAND...

THREADS client threads send KServe v2 iris requests (4 rows each) over
keep-alive connections; after WARMUP_S seconds STOP_COMMAND runs (e.g.
`podman stop NAME`), and the threads stop once it has returned.  Every
answer is checked against MODELS_DIR/iris.expected.csv.

A request counts as in flight at the stop when it was completely sent before
STOP_COMMAND started.  Each such request must be answered with the right
result; one that is reset or closed unanswered is a failure.  A request sent
after the stop began may find the server gone (connection refused, or a
keep-alive connection the exiting server closed as idle): that is what a
client retries, so it is counted, not failed.  Prints its checks as
comments ("# ok - ...") for the calling suite, which counts the run as one
check; exit 0 when none failed.
"""
import csv
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time

THREADS = 16
ROWS = 4
TOL = 1e-5


def load_csv(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return [[float(x) for x in r] for r in rows[1:]]


def main():
    addr, models, warmup = sys.argv[1], sys.argv[2], float(sys.argv[3])
    stop_cmd = sys.argv[sys.argv.index("--") + 1:]
    host, port = addr.rsplit(":", 1)
    inputs = load_csv(os.path.join(models, "iris.input.csv"))
    expected = load_csv(os.path.join(models, "iris.expected.csv"))

    lock = threading.Lock()
    counts = dict(answered=0, wrong=0, in_flight_answered=0, in_flight_dropped=0,
                  after_stop_answered=0, after_stop_unanswered=0, refused=0, other=0)
    notes = []
    stop = {"t": None}
    finished = threading.Event()

    def add(key, note=None):
        with lock:
            counts[key] += 1
            if note and len(notes) < 10:
                notes.append(note)

    def client(seed):
        rnd = random.Random(seed)
        conn = None
        while not finished.is_set():
            first = rnd.randrange(len(inputs) - ROWS)
            body = json.dumps({"inputs": [{
                "name": "input__0", "shape": [ROWS, 4], "datatype": "FP32",
                "data": [v for r in inputs[first:first + ROWS] for v in r]}]})
            if conn is None:
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
            try:
                conn.request("POST", "/v2/models/iris/infer", body,
                             {"Content-Type": "application/json"})
            except ConnectionRefusedError:
                # only once the stop began; before it, the server must accept
                add("refused" if stop["t"] is not None else "other",
                    None if stop["t"] is not None else "refused before the stop")
                conn.close()
                conn = None
                time.sleep(0.01)
                continue
            except OSError:
                # the server closed this idle keep-alive connection while
                # exiting; the request never left the client
                add("after_stop_unanswered" if stop["t"] is not None else "other",
                    None if stop["t"] is not None else "send failed before the stop")
                conn.close()
                conn = None
                continue
            sent_at = time.monotonic()
            t_stop = stop["t"]
            in_flight = t_stop is None or sent_at < t_stop
            try:
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as e:
                if in_flight:
                    add("in_flight_dropped", "request sent before the stop, "
                        "no answer: %r" % e)
                else:
                    add("after_stop_unanswered")
                conn.close()
                conn = None
                continue
            answered_at = time.monotonic()
            ok = resp.status == 200
            if ok:
                out = json.loads(data)["outputs"][0]["data"]
                want = [v for r in expected[first:first + ROWS] for v in r]
                ok = len(out) == len(want) and all(
                    abs(a - b) <= TOL for a, b in zip(out, want))
            if not ok:
                add("wrong", "status %d: %s" % (resp.status, data[:200]))
            else:
                add("answered")
                t_stop = stop["t"]
                if t_stop is not None and sent_at < t_stop <= answered_at:
                    add("in_flight_answered")
                elif t_stop is not None and sent_at >= t_stop:
                    add("after_stop_answered")
            if resp.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    time.sleep(warmup)
    stop["t"] = time.monotonic()
    stopped = subprocess.run(stop_cmd, capture_output=True, text=True)
    stop_s = time.monotonic() - stop["t"]
    finished.set()
    for t in threads:
        t.join()

    print("# load: " + ", ".join("%s=%d" % kv for kv in counts.items())
          + ", stop took %.2f s" % stop_s)
    for n in notes:
        print("#   " + n)
    if stopped.returncode != 0:
        print("#   stop command: " + stopped.stderr.strip().replace("\n", "\n#   "))
    checks = [
        ("stop command succeeded", stopped.returncode == 0),
        ("answers before the stop (%d)" % counts["answered"], counts["answered"] > 0),
        ("requests in flight at the stop were answered (%d)" % counts["in_flight_answered"],
         counts["in_flight_answered"] > 0),
        ("no request in flight at the stop was dropped (%d)" % counts["in_flight_dropped"],
         counts["in_flight_dropped"] == 0),
        ("every answer right (%d wrong)" % counts["wrong"], counts["wrong"] == 0),
        ("no refusal or error before the stop (%d)" % counts["other"], counts["other"] == 0),
    ]
    failed = 0
    for name, ok in checks:
        print(("# ok - " if ok else "# not ok - ") + name)
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
