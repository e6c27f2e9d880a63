/*
 * GPU benchmark driver (bench/gpu.sh): for each batch size, rows/s of each
 * GPU kernel strategy alone (input resident on the device), of the GPU
 * executor end to end (pinned copies in and out, the auto choice, no
 * transfer_threshold), and of the CPU executor on every core and on one
 * thread (what a GPU model's smaller batches run on with forest_model's
 * default threads=1), in the same run.  Input rows are the given .f32 file
 * repeated up to --rows rows.  Prints tab-separated lines, "what strategy
 * batch rows/s", for bench/gpu/table.py; the CPU executor above
 * CPU_MAX_BATCH rows (CPU1_MAX_BATCH on one thread) is timed at that batch
 * (its rate no longer depends on the batch there, and a million rows of a
 * 5,000-tree model would take it many seconds).
 *
 * With --contribs, TreeSHAP contributions instead, at the batch sizes of
 * the CPU's contribution benchmark (bench/shap_bench.py): rows/s of the GPU
 * executor end to end ("contrib gpu", no transfer_threshold) and of
 * forest_shap_run on one thread ("contrib cpu1", timed at CONTRIB_CPU_MAX
 * rows above that: a call of 10,000 rows of a large model takes it
 * seconds, at the same rate a row).
 *
 * usage: gpu_bench MODEL INPUT.f32 FEATURES [--rows N] [--reps R]
 *                  [--contribs]
 */
#include "forest_exec.h"
#include "input.h"
#include "treeshap.h"
#include "../gpu/forest_gpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const size_t batches[] = { 1, 16, 80, 1024, 65536, 1u << 20 };
#define N_BATCHES (sizeof(batches) / sizeof(batches[0]))
#define CPU_MAX_BATCH 65536
#define CPU1_MAX_BATCH 4096

static const size_t contrib_batches[] = { 1, 64, 10000 };
#define N_CONTRIB_BATCHES (sizeof(contrib_batches) / sizeof(contrib_batches[0]))
#define CONTRIB_CPU_MAX 256

static const struct {
    const char        *name;
    forest_gpu_kernel  kernel;
} strategies[] = {
    { "auto", FOREST_GPU_KERNEL_AUTO },
    { "rows", FOREST_GPU_KERNEL_ROWS },
    { "trees", FOREST_GPU_KERNEL_TREES },
    { "compact", FOREST_GPU_KERNEL_COMPACT },
};
#define N_STRATEGIES (sizeof(strategies) / sizeof(strategies[0]))

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* rows/s of an executor over the first `total` rows in batches of `batch`,
 * bounded to about a second of work */
static double
executor_rate(forest_executor *ex, const float *rows, size_t total,
    size_t batch, float *out)
{
    const forest_model *m = ex->model;
    char                err[FOREST_ERR_LEN];
    size_t              done = 0;
    double              t0 = now_s(), t;

    do {
        size_t off = done % (total - batch + 1);

        if (forest_executor_predict(ex, rows + off * m->n_features, batch, 0,
                out, err, sizeof(err)) != 0)
        {
            fprintf(stderr, "gpu_bench: %s: %s\n", ex->ops->name, err);
            return -1.0;
        }
        done += batch;
        t = now_s() - t0;
    } while (t < 1.0);
    return done / t;
}

/* rows/s of contributions by the GPU executor (s NULL) or by
 * forest_shap_run, as executor_rate times predictions */
static double
contrib_rate(forest_executor *gpu, const forest_shap *s, const float *rows,
    size_t total, size_t batch, float *out)
{
    const forest_model *m = gpu->model;
    char                err[FOREST_ERR_LEN];
    size_t              done = 0;
    double              t0 = now_s(), t;

    do {
        const float *x = rows + done % (total - batch + 1) * m->n_features;
        int          rc = s != NULL ? forest_shap_run(s, x, batch, out)
                                    : gpu->ops->contribs(gpu, x, batch, out,
                                          err, sizeof(err));

        if (rc != 0) {
            fprintf(stderr, "gpu_bench: contributions: %s\n",
                rc == 1 ? "the GPU executor left them to the CPU" : err);
            return -1.0;
        }
        done += batch;
        t = now_s() - t0;
    } while (t < 1.0);
    return done / t;
}

static int
contribs(forest_executor *gpu, const float *rows, size_t total)
{
    const forest_model *m = gpu->model;
    char                err[FOREST_ERR_LEN];
    forest_shap        *s = forest_shap_new(m, err, sizeof(err));
    size_t              max = contrib_batches[N_CONTRIB_BATCHES - 1];
    float              *out;

    if (s == NULL) {
        fprintf(stderr, "gpu_bench: %s\n", err);
        return 1;
    }
    out = malloc(max * forest_shap_row_values(s) * sizeof(float));
    if (out == NULL || total < max) {
        fprintf(stderr, "gpu_bench: out of memory\n");
        free(out);
        forest_shap_free(s);
        return 1;
    }
    for (size_t i = 0; i < N_CONTRIB_BATCHES; i++) {
        size_t b = contrib_batches[i];

        printf("contrib\tgpu\t%zu\t%.6g\n", b,
            contrib_rate(gpu, NULL, rows, total, b, out));
        printf("contrib\tcpu1\t%zu\t%.6g\n", b,
            contrib_rate(gpu, s, rows, total,
                b < CONTRIB_CPU_MAX ? b : CONTRIB_CPU_MAX, out));
        fflush(stdout);
    }
    free(out);
    forest_shap_free(s);
    return 0;
}

int
main(int argc, char **argv)
{
    forest_model      *m;
    forest_matrix      in;
    forest_executor   *gpu, *cpu, *cpu1;
    forest_gpu_options opt = { 0, 0, 0, 4, FOREST_GPU_KERNEL_AUTO };
    size_t             total = 1u << 20;
    unsigned           reps = 5;
    double             kernel[N_STRATEGIES][N_BATCHES];
    float             *rows, *out;
    char               err[FOREST_ERR_LEN];
    int                shap = 0;

    if (argc < 4) {
        fprintf(stderr, "usage: gpu_bench MODEL INPUT.f32 FEATURES "
            "[--rows N] [--reps R]\n");
        return 2;
    }
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--contribs") == 0) {
            shap = 1;
        } else if (i + 1 < argc && strcmp(argv[i], "--rows") == 0) {
            total = strtoull(argv[++i], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--reps") == 0) {
            reps = (unsigned) strtoul(argv[++i], NULL, 10);
        }
    }
    if (total < batches[N_BATCHES - 1]) {
        total = batches[N_BATCHES - 1];
    }
    m = forest_load(argv[1], FOREST_FORMAT_AUTO, err, sizeof(err));
    if (m == NULL || forest_input_load(argv[2], (uint32_t) atoi(argv[3]), &in,
                         err, sizeof(err)) != 0)
    {
        fprintf(stderr, "gpu_bench: %s\n", err);
        return 1;
    }
    if (in.n_rows == 0 || in.n_cols != m->n_features) {
        fprintf(stderr, "gpu_bench: %s: %zu rows of %u features, the model "
            "needs %u\n", argv[2], in.n_rows, in.n_cols, m->n_features);
        return 1;
    }
    rows = malloc(total * m->n_features * sizeof(float));
    out = malloc(total * m->n_outputs * sizeof(float));
    if (rows == NULL || out == NULL) {
        fprintf(stderr, "gpu_bench: out of memory\n");
        return 1;
    }
    for (size_t r = 0; r < total; r++) {
        memcpy(rows + r * m->n_features,
            in.values + (r % in.n_rows) * m->n_features,
            m->n_features * sizeof(float));
    }
    if (shap) {
        int rc;

        gpu = forest_gpu_executor_create(m, &opt, err, sizeof(err));
        if (gpu == NULL) {
            fprintf(stderr, "gpu_bench: %s\n", err);
            return 1;
        }
        printf("# model %s: %u trees, %u features, contributions\n",
            argv[1], m->n_trees, m->n_features);
        rc = contribs(gpu, rows, total);
        forest_executor_destroy(gpu);
        forest_matrix_free(&in);
        free(rows);
        free(out);
        forest_free(m);
        return rc;
    }
    for (size_t k = 0; k < N_STRATEGIES; k++) {
        if (forest_gpu_kernel_bench(m, strategies[k].kernel, rows, total,
                batches, N_BATCHES, reps, kernel[k], err, sizeof(err)) != 0)
        {
            fprintf(stderr, "gpu_bench: %s kernel: %s\n", strategies[k].name,
                err);
            return 1;
        }
    }
    if ((gpu = forest_gpu_executor_create(m, &opt, err, sizeof(err))) == NULL
        || (cpu = forest_cpu_executor_create(m, 0, err, sizeof(err))) == NULL
        || (cpu1 = forest_cpu_executor_create(m, 1, err, sizeof(err))) == NULL)
    {
        fprintf(stderr, "gpu_bench: %s\n", err);
        return 1;
    }
    printf("# model %s: %u trees, %u features\n", argv[1], m->n_trees,
        m->n_features);
    for (size_t i = 0; i < N_BATCHES; i++) {
        size_t cb = batches[i] < CPU_MAX_BATCH ? batches[i] : CPU_MAX_BATCH;
        size_t cb1 = batches[i] < CPU1_MAX_BATCH ? batches[i] : CPU1_MAX_BATCH;

        for (size_t k = 0; k < N_STRATEGIES; k++) {
            printf("kernel\t%s\t%zu\t%.6g\n", strategies[k].name, batches[i],
                kernel[k][i]);
        }
        printf("gpu_e2e\tauto\t%zu\t%.6g\n", batches[i],
            executor_rate(gpu, rows, total, batches[i], out));
        printf("cpu_all\tcpu\t%zu\t%.6g\n", batches[i],
            executor_rate(cpu, rows, total, cb, out));
        printf("cpu_1\tcpu\t%zu\t%.6g\n", batches[i],
            executor_rate(cpu1, rows, total, cb1, out));
        fflush(stdout);
    }
    forest_executor_destroy(gpu);
    forest_executor_destroy(cpu);
    forest_executor_destroy(cpu1);
    forest_matrix_free(&in);
    free(rows);
    free(out);
    forest_free(m);
    return 0;
}
