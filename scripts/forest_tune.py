#!/usr/bin/env python3
"""forest tune: measure ngx_forest configurations on a model and recommend one.

  forest tune MODEL [--requests FILE] [--rows N] [--p99 2ms]
              [--concurrency 1,16,64,256] [--time 10s] [--out DIR] ...

Starts its own nginx with the module on 127.0.0.1, sends the user's request
bodies (--requests: one JSON body a line, or one JSON document; KServe v2
bodies go to /v2/models/NAME/infer, {"instances": ...} ones to
/predict/NAME) or bodies it makes from the model's own split thresholds
(`forest info --thresholds`: every branch is reached) through wrk, and
sweeps the server's knobs the way Triton Model Analyzer's quick search
does: a coarse set first (the defaults, then each knob alone at the ends of
its range), then the neighbours of the best configurations so far and the
best value of every knob together, until --max-configs are measured.  Each
configuration runs at every --concurrency; the module's /metrics gives the
rows per batch, the queue time and the batch-size histogram, /proc the
server's CPU time.  The best throughput whose p99 is within --p99 is
measured once more before it is recommended.

Writes to --out: results.csv (every measurement), throughput_p99.png/.svg
(the Pareto frontier marked), batch_sizes.png/.svg, report.html (charts and
tables) and recommended.conf (nginx.conf lines).

nginx and the module are found as a user install has them: --nginx, $NGINX,
/usr/sbin/nginx or nginx on PATH; --module, $FOREST_MODULE, the module
beside the `forest` binary's build directory, or the package's
/usr/lib/nginx/modules/ngx_http_forest_module.so.
"""
import argparse
import base64
import csv
import html
import importlib.util
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

# The knobs and the values the sweep tries, low to high.  forest_model
# threads and nginx workers stop at the CPU count; device and
# transfer_threshold only join where the module can serve on a GPU.
KNOBS = ["workers", "threads", "batch_threads", "batch_delay",
         "max_batch_size", "device", "transfer_threshold"]
DEFAULTS = {"workers": 1, "threads": 1, "batch_threads": 4,
            "batch_delay": "0", "max_batch_size": 1024, "device": "cpu",
            "transfer_threshold": 0}

COLUMNS = ["config", "phase", *KNOBS, "concurrency", "requests_per_s",
           "rows_per_s", "p50_ms", "p95_ms", "p99_ms",
           "server_cpu_us_per_request", "avg_batch_rows", "avg_queue_us",
           "errors", "within_budget", "pareto"]


def fail(msg):
    sys.exit(f"forest tune: {msg}")


def parse_duration(text, what):
    """'2ms', '500us', '1.5s', '10' (seconds) -> seconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(us|ms|s|m)?\s*", text)
    if not m:
        fail(f"{what} {text!r}: expected a time such as 500us, 2ms or 10s")
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, None: 1.0}
    return float(m.group(1)) * scale[m.group(2)]


def fmt_seconds(s):
    s = int(round(s))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


# ---- finding the programs --------------------------------------------------

def find_forest():
    path = os.environ.get("FOREST_BIN") or shutil.which("forest")
    if not path:
        fail("no forest binary (run this as `forest tune`, or set FOREST_BIN)")
    return path


def find_nginx(arg):
    for c in (arg, os.environ.get("NGINX"), "/usr/sbin/nginx",
              shutil.which("nginx")):
        if c and os.access(c, os.X_OK):
            return c
    fail("no nginx (install nginx, or give --nginx PATH)")


def find_module(arg, forest_bin):
    name = "ngx_http_forest_module.so"
    build = os.path.dirname(os.path.dirname(os.path.realpath(forest_bin)))
    for c in (arg, os.environ.get("FOREST_MODULE"),
              os.path.join(build, name),
              os.path.join("/usr/lib/nginx/modules", name)):
        if c and os.path.isfile(c):
            return os.path.abspath(c)
    fail(f"no {name} (install libnginx-mod-http-forest, or give --module)")


def find_wrk_script():
    for c in (os.path.join(HERE, "forest_tune_wrk.lua"),
              "/usr/lib/ngx-forest/forest_tune_wrk.lua"):
        if os.path.isfile(c):
            return c
    fail("no forest_tune_wrk.lua beside forest_tune.py")


# ---- the model and the request bodies --------------------------------------

def model_info(forest_bin, model, fmt):
    cmd = [forest_bin, "info", model, "--thresholds"]
    if fmt:
        cmd += ["--format", fmt]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"cannot read the model: {r.stderr.strip()}")
    info = {"thresholds": {}, "categories": {}}
    for line in r.stdout.splitlines():
        key, _, value = line.partition(": ")
        m = re.fullmatch(r"(thresholds|category_codes)\[(\d+)\]", key)
        if m and m.group(1) == "thresholds":
            info["thresholds"][int(m.group(2))] = [float(v) for v in
                                                   value.split(",")]
        elif m:
            info["categories"][int(m.group(2))] = int(value)
        else:
            info[key] = value
    info["n_features"] = int(info["features"])
    return info


def make_row(info, rng):
    """A row whose every feature falls in a random interval between the
    model's split values of that feature (or on a random category), so the
    rows reach every branch the thresholds separate."""
    row = []
    for j in range(info["n_features"]):
        if j in info["categories"]:
            row.append(float(rng.randrange(info["categories"][j])))
            continue
        t = info["thresholds"].get(j)
        if not t:
            row.append(0.0)
            continue
        k = rng.randrange(len(t) + 1)
        lo = t[k - 1] if k > 0 else t[0] - 1.0 - abs(t[0])
        hi = t[k] if k < len(t) else t[-1] + 1.0 + abs(t[-1])
        row.append(float(f"{lo + (hi - lo) * rng.uniform(0.05, 0.95):.7g}"))
    return row


def generated_bodies(info, rows, count, seed=1):
    rng = random.Random(seed)
    bodies = []
    for _ in range(count):
        data = [v for _ in range(rows) for v in make_row(info, rng)]
        bodies.append({"inputs": [{"name": "input__0", "datatype": "FP32",
                                   "shape": [rows, info["n_features"]],
                                   "data": data}]})
    return bodies


def read_bodies(path):
    with open(path) as f:
        text = f.read()
    try:
        doc = json.loads(text)
        bodies = doc if isinstance(doc, list) else [doc]
    except json.JSONDecodeError:
        try:
            bodies = [json.loads(l) for l in text.splitlines() if l.strip()]
        except json.JSONDecodeError as e:
            fail(f"{path}: neither one JSON document nor one a line ({e})")
    if not bodies or not all(isinstance(b, dict) for b in bodies):
        fail(f"{path}: no request bodies (JSON objects) in it")
    return bodies


def body_rows(body):
    """Rows a request carries (for rows/s)."""
    if "inputs" in body:
        shape = body["inputs"][0].get("shape") or [1]
        return int(shape[0]) if len(shape) > 1 else 1
    inst = body.get("instances", body.get("inputs", []))
    return len(inst) if isinstance(inst, list) and inst and \
        isinstance(inst[0], list) else 1


# ---- nginx -----------------------------------------------------------------

def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One nginx with the module, in its own directory, for one config."""

    def __init__(self, ctx, cfg):
        self.ctx, self.cfg = ctx, cfg
        self.dir = tempfile.mkdtemp(prefix="nginx.", dir=ctx.run_dir)
        os.makedirs(os.path.join(self.dir, "logs"))
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(nginx_conf(ctx, cfg))
        self.base = f"http://127.0.0.1:{ctx.port}"

    def nginx(self, *args):
        return subprocess.run(
            [*self.ctx.nice, self.ctx.nginx, "-p", self.dir, "-c", self.conf,
             "-e", os.path.join(self.dir, "logs", "error.log"), *args],
            capture_output=True, text=True)

    def start(self):
        r = self.nginx()
        if r.returncode != 0:
            return (r.stderr or r.stdout).strip()
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/v2/health/ready",
                                            timeout=2) as resp:
                    if resp.status == 200:
                        return None
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        return "nginx did not become ready in 30 s: " + self.log_tail()

    def log_tail(self):
        try:
            with open(os.path.join(self.dir, "logs", "error.log")) as f:
                return " | ".join(f.read().splitlines()[-5:])
        except OSError:
            return "(no error.log)"

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "logs", "nginx.pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.master_pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def cpu_seconds(self):
        """utime + stime of the master and its workers (all threads)."""
        root = self.master_pid()
        pids, total = {root}, 0
        for p in os.listdir("/proc"):
            if p.isdigit():
                st = read_stat(p)
                if st and int(st[1]) == root:
                    pids.add(int(p))
        for p in pids:
            st = read_stat(str(p))
            if st:
                total += int(st[11]) + int(st[12])
        return total / os.sysconf("SC_CLK_TCK")

    def metrics(self):
        with urllib.request.urlopen(self.base + "/metrics", timeout=5) as r:
            return parse_metrics(r.read().decode(), self.ctx.name)


def read_stat(pid):
    """/proc/PID/stat's fields after the command name (state first)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def parse_metrics(text, model):
    out = {"buckets": {}}
    pat = re.compile(r'^(\w+)\{model="([^"]*)",version="[^"]*"'
                     r'(?:,le="([^"]+)")?\} (\d+)$')
    for line in text.splitlines():
        m = pat.match(line)
        if not m or m.group(2) != model:
            continue
        name, le, v = m.group(1), m.group(3), int(m.group(4))
        if le is not None:
            if name == "ngx_forest_batch_size_bucket":
                out["buckets"][le] = out["buckets"].get(le, 0) + v
        else:
            out[name] = out.get(name, 0) + v
    return out


def model_keys(ctx, cfg):
    """The forest_model keys of a configuration."""
    keys = [f"threads={cfg['threads']}", f"batch_delay={cfg['batch_delay']}",
            f"max_batch_size={cfg['max_batch_size']}"]
    if cfg["device"] != "cpu":
        keys += [f"device={cfg['device']}",
                 f"transfer_threshold={cfg['transfer_threshold']}"]
    return " ".join(keys + ctx.model_args)


def nginx_conf(ctx, cfg):
    return f"""load_module {ctx.module};
worker_processes {cfg['workers']};
pid logs/nginx.pid;
error_log logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_max_body_size 0;
    client_body_buffer_size {ctx.body_buffer};
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;
    forest_batch_threads {cfg['batch_threads']};
    forest_model {ctx.name} {ctx.model} {model_keys(ctx, cfg)};
    server {{
        listen 127.0.0.1:{ctx.port} backlog=4096;
        location /v2/ {{ forest_kserve; }}
        location /predict/ {{ forest_predict; }}
        location = /metrics {{ forest_metrics; }}
    }}
}}
"""


# ---- measuring ---------------------------------------------------------------

def run_wrk(ctx, conns, seconds):
    env = dict(os.environ, FOREST_TUNE_BODIES=ctx.bodies_file,
               FOREST_TUNE_PATH=ctx.path)
    threads = max(1, min(conns, ctx.wrk_threads))
    # wrk takes whole seconds
    cmd = [*ctx.nice, ctx.wrk, f"-t{threads}", f"-c{conns}",
           f"-d{max(1, round(seconds))}s",
           "--timeout", "5s", "-s", ctx.wrk_script,
           f"http://127.0.0.1:{ctx.port}{ctx.path}"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    m = re.search(r"^FOREST_TUNE (.*)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        fail(f"wrk failed: {(r.stderr or r.stdout).strip()[-500:]}")
    return {k: int(v) for k, v in
            (kv.split("=") for kv in m.group(1).split())}


def measure(ctx, server, cfg, conns, phase):
    run_wrk(ctx, conns, ctx.warmup)
    m0, c0 = server.metrics(), server.cpu_seconds()
    w = run_wrk(ctx, conns, ctx.seconds)
    m1, c1 = server.metrics(), server.cpu_seconds()
    d = {k: m1.get(k, 0) - m0.get(k, 0) for k in
         ("nv_inference_count", "nv_inference_exec_count",
          "nv_inference_queue_duration_us", "nv_inference_request_success",
          "nv_inference_request_failure")}
    dur = w["duration_us"] / 1e6
    reqs = w["requests"]
    errors = w["non2xx"] + w["errors"] + d["nv_inference_request_failure"]
    rps = reqs / dur if dur > 0 else 0.0
    row = {"config": cfg["id"], "phase": phase,
           **{k: cfg[k] for k in KNOBS}, "concurrency": conns,
           "requests_per_s": f"{rps:.1f}",
           "rows_per_s": f"{rps * ctx.rows_per_request:.1f}",
           "p50_ms": f"{w['p50_us'] / 1e3:.3f}",
           "p95_ms": f"{w['p95_us'] / 1e3:.3f}",
           "p99_ms": f"{w['p99_us'] / 1e3:.3f}",
           "server_cpu_us_per_request":
               f"{(c1 - c0) * 1e6 / reqs:.1f}" if reqs else "",
           "avg_batch_rows":
               f"{d['nv_inference_count'] / d['nv_inference_exec_count']:.2f}"
               if d["nv_inference_exec_count"] else "",
           "avg_queue_us":
               f"{d['nv_inference_queue_duration_us'] / d['nv_inference_request_success']:.1f}"
               if d["nv_inference_request_success"] else "",
           "errors": errors}
    row["within_budget"] = int(errors == 0 and reqs > 0 and
                               w["p99_us"] <= ctx.p99 * 1e6)
    buckets = {le: m1["buckets"].get(le, 0) - m0["buckets"].get(le, 0)
               for le in m1["buckets"]}
    return row, buckets


def check_answer(ctx, server):
    body = ctx.first_body.encode()
    req = urllib.request.Request(server.base + ctx.path, data=body,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
            return None
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code}: {e.read()[:300].decode(errors='replace')}"
    except (urllib.error.URLError, OSError) as e:
        return str(e)


# ---- the search ------------------------------------------------------------

def knob_grid(ncpu, gpu):
    up_to = [n for n in (1, 2, 4, 8, 16, 32, 64) if n <= ncpu] or [1]
    if ncpu not in up_to and ncpu <= 64:
        up_to.append(ncpu)
    return {"workers": up_to, "threads": up_to, "batch_threads": [1, 2, 4, 8],
            "batch_delay": ["0", "50us", "200us", "1ms"],
            "max_batch_size": [64, 256, 1024],
            "device": ["cpu", "gpu"] if gpu else ["cpu"],
            "transfer_threshold": [0, 64, 512] if gpu else [0]}


def config_key(cfg):
    c = dict(cfg)
    if c["device"] == "cpu":
        c["transfer_threshold"] = 0
    return tuple(c[k] for k in KNOBS)


def coarse_configs(grid):
    """The defaults, then each knob alone at the ends of its range."""
    out, seen = [], set()

    def add(cfg):
        if config_key(cfg) not in seen:
            seen.add(config_key(cfg))
            out.append(dict(cfg, transfer_threshold=0)
                       if cfg["device"] == "cpu" else cfg)

    base = dict(DEFAULTS)
    add(base)
    for k in ("batch_delay", "workers", "threads", "max_batch_size",
              "batch_threads", "device"):
        for v in (grid[k][-1], grid[k][0]):
            add(dict(base, **{k: v}))
    if "gpu" in grid["device"]:
        add(dict(base, device="gpu", transfer_threshold=grid[
            "transfer_threshold"][-1]))
    return out


def score(points):
    """A configuration's best throughput within the budget; below zero (the
    smaller its best p99, the higher) when no measurement met it."""
    ok = [float(p["requests_per_s"]) for p in points if p["within_budget"]]
    if ok:
        return max(ok)
    return -min(float(p["p99_ms"]) for p in points) if points else -math.inf


def refine_candidates(measured, grid):
    ranked = sorted(measured.values(),
                    key=lambda m: score(m["points"]), reverse=True)
    cands = []
    base = measured.get(config_key(DEFAULTS))
    floor = score(base["points"]) if base else 0.0
    if ranked and score(ranked[0]["points"]) > max(0.0, floor):
        # every knob at the value of the best configuration that moved it
        # and beat the defaults
        best = dict(ranked[0]["cfg"])
        for m in ranked[1:]:
            if score(m["points"]) <= max(0.0, floor):
                break
            for k in KNOBS:
                if m["cfg"][k] != DEFAULTS[k] and best[k] == DEFAULTS[k]:
                    best[k] = m["cfg"][k]
        cands.append(best)
    for m in ranked[:2]:
        for k in KNOBS:
            vals = grid[k]
            i = vals.index(m["cfg"][k])
            for j in (i + 1, i - 1):
                if 0 <= j < len(vals):
                    cands.append(dict(m["cfg"], **{k: vals[j]}))
    return [c for c in cands if config_key(c) not in measured]


def pareto(rows):
    """Sweep rows no other sweep row beats on both throughput and p99 (the
    re-measurements are drawn apart, as the recommendation)."""
    pts = [(float(r["requests_per_s"]), float(r["p99_ms"]), i)
           for i, r in enumerate(rows)
           if not int(r["errors"]) and r["phase"] != "confirm"]
    front = set()
    for rps, p99, i in pts:
        if not any((o_rps >= rps and o_p99 <= p99) and
                   (o_rps > rps or o_p99 < p99) for o_rps, o_p99, _ in pts):
            front.add(i)
    return front


class Context:
    pass


def describe(cfg):
    return " ".join(f"{key}={cfg[key]}" for key in KNOBS
                    if key not in ("device", "transfer_threshold")
                    or cfg["device"] != "cpu")


class Progress:
    def __init__(self, ctx):
        self.ctx, self.done, self.t0 = ctx, 0, time.time()

    def left(self, planned):
        per = ((time.time() - self.t0) / self.done if self.done
               else self.ctx.seconds + self.ctx.warmup + 1.0)
        return fmt_seconds(per * max(0, planned - self.done))

    def line(self, label, cfg, row, planned):
        self.done += 1
        msg = (f"{label}: {describe(cfg)} c={row['concurrency']}: "
               f"{row['requests_per_s']} req/s p99 {row['p99_ms']} ms"
               f"{'' if row['within_budget'] else ' (over budget)'}; "
               f"about {self.left(planned)} left")
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()


def run_config(ctx, cfg, phase, conc_list, progress, label, planned):
    server = Server(ctx, cfg)
    err = server.start()
    try:
        if err is None:
            err = check_answer(ctx, server)
        if err is not None:
            sys.stderr.write(f"{label}: {describe(cfg)} does not serve: "
                             f"{err}\n")
            return [], {}
        rows, hists = [], {}
        for c in conc_list:
            row, buckets = measure(ctx, server, cfg, c, phase)
            rows.append(row)
            hists[c] = buckets
            progress.line(label, cfg, row, planned)
        return rows, hists
    finally:
        server.stop()


def gpu_serves(ctx):
    cfg = dict(DEFAULTS, device="gpu", id=0)
    s = Server(ctx, cfg)
    return s.nginx("-t").returncode == 0


def sweep(ctx):
    grid = knob_grid(ctx.ncpu, ctx.gpu)
    coarse = coarse_configs(grid)[:ctx.max_configs]
    measured, results, hists = {}, [], {}
    n = ctx.max_configs if ctx.refine else len(coarse)
    progress = Progress(ctx)
    # and the re-measurement at the end
    planned = n * len(ctx.concurrency) + 1

    def one(cfg, phase):
        cfg = dict(cfg, id=len(measured) + 1)
        rows, h = run_config(ctx, cfg, phase, ctx.concurrency, progress,
                             f"configuration {cfg['id']} of {n}", planned)
        measured[config_key(cfg)] = {"cfg": cfg, "points": rows}
        results.extend(rows)
        hists[cfg["id"]] = h

    for cfg in coarse:
        one(cfg, "coarse")
    while ctx.refine and len(measured) < ctx.max_configs:
        cands = refine_candidates(measured, grid)
        if not cands:
            break
        one(cands[0], "refine")
    return measured, results, hists


def recommend(ctx, measured, results, hists):
    """Re-measures the best in-budget point; the first that holds is it."""
    ranked = sorted((r for r in results if r["within_budget"]),
                    key=lambda r: float(r["requests_per_s"]), reverse=True)
    tried = set()
    progress = Progress(ctx)
    for r in ranked:
        if len(tried) == 3:
            break
        if (r["config"], r["concurrency"]) in tried:
            continue
        tried.add((r["config"], r["concurrency"]))
        cfg = next(m["cfg"] for m in measured.values()
                   if m["cfg"]["id"] == r["config"])
        rows, h = run_config(ctx, cfg, "confirm", [r["concurrency"]],
                             progress, f"re-measuring configuration "
                             f"{cfg['id']}", 1)
        results.extend(rows)
        if rows and rows[0]["within_budget"]:
            hists["confirm"] = h[r["concurrency"]]
            return cfg, rows[0]
    return None, None


# ---- the outputs ------------------------------------------------------------

def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)


def bucket_order(le):
    return math.inf if le == "+Inf" else float(le)


def charts(ctx, results, front, rec_row, hists, rec_cfg):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    files = {}
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    sweep_rows = [r for r in results if r["phase"] != "confirm"]
    concs = sorted({r["concurrency"] for r in sweep_rows})
    cmap = plt.get_cmap("viridis", max(2, len(concs)))
    for i, c in enumerate(concs):
        pts = [r for r in sweep_rows if r["concurrency"] == c]
        ax.scatter([float(r["p99_ms"]) for r in pts],
                   [float(r["requests_per_s"]) for r in pts],
                   color=cmap(i), s=28, alpha=0.8, label=f"{c} connections")
    fr = sorted((results[i] for i in front),
                key=lambda r: float(r["p99_ms"]))
    ax.plot([float(r["p99_ms"]) for r in fr],
            [float(r["requests_per_s"]) for r in fr], "-o", color="#d62728",
            mfc="none", ms=10, lw=1.5, label="Pareto frontier")
    for r in fr:
        ax.annotate(f"config {r['config']}", (float(r["p99_ms"]),
                    float(r["requests_per_s"])), textcoords="offset points",
                    xytext=(6, -12), fontsize=7, color="#d62728")
    ax.axvline(ctx.p99 * 1e3, color="#555", ls="--", lw=1,
               label=f"p99 budget {ctx.p99 * 1e3:g} ms")
    if rec_row is not None:
        ax.scatter([float(rec_row["p99_ms"])],
                   [float(rec_row["requests_per_s"])], marker="*", s=260,
                   color="#ff7f0e", edgecolor="k", zorder=5,
                   label=f"recommended (config {rec_row['config']}, "
                         f"re-measured)")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(
        base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("p99 latency (ms, log scale)")
    ax.set_ylabel("requests/s")
    ax.set_title(f"{ctx.name}: throughput against p99 "
                 f"(rows per request: {ctx.rows_per_request:g})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(ctx.out, f"throughput_p99.{ext}"))
    plt.close(fig)
    files["throughput"] = "throughput_p99.png"

    fig, ax = plt.subplots(figsize=(8, 4), dpi=110)
    shown = []
    if "confirm" in hists:
        shown.append((f"recommended (config {rec_cfg['id']}, c="
                      f"{rec_row['concurrency']})", hists["confirm"]))
    base = hists.get(1, {})
    if base:
        c = max(base)
        shown.append((f"defaults (config 1, c={c})", base[c]))
    # the buckets are cumulative (Prometheus "le"): executions per bucket
    # are the differences, shown up to the largest bucket used
    per_bucket = []
    for name, h in shown:
        prev, own = 0, {}
        for le in sorted(h, key=bucket_order):
            own[le], prev = h[le] - prev, h[le]
        per_bucket.append((name, own))
    shown = per_bucket
    used = [le for _, h in shown for le in h if h[le] > 0]
    top = max(map(bucket_order, used)) if used else 1
    labels = sorted({le for _, h in shown for le in h
                     if bucket_order(le) <= top}, key=bucket_order)
    width = 0.8 / max(1, len(shown))
    for i, (name, h) in enumerate(shown):
        total = sum(h.values()) or 1
        ax.bar([x + i * width for x in range(len(labels))],
               [100.0 * h.get(le, 0) / total for le in labels], width,
               label=name)
    ax.set_xticks([x + width * (len(shown) - 1) / 2
                   for x in range(len(labels))])
    ax.set_xticklabels([f"≤{le}" if le != "+Inf" else "more"
                        for le in labels], fontsize=8)
    ax.set_xlabel("rows per model execution (ngx_forest_batch_size buckets)")
    ax.set_ylabel("% of executions")
    ax.set_title("batch sizes the module formed")
    ax.legend(fontsize=8)
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(ctx.out, f"batch_sizes.{ext}"))
    plt.close(fig)
    files["batches"] = "batch_sizes.png"
    return files


def conf_fragment(ctx, cfg, row):
    return (f"# forest tune: configuration {cfg['id']}, re-measured at "
            f"{row['concurrency']} connections:\n"
            f"#   {row['requests_per_s']} requests/s, {row['rows_per_s']} "
            f"rows/s, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms "
            f"(budget {ctx.p99 * 1e3:g} ms)\n"
            f"# main context:\n"
            f"worker_processes {cfg['workers']};\n"
            f"# http context:\n"
            f"forest_batch_threads {cfg['batch_threads']};\n"
            f"forest_model {ctx.name} {ctx.model} {model_keys(ctx, cfg)};\n")


def embed(path):
    with open(path, "rb") as f:
        return "data:image/png;base64," + base64.b64encode(f.read()).decode()


def table_html(rows, table_id, front=()):
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = []
    for i, r in enumerate(rows):
        cls = ' class="front"' if i in front else ""
        body.append(f"<tr{cls}>" + "".join(
            f"<td>{html.escape(str(r[c]))}</td>" for c in COLUMNS) + "</tr>")
    return (f'<div class="wide"><table id="{table_id}"><thead><tr>{head}'
            f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def write_report(ctx, results, front, rec_cfg, rec_row, files):
    if rec_row is not None:
        summary = (
            f"<p>Recommended: configuration {rec_cfg['id']} "
            f"(<code>worker_processes {rec_cfg['workers']}</code>, "
            f"<code>forest_batch_threads {rec_cfg['batch_threads']}</code>, "
            f"<code>threads={rec_cfg['threads']} batch_delay="
            f"{rec_cfg['batch_delay']} max_batch_size="
            f"{rec_cfg['max_batch_size']}</code>"
            + (f", <code>device={rec_cfg['device']} transfer_threshold="
               f"{rec_cfg['transfer_threshold']}</code>"
               if rec_cfg["device"] != "cpu" else "") +
            "), re-measured:</p>" + table_html([rec_row], "recommended"))
        conf = html.escape(conf_fragment(ctx, rec_cfg, rec_row))
        summary += f"<pre id=\"conf\">{conf}</pre>"
    else:
        summary = ("<p id=\"none\">No configuration met the p99 budget "
                   "(twice): see the table for the lowest p99.</p>")
    with open(os.path.join(ctx.out, "report.html"), "w") as f:
        f.write(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>forest tune: {html.escape(ctx.name)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222; }}
div.wide {{ overflow-x: auto; }}
table {{ border-collapse: collapse; font-size: 11px; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #bbb; padding: 2px 6px; text-align: right; }}
th {{ background: #eee; }} tr.front td {{ background: #fde8e8; }}
img {{ max-width: 100%; border: 1px solid #ddd; }}
pre {{ background: #f6f6f6; padding: 0.6em; }}
</style></head><body>
<h1>forest tune: {html.escape(ctx.name)}</h1>
<p>Model <code>{html.escape(ctx.model)}</code> ({html.escape(ctx.info.get('format', '?'))},
{html.escape(ctx.info.get('trees', '?'))} trees, {ctx.info['n_features']} features);
{html.escape(ctx.source)}, rows per request: {ctx.rows_per_request:g};
p99 budget {ctx.p99 * 1e3:g} ms; {ctx.seconds:g} s per measurement at
{', '.join(map(str, ctx.concurrency))} connections; {ctx.ncpu} CPUs
({html.escape(ctx.cpu_model)}), wrk on the same machine{f", nice {ctx.nice[2]}" if ctx.nice else ""};
load average {ctx.load_start} at the start, {ctx.load_end} at the end (other work on the
machine shares its CPUs).</p>
<h2>Recommendation</h2>
{summary}
<h2>Throughput against p99</h2>
<img id="chart-throughput" alt="throughput against p99" src="{embed(os.path.join(ctx.out, files['throughput']))}">
<h2>Batch sizes</h2>
<img id="chart-batches" alt="batch-size histogram" src="{embed(os.path.join(ctx.out, files['batches']))}">
<h2>Every measurement</h2>
<p>Rows on the Pareto frontier are shaded; the same table is results.csv.</p>
{table_html(results, "results", front)}
<script>
window.addEventListener("load", function () {{
  var ok = 0, imgs = document.images;
  for (var i = 0; i < imgs.length; i++) {{
    if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;
  }}
  document.body.setAttribute("data-images-loaded", ok + "/" + imgs.length);
}});
</script>
</body></html>
""")


# ---- main --------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(
        prog="forest tune", description=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--requests", help="request bodies: one JSON body a "
                    "line, or one JSON document (KServe v2 or "
                    "{\"instances\": ...})")
    ap.add_argument("--rows", type=int, default=1,
                    help="rows per generated request (default 1)")
    ap.add_argument("--p99", default="2ms", help="p99 latency budget")
    ap.add_argument("--concurrency", default="1,16,64,256",
                    help="connections, comma-separated")
    ap.add_argument("--time", default="10s", help="per measurement")
    ap.add_argument("--warmup", default=None,
                    help="before each measurement (default: a quarter of "
                    "--time, 1s to 2s)")
    ap.add_argument("--out", default="forest-tune")
    ap.add_argument("--max-configs", type=int, default=12,
                    help="configurations to measure (default 12)")
    ap.add_argument("--no-refine", action="store_true",
                    help="measure the coarse set only")
    ap.add_argument("--gpu", choices=["auto", "on", "off"], default="auto",
                    help="sweep device=gpu and transfer_threshold (auto: "
                    "where nginx -t accepts device=gpu)")
    ap.add_argument("--format", help="the model's format (forest_model "
                    "format=)")
    ap.add_argument("--model-args", default="",
                    help="more forest_model keys, e.g. 'predict_proba=on'")
    ap.add_argument("--nginx")
    ap.add_argument("--module")
    ap.add_argument("--wrk", default=shutil.which("wrk"))
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--nice", type=int, default=0,
                    help="niceness of nginx and wrk alike (e.g. -10 on a "
                    "machine shared with other work; root only)")
    ap.add_argument("--cpus", type=int, default=len(os.sched_getaffinity(0)),
                    help="largest workers and threads to try")
    a = ap.parse_args()

    # charts() draws at the end: fail before the sweep, not after it
    if importlib.util.find_spec("matplotlib") is None:
        fail("the charts need matplotlib (apt-get install python3-matplotlib, "
             "or pip install matplotlib)")
    ctx = Context()
    ctx.model = os.path.abspath(a.model)
    if not os.path.isfile(ctx.model):
        fail(f"{a.model}: no such file")
    ctx.p99 = parse_duration(a.p99, "--p99")
    ctx.seconds = parse_duration(a.time, "--time")
    ctx.warmup = (parse_duration(a.warmup, "--warmup") if a.warmup
                  else min(2.0, max(1.0, ctx.seconds / 4)))
    if ctx.seconds < 1:
        fail("--time must be at least 1s")
    try:
        ctx.concurrency = [int(c) for c in a.concurrency.split(",")]
    except ValueError:
        fail(f"--concurrency {a.concurrency!r}: numbers, comma-separated")
    if not ctx.concurrency or min(ctx.concurrency) < 1:
        fail("--concurrency: at least one connection each")
    if a.rows < 1 or a.max_configs < 1:
        fail("--rows and --max-configs must be at least 1")
    if not a.wrk:
        fail("no wrk (apt-get install wrk, or give --wrk PATH)")
    ctx.wrk, ctx.wrk_threads = a.wrk, a.wrk_threads
    ctx.nice = ["nice", "-n", str(a.nice)] if a.nice else []
    ctx.max_configs, ctx.refine = a.max_configs, not a.no_refine
    ctx.ncpu = max(1, a.cpus)
    ctx.model_args = a.model_args.split() + (
        [f"format={a.format}"] if a.format else [])
    forest_bin = find_forest()
    ctx.nginx = find_nginx(a.nginx)
    ctx.module = find_module(a.module, forest_bin)
    ctx.wrk_script = find_wrk_script()
    ctx.info = model_info(forest_bin, ctx.model, a.format)
    ctx.name = re.sub(r"[^A-Za-z0-9_.-]", "_",
                      os.path.splitext(os.path.basename(ctx.model))[0])[:63]
    if ctx.name in (".", "..", "stats", ""):
        ctx.name = "model"
    ctx.port = a.port or free_port()
    ctx.cpu_model = next((l.split(":", 1)[1].strip() for l in
                          open("/proc/cpuinfo") if l.startswith("model name")),
                         "unknown CPU")

    if a.requests:
        bodies = read_bodies(a.requests)
        ctx.source = f"{len(bodies)} request bodies from {a.requests}"
    else:
        bodies = generated_bodies(ctx.info, a.rows, 256)
        ctx.source = ("256 requests made from the model's split thresholds")
    v2 = "inputs" in bodies[0] and isinstance(bodies[0]["inputs"], list) \
        and bodies[0]["inputs"] and isinstance(bodies[0]["inputs"][0], dict)
    ctx.path = (f"/v2/models/{ctx.name}/infer" if v2
                else f"/predict/{ctx.name}")
    ctx.rows_per_request = sum(map(body_rows, bodies)) / len(bodies)
    lines = [json.dumps(b, separators=(",", ":")) for b in bodies]
    ctx.first_body = lines[0]
    ctx.body_buffer = f"{max(16, max(map(len, lines)) // 1024 + 2)}k"

    os.makedirs(a.out, exist_ok=True)
    ctx.out = os.path.abspath(a.out)
    ctx.run_dir = tempfile.mkdtemp(prefix="forest-tune.")
    try:
        ctx.bodies_file = os.path.join(ctx.run_dir, "bodies.jsonl")
        with open(ctx.bodies_file, "w") as f:
            f.write("\n".join(lines) + "\n")
        ctx.gpu = a.gpu == "on" or (a.gpu == "auto" and gpu_serves(ctx))
        sys.stderr.write(
            f"forest tune: {ctx.name} ({ctx.info['n_features']} features), "
            f"{ctx.source}; p99 budget {ctx.p99 * 1e3:g} ms; "
            f"{ctx.seconds:g}s per measurement; nginx {ctx.nginx}, module "
            f"{ctx.module}{'; GPU knobs on' if ctx.gpu else ''}\n")
        ctx.load_start = load_average()
        measured, results, hists = sweep(ctx)
        if not results:
            fail("no configuration could serve the model (see the lines "
                 "above)")
        rec_cfg, rec_row = recommend(ctx, measured, results, hists)
        ctx.load_end = load_average()
    finally:
        shutil.rmtree(ctx.run_dir, ignore_errors=True)

    front = pareto(results)
    for i, r in enumerate(results):
        r["pareto"] = int(i in front)
    write_csv(os.path.join(ctx.out, "results.csv"), results)
    files = charts(ctx, results, front, rec_row, hists, rec_cfg)
    write_report(ctx, results, front, rec_cfg, rec_row, files)
    conf_path = os.path.join(ctx.out, "recommended.conf")
    if rec_row is not None:
        with open(conf_path, "w") as f:
            f.write(conf_fragment(ctx, rec_cfg, rec_row))
        print(f"recommended (configuration {rec_cfg['id']}, "
              f"{rec_row['requests_per_s']} req/s, p99 {rec_row['p99_ms']} "
              f"ms at {rec_row['concurrency']} connections):")
        print(conf_fragment(ctx, rec_cfg, rec_row), end="")
    else:
        if os.path.exists(conf_path):
            os.remove(conf_path)
        print(f"no configuration met the p99 budget of {ctx.p99 * 1e3:g} ms; "
              f"no recommended.conf")
    print(f"report: {os.path.join(ctx.out, 'report.html')}")
    return 0 if rec_row is not None else 1


if __name__ == "__main__":
    sys.exit(main())
