/*
 * JSON text -> doc tree.  Strict RFC 8259 plus the NaN / Infinity tokens
 * XGBoost writes for non-finite floats.  Recursion is bounded by
 * DOC_MAX_DEPTH; every read is bounds-checked against len.
 */
#include "doc_build.h"
#include "forest_internal.h"
#include "utf8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void
skip_ws(doc_reader *j)
{
    while (j->pos < j->len) {
        uint8_t c = j->p[j->pos];

        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return;
        }
        j->pos++;
    }
}

static int
hex4(doc_reader *j, uint32_t *out)
{
    uint32_t v = 0;

    if (j->len - j->pos < 4) {
        return forest_doc_fail(j, "truncated \\u escape");
    }
    for (int i = 0; i < 4; i++) {
        uint8_t c = j->p[j->pos++];

        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= c - '0';
        } else if (c >= 'a' && c <= 'f') {
            v |= c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            v |= c - 'A' + 10;
        } else {
            return forest_doc_fail(j, "bad \\u escape");
        }
    }
    *out = v;
    return 0;
}

/* At the opening quote.  The decoded string is never longer than its text
 * (an escape of 6 bytes yields at most 3, a surrogate pair of 12 yields 4). */
static int
parse_string(doc_reader *j, const char **out, size_t *out_len)
{
    size_t start = ++j->pos, end = start, n = 0;
    char  *s;

    while (end < j->len && j->p[end] != '"') {
        end += (j->p[end] == '\\') ? 2 : 1;
    }
    if (end >= j->len) {
        j->pos = j->len;
        return forest_doc_fail(j, "unterminated string");
    }
    s = forest_doc_arena_alloc(j->d, end - start + 1);
    if (s == NULL) {
        return forest_doc_fail(j, "out of memory");
    }
    while (j->pos < end) {
        uint8_t  c = j->p[j->pos++];
        uint32_t cp, lo;

        if (c < 0x20) {
            j->pos--;
            return forest_doc_fail(j, "control character in string");
        }
        if (c != '\\') {
            s[n++] = (char) c;
            continue;
        }
        c = j->p[j->pos++];
        switch (c) {
        case '"': case '\\': case '/':
            s[n++] = (char) c;
            break;
        case 'b': s[n++] = '\b'; break;
        case 'f': s[n++] = '\f'; break;
        case 'n': s[n++] = '\n'; break;
        case 'r': s[n++] = '\r'; break;
        case 't': s[n++] = '\t'; break;
        case 'u':
            if (hex4(j, &cp) != 0) {
                return -1;
            }
            if (cp >= 0xD800 && cp < 0xDC00 && end - j->pos >= 6
                && j->p[j->pos] == '\\' && j->p[j->pos + 1] == 'u')
            {
                j->pos += 2;
                if (hex4(j, &lo) != 0) {
                    return -1;
                }
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    return forest_doc_fail(j, "bad surrogate pair");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            n += forest_utf8_put(s + n, cp);
            break;
        default:
            j->pos--;
            return forest_doc_fail(j, "bad escape in string");
        }
        if (j->pos > end) {
            return forest_doc_fail(j, "bad escape at end of string");
        }
    }
    s[n] = '\0';
    j->pos = end + 1;
    *out = s;
    *out_len = n;
    return 0;
}

static int
match(doc_reader *j, const char *word)
{
    size_t n = strlen(word);

    if (j->len - j->pos >= n && memcmp(j->p + j->pos, word, n) == 0) {
        j->pos += n;
        return 1;
    }
    return 0;
}

static int
parse_number(doc_reader *j, double *out)
{
    char   buf[64];
    size_t start = j->pos, n;
    char  *end;

    if (match(j, "NaN")) {
        *out = NAN;
        return 0;
    }
    if (match(j, "Infinity")) {
        *out = INFINITY;
        return 0;
    }
    if (match(j, "-Infinity")) {
        *out = -INFINITY;
        return 0;
    }
    while (j->pos < j->len && strchr("+-0123456789.eE", j->p[j->pos]) != NULL
           && j->p[j->pos] != '\0')
    {
        j->pos++;
    }
    n = j->pos - start;
    if (n == 0 || n >= sizeof(buf)) {
        j->pos = start;
        return forest_doc_fail(j, n ? "number too long"
                                    : "unexpected character");
    }
    memcpy(buf, j->p + start, n);
    buf[n] = '\0';
    *out = strtod(buf, &end);
    if (end != buf + n) {
        j->pos = start;
        return forest_doc_fail(j, "malformed number");
    }
    return 0;
}

static int parse_value(doc_reader *j, doc_value *v, int depth);

static int
parse_container(doc_reader *j, doc_value *v, int depth, int is_object)
{
    doc_builder b;
    uint8_t     close = is_object ? '}' : ']';
    int         rc = -1;

    memset(&b, 0, sizeof(b));
    j->pos++;
    skip_ws(j);
    if (j->pos < j->len && j->p[j->pos] == close) {
        j->pos++;
        rc = forest_doc_builder_finish(j->d, &b, is_object, v);
        goto done;
    }
    for ( ;; ) {
        const char *key = NULL;
        size_t      klen;
        doc_value   item;

        skip_ws(j);
        if (is_object) {
            if (j->pos >= j->len || j->p[j->pos] != '"') {
                forest_doc_fail(j, "expected a key string");
                goto done;
            }
            if (parse_string(j, &key, &klen) != 0) {
                goto done;
            }
            skip_ws(j);
            if (j->pos >= j->len || j->p[j->pos] != ':') {
                forest_doc_fail(j, "expected ':'");
                goto done;
            }
            j->pos++;
        }
        if (parse_value(j, &item, depth + 1) != 0) {
            goto done;
        }
        if (forest_doc_builder_push(&b, key, &item) != 0) {
            forest_doc_fail(j, "out of memory");
            goto done;
        }
        skip_ws(j);
        if (j->pos < j->len && j->p[j->pos] == ',') {
            j->pos++;
            continue;
        }
        if (j->pos < j->len && j->p[j->pos] == close) {
            j->pos++;
            break;
        }
        forest_doc_fail(j, is_object ? "expected ',' or '}'"
                                     : "expected ',' or ']'");
        goto done;
    }
    rc = forest_doc_builder_finish(j->d, &b, is_object, v);
done:
    if (rc != 0) {
        forest_doc_fail(j, "out of memory");
    }
    forest_doc_builder_release(&b);
    return rc;
}

static int
parse_value(doc_reader *j, doc_value *v, int depth)
{
    memset(v, 0, sizeof(*v));
    if (depth > DOC_MAX_DEPTH) {
        return forest_doc_fail(j, "nesting too deep");
    }
    skip_ws(j);
    if (j->pos >= j->len) {
        return forest_doc_fail(j, "unexpected end of input");
    }
    switch (j->p[j->pos]) {
    case '{':
        return parse_container(j, v, depth, 1);
    case '[':
        return parse_container(j, v, depth, 0);
    case '"':
        v->type = DOC_STRING;
        return parse_string(j, &v->u.str, &v->n);
    case 't':
    case 'f':
        v->type = DOC_BOOL;
        v->u.num = match(j, "true");
        if (v->u.num != 0.0 || match(j, "false")) {
            return 0;
        }
        return forest_doc_fail(j, "unexpected token");
    case 'n':
        if (match(j, "null")) {
            v->type = DOC_NULL;
            return 0;
        }
        return forest_doc_fail(j, "unexpected token");
    default:
        v->type = DOC_NUMBER;
        return parse_number(j, &v->u.num);
    }
}

doc *
forest_doc_parse_json(const uint8_t *data, size_t len, const char *name,
    char *err, size_t errlen)
{
    doc_reader j;
    doc_value  root;

    forest_doc_reader_init(&j, "JSON", data, len, name, err, errlen);
    j.d = forest_doc_new();
    if (j.d == NULL) {
        forest_errf(err, errlen, name, "out of memory");
        return NULL;
    }
    if (parse_value(&j, &root, 0) != 0) {
        forest_doc_free(j.d);
        return NULL;
    }
    skip_ws(&j);
    /* forest_load() appends a NUL; tolerate it and nothing else */
    if (j.pos < len && !(j.pos + 1 == len && data[j.pos] == '\0')) {
        forest_doc_fail(&j, "trailing data after the document");
        forest_doc_free(j.d);
        return NULL;
    }
    forest_doc_set_root(j.d, root);
    return j.d;
}
