/*
 * Little-endian reads from byte buffers (model files and .f32 input are
 * little-endian whatever the host).  The caller checks the bounds.
 */
#ifndef FOREST_BYTES_H
#define FOREST_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A read position in a caller's buffer, and where a loader's errors go. */
typedef struct {
    const uint8_t *p;
    size_t         len, pos;
    const char    *name;
    char          *err;
    size_t         errlen;
} forest_reader;

static inline uint32_t
forest_le_u32(const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
           | (uint32_t) p[3] << 24;
}

static inline uint64_t
forest_le_u64(const uint8_t *p)
{
    return forest_le_u32(p) | (uint64_t) forest_le_u32(p + 4) << 32;
}

static inline float
forest_le_f32(const uint8_t *p)
{
    uint32_t u = forest_le_u32(p);
    float    f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

static inline double
forest_le_f64(const uint8_t *p)
{
    uint64_t u = forest_le_u64(p);
    double   d;

    memcpy(&d, &u, sizeof(d));
    return d;
}

#endif /* FOREST_BYTES_H */
