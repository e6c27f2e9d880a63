"""Timing loop shared by the Python side of the benchmarks."""
import time


def timed_loop(fn, x, batch, seconds):
    """rows/s of fn over consecutive batches of x (wrapping), after one
    untimed warm-up call; at least 3 calls and `seconds` of wall time."""
    n = len(x)
    batch = min(batch, n)
    fn(x[:batch])
    calls = done = 0
    t0 = time.perf_counter()
    while True:
        at = (calls * batch) % n
        if at + batch > n:
            at = 0
        fn(x[at:at + batch])
        calls += 1
        done += batch
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and calls >= 3:
            return done / elapsed
