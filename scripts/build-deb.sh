#!/usr/bin/env bash
# `make deb`: builds libnginx-mod-http-forest and ngx-forest-tools with
# dpkg-buildpackage (debian/), checks them with lintian and leaves the two
# .deb files in build/deb/ (their -dbgsym packages in build/deb/dbgsym/).
#
# The build runs in a copy of the source under build/deb-build/, so that
# debhelper's work files never land in the working tree and nothing git
# ignores (build/ first) goes into the package.  When none of the packages'
# inputs (below) nor the installed nginx-dev changed since the last build,
# it stops there.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/install-deps.sh

version=$(cat VERSION)
work=$ROOT/build/deb-build
src=$work/ngx-forest-$version
out=$ROOT/build/deb

# the source files (under PATHS, or all), NUL-separated: tracked and new
# files alike (the tree may hold uncommitted work), without deleted ones
sources() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z --cached --others --exclude-standard -- "$@" \
            | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done
    else
        find "${@:-.}" -path ./build -prune -o -path ./.git -prune -o -type f -print0
    fi
}

# what the packages are made of; the tests and tools around them are not
inputs=(VERSION config Makefile debian forest codec cli ngx_module lua gpu
        scripts/build-deb.sh scripts/convert_sklearn.py scripts/forest_tune.py
        scripts/forest_tune_wrk.lua README.md docs/MODULE.md)
stamp=$( { sources "${inputs[@]}" | xargs -0 stat -c '%n %s %Y'; dpkg-query -W nginx-dev; } \
         | sha256sum)
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ] \
    && ls "$out"/*_"$version"_*.deb >/dev/null 2>&1; then
    echo "deb: build/deb/ is up to date"
    exit 0
fi

rm -rf "$work" "$out"
mkdir -p "$src" "$out/dbgsym"
sources | tar --null -T - -cf - | tar -xf - -C "$src"

# A `make deb` inside another make (make test) must not hand its variables
# (BUILD, SANITIZE, the -j jobserver) down to the package's own make.
unset MAKEFLAGS MFLAGS MAKELEVEL
echo "deb: dpkg-buildpackage in $src (log: $work/build.log)"
(cd "$src" && dpkg-buildpackage -b -us -uc -j"$(nproc)") > "$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log"; echo "deb: dpkg-buildpackage failed" >&2; exit 1; }

# errors fail the build; debian/*.lintian-overrides would justify any
# accepted tag (none is needed today)
lint=0
lintian --fail-on error "$work"/*.changes > "$work/lintian.log" 2>&1 || lint=$?
grep -v 'root privileges' "$work/lintian.log" || true
[ "$lint" -eq 0 ] || { echo "deb: lintian reports errors" >&2; exit 1; }

cp "$work"/*-dbgsym_*.deb "$out/dbgsym/"
for f in "$work"/*.deb; do
    [[ $f == *-dbgsym_* ]] || cp "$f" "$out/"
done
echo "$stamp" > "$out/.stamp"
echo "deb: built $(cd "$out" && echo *.deb)"
