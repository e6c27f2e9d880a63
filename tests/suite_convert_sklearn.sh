#!/usr/bin/env bash
# scripts/convert_sklearn.py: pickles (and joblib files) of scikit-learn
# ensembles become Treelite checkpoints that python treelite reads back and
# that `forest predict` (this build) predicts like scikit-learn itself; bad
# inputs fail with exit status 1 and a message naming the file.  The
# reference set's scikit-learn 1.2.1 pickles, converted in the venv of
# scripts/requirements-skl121.txt, must give the checkpoints of tests/models
# byte for byte (tests/parity.py checks those against scikit-learn's outputs).
# $1 = absolute build dir.  python3 is build/venv's (tests/run-all.sh);
# $FOREST_VENV_SKL121 (default build/venv-skl121) the 1.2.1 one.
set -uo pipefail
BUILD=${1:?usage: suite_convert_sklearn.sh BUILD_DIR}
FOREST=$BUILD/bin/forest
cd "$(dirname "$0")/.."
. tests/lib.sh
CONVERT=scripts/convert_sklearn.py
REF=tests/reference/models
VENV121=${FOREST_VENV_SKL121:-build/venv-skl121}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0 skipped=0

if ! python3 -c 'import treelite, sklearn, numpy' 2>/dev/null; then
    bad "$(command -v python3) lacks treelite/scikit-learn/numpy (make venv)"
    summary; exit
fi

# compare GOT.csv (forest predict output, no header) with WANT.csv (header)
same() {
    python3 - "$1" "$2" <<'EOF'
import sys, numpy as np
got = np.loadtxt(sys.argv[1], delimiter=",", ndmin=2)
want = np.loadtxt(sys.argv[2], delimiter=",", skiprows=1, ndmin=2)
if got.shape[1] == 2 and want.shape[1] == 1:
    got = got[:, 1:]
if got.shape != want.shape:
    sys.exit(f"shape {got.shape} != {want.shape}")
d = np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)))
sys.exit(0 if d <= 1e-5 else f"max relative difference {d:.3g}")
EOF
}

# Train small estimators with the installed scikit-learn; write pickles,
# inputs and scikit-learn's own predictions.  The categorical
# HistGradientBoosting ones (*_cat) are asked about codes they never saw:
# unseen, negative and fractional ones, which scikit-learn treats as missing.
python3 - "$TMP" <<'EOF' || { bad "training the test estimators"; }
import pickle, sys, numpy as np, joblib, pandas as pd
from sklearn import ensemble as E
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
d = sys.argv[1]
rng = np.random.default_rng(7)
X = rng.normal(size=(300, 4)).astype(np.float32)
y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
yr = 2 * X[:, 0] - X[:, 3]
Xc = X.copy()
Xc[:, 0] = rng.choice(np.array([0, 1, 2, 4, 7], np.float32), len(X))
Xc[:, 3] = rng.integers(0, 6, len(X))
Xc[rng.random(len(X)) < 0.1, 0] = np.nan
sc = (np.isin(Xc[:, 0], [2, 7]) | np.isnan(Xc[:, 0])) * 1.5 \
    + Xc[:, 3] % 2 - Xc[:, 1]
cat = dict(max_iter=10, categorical_features=[0, 3], random_state=0)
models = {
    "hgb_bin_cat": E.HistGradientBoostingClassifier(**cat).fit(Xc, sc > 0.5),
    "hgb_multi_cat": E.HistGradientBoostingClassifier(**cat).fit(
        Xc, np.digitize(sc, [0.0, 1.2])),
    "hgb_reg_cat": E.HistGradientBoostingRegressor(**cat).fit(Xc, sc),
    "rf_multi": E.RandomForestClassifier(n_estimators=5, max_depth=4,
                                         random_state=0).fit(X, y),
    "gb_reg": E.GradientBoostingRegressor(n_estimators=10, max_depth=3,
                                          random_state=0).fit(X, yr),
    "hgb_bin": E.HistGradientBoostingClassifier(max_iter=5).fit(X, y > 0),
    "iforest": E.IsolationForest(n_estimators=5, random_state=0).fit(X),
}
def save_input(path, rows):
    with open(path, "w") as f:
        f.write("f0,f1,f2,f3\n")
        for r in rows:
            f.write(",".join("" if v != v else "%.9g" % v for v in r) + "\n")
Xt = X[:40]
save_input(f"{d}/in.csv", Xt)
odd = []
for code in (3, 5, 100, -1, -0.5, 0.5, 1.5, 4.25, 6.5, np.nan):
    for f in (0, 3):
        r = Xc[0].copy()
        r[f] = code
        odd.append(r)
Xct = np.vstack([Xc[:40], np.array(odd, np.float32)])
save_input(f"{d}/in_cat.csv", Xct)
for name, est in models.items():
    if name.endswith("_cat"):
        Xt = Xct
    else:
        Xt = X[:40]
    with open(f"{d}/{name}.pkl", "wb") as f:
        pickle.dump(est, f)
    if name == "iforest":
        want = -est.score_samples(Xt)      # what Treelite/Triton output
    elif hasattr(est, "predict_proba"):
        want = est.predict_proba(Xt)
        if want.shape[1] == 2 and "hgb" in name:
            want = want[:, 1:]
    else:
        want = est.predict(Xt)
    np.savetxt(f"{d}/{name}.want.csv", np.reshape(want, (len(Xt), -1)),
               delimiter=",", fmt="%.9g", header="y", comments="")
joblib.dump(models["gb_reg"], f"{d}/gb_reg.joblib")
with open(f"{d}/logreg.pkl", "wb") as f:
    pickle.dump(LogisticRegression().fit(X, y), f)
with open(f"{d}/pipe.pkl", "wb") as f:
    pickle.dump(make_pipeline(StandardScaler(),
                              E.RandomForestRegressor(n_estimators=2))
                .fit(X, yr), f)
with open(f"{d}/unfitted.pkl", "wb") as f:
    pickle.dump(E.RandomForestRegressor(), f)
df = pd.DataFrame({"color": pd.Categorical(rng.choice(["red", "green",
                                                        "blue"], len(X))),
                   "x": X[:, 0]})
with open(f"{d}/hgb_strings.pkl", "wb") as f:
    pickle.dump(E.HistGradientBoostingClassifier(
        max_iter=3, categorical_features="from_dtype").fit(df, y > 0), f)
EOF

# converted checkpoint: python treelite reads it, forest predicts like sklearn
check_converted() {
    local name=$1 src=$2 out=$TMP/$1.treelite msg in=$TMP/in.csv
    case $name in *_cat) in=$TMP/in_cat.csv ;; esac
    if ! msg=$(python3 "$CONVERT" "$src" "$out" 2>&1); then
        bad "$name: convert failed: $msg"; return
    fi
    if ! "$FOREST" predict "$out" "$in" > "$TMP/$name.got" 2>&1; then
        bad "$name: forest predict: $(head -c 300 "$TMP/$name.got")"
    elif msg=$(same "$TMP/$name.got" "$TMP/${name%%.*}.want.csv" 2>&1); then
        ok "$name: forest predict matches scikit-learn"
    else
        bad "$name: $msg"
    fi
}
for m in rf_multi gb_reg hgb_bin iforest hgb_bin_cat hgb_multi_cat hgb_reg_cat; do
    check_converted "$m" "$TMP/$m.pkl"
done
check_converted "gb_reg.joblib" "$TMP/gb_reg.joblib"
if msg=$(python3 - "$TMP"/*.treelite 2>&1 <<'EOF'
import sys, treelite
for path in sys.argv[1:]:
    treelite.Model.deserialize(path)
print(len(sys.argv) - 1)
EOF
); then
    ok "python treelite reads back all $msg checkpoints"
else
    bad "python treelite cannot read a checkpoint: ${msg:0:300}"
fi

# the rewritten category lists are in the checkpoint itself: Treelite's own
# GTIL (as Triton FIL) takes an unseen or negative whole-number code as
# missing, as scikit-learn does (fractions it truncates; only ngx_forest
# reads the attribute that makes them missing)
if msg=$(python3 - "$TMP" 2>&1 <<'EOF'
import sys, numpy as np, treelite
d = sys.argv[1]
X = np.genfromtxt(f"{d}/in_cat.csv", delimiter=",", skip_header=1)
known = {0: {0, 1, 2, 4, 7}, 3: {0, 1, 2, 3, 4, 5}}
odd, missing = [], []
for r in X:
    for f, cats in known.items():
        if r[f] == r[f] and r[f] == int(r[f]) and int(r[f]) not in cats:
            odd.append(r)
            missing.append(r.copy())
            missing[-1][f] = np.nan
for name in ("hgb_bin_cat", "hgb_multi_cat", "hgb_reg_cat"):
    m = treelite.Model.deserialize(f"{d}/{name}.treelite")
    got = treelite.gtil.predict(m, np.array(odd))
    want = treelite.gtil.predict(m, np.array(missing))
    if not np.array_equal(got, want):
        sys.exit(f"{name}: an unseen code is not taken as missing")
print(len(odd))
EOF
); then
    ok "treelite GTIL takes the $msg unseen and negative codes as missing"
else
    bad "treelite GTIL on the converted categorical checkpoints: ${msg:0:300}"
fi

# refusals: exit 1 and a message naming the file and the reason
refuse() {
    local name=$1 re=$2 src=$3 out rc
    out=$(python3 "$CONVERT" "$src" "$TMP/refused.treelite" 2>&1); rc=$?
    if [ "$rc" -eq 1 ] && grep -Eq -- "$re" <<<"$out" \
        && [ ! -e "$TMP/refused.treelite" ]; then
        ok "$name"
    else
        bad "$name: exit $rc, output: ${out:0:300}"
    fi
}
refuse "unsupported estimator" "logreg.pkl: unsupported estimator .*LogisticRegression" \
    "$TMP/logreg.pkl"
refuse "pipeline refused" "pipe.pkl: is a Pipeline" "$TMP/pipe.pkl"
refuse "pandas string categories" "hgb_strings.pkl: categorical feature 'color' has string categories \('blue', 'green', 'red'\); a Treelite checkpoint holds integer category codes only" \
    "$TMP/hgb_strings.pkl"
refuse "unfitted estimator" "unfitted.pkl: RandomForestRegressor is not fitted" \
    "$TMP/unfitted.pkl"
printf 'not a pickle' > "$TMP/junk.pkl"
refuse "not a pickle" "junk.pkl: cannot unpickle" "$TMP/junk.pkl"
refuse "missing file" "nope.pkl: cannot unpickle: FileNotFoundError" \
    "$TMP/nope.pkl"

# the reference pickles need the scikit-learn that wrote them (1.2.1)
for name in skl_rf_clf skl_rf_multi skl_rf_reg skl_et skl_gbdt; do
    out=$TMP/$name.treelite
    if ! msg=$("$VENV121/bin/python" "$CONVERT" "$REF/$name.pkl" "$out" 2>&1); then
        bad "$name (scikit-learn 1.2.1): convert failed: $msg"
    elif cmp -s "$out" "tests/models/$name.treelite"; then
        ok "$name (scikit-learn 1.2.1 pickle): converts to tests/models/$name.treelite"
    else
        bad "$name (scikit-learn 1.2.1 pickle): converted checkpoint differs from tests/models/$name.treelite"
    fi
done

summary
