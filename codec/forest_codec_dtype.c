/*
 * KServe/Triton tensor datatypes: element size, the range a JSON value of
 * the type may take, and how one little-endian element becomes a float32
 * feature (the forest compares float32 values, as Triton FIL does); a
 * tensor shape as text for messages.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "forest_codec_internal.h"

static uint64_t
le(const uint8_t *b, unsigned n)
{
    uint64_t v = 0;

    while (n-- > 0) {
        v = v << 8 | b[n];
    }
    return v;
}

static float
f32_bits(uint32_t bits)
{
    float f;

    memcpy(&f, &bits, sizeof(f));
    return f;
}

static float load_bool(const uint8_t *b) { return b[0] != 0; }
static float load_u8(const uint8_t *b)   { return b[0]; }
static float load_i8(const uint8_t *b)   { return (int8_t) b[0]; }
static float load_u16(const uint8_t *b)  { return (uint16_t) le(b, 2); }
static float load_i16(const uint8_t *b)  { return (int16_t) le(b, 2); }
static float load_u32(const uint8_t *b)  { return (float) (uint32_t) le(b, 4); }
static float load_i32(const uint8_t *b)  { return (float) (int32_t) le(b, 4); }
static float load_u64(const uint8_t *b)  { return (float) le(b, 8); }
static float load_i64(const uint8_t *b)  { return (float) (int64_t) le(b, 8); }
static float load_f32(const uint8_t *b)  { return f32_bits((uint32_t) le(b, 4)); }
static float load_bf16(const uint8_t *b) { return f32_bits((uint32_t) le(b, 2) << 16); }

static float
load_f64(const uint8_t *b)
{
    uint64_t bits = le(b, 8);
    double   d;

    memcpy(&d, &bits, sizeof(d));
    return isnan(d) ? NAN : fcodec_to_float(d);
}

static float
load_f16(const uint8_t *b)
{
    uint32_t h = (uint32_t) le(b, 2);
    uint32_t sign = (h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float    v;

    if (exp == 0x1f) {
        return f32_bits(sign | 0x7f800000u | man << 13);
    }
    v = exp == 0 ? ldexpf((float) man, -24)          /* subnormal */
                 : ldexpf((float) (man | 0x400), (int) exp - 25);
    return sign ? -v : v;
}

/* A float type's range is every value that rounds to a finite one. */
#define I_RANGE(lo, hi)  1, (double) (lo), (double) (hi)
#define F_RANGE(m)       0, -(double) (m), (double) (m)

static const fcodec_dtype dtypes[] = {
    { "BOOL",   1, 1, 0, 0, 1,                     load_bool },
    { "UINT8",  1, 0, I_RANGE(0, UINT8_MAX),         load_u8 },
    { "INT8",   1, 0, I_RANGE(INT8_MIN, INT8_MAX),   load_i8 },
    { "UINT16", 2, 0, I_RANGE(0, UINT16_MAX),        load_u16 },
    { "INT16",  2, 0, I_RANGE(INT16_MIN, INT16_MAX), load_i16 },
    { "UINT32", 4, 0, I_RANGE(0, UINT32_MAX),        load_u32 },
    { "INT32",  4, 0, I_RANGE(INT32_MIN, INT32_MAX), load_i32 },
    { "UINT64", 8, 0, I_RANGE(0, UINT64_MAX),        load_u64 },
    { "INT64",  8, 0, I_RANGE(INT64_MIN, INT64_MAX), load_i64 },
    { "FP16",   2, 0, F_RANGE(0x1.ffdfffffffffffp+15), load_f16 },
    { "BF16",   2, 0, F_RANGE(0x1.fefffffffffffp+127), load_bf16 },
    { "FP32",   4, 0, F_RANGE(0x1.fffffefffffffp+127), load_f32 },
    { "FP64",   8, 0, F_RANGE(DBL_MAX),              load_f64 },
    { "BYTES",  0, 0, 0, 0, 0,                       NULL },
};

const fcodec_dtype *
fcodec_dtype_find(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++) {
        if (strlen(dtypes[i].name) == len
            && memcmp(dtypes[i].name, name, len) == 0)
        {
            return &dtypes[i];
        }
    }
    return NULL;
}

void
fcodec_shape_text(const uint64_t *shape, uint32_t rank, char *buf,
    size_t size)
{
    size_t   at = 0;
    uint32_t i;

    at += snprintf(buf, size, "[");
    for (i = 0; i < rank && i < FCODEC_MAX_DIMS; i++) {
        at += snprintf(buf + at, size - at, "%s%llu", i ? "," : "",
                       (unsigned long long) shape[i]);
    }
    snprintf(buf + at, size - at, "%s]", rank > FCODEC_MAX_DIMS ? ",..." : "");
}

int
fcodec_shape_fits(const uint64_t *shape, uint32_t rank,
    const fcodec_model *m, char *err, size_t size)
{
    char text[96];

    if (rank == 2 && shape[1] == m->n_features && shape[0] != 0) {
        return 1;
    }
    /* the shape as sent, made for the message only (printf costs) */
    fcodec_shape_text(shape, rank, text, sizeof(text));
    if (rank != 2) {
        snprintf(err, size, "input__0 shape %s must have two dimensions: "
                 "[rows, %u]", text, m->n_features);
    } else if (shape[1] != m->n_features) {
        snprintf(err, size, "input__0 shape %s: model %s expects %u features",
                 text, m->name, m->n_features);
    } else {
        snprintf(err, size, "input__0 shape %s holds no rows", text);
    }
    return 0;
}

/* Digit i of a number's digits before and after the point, the point
 * (which follows digit n_int - 1) left out. */
static char
mant_digit(const char *mant, size_t n_int, size_t i)
{
    return i < n_int ? mant[i] : mant[i + 1];
}

/*
 * s is a valid JSON number: -?digits(.digits)?([eE][+-]?digits)?.  Its
 * value is the digits with the point left out (D) times 10^e; with D's
 * leading and trailing zeros dropped it has m + e digits before the point.
 */
int
fcodec_number_cmp(const char *s, size_t len, const char *bound)
{
    const char *end = s + len, *mant;
    size_t      n_int = 0, n_frac = 0, n, first, last, m, nb, k;
    long        e, exp = 0, sign = 1;
    char        d;

    if (s < end && *s == '-') {
        s++;
    }
    mant = s;
    while (s < end && *s >= '0' && *s <= '9') {
        s++, n_int++;
    }
    if (s < end && *s == '.') {
        for (s++; s < end && *s >= '0' && *s <= '9'; s++) {
            n_frac++;
        }
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < end && (*s == '+' || *s == '-')) {
            sign = *s++ == '-' ? -1 : 1;
        }
        for ( /* void */ ; s < end && *s >= '0' && *s <= '9'; s++) {
            if (exp < 100000) {            /* far past any token's digits */
                exp = exp * 10 + (*s - '0');
            }
        }
    }

    n = n_int + n_frac;
    for (first = 0; first < n && mant_digit(mant, n_int, first) == '0';
         first++)
    {
    }
    if (first == n) {
        return *bound == '0' ? 0 : -1;     /* the value is 0 */
    }
    for (last = n - 1; mant_digit(mant, n_int, last) == '0'; last--) {
    }
    m = last - first + 1;
    e = sign * exp - (long) n_frac + (long) (n - 1 - last);

    nb = strlen(bound);
    if ((long) m + e != (long) nb) {
        return (long) m + e > (long) nb ? 1 : -1;
    }
    for (k = 0; k < nb; k++) {
        d = k < m ? mant_digit(mant, n_int, first + k) : '0';
        if (d != bound[k]) {
            return d > bound[k] ? 1 : -1;
        }
    }

    return e < 0 ? 1 : 0;                  /* nonzero digits after the point */
}
