/*
 * CSV reader for input rows (see input.h for the accepted dialect).  It only
 * ever walks forward over [data, data + len), so hostile bytes (NULs, huge
 * lines, stray quotes) end in an error, never a read past the buffer.
 */
#include "input.h"
#include "forest_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* longest field, so one absurd line cannot ask for unbounded scratch space */
#define CSV_MAX_FIELD  65536

typedef struct {
    const char *p, *end;
    size_t      line;          /* physical line of p, 1-based */
    size_t      record_line;   /* line the current record started on */
    char       *field;         /* current field, unquoted, NUL-terminated */
    size_t      field_len, field_cap;
    const char *name;
    char       *err;
    size_t      errlen;
} csv_cursor;

static int
field_push(csv_cursor *c, char ch)
{
    if (c->field_len + 1 >= c->field_cap) {
        size_t cap = c->field_cap ? c->field_cap * 2 : 64;
        char  *f;

        if (c->field_len + 1 >= CSV_MAX_FIELD) {
            forest_errf(c->err, c->errlen, c->name, "line %zu: field longer "
                "than %d bytes", c->line, CSV_MAX_FIELD);
            return -1;
        }
        f = realloc(c->field, cap);
        if (f == NULL) {
            forest_errf(c->err, c->errlen, c->name, "out of memory");
            return -1;
        }
        c->field = f;
        c->field_cap = cap;
    }
    c->field[c->field_len++] = ch;
    return 0;
}

/* Consumes a line end at p if there is one ("\n", "\r\n" or a lone "\r"). */
static int
eat_line_end(csv_cursor *c)
{
    if (c->p < c->end && *c->p == '\r') {
        c->p++;
        if (c->p < c->end && *c->p == '\n') {
            c->p++;
        }
        c->line++;
        return 1;
    }
    if (c->p < c->end && *c->p == '\n') {
        c->p++;
        c->line++;
        return 1;
    }
    return 0;
}

/* Skips empty lines; 0 when the input is exhausted. */
static int
next_record(csv_cursor *c)
{
    while (eat_line_end(c)) {
        /* blank line */
    }
    c->record_line = c->line;
    return c->p < c->end;
}

/*
 * Reads the field at p into c->field.  *last is set when it was the final
 * field of the record (a line end or the end of input follows; the line end
 * is consumed).
 */
static int
read_field(csv_cursor *c, uint32_t index, int *last)
{
    c->field_len = 0;
    /* blanks before an opening quote are not part of the field */
    const char *q = c->p;

    while (q < c->end && (*q == ' ' || *q == '\t')) {
        q++;
    }
    if (q < c->end && *q == '"') {
        c->p = q + 1;
        for (;;) {
            if (c->p >= c->end) {
                forest_errf(c->err, c->errlen, c->name, "line %zu: field %u: "
                    "unterminated quote", c->record_line, index + 1);
                return -1;
            }
            if (*c->p == '"') {
                if (c->p + 1 < c->end && c->p[1] == '"') {
                    c->p += 2;
                    if (field_push(c, '"') != 0) {
                        return -1;
                    }
                    continue;
                }
                c->p++;
                break;
            }
            if (*c->p == '\n') {
                c->line++;
            }
            if (field_push(c, *c->p++) != 0) {
                return -1;
            }
        }
        while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) {
            c->p++;
        }
        if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
            forest_errf(c->err, c->errlen, c->name, "line %zu: field %u: "
                "unexpected '%c' after a closing quote", c->line, index + 1,
                (*c->p >= 0x20 && *c->p < 0x7f) ? *c->p : '?');
            return -1;
        }
    } else {
        while (c->p < c->end && *c->p != ',' && *c->p != '\n'
               && *c->p != '\r')
        {
            if (field_push(c, *c->p++) != 0) {
                return -1;
            }
        }
    }
    if (field_push(c, '\0') != 0) {
        return -1;
    }
    c->field_len--;
    if (c->p < c->end && *c->p == ',') {
        c->p++;
        *last = 0;
    } else {
        eat_line_end(c);
        *last = 1;
    }
    return 0;
}

/* Trims blanks in place; returns the start of the trimmed text. */
static char *
trim(char *s, size_t *len)
{
    size_t n = *len;

    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        s[--n] = '\0';
    }
    while (*s == ' ' || *s == '\t') {
        s++;
        n--;
    }
    *len = n;
    return s;
}

/* float32 of the field: 0, or -1 when it is not a number.  Empty = NaN. */
static int
parse_value(char *text, size_t len, float *v)
{
    char *end;

    text = trim(text, &len);
    if (len == 0) {
        *v = NAN;
        return 0;
    }
    *v = strtof(text, &end);
    return (end == text + len) ? 0 : -1;
}

/* Quotes a field for an error message: printable ASCII, at most 40 chars. */
static void
describe_field(const char *s, size_t len, char *buf, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 5 < size; i++) {
        unsigned char ch = (unsigned char) s[i];

        if (i == 40) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        buf[o++] = (ch >= 0x20 && ch < 0x7f) ? (char) ch : '?';
    }
    buf[o] = '\0';
}

static void
names_free(char **names, uint32_t n)
{
    if (names == NULL) {
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

static int
read_header(csv_cursor *c, forest_matrix *out)
{
    uint32_t n = 0, cap = 0, numeric = 0;
    int      last = 0;

    if (!next_record(c)) {
        forest_errf(c->err, c->errlen, c->name, "empty input (the first line "
            "must name the columns)");
        return -1;
    }
    while (!last) {
        size_t len;
        char  *text;
        float  v;

        if (n == FOREST_MAX_FEATURES) {
            forest_errf(c->err, c->errlen, c->name, "line %zu: more than %u "
                "columns", c->record_line, FOREST_MAX_FEATURES);
            return -1;
        }
        if (read_field(c, n, &last) != 0) {
            return -1;
        }
        if (n == cap) {
            char **names;

            cap = cap ? cap * 2 : 16;
            names = realloc(out->names, cap * sizeof(char *));
            if (names == NULL) {
                forest_errf(c->err, c->errlen, c->name, "out of memory");
                return -1;
            }
            out->names = names;
        }
        len = c->field_len;
        text = trim(c->field, &len);
        numeric += (len > 0 && parse_value(text, len, &v) == 0);
        out->names[n] = strdup(text);
        if (out->names[n] == NULL) {
            forest_errf(c->err, c->errlen, c->name, "out of memory");
            return -1;
        }
        out->n_cols = ++n;
    }
    if (numeric == n) {
        forest_errf(c->err, c->errlen, c->name, "line %zu: the first line "
            "holds numbers, not column names (a header line is required)",
            c->record_line);
        return -1;
    }
    return 0;
}

static int
read_rows(csv_cursor *c, forest_matrix *out)
{
    size_t cap_rows = 0;
    /* rows beyond this would overflow n_rows * n_cols * sizeof(float) */
    size_t max_rows = SIZE_MAX / 2 / sizeof(float) / out->n_cols;

    while (next_record(c)) {
        float   *row;
        uint32_t k = 0;
        int      last = 0;

        if (out->n_rows == cap_rows) {
            float *v;

            if (cap_rows >= max_rows / 2) {
                forest_errf(c->err, c->errlen, c->name, "line %zu: too many "
                    "rows", c->record_line);
                return -1;
            }
            cap_rows = cap_rows ? cap_rows * 2 : 64;
            v = realloc(out->values, cap_rows * out->n_cols * sizeof(float));
            if (v == NULL) {
                forest_errf(c->err, c->errlen, c->name, "out of memory at "
                    "line %zu", c->record_line);
                return -1;
            }
            out->values = v;
        }
        row = out->values + out->n_rows * out->n_cols;
        while (!last) {
            if (k == out->n_cols) {
                forest_errf(c->err, c->errlen, c->name, "line %zu: more than "
                    "the %u fields of the header", c->record_line,
                    out->n_cols);
                return -1;
            }
            if (read_field(c, k, &last) != 0) {
                return -1;
            }
            if (parse_value(c->field, c->field_len, &row[k]) != 0) {
                char shown[64];

                describe_field(c->field, c->field_len, shown, sizeof(shown));
                forest_errf(c->err, c->errlen, c->name, "line %zu: field %u: "
                    "not a number '%s'", c->record_line, k + 1, shown);
                return -1;
            }
            k++;
        }
        if (k != out->n_cols) {
            forest_errf(c->err, c->errlen, c->name, "line %zu: %u field%s, "
                "the header has %u", c->record_line, k, k == 1 ? "" : "s",
                out->n_cols);
            return -1;
        }
        out->n_rows++;
    }
    return 0;
}

int
forest_csv_parse(const void *data, size_t len, const char *name,
    forest_matrix *out, char *err, size_t errlen)
{
    csv_cursor c;
    int        rc;

    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    c.p = data;
    c.end = c.p + len;
    c.line = 1;
    c.name = name ? name : "input";
    c.err = err;
    c.errlen = errlen;
    /* a UTF-8 byte order mark is not part of the first column's name */
    if (len >= 3 && memcmp(c.p, "\xEF\xBB\xBF", 3) == 0) {
        c.p += 3;
    }
    rc = read_header(&c, out);
    if (rc == 0) {
        rc = read_rows(&c, out);
    }
    free(c.field);
    if (rc != 0) {
        forest_matrix_free(out);
    }
    return rc;
}

void
forest_matrix_free(forest_matrix *mat)
{
    free(mat->values);
    names_free(mat->names, mat->n_cols);
    memset(mat, 0, sizeof(*mat));
}
