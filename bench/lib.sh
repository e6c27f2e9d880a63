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
