/*
 * LightGBM text loader: every lgb_* model of tests/reference/models and every
 * tests/models/lgb4_* model must reproduce LightGBM's own predictions
 * (expected.csv) and raw scores (margin.csv) through the reference
 * predictor; hostile variants of a model must fail with a message.
 */
#include "check.h"
#include "forest.h"
#include "reference.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* loads from an exact-size copy so ASan catches any read past the end */
static forest_model *
load_exact(const char *text, size_t len, const char *name, char *err)
{
    char         *copy = malloc(len ? len : 1);
    forest_model *m;

    memcpy(copy, text, len);
    m = forest_load_buffer(copy, len, FOREST_FORMAT_LIGHTGBM, name, err,
        FOREST_ERR_LEN);
    free(copy);
    return m;
}

static void
check_model(const char *dir, const char *file)
{
    char          path[1100], base[1000], err[FOREST_ERR_LEN] = "";
    char         *text;
    size_t        len, bad;
    forest_matrix in, want, margin;
    forest_model *m;

    snprintf(base, sizeof(base), "%s/%.*s", dir, (int) (strlen(file) - 4),
        file);
    snprintf(path, sizeof(path), "%s.txt", base);
    text = ref_read_file(path, &len);
    CHECK(text != NULL);
    if (text == NULL) {
        return;
    }
    CHECK(forest_detect_format(text, len) == FOREST_FORMAT_LIGHTGBM);
    m = load_exact(text, len, path, err);
    free(text);
    if (m == NULL) {
        fprintf(stderr, "  load failed: %s\n", err);
        CHECK(m != NULL);
        return;
    }
    CHECK(m->format == FOREST_FORMAT_LIGHTGBM);
    CHECK(strncmp(m->source, "lightgbm v", 10) == 0);
    snprintf(path, sizeof(path), "%s.input.csv", base);
    CHECK(ref_read_csv(path, &in) == 0 && in.n_cols == m->n_features);
    snprintf(path, sizeof(path), "%s.expected.csv", base);
    CHECK(ref_read_csv(path, &want) == 0);
    bad = ref_compare(m, &in, &want, ref_is_probs(&want) ? REF_PROBS : 0,
        path);
    CHECK(bad == 0);
    printf("  %-28s %4u trees %-10s %-24.24s %zu rows, %zu off\n", file,
        m->n_trees, forest_postprocessor_name(m->post), m->objective,
        in.n_rows, bad);
    snprintf(path, sizeof(path), "%s.margin.csv", base);
    if (ref_exists(path)) {
        CHECK(ref_read_csv(path, &margin) == 0);
        /* LightGBM's raw_score skips the averaging of average_output
         * (random forest) models; its predictions do average */
        CHECK(ref_compare(m, &in, &margin, REF_MARGIN | REF_UNAVERAGED,
                  path) == 0);
        forest_matrix_free(&margin);
    }
    forest_matrix_free(&in);
    forest_matrix_free(&want);
    forest_free(m);
}

static void
check_dir(const char *dir, const char *prefix)
{
    struct dirent **list = NULL;
    int             n = scandir(dir, &list, NULL, alphasort), found = 0;

    for (int i = 0; i < n; i++) {
        const char *f = list[i]->d_name;
        size_t      l = strlen(f);

        if (strncmp(f, prefix, strlen(prefix)) == 0 && l > 4
            && strcmp(f + l - 4, ".txt") == 0
            && strcmp(f, "lgb4_linear.txt") != 0)
        {
            check_model(dir, f);
            found++;
        }
        free(list[i]);
    }
    free(list);
    printf("%s: %d %s* models\n", dir, found, prefix);
    CHECK(found > 0);
}

/* A tiny model whose behaviour was checked against lightgbm 4.7.0. */
static const char tiny[] =
    "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\n"
    "label_index=0\nmax_feature_idx=1\nobjective=regression\n"
    "feature_names=a b\nfeature_infos=[0:1] [0:1]\ntree_sizes=1\n\n"
    "Tree=0\nnum_leaves=3\nnum_cat=0\nsplit_feature=0 1\n"
    "split_gain=1 1\nthreshold=0.5 -0.25\ndecision_type=2 0\n"
    "left_child=1 -1\nright_child=-2 -3\nleaf_value=1 2 3\n"
    "leaf_weight=1 1 1\nleaf_count=1 1 1\ninternal_value=0 0\n"
    "internal_weight=0 0\ninternal_count=1 1\nis_linear=0\nshrinkage=1\n\n\n"
    "end of trees\n\nfeature_importances:\n\nparameters:\n"
    "[boosting: gbdt]\nend of parameters\n\npandas_categorical:null\n";

/* tiny with `from` replaced by `to` (first occurrence) */
static char *
mutate(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    size_t      pre, n;
    char       *out;

    if (at == NULL) {
        return NULL;
    }
    pre = (size_t) (at - text);
    n = strlen(text) - strlen(from) + strlen(to);
    out = malloc(n + 1);
    memcpy(out, text, pre);
    strcpy(out + pre, to);
    strcat(out, at + strlen(from));
    return out;
}

static float
predict1(const forest_model *m, float a, float b)
{
    float row[2] = { a, b }, out;

    forest_predict_row_reference(m, row, 0, &out);
    return out;
}

static void
check_tiny(void)
{
    char          err[FOREST_ERR_LEN];
    char         *cat, *t;
    forest_model *m = load_exact(tiny, sizeof(tiny) - 1, "tiny", err);

    CHECK(m != NULL);
    if (m == NULL) {
        fprintf(stderr, "  tiny: %s\n", err);
        return;
    }
    /* missing type None: NaN is compared as 0.0 */
    CHECK(predict1(m, 0.2f, -0.3f) == 1.0f);
    CHECK(predict1(m, 0.2f, -0.2f) == 3.0f);
    CHECK(predict1(m, 0.7f, 0.0f) == 2.0f);
    CHECK(predict1(m, 0.5f, -0.25f) == 1.0f);
    CHECK(predict1(m, NAN, -0.3f) == 1.0f);
    CHECK(predict1(m, NAN, NAN) == 3.0f);
    CHECK(m->feature_names && strcmp(m->feature_names[1], "b") == 0);
    CHECK(m->feature_is_categorical && !m->feature_is_categorical[0]);
    forest_free(m);

    /* no objective line (custom objective): LightGBM returns raw scores */
    t = mutate(tiny, "objective=regression\n", "");
    m = load_exact(t, strlen(t), "custom", err);
    free(t);
    CHECK(m != NULL && m->post == FOREST_POST_IDENTITY
          && strcmp(m->objective, "custom") == 0);
    forest_free(m);

    /* CRLF line ends read the same */
    t = malloc(2 * sizeof(tiny));
    for (size_t i = 0, j = 0; i < sizeof(tiny); i++) {
        if (tiny[i] == '\n') {
            t[j++] = '\r';
        }
        t[j++] = tiny[i];
    }
    m = load_exact(t, strlen(t), "crlf", err);
    free(t);
    CHECK(m != NULL && predict1(m, 0.2f, -0.2f) == 3.0f
          && strcmp(m->feature_names[1], "b") == 0);
    forest_free(m);

    /* categorical root: categories {0, 2, 32} go left, NaN right */
    t = mutate(tiny, "num_cat=0", "num_cat=1");
    cat = mutate(t, "is_linear=0", "cat_boundaries=0 2\ncat_threshold=5 1\n"
        "is_linear=0");
    free(t);
    t = mutate(cat, "threshold=0.5 -0.25\ndecision_type=2",
        "threshold=0 0.25\ndecision_type=1");
    free(cat);
    m = load_exact(t, strlen(t), "tiny_cat", err);
    free(t);
    CHECK(m != NULL);
    if (m != NULL) {
        static const float x[] = { 0, 1, 2, 32, 33, 64, -1, NAN, 0.9f, 1000 };
        static const float want[] = { 1, 2, 1, 1, 2, 2, 2, 2, 1, 2 };

        for (size_t i = 0; i < sizeof(x) / sizeof(x[0]); i++) {
            CHECK(predict1(m, x[i], 0.1f) == want[i]);
        }
        forest_free(m);
    }
}

static void
expect_error(const char *from, const char *to, const char *reason)
{
    char          err[FOREST_ERR_LEN] = "";
    char         *t = mutate(tiny, from, to);
    forest_model *m;

    CHECK(t != NULL);
    if (t == NULL) {
        return;
    }
    m = load_exact(t, strlen(t), "bad.txt", err);
    free(t);
    CHECK(m == NULL);
    CHECK(strncmp(err, "bad.txt: ", 9) == 0 && strstr(err, reason) != NULL);
    if (m != NULL || strstr(err, reason) == NULL) {
        fprintf(stderr, "  '%s' -> '%s': got \"%s\", want \"%s\"\n", from,
            to, m ? "(loaded)" : err, reason);
    }
    forest_free(m);
}

static void
check_hostile(void)
{
    expect_error("left_child=1 -1", "left_child=0 -1", "bad left child");
    expect_error("left_child=1 -1", "left_child=1 -2", "bad left child -2");
    expect_error("right_child=-2 -3", "right_child=1 -3", "bad right child");
    expect_error("right_child=-2 -3", "right_child=-2 -4", "not an integer");
    expect_error("left_child=1 -1\nright_child=-2 -3",
        "left_child=-1 -1\nright_child=-3 -2", "unreachable");
    expect_error("left_child=1 -1", "left_child=1 2147483648", "left_child");
    expect_error("num_leaves=3", "num_leaves=1000000000", "num_leaves");
    expect_error("num_leaves=3", "num_leaves=100000000", "leaf_value");
    expect_error("num_leaves=3", "num_leaves=99999999999999999999",
        "num_leaves");
    expect_error("num_leaves=3", "num_leaves=0", "num_leaves");
    expect_error("num_leaves=3", "num_leaves=2", "not 2 values");
    expect_error("threshold=0.5 -0.25", "threshold=0.5 abc", "threshold[1]");
    expect_error("threshold=0.5 -0.25", "threshold=1e999 -0.25",
        "threshold[0]");
    expect_error("leaf_value=1 2 3", "leaf_value=1 2 3x", "leaf_value[2]");
    expect_error("leaf_value=1 2 3", "leaf_value=1 2", "leaf_value");
    expect_error("leaf_value=1 2 3", "leaf_valu=1 2 3", "leaf_value");
    expect_error("split_feature=0 1", "split_feature=0 2", "split_feature");
    expect_error("decision_type=2 0", "decision_type=14 0", "missing type");
    expect_error("decision_type=2 0", "decision_type=1 0", "category set");
    expect_error("num_cat=0", "num_cat=1\ncat_boundaries=0 5\n"
        "cat_threshold=1", "cat_boundaries");
    expect_error("num_cat=0", "num_cat=5", "num_cat");
    expect_error("version=v4", "version=v9", "unsupported model version");
    expect_error("version=v4\n", "", "unsupported model version");
    expect_error("objective=regression", "objective=foo",
        "unsupported objective 'foo'");
    expect_error("objective=regression", "objective=binary sigmoid:-1",
        "bad sigmoid");
    expect_error("objective=regression", "objective=multiclass num_class:3",
        "num_class");
    expect_error("num_tree_per_iteration=1", "num_tree_per_iteration=2",
        "num_tree_per_iteration");
    expect_error("max_feature_idx=1", "max_feature_idx=-1",
        "max_feature_idx");
    expect_error("max_feature_idx=1\n", "", "max_feature_idx missing");
    expect_error("feature_names=a b", "feature_names=a", "feature_names");
    expect_error("feature_infos=[0:1] [0:1]", "feature_infos=none",
        "feature_infos");
    expect_error("Tree=0", "Tree=1", "expected Tree=0");
    expect_error("end of trees", "end of tree", "not a key=value line");
    expect_error("is_linear=0", "is_linear=1", "linear trees");
    expect_error("shrinkage=1", "garbage line", "not a key=value line");
    expect_error("tree\n", "tree \n", "not a LightGBM text model");
}

/* Every prefix of a real model before "end of trees" must fail cleanly. */
static void
check_truncations(const char *path)
{
    char          err[FOREST_ERR_LEN];
    size_t        len, end, tried = 0, failed = 0;
    char         *text = ref_read_file(path, &len);
    forest_model *m;

    if (text == NULL) {
        CHECK(text != NULL);
        return;
    }
    end = (size_t) (strstr(text, "end of trees") - text) + 12;
    for (size_t n = 0; n < end; n += (n < 400 || end - n < 400) ? 1 : 37) {
        err[0] = '\0';
        m = load_exact(text, n, "trunc", err);
        tried++;
        if (m != NULL || strncmp(err, "trunc: ", 7) != 0) {
            if (failed++ == 0) {
                fprintf(stderr, "  truncation at %zu: %s\n", n,
                    m ? "loaded" : "no message");
            }
        }
        forest_free(m);
    }
    CHECK(failed == 0);
    /* the trailer after "end of trees" does not matter */
    m = load_exact(text, end, "trunc", err);
    CHECK(m != NULL);
    forest_free(m);
    printf("truncations of %s: %zu lengths, %zu not refused\n", path, tried,
        failed);
    free(text);
}

/* Every model of the corpus with single bytes overwritten: no crash. */
static void
check_corruptions(const char *path)
{
    static const char junk[] = { '-', '9', 'e', ' ', '\n', '=', '.', 'x' };
    char          err[FOREST_ERR_LEN];
    size_t        len, loaded = 0, refused = 0;
    char         *text = ref_read_file(path, &len);

    if (text == NULL) {
        CHECK(text != NULL);
        return;
    }
    for (size_t pos = 0; pos < len; pos += 13) {
        char          saved = text[pos];
        forest_model *m;

        text[pos] = junk[pos % sizeof(junk)];
        m = load_exact(text, len, "corrupt", err);
        if (m == NULL) {
            refused++;
            CHECK(strncmp(err, "corrupt: ", 9) == 0);
        } else {
            loaded++;
        }
        forest_free(m);
        text[pos] = saved;
    }
    printf("corruptions of %s: %zu loaded, %zu refused with a message\n",
        path, loaded, refused);
    free(text);
}

int
main(void)
{
    char err[FOREST_ERR_LEN];

    check_dir("tests/reference/models", "lgb_");
    check_dir("tests/models", "lgb4_");
    check_tiny();
    check_hostile();
    {
        forest_model *m = forest_load("tests/models/lgb4_linear.txt",
            FOREST_FORMAT_LIGHTGBM, err, sizeof(err));

        CHECK(m == NULL && strstr(err, "linear trees") != NULL);
        forest_free(m);
    }
    check_truncations("tests/models/lgb4_cat_wide.txt");
    check_corruptions("tests/models/lgb4_multiclass_leaf1.txt");
    return check_summary();
}
