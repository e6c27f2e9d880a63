#!/bin/bash
# ngx-forest container entrypoint.
#
# With a mounted $FOREST_NGINX_CONF, serves that file.  Otherwise serves the
# Triton model repository $FOREST_MODEL_REPOSITORY: when every model folder
# has a config.pbtxt, as it is, with forest_model_repository (polled every
# $FOREST_REPOSITORY_POLL when set); else, for folders of bare model files,
#     /models/<name>/<version>/<one model file>
# with a forest_model line per version ($FOREST_MODEL_ARGS added).  Either
# way through a generated nginx.conf: KServe v2 on $FOREST_HTTP_PORT, Prometheus
# /metrics there and on $FOREST_METRICS_PORT.  Everything nginx writes goes
# to $FOREST_RUN_DIR (a tmpfs or emptyDir under a read-only root) or to
# stderr/stdout.  The configuration is tested first, so a bad model stops the
# container with nginx's message; then nginx replaces this script as PID 1
# (SIGQUIT: graceful stop, SIGTERM: fast stop, SIGHUP: reload, which reads a
# config.pbtxt repository again; generated forest_model lines change only
# with a restart).
#
# With arguments, runs them instead (e.g. `nginx -V`, `bash`).
# FOREST_NGINX and FOREST_LOAD_MODULES (the load_module lines to include) let
# the script run outside the image, against a module built in the tree.
set -euo pipefail

[ $# -eq 0 ] || exec "$@"

repo=${FOREST_MODEL_REPOSITORY:-/models}
user_conf=${FOREST_NGINX_CONF:-/etc/ngx-forest/nginx.conf}
run=${FOREST_RUN_DIR:-/tmp/ngx-forest}
nginx=${FOREST_NGINX:-/usr/sbin/nginx}
modules=${FOREST_LOAD_MODULES:-/etc/nginx/modules-enabled/*.conf}
http_port=${FOREST_HTTP_PORT:-8000}
metrics_port=${FOREST_METRICS_PORT:-8002}
workers=${FOREST_WORKERS:-}
connections=${FOREST_WORKER_CONNECTIONS:-1024}
model_args=${FOREST_MODEL_ARGS:-}
repository_poll=${FOREST_REPOSITORY_POLL:-}
max_body=${FOREST_MAX_BODY_SIZE:-64m}
log_level=${FOREST_LOG_LEVEL:-notice}
access_log=${FOREST_ACCESS_LOG:-off}
shutdown_timeout=${FOREST_SHUTDOWN_TIMEOUT:-25s}

die() { echo "ngx-forest: $*" >&2; exit 1; }

# CPUs this container may use: the affinity mask (nproc), lowered to the CFS
# quota when one is set, since nginx's `auto` counts the host's CPUs.
cpus() {
    local n quota period
    n=$(nproc)
    if [ -r /sys/fs/cgroup/cpu.max ]; then
        read -r quota period < /sys/fs/cgroup/cpu.max
    elif [ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
        quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)
        period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
    fi
    if [[ ${quota:-max} =~ ^[0-9]+$ ]] && [ "$quota" -gt 0 ]; then
        quota=$(( (quota + period - 1) / period ))
        [ "$quota" -lt "$n" ] && n=$quota
    fi
    echo "$n"
}

# The one model file of a version folder: the formats' usual extensions
# (Triton FIL names them xgboost.model/.json/.ubj, model.txt, checkpoint.tl).
model_file() {
    local dir=$1 f found=()
    for f in "$dir"/*; do
        [ -f "$f" ] || continue
        case ${f##*/} in
            *.json|*.ubj|*.model|*.bin|*.txt|*.tl|*.treelite) found+=("$f") ;;
        esac
    done
    case ${#found[@]} in
        1) echo "${found[0]}" ;;
        0) die "no model file in $dir (expected one .json, .ubj, .model, .bin, .txt, .tl or .treelite)" ;;
        *) die "several model files in $dir: ${found[*]##*/} (keep one)" ;;
    esac
}

# Every model folder has a config.pbtxt: the module reads the repository.
triton_layout() {
    local dir found=0
    for dir in "$repo"/*/; do
        [ -d "$dir" ] || continue
        [ -f "${dir}config.pbtxt" ] || return 1
        found=1
    done
    [ "$found" = 1 ]
}

generate() {
    local conf=$1 dir name v file lines=() n=0 dirs=("$repo"/*/)
    [ -d "$repo" ] || die "no model repository at $repo (mount one, or an nginx.conf at $user_conf)"
    if triton_layout; then
        echo "ngx-forest: serving the model repository $repo (config.pbtxt)" >&2
        lines=("    forest_model_repository \"$repo\"${repository_poll:+ poll=$repository_poll};"
               "    forest_repository_state $run/repository.state;")
        n=1 dirs=()
    fi
    for dir in "${dirs[@]}"; do
        [ -d "$dir" ] || continue
        name=$(basename "$dir")
        # Kubernetes ConfigMap/Secret volumes keep their data in ..dirs
        [[ $name == .* ]] && continue
        [[ $name =~ ^[A-Za-z0-9_.-]{1,63}$ ]] \
            || die "model folder '$name': a name is 1-63 of A-Z a-z 0-9 _ . -"
        local versions=()
        for v in "$dir"*/; do
            v=$(basename "$v")
            [[ $v =~ ^[0-9]+$ ]] && versions+=("$v")
        done
        [ ${#versions[@]} -gt 0 ] || die "model $name: no numeric version folder in $dir"
        for v in $(printf '%s\n' "${versions[@]}" | sort -n); do
            [ $((10#$v)) -gt 0 ] || die "model $name: version folders are positive integers, not '$v'"
            file=$(model_file "$dir$v")
            [[ $file != *[\"\\]* ]] || die "model file path with a quote or backslash: $file"
            echo "ngx-forest: model $name version $((10#$v)): $file" >&2
            lines+=("    forest_model $name \"$file\" version=$((10#$v)) $model_args;")
            n=$((n + 1))
        done
    done
    [ "$n" -gt 0 ] || die "no models under $repo"

    # IPv6 too where the kernel has it (IPv6 and dual-stack clusters)
    local listen6=() port
    if [ -e /proc/net/if_inet6 ]; then
        for port in "$http_port" "$metrics_port"; do
            listen6+=("
        listen [::]:$port;")
        done
    fi
    local metrics_server=
    if [ -n "$metrics_port" ] && [ "$metrics_port" != 0 ] && [ "$metrics_port" != "$http_port" ]; then
        metrics_server="
    server {
        listen $metrics_port;${listen6[1]:-}
        location = /metrics { forest_metrics; }
        location / { return 404; }
    }"
    fi
    local access="access_log off;"
    [ "$access_log" = off ] || access="access_log $access_log;"

    cat > "$conf" <<CONF
# generated by the ngx-forest entrypoint from $repo
include $modules;

worker_processes $workers;
pid $run/nginx.pid;
error_log stderr $log_level;
worker_shutdown_timeout $shutdown_timeout;

events {
    worker_connections $connections;
}

http {
    $access
    client_max_body_size $max_body;
    default_type application/json;

    # the packaged nginx's compiled-in temp paths are under the read-only /var
    client_body_temp_path $run/client_body_temp;
    proxy_temp_path       $run/proxy_temp;
    fastcgi_temp_path     $run/fastcgi_temp;
    uwsgi_temp_path       $run/uwsgi_temp;
    scgi_temp_path        $run/scgi_temp;

$(printf '%s\n' "${lines[@]}")

    server {
        listen $http_port;${listen6[0]:-}
        location /v2        { forest_kserve; }
        location /predict/  { forest_predict; }
        location = /metrics { forest_metrics; }
        location / { return 404 '{"error": "not found"}'; }
    }$metrics_server
}
CONF
}

mkdir -p "$run" || die "$run is not writable (mount a tmpfs or emptyDir there)"
[ -n "$workers" ] || workers=$(cpus)
if [ -f "$user_conf" ]; then
    conf=$user_conf
    echo "ngx-forest: serving $conf" >&2
else
    conf=$run/nginx.conf
    generate "$conf"
fi

# nginx keeps its packaged prefix, which the modules' load lines are
# relative to; everything it writes is named above with an absolute path.
"$nginx" -t -q -c "$conf" -e stderr -g 'daemon off;' \
    || die "configuration test failed (above); config: $conf"
exec "$nginx" -c "$conf" -e stderr -g 'daemon off;'
