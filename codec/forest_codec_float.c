/*
 * The text of a float32 in a response: the first of %.6g .. %.9g that reads
 * back as the same float32 (so class ids print as 1 and probabilities as
 * 0.875 rather than 0.875000000), as printf and strtof would give it, but
 * without them in the common range.  printf's exact decimal expansion and
 * strtof cost about a microsecond a value; one prediction is a few of them.
 *
 * For 1e-9 <= |v| < 1e6 the digits are found in double arithmetic made
 * exact with fma: v * 10^k is computed as P + E exactly (10^k, k <= 18, is
 * exact in a double), so rounding to an integer and comparing with the
 * midpoints between v and its neighbours (which a double holds exactly) are
 * decided on exact values.  Other values take the printf path.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forest_codec_internal.h"

#define PREC_MIN 6
#define PREC_MAX 9

/* 10^0 .. 10^18: all exact doubles */
static const double pow10_exact[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
    1e13, 1e14, 1e15, 1e16, 1e17, 1e18
};

/* The sign of (x * s) - m for a double x, an exact power of ten s and an
 * integer m (|m| < 2^53, x * s < 2^53): x * s = p + e exactly, and
 * whenever p != m they differ by at least one unit of p, more than |e|. */
static int
cmp_scaled(double x, double s, double m)
{
    double p = x * s;
    double e = fma(x, s, -p);

    if (p != m) {
        return p > m ? 1 : -1;
    }
    return e > 0 ? 1 : e < 0 ? -1 : 0;
}

/* x * s rounded to an integer, ties to even (x * s < 2^31). */
static double
round_scaled(double x, double s)
{
    double p = x * s;
    double n = floor(p);
    int    c = cmp_scaled(x, s, n + 0.5);

    return c > 0 || (c == 0 && ((int64_t) n & 1) != 0) ? n + 1 : n;
}

/* %.*g's layout of digits (an integer of prec digits) times 10^(x-prec+1) */
static size_t
layout(char *buf, uint64_t digits, int prec, int x)
{
    char   d[PREC_MAX + 1];
    size_t n = 0;
    int    nd = prec;

    for (int i = prec - 1; i >= 0; i--) {
        d[i] = (char) ('0' + digits % 10);
        digits /= 10;
    }
    while (nd > 1 && d[nd - 1] == '0') {
        nd--;
    }
    if (x < -4 || x >= prec) {
        buf[n++] = d[0];
        if (nd > 1) {
            buf[n++] = '.';
            memcpy(buf + n, d + 1, (size_t) nd - 1);
            n += (size_t) nd - 1;
        }
        return n + (size_t) sprintf(buf + n, "e%c%02d", x < 0 ? '-' : '+',
                                    abs(x));
    }
    if (x < 0) {
        buf[n++] = '0';
        buf[n++] = '.';
        for (int i = -1; i > x; i--) {
            buf[n++] = '0';
        }
        memcpy(buf + n, d, (size_t) nd);
        return n + (size_t) nd;
    }
    /* the whole part (zeros past the last digit), then the fraction */
    for (int i = 0; i <= x; i++) {
        buf[n++] = i < nd ? d[i] : '0';
    }
    if (nd > x + 1) {
        buf[n++] = '.';
        memcpy(buf + n, d + x + 1, (size_t) (nd - x - 1));
        n += (size_t) (nd - x - 1);
    }
    return n;
}

static float
float_of_bits(uint32_t bits)
{
    float f;

    memcpy(&f, &bits, sizeof(f));
    return f;
}

size_t
fcodec_float_text_printf(float v, char *buf)
{
    int n = 0;

    for (int prec = PREC_MIN; prec <= PREC_MAX; prec++) {
        n = snprintf(buf, FCODEC_FLOAT_TEXT_MAX, "%.*g", prec, (double) v);
        if (strtof(buf, NULL) == v) {
            break;
        }
    }
    return (size_t) n;
}

size_t
fcodec_float_text(float v, char *buf)
{
    double   a = fabs((double) v);
    double   lo, hi;
    uint32_t bits;
    size_t   n = 0;
    int      x;

    /* (from 1e-9 on, k = prec - 1 - x stays within the table; wider
     * intermediates, as on x87, would round the products twice) */
    if (FLT_EVAL_METHOD != 0 || !(a >= 1e-9 && a < 1e6)) {
        return fcodec_float_text_printf(v, buf);
    }
    if (v < 0) {
        buf[n++] = '-';
    }
    /* the midpoints to the neighbours (a, a normal float below FLT_MAX,
     * has them one unit of its bits away): sums of two floats are exact */
    memcpy(&bits, &v, sizeof(bits));
    bits &= 0x7fffffff;
    lo = (a + (double) float_of_bits(bits - 1)) / 2;
    hi = (a + (double) float_of_bits(bits + 1)) / 2;

    /* x within one of the decimal exponent, from the binary one (the loop
     * below makes it exact), and where k stays within the table */
    x = (int) floor(((int) (bits >> 23) - 127) * 0.30102999566398120);
    x = x < -10 ? -10 : x > 5 ? 5 : x;
    for (int prec = PREC_MIN;; prec++) {
        double s, digits;
        int    c_lo, c_hi, k;

        /* x: the decimal exponent of a, made exact on the scaled value */
        for (;;) {
            k = prec - 1 - x;
            if (cmp_scaled(a, pow10_exact[k], pow10_exact[prec - 1]) < 0) {
                x--;
            } else if (k > 0
                       && cmp_scaled(a, pow10_exact[k], pow10_exact[prec]) >= 0)
            {
                x++;
            } else {
                break;
            }
        }
        s = pow10_exact[k];
        digits = round_scaled(a, s);
        /* digits * 10^-k reads back as v: strictly inside the midpoints,
         * or on one with v's mantissa even (ties to even); nine digits
         * always do */
        c_lo = -cmp_scaled(lo, s, digits);
        c_hi = -cmp_scaled(hi, s, digits);
        if ((c_lo > 0 && c_hi < 0)
            || ((bits & 1) == 0 && c_lo >= 0 && c_hi <= 0)
            || prec == PREC_MAX)
        {
            if (digits == pow10_exact[prec]) {
                digits = pow10_exact[prec - 1];
                x++;
            }
            return n + layout(buf + n, (uint64_t) digits, prec, x);
        }
    }
}
