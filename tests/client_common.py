"""Shared by the tritonclient checks (tests/*_check.py): counting checks in
the suites' output format, and reading the reference models' CSV files."""
import csv
import sys

import numpy as np

label = ""  # printed before every check's name
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {label}{name}")
    else:
        failed += 1
        print(f"FAIL {label}{name} {detail}")


def run(name, fn):
    try:
        fn()
    except Exception as e:  # a check that raises is a failed check
        check(name, False, f"{type(e).__name__}: {e}")


def read_csv(path):
    with open(path) as f:
        rows = list(csv.reader(f))[1:]
    return np.array([[float(v) if v else np.nan for v in r] for r in rows],
                    dtype=np.float32)


def close(got, want):
    got = np.asarray(got, dtype=np.float64)
    return got.shape == want.shape and bool(
        np.all(np.abs(got - want) <= 1e-5 * np.maximum(1, np.abs(want))))


def finish():
    """The closing summary line; exits 1 when a check failed."""
    print(f"{passed} passed, {failed} failed, 0 skipped")
    sys.exit(1 if failed else 0)
