#!/usr/bin/env bash
# `make image`: builds the ngx-forest container image (Containerfile) with
# podman from the Debian package `make deb` put in build/deb.
#
# No registry is reachable from the build machines, so the base image is
# made here: `mmdebstrap --variant=minbase bookworm` from the Debian mirror
# this machine's apt uses, trimmed like the official bookworm-slim image,
# then `podman import`ed.  Its tarball is cached in build/image, so later
# builds skip that step (delete the tarball to refresh the base).
#
# Env: IMAGE (default localhost/ngx-forest), BASE_IMAGE (the imported base's
# name), MIRROR (a mirror URL or sources file for the base).  CONTAINERS_CONF
# defaults to deploy/container/containers.conf.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMAGE=${IMAGE:-localhost/ngx-forest}
BASE_IMAGE=${BASE_IMAGE:-localhost/ngx-forest-base:bookworm-slim}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/deploy/container/containers.conf}
base_tar=$ROOT/build/image/debian-bookworm-slim.tar
# rootful podman, and mmdebstrap's root mode (the others need subuid setup)
[ "$(id -u)" -eq 0 ] || { echo "build-image: run as root" >&2; exit 1; }

# netavark and iptables: podman's bridge network, for `podman run -p`
need=()
for p in podman runc mmdebstrap netavark iptables; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if [ ! -s "$base_tar" ]; then
    mkdir -p "$(dirname "$base_tar")"
    # the Debian mirror this machine's apt uses (MIRROR overrides it)
    mirror=${MIRROR:-}
    for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
        [ -z "$mirror" ] && [ -s "$f" ] && mirror=$f
    done
    mirror=${mirror:-http://deb.debian.org/debian}
    echo "build-image: making the bookworm-slim base from $mirror"
    # The path-excludes are what makes the official image "slim": no manuals,
    # docs or translations, now or in what the Containerfile installs later.
    # The merged-usr hook lays out /usr itself, which keeps the usrmerge
    # package and the perl it needs out of the image.
    mmdebstrap --variant=minbase --mode=root --format=tar \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/lintian/*' \
        --aptopt='APT::Install-Recommends "false"' \
        bookworm "$base_tar.part" "$mirror"
    mv "$base_tar.part" "$base_tar"
    podman rmi -f "$BASE_IMAGE" >/dev/null 2>&1 || true
fi
if ! podman image exists "$BASE_IMAGE"; then
    podman import --change 'CMD ["bash"]' "$base_tar" "$BASE_IMAGE"
fi

# The image needs only the module package: the tools' package brings python3
# (for the scikit-learn converter), which a server does not need.  It is
# copied aside first, so that a `make deb` running meanwhile cannot pull it
# from under the build.
shopt -s nullglob
debs=("$ROOT"/build/deb/libnginx-mod-http-forest_*.deb)
shopt -u nullglob
[ ${#debs[@]} -eq 1 ] || {
    echo "build-image: need one libnginx-mod-http-forest_*.deb in build/deb (run make deb)" >&2
    exit 1
}
stage=$ROOT/build/image/deb
rm -rf "$stage" && mkdir -p "$stage" && cp "${debs[0]}" "$stage/"
version=$(dpkg-deb -f "${debs[0]}" Version)
tag=${version//[^A-Za-z0-9_.-]/_}   # a Debian version may hold + and ~
# --network=host: apt inside the build reaches the same mirror the host does,
# without the NAT a bridge network needs.  --format docker: the OCI image
# format has no HEALTHCHECK.
podman build --pull=never --network=host --format docker \
    --build-arg BASE="$BASE_IMAGE" --build-arg DEB_DIR=build/image/deb \
    --build-arg DEB_SHA256="$(sha256sum < "$stage"/*.deb | cut -d' ' -f1)" \
    --build-arg VERSION="$version" \
    -t "$IMAGE:$tag" -t "$IMAGE:latest" -f "$ROOT/Containerfile" "$ROOT"
echo "build-image: $IMAGE:$tag"
