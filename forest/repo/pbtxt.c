/*
 * The protobuf text format reader: a recursive-descent parser over one
 * buffer, every node and decoded string in one arena freed at once.
 */
#include "pbtxt.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* deeper nesting than any model configuration, shallow enough for the stack */
#define PB_MAX_DEPTH   64
#define PB_BLOCK_SIZE  4096

typedef struct pb_block {
    struct pb_block  *next;
    size_t            used, size;
    /* data follows, aligned */
    max_align_t       data[];
} pb_block;

struct forest_pbtxt {
    pb_block       *blocks;
    forest_pb_msg   root;
};

typedef struct {
    const char    *p, *end;
    const char    *file;
    unsigned       line;
    forest_pbtxt  *doc;
    char          *err;
    size_t         errlen;
    int            failed;
} pb_parser;

static void *
pb_alloc(pb_parser *ps, size_t size)
{
    pb_block  *b = ps->doc->blocks;
    size_t     need = (size + sizeof(max_align_t) - 1)
                      & ~(sizeof(max_align_t) - 1);

    if (b == NULL || b->size - b->used < need) {
        size_t cap = need > PB_BLOCK_SIZE ? need : PB_BLOCK_SIZE;

        b = malloc(sizeof(pb_block) + cap);
        if (b == NULL) {
            return NULL;
        }
        b->used = 0;
        b->size = cap;
        b->next = ps->doc->blocks;
        ps->doc->blocks = b;
    }
    b->used += need;
    return (char *) b->data + b->used - need;
}

void
forest_pbtxt_verror(char *err, size_t errlen, const char *file,
    unsigned line, const char *fmt, va_list ap)
{
    int n;

    n = snprintf(err, errlen, "%s:%u: ", file, line);
    if (n >= 0 && (size_t) n < errlen) {
        vsnprintf(err + n, errlen - n, fmt, ap);
    }
}

static int
pb_fail(pb_parser *ps, const char *fmt, ...)
{
    va_list  ap;

    if (!ps->failed) {
        ps->failed = 1;
        va_start(ap, fmt);
        forest_pbtxt_verror(ps->err, ps->errlen, ps->file, ps->line, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Whitespace and comments; the line count follows. */
static void
pb_skip(pb_parser *ps)
{
    while (ps->p < ps->end) {
        char c = *ps->p;

        if (c == '\n') {
            ps->line++;
            ps->p++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f'
                   || c == '\v')
        {
            ps->p++;
        } else if (c == '#') {
            while (ps->p < ps->end && *ps->p != '\n') {
                ps->p++;
            }
        } else {
            return;
        }
    }
}

static int
pb_is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
pb_is_ident(char c)
{
    return pb_is_ident_start(c) || (c >= '0' && c <= '9');
}

/* A printable description of the next token for error messages. */
static const char *
pb_next_desc(pb_parser *ps, char *buf, size_t len)
{
    unsigned char c;

    if (ps->p >= ps->end) {
        return "end of file";
    }
    c = (unsigned char) *ps->p;
    if (c >= 0x21 && c < 0x7f) {
        snprintf(buf, len, "'%c'", c);
    } else {
        snprintf(buf, len, "byte 0x%02x", c);
    }
    return buf;
}

static char *
pb_ident(pb_parser *ps)
{
    const char  *start = ps->p;
    char        *s;
    size_t       n;

    while (ps->p < ps->end && pb_is_ident(*ps->p)) {
        ps->p++;
    }
    n = (size_t) (ps->p - start);
    s = pb_alloc(ps, n + 1);
    if (s == NULL) {
        pb_fail(ps, "out of memory");
        return NULL;
    }
    memcpy(s, start, n);
    s[n] = '\0';
    return s;
}

static int
pb_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* One escape after the backslash; appends to out, returns bytes or -1. */
static int
pb_escape(pb_parser *ps, char *out)
{
    char      c;
    int       i, d, n;
    uint32_t  v;

    if (ps->p >= ps->end) {
        return pb_fail(ps, "unterminated string");
    }
    c = *ps->p++;
    switch (c) {
    case 'a': *out = '\a'; return 1;
    case 'b': *out = '\b'; return 1;
    case 'f': *out = '\f'; return 1;
    case 'n': *out = '\n'; return 1;
    case 'r': *out = '\r'; return 1;
    case 't': *out = '\t'; return 1;
    case 'v': *out = '\v'; return 1;
    case '\\': case '\'': case '"': case '?': *out = c; return 1;
    case 'x': case 'X':
        v = 0;
        for (i = 0; i < 2 && ps->p < ps->end && pb_hex(*ps->p) >= 0; i++) {
            v = v * 16 + (uint32_t) pb_hex(*ps->p++);
        }
        if (i == 0) {
            return pb_fail(ps, "\\x without hex digits in a string");
        }
        *out = (char) v;
        return 1;
    case 'u': case 'U':
        n = c == 'u' ? 4 : 8;
        v = 0;
        for (i = 0; i < n; i++) {
            if (ps->p >= ps->end || (d = pb_hex(*ps->p)) < 0) {
                return pb_fail(ps, "\\%c needs %d hex digits in a string",
                               c, n);
            }
            v = v * 16 + (uint32_t) d;
            ps->p++;
        }
        if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
            return pb_fail(ps, "\\%c%0*X is not a Unicode code point", c, n,
                           (unsigned) v);
        }
        return (int) forest_utf8_put(out, v);
    default:
        if (c >= '0' && c <= '7') {
            v = (uint32_t) (c - '0');
            for (i = 1; i < 3 && ps->p < ps->end
                        && *ps->p >= '0' && *ps->p <= '7'; i++)
            {
                v = v * 8 + (uint32_t) (*ps->p++ - '0');
            }
            if (v > 0xff) {
                return pb_fail(ps, "octal escape over \\377 in a string");
            }
            *out = (char) v;
            return 1;
        }
        if (c == '\n') {
            ps->line++;
        }
        return pb_fail(ps, "unknown escape \"\\%c\" in a string",
                       c >= 0x21 && c < 0x7f ? c : '?');
    }
}

/* One or more adjacent string literals, concatenated. */
static int
pb_string(pb_parser *ps, forest_pb_field *f)
{
    char    *buf, *grown, *out;
    size_t   cap, len;
    int      n, rc;

    cap = 64;
    len = 0;
    buf = malloc(cap);
    if (buf == NULL) {
        return pb_fail(ps, "out of memory");
    }
    rc = 0;

    while (rc == 0 && ps->p < ps->end && (*ps->p == '"' || *ps->p == '\'')) {
        char quote = *ps->p++;

        for (;;) {
            /* an escape writes at most 4 bytes */
            if (cap - len < 5) {
                cap *= 2;
                grown = realloc(buf, cap);
                if (grown == NULL) {
                    rc = pb_fail(ps, "out of memory");
                    break;
                }
                buf = grown;
            }
            if (ps->p >= ps->end || *ps->p == '\n') {
                rc = pb_fail(ps, "unterminated string");
                break;
            }
            if (*ps->p == quote) {
                ps->p++;
                break;
            }
            if (*ps->p == '\\') {
                ps->p++;
                n = pb_escape(ps, buf + len);
                if (n < 0) {
                    rc = -1;
                    break;
                }
                len += (size_t) n;
            } else {
                buf[len++] = *ps->p++;
            }
        }
        if (rc == 0) {
            pb_skip(ps);
        }
    }

    if (rc == 0) {
        out = pb_alloc(ps, len + 1);
        if (out == NULL) {
            rc = pb_fail(ps, "out of memory");
        } else {
            memcpy(out, buf, len);
            out[len] = '\0';
            f->value = out;
            f->value_len = len;
            f->quoted = 1;
        }
    }
    free(buf);
    return rc;
}

/* A number or identifier token, with an optional leading minus. */
static int
pb_token(pb_parser *ps, forest_pb_field *f)
{
    const char  *start = ps->p, *body;
    char        *s;
    size_t       n;
    int          numeric;

    if (*ps->p == '-') {
        ps->p++;
    }
    body = ps->p;
    numeric = body < ps->end && ((*body >= '0' && *body <= '9')
                                 || *body == '.');
    while (ps->p < ps->end) {
        char c = *ps->p;

        if (pb_is_ident(c) || c == '.'
            || (numeric && (c == '+' || c == '-')
                && (ps->p[-1] == 'e' || ps->p[-1] == 'E')))
        {
            ps->p++;
        } else {
            break;
        }
    }
    if (ps->p == body) {
        char buf[16];

        return pb_fail(ps, "expected a value, found %s",
                       pb_next_desc(ps, buf, sizeof(buf)));
    }

    n = (size_t) (ps->p - start);
    s = pb_alloc(ps, n + 1);
    if (s == NULL) {
        return pb_fail(ps, "out of memory");
    }
    memcpy(s, start, n);
    s[n] = '\0';
    f->value = s;
    f->value_len = n;
    return 0;
}

static int pb_message(pb_parser *ps, forest_pb_msg *msg, char close,
    int depth);

static forest_pb_field *
pb_new_field(pb_parser *ps, forest_pb_field ***tail, const char *name,
    unsigned line)
{
    forest_pb_field *f = pb_alloc(ps, sizeof(forest_pb_field));

    if (f == NULL) {
        pb_fail(ps, "out of memory");
        return NULL;
    }
    memset(f, 0, sizeof(*f));
    f->name = name;
    f->line = line;
    **tail = f;
    *tail = &f->next;
    return f;
}

/* A message value: '{' or '<' has been seen, not yet consumed. */
static int
pb_submessage(pb_parser *ps, forest_pb_field *f, int depth)
{
    char close = *ps->p == '{' ? '}' : '>';

    if (depth >= PB_MAX_DEPTH) {
        return pb_fail(ps, "messages nested deeper than %d", PB_MAX_DEPTH);
    }
    ps->p++;
    f->msg = pb_alloc(ps, sizeof(forest_pb_msg));
    if (f->msg == NULL) {
        return pb_fail(ps, "out of memory");
    }
    f->msg->first = NULL;
    return pb_message(ps, f->msg, close, depth + 1);
}

static int
pb_value(pb_parser *ps, forest_pb_field *f, int colon, int depth)
{
    char buf[16];

    if (ps->p >= ps->end) {
        return pb_fail(ps, "expected a value for \"%s\", found end of file",
                       f->name);
    }
    if (*ps->p == '{' || *ps->p == '<') {
        return pb_submessage(ps, f, depth);
    }
    if (!colon) {
        return pb_fail(ps, "expected ':' or '{' after \"%s\", found %s",
                       f->name, pb_next_desc(ps, buf, sizeof(buf)));
    }
    if (*ps->p == '"' || *ps->p == '\'') {
        return pb_string(ps, f);
    }
    if (*ps->p == '-' || *ps->p == '.' || pb_is_ident(*ps->p)) {
        return pb_token(ps, f);
    }
    return pb_fail(ps, "expected a value for \"%s\", found %s", f->name,
                   pb_next_desc(ps, buf, sizeof(buf)));
}

static int
pb_field(pb_parser *ps, forest_pb_field ***tail, int depth)
{
    forest_pb_field  *f;
    const char       *name;
    unsigned          line;
    int               colon;
    char              buf[16];

    if (*ps->p == '[') {
        return pb_fail(ps, "extension and Any fields ('[...]') are not "
                       "model configuration");
    }
    if (!pb_is_ident_start(*ps->p)) {
        return pb_fail(ps, "expected a field name, found %s",
                       pb_next_desc(ps, buf, sizeof(buf)));
    }
    line = ps->line;
    name = pb_ident(ps);
    if (name == NULL) {
        return -1;
    }
    pb_skip(ps);

    colon = 0;
    if (ps->p < ps->end && *ps->p == ':') {
        colon = 1;
        ps->p++;
        pb_skip(ps);
    }

    if (ps->p < ps->end && *ps->p == '[') {
        /* a list: every element is one more repeated field */
        ps->p++;
        pb_skip(ps);
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return 0;
        }
        for (;;) {
            f = pb_new_field(ps, tail, name, ps->line);
            if (f == NULL || pb_value(ps, f, 1, depth) != 0) {
                return -1;
            }
            if (f->msg == NULL && !colon) {
                return pb_fail(ps, "a list of scalars needs ':' after "
                               "\"%s\"", name);
            }
            pb_skip(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                pb_skip(ps);
                continue;
            }
            if (ps->p < ps->end && *ps->p == ']') {
                ps->p++;
                return 0;
            }
            return pb_fail(ps, "expected ',' or ']' in the list \"%s\", "
                           "found %s", name,
                           pb_next_desc(ps, buf, sizeof(buf)));
        }
    }

    f = pb_new_field(ps, tail, name, line);
    if (f == NULL) {
        return -1;
    }
    return pb_value(ps, f, colon, depth);
}

/* Fields up to `close` ('\0': end of input). */
static int
pb_message(pb_parser *ps, forest_pb_msg *msg, char close, int depth)
{
    forest_pb_field **tail = &msg->first;
    char              buf[16];

    for (;;) {
        pb_skip(ps);
        if (ps->p >= ps->end) {
            if (close == '\0') {
                return 0;
            }
            return pb_fail(ps, "expected '%c', found end of file", close);
        }
        if (*ps->p == close) {
            ps->p++;
            return 0;
        }
        if (*ps->p == '}' || *ps->p == '>') {
            return pb_fail(ps, "unexpected %s",
                           pb_next_desc(ps, buf, sizeof(buf)));
        }
        if (pb_field(ps, &tail, depth) != 0) {
            return -1;
        }
        pb_skip(ps);
        if (ps->p < ps->end && (*ps->p == ',' || *ps->p == ';')) {
            ps->p++;
        }
    }
}

forest_pbtxt *
forest_pbtxt_parse(const char *text, size_t len, const char *file,
    char *err, size_t errlen)
{
    pb_parser      ps;
    forest_pbtxt  *doc;

    doc = calloc(1, sizeof(forest_pbtxt));
    if (doc == NULL) {
        snprintf(err, errlen, "%s: out of memory", file);
        return NULL;
    }

    memset(&ps, 0, sizeof(ps));
    ps.p = text;
    ps.end = text + len;
    ps.file = file;
    ps.line = 1;
    ps.doc = doc;
    ps.err = err;
    ps.errlen = errlen;

    if (pb_message(&ps, &doc->root, '\0', 0) != 0) {
        forest_pbtxt_free(doc);
        return NULL;
    }
    return doc;
}

const forest_pb_msg *
forest_pbtxt_root(const forest_pbtxt *doc)
{
    return &doc->root;
}

void
forest_pbtxt_free(forest_pbtxt *doc)
{
    pb_block *b, *next;

    if (doc == NULL) {
        return;
    }
    for (b = doc->blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(doc);
}
