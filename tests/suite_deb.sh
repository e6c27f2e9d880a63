#!/usr/bin/env bash
# The Debian packages as a user gets them: `make deb` (built when its
# inputs changed), lintian, `apt-get install` of build/deb/*.deb on this
# machine, a bundled model served by /usr/sbin/nginx through the installed
# module and its modules-enabled link, the installed CLI, then a purge that
# must leave nothing behind and nginx itself in place.
# $1 = absolute build dir (unused: the packages are built in build/deb-build
# with the packaging's own flags).
#
# It installs and purges libnginx-mod-http-forest and ngx-forest-tools on
# this machine (root, or sudo): an installed copy is purged first.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. tests/lib.sh
passed=0 failed=0 skipped=0
TMP=$(mktemp -d)
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
PKGS=(libnginx-mod-http-forest ngx-forest-tools)
NGINX=/usr/sbin/nginx
# the package of the nginx binary, which the purge must leave alone
nginx_pkg=$(dpkg -S "$NGINX" 2>/dev/null | cut -d: -f1)

status() { dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null; }
installed() { [[ $(status "$1") == ii* ]]; }
known() { [[ $(status "$1") == [a-z][a-z]* && $(status "$1") != un* ]]; }   # "rc" too

cleanup() {
    [ -s "$TMP/nginx.pid" ] && kill -QUIT "$(cat "$TMP/nginx.pid")" 2>/dev/null
    for p in "${PKGS[@]}"; do
        if known "$p"; then $SUDO apt-get purge -y -qq "$p" >/dev/null 2>&1; fi
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

# check NAME CMD...: ok when CMD succeeds, else FAIL with its output
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$name"; else bad "$name: ${out:0:400}"; fi
}

version=$(cat VERSION)
deb_mod=build/deb/libnginx-mod-http-forest_${version}_amd64.deb
deb_tools=build/deb/ngx-forest-tools_${version}_amd64.deb

# ---- build and static checks -------------------------------------------
t0=$SECONDS
if out=$(bash scripts/build-deb.sh 2>&1); then
    ok "make deb ($((SECONDS - t0)) s): $(tail -1 <<<"$out")"
else
    bad "make deb: $(tail -20 <<<"$out")"
    summary; exit
fi
check "both packages in build/deb/" test -f "$deb_mod" -a -f "$deb_tools"
if lint=$(lintian --fail-on error "$deb_mod" "$deb_tools" 2>&1); then
    ok "lintian: no errors ($(grep -c '^[WIP]:' <<<"$lint") other tags)"
else
    bad "lintian: $(grep '^E:' <<<"$lint" | head -5)"
fi
for deb in "$deb_mod" "$deb_tools"; do
    got=$(dpkg-deb -f "$deb" Version)
    [ "$got" = "$version" ] && ok "$(basename "$deb"): version $got is VERSION" \
        || bad "$(basename "$deb"): version $got, VERSION says $version"
done
# the ABI the packaged modules of this nginx depend on, from nginx-dev
abi=$(sed -n 's/^nginx:abi=//p' /usr/share/nginx/src/debian/libnginx-mod.abisubstvars)
deps=$(dpkg-deb -f "$deb_mod" Depends)
for want in "$abi" libyajl2 libluajit; do
    [[ -n $want && $deps == *"$want"* ]] && ok "module Depends has $want" \
        || bad "module Depends lacks '$want': $deps"
done
[[ $deps != *cuda* ]] && ok "module Depends has no CUDA" || bad "module Depends: $deps"

# ---- install -------------------------------------------------------------
for p in "${PKGS[@]}"; do
    if known "$p"; then
        echo "note: $p was on this machine before the suite; purging it"
        $SUDO apt-get purge -y -qq "$p" >/dev/null 2>&1
    fi
done
if out=$($SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "./$deb_mod" "./$deb_tools" 2>&1); then
    ok "apt-get install ./build/deb/*.deb"
else
    bad "apt-get install: $(tail -15 <<<"$out")"
    summary; exit
fi
for p in "${PKGS[@]}"; do
    installed "$p" && ok "$p installed" || bad "$p: not installed"
done
# what the purge below must take away again
dpkg -L "${PKGS[@]}" | sort -u > "$TMP/files"

so=/usr/lib/nginx/modules/ngx_http_forest_module.so
avail=/usr/share/nginx/modules-available/mod-http-forest.conf
check "module in $so" test -f "$so"
check "$avail loads it" grep -qx 'load_module modules/ngx_http_forest_module.so;' "$avail"
enabled=$(ls /etc/nginx/modules-enabled/*-mod-http-forest.conf 2>/dev/null | head -1)
if [ -n "$enabled" ] && [ "$(readlink "$enabled")" = "$avail" ]; then
    ok "enabled: $enabled -> $avail"
else
    bad "no /etc/nginx/modules-enabled link to $avail (${enabled:-none})"
    enabled=$avail
fi
check "nginx -t with /etc/nginx/nginx.conf (every enabled module)" "$NGINX" -t -q

# ---- serve a bundled model through the installed module ----------------
# The packaged load line is relative to nginx's compiled prefix
# (/usr/share/nginx/modules -> /usr/lib/nginx/modules), so nginx keeps that
# prefix; everything it writes is pointed at $TMP instead.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$TMP/nginx.conf" <<CONF
include $enabled;
worker_processes 1;
error_log $TMP/error.log info;
pid $TMP/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $TMP/body;
    proxy_temp_path $TMP/proxy;
    fastcgi_temp_path $TMP/fastcgi;
    uwsgi_temp_path $TMP/uwsgi;
    scgi_temp_path $TMP/scgi;
    forest_model iris $ROOT/models/iris.txt format=lightgbm predict_proba=on;
    server {
        listen 127.0.0.1:$port;
        location /v2 { forest_kserve; }
    }
}
CONF
url=http://127.0.0.1:$port
if out=$("$NGINX" -c "$TMP/nginx.conf" 2>&1); then
    ok "/usr/sbin/nginx starts with the installed module"
    for _ in $(seq 50); do
        curl -sf "$url/v2/health/ready" >/dev/null && break
        sleep 0.1
    done
    meta=$(curl -s "$url/v2")
    [[ $meta == *"\"version\":\"$version\""* ]] && ok "/v2 reports version $version" \
        || bad "/v2: $meta"
    # every row of the bundled input, against the reference probabilities
    python3 - "$url" models/iris.input.csv models/iris.expected.csv > "$TMP/infer" 2>&1 <<'PY'
import csv, json, sys, urllib.request
url, inp, exp = sys.argv[1:]
rows = [[float(v) for v in r] for r in list(csv.reader(open(inp)))[1:]]
want = [[float(v) for v in r] for r in list(csv.reader(open(exp)))[1:]]
body = {"inputs": [{"name": "input__0", "shape": [len(rows), len(rows[0])],
                    "datatype": "FP32", "data": [v for r in rows for v in r]}]}
req = urllib.request.Request(url + "/v2/models/iris/infer", json.dumps(body).encode(),
                             {"Content-Type": "application/json"})
out = json.load(urllib.request.urlopen(req, timeout=10))["outputs"][0]
got = out["data"]
k = len(want[0])
assert out["shape"] == [len(rows), k], out["shape"]
worst = max(abs(got[i * k + j] - want[i][j]) for i in range(len(rows)) for j in range(k))
assert worst < 1e-5, f"max difference {worst}"
print(f"{len(rows)} rows, max difference {worst:.1e}")
PY
    [ $? -eq 0 ] && ok "infer iris: $(cat "$TMP/infer")" \
        || bad "infer iris: $(tail -3 "$TMP/infer")"
    "$NGINX" -c "$TMP/nginx.conf" -s quit 2>/dev/null
    for _ in $(seq 50); do [ -e "$TMP/nginx.pid" ] || break; sleep 0.1; done
    [ -e "$TMP/nginx.pid" ] && bad "nginx did not quit" || ok "nginx quits"
else
    bad "nginx did not start: $out $(tail -5 "$TMP/error.log" 2>/dev/null)"
fi

# ---- the tools package ----------------------------------------------------
got=$(/usr/bin/forest --version 2>&1)
[ "$got" = "forest $version" ] && ok "/usr/bin/forest --version: $got" || bad "forest --version: $got"
info=$(/usr/bin/forest info models/iris.txt 2>&1)
grep -qx 'trees: 60' <<<"$info" && grep -qx 'classes: 3' <<<"$info" \
    && ok "/usr/bin/forest info models/iris.txt" || bad "forest info: ${info:0:300}"
/usr/bin/forest predict models/iris.txt models/iris.input.csv > "$TMP/pred.csv" 2>&1
python3 - "$TMP/pred.csv" models/iris.expected.csv <<'PY' > "$TMP/pred" 2>&1
import csv, sys
got = [[float(v) for v in r] for r in csv.reader(open(sys.argv[1]))]
want = [[float(v) for v in r] for r in list(csv.reader(open(sys.argv[2])))[1:]]
assert len(got) == len(want), (len(got), len(want))
worst = max(abs(g - w) for gr, wr in zip(got, want) for g, w in zip(gr, wr))
assert worst < 1e-5, f"max difference {worst}"
PY
[ $? -eq 0 ] && ok "/usr/bin/forest predict matches iris.expected.csv" || bad "forest predict: $(tail -3 "$TMP/pred")"
check "/usr/bin/forest-convert-sklearn --help" /usr/bin/forest-convert-sklearn --help
for page in forest forest-convert-sklearn; do
    check "man page $page(1)" test -f "/usr/share/man/man1/$page.1.gz"
done

# ---- remove, then purge: nothing left, nginx kept -------------------------
# remove keeps the admin's choice: the link is parked as *.removed (which the
# modules-enabled/*.conf glob skips), to come back on a reinstall
if out=$($SUDO env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q "${PKGS[@]}" 2>&1); then
    ok "apt-get remove"
else
    bad "apt-get remove: $(tail -10 <<<"$out")"
fi
check "removed: module gone" test ! -e "$so"
check "removed: link parked as ${enabled##*/}.removed" test -L "$enabled.removed"
check "removed: nginx -t with /etc/nginx/nginx.conf" "$NGINX" -t -q
# a package with no maintainer scripts is gone after remove already, and apt
# refuses to purge a package it does not know
known_pkgs=()
for p in "${PKGS[@]}"; do known "$p" && known_pkgs+=("$p"); done
if out=$($SUDO env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${known_pkgs[@]}" 2>&1); then
    ok "apt-get purge ${known_pkgs[*]}"
else
    bad "apt-get purge: $(tail -10 <<<"$out")"
fi
for p in "${PKGS[@]}"; do
    known "$p" && bad "$p still known to dpkg: $(status "$p")" \
        || ok "$p gone from dpkg (no conffiles or config state left)"
done
left=()
while IFS= read -r f; do
    [ "$f" != /. ] || continue
    [ -e "$f" ] || [ -L "$f" ] || continue
    # a directory may stay when another package still owns it
    [ -d "$f" ] && dpkg -S "$f" >/dev/null 2>&1 && continue
    left+=("$f")
done < "$TMP/files"
[ ${#left[@]} -eq 0 ] && ok "every installed path is gone" || bad "left behind: ${left[*]}"
links=$(ls /etc/nginx/modules-enabled/ | grep 'mod-http-forest')
[ -z "$links" ] && ok "modules-enabled link gone (.removed too)" || bad "modules-enabled still has: $links"
check "$nginx_pkg (nginx) still installed" installed "${nginx_pkg:-nginx}"
check "/usr/sbin/nginx still runs" "$NGINX" -t -q

summary
