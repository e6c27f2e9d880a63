/*
 * Input rows for the CLI and tests: CSV text with a header line, or raw
 * little-endian float32 (.f32).  Plain C11, no NGINX types.
 */
#ifndef FOREST_INPUT_H
#define FOREST_INPUT_H

#include "forest.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A row-major float32 matrix; NaN = missing. */
typedef struct {
    float    *values;       /* n_rows * n_cols */
    size_t    n_rows;
    uint32_t  n_cols;
    char    **names;        /* n_cols column names from a CSV header, or NULL */
} forest_matrix;

/*
 * CSV: the first line names the columns; every other line is one row with
 * exactly as many fields.  Fields are float32 (strtof) with optional blanks
 * around them; an empty field or NaN/nan is missing.  "..." quoting (with ""
 * for a quote), CRLF line ends and blank lines are accepted.  On failure
 * returns -1 with "name: line L: field F: reason" in err and out zeroed.
 */
int forest_csv_parse(const void *data, size_t len, const char *name,
    forest_matrix *out, char *err, size_t errlen);

/* Raw little-endian float32, n_cols values per row; len must be a multiple
 * of 4 * n_cols. */
int forest_f32_parse(const void *data, size_t len, uint32_t n_cols,
    const char *name, forest_matrix *out, char *err, size_t errlen);

/*
 * Reads a file ("-" is stdin): raw float32 when the name ends in ".f32"
 * (n_cols must then be > 0), CSV otherwise.
 */
int forest_input_load(const char *path, uint32_t n_cols, forest_matrix *out,
    char *err, size_t errlen);

/*
 * Arranges the columns for the model in place: by name when the model names
 * its features and the header has every one of them (other columns are
 * dropped), else by position, which needs exactly n_features columns.
 */
int forest_matrix_for_model(forest_matrix *mat, const forest_model *m,
    const char *name, char *err, size_t errlen);

void forest_matrix_free(forest_matrix *mat);

#ifdef __cplusplus
}
#endif

#endif /* FOREST_INPUT_H */
