/*
 * The document tree shared by the JSON and UBJSON readers: arena, lookups,
 * and the container builder both parsers fill element by element.
 */
#include "doc.h"
#include "doc_build.h"
#include "forest_internal.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK (64 * 1024)

typedef struct arena_block arena_block;

struct arena_block {
    arena_block *next;
    size_t       used, cap;
    _Alignas(16) unsigned char data[];
};

struct doc {
    arena_block *blocks;
    doc_value    root;
};

doc *
forest_doc_new(void)
{
    return calloc(1, sizeof(doc));
}

void
forest_doc_free(doc *d)
{
    arena_block *b, *next;

    if (d == NULL) {
        return;
    }
    for (b = d->blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(d);
}

void *
forest_doc_arena_alloc(doc *d, size_t size)
{
    arena_block *b = d->blocks;
    size_t       cap;
    void        *p;

    size = (size + 15) & ~(size_t) 15;
    if (size == 0) {
        size = 16;
    }
    if (b == NULL || b->cap - b->used < size) {
        cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
        if (cap > SIZE_MAX - sizeof(arena_block)) {
            return NULL;
        }
        b = malloc(sizeof(arena_block) + cap);
        if (b == NULL) {
            return NULL;
        }
        b->used = 0;
        b->cap = cap;
        /* a big one-off block goes behind the current one, which keeps its
         * free space for the small allocations that follow */
        if (d->blocks != NULL && cap > ARENA_BLOCK) {
            b->next = d->blocks->next;
            d->blocks->next = b;
        } else {
            b->next = d->blocks;
            d->blocks = b;
        }
    }
    p = b->data + b->used;
    b->used += size;
    return p;
}

void
forest_doc_set_root(doc *d, doc_value v)
{
    d->root = v;
}

const doc_value *
forest_doc_root(const doc *d)
{
    return &d->root;
}

const doc_value *
forest_doc_get(const doc_value *v, const char *key)
{
    if (v == NULL || v->type != DOC_OBJECT) {
        return NULL;
    }
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->keys[i], key) == 0) {
            return &v->u.items[i];
        }
    }
    return NULL;
}

size_t
forest_doc_len(const doc_value *v)
{
    if (v == NULL || (v->type != DOC_ARRAY && v->type != DOC_NUMBERS)) {
        return 0;
    }
    return v->n;
}

void
forest_doc_reader_init(doc_reader *r, const char *encoding, const uint8_t *data,
    size_t len, const char *name, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->encoding = encoding;
    r->p = data;
    r->len = len;
    r->name = name;
    r->err = err;
    r->errlen = errlen;
}

int
forest_doc_fail(doc_reader *r, const char *why)
{
    if (!r->failed) {
        forest_errf(r->err, r->errlen, r->name, "%s: %s (at byte %zu)",
            r->encoding, why, r->pos);
        r->failed = 1;
    }
    return -1;
}

/* The first non-number turns the numeric prefix into ordinary items. */
static int
to_generic(doc_builder *b)
{
    if (forest_grow((void **) &b->items, &b->cap, b->n_nums + 1,
                    sizeof(doc_value), 16) != 0)
    {
        return -1;
    }
    for (size_t i = 0; i < b->n_nums; i++) {
        memset(&b->items[i], 0, sizeof(doc_value));
        b->items[i].type = DOC_NUMBER;
        b->items[i].u.num = b->nums[i];
    }
    b->n = b->n_nums;
    b->generic = 1;
    return 0;
}

int
forest_doc_builder_push(doc_builder *b, const char *key, const doc_value *v)
{
    if (key == NULL && !b->generic
        && (v->type == DOC_NUMBER || v->type == DOC_BOOL))
    {
        if (forest_grow((void **) &b->nums, &b->cap_nums, b->n_nums + 1,
                        sizeof(double), 16) != 0)
        {
            return -1;
        }
        b->nums[b->n_nums++] = v->u.num;
        return 0;
    }
    if (!b->generic && to_generic(b) != 0) {
        return -1;
    }
    if (forest_grow((void **) &b->items, &b->cap, b->n + 1, sizeof(doc_value),
                    16) != 0)
    {
        return -1;
    }
    if (key != NULL
        && forest_grow((void **) &b->keys, &b->cap_keys, b->n + 1,
                       sizeof(char *), 16) != 0)
    {
        return -1;
    }
    if (key != NULL) {
        b->keys[b->n] = key;
    }
    b->items[b->n++] = *v;
    return 0;
}

int
forest_doc_builder_finish(doc *d, doc_builder *b, int is_object, doc_value *out)
{
    memset(out, 0, sizeof(*out));
    if (is_object) {
        out->type = DOC_OBJECT;
        out->n = b->n;
        if (b->n > 0) {
            doc_value   *items;
            const char **keys;

            items = forest_doc_arena_alloc(d, b->n * sizeof(doc_value));
            keys = forest_doc_arena_alloc(d, b->n * sizeof(char *));

            if (items == NULL || keys == NULL) {
                return -1;
            }
            memcpy(items, b->items, b->n * sizeof(doc_value));
            memcpy(keys, b->keys, b->n * sizeof(char *));
            out->u.items = items;
            out->keys = keys;
        }
        return 0;
    }
    if (!b->generic) {
        double *nums = forest_doc_arena_alloc(d, b->n_nums * sizeof(double));

        if (nums == NULL) {
            return -1;
        }
        if (b->n_nums != 0) {   /* an empty array has no buffer */
            if (b->n_nums > 0) {
            memcpy(nums, b->nums, b->n_nums * sizeof(double));
        }
        }
        out->type = DOC_NUMBERS;
        out->n = b->n_nums;
        out->u.nums = nums;
        return 0;
    }
    out->type = DOC_ARRAY;
    out->n = b->n;
    out->u.items = forest_doc_arena_alloc(d, b->n * sizeof(doc_value));
    if (out->u.items == NULL) {
        return -1;
    }
    memcpy(out->u.items, b->items, b->n * sizeof(doc_value));
    return 0;
}

void
forest_doc_builder_release(doc_builder *b)
{
    free(b->nums);
    free(b->items);
    free(b->keys);
    memset(b, 0, sizeof(*b));
}
