/*
 * Input rows besides CSV parsing: raw float32 files, reading a file or stdin,
 * and arranging the columns the way a model expects them.
 */
#include "bytes.h"
#include "input.h"
#include "forest_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
forest_f32_parse(const void *data, size_t len, uint32_t n_cols,
    const char *name, forest_matrix *out, char *err, size_t errlen)
{
    const uint8_t *p = data;
    size_t         n;

    memset(out, 0, sizeof(*out));
    name = name ? name : "input";
    if (n_cols == 0 || n_cols > FOREST_MAX_FEATURES) {
        forest_errf(err, errlen, name, "raw float32 input needs the number of "
            "features per row (1..%u), got %u", FOREST_MAX_FEATURES, n_cols);
        return -1;
    }
    if (len % ((size_t) n_cols * 4) != 0) {
        forest_errf(err, errlen, name, "size %zu bytes is not a multiple of "
            "%u features x 4 bytes", len, n_cols);
        return -1;
    }
    n = len / 4;
    out->values = malloc(n ? n * sizeof(float) : 1);
    if (out->values == NULL) {
        forest_errf(err, errlen, name, "out of memory for %zu values", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        out->values[i] = forest_le_f32(p + 4 * i);
    }
    out->n_rows = len / ((size_t) n_cols * 4);
    out->n_cols = n_cols;
    return 0;
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Whole stream into memory (works for pipes, where the size is unknown). */
static char *
read_stream(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char  *buf = malloc(cap), *b;

    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) {
            if (ferror(f)) {
                break;
            }
            *len = n;
            return buf;
        }
        cap *= 2;
        b = realloc(buf, cap);
        if (b == NULL) {
            break;
        }
        buf = b;
    }
    free(buf);
    return NULL;
}

int
forest_input_load(const char *path, uint32_t n_cols, forest_matrix *out,
    char *err, size_t errlen)
{
    FILE  *f;
    char  *buf;
    size_t len = 0;
    int    rc, is_stdin = strcmp(path, "-") == 0;

    memset(out, 0, sizeof(*out));
    f = is_stdin ? stdin : fopen(path, "rb");
    if (f == NULL) {
        forest_errf(err, errlen, path, "cannot open: %s", strerror(errno));
        return -1;
    }
    errno = 0;
    buf = read_stream(f, &len);
    if (buf == NULL) {
        forest_errf(err, errlen, path, "cannot read: %s",
            errno ? strerror(errno) : "out of memory");
    }
    if (!is_stdin) {
        fclose(f);
    }
    if (buf == NULL) {
        return -1;
    }
    if (ends_with(path, ".f32")) {
        rc = forest_f32_parse(buf, len, n_cols, path, out, err, errlen);
    } else {
        rc = forest_csv_parse(buf, len, path, out, err, errlen);
    }
    free(buf);
    return rc;
}

static int
find_name(char *const *names, uint32_t n, const char *want)
{
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(names[i], want) == 0) {
            return (int) i;
        }
    }
    return -1;
}

/* Column of each model feature in the header, or -1 when one is absent. */
static int
match_by_name(const forest_matrix *mat, const forest_model *m, uint32_t *col)
{
    if (mat->names == NULL || m->feature_names == NULL) {
        return -1;
    }
    for (uint32_t j = 0; j < m->n_features; j++) {
        int c;

        if (m->feature_names[j] == NULL) {
            return -1;
        }
        c = find_name(mat->names, mat->n_cols, m->feature_names[j]);
        if (c < 0) {
            return -1;
        }
        col[j] = (uint32_t) c;
    }
    return 0;
}

int
forest_matrix_for_model(forest_matrix *mat, const forest_model *m,
    const char *name, char *err, size_t errlen)
{
    uint32_t *col;
    float    *v;
    uint32_t  nf = m->n_features;
    int       identity = 1;

    name = name ? name : "input";
    col = malloc(nf * sizeof(uint32_t));
    if (col == NULL) {
        forest_errf(err, errlen, name, "out of memory");
        return -1;
    }
    if (match_by_name(mat, m, col) != 0) {
        if (mat->n_cols != nf) {
            forest_errf(err, errlen, name, "%u columns, but the model has %u "
                "features%s", mat->n_cols, nf,
                m->feature_names && mat->names
                    ? " (and the header does not name all of them)" : "");
            free(col);
            return -1;
        }
        for (uint32_t j = 0; j < nf; j++) {
            col[j] = j;
        }
    }
    for (uint32_t j = 0; j < nf; j++) {
        identity &= (col[j] == j);
    }
    if (identity && mat->n_cols == nf) {
        free(col);
        return 0;
    }
    if (mat->n_rows > SIZE_MAX / sizeof(float) / nf) {
        forest_errf(err, errlen, name, "too many rows");
        free(col);
        return -1;
    }
    v = malloc(mat->n_rows * nf * sizeof(float) + 1);
    if (v == NULL) {
        forest_errf(err, errlen, name, "out of memory");
        free(col);
        return -1;
    }
    for (size_t r = 0; r < mat->n_rows; r++) {
        for (uint32_t j = 0; j < nf; j++) {
            v[r * nf + j] = mat->values[r * mat->n_cols + col[j]];
        }
    }
    free(mat->values);
    mat->values = v;
    /* reordering happens only by name, so the model's names now apply */
    for (uint32_t i = 0; i < mat->n_cols; i++) {
        free(mat->names[i]);
    }
    free(mat->names);
    mat->names = NULL;
    mat->n_cols = nf;
    free(col);
    return 0;
}
