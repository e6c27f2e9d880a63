#!/usr/bin/env bash
# Behaviour of the `forest` CLI: info fields, predict output shape, bench's
# last line, and a clear message plus the right exit status (1 run-time
# failure, 2 bad command line) for every kind of bad argument or input.
# $1 = absolute build dir.
set -uo pipefail
BUILD=${1:?usage: suite_cli.sh BUILD_DIR}
FOREST=$BUILD/bin/forest
cd "$(dirname "$0")/.."
. tests/lib.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0 skipped=0

# expect NAME RC REGEX CMD...: exit status RC and REGEX found in stdout+stderr
expect() {
    local name=$1 rc=$2 re=$3 out got
    shift 3
    out=$("$@" 2>&1); got=$?
    if [ "$got" -ne "$rc" ]; then
        bad "$name: exit $got, expected $rc: ${out:0:300}"
    elif ! grep -Eq -- "$re" <<<"$out"; then
        bad "$name: output lacks /$re/: ${out:0:300}"
    else
        ok "$name"
    fi
}

# ---- command line errors (no model needed) -----------------------------
expect "no arguments: usage" 2 '^usage: forest info' "$FOREST"
expect "help" 0 'forest predict MODEL INPUT' "$FOREST" --help
expect "unknown command" 2 "unknown command 'frobnicate'" "$FOREST" frobnicate
expect "info without MODEL" 2 'expected MODEL' "$FOREST" info
expect "predict without INPUT" 2 'expected MODEL INPUT' "$FOREST" predict x.json
expect "extra argument" 2 "unexpected argument 'b'" "$FOREST" info a b
expect "unknown option" 2 "unknown option '--bogus'" "$FOREST" info m --bogus
expect "option not for this command" 2 "unknown option '--margin'" \
    "$FOREST" info m --margin
expect "bad format name" 2 "unknown model format 'bogus'" \
    "$FOREST" info m --format bogus
expect "bad format name lists the names" 2 \
    "expected one of: auto, xgboost, xgboost_json, xgboost_ubj, xgboost_binary, lightgbm, treelite_checkpoint \(or treelite\)$" \
    "$FOREST" info m --format bogus
expect "help lists the formats" 0 '^  treelite_checkpoint +Treelite checkpoint' \
    "$FOREST" --help
expect "option without value" 2 "'--threads' needs a value" \
    "$FOREST" predict m i --threads
expect "non-numeric threads" 2 'needs a non-negative integer' \
    "$FOREST" predict m i --threads abc
expect "batch 0" 2 'must be at least 1' "$FOREST" bench m i --batch 0
expect "bad gpu kernel" 2 "--gpu-kernel is auto, rows, trees or compact, not 'warps'" \
    "$FOREST" bench m i --gpu-kernel warps
expect "flag with value" 2 "takes no value" "$FOREST" predict m i --margin=1
expect "missing model file" 1 "$TMP/none.json: cannot open" \
    "$FOREST" info "$TMP/none.json"
printf 'not a model at all\n' > "$TMP/junk.bin"
expect "not a model" 1 'unrecognised model format' "$FOREST" info "$TMP/junk.bin"

# ---- a reference model with named features -----------------------------
# parity of the numbers is tests/parity.py's job
model=tests/reference/models/lgb_reg.txt trees=80 features=8
stem=${model%.*}
input=$stem.input.csv

info=$("$FOREST" info "$model" 2>&1)
for field in "format: [a-z_]+" "trees: $trees" "features: $features" \
             "feature_names: " "categorical_features: " "classes: [0-9]+" \
             "outputs: [0-9]+" "objective: " "postprocessor: [a-z_]+" \
             "leaf_width: [0-9]+" "nodes: [0-9]+" \
             "depth: min [0-9]+ mean [0-9.]+ max [0-9]+"; do
    if grep -Eq "^$field" <<<"$info"; then ok "info shows /$field/"
    else bad "info lacks /$field/: $info"; fi
done
expect "wrong explicit format" 1 "$model" \
    "$FOREST" info "$model" --format xgboost_binary
expect "--format xgboost refuses LightGBM" 1 \
    "^forest: $model: not an XGBoost model \(looks like lightgbm\)$" \
    "$FOREST" info "$model" --format xgboost
expect "--format xgboost reads XGBoost" 0 '^format: xgboost_ubj$' \
    "$FOREST" info tests/reference/models/xgb_binary.ubj --format xgboost

rows=$(($(wc -l < "$input") - 1))
out=$("$FOREST" predict "$model" "$input" 2>&1)
if [ "$?" -eq 0 ] && [ "$(wc -l <<<"$out")" -eq "$rows" ] \
   && ! grep -Evq '^-?[0-9][0-9.e+-]*(,-?[0-9][0-9.e+-]*)*$' <<<"$out"; then
    ok "predict: $rows numeric lines, no header"
else
    bad "predict output: ${out:0:300}"
fi
expect "predict from stdin" 0 '^-?[0-9]' \
    bash -c "\"$FOREST\" predict \"$model\" - < \"$input\""
head -1 "$input" > "$TMP/header_only.csv"
expect "header-only CSV: no lines" 0 '^$' \
    "$FOREST" predict "$model" "$TMP/header_only.csv"

# a row of the input with one cell replaced by text
{ head -3 "$input"; sed -n 4p "$input" | sed 's/^[^,]*,[^,]*/&x/'; } \
    > "$TMP/bad_cell.csv"
expect "bad CSV cell" 1 'bad_cell.csv: line 4: field 2: not a number' \
    "$FOREST" predict "$model" "$TMP/bad_cell.csv"
{ head -2 "$input"; sed -n 3p "$input" | cut -d, -f2-; } > "$TMP/short_row.csv"
expect "short CSV row" 1 'line 3: [0-9]+ fields?, the header has' \
    "$FOREST" predict "$model" "$TMP/short_row.csv"
cut -d, -f2- "$input" > "$TMP/narrow.csv"
expect "too few columns" 1 "columns, but the model has $features features" \
    "$FOREST" predict "$model" "$TMP/narrow.csv"
expect "missing input" 1 'cannot open' \
    "$FOREST" predict "$model" "$TMP/none.csv"

f32=$stem.input.f32
expect ".f32 without --features" 1 'needs --features' \
    "$FOREST" predict "$model" "$f32"
expect ".f32 with the wrong --features" 1 "model has $features features" \
    "$FOREST" predict "$model" "$f32" --features $((features + 1))
head -c $(( $(stat -c %s "$f32") - 2 )) "$f32" > "$TMP/cut.f32"
expect ".f32 size not a multiple" 1 'not a multiple of' \
    "$FOREST" predict "$model" "$TMP/cut.f32" --features "$features"
if cmp -s <("$FOREST" predict "$model" "$f32" --features "$features") \
          <("$FOREST" predict "$model" "$input"); then
    ok ".f32 and CSV give the same output"
else
    bad ".f32 and CSV outputs differ"
fi

# columns found by name, as the model names its features
awk -F, -v OFS=, '{ t = $1; $1 = $2; $2 = t; print }' "$input" \
    > "$TMP/swapped.csv"
if cmp -s <("$FOREST" predict "$model" "$TMP/swapped.csv") \
          <("$FOREST" predict "$model" "$input"); then
    ok "columns matched by header name"
else
    bad "swapping two named columns changed the output"
fi

out=$("$FOREST" bench "$model" "$input" --repeat 1 --batch 64 2>&1)
if [ "$?" -eq 0 ] && tail -1 <<<"$out" \
       | grep -Eq '^rows/s=[0-9.e+]+ ns/row/tree=[0-9.e+]+$'; then
    ok "bench ends with rows/s=... ns/row/tree=..."
else
    bad "bench output: ${out:0:300}"
fi

# ---- --trees: the boosting rounds an early-stopped model predicts with --
# (tests/reference/rounds: 12 rounds of 6 trees, best_iteration 7)
rounds=tests/reference/rounds
expect "info shows best_iteration" 0 '^best_iteration: 7$' \
    "$FOREST" info "$rounds/xgb_early.json"
expect "info --trees best keeps 8 rounds" 0 '^rounds: 8 \(6 trees each\)$' \
    "$FOREST" info "$rounds/xgb_early.ubj" --trees best
expect "--trees past the rounds" 1 'trees: 13 rounds asked, the model has 12' \
    "$FOREST" info "$rounds/xgb_early.json" --trees 13
expect "--trees best without best_iteration" 1 \
    'xgb3_aft.json: trees=best: the model stores no best_iteration' \
    "$FOREST" info tests/models/xgb3_aft.json --trees best
expect "bad --trees" 2 "--trees is all, best or a number of boosting rounds, not 'some'" \
    "$FOREST" predict m i --trees some
for t in all:all best:best 2:r2; do
    if "$FOREST" predict "$rounds/xgb_early.json" "$rounds/xgb_early.input.csv" \
           --trees "${t%%:*}" > "$TMP/trees.csv" \
       && [ "$(wc -l < "$TMP/trees.csv")" -eq 50 ] \
       && paste -d, "$TMP/trees.csv" <(tail -n +2 "$rounds/xgb_early.${t#*:}.csv") \
          | awk -F, '{ for (i = 1; i <= 3; i++) { d = $i - $(i + 3);
                       if (d > 1e-5 || d < -1e-5) bad = 1 } } END { exit bad }'
    then
        ok "predict --trees ${t%%:*} gives XGBoost's xgb_early.${t#*:}.csv"
    else
        bad "predict --trees ${t%%:*} differs from $rounds/xgb_early.${t#*:}.csv"
    fi
done

summary
