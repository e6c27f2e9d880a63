/*
 * Triton's binary tensor extension, request side: after the JSON header the
 * body carries input__0 as raw little-endian elements of its datatype.  The
 * bytes arrive in arbitrary pieces; an element split between two pieces is
 * kept until it is whole.  The size the client declared must match both the
 * shape (checked by the KServe part) and the bytes actually sent.
 */
#include <string.h>

#include "forest_codec_internal.h"

int
fcodec_binary_expect(fcodec_parser *p, const fcodec_dtype *dt,
    uint64_t declared)
{
    p->bin.dtype = dt;
    p->bin.expected = declared;
    return 1;
}

int
fcodec_binary_feed(fcodec_parser *p, const uint8_t *data, size_t len)
{
    fcodec_binary_state *b = &p->bin;
    uint32_t             size, take;

    if (b->dtype == NULL) {
        return fcodec_fail(p, 400, "the body goes on after the %zu-byte JSON "
                           "header, but no input has binary_data_size",
                           p->json_len);
    }
    if (len > b->expected - b->received) {
        return fcodec_fail(p, 400, "input__0: the body holds more than its "
                           "binary_data_size (%llu bytes) after the JSON "
                           "header", (unsigned long long) b->expected);
    }
    b->received += len;
    size = b->dtype->size;

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
        if (!fcodec_rows_push(p, b->dtype->load(b->partial))) {
            return 0;
        }
    }
    for (; len >= size; data += size, len -= size) {
        if (!fcodec_rows_push(p, b->dtype->load(data))) {
            return 0;
        }
    }
    memcpy(b->partial, data, len);
    b->n_partial = (uint32_t) len;
    return 1;
}

int
fcodec_binary_finish(fcodec_parser *p)
{
    fcodec_binary_state *b = &p->bin;

    if (b->dtype != NULL && b->received != b->expected) {
        return fcodec_fail(p, 400, "input__0: binary_data_size is %llu but the "
                           "body holds %llu bytes after the JSON header",
                           (unsigned long long) b->expected,
                           (unsigned long long) b->received);
    }
    return 1;
}
