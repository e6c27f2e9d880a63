/*
 * Tree selection by boosting round and base_margin against XGBoost's own
 * outputs (tests/reference/rounds, scripts/make_rounds_reference.py):
 * an early-stopped model (3 classes, 2 parallel trees) with trees=all, best
 * and 2 rounds against Booster.predict, XGBClassifier.predict_proba and
 * iteration_range; base_margin on a binary, a regression and a multiclass
 * model, as predictions, margins and TreeSHAP biases.  And the refusals.
 */
#include "check.h"
#include "reference.h"
#include "treeshap.h"

#define ROUNDS_REF "tests/reference/rounds/"

static forest_model *
load(const char *path, uint32_t trees)
{
    char          err[FOREST_ERR_LEN];
    forest_model *m = forest_load(path, FOREST_FORMAT_AUTO, err, sizeof(err));

    if (m != NULL && forest_select_rounds(m, trees, path, err, sizeof(err))
                     != 0)
    {
        forest_free(m);
        m = NULL;
    }
    if (m == NULL) {
        fprintf(stderr, "%s\n", err);
    }
    return m;
}

static void
check_rounds(const char *model, uint32_t trees, const char *want_csv,
    unsigned what, uint32_t want_trees)
{
    forest_model  *m = load(model, trees);
    forest_matrix  in, want;

    CHECK(m != NULL);
    if (m == NULL) {
        return;
    }
    CHECK(m->n_trees == want_trees);
    CHECK(m->best_rounds == 8 && m->trees_per_round == 6);
    if (ref_read_csv(ROUNDS_REF "xgb_early.input.csv", &in) == 0
        && ref_read_csv(want_csv, &want) == 0)
    {
        CHECK(ref_compare(m, &in, &want, what, want_csv) == 0);
        forest_matrix_free(&want);
    } else {
        CHECK(0);
    }
    forest_matrix_free(&in);
    forest_free(m);
}

static void
test_rounds(void)
{
    static const char *files[] = { ROUNDS_REF "xgb_early.json",
                                   ROUNDS_REF "xgb_early.ubj" };

    for (size_t i = 0; i < 2; i++) {
        check_rounds(files[i], FOREST_TREES_ALL, ROUNDS_REF "xgb_early.all.csv",
            REF_PROBS, 72);
        check_rounds(files[i], FOREST_TREES_BEST,
            ROUNDS_REF "xgb_early.best.csv", REF_PROBS, 48);
        check_rounds(files[i], FOREST_TREES_BEST,
            ROUNDS_REF "xgb_early.best.margin.csv", REF_MARGIN, 48);
        check_rounds(files[i], 2, ROUNDS_REF "xgb_early.r2.csv", REF_PROBS, 12);
    }
}

static void
test_refusals(void)
{
    char          err[FOREST_ERR_LEN];
    uint32_t      n = 0;
    forest_model *m;

    CHECK(forest_trees_parse("all", 3, &n) == 0 && n == FOREST_TREES_ALL);
    CHECK(forest_trees_parse("best", 4, &n) == 0 && n == FOREST_TREES_BEST);
    CHECK(forest_trees_parse("12", 2, &n) == 0 && n == 12);
    CHECK(forest_trees_parse("0", 1, &n) != 0);
    CHECK(forest_trees_parse("-1", 2, &n) != 0);
    CHECK(forest_trees_parse("4294967295", 10, &n) != 0);
    CHECK(forest_trees_parse("", 0, &n) != 0);

    m = forest_load(ROUNDS_REF "xgb_early.json", FOREST_FORMAT_AUTO, err,
                    sizeof(err));
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK(forest_select_rounds(m, 13, "early", err, sizeof(err)) != 0
              && strstr(err, "13 rounds asked, the model has 12") != NULL);
        CHECK(m->n_trees == 72);
        CHECK(forest_select_rounds(m, 12, "early", err, sizeof(err)) == 0
              && m->n_trees == 72);
        forest_free(m);
    }
    /* no best_iteration; no rounds known (LightGBM) */
    m = forest_load("tests/models/xgb3_aft.json", FOREST_FORMAT_AUTO,
                    err, sizeof(err));
    CHECK(m != NULL && m->best_rounds == 0);
    if (m != NULL) {
        CHECK(forest_select_rounds(m, FOREST_TREES_BEST, "aft", err,
                                   sizeof(err)) != 0
              && strstr(err, "aft: trees=best") != NULL);
        forest_free(m);
    }
    /* XGBoost 1.7's random forest: 4 parallel trees a round, 2 rounds */
    m = forest_load("tests/models/xgb17_rf.json", FOREST_FORMAT_AUTO, err,
                    sizeof(err));
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK(m->trees_per_round == 4 && m->best_rounds == 2
              && m->n_trees == 8);
        CHECK(forest_select_rounds(m, 1, "rf", err, sizeof(err)) == 0
              && m->n_trees == 4);
        forest_free(m);
    }
    m = forest_load("tests/reference/models/lgb_binary.txt",
                    FOREST_FORMAT_AUTO, err, sizeof(err));
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK(forest_select_rounds(m, 1, "lgb", err, sizeof(err)) != 0);
        CHECK(forest_select_rounds(m, FOREST_TREES_ALL, "lgb", err,
                                   sizeof(err)) == 0);
        forest_free(m);
    }
    /* the legacy binary file keeps its attributes too */
    m = forest_load("tests/reference/models/xgb_binary.model",
                    FOREST_FORMAT_AUTO, err, sizeof(err));
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK(m->trees_per_round == 1 && m->best_rounds == 100);
        forest_free(m);
    }
}

static size_t
count_bad(const float *got, const forest_matrix *want, int probs,
    const char *name)
{
    size_t bad = 0;

    for (size_t i = 0; i < want->n_rows * want->n_cols; i++) {
        if (!ref_close(got[i], want->values[i], probs) && bad++ < 3) {
            fprintf(stderr, "%s value %zu: got %.9g want %.9g\n", name, i,
                (double) got[i], (double) want->values[i]);
        }
    }
    return bad;
}

static void
check_base_margin(const char *name)
{
    char           path[256], err[FOREST_ERR_LEN];
    forest_model  *m;
    forest_shap   *s;
    forest_matrix  in, bm, want_p, want_m, want_c;
    float         *margins, *out, *contribs;
    uint32_t       cols;

    snprintf(path, sizeof(path), "tests/reference/models/%s.json", name);
    m = load(path, FOREST_TREES_ALL);
    CHECK(m != NULL);
    if (m == NULL) {
        return;
    }
#define READ(what, mat) \
    (snprintf(path, sizeof(path), ROUNDS_REF "%s.%s.csv", name, what), \
     ref_read_csv(path, mat))
    if (READ("input", &in) != 0 || READ("base_margin", &bm) != 0
        || READ("bm.expected", &want_p) != 0 || READ("bm.margin", &want_m) != 0
        || READ("bm.contribs", &want_c) != 0)
    {
        CHECK(0);
        forest_free(m);
        return;
    }
#undef READ
    cols = forest_output_columns(m, 0);
    CHECK(bm.n_cols == m->n_outputs && want_m.n_cols == m->n_outputs);
    CHECK(want_p.n_cols == cols);
    margins = malloc(in.n_rows * m->n_outputs * sizeof(float));
    out = malloc(in.n_rows * cols * sizeof(float));
    s = forest_shap_new(m, err, sizeof(err));
    contribs = s ? malloc(in.n_rows * forest_shap_row_values(s)
                          * sizeof(float)) : NULL;
    CHECK(margins != NULL && out != NULL && contribs != NULL);
    if (margins != NULL && out != NULL && contribs != NULL
        && bm.n_cols == m->n_outputs && want_p.n_cols == cols
        && want_c.n_cols == forest_shap_row_values(s))
    {
        for (size_t r = 0; r < in.n_rows; r++) {
            forest_predict_row_reference(m, in.values + r * in.n_cols, 1,
                margins + r * m->n_outputs);
        }
        forest_rebase_margins(m, bm.values, in.n_rows, margins, 0, out);
        CHECK(count_bad(out, &want_p, 1, name) == 0);
        forest_rebase_margins(m, bm.values, in.n_rows, margins, 1, margins);
        CHECK(count_bad(margins, &want_m, 0, name) == 0);
        CHECK(forest_shap_run(s, in.values, in.n_rows, contribs) == 0);
        forest_rebase_contribs(m, bm.values, in.n_rows, contribs);
        CHECK(count_bad(contribs, &want_c, 0, name) == 0);
    } else {
        CHECK(0);
    }
    free(margins);
    free(out);
    free(contribs);
    forest_shap_free(s);
    forest_matrix_free(&in);
    forest_matrix_free(&bm);
    forest_matrix_free(&want_p);
    forest_matrix_free(&want_m);
    forest_matrix_free(&want_c);
    forest_free(m);
}

int
main(void)
{
    test_rounds();
    test_refusals();
    check_base_margin("xgb_binary");
    check_base_margin("xgb_reg");
    check_base_margin("xgb_multiclass");
    return check_summary();
}
