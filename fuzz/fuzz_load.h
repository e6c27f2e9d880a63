/*
 * Shared body of the fuzz_load_* targets: load the bytes with one format,
 * and when a model comes back, check it is one forest_validate accepts and
 * run it (reference predictor and CPU executor) on rows that reach every
 * kind of branch, so a loader that lets a bad index through shows up as a
 * sanitizer report rather than passing quietly.
 */
#ifndef FUZZ_LOAD_H
#define FUZZ_LOAD_H

#include "forest.h"
#include "forest_exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ROWS 5
/* wider models are still loaded and validated, only not run */
#define FUZZ_MAX_RUN_FEATURES (1u << 16)

static void
fuzz_fill_rows(float *rows, uint32_t nf, const uint8_t *data, size_t size)
{
    for (uint32_t j = 0; j < nf; j++) {
        rows[j] = NAN;
        rows[nf + j] = 0.0f;
        rows[2 * nf + j] = (j % 2) ? 1e30f : -1e30f;
        rows[3 * nf + j] = (float) (j % 70);          /* category codes */
        rows[4 * nf + j] = size ? (float) data[j % size] - 64.0f : 1.0f;
    }
}

static void
fuzz_run_model(const forest_model *m, const uint8_t *data, size_t size)
{
    uint32_t         nf = m->n_features, cols = m->n_outputs;
    float           *rows, *out;
    forest_executor *ex;
    char             err[FOREST_ERR_LEN];

    if (nf > FUZZ_MAX_RUN_FEATURES) {
        return;
    }
    rows = malloc((size_t) FUZZ_ROWS * nf * sizeof(float));
    out = malloc((size_t) FUZZ_ROWS * cols * sizeof(float));
    if (rows == NULL || out == NULL) {
        free(rows);
        free(out);
        return;
    }
    fuzz_fill_rows(rows, nf, data, size);
    for (int r = 0; r < FUZZ_ROWS; r++) {
        forest_predict_row_reference(m, rows + (size_t) r * nf, 1, out);
        forest_predict_row_reference(m, rows + (size_t) r * nf, 0, out);
    }
    ex = forest_cpu_executor_create(m, 1, err, sizeof(err));
    if (ex != NULL) {
        forest_executor_predict(ex, rows, FUZZ_ROWS, 0, out, err, sizeof(err));
        forest_executor_predict(ex, rows, FUZZ_ROWS, 1, out, err, sizeof(err));
        forest_executor_destroy(ex);
    }
    free(rows);
    free(out);
}

static int
fuzz_load(const uint8_t *data, size_t size, forest_format format)
{
    char          err[FOREST_ERR_LEN] = "";
    uint8_t      *copy;
    forest_model *m;

    /* forest_load() hands loaders a NUL after the bytes; do the same, and
     * free the copy first so a model pointing into it is caught */
    copy = malloc(size + 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    m = forest_load_buffer(copy, size, format, "fuzz", err, sizeof(err));
    free(copy);
    if (m == NULL) {
        if (err[0] == '\0') {
            fprintf(stderr, "loader failed without an error message\n");
            abort();
        }
        return 0;
    }
    if (forest_validate(m, err, sizeof(err)) != 0) {
        fprintf(stderr, "loader returned a model that does not validate: "
            "%s\n", err);
        abort();
    }
    fuzz_run_model(m, data, size);
    forest_free(m);
    return 0;
}

#endif /* FUZZ_LOAD_H */
