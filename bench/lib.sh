# Shared by the CPU bench scripts (sourced, from the repository root).

# bench_venv VENV REQUIREMENTS: makes the pinned venv (scripts/make_venv.sh)
# when it is missing or older than REQUIREMENTS.
bench_venv() {
    if [ ! -f "$1/.stamp" ] || [ "$2" -nt "$1/.stamp" ]; then
        bash scripts/make_venv.sh "$1" "$2"
    fi
}

# bench_models PYTHON DIR: the bench models and data
# (bench/make_bench_models.py) in DIR, made once.
bench_models() {
    if [ ! -f "$2/xgb_bench.json" ] || [ ! -f "$2/lgb_bench.txt" ] \
       || [ ! -f "$2/bench.f32" ]; then
        "$1" bench/make_bench_models.py --out "$2"
    fi
}

# bench_cc BUILD NAME: bench/NAME.c against BUILD/libforest.a, into
# BUILD/bin/NAME.
bench_cc() {
    ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iforest \
        -o "$1/bin/$2" "bench/$2.c" "$1/libforest.a" -pthread -lm
}

# bench_nginx_conf DIR MODULE CONNECTIONS HTTP_LINES: DIR/conf/nginx.conf
# (and DIR/logs) for the HTTP benches' one worker: the shared head, then
# HTTP_LINES (the bench's forest_model lines and servers) in its http block.
bench_nginx_conf() {
    mkdir -p "$1/logs" "$1/conf"
    cat > "$1/conf/nginx.conf" <<EOF
load_module $2;
worker_processes 1;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections $3; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;
$4
}
EOF
}

# bench_wait_ready NAME URL LOG: waits up to a minute for URL to answer;
# else says so with LOG's last lines, status 1.
bench_wait_ready() {
    local _
    for _ in $(seq 1 120); do
        curl -s -o /dev/null "$2" && return 0
        sleep 0.5
    done
    echo "$1 did not come up; last lines of $3:"
    tail -20 "$3" || true
    return 1
}
