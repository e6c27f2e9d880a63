/*
 * Container builder used by the JSON and UBJSON readers (doc_json.c,
 * doc_ubjson.c): collects one array or object, then moves it into the arena.
 */
#ifndef FOREST_DOC_BUILD_H
#define FOREST_DOC_BUILD_H

#include "doc.h"

typedef struct {
    double       *nums;
    size_t        n_nums, cap_nums;
    doc_value    *items;
    size_t        n, cap;
    const char  **keys;       /* objects: arena strings */
    size_t        cap_keys;
    int           generic;    /* an element was not a number */
} doc_builder;

/* Where a reader (JSON or UBJSON) is in its input, and where its first
 * error goes. */
typedef struct {
    const uint8_t *p;
    size_t         len, pos;
    doc           *d;
    const char    *encoding;  /* "JSON", "UBJSON": starts every message */
    const char    *name;
    char          *err;
    size_t         errlen;
    int            failed;
} doc_reader;

void forest_doc_reader_init(doc_reader *r, const char *encoding,
    const uint8_t *data, size_t len, const char *name, char *err,
    size_t errlen);

/* Writes "NAME: ENCODING: why (at byte POS)", unless an error is already
 * written (the innermost failure is the cause).  Returns -1. */
int  forest_doc_fail(doc_reader *r, const char *why);

doc  *forest_doc_new(void);
void  forest_doc_set_root(doc *d, doc_value v);
/* 16-byte aligned; NULL when out of memory */
void *forest_doc_arena_alloc(doc *d, size_t size);

/* key: NULL for array elements.  0, or -1 when out of memory. */
int  forest_doc_builder_push(doc_builder *b, const char *key,
    const doc_value *v);
int  forest_doc_builder_finish(doc *d, doc_builder *b, int is_object,
    doc_value *out);
void forest_doc_builder_release(doc_builder *b);

#endif /* FOREST_DOC_BUILD_H */
