#!/usr/bin/env python3
"""lleaves side of bench/cpu_bench.py, run as its own process because lleaves
may need an older llvmlite than the system one (bench/run.sh makes a venv).

  lleaves_bench.py MODEL DATA.f32 --features N --cache OBJ --batches 1,16
      --threads 1,2 --seconds S [--dump ROWS OUT.f64]

Compiles MODEL once, optionally writes its predictions of the first ROWS
rows, then prints one line per batch size and thread count:
  batch=B threads=T rows_per_s=R
"""
import argparse

import numpy as np

from timing import timed_loop


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--features", type=int, required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--batches", default="1,16,256,100000")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--dump", nargs=2, metavar=("ROWS", "OUT"))
    args = ap.parse_args()

    import lleaves

    x = np.fromfile(args.data, dtype=np.float32).reshape(-1, args.features)
    x = x.astype(np.float64)   # lleaves predicts from float64 rows
    model = lleaves.Model(model_file=args.model)
    model.compile(cache=args.cache)
    if args.dump:
        rows = int(args.dump[0])
        model.predict(x[:rows], n_jobs=1).astype(np.float64).tofile(
            args.dump[1])
    for batch in (int(b) for b in args.batches.split(",")):
        for t in (int(t) for t in args.threads.split(",")):
            rps = timed_loop(lambda rows: model.predict(rows, n_jobs=t), x,
                             batch, args.seconds)
            print(f"batch={batch} threads={t} rows_per_s={rps:.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
