/*
 * Harness shared by the codec tests (tests/codec/test_codec.c) and the
 * codec fuzz targets (fuzz/fuzz_codec.h): an arena allocator that can be
 * capped or made to fail, and parsing a body fed in pieces.
 */
#ifndef CODEC_FEED_H
#define CODEC_FEED_H

#include "forest_codec.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct feed_block { struct feed_block *next; } feed_block;
typedef struct {
    feed_block *head;
    size_t      used, max;      /* bytes handed out; past max it fails */
    long        fail_after;     /* allocations until one fails; < 0: never */
} feed_arena;

static void *
feed_alloc(void *ctx, size_t size)
{
    feed_arena *ar = ctx;
    feed_block *b;

    if (ar->fail_after == 0 || size > ar->max - ar->used) {
        return NULL;
    }
    if (ar->fail_after > 0) {
        ar->fail_after--;
    }
    b = malloc(sizeof(max_align_t) + size);
    if (b == NULL) {
        return NULL;
    }
    ar->used += size;
    b->next = ar->head;
    ar->head = b;
    return (char *) b + sizeof(max_align_t);
}

static void
feed_arena_free(feed_arena *ar)
{
    while (ar->head != NULL) {
        feed_block *next = ar->head->next;
        free(ar->head);
        ar->head = next;
    }
    ar->used = 0;
}

/* body parsed in pieces of `piece` bytes (0: whole) */
static fcodec_request
feed_parse(fcodec_api api, const fcodec_model *m, const void *body,
    size_t len, size_t json_len, size_t piece, fcodec_alloc *a)
{
    fcodec_parser *p = fcodec_parser_create(api, m, json_len, a);
    fcodec_request req;
    size_t         at, n;

    memset(&req, 0, sizeof(req));
    if (p == NULL) {
        req.status = -1;
        return req;
    }
    for (at = 0; at < len; at += n) {
        n = piece == 0 || len - at < piece ? len - at : piece;
        if (fcodec_parser_feed(p, (const uint8_t *) body + at, n) < 0) {
            break;
        }
    }
    fcodec_parser_finish(p, &req);
    return req;
}

#endif /* CODEC_FEED_H */
