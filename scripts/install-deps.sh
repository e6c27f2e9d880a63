#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, once.
set -euo pipefail
pkgs=(build-essential clang nginx-core nginx-dev libyajl-dev libluajit2-5.1-dev
      libnginx-mod-http-lua wrk curl valgrind python3 python3-venv perl
      libtest-base-perl libtext-diff-perl liburi-perl
      debhelper dpkg-dev lintian    # make deb
      chromium                      # tests/suite_tune.sh renders forest tune's report
      nghttp2-client)               # nghttp, h2load: tests/suite_grpc.sh, bench/grpc_bench.sh
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
