/*
 * Protocol buffers wire format: reading a message field by field, and
 * writing one.  Reading never trusts a length: every LEN field must fit in
 * what is left of its message, and a varint ends within 10 bytes.
 */
#include <string.h>

#include "forest_codec_internal.h"
#include "forest_pb.h"

#define PB_MAX_FIELD  ((1u << 29) - 1)

void
fcodec_pb_init(fcodec_pb *pb, const uint8_t *data, size_t len)
{
    /* an absent field's data is NULL: no arithmetic on it */
    pb->p = data;
    pb->end = len ? data + len : data;
}

size_t
fcodec_pb_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    size_t   i;

    for (i = 0; i < 10 && p + i < end; i++) {
        r |= (uint64_t) (p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

static uint64_t
le_bits(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    while (n-- > 0) {
        v = v << 8 | p[n];
    }
    return v;
}

int
fcodec_pb_next(fcodec_pb *pb, fcodec_pb_field *f, const char **why)
{
    uint64_t tag, n;
    size_t   used;

    if (pb->p == pb->end) {
        return 0;
    }
    used = fcodec_pb_varint(pb->p, pb->end, &tag);
    if (used == 0) {
        *why = "a field tag is truncated";
        return -1;
    }
    pb->p += used;
    if (tag >> 3 == 0 || tag >> 3 > PB_MAX_FIELD) {
        *why = "a field number is out of range";
        return -1;
    }
    f->field = (uint32_t) (tag >> 3);
    f->wire = (uint32_t) (tag & 7);
    f->data = NULL;
    f->len = 0;
    f->v = 0;

    switch (f->wire) {
    case FCODEC_PB_VARINT:
        used = fcodec_pb_varint(pb->p, pb->end, &f->v);
        if (used == 0) {
            *why = "a varint is truncated";
            return -1;
        }
        pb->p += used;
        return 1;
    case FCODEC_PB_I64:
    case FCODEC_PB_I32:
        n = f->wire == FCODEC_PB_I64 ? 8 : 4;
        if ((uint64_t) (pb->end - pb->p) < n) {
            *why = "a fixed-size field is truncated";
            return -1;
        }
        f->v = le_bits(pb->p, (unsigned) n);
        f->data = pb->p;
        f->len = (size_t) n;
        pb->p += n;
        return 1;
    case FCODEC_PB_LEN:
        used = fcodec_pb_varint(pb->p, pb->end, &n);
        if (used == 0) {
            *why = "a length is truncated";
            return -1;
        }
        pb->p += used;
        if (n > (uint64_t) (pb->end - pb->p)) {
            *why = "a length runs past the end of its message";
            return -1;
        }
        f->data = pb->p;
        f->len = (size_t) n;
        pb->p += n;
        return 1;
    default:
        *why = "a field has wire type 3, 4, 6 or 7 (groups are not "
               "supported)";
        return -1;
    }
}

const char *
fcodec_pb_wire_name(uint32_t wire)
{
    switch (wire) {
    case FCODEC_PB_VARINT:
        return "varint";
    case FCODEC_PB_I64:
        return "64-bit";
    case FCODEC_PB_LEN:
        return "length-delimited";
    default:
        return "32-bit";
    }
}

/* ---- writer ------------------------------------------------------------- */

#define PB_FRAME_PREFIX  5

void
fcodec_pbw_init(fcodec_pbw *w, fcodec_alloc *a, size_t hint, int frame)
{
    fcodec_out_init(&w->out, a, hint);
    w->frame = frame;
    if (frame && w->out.ok) {
        w->out.len = PB_FRAME_PREFIX;
    }
}

uint8_t *
fcodec_pbw_reserve(fcodec_pbw *w, size_t n)
{
    return fcodec_out_reserve(&w->out, n);
}

static void
put_varint(fcodec_pbw *w, uint64_t v)
{
    uint8_t *at = fcodec_pbw_reserve(w, 10);
    size_t   n = 0;

    if (at == NULL) {
        return;
    }
    while (v >= 0x80) {
        at[n++] = (uint8_t) (v | 0x80);
        v >>= 7;
    }
    at[n++] = (uint8_t) v;
    w->out.len += n;
}

void
fcodec_pbw_varint(fcodec_pbw *w, uint32_t field, uint64_t v)
{
    put_varint(w, (uint64_t) field << 3 | FCODEC_PB_VARINT);
    put_varint(w, v);
}

void
fcodec_pbw_len_header(fcodec_pbw *w, uint32_t field, size_t n)
{
    put_varint(w, (uint64_t) field << 3 | FCODEC_PB_LEN);
    put_varint(w, n);
}

void
fcodec_pbw_bytes(fcodec_pbw *w, uint32_t field, const void *data, size_t len)
{
    fcodec_pbw_len_header(w, field, len);
    fcodec_out_raw(&w->out, data, len);
}

void
fcodec_pbw_str(fcodec_pbw *w, uint32_t field, const char *s)
{
    fcodec_pbw_bytes(w, field, s, strlen(s));
}

void
fcodec_pbw_msg(fcodec_pbw *w, uint32_t field, const fcodec_pbw *sub)
{
    if (!sub->out.ok) {
        w->out.ok = 0;
        return;
    }
    fcodec_pbw_bytes(w, field, sub->out.buf, sub->out.len);
}

void
fcodec_pbw_packed(fcodec_pbw *w, uint32_t field, const int64_t *v, size_t n)
{
    size_t   i, len = 0, k;
    uint64_t u;

    for (i = 0; i < n; i++) {
        for (u = (uint64_t) v[i], k = 1; u >= 0x80; u >>= 7) {
            k++;
        }
        len += k;
    }
    fcodec_pbw_len_header(w, field, len);
    for (i = 0; i < n; i++) {
        put_varint(w, (uint64_t) v[i]);
    }
}

int
fcodec_pbw_frame(fcodec_pbw *w)
{
    uint8_t *b = w->out.buf;
    size_t   n;

    if (!w->out.ok) {
        return -1;
    }
    n = w->out.len - PB_FRAME_PREFIX;
    if (n > UINT32_MAX) {
        return -1;
    }
    b[0] = 0;                          /* not compressed */
    b[1] = (uint8_t) (n >> 24);
    b[2] = (uint8_t) (n >> 16);
    b[3] = (uint8_t) (n >> 8);
    b[4] = (uint8_t) n;
    return 0;
}
