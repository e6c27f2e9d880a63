#!/usr/bin/env python3
"""Checks of tests/suite_tune.sh; each exits 1 with the reason on failure.

  tune_checks.py outputs DIR BUDGET_MS
      forest tune's files in DIR agree: the recommended configuration was
      measured and re-measured, the re-measurement meets the budget,
      recommended.conf holds that configuration's settings, report.html's
      tables equal results.csv, the charts are real PNG and SVG files.
  tune_checks.py search
      the sweep's plan on made-up measurements: the coarse set is the
      defaults and one knob moved at a time, the refinement combines the
      knobs that beat the defaults and steps around the best, nothing is
      planned twice, and the Pareto frontier is the undominated points.
  tune_checks.py screenshot PNG
      a screenshot that shows something (not one colour).
  tune_checks.py grafana DASHBOARD
      DASHBOARD reads into Grafana's dashboard models (the pinned
      grafana-foundation-sdk): the dashboard, every panel, query and
      variable, with no key the models do not know and every value of the
      models' type; and copies with an unknown key or a wrong type in each
      of those places fail (the check bites).
  tune_checks.py metrics DASHBOARD METRICS_TEXT
      every metric name the dashboard's queries use is one /metrics
      exports, every exported family is shown, and the queries' labels are
      the module's (model, version, le, worker) or Prometheus' own
      (instance, job).
"""
import copy
import csv
import enum
import json
import re
import sys
import types
import typing
import xml.etree.ElementTree as ET
from html.parser import HTMLParser


def die(msg):
    print(msg)
    sys.exit(1)


class Tables(HTMLParser):
    """The rows of every <table id=...> (cell texts), and <pre id=conf>."""

    def __init__(self):
        super().__init__()
        self.tables, self.cur, self.row, self.cell = {}, None, None, None
        self.pre = None
        self.conf = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.cur = self.tables.setdefault(a.get("id"), [])
        elif tag == "tr" and self.cur is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""
        elif tag == "pre" and a.get("id") == "conf":
            self.pre = True

    def handle_endtag(self, tag):
        if tag == "table":
            self.cur = None
        elif tag == "tr" and self.row is not None:
            self.cur.append(self.row)
            self.row = None
        elif tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell)
            self.cell = None
        elif tag == "pre":
            self.pre = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        if self.pre:
            self.conf += data


def check_png(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        die(f"{path}: not a PNG")
    w, h = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24],
                                                              "big")
    if w < 200 or h < 200:
        die(f"{path}: {w}x{h}, too small for a chart")


def outputs(out, budget_ms):
    budget_ms = float(budget_ms)
    with open(f"{out}/results.csv") as f:
        rows = list(csv.reader(f))
    header, data = rows[0], rows[1:]
    col = {c: i for i, c in enumerate(header)}
    sweep = [r for r in data if r[col["phase"]] != "confirm"]
    confirm = [r for r in data if r[col["phase"]] == "confirm"]
    if len({r[col["config"]] for r in sweep}) != 2:
        die(f"results.csv: {len(sweep)} sweep rows, expected 2 configurations")
    if not confirm:
        die("results.csv: no re-measurement (phase confirm)")
    with open(f"{out}/recommended.conf") as f:
        conf = f.read()
    m = re.search(r"configuration (\d+), re-measured at (\d+) connections",
                  conf)
    if not m:
        die(f"recommended.conf names no configuration: {conf[:200]}")
    cid, conns = m.group(1), m.group(2)
    measured = [r for r in sweep if r[col["config"]] == cid
                and r[col["concurrency"]] == conns]
    again = [r for r in confirm if r[col["config"]] == cid
             and r[col["concurrency"]] == conns]
    if not measured or not again:
        die(f"configuration {cid} at {conns} connections was not measured "
            f"and re-measured")
    rec = again[-1]
    if float(rec[col["p99_ms"]]) > budget_ms or rec[col["within_budget"]] != "1" \
            or rec[col["errors"]] != "0":
        die(f"recommended p99 {rec[col['p99_ms']]} ms, errors "
            f"{rec[col['errors']]}: not within {budget_ms} ms")
    want = {"worker_processes": rec[col["workers"]],
            "forest_batch_threads": rec[col["batch_threads"]]}
    for k, v in want.items():
        if not re.search(rf"^{k} {v};$", conf, re.M):
            die(f"recommended.conf lacks '{k} {v};'")
    for k in ("threads", "batch_delay", "max_batch_size"):
        if not re.search(rf"^forest_model .* {k}={rec[col[k]]}[ ;]", conf,
                         re.M):
            die(f"recommended.conf's forest_model lacks {k}={rec[col[k]]}")
    if f"{rec[col['requests_per_s']]} requests/s" not in conf:
        die("recommended.conf's numbers are not the re-measurement's")

    p = Tables()
    with open(f"{out}/report.html") as f:
        p.feed(f.read())
    if p.tables.get("results") != rows:
        die("report.html's table#results differs from results.csv")
    if p.tables.get("recommended") != [header, rec]:
        die("report.html's recommendation differs from results.csv's "
            "re-measurement")
    if p.conf != conf:
        die("report.html's nginx.conf lines differ from recommended.conf")
    for name in ("throughput_p99", "batch_sizes"):
        check_png(f"{out}/{name}.png")
        root = ET.parse(f"{out}/{name}.svg").getroot()
        if not root.tag.endswith("svg"):
            die(f"{name}.svg: not SVG")
    print(f"configuration {cid} at {conns} connections: "
          f"{rec[col['requests_per_s']]} req/s, p99 {rec[col['p99_ms']]} ms")


def search():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "forest_tune", "scripts/forest_tune.py")
    ft = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ft)
    grid = ft.knob_grid(4, gpu=False)
    coarse = ft.coarse_configs(grid)
    if coarse[0] != ft.DEFAULTS:
        die(f"the first configuration is not the defaults: {coarse[0]}")
    keys = [ft.config_key(c) for c in coarse]
    if len(set(keys)) != len(keys):
        die("the coarse set measures a configuration twice")
    for c in coarse[1:]:
        moved = [k for k in ft.KNOBS if c[k] != ft.DEFAULTS[k]]
        if len(moved) != 1:
            die(f"coarse configuration moves {moved}, not one knob")
    if {c["workers"] for c in coarse} != {1, 4} or \
            {c["batch_delay"] for c in coarse} != {"0", "1ms"}:
        die("the coarse set misses the ends of a range")
    gpu = ft.coarse_configs(ft.knob_grid(4, gpu=True))
    if not any(c["device"] == "gpu" and c["transfer_threshold"] == 512
               for c in gpu):
        die("with a GPU the coarse set has no device=gpu transfer_threshold")

    def point(rps, p99, ok):
        return {"requests_per_s": str(rps), "p99_ms": str(p99),
                "within_budget": int(ok), "errors": "0", "phase": "coarse"}
    # made-up results: 4 workers and max_batch_size=64 each beat the
    # defaults, batch_delay=1ms does not
    results = {(): 1000, ("workers", 4): 3000, ("max_batch_size", 64): 1500,
               ("batch_delay", "1ms"): 500}
    measured = {}
    for i, (change, rps) in enumerate(results.items()):
        cfg = dict(ft.DEFAULTS, id=i + 1, **dict([change] if change else []))
        measured[ft.config_key(cfg)] = {"cfg": cfg,
                                        "points": [point(rps, 1.0, True)]}
    cands = ft.refine_candidates(measured, grid)
    want = dict(ft.DEFAULTS, workers=4, max_batch_size=64)
    if not cands or ft.config_key(cands[0]) != ft.config_key(want):
        die(f"refinement does not start from the knobs that beat the "
            f"defaults: {cands[:1]}")
    if any(c["batch_delay"] == "1ms" for c in cands[:1]):
        die("refinement adopts a knob that lost to the defaults")
    if any(ft.config_key(c) in measured for c in cands):
        die("refinement plans a configuration already measured")
    if not any(c["workers"] == 2 and c["max_batch_size"] == 1024
               for c in cands):
        die("refinement does not step around the best configuration")
    rows = [point(100, 5, True), point(200, 10, True), point(150, 20, True),
            point(50, 1, True), dict(point(300, 50, True), phase="confirm")]
    if ft.pareto(rows) != {0, 1, 3}:
        die(f"Pareto frontier {sorted(ft.pareto(rows))}, expected [0, 1, 3]")
    print(f"{len(coarse)} coarse configurations, {len(cands)} refinements "
          f"planned")


def screenshot(path):
    check_png(path)
    import matplotlib.image
    img = matplotlib.image.imread(path)
    if img.reshape(-1, img.shape[-1]).std(axis=0).max() < 0.01:
        die(f"{path}: one colour, nothing rendered")


class GrafanaModels:
    """Checks a dashboard against grafana_foundation_sdk's models.

    from_json alone accepts anything: it drops keys it does not know and
    keeps values of any type.  So each object is read with its model, the
    model written back (to_json) must hold every key of the input with the
    same value, and every value is checked against the model's type hints,
    nested models read the same way.
    """

    def __init__(self):
        from grafana_foundation_sdk.cog import encoder, plugins, runtime
        from grafana_foundation_sdk.cog import variants
        from grafana_foundation_sdk.models import dashboard
        plugins.register_default_plugins()
        self.encoder, self.runtime = encoder.JSONEncoder, runtime
        self.Dataquery = variants.Dataquery
        self.Dashboard = dashboard.Dashboard
        self.problems = []

    def check(self, dash):
        self.problems = []
        for i, p in enumerate(dash.get("panels", [])):
            if isinstance(p, dict) and p.get("type") != "row" and \
                    self.runtime.panelcfg_config(p.get("type", "")) is None:
                self.problems.append(f"panels[{i}]: panel type "
                                     f"{p.get('type')!r} has no model")
        self.model(self.Dashboard, dash, "dashboard")
        return self.problems

    def model(self, cls, data, path):
        if not isinstance(data, dict):
            self.problems.append(f"{path}: {type(data).__name__}, "
                                 f"expected an object ({cls.__name__})")
            return
        try:
            obj = cls.from_json(data)
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            self.problems.append(f"{path}: {cls.__name__} cannot read it "
                                 f"({e!r})")
            return
        back = json.loads(json.dumps(obj, cls=self.encoder))
        self.same(data, back, path)
        self.fields(obj, path)

    def same(self, data, back, path):
        """Every key and value of data is in back."""
        if isinstance(data, dict) and isinstance(back, dict):
            for k, v in data.items():
                if k not in back:
                    self.problems.append(f"{path}.{k}: a key the model "
                                         f"does not know")
                else:
                    self.same(v, back[k], f"{path}.{k}")
        elif isinstance(data, list) and isinstance(back, list) \
                and len(data) == len(back):
            for i, (a, b) in enumerate(zip(data, back)):
                self.same(a, b, f"{path}[{i}]")
        elif data != back or type(data) is not type(back):
            self.problems.append(f"{path}: {data!r} reads back as {back!r}")

    def fields(self, obj, path):
        for name, hint in typing.get_type_hints(type(obj)).items():
            if hasattr(obj, name):
                self.value(getattr(obj, name), hint, f"{path}.{name}")

    def value(self, v, hint, path):
        """Appends to problems unless v is of type hint."""
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            if v is None and type(None) in args:
                return
            for arm in args:  # a model read already: its own type only
                if hasattr(arm, "from_json") and isinstance(v, arm):
                    self.value(v, arm, path)
                    return
            tried = []
            for arm in args:
                if arm is type(None):
                    continue
                kept, self.problems = self.problems, []
                self.value(v, arm, path)
                tried.append(self.problems)
                self.problems = kept
                if not tried[-1]:
                    return
            self.problems += min(tried, key=len)
            return
        if origin is typing.Literal:
            if v not in args:
                self.problems.append(f"{path}: {v!r}, expected one of "
                                     f"{list(args)}")
            return
        if origin in (list, dict):
            if not isinstance(v, origin):
                self.problems.append(f"{path}: {type(v).__name__}, "
                                     f"expected {origin.__name__}")
                return
            items = enumerate(v) if origin is list else v.items()
            for k, item in items:
                self.value(item, args[-1], f"{path}[{k!r}]")
            return
        if hint in (typing.Any, object):
            if hasattr(v, "to_json"):  # a panel's options, a field's custom
                self.fields(v, path)
            return
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            ok = isinstance(v, hint) or (
                type(v) is not bool and v in {m.value for m in hint})
            if not ok:
                self.problems.append(f"{path}: {v!r}, expected one of "
                                     f"{[m.value for m in hint]}")
            return
        if hint is self.Dataquery:
            if not isinstance(v, self.Dataquery) or \
                    type(v) is self.runtime.UnknownDataquery:
                self.problems.append(f"{path}: a query of no known data "
                                     f"source type")
            else:
                self.fields(v, path)
            return
        if hasattr(hint, "from_json"):
            if isinstance(v, hint):
                self.fields(v, path)
            else:  # some fields keep the raw JSON: read it with its model
                self.model(hint, v, path)
            return
        scalar = {bool: (bool,), int: (int,), float: (int, float),
                  str: (str,)}.get(hint)
        if scalar is not None:
            if type(v) not in scalar:
                self.problems.append(f"{path}: {v!r}, expected "
                                     f"{hint.__name__}")
            return
        if not isinstance(v, hint):
            self.problems.append(f"{path}: {v!r}, expected {hint}")


def grafana(dash_path):
    with open(dash_path) as f:
        dash = json.load(f)
    models = GrafanaModels()
    problems = models.check(dash)
    if problems:
        die("; ".join(problems[:5]))
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    panel = ("panels", dash["panels"].index(panels[0]))
    row = ("panels", next(i for i, p in enumerate(dash["panels"])
                          if p["type"] == "row"))
    var = ("templating", "list", next(
        i for i, v in enumerate(dash["templating"]["list"])
        if v["type"] == "query"))
    query = panel + ("targets", 0)
    # (the objects to change, key, value, what the check must then name)
    bad = [([()], "bogusField", 1, "bogusField"),
           ([()], "graphTooltip", 7, "graph_tooltip"),
           ([()], "refresh", 30, "refresh"),
           ([panel], "bogusField", 1, "bogusField"),
           ([panel + ("gridPos",)], "h", "8", "grid_pos.h"),
           ([panel], "title", ["x"], "title"),
           ([panel + ("options", "legend")], "bogus", 1, "legend.bogus"),
           ([panel + ("options", "tooltip")], "mode", "x", "tooltip.mode"),
           ([panel + ("fieldConfig", "defaults")], "unit", 5,
            "defaults.unit"),
           ([query], "exprr", "up", "exprr"),
           ([query], "range", "yes", "range"),
           ([panel + ("datasource",), query + ("datasource",)], "type",
            "nosuchdb", "targets[0]"),
           ([row], "collapsed", "no", "collapsed"),
           ([var], "multii", True, "multii"),
           ([var], "multi", "yes", "multi"),
           ([var], "refresh", 9, "refresh")]
    for places, key, value, want in bad:
        d = copy.deepcopy(dash)
        for place in places:
            obj = d
            for step in place:
                obj = obj[step]
            obj[key] = value
        got = models.check(d)
        if not any(want in g for g in got):
            die(f"a dashboard with {key}={value!r} passes the check "
                f"({got[:2]}): it checks nothing at {want}")
    n_targets = sum(len(p.get("targets", [])) for p in panels)
    print(f"{len(panels)} panels, {n_targets} queries, "
          f"{len(dash['templating']['list'])} variables valid; "
          f"{len(bad)} broken copies caught")


PROMQL_WORDS = {"sum", "by", "rate", "increase", "histogram_quantile",
                "label_values", "without", "avg", "max", "min"}


def queries(dash):
    for p in dash["panels"]:
        for t in p.get("targets", []):
            yield p["title"], t["expr"]
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            yield f"variable {v['name']}", v["query"]


def metrics(dash_path, metrics_path):
    with open(dash_path) as f:
        dash = json.load(f)
    with open(metrics_path) as f:
        text = f.read()
    exported = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", text, re.M))
    labels = set(re.findall(r"[{,]([a-zA-Z_]\w*)=", text)) | {"instance",
                                                             "job"}
    if not exported:
        die("/metrics exported nothing")
    used = set()
    for title, q in queries(dash):
        names = set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{\[]", q))
        names |= set(re.findall(r"label_values\(\s*([a-zA-Z_:]\w*)", q))
        names -= PROMQL_WORDS
        if not names:
            die(f"{title}: no metric in {q}")
        unknown = names - exported
        if unknown:
            die(f"{title}: {sorted(unknown)} not in /metrics")
        used |= names
        ql = set(re.findall(r'([a-zA-Z_]\w*)\s*(?:=~|!=|!~|=)\s*"', q))
        for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", q):
            ql |= {l.strip() for l in group.split(",") if l.strip()}
        if ql - labels:
            die(f"{title}: labels {sorted(ql - labels)} are not exported")
    # a histogram is one family: NAME_bucket, NAME_sum, NAME_count
    hist = {n[:-len("_bucket")] for n in exported if n.endswith("_bucket")}
    families = hist | {n for n in exported if not any(
        n in (h + "_bucket", h + "_sum", h + "_count") for h in hist)}
    missing = {f for f in families if f not in used and not (
        f in hist and any(u.startswith(f + "_") for u in used))}
    if missing:
        die(f"exported but not on the dashboard: {sorted(missing)}")
    print(f"{len(used)} metric names, all exported")


def main():
    cmds = {"outputs": (outputs, 2), "search": (search, 0),
            "screenshot": (screenshot, 1),
            "grafana": (grafana, 1), "metrics": (metrics, 2)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds \
            or len(sys.argv) != cmds[sys.argv[1]][1] + 2:
        sys.exit(__doc__)
    cmds[sys.argv[1]][0](*sys.argv[2:])


if __name__ == "__main__":
    main()
