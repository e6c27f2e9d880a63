/*
 * Bounded text scanning shared by the text-format loaders.  Numbers are
 * copied into a small NUL-terminated buffer before strtod/strtoll so the
 * C library never walks off the end of the caller's bytes.
 */
#include "text_scan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* longer than any number a model writer prints (17 digits + exponent) */
#define TEXT_NUMBER_MAX 64

void
forest_text_reader_init(text_reader *r, const uint8_t *data, size_t len)
{
    r->data = (const char *) data;
    r->len = len;
    r->pos = 0;
    r->line_no = 0;
}

int
forest_text_next_line(text_reader *r, text_span *line)
{
    const char *start, *nl;
    size_t      n;

    if (r->pos >= r->len) {
        return 0;
    }
    start = r->data + r->pos;
    nl = memchr(start, '\n', r->len - r->pos);
    n = nl ? (size_t) (nl - start) : r->len - r->pos;
    r->pos += n + (nl != NULL);
    r->line_no++;
    if (n > 0 && start[n - 1] == '\r') {
        n--;
    }
    line->p = start;
    line->len = n;
    return 1;
}

int
forest_text_eq(text_span s, const char *lit)
{
    size_t n = strlen(lit);

    return s.len == n && memcmp(s.p, lit, n) == 0;
}

int
forest_text_starts_with(text_span s, const char *lit)
{
    size_t n = strlen(lit);

    return s.len >= n && memcmp(s.p, lit, n) == 0;
}

int
forest_text_split_kv(text_span line, text_span *key, text_span *value)
{
    const char *eq = memchr(line.p, '=', line.len);

    if (eq == NULL) {
        return 0;
    }
    key->p = line.p;
    key->len = (size_t) (eq - line.p);
    value->p = eq + 1;
    value->len = line.len - key->len - 1;
    return 1;
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int
forest_text_next_token(text_span *rest, text_span *tok)
{
    size_t i = 0, start;

    while (i < rest->len && is_blank(rest->p[i])) {
        i++;
    }
    if (i == rest->len) {
        rest->p += i;
        rest->len = 0;
        return 0;
    }
    start = i;
    while (i < rest->len && !is_blank(rest->p[i])) {
        i++;
    }
    tok->p = rest->p + start;
    tok->len = i - start;
    rest->p += i;
    rest->len -= i;
    return 1;
}

size_t
forest_text_count_tokens(text_span s)
{
    text_span tok;
    size_t    n = 0;

    while (forest_text_next_token(&s, &tok)) {
        n++;
    }
    return n;
}

static int
copy_number(text_span tok, char *buf)
{
    if (tok.len == 0 || tok.len >= TEXT_NUMBER_MAX) {
        return -1;
    }
    memcpy(buf, tok.p, tok.len);
    buf[tok.len] = '\0';
    return 0;
}

int
forest_text_to_double(text_span tok, double *out)
{
    char  buf[TEXT_NUMBER_MAX], *end;

    if (copy_number(tok, buf) != 0) {
        return -1;
    }
    errno = 0;
    *out = strtod(buf, &end);
    /* ERANGE on underflow still yields the nearest value; only overflow is
     * an error */
    if (*end != '\0' || (errno == ERANGE && (*out > 1.0 || *out < -1.0))) {
        return -1;
    }
    return 0;
}

int
forest_text_to_ll(text_span tok, long long *out)
{
    char  buf[TEXT_NUMBER_MAX], *end;

    if (copy_number(tok, buf) != 0) {
        return -1;
    }
    errno = 0;
    *out = strtoll(buf, &end, 10);
    return (*end != '\0' || errno == ERANGE) ? -1 : 0;
}
