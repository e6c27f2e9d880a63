"""Timing loop shared by the Python side of the benchmarks."""
import time


def timed_loop(fn, x, batch, seconds, clock=time.perf_counter, min_calls=3):
    """rows/s of fn over consecutive batches of x (wrapping), after one
    untimed warm-up call (none when min_calls is 1); at least min_calls
    calls and `seconds` of the clock (wall time, or e.g.
    time.process_time)."""
    n = len(x)
    batch = min(batch, n)
    if min_calls > 1:
        fn(x[:batch])
    calls = done = 0
    t0 = clock()
    while True:
        at = (calls * batch) % n
        if at + batch > n:
            at = 0
        fn(x[at:at + batch])
        calls += 1
        done += batch
        elapsed = clock() - t0
        if elapsed >= seconds and calls >= min_calls:
            return done / elapsed
