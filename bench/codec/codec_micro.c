/*
 * The codec's number paths against the libc calls they replace, ns a value:
 *   response floats: fcodec_float_text against printf %.6g..%.9g + strtof
 *   request numbers: forest_json_number_fast against strtod
 * on float32 values as a model answers them (probabilities in (0, 1)) and
 * as clients send them (shortest texts of N(0, 1) floats).  Both sides are
 * checked to agree before timing.  Built and run by bench/codec/run.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forest_codec_internal.h"
#include "forest_json_number.h"

#define N_VALUES 4096
#define REPEAT   300

static double
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static size_t
text_by_printf(float v, char *buf)
{
    int n = 0;

    for (int prec = 6; prec <= 9; prec++) {
        n = snprintf(buf, FCODEC_FLOAT_TEXT_MAX, "%.*g", prec, (double) v);
        if (strtof(buf, NULL) == v) {
            break;
        }
    }
    return (size_t) n;
}

/* uniform in (0, 1) and roughly N(0, 1), from a fixed LCG */
static float
next_float(unsigned *seed, int normal)
{
    float u = 0;

    for (int i = 0; i < (normal ? 12 : 1); i++) {
        *seed = *seed * 1664525u + 1013904223u;
        u += (float) ((*seed >> 8) + 1) / 16777218.0f;
    }
    return normal ? u - 6.0f : u;
}

int
main(void)
{
    static float  probs[N_VALUES];
    static char   texts[N_VALUES][FCODEC_FLOAT_TEXT_MAX];
    static size_t lens[N_VALUES];
    char          a[FCODEC_FLOAT_TEXT_MAX], b[FCODEC_FLOAT_TEXT_MAX];
    unsigned      seed = 42;
    double        t0, fast_ns, libc_ns, sink = 0;
    size_t        sum = 0;

    for (int i = 0; i < N_VALUES; i++) {
        size_t na, nb;

        probs[i] = next_float(&seed, 0);
        na = fcodec_float_text(probs[i], a);
        nb = text_by_printf(probs[i], b);
        if (na != nb || memcmp(a, b, na) != 0) {
            fprintf(stderr, "float text differs for %.9g\n", probs[i]);
            return 1;
        }
        lens[i] = text_by_printf(next_float(&seed, 1), texts[i]);
        texts[i][lens[i]] = '\0';
    }

    t0 = now_ns();
    for (int r = 0; r < REPEAT; r++) {
        for (int i = 0; i < N_VALUES; i++) {
            sum += fcodec_float_text(probs[i], a);
        }
    }
    fast_ns = (now_ns() - t0) / (REPEAT * N_VALUES);
    t0 = now_ns();
    for (int r = 0; r < REPEAT; r++) {
        for (int i = 0; i < N_VALUES; i++) {
            sum += text_by_printf(probs[i], a);
        }
    }
    libc_ns = (now_ns() - t0) / (REPEAT * N_VALUES);
    printf("response floats: fcodec_float_text %.1f ns, printf+strtof %.1f ns "
           "a value: %.1fx\n", fast_ns, libc_ns, libc_ns / fast_ns);

    for (int i = 0; i < N_VALUES; i++) {
        double fast;

        if (!forest_json_number_fast(texts[i], lens[i], &fast)
            || fast != strtod(texts[i], NULL))
        {
            fprintf(stderr, "number fast path misses %s\n", texts[i]);
            return 1;
        }
    }
    t0 = now_ns();
    for (int r = 0; r < REPEAT; r++) {
        for (int i = 0; i < N_VALUES; i++) {
            double v;

            forest_json_number_fast(texts[i], lens[i], &v);
            sink += v;
        }
    }
    fast_ns = (now_ns() - t0) / (REPEAT * N_VALUES);
    t0 = now_ns();
    for (int r = 0; r < REPEAT; r++) {
        for (int i = 0; i < N_VALUES; i++) {
            sink += strtod(texts[i], NULL);
        }
    }
    libc_ns = (now_ns() - t0) / (REPEAT * N_VALUES);
    printf("request numbers: forest_json_number_fast %.1f ns, strtod %.1f ns "
           "a number: %.1fx\n", fast_ns, libc_ns, libc_ns / fast_ns);

    return sum == 0 || sink == 0.5;
}
