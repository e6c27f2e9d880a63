/*
 * A small read-only document tree that JSON text and UBJSON both decode into,
 * so the XGBoost model builder reads one structure whatever the encoding.
 *
 * Arrays whose elements are all numbers (or booleans) are kept as one flat
 * array of doubles: XGBoost models are mostly long numeric arrays, and a
 * value node per element would cost several times the file size.
 * Every node lives in the document's arena; forest_doc_free() releases all
 * of it.
 */
#ifndef FOREST_DOC_H
#define FOREST_DOC_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DOC_NULL = 0,
    DOC_BOOL,
    DOC_NUMBER,
    DOC_STRING,
    DOC_ARRAY,          /* items */
    DOC_NUMBERS,        /* nums: an array of numbers/booleans */
    DOC_OBJECT          /* keys + items */
} doc_type;

typedef struct doc_value doc_value;

struct doc_value {
    doc_type      type;
    size_t        n;          /* string bytes, array/object elements */
    union {
        double        num;    /* DOC_NUMBER, DOC_BOOL (0/1) */
        const char   *str;    /* DOC_STRING, NUL-terminated (may hold NULs) */
        doc_value    *items;  /* DOC_ARRAY, DOC_OBJECT */
        const double *nums;   /* DOC_NUMBERS */
    } u;
    const char  **keys;       /* DOC_OBJECT: n keys, NUL-terminated */
};

typedef struct doc doc;

/* Nesting deeper than this is refused (XGBoost models use fewer than 10). */
#define DOC_MAX_DEPTH 64

/*
 * Parse JSON text / UBJSON bytes.  On failure returns NULL and writes
 * "NAME: reason (at byte N)" into err.
 */
doc *forest_doc_parse_json(const uint8_t *data, size_t len, const char *name,
    char *err, size_t errlen);
doc *forest_doc_parse_ubjson(const uint8_t *data, size_t len, const char *name,
    char *err, size_t errlen);
void forest_doc_free(doc *d);

const doc_value *forest_doc_root(const doc *d);

/* Member of an object, or NULL (also when v is not an object). */
const doc_value *forest_doc_get(const doc_value *v, const char *key);

/* Array length for DOC_ARRAY and DOC_NUMBERS, else 0.  An empty array is
 * DOC_NUMBERS with n = 0. */
size_t forest_doc_len(const doc_value *v);

#endif /* FOREST_DOC_H */
