/*
 * The request parser's fast path.  Bodies in the common subset of JSON
 * (strings of printable ASCII without escapes, space, tab, CR and LF
 * between tokens, nesting up to FCODEC_JSON_DEPTH levels) are read here
 * token by token into the very callbacks yajl calls
 * (forest_codec_parser.c), in the same order with the same token text, so
 * what a request decodes to cannot differ (a number's callback gets its
 * value too, read on the way).  It saves yajl's byte-at-a-time lexer and
 * its buffers: a number's end and value come from one pass over its digits,
 * eight at a time, the numbers of an array go without a turn of the main
 * loop per byte, and a request read wholly here allocates no yajl handle.
 *
 * At the first token outside the subset (anything odd or invalid) yajl
 * takes over.  Its state depends only on the nesting and on where in its
 * container the parse stands, so a made-up prefix of the same shape
 * ({"": for a map holding an open value, [null, for an array after a
 * comma, ...), read with the callbacks muted, brings a fresh handle to the
 * exact state; it then reads the rest of the body from that token on, and
 * every error or odd input gets yajl's own answer and message.
 *
 * A token cut by the end of a piece is kept (up to FCODEC_JSON_PENDING
 * bytes) and finished with the next piece's bytes; a longer one goes to
 * yajl, which keeps any length.
 */
#include <stdio.h>
#include <string.h>

#include "forest_codec_internal.h"
#include "forest_json_number.h"

int fcodec_json_fast = 1;

enum {
    FJ_ROOT = 0,       /* a value expected at the top */
    FJ_DONE,           /* the top value read: only whitespace may follow */
    FJ_MAP_START,      /* after {: a key or } */
    FJ_MAP_KEY,        /* after , in a map: a key */
    FJ_MAP_SEP,        /* after a key: a colon */
    FJ_MAP_VAL,        /* after the colon: a value */
    FJ_MAP_GOT,        /* after a member's value: , or } */
    FJ_ARR_START,      /* after [: a value or ] */
    FJ_ARR_VAL,        /* after , in an array: a value */
    FJ_ARR_GOT,        /* after an element: , or ] */
    FJ_YAJL            /* yajl reads the rest */
};

/* how a run over bytes stopped; *at: where it stopped */
enum {
    R_END,             /* every byte read */
    R_MORE,            /* the token at *at runs past the bytes */
    R_OUT,             /* the token at *at is for yajl */
    R_FAIL             /* a callback failed (fcodec_fail said why) */
};

/* (most bytes fail the first test) */
#define is_ws(c)     ((c) <= ' ' && ((c) == ' ' || (c) == '\n' || (c) == '\r' \
                                     || (c) == '\t'))
#define is_digit(c)  ((c) >= '0' && (c) <= '9')

/* Token lengths: > 0 the token's, 0 when it runs past the n bytes, -1 when
 * it is outside the subset or invalid (yajl says which). */

static long
lex_string(const uint8_t *s, size_t n)
{
    size_t i;

    for (i = 1; i < n; i++) {
        if (s[i] == '"') {
            return (long) i + 1;
        }
        if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '\\') {
            return -1;
        }
    }
    return 0;
}

/*
 * yajl's number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, longest
 * match; its end is known only once a byte past it is seen.  Its value is
 * read on the way (forest_json_number.h): *exact 1 and *v the double
 * strtod gives, or *exact 0 when only strtod can tell.  This is the byte
 * by byte reading of any number; lex_number_groups, the common one's.
 */
static long
lex_number_bytes(const uint8_t *s, size_t n, double *v, int *exact)
{
    const char *c = (const char *) s;
    int         neg = s[0] == '-';
    size_t      i = (size_t) neg, frac = 0, digits = 0;
    long        e = 0;
    uint64_t    m = 0;

    if (i == n) {
        return 0;
    }
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        i = forest_json_digits(c, i, n, &m, &digits);
    } else {
        return -1;
    }
    if (i < n && s[i] == '.') {
        if (++i < n && !is_digit(s[i])) {
            return -1;
        }
        frac = forest_json_digits(c, i, n, &m, &digits) - i;
        i += frac;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t at = ++i;

        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        if (i < n && !is_digit(s[i])) {
            return -1;
        }
        i = forest_json_exponent(c, at, n, &e);
    }
    if (i == n) {
        return 0;
    }
    *exact = forest_json_number_value(m, digits, e - (long) frac, neg, v);
    return (long) i;
}

/*
 * The common shapes, -?[1-7 digits](.[digits])? with at most 19 digits, no
 * exponent and eight bytes to read at each group: a group of eight bytes a
 * step.  0 for anything else (lex_number_bytes decides), else as
 * lex_number_bytes.
 */
static long
lex_number_groups(const uint8_t *s, size_t n, double *v, int *exact)
{
    const char *c = (const char *) s;
    int         neg = s[0] == '-';
    size_t      i = (size_t) neg, k, frac = 0, digits;
    uint64_t    x, m;

    if (!FOREST_JSON_SWAR || n < i + 8) {
        return 0;
    }
    x = forest_json_group(c + i);
    k = forest_json_group_len(x);
    if (k == 0 || k == 8 || (s[i] == '0' && k > 1)) {
        return 0;
    }
    /* (one digit, the most common whole part, is its byte) */
    m = k == 1 ? (x & 0xff) : forest_json_group_join(0, x, k);
    digits = k;
    i += k;
    if (s[i] == '.') {
        /* whole groups, then the last one's digits */
        for (i++; ; i += 8, frac += 8) {
            if (n < i + 8) {
                return 0;
            }
            x = forest_json_group(c + i);
            k = forest_json_group_len(x);
            if (k < 8) {
                break;
            }
            m = forest_json_group_join(m, x, 8);
        }
        if (k == 0 && frac == 0) {
            return 0;
        }
        if (k > 0) {
            m = forest_json_group_join(m, x, k);
            frac += k;
            i += k;
        }
        digits += frac;
    }
    if (s[i] == 'e' || s[i] == 'E' || digits > 19) {
        return 0;
    }
    *exact = forest_json_number_value(m, digits, -(long) frac, neg, v);
    return (long) i;
}

static long
lex_number(const uint8_t *s, size_t n, double *v, int *exact)
{
    long len = lex_number_groups(s, n, v, exact);

    return len > 0 ? len : lex_number_bytes(s, n, v, exact);
}

static long
lex_word(const uint8_t *s, size_t n, const char *word, size_t len)
{
    size_t m = n < len ? n : len;

    if (memcmp(s, word, m) != 0) {
        return -1;
    }
    return m == len ? (long) len : 0;
}

static int
after_value(const fcodec_json_state *js)
{
    if (js->depth == 0) {
        return FJ_DONE;
    }
    return js->open[js->depth - 1] == '{' ? FJ_MAP_GOT : FJ_ARR_GOT;
}

/* The number at s[0]: its callback, with its value when read exactly on
 * the way; *len as lex_number gives it. */
static int
number(fcodec_parser *p, const uint8_t *s, size_t n, long *len)
{
    double num;
    int    exact;

    *len = lex_number(s, n, &num, &exact);
    if (*len <= 0) {
        return *len == 0 ? R_MORE : R_OUT;
    }
    return fcodec_number(p, (const char *) s, (size_t) *len,
                         exact ? &num : NULL) ? R_END : R_FAIL;
}

/* One scalar at s[0] (a value is expected there): its callback. */
static int
scalar(fcodec_parser *p, const uint8_t *s, size_t n, long *len)
{
    const yajl_callbacks *cb = &fcodec_yajl_callbacks;
    int                   ok;

    switch (s[0]) {
    case '"':
        *len = lex_string(s, n);
        ok = *len <= 0 || cb->yajl_string(p, s + 1, (size_t) *len - 2);
        break;
    case 't':
        *len = lex_word(s, n, "true", 4);
        ok = *len <= 0 || cb->yajl_boolean(p, 1);
        break;
    case 'f':
        *len = lex_word(s, n, "false", 5);
        ok = *len <= 0 || cb->yajl_boolean(p, 0);
        break;
    case 'n':
        *len = lex_word(s, n, "null", 4);
        ok = *len <= 0 || cb->yajl_null(p);
        break;
    default:
        if (s[0] != '-' && !is_digit(s[0])) {
            *len = -1;
            return R_OUT;
        }
        return number(p, s, n, len);
    }
    if (!ok) {
        return R_FAIL;
    }
    return *len > 0 ? R_END : *len == 0 ? R_MORE : R_OUT;
}

/*
 * Numbers in an array, most of a request: s[*at] starts one where the array
 * expects a value.  Reads it and each number that follows a comma, then
 * stops after the last (*at there, the state after a value), as the main
 * loop would, without a turn of it per byte of ", ".
 */
static int
numbers(fcodec_parser *p, const uint8_t *s, size_t n, size_t *at)
{
    fcodec_json_state *js = &p->js;
    size_t             i = *at, j;
    long               len;
    int                rc;

    for (;;) {
        rc = number(p, s + i, n - i, &len);
        if (rc != R_END) {
            *at = i;
            return rc;
        }
        i += (size_t) len;
        js->state = FJ_ARR_GOT;

        for (j = i; j < n && is_ws(s[j]); j++) { }
        if (j == n || s[j] != ',') {
            break;
        }
        for (j++; j < n && is_ws(s[j]); j++) { }
        if (j == n || (s[j] != '-' && !is_digit(s[j]))) {
            break;
        }
        js->state = FJ_ARR_VAL;
        i = j;
    }
    *at = i;
    return R_END;
}

static int
run(fcodec_parser *p, const uint8_t *s, size_t n, size_t *at)
{
    const yajl_callbacks *cb = &fcodec_yajl_callbacks;
    fcodec_json_state    *js = &p->js;
    size_t                i = *at;
    long                  len;
    int                   c, rc;

    for (;;) {
        while (i < n && is_ws(s[i])) {
            i++;
        }
        *at = i;
        if (i == n) {
            return R_END;
        }
        c = s[i];

        switch (js->state) {
        case FJ_MAP_SEP:
            if (c != ':') {
                return R_OUT;
            }
            js->state = FJ_MAP_VAL;
            i++;
            continue;
        case FJ_MAP_GOT:
        case FJ_ARR_GOT:
            if (c == ',') {
                js->state = js->state == FJ_MAP_GOT ? FJ_MAP_KEY : FJ_ARR_VAL;
                i++;
                continue;
            }
            if (c != (js->state == FJ_MAP_GOT ? '}' : ']')) {
                return R_OUT;
            }
            break;
        case FJ_MAP_START:
        case FJ_MAP_KEY:
            if (c == '}' && js->state == FJ_MAP_START) {
                break;
            }
            if (c != '"') {
                return R_OUT;
            }
            len = lex_string(s + i, n - i);
            if (len <= 0) {
                return len == 0 ? R_MORE : R_OUT;
            }
            if (!cb->yajl_map_key(p, s + i + 1, (size_t) len - 2)) {
                return R_FAIL;
            }
            js->state = FJ_MAP_SEP;
            i += (size_t) len;
            continue;
        case FJ_ARR_START:
        case FJ_ROOT:
        case FJ_MAP_VAL:
        case FJ_ARR_VAL:
            if (c == ']' && js->state == FJ_ARR_START) {
                break;
            }
            if ((c == '-' || is_digit(c))
                && (js->state == FJ_ARR_START || js->state == FJ_ARR_VAL))
            {
                rc = numbers(p, s, n, at);
                if (rc != R_END) {
                    return rc;
                }
                i = *at;
                continue;
            }
            if (c == '{' || c == '[') {
                if (js->depth == FCODEC_JSON_DEPTH) {
                    return R_OUT;
                }
                if (!(c == '{' ? cb->yajl_start_map(p)
                               : cb->yajl_start_array(p)))
                {
                    return R_FAIL;
                }
                js->open[js->depth++] = (uint8_t) c;
                js->state = c == '{' ? FJ_MAP_START : FJ_ARR_START;
                i++;
                continue;
            }
            rc = scalar(p, s + i, n - i, &len);
            if (rc != R_END) {
                return rc;
            }
            js->state = after_value(js);
            i += (size_t) len;
            continue;
        default: /* FJ_DONE: yajl calls anything past the value garbage */
            return R_OUT;
        }

        /* } or ] closing the open container */
        if (!cb->yajl_end_map(p)) {
            return R_FAIL;
        }
        js->depth--;
        js->state = after_value(js);
        i++;
    }
}

/* The made-up JSON that puts a fresh yajl handle where this parse stands:
 * each container holding an open value, then the innermost one's place. */
static size_t
prefix(const fcodec_json_state *js, char *buf)
{
    static const char *place[] = {
        "", "null", "{", "{\"\":null,", "{\"\"", "{\"\":", "{\"\":null",
        "[", "[null,", "[null"
    };
    size_t n = 0, d;

    for (d = 0; d + 1 < js->depth; d++) {
        n += (size_t) sprintf(buf + n, "%s", js->open[d] == '{' ? "{\"\":"
                                                                : "[");
    }
    return n + (size_t) sprintf(buf + n, "%s", place[js->state]);
}

/* yajl reads on from here: a, then b (either may be empty), the byte before
 * them being before. */
static int
handover(fcodec_parser *p, const uint8_t *a, size_t na, const uint8_t *b,
    size_t nb, uint8_t before)
{
    fcodec_json_state *js = &p->js;
    char               buf[FCODEC_JSON_DEPTH * 4 + 16];
    size_t             len = prefix(js, buf), skip = p->skip;
    int                ok;

    js->state = FJ_YAJL;
    js->n_pending = 0;
    if (!fcodec_yajl_start(p)) {
        return 0;
    }
    /* the prefix only opens containers and reads null and "" (no end, no
     * number): a non-zero skip mutes all of it */
    p->skip = 1;
    ok = fcodec_yajl_feed(p, (const uint8_t *) buf, len);
    p->skip = skip;
    if (!ok) {
        return 0;
    }
    p->last_byte = before;
    return fcodec_yajl_feed(p, a, na) && fcodec_yajl_feed(p, b, nb);
}

/* The bytes from *at on after run stopped there: kept for the next piece,
 * or handed to yajl.  before: the byte before data. */
static int
stopped(fcodec_parser *p, int rc, const uint8_t *data, size_t len, size_t at,
    uint8_t before)
{
    fcodec_json_state *js = &p->js;
    uint8_t            prev = at > 0 ? data[at - 1] : before;

    switch (rc) {
    case R_END:
        return 1;
    case R_FAIL:
        return 0;
    case R_MORE:
        if (len - at <= FCODEC_JSON_PENDING) {
            memcpy(js->pending, data + at, len - at);
            js->n_pending = (uint32_t) (len - at);
            js->before = prev;
            return 1;
        }
        /* fall through */
    default:
        return handover(p, data + at, len - at, NULL, 0, prev);
    }
}

int
fcodec_json_feed(fcodec_parser *p, const uint8_t *data, size_t len)
{
    fcodec_json_state *js = &p->js;
    uint8_t            buf[FCODEC_JSON_PENDING * 2], before = p->last_byte;
    size_t             at = 0, old, add;
    int                rc;

    if (js->state == FJ_YAJL) {
        return fcodec_yajl_feed(p, data, len);
    }
    if (!fcodec_json_fast) {
        return handover(p, data, len, NULL, 0, before);
    }
    if (js->n_pending > 0) {
        /* the kept token, finished with this piece's first bytes */
        old = js->n_pending;
        add = len < sizeof(buf) - old ? len : sizeof(buf) - old;
        memcpy(buf, js->pending, old);
        memcpy(buf + old, data, add);
        js->n_pending = 0;
        rc = run(p, buf, old + add, &at);
        if (rc == R_FAIL) {
            return 0;
        }
        if (at < old) {
            /* still cut short, or for yajl */
            if (rc == R_MORE && add == len && old + add <= FCODEC_JSON_PENDING)
            {
                memcpy(js->pending, buf, old + add);
                js->n_pending = (uint32_t) (old + add);
                return 1;
            }
            return handover(p, buf + at, old + add - at, data + add,
                            len - add, at > 0 ? buf[at - 1] : js->before);
        }
        at -= old;
        before = at > 0 ? data[at - 1] : buf[old - 1];
    }
    rc = run(p, data, len, &at);
    return stopped(p, rc, data, len, at, before);
}

int
fcodec_json_complete(fcodec_parser *p)
{
    fcodec_json_state *js = &p->js;

    if (js->state == FJ_DONE && js->n_pending == 0) {
        return 1;
    }
    if (js->state != FJ_YAJL
        && !handover(p, js->pending, js->n_pending, NULL, 0, js->before))
    {
        return 0;
    }
    return fcodec_yajl_complete(p);
}
