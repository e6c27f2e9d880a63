/*
 * Every float32 bit pattern from FROM up to TO (step STEP) through
 * fcodec_float_text and through printf's %.6g..%.9g + strtof: prints how
 * many differ.  Not part of `make test` (the whole fast range takes minutes);
 * test_codec.c checks every 997th pattern of the fast range.  The exhaustive
 * run, every positive pattern from 2^-30 to 2^20: all of the fast range,
 * 1e-9 <= v < 1e6, and past both ends (negatives only add the sign):
 *
 *   make build/tests/codec/float_text_sweep
 *   build/tests/codec/float_text_sweep 0x30800000 0x49800000 1
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forest_codec_internal.h"

int
main(int argc, char **argv)
{
    unsigned long long from, to, step, checked = 0, differ = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: %s FROM TO STEP (float32 bit patterns)\n",
                argv[0]);
        return 2;
    }
    from = strtoull(argv[1], NULL, 0);
    to = strtoull(argv[2], NULL, 0);
    step = strtoull(argv[3], NULL, 0);
    for (unsigned long long b = from; step > 0 && b < to; b += step) {
        unsigned int bits = (unsigned int) b;
        char         got[FCODEC_FLOAT_TEXT_MAX], want[FCODEC_FLOAT_TEXT_MAX];
        float        v;
        size_t       ng, nw;

        memcpy(&v, &bits, sizeof(v));
        if (!isfinite(v)) {
            continue;
        }
        ng = fcodec_float_text(v, got);
        nw = fcodec_float_text_printf(v, want);
        checked++;
        if (ng != nw || memcmp(got, want, ng) != 0) {
            if (differ++ < 10) {
                printf("%08x: %.*s, printf gives %.*s\n", bits, (int) ng, got,
                       (int) nw, want);
            }
        }
    }
    printf("%llu checked, %llu differ\n", checked, differ);
    return differ != 0;
}
