/*
 * The exact fast path for JSON numbers, shared by the request codec
 * (forest_codec_parser.c) and the Lua hooks' decoder (lua/forest_lua_json.c).
 *
 * glibc's strtod costs about 60 ns a number, mostly in its multiprecision
 * path, which is a third of the CPU time of a 64-row request.  Most numbers
 * in a request have few significant digits and a small exponent: such a
 * number is an integer m <= 2^53 times or divided by a power of ten up to
 * 1e22, both exact doubles, so one correctly rounded multiplication or
 * division gives exactly what strtod gives (Clinger, "How to read floating
 * point numbers accurately", 1990).  A larger exponent still qualifies when
 * m times the surplus power of ten stays at most 2^53 (still exact).  The
 * other numbers are left to the caller's strtod.
 */
#ifndef FOREST_JSON_NUMBER_H
#define FOREST_JSON_NUMBER_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

#define FOREST_JSON_EXACT_INT  9007199254740992ULL    /* 2^53 */

/*
 * s[0..len) is a JSON number as yajl checked it: -?int(.frac)?([eE][+-]?exp)?
 * Returns 1 and sets *v to the double strtod would give, or returns 0 when
 * only strtod can tell.
 */
static inline int
forest_json_number_fast(const char *s, size_t len, double *v)
{
    static const double  pow10[] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
        1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
    };

    int       neg = 0, digits = 0, exp10 = 0, e = 0, eneg = 0;
    size_t    i = 0;
    uint64_t  m = 0;

#if FLT_EVAL_METHOD != 0
    /* extended-precision intermediates would round twice */
    (void) s; (void) len; (void) v; (void) pow10;
    return 0;
#endif

    if (i < len && s[i] == '-') {
        neg = 1;
        i++;
    }

    /* leading zeros are not significant; m stops before a 20th digit
     * could overflow it */
    for ( ; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if ((m != 0 || s[i] != '0') && ++digits > 19) {
            return 0;
        }
        m = m * 10 + (uint64_t) (s[i] - '0');
    }

    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if ((m != 0 || s[i] != '0') && ++digits > 19) {
                return 0;
            }
            m = m * 10 + (uint64_t) (s[i] - '0');
            exp10--;
        }
    }

    if (m > FOREST_JSON_EXACT_INT) {
        return 0;
    }

    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+')) {
            eneg = s[i] == '-';
            i++;
        }
        for ( ; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            e = e * 10 + (s[i] - '0');
            if (e > 400) {
                return 0;
            }
        }
        exp10 += eneg ? -e : e;
    }

    if (i != len) {
        return 0;
    }

    if (m == 0) {
        *v = 0.0;

    } else if (exp10 < 0) {
        if (exp10 < -22) {
            return 0;
        }
        *v = (double) m / pow10[-exp10];

    } else {
        /* 1e22 times an exact integer: move the surplus into m */
        for ( ; exp10 > 22; exp10--) {
            if (m > FOREST_JSON_EXACT_INT / 10) {
                return 0;
            }
            m *= 10;
        }
        *v = (double) m * pow10[exp10];
    }

    if (neg) {
        *v = -*v;
    }

    return 1;
}

#endif /* FOREST_JSON_NUMBER_H */
