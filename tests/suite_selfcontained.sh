#!/usr/bin/env bash
# A clone is all the tests need: the reference set in tests/reference is the
# one scripts/import_reference_models.sh recorded in SHA256SUMS, no file but
# documentation and .ci/run points at the development machines' ../shared,
# and the suites' Python is the project's venvs holding exactly the pinned
# packages.  $1: absolute build dir (unused).
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
passed=0 failed=0 skipped=0

# ---- the reference set -------------------------------------------------
if out=$(cd tests/reference && sha256sum --quiet --strict -c SHA256SUMS 2>&1); then
    ok "tests/reference: $(wc -l < tests/reference/SHA256SUMS) files match SHA256SUMS"
else
    bad "tests/reference does not match SHA256SUMS: ${out:0:300}"
fi
unlisted=$(cd tests/reference && find models -type f | LC_ALL=C sort \
           | comm -23 - <(awk '{ print $2 }' SHA256SUMS | LC_ALL=C sort))
if [ -z "$unlisted" ]; then
    ok "tests/reference/models holds no file SHA256SUMS lacks"
else
    bad "not in tests/reference/SHA256SUMS (scripts/import_reference_models.sh): $unlisted"
fi

# ---- nothing reads ../shared -------------------------------------------
# both spellings: a path in text, and Python's os.path.join(..., "..", "shared");
# this file names them, so it is left out
patterns=(-e '../shared' -e '"..", "shared"')
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked files and new ones not yet added, as committing would take them
    hits=$(git grep -I -l -F --untracked "${patterns[@]}" -- . ':!*.md' ':!.ci/run' \
           ':!tests/suite_selfcontained.sh')
else
    hits=$(grep -rIl -F "${patterns[@]}" --exclude='*.md' --exclude-dir=.git \
           --exclude-dir=build --exclude-dir='servroot*' . \
           | grep -vxe './.ci/run' -e './tests/suite_selfcontained.sh')
fi
if [ -z "$hits" ]; then
    ok "no file but documentation and .ci/run mentions ../shared"
else
    bad "these files mention ../shared (the tests must read tests/reference): $(tr '\n' ' ' <<<"$hits")"
fi

# ---- the pinned Python -------------------------------------------------
# "name==version" lines of a requirements file or of pip freeze, names in
# PEP 503 form and without extras, sorted
pins() {
    sed -E 's/[[:space:]]*#.*//; /^$/d; s/\[[^]]*\]//' "$@" \
        | awk -F'==' '{ n = tolower($1); gsub(/[-_.]+/, "-", n); print n "==" $2 }' | LC_ALL=C sort
}
check_venv() {
    local python=$1 req=$2 diff
    if ! diff=$(diff <(pins "$req") \
                     <("$python" -m pip freeze --disable-pip-version-check 2>&1 | pins)); then
        bad "$python does not hold exactly the pins of $req (make venv): $(tr '\n' ' ' <<<"$diff" | cut -c1-300)"
    else
        ok "$python holds exactly the pins of $req"
    fi
}
venv_python=$(command -v python3)
check_venv "$venv_python" scripts/requirements.txt
check_venv "${FOREST_VENV_SKL121:-build/venv-skl121}/bin/python" scripts/requirements-skl121.txt

summary
