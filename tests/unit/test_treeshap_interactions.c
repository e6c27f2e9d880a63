/*
 * SHAP interaction values against the libraries' own
 * (tests/reference/shap/NAME.interactions.csv, written by
 * scripts/make_shap_reference.py):
 * XGBoost pred_interactions for a binary, a multiclass and a categorical
 * model (rows with missing values) and shap's shap_interaction_values for
 * a LightGBM model (rows without: see the script), within 1e-5 absolute +
 * 1e-5 relative per value.
 * Then, on models without a recorded reference (vector leaves, averaged
 * forests): each matrix is symmetric and its rows add up to the row's
 * contributions.  A base_margin moves the bias corner only, by its
 * difference to base_score.
 */
#include "check.h"
#include "reference.h"
#include "treeshap_interactions.h"


static const struct {
    const char *model;
    const char *ref;          /* stem in tests/reference/shap, or NULL */
} cases[] = {
    { "tests/reference/models/xgb_binary.json", "xgb_binary" },
    { "tests/reference/models/xgb_multiclass.ubj", "xgb_multiclass" },
    { "tests/reference/models/xgb_cat.json", "xgb_cat" },
    { "tests/reference/models/lgb_binary.txt", "lgb_binary" },
    { "tests/models/skl_rf_multi.treelite", NULL },
    { "tests/models/skl_gbdt.treelite", NULL },
    { "tests/reference/models/lgb_multiclass.txt", NULL },
};

/* rows checked where no reference is recorded */
#define PROPERTY_ROWS 8

static size_t
check_values(const float *out, const forest_matrix *want, size_t per,
    const char *name)
{
    size_t bad = 0;

    for (size_t i = 0; i < want->n_rows * per; i++) {
        if (!ref_shap_close(out[i], want->values[i]) && bad++ < 3) {
            fprintf(stderr, "%s row %zu value %zu: got %.9g want %.9g\n",
                name, i / per, i % per, out[i], want->values[i]);
        }
    }
    return bad;
}

/* Symmetric, and each matrix row adds up to that feature's contribution
 * (the bias row to the bias). */
static size_t
check_properties(const forest_shap *s, const forest_model *m,
    const float *rows, size_t n, const float *out, const char *name)
{
    size_t  cols = m->n_features + 1, per = forest_shap_row_values(s);
    size_t  bad = 0;
    float  *c = malloc(n * per * sizeof(float));

    if (c == NULL || forest_shap_run(s, rows, n, c) != 0) {
        free(c);
        return 1;
    }
    for (size_t r = 0; r < n; r++) {
        for (size_t k = 0; k < m->n_outputs; k++) {
            const float *v = out + (r * m->n_outputs + k) * cols * cols;

            for (size_t i = 0; i < cols; i++) {
                double sum = 0.0;

                for (size_t j = 0; j < cols; j++) {
                    sum += v[i * cols + j];
                    if (v[i * cols + j] != v[j * cols + i]) {
                        bad++;
                    }
                }
                if (!ref_shap_close(sum, c[r * per + k * cols + i])
                    && bad++ < 3)
                {
                    fprintf(stderr, "%s row %zu output %zu feature %zu: "
                        "sum %.9g contribution %.9g\n", name, r, k, i, sum,
                        c[r * per + k * cols + i]);
                }
            }
        }
    }
    free(c);
    return bad;
}

static void
check_model(const forest_model *m, const forest_matrix *in, const char *ref,
    const char *name)
{
    char           err[FOREST_ERR_LEN];
    forest_shap   *s = forest_shap_new(m, err, sizeof(err));
    forest_matrix  want;
    size_t         per = forest_shap_interactions_row_values(m);
    size_t         n = PROPERTY_ROWS;
    float         *out;

    CHECK(s != NULL);
    if (s == NULL) {
        fprintf(stderr, "%s: %s\n", name, err);
        return;
    }
    if (ref != NULL) {
        if (ref_shap_load(ref, "interactions", &want) != 0) {
            CHECK(!"interactions reference readable");
            forest_shap_free(s);
            return;
        }
        CHECK(want.n_cols == per);
        n = want.n_cols == per ? want.n_rows : 0;
    }
    out = malloc((n ? n : 1) * per * sizeof(float));
    CHECK(out != NULL && n > 0 && n <= in->n_rows);
    if (out != NULL && n > 0 && n <= in->n_rows) {
        CHECK(forest_shap_interactions(s, m, in->values, n, out) == 0);
        if (ref != NULL) {
            CHECK(check_values(out, &want, per, name) == 0);
        }
        CHECK(check_properties(s, m, in->values, n, out, name) == 0);
    }
    if (ref != NULL) {
        forest_matrix_free(&want);
    }
    free(out);
    forest_shap_free(s);
}

static void
test_models(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char           err[FOREST_ERR_LEN], stem[128];
        const char    *base = strrchr(cases[i].model, '/') + 1;
        forest_model  *m;
        forest_matrix  in;

        m = forest_load(cases[i].model, FOREST_FORMAT_AUTO, err, sizeof(err));
        CHECK(m != NULL);
        if (m == NULL) {
            fprintf(stderr, "%s\n", err);
            continue;
        }
        snprintf(stem, sizeof(stem), "%.*s",
            (int) (strchr(base, '.') - base), base);
        if (ref_shap_load(stem, cases[i].ref ? "interactions.input" : "input",
                     &in) != 0)
        {
            CHECK(!"input readable");
            forest_free(m);
            continue;
        }
        CHECK(in.n_cols == m->n_features);
        if (in.n_cols == m->n_features) {
            check_model(m, &in, cases[i].ref, cases[i].model);
        }
        forest_matrix_free(&in);
        forest_free(m);
    }
}

static void
test_rebase(void)
{
    char           err[FOREST_ERR_LEN];
    forest_model  *m;
    forest_shap   *s;
    forest_matrix  in;
    float         *a, *b;
    size_t         per, bad = 0;

    m = forest_load("tests/reference/models/xgb_multiclass.json",
                    FOREST_FORMAT_AUTO, err, sizeof(err));
    CHECK(m != NULL && m->n_outputs == 4);
    if (m == NULL || m->n_outputs != 4) {
        forest_free(m);
        return;
    }
    s = forest_shap_new(m, err, sizeof(err));
    per = forest_shap_interactions_row_values(m);
    a = malloc(2 * per * sizeof(float));
    b = malloc(2 * per * sizeof(float));
    if (s != NULL && a != NULL && b != NULL
        && ref_shap_load("xgb_multiclass", "input", &in) == 0)
    {
        float margins[8];

        for (size_t k = 0; k < 8; k++) {
            margins[k] = (float) m->base_score[k % 4] + (float) k;
        }
        CHECK(forest_shap_interactions(s, m, in.values, 2, a) == 0);
        memcpy(b, a, 2 * per * sizeof(float));
        forest_rebase_interactions(m, margins, 2, b);
        for (size_t i = 0; i < 2 * per; i++) {
            size_t cols = m->n_features + 1, at = i % (cols * cols);
            double want = a[i];

            if (at == cols * cols - 1) {
                want += (double) margins[i / (cols * cols)]
                        - m->base_score[(i / (cols * cols)) % 4];
            }
            bad += !ref_shap_close(b[i], want);
        }
        CHECK(bad == 0);
        forest_matrix_free(&in);
    } else {
        CHECK(!"model, covers, memory and input");
    }
    free(a);
    free(b);
    forest_shap_free(s);
    forest_free(m);
}

int
main(void)
{
    test_models();
    test_rebase();
    return check_summary();
}
