/*
 * Treelite checkpoint loader: predictions of real checkpoints against the
 * originating library's own outputs, the comparison operators and category
 * tests on hand-built checkpoints (4.x and 3.9 layouts), and hostile input
 * (every truncation, corrupted bytes, absurd sizes) -> NULL + message.
 *
 * Paths are relative to the repo root, the working directory of `make test`.
 */
#include "check.h"
#include "forest_internal.h"
#include "reference.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- real checkpoints vs. reference outputs ---------------------------- */

/* model: path of the .treelite; ref: path prefix of input/expected/margin */
static void
check_model(const char *model, const char *ref)
{
    char          err[FOREST_ERR_LEN] = "", path[1024];
    forest_model *m = forest_load(model, FOREST_FORMAT_AUTO, err, sizeof(err));
    forest_matrix in, want;
    size_t        n_cat = 0;

    CHECK(m != NULL);
    if (m == NULL) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK(m->format == FOREST_FORMAT_TREELITE);
    snprintf(path, sizeof(path), "%s.input.csv", ref);
    CHECK(ref_read_csv(path, &in) == 0);
    CHECK(in.n_cols == m->n_features);
    snprintf(path, sizeof(path), "%s.expected.csv", ref);
    CHECK(ref_read_csv(path, &want) == 0);
    CHECK(ref_compare(m, &in, &want, ref_is_probs(&want) ? REF_PROBS : 0,
              path) == 0);
    forest_matrix_free(&want);
    snprintf(path, sizeof(path), "%s.margin.csv", ref);
    if (ref_exists(path)) {
        CHECK(ref_read_csv(path, &want) == 0);
        CHECK(ref_compare(m, &in, &want, REF_MARGIN, path) == 0);
        forest_matrix_free(&want);
    }
    for (size_t i = 0; i < m->n_nodes; i++) {
        n_cat += m->nodes[i].kind == FOREST_NODE_CATEGORICAL;
    }
    /* the _cat models must exercise category sets */
    CHECK((strstr(model, "_cat") != NULL) == (n_cat > 0));
    printf("ok %s (%u trees, %u outputs, %s, %zu categorical nodes)\n", model,
        m->n_trees, m->n_outputs, forest_postprocessor_name(m->post), n_cat);
    forest_matrix_free(&in);
    forest_free(m);
}

static void
test_reference_models(void)
{
    static const char *const names[] = { "tl_xgb_binary", "tl_lgb_binary" };
    char        model[1100], ref[1024];
    DIR        *dir;
    struct dirent *e;
    int         n = 0;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(ref, sizeof(ref), "tests/reference/models/%s", names[i]);
        snprintf(model, sizeof(model), "%s.treelite", ref);
        check_model(model, ref);
    }
    /* converted from the reference scikit-learn 1.2.1 pickle */
    check_model("tests/models/skl_gbdt.treelite",
        "tests/reference/models/skl_gbdt");
    dir = opendir("tests/models");
    CHECK(dir != NULL);
    while (dir != NULL && (e = readdir(dir)) != NULL) {
        size_t len = strlen(e->d_name);

        if ((strncmp(e->d_name, "tl_skl_", 7) != 0
             && strncmp(e->d_name, "tl3_skl_", 8) != 0) || len < 10
            || strcmp(e->d_name + len - 9, ".treelite") != 0)
        {
            continue;
        }
        snprintf(ref, sizeof(ref), "tests/models/%.*s", (int) (len - 9),
            e->d_name);
        snprintf(model, sizeof(model), "%s.treelite", ref);
        check_model(model, ref);
        n++;
    }
    if (dir != NULL) {
        closedir(dir);
    }
    CHECK(n >= 15);      /* 14 Treelite 4.8.1 + 1 Treelite 3.9.1 */
}

/* ---- hand-built checkpoints ------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t   n, cap;
} buf;

static void
put(buf *b, const void *v, size_t n)
{
    if (n == 0) {
        return;
    }
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, v, n);
    b->n += n;
}

static void put_i32(buf *b, int32_t v) { put(b, &v, 4); }
static void put_u8(buf *b, uint8_t v) { put(b, &v, 1); }
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void put_f32(buf *b, float v) { put(b, &v, 4); }

static void
put_arr(buf *b, const void *v, size_t elem, uint64_t n)
{
    put_u64(b, n);
    put(b, v, elem * n);
}

static void
put_str(buf *b, const char *s)
{
    put_arr(b, s, 1, strlen(s));
}

/*
 * A 5-node tree stored out of order (root 0, its children 3 and 1) so the
 * renumbering is exercised:
 *   0: test on f0 (op, thr) -> left 3, right 1
 *   1: x1 < 0 -> left 4 (leaf 40), right 2 (leaf 20)
 *   3: leaf 30
 */
typedef struct {
    int8_t   op;             /* 1 ==, 2 <, 3 <=, 4 >, 5 >= */
    double   thr;
    int      categorical;    /* root tests f0 in {1, 3} */
    int      cat_right;      /* the list goes right */
    int      default_left;
    int      bad_child;      /* node 1's right child points back to 0 */
} spec;

static const int32_t k_cleft[5] = { 3, 4, -1, -1, -1 };
static const int32_t k_cright[5] = { 1, 2, -1, -1, -1 };
static const double  k_leaf[5] = { 0, 0, 20, 30, 40 };

static buf
build_v4(const spec *s)
{
    buf      b = { 0 };
    int32_t  zero = 0, one = 1, shape[2] = { 1, 1 };
    int8_t   type[5] = { 1, 1, 0, 0, 0 }, cmp[5] = { 0, 2, 0, 0, 0 };
    int32_t  cright[5], split[5] = { 0, 1, 0, 0, 0 };
    uint8_t  dl[5] = { 0 }, cr[5] = { 0 };
    double   thr[5] = { 0 }, base = 0.5;
    uint32_t cats[2] = { 1, 3 };
    uint64_t cb[5] = { 0 }, ce[5] = { 0 }, none[5] = { 0 };

    memcpy(cright, k_cright, sizeof(cright));
    cright[1] = s->bad_child ? 0 : cright[1];
    type[0] = s->categorical ? 2 : 1;
    cmp[0] = s->categorical ? 0 : s->op;
    thr[0] = s->thr;
    dl[0] = (uint8_t) s->default_left;
    cr[0] = (uint8_t) s->cat_right;
    ce[0] = s->categorical ? 2 : 0;
    put_i32(&b, 4); put_i32(&b, 8); put_i32(&b, 1);
    put_u8(&b, 3); put_u8(&b, 3);
    put_u64(&b, 1);
    put_i32(&b, 2); put_u8(&b, 1); put_u8(&b, 0);
    put_i32(&b, 1);
    put_arr(&b, &one, 4, 1);
    put_arr(&b, shape, 4, 2);
    put_arr(&b, &zero, 4, 1);
    put_arr(&b, &zero, 4, 1);
    put_str(&b, "identity");
    put_f32(&b, 1.0f); put_f32(&b, 1.0f);
    put_arr(&b, &base, 8, 1);
    put_str(&b, "{}");
    put_i32(&b, 0);
    /* the tree */
    put_i32(&b, 5); put_u8(&b, (uint8_t) s->categorical);
    put_arr(&b, type, 1, 5);
    put_arr(&b, k_cleft, 4, 5);
    put_arr(&b, cright, 4, 5);
    put_arr(&b, split, 4, 5);
    put_arr(&b, dl, 1, 5);
    put_arr(&b, k_leaf, 8, 5);
    put_arr(&b, thr, 8, 5);
    put_arr(&b, cmp, 1, 5);
    put_arr(&b, cr, 1, 5);
    put_arr(&b, NULL, 8, 0);                 /* leaf_vector */
    put_arr(&b, none, 8, 5);
    put_arr(&b, none, 8, 5);
    put_arr(&b, cats, 4, 2);
    put_arr(&b, cb, 8, 5);
    put_arr(&b, ce, 8, 5);
    for (int i = 0; i < 6; i++) {
        put_arr(&b, NULL, 8, 0);             /* node statistics */
    }
    /* one per-tree optional field, which the loader must skip */
    put_i32(&b, 1);
    put_str(&b, "future_field"); put_u64(&b, 4); put_u64(&b, 2);
    put_u64(&b, 0);
    put_i32(&b, 0);
    return b;
}

/* The same tree in the Treelite 3.9 layout (float64: 56-byte nodes). */
static buf
build_v3(const spec *s)
{
    buf      b = { 0 };
    uint8_t  task[12] = { 0 }, model[268] = { 0 }, node[56];
    uint32_t cats[2] = { 1, 3 };
    uint64_t off[6] = { 0 }, none[5] = { 0 };
    float    bias = 0.5f, alpha = 1.0f;
    uint32_t one = 1;

    memcpy(task + 4, &one, 4);
    memcpy(task + 8, &one, 4);
    strcpy((char *) model, "identity");
    memcpy(model + 256, &alpha, 4);
    memcpy(model + 260, &alpha, 4);
    memcpy(model + 264, &bias, 4);
    put_i32(&b, 3); put_i32(&b, 9); put_i32(&b, 1);
    put_u8(&b, 3); put_u8(&b, 3);
    put_u64(&b, 1);
    put_i32(&b, 2); put_u8(&b, 0); put_u8(&b, 0);
    put(&b, task, 12);
    put(&b, model, 268);
    put_i32(&b, 0);
    put_i32(&b, 5); put_u8(&b, (uint8_t) s->categorical);
    put_u64(&b, 5);
    for (int i = 0; i < 5; i++) {
        uint32_t sindex = i == 1 ? 1 : 0;
        double   info = k_cleft[i] == -1 ? k_leaf[i] : i == 0 ? s->thr : 0.0;
        int32_t  cright = i == 1 && s->bad_child ? 0 : k_cright[i];

        memset(node, 0, sizeof(node));
        if (i == 0 && s->default_left) {
            sindex |= 1u << 31;
        }
        memcpy(node, &k_cleft[i], 4);
        memcpy(node + 4, &cright, 4);
        memcpy(node + 8, &sindex, 4);
        memcpy(node + 16, &info, 8);
        node[48] = k_cleft[i] == -1 ? 0 : (i == 0 && s->categorical) ? 2 : 1;
        node[49] = (uint8_t) (i == 1 ? 2 : i == 0 && !s->categorical
                              ? s->op : 0);
        node[53] = (uint8_t) (i == 0 && s->cat_right);
        put(&b, node, sizeof(node));
    }
    put_arr(&b, NULL, 8, 0);
    put_arr(&b, none, 8, 5);
    put_arr(&b, none, 8, 5);
    put_arr(&b, cats, 4, 2);
    for (int i = 1; i < 6; i++) {
        off[i] = s->categorical ? 2 : 0;
    }
    put_arr(&b, off, 8, 6);
    put_i32(&b, 0);
    put_i32(&b, 0);
    return b;
}

static forest_model *
load_buf(const buf *b, char *err)
{
    /* an exact-size copy, so a read past the end shows under ASan */
    uint8_t      *copy = malloc(b->n ? b->n : 1);
    forest_model *m;

    memcpy(copy, b->p, b->n);
    err[0] = '\0';
    m = forest_load_buffer(copy, b->n, FOREST_FORMAT_TREELITE, "t.treelite",
        err, FOREST_ERR_LEN);
    free(copy);
    return m;
}

/* prediction for f0 = x0, f1 = x1 (margin; base score 0.5 included) */
static double
predict2(const forest_model *m, float x0, float x1)
{
    float row[2] = { x0, x1 }, out;

    forest_predict_row_reference(m, row, 1, &out);
    return out;
}

static void
test_operators(buf (*build)(const spec *), const char *layout)
{
    char          err[FOREST_ERR_LEN];
    forest_model *m;
    buf           b;
    const float   just_below = nextafterf(1.0f, 0.0f);
    /* node 1 sends x1 < 0 to leaf 40, else leaf 20; node 0's left is 30 */
    struct { int8_t op; float x; double want; } cases[] = {
        { 2, 1.0f, 20.5 }, { 2, just_below, 30.5 },      /* x < 1 */
        { 3, 1.0f, 30.5 }, { 3, 1.0001f, 20.5 },         /* x <= 1 */
        { 4, 1.0f, 20.5 }, { 4, 1.0001f, 30.5 },         /* x > 1 */
        { 5, 1.0f, 30.5 }, { 5, just_below, 20.5 },      /* x >= 1 */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        spec s = { .op = cases[i].op, .thr = 1.0, .default_left = 1 };

        b = build(&s);
        m = load_buf(&b, err);
        CHECK(m != NULL);
        if (m != NULL) {
            CHECK(predict2(m, cases[i].x, 1.0f) == cases[i].want);
            /* NaN takes the stored default (left = leaf 30) whatever the op */
            CHECK(predict2(m, NAN, 1.0f) == 30.5);
            CHECK(predict2(m, 5.0f, -1.0f) == (cases[i].op >= 4 ? 30.5 : 40.5));
            CHECK(m->tree_begin[1] == 5 && m->nodes[0].left > 0);
            forest_free(m);
        } else {
            fprintf(stderr, "%s op %d: %s\n", layout, cases[i].op, err);
        }
        free(b.p);
    }
    /* float64 threshold 0.1 against float32 inputs: x <= 0.1 */
    {
        spec s = { .op = 3, .thr = 0.1 };

        b = build(&s);
        m = load_buf(&b, err);
        CHECK(m != NULL);
        if (m != NULL) {
            CHECK(predict2(m, 0.1f, 1.0f) == 20.5);       /* 0.1f > 0.1 */
            CHECK(predict2(m, nextafterf(0.1f, 0.0f), 1.0f) == 30.5);
            forest_free(m);
        }
        free(b.p);
    }
    /* == : refused on a float32 value, always false on any other */
    {
        spec s = { .op = 1, .thr = 1.0 };

        b = build(&s);
        CHECK(load_buf(&b, err) == NULL && strstr(err, "==") != NULL
              && strncmp(err, "t.treelite: ", 12) == 0);
        free(b.p);
        s.thr = 0.1;
        b = build(&s);
        m = load_buf(&b, err);
        CHECK(m != NULL);
        if (m != NULL) {
            CHECK(predict2(m, 0.1f, 1.0f) == 20.5);
            forest_free(m);
        }
        free(b.p);
    }
    printf("ok operators (%s)\n", layout);
}

static void
test_categories(buf (*build)(const spec *), const char *layout)
{
    char          err[FOREST_ERR_LEN];
    forest_model *m;

    for (int right = 0; right <= 1; right++) {
        spec s = { .categorical = 1, .cat_right = right };
        buf  b = build(&s);
        /* in {1, 3}: leaf 30 (left) unless the list names the right child */
        double in = right ? 20.5 : 30.5, out = right ? 30.5 : 20.5;

        m = load_buf(&b, err);
        CHECK(m != NULL);
        if (m != NULL) {
            CHECK(predict2(m, 1.0f, 1.0f) == in);
            CHECK(predict2(m, 3.0f, 1.0f) == in);
            CHECK(predict2(m, 3.5f, 1.0f) == in);         /* truncated */
            CHECK(predict2(m, 2.0f, 1.0f) == out);
            CHECK(predict2(m, -1.0f, 1.0f) == out);
            CHECK(predict2(m, 1e9f, 1.0f) == out);
            CHECK(predict2(m, NAN, 1.0f) == 20.5);        /* default right */
            forest_free(m);
        } else {
            fprintf(stderr, "%s categories: %s\n", layout, err);
        }
        free(b.p);
    }
    printf("ok categories (%s)\n", layout);
}

/* ---- hostile input ------------------------------------------------------*/

static int
read_file(const char *path, buf *b)
{
    b->p = (uint8_t *) ref_read_file(path, &b->n);
    b->cap = b->n;
    return b->p != NULL ? 0 : -1;
}

/* Loads must fail with "t.treelite: ..." or produce a model that validates
 * and predicts without fault. */
static int
survives(const buf *b)
{
    char          err[FOREST_ERR_LEN], why[FOREST_ERR_LEN];
    forest_model *m = load_buf(b, err);
    int           ok;

    if (m == NULL) {
        ok = strncmp(err, "t.treelite: ", 12) == 0 && strlen(err) > 14;
        if (!ok) {
            fprintf(stderr, "bad error message '%s'\n", err);
        }
        return ok;
    }
    ok = forest_validate(m, why, sizeof(why)) == 0;
    if (ok) {
        float *row = calloc(m->n_features, sizeof(float));
        float *out = malloc(m->n_outputs * sizeof(float));

        forest_predict_row_reference(m, row, 0, out);
        free(row);
        free(out);
    }
    forest_free(m);
    return ok;
}

static void
test_truncations(const char *path)
{
    buf    b, t;
    size_t failed = 0, tried = 0;

    if (read_file(path, &b) != 0) {
        CHECK(0);
        return;
    }
    for (size_t len = 0; len < b.n; len += len < 600 ? 1 : 37) {
        char          err[FOREST_ERR_LEN];
        forest_model *m;

        t.p = b.p;
        t.n = len;
        m = load_buf(&t, err);
        tried++;
        if (m != NULL || strncmp(err, "t.treelite: ", 12) != 0) {
            if (failed++ < 3) {
                fprintf(stderr, "%s cut at %zu: %s\n", path, len,
                    m ? "loaded" : err);
            }
            forest_free(m);
        }
    }
    CHECK(failed == 0);
    printf("ok %zu truncations of %s\n", tried, path);
    free(b.p);
}

static void
test_corruptions(const char *path)
{
    buf      b;
    size_t   failed = 0, tried = 0;
    uint32_t seed = 12345;
    static const uint8_t vals[] = { 0x00, 0xff, 0x80, 0x7f, 0x01 };

    if (read_file(path, &b) != 0) {
        CHECK(0);
        return;
    }
    for (size_t pos = 0; pos < b.n; pos += pos < 400 ? 1 : 53) {
        for (size_t v = 0; v < sizeof(vals); v++) {
            uint8_t keep = b.p[pos];

            b.p[pos] = vals[v];
            failed += !survives(&b);
            tried++;
            b.p[pos] = keep;
        }
    }
    /* random multi-byte damage */
    for (int k = 0; k < 300; k++) {
        buf c = { malloc(b.n), b.n, b.n };

        memcpy(c.p, b.p, b.n);
        for (int j = 0; j < 4; j++) {
            seed = seed * 1103515245u + 12345u;
            c.p[(seed >> 8) % c.n] = (uint8_t) (seed >> 24);
        }
        failed += !survives(&c);
        tried++;
        free(c.p);
    }
    CHECK(failed == 0);
    printf("ok %zu corruptions of %s\n", tried, path);
    free(b.p);
}

static void
expect_error(buf *b, const char *want, const char *what)
{
    char          err[FOREST_ERR_LEN];
    forest_model *m = load_buf(b, err);

    CHECK(m == NULL && strstr(err, want) != NULL);
    if (m != NULL || strstr(err, want) == NULL) {
        fprintf(stderr, "%s: got '%s', wanted '%s'\n", what,
            m ? "a model" : err, want);
    }
    forest_free(m);
}

static void
test_hostile_fields(void)
{
    spec     s = { .op = 2, .thr = 1.0 };
    buf      b = build_v4(&s);
    uint64_t huge = UINT64_MAX / 2;
    int32_t  v;

    /* header: version 5, integer leaves, absurd tree count */
    v = 5;
    memcpy(b.p, &v, 4);
    expect_error(&b, "version 5.8.1 not supported", "version");
    v = 4;
    memcpy(b.p, &v, 4);
    b.p[13] = 1;
    expect_error(&b, "leaf output type 1 not supported", "leaf type");
    b.p[13] = 3;
    memcpy(b.p + 14, &huge, 8);
    expect_error(&b, "bad num_tree", "num_tree");
    free(b.p);

    s.bad_child = 1;
    b = build_v4(&s);
    expect_error(&b, "bad child 0", "cycle");
    free(b.p);
    b = build_v3(&s);
    expect_error(&b, "bad child 0", "cycle v3");
    free(b.p);

    /* trailing garbage is not silently ignored */
    s.bad_child = 0;
    b = build_v4(&s);
    put_u8(&b, 0);
    expect_error(&b, "unexpected bytes", "trailing");
    free(b.p);

    /* feature index beyond num_feature: split_index array of the tree */
    b = build_v4(&s);
    {
        /* the split_index array: count 5, then { 0, 1, 0, 0, 0 } */
        static const int32_t pattern[7] = { 5, 0, 0, 1, 0, 0, 0 };

        for (size_t i = 0; i + sizeof(pattern) <= b.n; i++) {
            if (memcmp(b.p + i, pattern, sizeof(pattern)) == 0) {
                v = 7;
                memcpy(b.p + i + 12, &v, 4);
                break;
            }
        }
    }
    expect_error(&b, "feature 7 out of range", "feature");
    free(b.p);
    printf("ok hostile fields\n");
}

int
main(void)
{
    test_reference_models();
    test_operators(build_v4, "4.x");
    test_operators(build_v3, "3.9");
    test_categories(build_v4, "4.x");
    test_categories(build_v3, "3.9");
    test_hostile_fields();
    test_truncations("tests/models/tl_skl_gb_bin.treelite");
    test_truncations("tests/models/tl_skl_hgb_bin_cat_nan.treelite");
    test_truncations("tests/models/tl_skl_rf_multi_nan.treelite");
    test_corruptions("tests/models/tl_skl_hgb_bin_cat_nan.treelite");
    test_corruptions("tests/models/tl_skl_rf_reg2.treelite");
    return check_summary();
}
