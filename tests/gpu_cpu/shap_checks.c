/*
 * The GPU TreeSHAP kernels (gpu/gpu_shap.cu) against the libraries' own
 * contributions (tests/reference/shap: XGBoost pred_contribs, LightGBM
 * pred_contrib, shap's TreeExplainer) and forest_shap_run's, each value
 * within 1e-5 absolute + 1e-5 relative, on every reference model with node
 * covers.  Rows: the first ROWS (default 1), the first row with a missing
 * value, and rows 162-164 (lgb_cat's unseen and negative category codes,
 * the other models' threshold probes).
 *
 *     shap_checks [--all] [ROWS [NAME...]]    NAME: a reference (xgb_reg)
 *
 * Built two ways.  Through the CPU execution layer (make gpu-cpu: the
 * gpu-cpu executor, under ASan+UBSan and under TSan, in
 * tests/suite_gpu_cpu.sh), where every path of every tree is a warp of 32
 * threads meeting at each shuffle, which the sanitizers make slow: there,
 * without --all, the larger models are cut to their first rounds and held
 * to forest_shap_run's values only (test_treeshap holds those to the
 * libraries' on the whole models).  With -DSHAP_CHECKS_CUDA against the
 * GPU executor (make gpu-bench, bench/gpu.sh run: --all 200, every row).
 */
#include "check.h"
#include "reference.h"
#include "forest_gpu.h"

#define PROBE_ROW  162
#define PROBE_ROWS 3

/* rounds: the boosting rounds (a tree per output) or forest trees the
 * quick check keeps, 0 all */
static const struct {
    const char *model;
    const char *ref;         /* stem in tests/reference/shap */
    uint32_t    rounds;
} cases[] = {
    { "tests/reference/models/xgb_binary.json", "xgb_binary", 4 },
    { "tests/reference/models/xgb_reg.json", "xgb_reg", 0 },
    { "tests/reference/models/xgb_multiclass.ubj", "xgb_multiclass", 2 },
    { "tests/reference/models/xgb_cat.json", "xgb_cat", 6 },
    { "tests/reference/models/lgb_binary.txt", "lgb_binary", 3 },
    { "tests/reference/models/lgb_multiclass.txt", "lgb_multiclass", 3 },
    { "tests/reference/models/lgb_cat.txt", "lgb_cat", 3 },
    { "tests/reference/models/lgb_reg.txt", "lgb_reg", 4 },
    { "tests/reference/models/tl_xgb_binary.treelite", "tl_xgb_binary", 2 },
    { "tests/reference/models/tl_lgb_binary.treelite", "tl_lgb_binary", 2 },
    { "tests/models/skl_rf_clf.treelite", "skl_rf_clf", 1 },
    { "tests/models/skl_rf_multi.treelite", "skl_rf_multi", 1 },
    { "tests/models/skl_rf_reg.treelite", "skl_rf_reg", 1 },
    { "tests/models/skl_gbdt.treelite", "skl_gbdt", 0 },
    { "tests/models/skl_et.treelite", "skl_et", 1 },
};

/* The model's first rounds: a round is a tree per output group where the
 * loader did not record one (LightGBM, Treelite). */
static int
cut_rounds(forest_model *m, uint32_t rounds)
{
    char err[FOREST_ERR_LEN];

    if (m->trees_per_round == 0) {
        m->trees_per_round = m->tree_group[0] >= 0 ? m->n_outputs : 1;
    }
    if (forest_select_rounds(m, rounds, "quick check", err, sizeof(err))
        != 0)
    {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

/* got (n rows of per values) against want's rows at[] (its row width
 * want_cols, the values from column skip); what: whose values */
static size_t
count_bad(const char *name, const char *what, const float *got, size_t n,
    size_t per, const float *want, size_t want_cols, size_t skip,
    const size_t *at)
{
    size_t bad = 0;

    for (size_t r = 0; r < n; r++) {
        for (size_t c = 0; c < per; c++) {
            double g = got[r * per + c];
            double w = want[at[r] * want_cols + skip + c];

            if (!ref_shap_close(g, w) && bad++ < 3) {
                fprintf(stderr, "%s row %zu value %zu: GPU %.9g, %s %.9g\n",
                    name, at[r], c, g, what, w);
            }
        }
    }
    return bad;
}

static int
has_missing(const forest_matrix *in, size_t r)
{
    for (size_t c = 0; c < in->n_cols; c++) {
        if (isnan(in->values[r * in->n_cols + c])) {
            return 1;
        }
    }
    return 0;
}

/* the rows checked (at most rows + 1 + PROBE_ROWS): 0 .. rows-1, the first
 * with a missing value if none of those has one, then the probes */
static size_t
pick_rows(size_t rows, const forest_matrix *in, size_t *at)
{
    size_t n = 0, missing = SIZE_MAX;

    for (size_t r = 0; r < rows && r < in->n_rows; r++) {
        missing = has_missing(in, r) ? r : missing;
        at[n++] = r;
    }
    for (size_t r = rows; missing == SIZE_MAX && r < in->n_rows; r++) {
        if (has_missing(in, r)) {
            missing = r;
            at[n++] = r;
        }
    }
    for (size_t r = PROBE_ROW; r < PROBE_ROW + PROBE_ROWS; r++) {
        if (r >= rows && r < in->n_rows && r != missing) {
            at[n++] = r;
        }
    }
    return n;
}

static forest_executor *
executor(const forest_model *m, char *err, size_t errlen)
{
#ifdef SHAP_CHECKS_CUDA
    forest_gpu_options opt;

    memset(&opt, 0, sizeof(opt));
    return forest_gpu_executor_create(m, &opt, err, errlen);
#else
    return forest_gpu_cpu_executor_create(m, err, errlen);
#endif
}

/* want: the library's contributions, NULL where m is cut (the CPU's
 * only, which test_treeshap holds to the library's on every model) */
static void
check_model(const forest_model *m, const forest_matrix *in,
    const forest_matrix *want, size_t rows, const char *name)
{
    char             err[FOREST_ERR_LEN];
    forest_executor *ex = executor(m, err, sizeof(err));
    forest_shap     *s = forest_shap_new(m, err, sizeof(err));
    size_t          *at = malloc((rows + 1 + PROBE_ROWS) * sizeof(size_t));
    size_t           per, skip, n, bad_lib, bad_cpu;
    float           *x = NULL, *gpu = NULL, *cpu = NULL;

    CHECK(ex != NULL && s != NULL && at != NULL);
    if (ex == NULL || s == NULL || at == NULL) {
        fprintf(stderr, "%s: %s\n", name, err);
        goto done;
    }
    CHECK(ex->ops->contribs != NULL);
    per = forest_shap_row_values(s);
    skip = want != NULL && want->n_cols == 2 * per ? per : 0;
    CHECK(want == NULL
          || (want->n_cols == per + skip && want->n_rows == in->n_rows));
    if ((want != NULL
         && (want->n_cols != per + skip || want->n_rows != in->n_rows))
        || ex->ops->contribs == NULL)
    {
        goto done;
    }
    n = pick_rows(rows, in, at);
    x = malloc(n * m->n_features * sizeof(float));
    gpu = malloc(n * per * sizeof(float));
    cpu = malloc(n * per * sizeof(float));
    CHECK(x != NULL && gpu != NULL && cpu != NULL);
    if (x == NULL || gpu == NULL || cpu == NULL) {
        goto done;
    }
    for (size_t r = 0; r < n; r++) {
        memcpy(x + r * m->n_features, in->values + at[r] * in->n_cols,
            m->n_features * sizeof(float));
    }
    if (ex->ops->contribs(ex, x, n, gpu, err, sizeof(err)) != 0) {
        CHECK(!"the GPU computed the contributions");
        fprintf(stderr, "%s: %s\n", name, err);
        goto done;
    }
    CHECK(forest_shap_run(s, x, n, cpu) == 0);
    bad_lib = want == NULL ? 0 : count_bad(name, "library", gpu, n, per,
        want->values, want->n_cols, skip, at);
    for (size_t r = 0; r < n; r++) {
        at[r] = r;
    }
    bad_cpu = count_bad(name, "CPU TreeSHAP", gpu, n, per, cpu, per, 0, at);
    CHECK(bad_lib == 0 && bad_cpu == 0);
    if (bad_lib == 0 && bad_cpu == 0) {
        printf("ok   %s%s: %zu rows x %zu values as %s\n", name,
            want == NULL ? " (cut)" : "", n, per,
            want == NULL ? "the CPU's" : "the library's and the CPU's");
    } else {
        printf("FAIL %s: %zu values differ from the library's, %zu from "
            "the CPU's\n", name, bad_lib, bad_cpu);
    }
done:
    free(x);
    free(gpu);
    free(cpu);
    free(at);
    forest_shap_free(s);
    forest_executor_destroy(ex);
}

/* no names: every reference */
static int
named(const char *ref, int n, char **names)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], ref) == 0) {
            return 1;
        }
    }
    return n <= 0;
}

int
main(int argc, char **argv)
{
    int    all = argc > 1 && strcmp(argv[1], "--all") == 0;
    size_t rows;

    argc -= all;
    argv += all;
    rows = argc > 1 ? strtoul(argv[1], NULL, 10) : 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char           err[FOREST_ERR_LEN];
        forest_model  *m;
        forest_matrix  in, contribs;
        int            has_in, has_want, cut;

        if (!named(cases[i].ref, argc - 2, argv + 2)) {
            continue;
        }
        m = forest_load(cases[i].model, FOREST_FORMAT_AUTO, err, sizeof(err));
        CHECK(m != NULL);
        if (m == NULL) {
            fprintf(stderr, "%s\n", err);
            continue;
        }
        cut = !all && cases[i].rounds > 0;
        has_in = ref_shap_load(cases[i].ref, "input", &in) == 0;
        has_want = ref_shap_load(cases[i].ref, "contribs", &contribs) == 0;
        CHECK(has_in && has_want && in.n_cols == m->n_features);
        if (has_in && has_want && in.n_cols == m->n_features
            && (!cut || cut_rounds(m, cases[i].rounds) == 0))
        {
            check_model(m, &in, cut ? NULL : &contribs, rows,
                cases[i].model);
        }
        if (has_in) {
            forest_matrix_free(&in);
        }
        if (has_want) {
            forest_matrix_free(&contribs);
        }
        forest_free(m);
    }
    return check_summary();
}
