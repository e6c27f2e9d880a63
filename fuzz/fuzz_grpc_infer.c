/*
 * libFuzzer target: inference.ModelInferRequest decoding for the model of
 * fuzz_model.h (category names, base_margin), then the ModelInferResponse
 * encoder on what it decoded.  The first 2 input bytes choose how the
 * answer is shaped; the rest is the message.
 * The requested treeshap_output and leaf_index get stand-in values.
 * Beyond the sanitizers it checks: a valid request has 1..max_rows rows and
 * an error has a status and a message; every response the encoder writes is
 * one well-formed framed protobuf message.
 */
// FUZZ_LIBS: -lyajl
#include "forest_codec_grpc.h"
#include "../tests/codec/codec_feed.h"
#include "fuzz_model.h"
#include "fuzz_shape.h"

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ARENA_MAX  (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
well_formed(const uint8_t *body, size_t len)
{
    const uint8_t   *msg;
    size_t           n;
    fcodec_pb        pb;
    fcodec_pb_field  f;
    const char      *why = NULL;
    char             err[256];
    int              rc;

    if (fcodec_grpc_unframe(body, len, &msg, &n, err, sizeof(err)) != 0) {
        fprintf(stderr, "encoder wrote a bad frame: %s\n", err);
        abort();
    }
    fcodec_pb_init(&pb, msg, n);
    while ((rc = fcodec_pb_next(&pb, &f, &why)) == 1) {
    }
    if (rc != 0) {
        fprintf(stderr, "encoder wrote a bad message: %s\n", why);
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fcodec_model  model = fuzz_model;
    static const float  outputs[64 * 3] = { 0.25f, 0.5f, 0.25f, 1.0f / 3 };
    static const int32_t leaves[64 * 3] = { 0, 7, 3 };
    feed_arena          ar = { NULL, 0, FUZZ_ARENA_MAX, -1 };
    fcodec_alloc        a = { feed_alloc, &ar };
    fcodec_request      req;
    fcodec_shape        s;
    fcodec_response     resp;
    unsigned            sel;

    if (size < 2) {
        return 0;
    }
    sel = data[0] | data[1] << 8;
    data += 2, size -= 2;

    fcodec_grpc_infer_decode(data, size, &model, &a, &req);
    if (req.status != 0) {
        if (req.error[0] == '\0' || req.n_rows != 0) {
            abort();
        }
    } else {
        if (req.n_rows == 0 || req.n_rows > model.max_rows
            || req.rows == NULL)
        {
            abort();
        }
        fuzz_check_margins(&req);
        s = fuzz_shape(sel);
        /* treeshap_output [N, 3], [N, 2, 1] or [N, 3, 1] and leaf_index
         * [N, 1..3], chosen by bits 10..13 of the selector */
        req.contribs = outputs;
        req.contrib_groups = 1 + (sel >> 10) % 3;
        req.contrib_width = 3 / req.contrib_groups;
        req.leaves = leaves;
        req.n_trees = 1 + (sel >> 12) % 3;
        if (fcodec_grpc_infer_encode(&req, &s, "fuzz", "1", outputs, &a,
                                     &resp) == 0)
        {
            well_formed(resp.body, resp.len);
        }
    }
    feed_arena_free(&ar);
    return 0;
}
