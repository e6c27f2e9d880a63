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

/* exponents beyond this (in magnitude) are held there: past +-400 only a
 * zero mantissa keeps the fast path, and it reads as zero whatever follows */
#define FOREST_JSON_EXP_HELD  100000

/*
 * Eight digit values (0..9, the first in the lowest byte) as the number they
 * spell: pairs, then quads, then the eight, each step keeping the high part.
 */
static inline uint64_t
forest_json_eight_values(uint64_t v)
{
    v = (v * 10) + (v >> 8);
    v = (((v & 0x000000ff000000ffULL) * (100 + (1000000ULL << 32)))
         + (((v >> 16) & 0x000000ff000000ffULL) * (1 + (10000ULL << 32))))
        >> 32;

    return (uint32_t) v;
}

/* A group: eight bytes of s, each XOR '0' (a digit becomes its value). */
static inline uint64_t
forest_json_group(const char *s)
{
    uint64_t w;

    memcpy(&w, s, sizeof(w));
    return w ^ 0x3030303030303030ULL;
}

/* How many digits a group (forest_json_group) starts with, 0..8: any other
 * byte gets its high bit set by one of the two terms (the sum cannot carry
 * out of a byte). */
static inline size_t
forest_json_group_len(uint64_t x)
{
    uint64_t stop = (((x & 0x7f7f7f7f7f7f7f7fULL) + 0x7676767676767676ULL)
                     | x) & 0x8080808080808080ULL;

    return stop != 0 ? (size_t) __builtin_ctzll(stop) / 8 : 8;
}

/* m followed by the first k (1..8) digits of group x: m * 10^k plus their
 * value (the k digits on top, zeros under them: leading zeros). */
static inline uint64_t
forest_json_group_join(uint64_t m, uint64_t x, size_t k)
{
    static const uint32_t pow10_int[] = {
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000
    };

    return m * pow10_int[k] + forest_json_eight_values(x << (8 * (8 - k)));
}

/*
 * The digits s[i..] starts with, within s[0..n): returns where they end;
 * their value joins *m (*m times ten to their count, plus them) and
 * *digits counts them from the first non-zero group on (a zero leading a
 * group counts too, which can only send a number to strtod; *m wraps past
 * 19 digits, which the count then says).  Eight bytes at a time, the last
 * one to seven as the eight bytes that end at n: a number's digits cost a
 * step or two instead of a turn per character, and the caller needs no
 * second pass over them.
 */
static inline size_t
forest_json_digits(const char *s, size_t i, size_t n, uint64_t *m,
    size_t *digits)
{
    while (FOREST_JSON_SWAR && i < n && n >= 8) {
        uint64_t w, x;
        size_t   k;

        if (n - i >= 8) {
            memcpy(&w, s + i, sizeof(w));
        } else {
            /* s[i..n) in the low bytes, zero bytes (no digits) above */
            memcpy(&w, s + n - 8, sizeof(w));
            w >>= 8 * (8 - (n - i));
        }
        x = w ^ 0x3030303030303030ULL;
        k = forest_json_group_len(x);
        if (k == 0) {
            return i;
        }
        if (*m != 0 || (x << (8 * (8 - k))) != 0) {
            *digits += k;
        }
        *m = forest_json_group_join(*m, x, k);
        i += k;
        if (k < 8) {
            return i;
        }
    }
    for ( ; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (*m != 0 || s[i] != '0') {
            ++*digits;
        }
        *m = *m * 10 + (uint64_t) (s[i] - '0');
    }
    return i;
}

/* s[i..n) past an exponent's e: where its sign and digits end; their value
 * into *e, held at +-FOREST_JSON_EXP_HELD. */
static inline size_t
forest_json_exponent(const char *s, size_t i, size_t n, long *e)
{
    int  neg = 0;
    long x = 0;

    if (i < n && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    for ( ; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        x = x * 10 + (s[i] - '0');
        if (x > FOREST_JSON_EXP_HELD) {
            x = FOREST_JSON_EXP_HELD;
        }
    }
    *e = neg ? -x : x;
    return i;
}

/*
 * The number whose significant digits m (digits of them, as
 * forest_json_digits counts) times 10^exp10, negative if neg: returns 1
 * and sets *v to the double strtod gives, or returns 0 when only strtod
 * can tell.
 */
static inline int
forest_json_number_value(uint64_t m, size_t digits, long exp10, int neg,
    double *v)
{
    static const double  pow10[] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
        1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
    };

#if FLT_EVAL_METHOD != 0
    /* extended-precision intermediates would round twice */
    (void) m; (void) digits; (void) exp10; (void) neg; (void) v;
    (void) pow10;
    return 0;
#endif

    /* 19 digits cannot overflow m */
    if (digits > 19 || m > FOREST_JSON_EXACT_INT) {
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

/*
 * s[0..len) is a JSON number as yajl checked it: -?int(.frac)?([eE][+-]?exp)?
 * Returns 1 and sets *v to the double strtod would give, or returns 0 when
 * only strtod can tell.
 */
static inline int
forest_json_number_fast(const char *s, size_t len, double *v)
{
    int       neg = len > 0 && s[0] == '-';
    size_t    i, frac = 0, digits = 0;
    long      e = 0;
    uint64_t  m = 0;

    i = forest_json_digits(s, (size_t) neg, len, &m, &digits);
    if (i < len && s[i] == '.') {
        frac = forest_json_digits(s, i + 1, len, &m, &digits) - (i + 1);
        i += 1 + frac;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i = forest_json_exponent(s, i + 1, len, &e);
    }
    return i == len
           && forest_json_number_value(m, digits, e - (long) frac, neg, v);
}

#endif /* FOREST_JSON_NUMBER_H */
