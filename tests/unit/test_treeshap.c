/*
 * TreeSHAP contributions and leaf indices of every reference model against
 * the libraries' own (tests/reference/shap, scripts/make_shap_reference.py):
 * XGBoost pred_contribs / pred_leaf, LightGBM pred_contrib / pred_leaf and
 * shap's TreeExplainer for the scikit-learn estimators, within 1e-5
 * absolute + 1e-5 relative per value; rows with missing values and
 * categorical splits included, with the vector code this CPU runs and the
 * generic one (FOREST_SIMD=scalar).  Also: a model without covers is
 * refused.
 */
#include "check.h"
#include "reference.h"
#include "treeshap.h"


static const struct {
    const char *model;       /* path of the model file */
    const char *ref;         /* stem in tests/reference/shap */
    int         leaf;        /* leaf.csv recorded (XGBoost, LightGBM) */
} cases[] = {
    { "tests/reference/models/xgb_binary.json", "xgb_binary", 1 },
    { "tests/reference/models/xgb_binary.ubj", "xgb_binary", 1 },
    { "tests/reference/models/xgb_binary.model", "xgb_binary", 1 },
    { "tests/reference/models/xgb_reg.json", "xgb_reg", 1 },
    { "tests/reference/models/xgb_multiclass.json", "xgb_multiclass", 1 },
    { "tests/reference/models/xgb_multiclass.ubj", "xgb_multiclass", 1 },
    { "tests/reference/models/xgb_cat.json", "xgb_cat", 1 },
    { "tests/reference/models/lgb_binary.txt", "lgb_binary", 1 },
    { "tests/reference/models/lgb_multiclass.txt", "lgb_multiclass", 1 },
    { "tests/reference/models/lgb_cat.txt", "lgb_cat", 1 },
    { "tests/reference/models/lgb_reg.txt", "lgb_reg", 1 },
    { "tests/reference/models/tl_xgb_binary.treelite", "tl_xgb_binary", 0 },
    { "tests/reference/models/tl_lgb_binary.treelite", "tl_lgb_binary", 0 },
    { "tests/models/skl_rf_clf.treelite", "skl_rf_clf", 0 },
    { "tests/models/skl_rf_multi.treelite", "skl_rf_multi", 0 },
    { "tests/models/skl_rf_reg.treelite", "skl_rf_reg", 0 },
    { "tests/models/skl_gbdt.treelite", "skl_gbdt", 0 },
    { "tests/models/skl_et.treelite", "skl_et", 0 },
};

/* The recorded contributions of a scikit-learn binary classifier hold both
 * classes; a one-output model's are those of class 1. */
static void
check_contribs(const forest_model *m, const forest_matrix *in,
    const forest_matrix *want, const char *name)
{
    char         err[FOREST_ERR_LEN];
    forest_shap *s = forest_shap_new(m, err, sizeof(err));
    size_t       per, bad = 0, skip;
    float       *out;

    CHECK(s != NULL);
    if (s == NULL) {
        fprintf(stderr, "%s: %s\n", name, err);
        return;
    }
    per = forest_shap_row_values(s);
    skip = want->n_cols == 2 * per ? per : 0;
    CHECK(want->n_cols == per + skip && want->n_rows == in->n_rows);
    out = malloc(in->n_rows * per * sizeof(float));
    CHECK(out != NULL);
    if (out == NULL || want->n_cols != per + skip) {
        fprintf(stderr, "%s: %u recorded values per row, %zu computed\n",
            name, want->n_cols, per);
        free(out);
        forest_shap_free(s);
        return;
    }
    CHECK(forest_shap_run(s, in->values, in->n_rows, out) == 0);
    for (size_t r = 0; r < in->n_rows; r++) {
        for (size_t c = 0; c < per; c++) {
            double got = out[r * per + c];
            double w = want->values[r * want->n_cols + skip + c];

            if (!ref_shap_close(got, w) && bad++ < 3) {
                fprintf(stderr, "%s row %zu value %zu: got %.9g want %.9g\n",
                    name, r, c, got, w);
            }
        }
    }
    CHECK(bad == 0);
    if (bad != 0) {
        fprintf(stderr, "%s: %zu contributions differ\n", name, bad);
    }
    free(out);
    forest_shap_free(s);
}

static void
check_leaves(const forest_model *m, const forest_matrix *in,
    const forest_matrix *want, const char *name)
{
    int32_t *out = malloc(in->n_rows * m->n_trees * sizeof(int32_t));
    size_t   bad = 0;

    CHECK(out != NULL && want->n_cols == m->n_trees);
    if (out == NULL || want->n_cols != m->n_trees) {
        free(out);
        return;
    }
    forest_leaf_index(m, in->values, in->n_rows, out);
    for (size_t i = 0; i < in->n_rows * m->n_trees; i++) {
        if ((float) out[i] != want->values[i] && bad++ < 3) {
            fprintf(stderr, "%s row %zu tree %zu: leaf %d want %g\n", name,
                i / m->n_trees, i % m->n_trees, out[i], want->values[i]);
        }
    }
    CHECK(bad == 0);
    free(out);
}

static void
test_references(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char           err[FOREST_ERR_LEN];
        forest_model  *m;
        forest_matrix  in, contribs, leaves;

        m = forest_load(cases[i].model, FOREST_FORMAT_AUTO, err, sizeof(err));
        CHECK(m != NULL);
        if (m == NULL) {
            fprintf(stderr, "%s\n", err);
            continue;
        }
        if (ref_shap_load(cases[i].ref, "input", &in) != 0
            || ref_shap_load(cases[i].ref, "contribs", &contribs) != 0)
        {
            CHECK(!"reference files readable");
            forest_free(m);
            continue;
        }
        CHECK(in.n_cols == m->n_features);
        if (in.n_cols == m->n_features) {
            check_contribs(m, &in, &contribs, cases[i].model);
            if (cases[i].leaf && ref_shap_load(cases[i].ref, "leaf", &leaves) == 0)
            {
                check_leaves(m, &in, &leaves, cases[i].model);
                forest_matrix_free(&leaves);
            } else {
                CHECK(!cases[i].leaf);
            }
        }
        forest_matrix_free(&in);
        forest_matrix_free(&contribs);
        forest_free(m);
    }
}

/* A model whose file has no covers (the JSON without sum_hessian) loads,
 * predicts, and refuses contributions saying why. */
static void
test_no_cover(void)
{
    static const char json[] =
        "{\"learner\":{\"attributes\":{},\"feature_names\":[],"
        "\"feature_types\":[],\"gradient_booster\":{\"model\":{"
        "\"gbtree_model_param\":{\"num_parallel_tree\":\"1\","
        "\"num_trees\":\"1\"},\"tree_info\":[0],\"trees\":[{"
        "\"base_weights\":[0,0,0],\"categories\":[],"
        "\"categories_nodes\":[],\"categories_segments\":[],"
        "\"categories_sizes\":[],\"default_left\":[1,0,0],\"id\":0,"
        "\"left_children\":[1,-1,-1],\"loss_changes\":[0,0,0],"
        "\"parents\":[2147483647,0,0],\"right_children\":[2,-1,-1],"
        "\"split_conditions\":[0.5,-1,1],\"split_indices\":[0,0,0],"
        "\"split_type\":[0,0,0],\"tree_param\":{\"num_deleted\":\"0\","
        "\"num_feature\":\"1\",\"num_nodes\":\"3\","
        "\"size_leaf_vector\":\"1\"}}]},\"name\":\"gbtree\"},"
        "\"learner_model_param\":{\"base_score\":\"5E-1\","
        "\"num_class\":\"0\",\"num_feature\":\"1\",\"num_target\":\"1\"},"
        "\"objective\":{\"name\":\"reg:squarederror\"}},"
        "\"version\":[1,7,4]}";
    char          err[FOREST_ERR_LEN];
    forest_model *m = forest_load_buffer(json, sizeof(json) - 1,
        FOREST_FORMAT_AUTO, "nocover.json", err, sizeof(err));

    CHECK(m != NULL);
    if (m == NULL) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK(m->node_cover == NULL);
    CHECK(forest_shap_new(m, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "cover") != NULL);
    forest_free(m);
}

int
main(void)
{
    /* the vector code this CPU picks, then the generic code */
    test_references();
    setenv("FOREST_SIMD", "scalar", 1);
    test_references();
    unsetenv("FOREST_SIMD");
    test_no_cover();
    return check_summary();
}
