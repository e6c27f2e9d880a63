/*
 * The CPU executor against the reference predictor on synthetic random
 * forests: every tree layout (dense, sparse, generic), NaN defaults,
 * categorical and zero_is_missing nodes, vector leaves, output groups,
 * averaging, every postprocessor; each SIMD kernel this CPU runs, 1-3
 * threads, batch sizes 1..1000, and concurrent callers; bit for bit.
 */
#include "check.h"
#include "forest_exec.h"
#include "forest_internal.h"
#include "cpu_plan.h"
#include "simd_levels.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define N_ROWS 1000

static uint64_t rng_state;

static uint64_t
rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double
unif(void)
{
    return (double) (rnd() >> 11) / 9007199254740992.0;
}

static uint32_t
below(uint32_t n)
{
    return (uint32_t) (rnd() % n);
}

typedef struct {
    const char          *name;
    uint32_t             n_trees, n_features, n_outputs;
    int                  vector_leaves;
    uint32_t             max_depth;
    double               p_leaf;   /* a node below the root stops early */
    double               p_cat, p_zero;
    int                  chain;    /* every split has a leaf on one side */
    int                  average;
    forest_postprocessor post;
    int                  layout;   /* a cpu_tree_kind some tree must get */
} forest_cfg;

typedef struct {
    forest_model *m;
    size_t        cap_nodes, cap_leaves, cap_cat;
    size_t        tree_base;   /* child indices are tree-relative */
} builder;

static void *
grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return p;
    }
    *cap = need * 2;
    p = realloc(p, *cap * size);
    if (p == NULL) {
        abort();
    }
    return p;
}

/* thresholds on a coarse grid, so inputs hit them exactly */
static float
pick_threshold(void)
{
    if (unif() < 0.7) {
        return (float) ((int) below(41) - 20) / 8.0f;
    }
    return (float) (unif() * 5.0 - 2.5);
}

static int32_t
build_node(builder *b, const forest_cfg *c, uint32_t depth, uint32_t width)
{
    forest_model *m = b->m;
    size_t        at = m->n_nodes;
    forest_node   nd;
    int           leaf;

    m->nodes = grow(m->nodes, &b->cap_nodes, m->n_nodes + 1,
                    sizeof(forest_node));
    m->n_nodes++;
    memset(&nd, 0, sizeof(nd));
    leaf = depth >= c->max_depth || (depth > 0 && unif() < c->p_leaf);
    if (leaf) {
        nd.kind = FOREST_NODE_LEAF;
        nd.left = nd.right = -1;
        nd.leaf = (uint32_t) m->n_leaf_values;
        m->leaf_values = grow(m->leaf_values, &b->cap_leaves,
                              m->n_leaf_values + width, sizeof(double));
        for (uint32_t k = 0; k < width; k++) {
            m->leaf_values[m->n_leaf_values++] = unif() * 2.0 - 1.0;
        }
        m->nodes[at] = nd;
        return (int32_t) (at - b->tree_base);
    }
    nd.feature = (int32_t) below(m->n_features);
    nd.default_left = (uint8_t) below(2);
    nd.zero_is_missing = unif() < c->p_zero;
    if (unif() < c->p_cat) {
        uint32_t words;

        nd.kind = FOREST_NODE_CATEGORICAL;
        nd.cat_in_set_left = (uint8_t) below(2);
        nd.cat_nbits = 1 + below(70);
        words = (nd.cat_nbits + 31) / 32;
        nd.cat_word = (uint32_t) m->n_cat_words;
        m->cat_bits = grow(m->cat_bits, &b->cap_cat, m->n_cat_words + words,
                           sizeof(uint32_t));
        for (uint32_t w = 0; w < words; w++) {
            m->cat_bits[m->n_cat_words++] = (uint32_t) rnd();
        }
    } else {
        nd.kind = FOREST_NODE_NUMERIC;
        nd.threshold = pick_threshold();
    }
    m->nodes[at] = nd;
    /* children are built first: building may move m->nodes */
    {
        const forest_cfg leaf_only = { .max_depth = 0 };
        int32_t          l, r;

        if (c->chain && below(2)) {
            r = build_node(b, &leaf_only, 0, width);
            l = build_node(b, c, depth + 1, width);
        } else {
            l = build_node(b, c, depth + 1, width);
            r = build_node(b, c->chain ? &leaf_only : c, c->chain ? 0 : depth + 1,
                           width);
        }
        m->nodes[at].left = l;
        m->nodes[at].right = r;
    }
    return (int32_t) (at - b->tree_base);
}

static forest_model *
make_model(const forest_cfg *c)
{
    forest_model *m = calloc(1, sizeof(*m));
    builder       b = { m, 0, 0, 0, 0 };
    uint32_t      width = c->vector_leaves ? c->n_outputs : 1;
    char          err[FOREST_ERR_LEN];

    m->n_trees = c->n_trees;
    m->n_features = c->n_features;
    m->n_outputs = c->n_outputs;
    m->leaf_width = width;
    m->tree_begin = calloc(c->n_trees + 1, sizeof(uint32_t));
    m->tree_group = calloc(c->n_trees, sizeof(int32_t));
    m->base_score = calloc(c->n_outputs, sizeof(double));
    m->average_divisor = calloc(c->n_outputs, sizeof(double));
    for (uint32_t t = 0; t < c->n_trees; t++) {
        m->tree_begin[t] = (uint32_t) m->n_nodes;
        b.tree_base = m->n_nodes;
        m->tree_group[t] = c->vector_leaves ? -1
                           : (int32_t) (t % c->n_outputs);
        build_node(&b, c, 0, width);
    }
    m->tree_begin[c->n_trees] = (uint32_t) m->n_nodes;
    for (uint32_t k = 0; k < c->n_outputs; k++) {
        m->base_score[k] = unif() - 0.5;
        m->average_divisor[k] = c->average
            ? (double) (c->vector_leaves ? c->n_trees
                                         : c->n_trees / c->n_outputs)
            : 1.0;
    }
    m->post = c->post;
    m->sigmoid_alpha = 0.75;
    m->ratio_c = 3.25;
    if (m->cat_bits == NULL) {
        m->cat_bits = calloc(1, sizeof(uint32_t));
    }
    if (forest_validate(m, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: generated model invalid: %s\n", c->name, err);
        abort();
    }
    return m;
}

static float
pick_input(void)
{
    double u = unif();

    if (u < 0.10) {
        return NAN;
    }
    if (u < 0.17) {
        return below(2) ? 0.0f : -0.0f;
    }
    if (u < 0.20) {
        return below(2) ? 1e-36f : -1e-36f;   /* inside the zero-missing band */
    }
    if (u < 0.22) {
        return below(2) ? INFINITY : -INFINITY;
    }
    if (u < 0.35) {
        return (float) ((int) below(90) - 5);  /* category codes, some bad */
    }
    if (u < 0.37) {
        return (float) below(80) + 0.5f;
    }
    if (u < 0.70) {
        return (float) ((int) below(41) - 20) / 8.0f;
    }
    return (float) (unif() * 5.0 - 2.5);
}

/* The CPU executor sums in double in tree order, as the reference does:
 * every kernel's outputs are the reference's bit for bit. */
static int
same_value(float got, float want)
{
    return isnan(want) ? isnan(got) : got == want;
}

/* Predicts all rows in batches of bs and compares with ref. */
static int
matches(forest_executor *ex, const forest_model *m, const float *rows,
    const float *ref, size_t n, size_t bs, int margin, float *out,
    const char *what)
{
    uint32_t cols = forest_output_columns(m, margin);
    char     err[FOREST_ERR_LEN];

    for (size_t r0 = 0; r0 < n; r0 += bs) {
        size_t k = n - r0 < bs ? n - r0 : bs;

        if (forest_executor_predict(ex, rows + r0 * m->n_features, k, margin,
                                    out + r0 * cols, err, sizeof(err)) != 0)
        {
            fprintf(stderr, "%s: predict failed: %s\n", what, err);
            return 0;
        }
    }
    for (size_t i = 0; i < n * cols; i++) {
        if (!same_value(out[i], ref[i])) {
            fprintf(stderr, "%s batch %zu margin %d: row %zu col %zu got "
                "%.9g want %.9g\n", what, bs, margin, i / cols, i % cols,
                out[i], ref[i]);
            return 0;
        }
    }
    return 1;
}


/* argv[1], if given: the one kernel to test (the emulated arm64 runs test
 * NEON only, the portable kernel being the same C as on x86) */
static const char *only_level;

static void
run_cfg(const forest_cfg *c)
{
    /* 10/11 and 12/13: the few-rows bounds of the AVX-512 and AVX2 kernels */
    static const size_t sizes[] = { 1, 2, 3, 7, 8, 10, 11, 12, 13, 15, 16, 17,
                                    31, 63, 64, 65, 100, 127, 129, 255, 256,
                                    257, 999, 1000 };
    forest_model *m = make_model(c);
    uint32_t      cols[2] = { forest_output_columns(m, 0),
                              forest_output_columns(m, 1) };
    float        *rows = malloc(N_ROWS * m->n_features * sizeof(float));
    float        *ref[2], *out;

    for (size_t i = 0; i < (size_t) N_ROWS * m->n_features; i++) {
        rows[i] = pick_input();
    }
    for (int mg = 0; mg < 2; mg++) {
        ref[mg] = malloc(N_ROWS * cols[mg] * sizeof(float));
        for (size_t r = 0; r < N_ROWS; r++) {
            forest_predict_row_reference(m, rows + r * m->n_features, mg,
                ref[mg] + r * cols[mg]);
        }
    }
    out = malloc(N_ROWS * m->n_outputs * sizeof(float));
    {
        cpu_plan plan;
        char     err[FOREST_ERR_LEN];
        int      seen = 0;

        CHECK(forest_cpu_plan_build(&plan, m, 1, err, sizeof(err)) == 0);
        for (uint32_t t = 0; t < plan.n_trees; t++) {
            seen |= plan.trees[t].kind == (uint32_t) c->layout;
        }
        CHECK(seen);
        if (!seen) {
            fprintf(stderr, "%s: no tree laid out as kind %d\n", c->name,
                c->layout);
        }
        forest_cpu_plan_free(&plan);
    }

    for (size_t s = 0; s < sizeof(simd_levels) / sizeof(simd_levels[0]); s++) {
        if (only_level != NULL && strcmp(only_level, simd_levels[s]) != 0) {
            continue;
        }
        if (!forest_cpu_simd_runs(simd_levels[s])) {
            char why[64];

            snprintf(why, sizeof(why), "no %s on this CPU", simd_levels[s]);
            check_skip(why, c->name);
            continue;
        }
        setenv("FOREST_SIMD", simd_levels[s], 1);
        for (unsigned th = 1; th <= 3; th++) {
            char             what[160], err[FOREST_ERR_LEN];
            forest_executor *ex = forest_cpu_executor_create(m, th, err,
                                                             sizeof(err));

            snprintf(what, sizeof(what), "%s/%s/%u threads", c->name,
                simd_levels[s], th);
            CHECK(ex != NULL);
            if (ex == NULL) {
                fprintf(stderr, "%s: %s\n", what, err);
                continue;
            }
            for (size_t b = 0; b < sizeof(sizes) / sizeof(sizes[0]); b++) {
                for (int mg = 0; mg < 2; mg++) {
                    CHECK(matches(ex, m, rows, ref[mg], N_ROWS, sizes[b], mg,
                                  out, what));
                }
            }
            forest_executor_destroy(ex);
        }
    }
    unsetenv("FOREST_SIMD");
    free(out);
    free(ref[0]);
    free(ref[1]);
    free(rows);
    forest_free(m);
}

/* several threads share one executor (as NGINX worker threads would) */
typedef struct {
    forest_executor    *ex;
    const forest_model *m;
    const float        *rows, *ref;
    int                 ok;
} caller;

static void *
caller_main(void *arg)
{
    caller *c = arg;
    float  *out = malloc(N_ROWS * sizeof(float));

    c->ok = 1;
    for (int rep = 0; rep < 20 && c->ok; rep++) {
        c->ok = matches(c->ex, c->m, c->rows, c->ref, N_ROWS,
                        rep % 2 ? 1000 : 300, 1, out, "concurrent");
    }
    free(out);
    return NULL;
}

static void
test_concurrent_callers(void)
{
    forest_cfg    c = { "concurrent", 60, 12, 1, 0, 8, 0.1, 0, 0, 0, 0,
                        FOREST_POST_SIGMOID, CPU_TREE_DENSE };
    forest_model *m = make_model(&c);
    float        *rows = malloc(N_ROWS * m->n_features * sizeof(float));
    float        *ref = malloc(N_ROWS * sizeof(float));
    char          err[FOREST_ERR_LEN];
    pthread_t     th[4];
    caller        cl[4];

    for (size_t i = 0; i < (size_t) N_ROWS * m->n_features; i++) {
        rows[i] = pick_input();
    }
    for (size_t r = 0; r < N_ROWS; r++) {
        forest_predict_row_reference(m, rows + r * m->n_features, 1, ref + r);
    }
    for (unsigned threads = 0; threads <= 2; threads++) {
        forest_executor *ex = forest_cpu_executor_create(m, threads, err,
                                                         sizeof(err));

        CHECK(ex != NULL);
        if (ex == NULL) {
            continue;
        }
        for (int i = 0; i < 4; i++) {
            cl[i] = (caller) { ex, m, rows, ref, 0 };
            pthread_create(&th[i], NULL, caller_main, &cl[i]);
        }
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            CHECK(cl[i].ok);
        }
        forest_executor_destroy(ex);
    }
    free(ref);
    free(rows);
    forest_free(m);
}

static void
test_bad_simd_name(void)
{
    forest_cfg       c = { "stumps", 3, 2, 1, 0, 1, 0, 0, 0, 0, 0,
                           FOREST_POST_IDENTITY, CPU_TREE_DENSE };
    forest_model    *m = make_model(&c);
    char             err[FOREST_ERR_LEN] = "";
    forest_executor *ex;
    float            row[2] = { 0, 0 }, out;

    setenv("FOREST_SIMD", "sse9", 1);
    ex = forest_cpu_executor_create(m, 1, err, sizeof(err));
    CHECK(ex == NULL);
    CHECK(strstr(err, "FOREST_SIMD=sse9") != NULL);
    unsetenv("FOREST_SIMD");

    ex = forest_cpu_executor_create(m, 2, err, sizeof(err));
    CHECK(ex != NULL);
    CHECK(forest_executor_predict(ex, row, 0, 0, &out, err, sizeof(err)) == 0);
    CHECK(forest_executor_predict(ex, NULL, 1, 0, &out, err, sizeof(err)) == -1);
    forest_executor_destroy(ex);
    forest_free(m);
}

int
main(int argc, char **argv)
{
    static const forest_cfg cfgs[] = {
        /* name, trees, features, outputs, vector, depth, p_leaf, p_cat,
         * p_zero, chain, average, post, layout */
        { "dense-d8", 40, 32, 1, 0, 8, 0.0, 0, 0, 0, 0, FOREST_POST_SIGMOID, CPU_TREE_DENSE },
        /* runs of 64, 32 and 16 same-depth trees for the few-rows lanes */
        { "dense-d8-many", 150, 32, 1, 0, 8, 0.0, 0, 0, 0, 0,
          FOREST_POST_SIGMOID, CPU_TREE_DENSE },
        /* a row in four registers of the few-rows walk (33-64 features) */
        { "dense-d7-40f", 40, 40, 1, 0, 7, 0.0, 0, 0, 0, 0,
          FOREST_POST_IDENTITY, CPU_TREE_DENSE },
        { "vector-leaves-many", 40, 10, 3, 1, 6, 0.0, 0, 0, 0, 1,
          FOREST_POST_IDENTITY, CPU_TREE_DENSE },
        { "dense-ragged", 40, 20, 1, 0, 7, 0.15, 0, 0, 0, 0,
          FOREST_POST_IDENTITY, CPU_TREE_DENSE },
        { "dense-d10", 12, 9, 1, 0, 10, 0.05, 0, 0, 0, 0, FOREST_POST_EXP, CPU_TREE_DENSE },
        { "sparse-d14", 20, 16, 1, 0, 14, 0.3, 0, 0, 0, 0,
          FOREST_POST_SIGNED_SQUARE, CPU_TREE_SPARSE },
        { "chain-d60", 10, 6, 1, 0, 60, 0.0, 0, 0, 1, 0, FOREST_POST_HINGE, CPU_TREE_SPARSE },
        { "stumps", 50, 3, 1, 0, 1, 0.0, 0, 0, 0, 0, FOREST_POST_LOG1P_EXP, CPU_TREE_DENSE },
        { "single-leaf", 5, 3, 1, 0, 0, 0.0, 0, 0, 0, 0,
          FOREST_POST_IDENTITY, CPU_TREE_DENSE },
        { "categorical", 30, 10, 1, 0, 6, 0.1, 0.3, 0, 0, 0,
          FOREST_POST_SIGMOID, CPU_TREE_GENERIC },
        { "zero-missing", 30, 10, 1, 0, 6, 0.1, 0, 0.5, 0, 0,
          FOREST_POST_IDENTITY, CPU_TREE_GENERIC },
        { "multiclass-softmax", 60, 12, 4, 0, 6, 0.1, 0, 0, 0, 0,
          FOREST_POST_SOFTMAX, CPU_TREE_DENSE },
        { "multiclass-maxindex", 45, 12, 3, 0, 5, 0.1, 0.1, 0.1, 0, 0,
          FOREST_POST_MAX_INDEX, CPU_TREE_GENERIC },
        { "vector-leaves-avg", 25, 10, 3, 1, 9, 0.2, 0, 0, 0, 1,
          FOREST_POST_IDENTITY, CPU_TREE_DENSE },
        { "vector-leaves-cat", 15, 10, 3, 1, 12, 0.25, 0.2, 0.1, 0, 1,
          FOREST_POST_SOFTMAX, CPU_TREE_GENERIC },
        { "averaging-forest", 30, 10, 1, 0, 12, 0.2, 0, 0, 0, 1,
          FOREST_POST_EXP_STANDARD_RATIO, CPU_TREE_SPARSE },
        /* too wide for the transposed block of the AVX-512 kernel */
        { "wide-input", 20, 200, 1, 0, 8, 0.05, 0, 0, 0, 0,
          FOREST_POST_SIGMOID, CPU_TREE_DENSE },
        { "wide-outputs", 40, 8, 40, 0, 4, 0.1, 0, 0, 0, 0,
          FOREST_POST_SOFTMAX, CPU_TREE_DENSE },
    };

    only_level = argc > 1 ? argv[1] : NULL;
    rng_state = 20260501;
    for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
        run_cfg(&cfgs[i]);
    }
    test_concurrent_callers();
    test_bad_simd_name();
    return check_summary();
}
