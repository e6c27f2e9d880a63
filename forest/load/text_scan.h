/*
 * Line and token scanning over a byte buffer that need not end in NUL
 * (loaders get fuzzer and network buffers): nothing here reads past len.
 */
#ifndef FOREST_TEXT_SCAN_H
#define FOREST_TEXT_SCAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *p;
    size_t      len;
} text_span;

typedef struct {
    const char *data;
    size_t      len;
    size_t      pos;
    size_t      line_no;   /* 1-based number of the line last returned */
} text_reader;

void forest_text_reader_init(text_reader *r, const uint8_t *data, size_t len);

/* Next line without its "\n" or "\r\n"; 0 at the end of the buffer. */
int forest_text_next_line(text_reader *r, text_span *line);

int forest_text_eq(text_span s, const char *lit);
int forest_text_starts_with(text_span s, const char *lit);

/* Splits "key=value" at the first '='; 0 when the line has none. */
int forest_text_split_kv(text_span line, text_span *key, text_span *value);

/* Next token separated by spaces/tabs, consumed from *rest; 0 when none. */
int forest_text_next_token(text_span *rest, text_span *tok);
size_t forest_text_count_tokens(text_span s);

/* Whole-token conversions; -1 when the token is not entirely a number. */
int forest_text_to_double(text_span tok, double *out);
int forest_text_to_ll(text_span tok, long long *out);

#endif /* FOREST_TEXT_SCAN_H */
