/*
 * XGBoost loaders (JSON, UBJSON, legacy binary): every xgb* model of
 * tests/reference/models/ and of tests/models/ must reproduce xgboost's own predictions (expected.csv,
 * margin.csv) row by row through forest_predict_row_reference; hostile
 * inputs must come back as NULL with a message, never a crash.
 */
#include "check.h"
#include "forest.h"
#include "reference.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void
check_model(const char *dir, const char *file)
{
    char          path[1100], base[1024], err[FOREST_ERR_LEN];
    forest_matrix in, exp, mar;
    forest_model *m;
    const char   *dot = strrchr(file, '.');
    unsigned      probs;
    size_t        bad;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    snprintf(base, sizeof(base), "%.500s/%.*s", dir, (int) (dot - file), file);
    m = forest_load(path, FOREST_FORMAT_AUTO, err, sizeof(err));
    CHECK(m != NULL);
    if (m == NULL) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    snprintf(path, sizeof(path), "%s.input.csv", base);
    CHECK(ref_read_csv(path, &in) == 0);
    snprintf(path, sizeof(path), "%s.expected.csv", base);
    CHECK(ref_read_csv(path, &exp) == 0);
    CHECK(in.n_cols == m->n_features);
    probs = m->post == FOREST_POST_SIGMOID || m->post == FOREST_POST_SOFTMAX
            ? REF_PROBS : 0;
    bad = ref_compare(m, &in, &exp, probs, path);
    CHECK(bad == 0);
    snprintf(path, sizeof(path), "%s.margin.csv", base);
    if (ref_exists(path)) {
        CHECK(ref_read_csv(path, &mar) == 0);
        CHECK(ref_compare(m, &in, &mar, REF_MARGIN, path) == 0);
        forest_matrix_free(&mar);
    }
    printf("%-28s %-16s %-20s %5u trees %3u out %zu rows%s\n", file,
        m->source, m->objective, m->n_trees, m->n_outputs, in.n_rows,
        bad ? "  MISMATCH" : "");
    forest_matrix_free(&in);
    forest_matrix_free(&exp);
    forest_free(m);
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
check_dir(const char *dir)
{
    DIR           *d = opendir(dir);
    struct dirent *e;
    char         **names = NULL;
    size_t         n = 0;

    CHECK(d != NULL);
    if (d == NULL) {
        printf("%s: not found\n", dir);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "xgb", 3) == 0
            && (ends_with(e->d_name, ".json") || ends_with(e->d_name, ".ubj")
                || ends_with(e->d_name, ".model")))
        {
            names = realloc(names, (n + 1) * sizeof(char *));
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(char *), by_name);
    CHECK(n > 0);
    for (size_t i = 0; i < n; i++) {
        check_model(dir, names[i]);
        free(names[i]);
    }
    free(names);
}

/* ---- hostile inputs ------------------------------------------------- */

static forest_model *
load_text(const char *text, forest_format f, char *err, size_t errlen)
{
    err[0] = '\0';
    return forest_load_buffer(text, strlen(text), f, "test", err, errlen);
}

/* must fail, with a message containing want */
static void
refuse(const char *text, forest_format f, const char *want)
{
    char          err[FOREST_ERR_LEN];
    forest_model *m = load_text(text, f, err, sizeof(err));

    CHECK(m == NULL);
    CHECK(strstr(err, want) != NULL);
    if (m != NULL || strstr(err, want) == NULL) {
        fprintf(stderr, "wanted \"%s\", got \"%s\"\n", want, err);
    }
    forest_free(m);
}

#define MODEL_HEAD "{\"learner\":{\"feature_names\":[],\"feature_types\":[]," \
    "\"gradient_booster\":{\"name\":\"gbtree\",\"model\":{" \
    "\"gbtree_model_param\":{\"num_trees\":\"1\"},\"tree_info\":[%s]," \
    "\"trees\":[{\"tree_param\":{\"num_nodes\":\"%s\"," \
    "\"size_leaf_vector\":\"0\"},"
#define MODEL_TAIL "}]}},\"learner_model_param\":{\"base_score\":\"%s\"," \
    "\"num_class\":\"0\",\"num_feature\":\"2\"},\"objective\":{\"name\":" \
    "\"%s\"}},\"version\":[2,1,0]}"

/* A 3-node tree: x0 < 0.5 ? 1 : 2 with the given arrays spliced in. */
static char *
model_json(const char *info, const char *nodes, const char *left,
    const char *right, const char *feat, const char *base, const char *obj)
{
    static char buf[4096];

    snprintf(buf, sizeof(buf), MODEL_HEAD "\"left_children\":[%s],"
        "\"right_children\":[%s],\"split_indices\":[%s],"
        "\"split_conditions\":[0.5,1.0,2.0],\"default_left\":[true,false,0],"
        "\"split_type\":[0,0,0]" MODEL_TAIL, info, nodes, left, right, feat,
        base, obj);
    return buf;
}

static void
test_handmade(void)
{
    char          err[FOREST_ERR_LEN];
    forest_model *m;
    float         row[2] = { 0.25f, 0 }, out[1];

    m = load_text(model_json("0", "3", "1,-1,-1", "2,-1,-1", "0,0,0",
                  "[5E-1]", "reg:squarederror"), FOREST_FORMAT_AUTO, err,
                  sizeof(err));
    CHECK(m != NULL);
    if (m == NULL) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    forest_predict_row_reference(m, row, 0, out);
    CHECK(out[0] == 1.5f);
    row[0] = 0.5f;  /* not < 0.5: right */
    forest_predict_row_reference(m, row, 0, out);
    CHECK(out[0] == 2.5f);
    row[0] = NAN;   /* default_left = true */
    forest_predict_row_reference(m, row, 0, out);
    CHECK(out[0] == 1.5f);
    CHECK(strcmp(m->source, "xgboost 2.1.0") == 0);
    forest_free(m);

    /* a leaf root: the nodes it cannot reach are dropped */
    m = load_text(model_json("0", "3", "-1,2,-1", "-1,0,-1", "0,7,1", "0",
                  "reg:squarederror"), FOREST_FORMAT_AUTO, err, sizeof(err));
    CHECK(m != NULL && m->n_nodes == 1);
    if (m != NULL) {
        forest_predict_row_reference(m, row, 0, out);
        CHECK(out[0] == 0.5f);
    }
    forest_free(m);

    refuse(model_json("0", "3", "1,-1,-1", "7,-1,-1", "0,0,0", "0.5",
           "reg:squarederror"), FOREST_FORMAT_XGBOOST_JSON, "out of range");
    refuse(model_json("0", "3", "1,0,-1", "2,2,-1", "0,0,0", "0.5",
           "reg:squarederror"), FOREST_FORMAT_XGBOOST_JSON, "reached twice");
    refuse(model_json("0", "3", "1,-1,-1", "2,-1,-1", "5,0,0", "0.5",
           "reg:squarederror"), FOREST_FORMAT_XGBOOST_JSON, "feature 5");
    refuse(model_json("0", "3000000", "1,-1,-1", "2,-1,-1", "0,0,0", "0.5",
           "reg:squarederror"), FOREST_FORMAT_XGBOOST_JSON, "wrong length");
    refuse(model_json("0", "99999999999", "1,-1,-1", "2,-1,-1", "0,0,0",
           "0.5", "reg:squarederror"), FOREST_FORMAT_XGBOOST_JSON,
           "num_nodes");
    refuse(model_json("3", "3", "1,-1,-1", "2,-1,-1", "0,0,0", "0.5",
           "reg:squarederror"), FOREST_FORMAT_XGBOOST_JSON, "group 3");
    refuse(model_json("0", "3", "1,-1,-1", "2,-1,-1", "0,0,0", "[0.5",
           "reg:squarederror"), FOREST_FORMAT_XGBOOST_JSON, "base_score");
    refuse(model_json("0", "3", "1,-1,-1", "2,-1,-1", "0,0,0", "1.5",
           "binary:logistic"), FOREST_FORMAT_XGBOOST_JSON, "base_score");
    refuse(model_json("0", "3", "1,-1,-1", "2,-1,-1", "0,0,0", "0.5",
           "reg:nonsense"), FOREST_FORMAT_XGBOOST_JSON,
           "unsupported objective");
    refuse("{\"learner\":{\"gradient_booster\":{\"name\":\"gblinear\","
           "\"model\":{\"weights\":[1,2,3]}}}}", FOREST_FORMAT_XGBOOST_JSON,
           "gblinear\" is not supported");
    refuse("{\"version\":[1,0,0]}", FOREST_FORMAT_XGBOOST_JSON, "learner");
    refuse("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
           "[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
           "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
           FOREST_FORMAT_XGBOOST_JSON, "too deep");
    refuse("{\"a\":\"\\u12", FOREST_FORMAT_XGBOOST_JSON, "JSON");
    refuse("{\"a\":1e999999999999999999999999999999999999999999999999999999"
           "99999999999999}", FOREST_FORMAT_XGBOOST_JSON, "number too long");
}

static void
test_ubjson_hostile(void)
{
    /* typed float64 array claiming 2^62 elements, an object count of 2^31,
     * a negative string length, an unknown marker */
    static const uint8_t huge_array[] = { '{', 'i', 1, 'a', '[', '$', 'D',
        '#', 'L', 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    static const uint8_t huge_object[] = { '{', '#', 'l', 0x7f, 0xff, 0xff,
        0xff, 'i', 1, 'a', 'Z' };
    static const uint8_t neg_string[] = { '{', 'i', 0xff, 'a' };
    static const uint8_t unknown[] = { '{', 'i', 1, 'a', 'Q', '}' };
    static uint8_t       deep[200];
    static const struct { const uint8_t *p; size_t n; const char *want; }
    cases[] = {
        { huge_array, sizeof(huge_array), "larger than the data left" },
        { huge_object, sizeof(huge_object), "larger than the data left" },
        { neg_string, sizeof(neg_string), "negative length" },
        { unknown, sizeof(unknown), "unknown type marker" },
        { deep, sizeof(deep), "too deep" },
    };

    memset(deep, '[', sizeof(deep));
    char err[FOREST_ERR_LEN];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        forest_model *m = forest_load_buffer(cases[i].p, cases[i].n,
            FOREST_FORMAT_XGBOOST_UBJ, "t.ubj", err, sizeof(err));

        CHECK(m == NULL && strstr(err, cases[i].want) != NULL);
        if (m != NULL || strstr(err, cases[i].want) == NULL) {
            fprintf(stderr, "ubj case %zu: \"%s\"\n", i, err);
        }
        forest_free(m);
    }
}

/* Files from before xgboost 1.0 have no "binf" magic: the same bytes
 * without it must load (format given) and predict identically. */
static void
test_binary_without_magic(const char *path)
{
    size_t        len;
    char         *data = ref_read_file(path, &len), err[FOREST_ERR_LEN];
    forest_model *a, *b;
    float         row[8], oa[4], ob[4];
    size_t        same = 0;

    CHECK(data != NULL);
    if (data == NULL) {
        printf("%s: not found\n", path);
        return;
    }
    a = forest_load_buffer(data, len, FOREST_FORMAT_AUTO, path, err,
        sizeof(err));
    b = forest_load_buffer(data + 4, len - 4, FOREST_FORMAT_XGBOOST_BINARY,
        path, err, sizeof(err));
    CHECK(a != NULL && b != NULL);
    if (a != NULL && b != NULL && a->n_features <= 8 && a->n_outputs <= 4) {
        for (int r = 0; r < 100; r++) {
            for (uint32_t k = 0; k < a->n_features; k++) {
                row[k] = (float) ((r * 7 + k * 13) % 17) / 4.0f - 2.0f;
            }
            forest_predict_row_reference(a, row, 1, oa);
            forest_predict_row_reference(b, row, 1, ob);
            same += memcmp(oa, ob, a->n_outputs * sizeof(float)) == 0;
        }
        CHECK(same == 100);
    }
    forest_free(a);
    forest_free(b);
    free(data);
}

/* Every prefix must be refused; corrupted copies may load only as valid
 * models (forest_model_finish validates them) and must predict. */
static void
test_damaged(const char *path, forest_format f, size_t stride)
{
    size_t        len, n_trunc = 0, n_ok = 0, fails = 0;
    char         *data = ref_read_file(path, &len), err[FOREST_ERR_LEN];
    uint8_t      *copy;
    uint32_t      seed = 12345;
    float         row[64];

    CHECK(data != NULL);
    if (data == NULL) {
        printf("damage tests: %s not found\n", path);
        return;
    }
    copy = malloc(len);
    for (size_t cut = 0; cut < len; cut += cut < 256 ? 1 : stride) {
        /* a private copy of exactly cut bytes, so ASan sees any overrun */
        uint8_t      *prefix = malloc(cut ? cut : 1);
        forest_model *m;

        memcpy(prefix, data, cut);
        err[0] = '\0';
        m = forest_load_buffer(prefix, cut, f, path, err, sizeof(err));
        if (m != NULL || err[0] == '\0') {
            fails++;
            if (fails < 3) {
                fprintf(stderr, "%s cut at %zu: loaded or no message\n",
                    path, cut);
            }
        }
        forest_free(m);
        free(prefix);
        n_trunc++;
    }
    CHECK(fails == 0);
    for (int i = 0; i < 300; i++) {
        forest_model *m;

        memcpy(copy, data, len);
        for (int k = 0; k < 1 + i % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % len] ^= (uint8_t) (1u << ((seed >> 3) % 8));
        }
        m = forest_load_buffer(copy, len, f, path, err, sizeof(err));
        if (m != NULL) {
            float out[64];

            n_ok++;
            for (size_t k = 0; k < 64; k++) {
                row[k] = (float) k - 10.0f;
            }
            if (m->n_features <= 64 && m->n_outputs <= 64) {
                forest_predict_row_reference(m, row, 0, out);
            }
            CHECK(forest_validate(m, err, sizeof(err)) == 0);
        }
        forest_free(m);
    }
    printf("%s: %zu truncations refused, 300 corruptions (%zu still "
        "loaded)\n", path, n_trunc, n_ok);
    free(copy);
    free(data);
}

int
main(void)
{
    check_dir("tests/reference/models");
    check_dir("tests/models");
    test_handmade();
    test_ubjson_hostile();
    test_damaged("tests/reference/models/xgb_cat.json",
        FOREST_FORMAT_XGBOOST_JSON, 997);
    test_damaged("tests/reference/models/xgb_multiclass.ubj",
        FOREST_FORMAT_XGBOOST_UBJ, 1499);
    test_damaged("tests/reference/models/xgb_binary.model",
        FOREST_FORMAT_XGBOOST_BINARY, 1499);
    test_damaged("tests/models/xgb3_cat.json", FOREST_FORMAT_XGBOOST_JSON, 97);
    test_damaged("tests/models/xgb3_vector_leaf.ubj", FOREST_FORMAT_XGBOOST_UBJ,
        97);
    test_damaged("tests/models/xgb17_dart.model",
        FOREST_FORMAT_XGBOOST_BINARY, 31);
    test_binary_without_magic("tests/models/xgb17_multiclass.model");
    return check_summary();
}
