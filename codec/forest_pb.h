/*
 * Protocol buffers wire format, the few parts gRPC's inference messages
 * use: a reader over a whole message in memory and a writer into memory
 * from the caller's allocator.  No schema: callers switch on field
 * numbers and check wire types themselves.
 */
#ifndef FOREST_PB_H
#define FOREST_PB_H

#include <stddef.h>
#include <stdint.h>

#include "forest_codec.h"

enum {
    FCODEC_PB_VARINT = 0,
    FCODEC_PB_I64 = 1,
    FCODEC_PB_LEN = 2,
    FCODEC_PB_I32 = 5
};

typedef struct {
    const uint8_t  *p, *end;
} fcodec_pb;

/* One field as read: v holds a varint's value or a fixed field's bits;
 * data/len the bytes of a LEN field. */
typedef struct {
    uint32_t        field;
    uint32_t        wire;
    uint64_t        v;
    const uint8_t  *data;
    size_t          len;
} fcodec_pb_field;

void fcodec_pb_init(fcodec_pb *pb, const uint8_t *data, size_t len);

/* 1: *f holds the next field; 0: the message ended cleanly; -1: the bytes
 * are no valid message (*why says how). */
int fcodec_pb_next(fcodec_pb *pb, fcodec_pb_field *f, const char **why);

/* A varint from p (at most end); 0 when truncated or over 10 bytes. */
size_t fcodec_pb_varint(const uint8_t *p, const uint8_t *end, uint64_t *v);

const char *fcodec_pb_wire_name(uint32_t wire);


/* Writer: out.ok turns 0 once memory ran out, and every write is then a
 * no-op.  With frame set, out.buf starts with gRPC's 5-byte message prefix,
 * which fcodec_pbw_frame() fills in. */
typedef struct {
    fcodec_out      out;
    int             frame;
} fcodec_pbw;

void fcodec_pbw_init(fcodec_pbw *w, fcodec_alloc *a, size_t hint, int frame);
void fcodec_pbw_varint(fcodec_pbw *w, uint32_t field, uint64_t v);
void fcodec_pbw_bytes(fcodec_pbw *w, uint32_t field, const void *data,
    size_t len);
void fcodec_pbw_str(fcodec_pbw *w, uint32_t field, const char *s);
/* sub's message as a LEN field (sub is not framed) */
void fcodec_pbw_msg(fcodec_pbw *w, uint32_t field, const fcodec_pbw *sub);
/* repeated int64, packed */
void fcodec_pbw_packed(fcodec_pbw *w, uint32_t field, const int64_t *v,
    size_t n);
/* Reserves n bytes for the caller to fill; NULL after a failure. */
uint8_t *fcodec_pbw_reserve(fcodec_pbw *w, size_t n);
/* The LEN field's tag and length, its n bytes to follow. */
void fcodec_pbw_len_header(fcodec_pbw *w, uint32_t field, size_t n);
/* Fills in the frame prefix; 0 or -1 (no memory). */
int fcodec_pbw_frame(fcodec_pbw *w);

#endif /* FOREST_PB_H */
