/*
 * The edge-value references (tests/models/edge, scripts/make_edge_references.py
 * and scripts/make_hgb_models.py): each model's rows with +-inf, -0,
 * subnormals and +-FLT_MAX, and the originating library's outputs on them.
 * Every file of every stem that a loader reads (each format) goes through the
 * reference predictor against the library, then through the CPU executor at
 * every SIMD level (FOREST_SIMD), which must give the reference's outputs
 * bit for bit.
 */
#include "check.h"
#include "cpu_plan.h"
#include "forest_exec.h"
#include "reference.h"
#include "simd_levels.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define EDGE_DIR "tests/models/edge"

static const char *const model_dirs[] = { "tests/reference/models",
                                          "tests/models" };
static const char *const model_exts[] = { "json", "ubj", "model", "txt",
                                          "treelite" };

/* The executor at each SIMD level against the reference predictor. */
static void
check_executors(const forest_model *m, const forest_matrix *in, int margin,
    const char *name)
{
    uint32_t cols = forest_output_columns(m, margin);
    float   *ref = malloc(in->n_rows * cols * sizeof(float));
    float   *out = malloc(in->n_rows * cols * sizeof(float));

    CHECK(ref != NULL && out != NULL);
    for (size_t r = 0; ref != NULL && r < in->n_rows; r++) {
        forest_predict_row_reference(m, in->values + r * in->n_cols, margin,
            ref + r * cols);
    }
    for (size_t s = 0; out != NULL && ref != NULL
                       && s < sizeof(simd_levels) / sizeof(simd_levels[0]); s++)
    {
        char             err[FOREST_ERR_LEN];
        forest_executor *ex;
        size_t           diff = 0;

        if (!forest_cpu_simd_runs(simd_levels[s])) {
            check_skip("no such SIMD level on this CPU", simd_levels[s]);
            continue;
        }
        setenv("FOREST_SIMD", simd_levels[s], 1);
        ex = forest_cpu_executor_create(m, 1, err, sizeof(err));
        CHECK(ex != NULL);
        if (ex == NULL) {
            fprintf(stderr, "%s/%s: %s\n", name, simd_levels[s], err);
            continue;
        }
        CHECK(forest_executor_predict(ex, in->values, in->n_rows, margin, out,
                  err, sizeof(err)) == 0);
        for (size_t i = 0; i < in->n_rows * cols; i++) {
            if (memcmp(&out[i], &ref[i], sizeof(float)) != 0
                && !(isnan(out[i]) && isnan(ref[i])) && diff++ < 3)
            {
                fprintf(stderr, "%s/%s%s row %zu col %zu: executor %.9g, "
                    "reference %.9g\n", name, simd_levels[s],
                    margin ? " margin" : "", i / cols, i % cols, out[i],
                    ref[i]);
            }
        }
        CHECK(diff == 0);
        forest_executor_destroy(ex);
    }
    unsetenv("FOREST_SIMD");
    free(ref);
    free(out);
}

static unsigned
margin_flags(const forest_model *m)
{
    unsigned what = REF_MARGIN;

    /* LightGBM's raw_score skips random-forest averaging (tests/parity.py) */
    for (uint32_t k = 0; m->format == FOREST_FORMAT_LIGHTGBM
                         && k < m->n_outputs; k++) {
        if (m->average_divisor[k] != 1.0) {
            what |= REF_UNAVERAGED;
        }
    }
    return what;
}

static void
check_file(const char *model, const char *stem)
{
    char          err[FOREST_ERR_LEN] = "", path[1024];
    forest_model *m = forest_load(model, FOREST_FORMAT_AUTO, err, sizeof(err));
    forest_matrix in, want;

    CHECK(m != NULL);
    if (m == NULL) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    snprintf(path, sizeof(path), EDGE_DIR "/%s.input.csv", stem);
    CHECK(ref_read_csv(path, &in) == 0);
    snprintf(path, sizeof(path), EDGE_DIR "/%s.expected.csv", stem);
    CHECK(ref_read_csv(path, &want) == 0);
    CHECK(ref_compare(m, &in, &want, ref_is_probs(&want) ? REF_PROBS : 0,
              model) == 0);
    forest_matrix_free(&want);
    check_executors(m, &in, 0, model);
    snprintf(path, sizeof(path), EDGE_DIR "/%s.margin.csv", stem);
    if (ref_exists(path)) {
        CHECK(ref_read_csv(path, &want) == 0);
        CHECK(ref_compare(m, &in, &want, margin_flags(m), path) == 0);
        forest_matrix_free(&want);
        check_executors(m, &in, 1, model);
    }
    forest_matrix_free(&in);
    forest_free(m);
}

int
main(void)
{
    DIR           *dir = opendir(EDGE_DIR);
    struct dirent *e;
    size_t         stems = 0, files = 0;

    CHECK(dir != NULL);
    while (dir != NULL && (e = readdir(dir)) != NULL) {
        size_t len = strlen(e->d_name), before = files;
        char   stem[256], model[1024];

        if (len <= 13 || len - 13 >= sizeof(stem)
            || strcmp(e->d_name + len - 13, ".expected.csv") != 0)
        {
            continue;
        }
        memcpy(stem, e->d_name, len - 13);
        stem[len - 13] = '\0';
        for (size_t d = 0; d < 2; d++) {
            for (size_t x = 0; x < sizeof(model_exts) / sizeof(*model_exts);
                 x++)
            {
                snprintf(model, sizeof(model), "%s/%s.%s", model_dirs[d],
                    stem, model_exts[x]);
                if (ref_exists(model)) {
                    check_file(model, stem);
                    files++;
                }
            }
        }
        /* every stem has a file some loader reads */
        CHECK(files > before);
        stems++;
    }
    if (dir != NULL) {
        closedir(dir);
    }
    printf("%zu edge references, %zu model files\n", stems, files);
    CHECK(stems > 0);
    return check_summary();
}
