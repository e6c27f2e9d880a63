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

/* ns a value of fn over vals, REPEAT times */
static double
time_float_text(size_t (*fn)(float, char *), const float *vals,
    size_t *sink)
{
    char   buf[FCODEC_FLOAT_TEXT_MAX];
    double t0 = now_ns();

    for (int r = 0; r < REPEAT; r++) {
        for (int i = 0; i < N_VALUES; i++) {
            *sink += fn(vals[i], buf);
        }
    }
    return (now_ns() - t0) / (REPEAT * N_VALUES);
}

static double
read_fast(const char *s, size_t len)
{
    double v;

    return forest_json_number_fast(s, len, &v) ? v : 0.0;
}

static double
read_strtod(const char *s, size_t len)
{
    (void) len;
    return strtod(s, NULL);
}

/* ns a number of fn over the texts, REPEAT times */
static double
time_numbers(double (*fn)(const char *, size_t),
    char (*texts)[FCODEC_FLOAT_TEXT_MAX], const size_t *lens, double *sink)
{
    double t0 = now_ns();

    for (int r = 0; r < REPEAT; r++) {
        for (int i = 0; i < N_VALUES; i++) {
            *sink += fn(texts[i], lens[i]);
        }
    }
    return (now_ns() - t0) / (REPEAT * N_VALUES);
}

int
main(void)
{
    static float  probs[N_VALUES];
    static char   texts[N_VALUES][FCODEC_FLOAT_TEXT_MAX];
    static size_t lens[N_VALUES];
    char          a[FCODEC_FLOAT_TEXT_MAX], b[FCODEC_FLOAT_TEXT_MAX];
    unsigned      seed = 42;
    double        fast_ns, libc_ns, sink = 0;
    size_t        sum = 0;

    for (int i = 0; i < N_VALUES; i++) {
        size_t na, nb;

        probs[i] = next_float(&seed, 0);
        na = fcodec_float_text(probs[i], a);
        nb = fcodec_float_text_printf(probs[i], b);
        if (na != nb || memcmp(a, b, na) != 0) {
            fprintf(stderr, "float text differs for %.9g\n", probs[i]);
            return 1;
        }
        lens[i] = fcodec_float_text_printf(next_float(&seed, 1), texts[i]);
        texts[i][lens[i]] = '\0';
        if (read_fast(texts[i], lens[i]) != strtod(texts[i], NULL)) {
            fprintf(stderr, "number fast path misses %s\n", texts[i]);
            return 1;
        }
    }

    fast_ns = time_float_text(fcodec_float_text, probs, &sum);
    libc_ns = time_float_text(fcodec_float_text_printf, probs, &sum);
    printf("response floats: fcodec_float_text %.1f ns, printf+strtof %.1f ns "
           "a value: %.1fx\n", fast_ns, libc_ns, libc_ns / fast_ns);

    fast_ns = time_numbers(read_fast, texts, lens, &sink);
    libc_ns = time_numbers(read_strtod, texts, lens, &sink);
    printf("request numbers: forest_json_number_fast %.1f ns, strtod %.1f ns "
           "a number: %.1fx\n", fast_ns, libc_ns, libc_ns / fast_ns);

    return sum == 0 || sink == 0.5;
}
