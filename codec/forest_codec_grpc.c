/*
 * gRPC framing and the name/version fields of the model requests (the
 * inference messages themselves are forest_codec_grpc_infer.c).
 */
#include <stdio.h>
#include <string.h>

#include "forest_codec_grpc.h"

int
fcodec_grpc_status(int http_status)
{
    switch (http_status) {
    case 0:
    case 200:
        return FCODEC_GRPC_OK;
    case 400:
        return FCODEC_GRPC_INVALID_ARGUMENT;
    case 404:
        return FCODEC_GRPC_NOT_FOUND;
    case 413:
        return FCODEC_GRPC_RESOURCE_EXHAUSTED;
    case 405:
    case 501:
        return FCODEC_GRPC_UNIMPLEMENTED;
    case 503:
        return FCODEC_GRPC_UNAVAILABLE;
    default:
        return http_status >= 500 ? FCODEC_GRPC_INTERNAL
                                  : FCODEC_GRPC_UNKNOWN;
    }
}

int
fcodec_grpc_unframe(const uint8_t *body, size_t len, const uint8_t **msg,
    size_t *msg_len, char *err, size_t errlen)
{
    uint32_t n;

    if (len < 5) {
        snprintf(err, errlen, "truncated gRPC message: %zu bytes, less than "
                 "the 5-byte message prefix", len);
        return 400;
    }
    n = (uint32_t) body[1] << 24 | (uint32_t) body[2] << 16
        | (uint32_t) body[3] << 8 | body[4];
    if (body[0] == 1) {
        snprintf(err, errlen, "compressed gRPC messages are not supported; "
                 "send them uncompressed (grpc-encoding identity)");
        return 501;
    }
    if (body[0] != 0) {
        snprintf(err, errlen, "gRPC message flag is %u; it must be 0",
                 (unsigned) body[0]);
        return 400;
    }
    if ((size_t) n > len - 5) {
        snprintf(err, errlen, "truncated gRPC message: its prefix announces "
                 "%u bytes, the request holds %zu", n, len - 5);
        return 400;
    }
    if ((size_t) n < len - 5) {
        snprintf(err, errlen, "the request holds more than one gRPC message "
                 "(%zu bytes after a %u-byte one); a unary call takes one",
                 len - 5 - n, n);
        return 400;
    }
    *msg = body + 5;
    *msg_len = n;
    return 0;
}

int
fcodec_grpc_target_read(const uint8_t *msg, size_t len,
    fcodec_grpc_target *t, char *err, size_t errlen)
{
    fcodec_pb        pb;
    fcodec_pb_field  f;
    const char      *why = NULL;
    int              rc;

    memset(t, 0, sizeof(*t));
    fcodec_pb_init(&pb, msg, len);

    while ((rc = fcodec_pb_next(&pb, &f, &why)) == 1) {
        if (f.field == 1 || (f.field == 2 && f.wire != FCODEC_PB_VARINT)) {
            if (f.wire != FCODEC_PB_LEN) {
                snprintf(err, errlen, "malformed request: field %u has wire "
                         "type %s; it must be a string", f.field,
                         fcodec_pb_wire_name(f.wire));
                return 400;
            }
            if (f.field == 1) {
                t->name = f.data;
                t->name_len = f.len;
            } else {
                t->version = f.data;
                t->version_len = f.len;
            }
        } else if (f.field == 2) {
            t->flag = f.v != 0;
        }
    }
    if (rc < 0) {
        snprintf(err, errlen, "malformed request message: %s", why);
        return 400;
    }
    return 0;
}
