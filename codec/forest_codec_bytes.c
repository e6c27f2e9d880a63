/*
 * Triton's serialisation of a BYTES tensor as binary data (the HTTP binary
 * tensor extension, gRPC raw_input_contents): each element is a 4-byte
 * little-endian length and that many bytes, one after another.  Read as the
 * bytes arrive: an element whole in one piece is handed over where it lies;
 * one split across pieces is gathered from the allocator, in a buffer that
 * grows with the bytes actually received (a length prefix alone never makes
 * an allocation), so a split element costs at most twice its size.
 */
#include <string.h>

#include "forest_codec_internal.h"

void
fcodec_bytes_init(fcodec_bytes_reader *r, uint64_t size)
{
    memset(r, 0, sizeof(*r));
    r->left = size;
}

/* room for n bytes of the current element in r->buf */
static int
reserve(fcodec_bytes_reader *r, uint32_t n, fcodec_alloc *a)
{
    uint32_t  cap;
    uint8_t  *buf;

    if (n <= r->cap) {
        return 1;
    }
    cap = r->cap > r->len / 2 ? r->len : r->cap * 2;
    cap = cap < n ? n : cap;
    buf = a->alloc(a->ctx, cap);
    if (buf == NULL) {
        return 0;
    }
    if (r->n_buf > 0) {
        memcpy(buf, r->buf, r->n_buf);
    }
    r->buf = buf;
    r->cap = cap;
    return 1;
}

int
fcodec_bytes_read(fcodec_bytes_reader *r, const uint8_t *data, size_t len,
    fcodec_alloc *a, fcodec_bytes_elem elem, void *ctx)
{
    const uint8_t *end = data + len, *s;
    size_t         take;

    for ( ;; ) {
        if (r->n_prefix < 4) {
            if (data == end) {
                return FCODEC_BYTES_OK;
            }
            if (r->n_prefix == 0 && r->left < 4) {
                return FCODEC_BYTES_PAST_END;
            }
            take = (size_t) (end - data) < 4 - r->n_prefix
                   ? (size_t) (end - data) : 4 - r->n_prefix;
            memcpy(r->prefix + r->n_prefix, data, take);
            r->n_prefix += (uint32_t) take;
            r->left -= take;
            data += take;
            if (r->n_prefix < 4) {
                return FCODEC_BYTES_OK;
            }
            r->len = (uint32_t) r->prefix[0] | (uint32_t) r->prefix[1] << 8
                     | (uint32_t) r->prefix[2] << 16
                     | (uint32_t) r->prefix[3] << 24;
            if (r->len > r->left) {
                return FCODEC_BYTES_PAST_END;
            }
            r->n_buf = 0;
        }
        if (r->n_buf == 0 && (size_t) (end - data) >= r->len) {
            s = data;
            data += r->len;
            r->left -= r->len;
        } else {
            if (data == end) {
                return FCODEC_BYTES_OK;        /* the rest comes later */
            }
            take = r->len - r->n_buf;
            if (take > (size_t) (end - data)) {
                take = (size_t) (end - data);
            }
            if (!reserve(r, r->n_buf + (uint32_t) take, a)) {
                return FCODEC_BYTES_NO_MEMORY;
            }
            memcpy(r->buf + r->n_buf, data, take);
            r->n_buf += (uint32_t) take;
            data += take;
            r->left -= take;
            if (r->n_buf < r->len) {
                return FCODEC_BYTES_OK;
            }
            s = r->buf;
        }
        r->n_prefix = 0;
        if (!elem(ctx, r->index++, s, r->len)) {
            return FCODEC_BYTES_STOP;
        }
    }
}
