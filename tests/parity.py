#!/usr/bin/env python3
"""Parity of `forest predict` with the originating libraries' own outputs.

    parity.py BUILD_DIR

Models are discovered by file name in the reference set
(tests/reference/models, scripts/import_reference_models.sh) and in
tests/models/: a model is any file <stem>.<ext> next to <stem>.expected.csv
(tests/models files may use the reference set's outputs of the same stem,
e.g. its scikit-learn pickles converted to Treelite checkpoints).  For each one
`forest predict` runs on <stem>.input.csv (output transformed, with --margin,
on <stem>.input.f32, with --threads 2, and with format detection) and every
cell is compared: probabilities within 1e-5 absolute, anything else within
1e-4 * max(1, |expected|).  Every stem also has edge-value rows in
tests/models/edge/ (+-inf, -0, subnormals, +-FLT_MAX with the library's
outputs, scripts/make_edge_references.py), run the same way ("edge",
"edge-margin"); a stem without them fails unless EDGE_EXEMPT names it.
A model that does not load is a failure.  Model
files the loaders must refuse are listed in EXPECTED_REFUSED with a phrase the
error message has to contain.

Prints one line per model and "N passed, N failed, 0 skipped" last; exit 1
on failure.
"""
import fnmatch
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# files next to the references that are not models (pickles, inputs and
# outputs, documentation)
NOT_MODEL_EXT = {"csv", "f32", "pkl", "joblib", "md", "py", "sh", "log"}
REF_DIR = os.path.join(REPO, "tests", "reference", "models")
LOCAL_DIR = os.path.join(REPO, "tests", "models")
# edge/<stem>.{input,expected,margin}.csv: the model's rows with +-inf, -0,
# subnormals and +-FLT_MAX (scripts/make_edge_references.py); every stem
# has them but these, whose library can no longer read the model
EDGE_DIR = os.path.join(LOCAL_DIR, "edge")
EDGE_EXEMPT = {"tl3_skl_gb_multi": "a Treelite 3.x checkpoint"}

# extension -> --format; other extensions are tried with detection only
# e.g. "--device gpu": bench/gpu.sh runs the same parity on the GPU executor
EXTRA_PREDICT_ARGS = os.environ.get("FOREST_PARITY_ARGS", "").split()
# e.g. "csv,margin": only these variants of each model (a TSan pass looks
# for races in the kernels' launches, which the input's form does not change)
ONLY_VARIANTS = set(filter(None,
                           os.environ.get("FOREST_PARITY_VARIANTS", "").split(",")))

FORMAT_BY_EXT = {
    "json": "xgboost_json",
    "ubj": "xgboost_ubj",
    "model": "xgboost_binary",
    "deprecated": "xgboost_binary",
    "txt": "lightgbm",
    "treelite": "treelite",
}

# (file name pattern, phrase the loader's error must contain)
EXPECTED_REFUSED = [
    ("lgb*_linear*.txt", "linear"),
]

PROB_TOL = 1e-5
REL_TOL = 1e-4


def split_model_name(fname):
    stem, dot, ext = fname.rpartition(".")
    return (stem, ext) if dot else (fname, "")


def refused_phrase(fname):
    for pattern, phrase in EXPECTED_REFUSED:
        if fnmatch.fnmatch(fname, pattern):
            return phrase
    return None


def discover(ref, local):
    """[(path, reference_prefix or None, refused_phrase or None)], problems"""
    models, problems = [], []
    covered = set()
    for d, fallback in ((ref, None), (local, ref)):
        if not os.path.isdir(d):
            continue
        for fname in sorted(os.listdir(d)):
            stem, ext = split_model_name(fname)
            path = os.path.join(d, fname)
            if (ext in NOT_MODEL_EXT or fname.startswith(".")
                    or not os.path.isfile(path)):
                continue
            phrase = refused_phrase(fname)
            prefix = None
            for ref_dir in (d, fallback):
                if ref_dir and os.path.isfile(
                        os.path.join(ref_dir, stem + ".expected.csv")):
                    prefix = os.path.join(ref_dir, stem)
                    break
            if phrase is None and prefix is None:
                if ext in FORMAT_BY_EXT:
                    problems.append((path, "no reference outputs (add " + stem
                                     + ".expected.csv or list it in "
                                     "EXPECTED_REFUSED)"))
                continue
            if prefix is not None and prefix.startswith(ref + os.sep):
                covered.add(os.path.basename(prefix))
            models.append((path, prefix, phrase))
    # every reference output must be exercised by some loadable file
    if os.path.isdir(ref):
        for fname in sorted(os.listdir(ref)):
            if fname.endswith(".expected.csv"):
                stem = fname[:-len(".expected.csv")]
                if stem not in covered:
                    problems.append((os.path.join(ref, stem),
                                     "no model file in a loadable format for "
                                     "these references (expected "
                                     "tests/models/" + stem + ".treelite)"))
    return models, problems


def read_csv(path):
    with open(path) as f:
        lines = f.read().splitlines()
    header = lines[0].split(",")
    rows = [[float(v) for v in line.split(",")] for line in lines[1:] if line]
    return header, rows


def run_forest(forest, args):
    p = subprocess.run([forest] + args, capture_output=True, text=True,
                       timeout=120)
    return p.returncode, p.stdout, p.stderr.strip()


def describe_exit(rc, stderr):
    if rc < 0:
        return "crashed with signal %d: %s" % (-rc, stderr[-300:])
    return "exit %d: %s" % (rc, stderr[-300:])


def lightgbm_raw_scale(forest, path, fmt):
    """LightGBM's raw_score skips the averaging of random-forest mode that its
    predict applies before the link function; our margin is the averaged
    value (as Treelite's and Triton FIL's are).  Returns the per-column
    factor that turns our margin into LightGBM's raw_score, or None."""
    for line in run_forest(forest, ["info", path] + fmt)[1].splitlines():
        if line.startswith("average_divisor: "):
            scale = [float(v) for v in line.split(": ", 1)[1].split(",")]
            return scale if any(v != 1.0 for v in scale) else None
    return None


def compare(out_text, header, expected, scale=None):
    lines = out_text.splitlines()
    if len(lines) != len(expected):
        return "%d output lines, expected %d" % (len(lines), len(expected))
    worst = None
    for r, (line, want) in enumerate(zip(lines, expected)):
        try:
            got = [float(v) for v in line.split(",")]
        except ValueError:
            return "line %d: not numbers: %r" % (r + 1, line[:80])
        if scale is not None:
            got = [g * k for g, k in zip(got, scale)]
        if header == ["prob1"] and len(got) == 2:
            # a binary classifier written with one probability per class
            # (sklearn forests through Treelite): P(0) + P(1) = 1
            if abs(got[0] + got[1] - 1.0) > PROB_TOL:
                return "line %d: class probabilities %r do not add up to " \
                    "1" % (r + 1, got)
            got = got[1:]
        if len(got) != len(want):
            return "line %d: %d columns, expected %d (%s)" % (
                r + 1, len(got), len(want), ",".join(header))
        for c, (g, w) in enumerate(zip(got, want)):
            if header[c].startswith("prob"):
                tol = PROB_TOL
            else:
                tol = REL_TOL * max(1.0, abs(w))
            err = abs(g - w)
            if math.isnan(g) != math.isnan(w) or err > tol:
                if worst is None or not err <= worst[0]:
                    worst = (err, r, c, g, w)
    if worst is not None:
        err, r, c, g, w = worst
        return "row %d %s: got %.9g, expected %.9g (worst of the rows)" % (
            r, header[c], g, w)
    return None


def check_refused(forest, path, phrase):
    rc, _, err = run_forest(forest, ["info", path])
    if rc == 0:
        return "loaded, but it must be refused (%s)" % phrase
    if rc < 0:
        return describe_exit(rc, err)
    # the file name must not count as naming the reason
    if phrase.lower() not in err.replace(path, "").lower():
        return "refused without naming '%s': %s" % (phrase, err[-300:])
    return None


def edge_variants(stem, fmt):
    """the edge-value rows: expected (and margin) variants, or one
    ("edge-missing", None, why, None) when the references are absent"""
    prefix = os.path.join(EDGE_DIR, stem)
    if stem in EDGE_EXEMPT:
        return []
    if not os.path.isfile(prefix + ".expected.csv"):
        return [("edge-missing", None, "no edge references %s.*.csv (run "
                 "scripts/make_edge_references.py)" % os.path.relpath(
                     prefix, REPO), None)]
    csv_in = prefix + ".input.csv"
    out = [("edge",) + (fmt + [csv_in],) + read_csv(prefix + ".expected.csv")]
    if os.path.isfile(prefix + ".margin.csv"):
        out.append(("edge-margin",) + (fmt + ["--margin", csv_in],)
                   + read_csv(prefix + ".margin.csv"))
    return out


def check_model(forest, path, prefix):
    """list of (variant, None or failure)"""
    fname = os.path.basename(path)
    ext = split_model_name(fname)[1]
    fmt = ["--format", FORMAT_BY_EXT[ext]] if ext in FORMAT_BY_EXT else []
    csv_in = prefix + ".input.csv"
    header, expected = read_csv(prefix + ".expected.csv")
    variants = [("csv", fmt + [csv_in], header, expected)]
    margin_scale = None
    if os.path.isfile(prefix + ".margin.csv"):
        mh, mrows = read_csv(prefix + ".margin.csv")
        variants.append(("margin", fmt + ["--margin", csv_in], mh, mrows))
        if ext == "txt":
            margin_scale = lightgbm_raw_scale(forest, path, fmt)
    elif (all(h.startswith("value") for h in header)
          and "postprocessor: identity" in run_forest(
              forest, ["info", path] + fmt)[1].splitlines()):
        # regressors without a link function: the margin is the value
        # (the transformed output checks that identity is right)
        variants.append(("margin", fmt + ["--margin", csv_in], header,
                         expected))
    if os.path.isfile(prefix + ".input.f32"):
        with open(csv_in) as f:
            n_features = len(f.readline().split(","))
        variants.append(("f32", fmt + ["--features", str(n_features),
                                       prefix + ".input.f32"],
                         header, expected))
    variants.append(("threads2", fmt + ["--threads", "2", csv_in], header,
                     expected))
    if fmt:
        variants.append(("auto", [csv_in], header, expected))
    variants += edge_variants(os.path.basename(prefix), fmt)

    results = []
    if variants[-1][0] == "edge-missing":
        results.append(("edge", variants.pop()[2]))
    for name, args, want_header, want in variants:
        if ONLY_VARIANTS and name not in ONLY_VARIANTS:
            continue
        rc, out, err = run_forest(forest, ["predict", path] + args
                                  + EXTRA_PREDICT_ARGS)
        if rc != 0:
            results.append((name, describe_exit(rc, err)))
            if name == "csv":
                break      # the model does not load: one failure says it
            continue
        results.append((name, compare(out, want_header, want,
                                      margin_scale if name.endswith("margin")
                                      else None)))
    return results


def run_one(forest, item):
    path, prefix, phrase = item
    try:
        if phrase is not None:
            why = check_refused(forest, path, phrase)
            return path, [("refused", why)]
        return path, check_model(forest, path, prefix)
    except (OSError, ValueError, IndexError,
            subprocess.TimeoutExpired) as e:
        return path, [("run", "%s: %s" % (type(e).__name__, e))]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: parity.py BUILD_DIR")
    forest = os.path.join(os.path.abspath(sys.argv[1]), "bin", "forest")
    passed = failed = 0
    for d in (REF_DIR, LOCAL_DIR):
        if not os.path.isdir(d):
            print("FAIL %s: not found" % d)
            failed += 1
    models, problems = discover(REF_DIR, LOCAL_DIR)
    for path, why in problems:
        print("FAIL %s: %s" % (os.path.relpath(path, REPO), why))
        failed += 1
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for path, results in pool.map(lambda m: run_one(forest, m), models):
            name = os.path.relpath(path, REPO)
            bad = [(v, why) for v, why in results if why is not None]
            if bad:
                failed += 1
                print("FAIL %s: %s" % (name, "; ".join(
                    "%s: %s" % vw for vw in bad)))
            else:
                passed += 1
                print("ok   %s (%s)" % (name, ", ".join(v for v, _ in
                                                       results)))
    print("%d passed, %d failed, 0 skipped" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
