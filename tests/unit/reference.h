/* Shared by the loader tests (test_xgboost.c, test_lightgbm.c,
 * test_treelite.c): reading a model file, reading a library's recorded
 * outputs, and holding a model's outputs against them under one tolerance. */
#ifndef REFERENCE_H
#define REFERENCE_H

#include "forest.h"
#include "input.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole file with a NUL after it (not counted in *len), or NULL. */
static inline char *
ref_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long  n;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0
        && fseek(f, 0, SEEK_SET) == 0
        && (buf = malloc((size_t) n + 1)) != NULL)
    {
        if (fread(buf, 1, (size_t) n, f) == (size_t) n) {
            buf[n] = '\0';
            *len = (size_t) n;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

static inline int
ref_exists(const char *path)
{
    FILE *f = fopen(path, "rb");

    if (f != NULL) {
        fclose(f);
    }
    return f != NULL;
}

/* A recorded CSV (input rows, outputs or margins), read by the library's own
 * reader, which test_input_csv.c checks on its own: the tests then hold the
 * loaders to the library's outputs and not to a second parser.  0, or -1
 * with the reason on stderr. */
static inline int
ref_read_csv(const char *path, forest_matrix *mat)
{
    char err[FOREST_ERR_LEN];

    if (forest_input_load(path, 0, mat, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

/* What a recorded CSV holds. */
enum {
    REF_MARGIN = 1,      /* margins, before the postprocessor */
    REF_PROBS = 2,       /* probabilities: an absolute tolerance */
    REF_UNAVERAGED = 4   /* margins not divided by average_divisor, as
                            LightGBM's raw_score of average_output models */
};

/* A probability within 1e-5, anything else within 1e-4 relative (of at
 * least 1): float32 sums in another order than the library's. */
static inline int
ref_close(double got, double want, int probs)
{
    if (isnan(got) || isnan(want)) {
        return isnan(got) && isnan(want);
    }
    return fabs(got - want) <= (probs ? 1e-5 : 1e-4 * fmax(1.0, fabs(want)));
}

/* Every row of `in` through the reference predictor against `want`; returns
 * the number of mismatching cells (a wrong shape of either counts as one)
 * and prints the first three.  A one-column `want` of a two-column model holds
 * P(class 1) only, as scikit-learn's binary classifiers record it. */
static inline size_t
ref_compare(const forest_model *m, const forest_matrix *in,
    const forest_matrix *want, unsigned what, const char *name)
{
    int      margin = (what & REF_MARGIN) != 0;
    uint32_t cols = forest_output_columns(m, margin);
    uint32_t skip = want->n_cols == 1 && cols == 2;
    float   *out = malloc(cols * sizeof(float));
    size_t   bad = 0;

    if (out == NULL || in->n_cols != m->n_features
        || want->n_rows != in->n_rows || want->n_cols + skip != cols)
    {
        fprintf(stderr, "%s: %zu x %u recorded for %zu x %u inputs, the "
            "model reads %u features and gives %u columns\n", name,
            want->n_rows, want->n_cols, in->n_rows, in->n_cols,
            m->n_features, cols);
        free(out);
        return 1;
    }
    for (size_t r = 0; r < in->n_rows; r++) {
        forest_predict_row_reference(m, in->values + r * in->n_cols, margin,
            out);
        for (uint32_t k = 0; (what & REF_UNAVERAGED) && k < cols; k++) {
            out[k] = (float) ((out[k] - m->base_score[k])
                              * m->average_divisor[k] + m->base_score[k]);
        }
        for (uint32_t c = 0; c < want->n_cols; c++) {
            double got = out[c + skip], w = want->values[r * want->n_cols + c];

            if (!ref_close(got, w, (what & REF_PROBS) != 0)) {
                if (bad++ < 3) {
                    fprintf(stderr, "%s row %zu col %u: got %.9g want "
                        "%.9g\n", name, r, c, got, w);
                }
            }
        }
    }
    free(out);
    return bad;
}

/* Whether a recorded CSV's header names probabilities (prob0, prob1, ...). */
static inline int
ref_is_probs(const forest_matrix *mat)
{
    return mat->names != NULL && mat->n_cols > 0
           && strncmp(mat->names[0], "prob", 4) == 0;
}

/* Contributions and interactions (tests/reference/shap, issue 13's
 * tolerance): 1e-5 absolute + 1e-5 relative. */
#define REF_SHAP_DIR "tests/reference/shap/"

static inline int
ref_shap_close(double got, double want)
{
    return fabs(got - want) <= 1e-5 + 1e-5 * fabs(want);
}

/* stem.what.csv of REF_SHAP_DIR (what: contribs, input, interactions...) */
static inline int
ref_shap_load(const char *stem, const char *what, forest_matrix *mat)
{
    char path[256];

    snprintf(path, sizeof(path), REF_SHAP_DIR "%s.%s.csv", stem, what);
    return ref_read_csv(path, mat);
}

#endif
