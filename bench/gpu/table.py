#!/usr/bin/env python3
"""The tables of a bench/gpu.sh run, from the raw results it left in RES.

    table.py RES

Reads RES/machine.txt, RES/parity_<kernel>.txt (tests/parity.py's output),
RES/kernel_<model>.tsv (bench/gpu_bench.c's "what strategy batch rows/s"
lines) and RES/wrk_<mps>_<target>.txt (wrk --latency), and prints: parity by
kernel, rows/s by strategy and batch size per model with the microseconds a
batch takes, the batch sizes the measurements recommend for
transfer_threshold (where the GPU end to end overtakes the CPU executor) and
for the trees kernel's limit (where a per-row kernel overtakes it), the
contributions (RES/shap_checks.txt: tests/gpu_cpu/shap_checks.c's output;
RES/contrib_bench.tsv: gpu_bench --contribs's lines), and the HTTP runs.  Standard library only: it runs on the GPU machine.  Exit 1 when
a result file is missing or unreadable, so a rehearsal catches it.
"""
import glob
import os
import re
import sys

KERNELS = ["auto", "rows", "trees", "compact"]
MODELS = {"bench": "benchmark model (XGBoost, 500 trees, depth 8, 32 features)",
          "large": "large model (LightGBM, 5000 trees, depth 12, 32 features)"}
# what the source holds today, to say whether the measurement moves them
DEFAULTS = {"transfer_threshold": ("FOREST_GPU_TRANSFER_THRESHOLD", "gpu/forest_gpu.h"),
            "trees_max_rows": ("FOREST_GPU_TREES_MAX_ROWS", "gpu/gpu_kernel.h")}


def read(path):
    with open(path) as f:
        return f.read()


def parity(res):
    lines = []
    for k in KERNELS:
        path = os.path.join(res, "parity_%s.txt" % k)
        text = read(path).strip().splitlines()
        last = text[-1] if text else "(empty)"
        fails = [l for l in text if l.startswith("FAIL")]
        lines.append("  %-8s %s" % (k, last))
        lines.extend("      " + l for l in fails[:5])
    return lines


def load_kernel(path):
    rates = {}
    for line in read(path).splitlines():
        if not line or line.startswith("#"):
            continue
        what, strategy, batch, rate = line.split("\t")
        rates[(what, strategy, int(batch))] = float(rate)
    if not rates:
        raise ValueError("%s: no measurements" % path)
    return rates


def fmt_rate(r):
    if r is None:
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if r >= scale:
            return "%.3g%s" % (r / scale, unit)
    return "%.3g" % r


def crossover(batches, faster, slower):
    """The smallest batch from which `faster` beats `slower` at every
    measured batch size up; None if it never does."""
    best = None
    for b in reversed(batches):
        f, s = faster(b), slower(b)
        if f is None or s is None or f < s:
            break
        best = b
    return best


def kernel_table(name, rates):
    batches = sorted({b for (_, _, b) in rates})
    cols = [("kernel", k) for k in KERNELS] + [("gpu_e2e", "auto"), ("cpu_all", "cpu"),
                                               ("cpu_1", "cpu")]
    head = ["batch"] + [k for k in KERNELS] + ["gpu e2e", "cpu all", "cpu 1", "auto us/batch"]
    rows = []
    for b in batches:
        vals = [rates.get(c + (b,)) for c in cols]
        auto = rates.get(("kernel", "auto", b))
        rows.append([str(b)] + [fmt_rate(v) for v in vals]
                    + ["%.1f" % (b / auto * 1e6) if auto else "-"])
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    out = ["%s: rows/s (kernel columns: input resident on the GPU; gpu e2e: "
           "with copies; cpu all, cpu 1: CPU executor, all cores and one thread)"
           % MODELS.get(name, name)]
    for r in [head] + rows:
        out.append("  " + "  ".join(v.rjust(w) for v, w in zip(r, widths)))
    rate = lambda w, s: (lambda b: rates.get((w, s, b)))
    # a GPU model's smaller batches run on its own CPU executor, one thread
    # with forest_model's default threads=1
    cross = crossover(batches, rate("gpu_e2e", "auto"), rate("cpu_1", "cpu"))
    cross_all = crossover(batches, rate("gpu_e2e", "auto"), rate("cpu_all", "cpu"))
    per_row = lambda b: max([v for v in (rates.get(("kernel", "rows", b)),
                                         rates.get(("kernel", "compact", b)))
                             if v is not None] or [None])
    trees_until = None
    for b in batches:
        t, p = rates.get(("kernel", "trees", b)), per_row(b)
        if t is not None and p is not None and t >= p:
            trees_until = b
        else:
            break
    never = "none (the CPU executor is faster at every batch measured)"
    out.append("  recommended transfer_threshold (%s in %s), threads=1: %s; "
               "threads=all cores: %s" % (
                   DEFAULTS["transfer_threshold"]
                   + (cross if cross is not None else never,
                      cross_all if cross_all is not None else never)))
    out.append("  recommended trees kernel limit (%s in %s): %s" % (
        DEFAULTS["trees_max_rows"] + (
            trees_until if trees_until is not None else
            "0 (a per-row kernel is faster from batch 1)",)))
    return out


def contributions(res):
    text = read(os.path.join(res, "shap_checks.txt")).strip().splitlines()
    out = ["Contributions (TreeSHAP) on the GPU against the libraries' and "
           "the CPU's: " + (text[-1] if text else "(empty)")]
    out += ["      " + l for l in text if l.startswith("FAIL")][:5]
    rates = load_kernel(os.path.join(res, "contrib_bench.tsv"))
    head = ["batch", "gpu e2e rows/s", "cpu 1 thread rows/s", "gpu / cpu"]
    rows = []
    for b in sorted({b for (_, _, b) in rates}):
        g, c = rates.get(("contrib", "gpu", b)), rates.get(("contrib", "cpu1", b))
        rows.append([str(b), fmt_rate(g), fmt_rate(c),
                     "%.1fx" % (g / c) if g and c else "-"])
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    out.append("%s: contributions rows/s (gpu e2e: with copies, no "
               "transfer_threshold)" % MODELS["bench"])
    for r in [head] + rows:
        out.append("  " + "  ".join(v.rjust(w) for v, w in zip(r, widths)))
    return out


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def wrk_row(path):
    text = read(path)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if rps is None:
        return None
    lat = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", text, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:.*", text)
    p50, p99 = ms(lat.get("50", "")), ms(lat.get("99", ""))
    return ["%.0f" % float(rps.group(1)), "%.0f" % (float(rps.group(1)) * 80),
            "%.2f" % p50 if p50 is not None else "-",
            "%.2f" % p99 if p99 is not None else "-",
            non2xx.group(1) if non2xx else "0",
            errors.group(0).split(":", 1)[1].strip() if errors else "-"]


def http(res):
    out = ["HTTP, 80-row requests (wrk): inferences/s = requests/s x 80"]
    head = ["target", "MPS", "req/s", "inferences/s", "p50 ms", "p99 ms",
            "non-2xx", "socket errors"]
    rows = []
    for path in sorted(glob.glob(os.path.join(res, "wrk_*.txt"))):
        mps, target = re.match(r"wrk_(mps_on|mps_off)_(.+)\.txt$",
                               os.path.basename(path)).groups()
        r = wrk_row(path)
        rows.append([target, mps[4:]] + (r or ["no result"] + [""] * 5))
    skipped = os.path.join(res, "mps.txt")
    if os.path.exists(skipped):
        out.append("  " + read(skipped).strip())
    if not rows:
        raise ValueError("%s: no wrk results" % res)
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        out.append("  " + "  ".join(v.rjust(w) for v, w in zip(r, widths)))
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: table.py RES")
    res = sys.argv[1]
    try:
        out = ["GPU: " + " / ".join(read(os.path.join(res, "machine.txt")).strip().splitlines()),
               "", "Parity with the libraries' outputs, by --gpu-kernel:"]
        out += parity(res)
        for name in MODELS:
            out += [""] + kernel_table(name, load_kernel(
                os.path.join(res, "kernel_%s.tsv" % name)))
        out += [""] + contributions(res)
        out += [""] + http(res)
    except (OSError, ValueError, AttributeError) as e:
        sys.exit("table.py: %s" % e)
    print("\n".join(out))


if __name__ == "__main__":
    main()
