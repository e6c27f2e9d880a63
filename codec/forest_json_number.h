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
#include <string.h>

#define FOREST_JSON_EXACT_INT  9007199254740992ULL    /* 2^53 */

/* the SWAR steps below read bytes in little-endian order */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FOREST_JSON_SWAR 1
#else
#define FOREST_JSON_SWAR 0
#endif

/*
 * Eight ASCII digits in v (loaded little-endian: the first digit in the
 * lowest byte) as their value, or -1 when one of them is no digit.  Most
 * request numbers have eight or more digits after the point: one step here
 * replaces eight turns of a per-character loop.
 */
static inline int64_t
forest_json_eight_digits(uint64_t v)
{
    /* every byte 0x30-0x39: high nibble 3, and adding 6 keeps it 3 */
    if ((v & 0xf0f0f0f0f0f0f0f0ULL) != 0x3030303030303030ULL
        || ((v + 0x0606060606060606ULL) & 0xf0f0f0f0f0f0f0f0ULL)
           != 0x3030303030303030ULL)
    {
        return -1;
    }

    v -= 0x3030303030303030ULL;
    /* pairs, then quads, then the eight: each step keeps the high part */
    v = (v * 10) + (v >> 8);
    v = (((v & 0x000000ff000000ffULL) * (100 + (1000000ULL << 32)))
         + (((v >> 16) & 0x000000ff000000ffULL) * (1 + (10000ULL << 32))))
        >> 32;

    return (int64_t) (uint32_t) v;    /* the eight digits' value, < 10^8 */
}

/*
 * The last n (1..7) characters of the token s[0..len), len >= 8, as digits:
 * the eight bytes that end the token, the 8 - n before those n turned into
 * '0' (leading zeros add nothing).  -1 when one of the n is no digit (an
 * exponent follows).  The tail of most numbers in one step, without
 * reading past the token.
 */
static inline int64_t
forest_json_tail_digits(const char *s, size_t len, size_t n)
{
    uint64_t v, lead = (1ULL << (8 * (8 - n))) - 1;

    memcpy(&v, s + len - 8, sizeof(v));
    return forest_json_eight_digits((v & ~lead)
                                    | (0x3030303030303030ULL & lead));
}

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
    static const uint32_t pow10_int[] = {
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000
    };

    int       neg = 0, digits = 0, exp10 = 0, e = 0, eneg = 0;
    size_t    i = 0;
    uint64_t  m = 0;

#if FLT_EVAL_METHOD != 0
    /* extended-precision intermediates would round twice */
    (void) s; (void) len; (void) v; (void) pow10; (void) pow10_int;
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
        /*
         * whole groups of eight first; leading zeros of a group after a zero
         * m count as significant here, which can only send a number to
         * strtod, never change one
         */
        for (i++; FOREST_JSON_SWAR && len - i >= 8; i += 8) {
            uint64_t bytes;
            int64_t  eight;

            memcpy(&bytes, s + i, sizeof(bytes));
            eight = forest_json_eight_digits(bytes);
            if (eight < 0) {
                break;
            }
            if ((m != 0 || eight != 0) && (digits += 8) > 19) {
                return 0;
            }
            m = m * 100000000 + (uint64_t) eight;
            exp10 -= 8;
        }
        if (FOREST_JSON_SWAR && i < len && len - i < 8 && len >= 8) {
            size_t   n = len - i;
            int64_t  tail = forest_json_tail_digits(s, len, n);

            if (tail >= 0) {
                if ((m != 0 || tail != 0) && (digits += (int) n) > 19) {
                    return 0;
                }
                m = m * (uint64_t) pow10_int[n] + (uint64_t) tail;
                exp10 -= (int) n;
                i = len;
            }
        }
        for ( ; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
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
