/*
 * Protocol buffers text format (what Triton's config.pbtxt is written in),
 * read into a tree of fields without a schema: the reader of a particular
 * message (forest/repo/model_config.c) checks names and types.
 *
 * Grammar: fields `name: scalar`, `name { ... }` / `name < ... >` (colon
 * optional), lists `name: [a, b]` and `name [ {..}, {..} ]` (each element a
 * repeated field of that name), optional `,` or `;` after a field, `#`
 * comments, strings in '...' or "..." with C escapes (adjacent strings
 * concatenate), identifiers (enum values, true, inf) and numbers.
 */
#ifndef FOREST_REPO_PBTXT_H
#define FOREST_REPO_PBTXT_H

#include <stdarg.h>
#include <stddef.h>

typedef struct forest_pb_field  forest_pb_field;

typedef struct {
    forest_pb_field  *first;
} forest_pb_msg;

struct forest_pb_field {
    forest_pb_field  *next;
    const char       *name;
    unsigned          line;
    forest_pb_msg    *msg;       /* a message; NULL for a scalar */
    const char       *value;     /* a scalar: decoded string or the token */
    size_t            value_len; /* a string may hold NUL bytes */
    int               quoted;    /* the value was a string literal */
};

typedef struct forest_pbtxt  forest_pbtxt;

/* The document's top-level message; NULL with "file:line: reason" in err. */
forest_pbtxt *forest_pbtxt_parse(const char *text, size_t len,
    const char *file, char *err, size_t errlen);
const forest_pb_msg *forest_pbtxt_root(const forest_pbtxt *doc);
void forest_pbtxt_free(forest_pbtxt *doc);

/* "file:line: " and the message into err, as every refusal is worded. */
void forest_pbtxt_verror(char *err, size_t errlen, const char *file,
    unsigned line, const char *fmt, va_list ap);

#endif
