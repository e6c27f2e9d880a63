/*
 * Triton's binary tensor extension, request side: after the JSON header the
 * body carries the tensors declared with binary_data_size, one after
 * another in the order of their inputs in the JSON (what tritonclient
 * sends): input__0 as raw little-endian elements of its datatype, or for
 * BYTES each string as a 4-byte little-endian length and its bytes
 * (forest_codec_bytes.c); base_margin as FP32 or FP64 elements.  The bytes
 * arrive in arbitrary pieces; an element split between two pieces is kept
 * until it is whole.  The size each input declared must match both its
 * shape (checked by the KServe part) and the bytes actually sent.
 */
#include <stdio.h>
#include <string.h>

#include "forest_codec_internal.h"

static const char *
seg_name(const fcodec_segment *s)
{
    return s->bm ? "base_margin" : "input__0";
}

int
fcodec_binary_expect(fcodec_parser *p, int bm, int at,
    const fcodec_dtype *dt, uint64_t declared)
{
    fcodec_binary_state *b = &p->bin;
    fcodec_segment      *s = &b->seg[b->n_seg];

    /* the other input, when it came later in the JSON, reads second */
    if (b->n_seg == 1 && b->seg[0].at > at) {
        b->seg[1] = b->seg[0];
        s = &b->seg[0];
    }
    s->bm = bm;
    s->at = at;
    s->dtype = dt;
    s->size = declared;
    b->n_seg++;
    b->expected += declared;
    if (dt->size == 0) {
        fcodec_bytes_init(&b->bytes, declared);
    }
    return 1;
}

/* One string of input__0's BYTES data: a category name or a number. */
static int
bytes_cell(void *ctx, size_t index, const uint8_t *s, uint32_t len)
{
    fcodec_parser *p = ctx;
    uint32_t       nf = p->m->n_features;
    fcodec_value   v = { .type = FCODEC_V_STR, .str = (const char *) s,
                         .len = len };
    float          x;

    if (index / nf >= p->ks.shape[0]) {
        return fcodec_fail(p, 400, "input__0 BYTES data holds more than the "
                           "%llu strings of its shape [%llu,%u]",
                           (unsigned long long) p->ks.shape[0] * nf,
                           (unsigned long long) p->ks.shape[0], nf);
    }
    return fcodec_category_cell(p, index / nf, (uint32_t) (index % nf), &v,
                                FCODEC_CELL_BINARY, &x)
           && fcodec_rows_push(p, x);
}

static int
read_bytes(fcodec_parser *p, const uint8_t *data, size_t len)
{
    fcodec_bytes_reader *r = &p->bin.bytes;

    switch (fcodec_bytes_read(r, data, len, p->a, bytes_cell, p)) {
    case FCODEC_BYTES_OK:
        return 1;
    case FCODEC_BYTES_PAST_END:
        if (r->n_prefix < 4) {
            return fcodec_fail(p, 400, "input__0 BYTES data: string %zu "
                               "has no room for its 4-byte length in "
                               "binary_data_size", r->index);
        }
        return fcodec_fail(p, 400, "input__0 BYTES data: string %zu is %u "
                           "bytes long, past the end of binary_data_size",
                           r->index, r->len);
    case FCODEC_BYTES_NO_MEMORY:
        return fcodec_fail(p, 500, "out of memory while reading the "
                           "request");
    default:
        return 0;
    }
}

/* Fixed-size elements of the current segment, to its rows or margins. */
static int
push(fcodec_parser *p, const fcodec_segment *s, const uint8_t *le)
{
    float x = s->dtype->load(le);

    return s->bm ? fcodec_bm_push(p, x) : fcodec_rows_push(p, x);
}

static int
read_fixed(fcodec_parser *p, const fcodec_segment *s, const uint8_t *data,
    size_t len)
{
    fcodec_binary_state *b = &p->bin;
    uint32_t             size = s->dtype->size, take;

    if (b->n_partial > 0) {
        take = size - b->n_partial;
        if (take > len) {
            take = (uint32_t) len;
        }
        memcpy(b->partial + b->n_partial, data, take);
        b->n_partial += take;
        data += take;
        len -= take;
        if (b->n_partial < size) {
            return 1;
        }
        b->n_partial = 0;
        if (!push(p, s, b->partial)) {
            return 0;
        }
    }
    for (; len >= size; data += size, len -= size) {
        if (!push(p, s, data)) {
            return 0;
        }
    }
    memcpy(b->partial, data, len);
    b->n_partial = (uint32_t) len;
    return 1;
}

/* The end of a segment: a BYTES tensor must have held its shape's count. */
static int
segment_done(fcodec_parser *p, const fcodec_segment *s)
{
    uint64_t n = p->ks.shape[0] * p->m->n_features;

    if (s->dtype->size == 0 && p->bin.bytes.index != n) {
        return fcodec_fail(p, 400, "input__0 BYTES data holds %zu strings; "
                           "shape [%llu,%u] takes %llu", p->bin.bytes.index,
                           (unsigned long long) p->ks.shape[0],
                           p->m->n_features, (unsigned long long) n);
    }
    return 1;
}

int
fcodec_binary_feed(fcodec_parser *p, const uint8_t *data, size_t len)
{
    fcodec_binary_state *b = &p->bin;
    fcodec_segment      *s;
    size_t               take;

    if (b->n_seg == 0) {
        return fcodec_fail(p, 400, "the body goes on after the %zu-byte JSON "
                           "header, but no input has binary_data_size",
                           p->json_len);
    }
    while (len > 0) {
        if (b->cur == b->n_seg) {
            if (b->n_seg == 1) {
                return fcodec_fail(p, 400, "%s: the body holds more than "
                                   "its binary_data_size (%llu bytes) after "
                                   "the JSON header", seg_name(&b->seg[0]),
                                   (unsigned long long) b->expected);
            }
            return fcodec_fail(p, 400, "the body holds more than the "
                               "binary_data_size of input__0 and "
                               "base_margin (%llu bytes) after the JSON "
                               "header", (unsigned long long) b->expected);
        }
        s = &b->seg[b->cur];
        take = len;
        if (take > s->size - b->seg_received) {
            take = (size_t) (s->size - b->seg_received);
        }
        if (!(s->dtype->size == 0 ? read_bytes(p, data, take)
                                  : read_fixed(p, s, data, take)))
        {
            return 0;
        }
        b->seg_received += take;
        b->received += take;
        data += take;
        len -= take;
        if (b->seg_received == s->size) {
            if (!segment_done(p, s)) {
                return 0;
            }
            b->cur++;
            b->seg_received = 0;
        }
    }
    return 1;
}

int
fcodec_binary_finish(fcodec_parser *p)
{
    fcodec_binary_state *b = &p->bin;
    uint32_t             i;

    if (b->received != b->expected) {
        if (b->n_seg == 1) {
            return fcodec_fail(p, 400, "%s: binary_data_size is %llu but the "
                               "body holds %llu bytes after the JSON header",
                               seg_name(&b->seg[0]),
                               (unsigned long long) b->expected,
                               (unsigned long long) b->received);
        }
        return fcodec_fail(p, 400, "input__0 and base_margin: their "
                           "binary_data_size add up to %llu but the body "
                           "holds %llu bytes after the JSON header",
                           (unsigned long long) b->expected,
                           (unsigned long long) b->received);
    }
    for (i = 0; i < b->n_seg; i++) {
        if (b->seg[i].bm) {
            p->req.base_margin = p->bm.vals;
        }
    }
    return 1;
}
