/*
 * Shared body of the fuzz_codec_* targets.  The input's first bytes choose
 * how the rest is fed (piece size), how the answer is shaped and, for the
 * binary target, the JSON header length; the rest is the request body.
 * Beyond what the sanitizers catch it checks the codec's promises: feeding
 * in pieces decodes exactly as feeding whole, a valid request has 1..max_rows
 * rows, the JSON fast path decodes exactly as yajl alone does (same rows,
 * same error), and every JSON the codec writes (answers, error bodies) is
 * valid JSON by yajl's strict parser.
 */
#ifndef FUZZ_CODEC_H
#define FUZZ_CODEC_H

#include "forest_codec.h"
#include "forest_codec_internal.h"
#include "../tests/codec/codec_feed.h"
#include "fuzz_model.h"
#include "fuzz_shape.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define FUZZ_NO_LEN     ((size_t) -1)
#define FUZZ_ARENA_MAX  (64u << 20)     /* like a request pool's growth */

static void
fuzz_json_valid(const uint8_t *text, size_t len)
{
    char     *s = malloc(len + 1), err[128];
    yajl_val  v;

    memcpy(s, text, len);
    s[len] = '\0';
    v = yajl_tree_parse(s, err, sizeof(err));
    if (v == NULL || strlen(s) != len) {
        fprintf(stderr, "codec wrote invalid JSON (%s): %s\n", err, s);
        abort();
    }
    yajl_tree_free(v);
    free(s);
}

/* b decodes as a does (the same rows bit for bit, or the same error) */
static void
fuzz_same(const fcodec_request *a, const fcodec_request *b, const char *how)
{
    if (a->status != b->status || strcmp(a->error, b->error) != 0
        || a->n_rows != b->n_rows
        || (a->n_rows && memcmp(a->rows, b->rows, a->n_rows * 4 * 4) != 0))
    {
        fprintf(stderr, "%s: %d \"%s\" whole: %d \"%s\"\n", how, b->status,
                b->error, a->status, a->error);
        abort();
    }
}

static void
fuzz_codec(fcodec_api api, const uint8_t *data, size_t size, int with_len)
{
    const fcodec_model  model = fuzz_model;
    static const float  outputs[64 * 3] = { 0.25f, 0.5f, 0.25f, 1.0f / 3 };
    static const size_t pieces[8] = { 0, 1, 2, 3, 5, 8, 64, 4096 };
    feed_arena          ar = { NULL, 0, FUZZ_ARENA_MAX, -1 };
    fcodec_alloc        a = { feed_alloc, &ar };
    fcodec_request      whole, part, slow;
    fcodec_shape        s;
    fcodec_response     resp;
    size_t              json_len = FUZZ_NO_LEN, len;
    char                how[64];
    uint8_t            *err;
    unsigned            sel;

    /* prefix: 2 selector bytes, then for the binary target 2 bytes of
     * header length (little-endian) */
    if (size < (with_len ? 4u : 2u)) {
        return;
    }
    sel = data[0] | data[1] << 8;
    data += 2, size -= 2;
    /* KServe bodies also go through the envelope mode of a Lua pre hook */
    if (api == FCODEC_KSERVE && (sel >> 10) & 1) {
        api = FCODEC_KSERVE_ENVELOPE;
    }
    if (with_len) {
        json_len = (size_t) (data[0] | data[1] << 8);
        data += 2, size -= 2;
    }

    whole = feed_parse(api, &model, data, size, json_len, 0, &a);
    part = feed_parse(api, &model, data, size, json_len, pieces[sel & 7], &a);
    snprintf(how, sizeof(how), "piece %zu", pieces[sel & 7]);
    fuzz_same(&whole, &part, how);
    fcodec_json_fast = 0;
    slow = feed_parse(api, &model, data, size, json_len, pieces[sel & 7], &a);
    fcodec_json_fast = 1;
    snprintf(how, sizeof(how), "yajl alone, piece %zu", pieces[sel & 7]);
    fuzz_same(&whole, &slow, how);

    if (whole.status != 0) {
        if (whole.error[0] == '\0' || whole.n_rows != 0) {
            abort();
        }
        err = fcodec_error_body(whole.error, &a, &len);
        if (err != NULL) {
            fuzz_json_valid(err, len);
        }
    } else {
        if (api == FCODEC_KSERVE_ENVELOPE) {
            /* inputs are skipped: the hook's rows stand in for them */
            if (whole.n_rows != 0) {
                abort();
            }
            whole.rows = (float *) outputs;
            whole.n_rows = 1 + (sel >> 11) % 4;
            api = FCODEC_KSERVE;
        }
        if (whole.n_rows == 0 || whole.n_rows > model.max_rows
            || whole.rows == NULL)
        {
            abort();
        }
        fuzz_check_margins(&whole);
        s = fuzz_shape(sel);
        if (fcodec_encode(api, &whole, &s, "fuzz\"\n", "1", outputs, &a,
                          &resp) == 0)
        {
            fuzz_json_valid(resp.body, resp.json_len != FUZZ_NO_LEN
                                       ? resp.json_len : resp.len);
        }
    }
    feed_arena_free(&ar);
}

#endif /* FUZZ_CODEC_H */
