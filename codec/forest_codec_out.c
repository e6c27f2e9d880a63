/*
 * A response body under construction.  Memory comes from the request's
 * allocator, which never frees, so the buffer starts at the caller's size
 * estimate and doubles only when the estimate was short.  After a failed
 * allocation every append is a no-op and ok stays 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forest_codec_internal.h"

void
fcodec_out_init(fcodec_out *o, fcodec_alloc *a, size_t hint)
{
    o->a = a;
    o->len = 0;
    o->cap = hint > 64 ? hint : 64;
    o->buf = a->alloc(a->ctx, o->cap);
    o->ok = o->buf != NULL;
}

uint8_t *
fcodec_out_reserve(fcodec_out *o, size_t n)
{
    uint8_t *buf;
    size_t   cap;

    if (!o->ok) {
        return NULL;
    }
    if (n > o->cap - o->len) {
        cap = o->cap;
        while (n > cap - o->len) {
            if (cap > SIZE_MAX / 2) {
                o->ok = 0;
                return NULL;
            }
            cap *= 2;
        }
        buf = o->a->alloc(o->a->ctx, cap);
        if (buf == NULL) {
            o->ok = 0;
            return NULL;
        }
        memcpy(buf, o->buf, o->len);
        o->buf = buf;
        o->cap = cap;
    }
    return o->buf + o->len;
}

void
fcodec_out_raw(fcodec_out *o, const void *s, size_t n)
{
    uint8_t *at = fcodec_out_reserve(o, n);

    if (at != NULL) {
        memcpy(at, s, n);
        o->len += n;
    }
}

void
fcodec_out_str(fcodec_out *o, const char *s)
{
    fcodec_out_raw(o, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s, or 0 (overlong forms,
 * surrogates and code points past U+10FFFF are invalid). */
static size_t
utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t   n, i;
    uint32_t cp;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, cp = c & 0x07;
    } else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    {
        return 0;
    }
    return n;
}

/* Escapes what JSON requires.  Messages may quote a client's bytes cut at
 * any point, so invalid UTF-8 becomes U+FFFD rather than reaching a client
 * whose JSON decoder would reject the whole body. */
void
fcodec_out_json_string(fcodec_out *o, const char *str)
{
    static const char    hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *) str, *run = s;
    char                 esc[6];
    size_t               n;

    fcodec_out_raw(o, "\"", 1);
    while (*s != '\0') {
        if (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\') {
            s++;
            continue;
        }
        n = *s >= 0x80 ? utf8_len(s) : 0;
        if (n > 0) {
            s += n;
            continue;
        }
        fcodec_out_raw(o, run, (size_t) (s - run));
        if (*s == '"' || *s == '\\') {
            esc[0] = '\\';
            esc[1] = (char) *s;
            fcodec_out_raw(o, esc, 2);
        } else if (*s < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[*s >> 4];
            esc[5] = hex[*s & 0xf];
            fcodec_out_raw(o, esc, 6);
        } else {
            fcodec_out_raw(o, "\\ufffd", 6);
        }
        run = ++s;
    }
    fcodec_out_raw(o, run, (size_t) (s - run));
    fcodec_out_raw(o, "\"", 1);
}

void
fcodec_out_float(fcodec_out *o, float v)
{
    char buf[FCODEC_FLOAT_TEXT_MAX];

    if (!isfinite(v)) {
        fcodec_out_raw(o, "null", 4);
        return;
    }
    fcodec_out_raw(o, buf, fcodec_float_text(v, buf));
}

void
fcodec_out_uint(fcodec_out *o, uint64_t v)
{
    char buf[24];
    int  n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long) v);

    fcodec_out_raw(o, buf, (size_t) n);
}

void
fcodec_out_le32(fcodec_out *o, uint32_t v)
{
    uint8_t b[4] = {
        (uint8_t) v, (uint8_t) (v >> 8), (uint8_t) (v >> 16), (uint8_t) (v >> 24)
    };

    fcodec_out_raw(o, b, 4);
}

void
fcodec_out_le32s(fcodec_out *o, const void *v, size_t n)
{
    const uint8_t *src = v;
    uint8_t       *at;
    uint32_t       bits;
    size_t         i;

    if (n == 0) {
        return;
    }
    at = fcodec_out_reserve(o, n * 4);
    if (at == NULL) {
        return;
    }
    for (i = 0; i < n; i++, src += 4, at += 4) {
        memcpy(&bits, src, 4);
        at[0] = (uint8_t) bits;
        at[1] = (uint8_t) (bits >> 8);
        at[2] = (uint8_t) (bits >> 16);
        at[3] = (uint8_t) (bits >> 24);
    }
    o->len += n * 4;
}
