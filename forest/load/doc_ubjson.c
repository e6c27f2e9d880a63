/*
 * UBJSON (Universal Binary JSON, draft 12, big-endian) -> doc tree: the
 * encoding of XGBoost's .ubj models.  Typed numeric arrays ("[$d#...") are
 * decoded straight into one flat array.  Counts are checked against the
 * bytes left before anything is allocated.
 */
#include "doc_build.h"
#include "forest_internal.h"

#include <stdlib.h>
#include <string.h>

static int
need(doc_reader *u, size_t n)
{
    if (u->len - u->pos < n) {
        u->pos = u->len;
        return forest_doc_fail(u, "unexpected end of input");
    }
    return 0;
}

static uint64_t
be(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Payload size of a fixed-size number type, 0 for anything else. */
static int
number_size(uint8_t t)
{
    switch (t) {
    case 'i': case 'U': return 1;
    case 'I': return 2;
    case 'l': case 'd': return 4;
    case 'L': case 'D': return 8;
    default: return 0;
    }
}

/* Decodes a number of fixed-size type t at p (size checked by the caller). */
static double
number_at(const uint8_t *p, uint8_t t)
{
    uint64_t bits;
    float    f;
    double   x;

    switch (t) {
    case 'i': return (double) (int8_t) p[0];
    case 'U': return (double) p[0];
    case 'I': return (double) (int16_t) (uint16_t) be(p, 2);
    case 'l': return (double) (int32_t) (uint32_t) be(p, 4);
    case 'L': return (double) (int64_t) be(p, 8);
    case 'd':
        bits = be(p, 4);
        {
            uint32_t b32 = (uint32_t) bits;
            memcpy(&f, &b32, 4);
        }
        return (double) f;
    default:  /* 'D' */
        bits = be(p, 8);
        memcpy(&x, &bits, 8);
        return x;
    }
}

/* A length or count: an integer value with its own type marker. */
static int
read_length(doc_reader *u, size_t *out)
{
    uint8_t t;
    int     n;
    double  v;

    if (need(u, 1) != 0) {
        return -1;
    }
    t = u->p[u->pos];
    n = number_size(t);
    if (n == 0 || t == 'd' || t == 'D') {
        return forest_doc_fail(u, "expected an integer length");
    }
    u->pos++;
    if (need(u, (size_t) n) != 0) {
        return -1;
    }
    v = number_at(u->p + u->pos, t);
    if (v < 0) {
        return forest_doc_fail(u, "negative length");
    }
    u->pos += (size_t) n;
    *out = (size_t) v;
    return 0;
}

static int
read_string(doc_reader *u, const char **out, size_t *out_len)
{
    size_t n;
    char  *s;

    if (read_length(u, &n) != 0 || need(u, n) != 0) {
        return -1;
    }
    s = forest_doc_arena_alloc(u->d, n + 1);
    if (s == NULL) {
        return forest_doc_fail(u, "out of memory");
    }
    memcpy(s, u->p + u->pos, n);
    s[n] = '\0';
    u->pos += n;
    *out = s;
    *out_len = n;
    return 0;
}

static int parse_typed(doc_reader *u, uint8_t t, doc_value *v, int depth);

/* "[$t#n" with a fixed-size number type: one flat array of doubles. */
static int
parse_number_array(doc_reader *u, uint8_t t, size_t count, doc_value *v)
{
    size_t  size = (size_t) number_size(t);
    double *nums;

    if (count > (u->len - u->pos) / size) {
        return forest_doc_fail(u, "array count larger than the data left");
    }
    nums = forest_doc_arena_alloc(u->d, count * sizeof(double));
    if (nums == NULL) {
        return forest_doc_fail(u, "out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        nums[i] = number_at(u->p + u->pos, t);
        u->pos += size;
    }
    v->type = DOC_NUMBERS;
    v->n = count;
    v->u.nums = nums;
    return 0;
}

static int
parse_container(doc_reader *u, doc_value *v, int depth, int is_object)
{
    doc_builder b;
    uint8_t     elem_type = 0, close = is_object ? '}' : ']';
    size_t      count = 0;
    int         counted = 0, rc = -1;

    memset(&b, 0, sizeof(b));
    if (u->pos < u->len && u->p[u->pos] == '$') {
        u->pos++;
        if (need(u, 1) != 0) {
            return -1;
        }
        elem_type = u->p[u->pos++];
        if (u->pos >= u->len || u->p[u->pos] != '#') {
            return forest_doc_fail(u, "typed container without a count");
        }
        if (elem_type == 'Z' || elem_type == 'N' || elem_type == 'T'
            || elem_type == 'F')
        {
            return forest_doc_fail(u, "unsupported container element type");
        }
    }
    if (u->pos < u->len && u->p[u->pos] == '#') {
        u->pos++;
        if (read_length(u, &count) != 0) {
            return -1;
        }
        counted = 1;
        /* every element (and key) takes at least one byte */
        if (count > u->len - u->pos) {
            return forest_doc_fail(u,
                "container count larger than the data left");
        }
        if (!is_object && number_size(elem_type) != 0) {
            return parse_number_array(u, elem_type, count, v);
        }
    }
    for (size_t i = 0; ; i++) {
        const char *key = NULL;
        size_t      klen;
        doc_value   item;

        if (counted ? i == count
                    : (u->pos < u->len && u->p[u->pos] == close))
        {
            u->pos += counted ? 0 : 1;
            break;
        }
        if (is_object && read_string(u, &key, &klen) != 0) {
            goto done;
        }
        if (elem_type != 0) {
            if (parse_typed(u, elem_type, &item, depth + 1) != 0) {
                goto done;
            }
        } else {
            if (need(u, 1) != 0) {
                goto done;
            }
            if (parse_typed(u, u->p[u->pos++], &item, depth + 1) != 0) {
                goto done;
            }
        }
        if (forest_doc_builder_push(&b, key, &item) != 0) {
            forest_doc_fail(u, "out of memory");
            goto done;
        }
    }
    rc = forest_doc_builder_finish(u->d, &b, is_object, v);
    if (rc != 0) {
        forest_doc_fail(u, "out of memory");
    }
done:
    forest_doc_builder_release(&b);
    return rc;
}

/* The value after its type marker t. */
static int
parse_typed(doc_reader *u, uint8_t t, doc_value *v, int depth)
{
    int n;

    memset(v, 0, sizeof(*v));
    if (depth > DOC_MAX_DEPTH) {
        return forest_doc_fail(u, "nesting too deep");
    }
    /* no-ops may stand anywhere a value may */
    while (t == 'N') {
        if (need(u, 1) != 0) {
            return -1;
        }
        t = u->p[u->pos++];
    }
    switch (t) {
    case 'Z':
        v->type = DOC_NULL;
        return 0;
    case 'T':
    case 'F':
        v->type = DOC_BOOL;
        v->u.num = t == 'T';
        return 0;
    case 'C':
        if (need(u, 1) != 0) {
            return -1;
        }
        {
            char *s = forest_doc_arena_alloc(u->d, 2);

            if (s == NULL) {
                return forest_doc_fail(u, "out of memory");
            }
            s[0] = (char) u->p[u->pos++];
            s[1] = '\0';
            v->type = DOC_STRING;
            v->n = 1;
            v->u.str = s;
        }
        return 0;
    case 'S':
        v->type = DOC_STRING;
        return read_string(u, &v->u.str, &v->n);
    case 'H':
        /* high-precision number: its decimal text */
        {
            const char *s;
            size_t      len;
            char       *end;

            if (read_string(u, &s, &len) != 0) {
                return -1;
            }
            v->type = DOC_NUMBER;
            v->u.num = strtod(s, &end);
            if (len == 0 || end != s + len) {
                return forest_doc_fail(u, "malformed high-precision number");
            }
        }
        return 0;
    case '[':
        return parse_container(u, v, depth, 0);
    case '{':
        return parse_container(u, v, depth, 1);
    default:
        n = number_size(t);
        if (n == 0) {
            u->pos--;
            return forest_doc_fail(u, "unknown type marker");
        }
        if (need(u, (size_t) n) != 0) {
            return -1;
        }
        v->type = DOC_NUMBER;
        v->u.num = number_at(u->p + u->pos, t);
        u->pos += (size_t) n;
        return 0;
    }
}

doc *
forest_doc_parse_ubjson(const uint8_t *data, size_t len, const char *name,
    char *err, size_t errlen)
{
    doc_reader u;
    doc_value  root;

    forest_doc_reader_init(&u, "UBJSON", data, len, name, err, errlen);
    if (len == 0) {
        forest_errf(err, errlen, name, "UBJSON: empty input");
        return NULL;
    }
    u.d = forest_doc_new();
    if (u.d == NULL) {
        forest_errf(err, errlen, name, "out of memory");
        return NULL;
    }
    u.pos = 1;
    if (parse_typed(&u, data[0], &root, 0) != 0) {
        forest_doc_free(u.d);
        return NULL;
    }
    forest_doc_set_root(u.d, root);
    return u.d;
}
