/*
 * The CPU executor: compiles the model (cpu_plan.c), picks the widest block
 * kernel this CPU runs (or the one FOREST_SIMD names: scalar, avx2, avx512
 * on x86, neon on AArch64),
 * and splits a batch into blocks of CPU_BLOCK rows shared out over a
 * persistent thread pool.  Batches too small to repay waking the workers
 * run on the calling thread alone.
 */
#include "forest_exec.h"
#include "cpu_count.h"
#include "cpu_plan.h"
#include "cpu_pool.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* rows x trees below which a batch stays on the calling thread */
#define PARALLEL_MIN_WORK  32768
/* accumulator doubles kept on the stack (wider models allocate) */
#define STACK_ACC          2048

typedef struct {
    forest_executor base;
    cpu_plan        plan;
    cpu_block_fn    block;
    cpu_block_fn    few_rows;    /* batches of <= few_max rows */
    size_t          few_max;
    cpu_pool       *pool;        /* NULL when running on one thread */
} cpu_executor;

typedef struct {
    const cpu_executor *ex;
    const float        *rows;
    size_t              n_rows;
    int                 margin;
    uint32_t            cols;
    float              *out;
} cpu_batch;

static void
finish_rows(const forest_model *m, const double *acc, size_t n, int margin,
    uint32_t cols, double *row_margin, float *out)
{
    for (size_t r = 0; r < n; r++) {
        float *o = out + r * cols;

        for (uint32_t k = 0; k < m->n_outputs; k++) {
            row_margin[k] = acc[(size_t) k * CPU_BLOCK + r]
                            / m->average_divisor[k] + m->base_score[k];
        }
        if (margin) {
            for (uint32_t k = 0; k < m->n_outputs; k++) {
                o[k] = (float) row_margin[k];
            }
        } else {
            forest_postprocess_row(m, row_margin, o);
        }
    }
}

static int
run_block(void *ctx, size_t b)
{
    const cpu_batch *bt = ctx;
    const cpu_plan  *p = &bt->ex->plan;
    size_t           r0 = b * CPU_BLOCK;
    size_t           n = bt->n_rows - r0 < CPU_BLOCK ? bt->n_rows - r0
                                                     : CPU_BLOCK;
    size_t           need = (size_t) p->n_outputs * (CPU_BLOCK + 1);
    double           stack_acc[STACK_ACC];
    double          *acc = stack_acc;

    if (need > STACK_ACC) {
        acc = malloc(need * sizeof(double));
        if (acc == NULL) {
            return -1;
        }
    }
    memset(acc, 0, (size_t) p->n_outputs * CPU_BLOCK * sizeof(double));
    if (bt->n_rows <= bt->ex->few_max) {
        bt->ex->few_rows(p, bt->rows, n, acc);
    } else {
        bt->ex->block(p, bt->rows + r0 * p->n_features, n, acc);
    }
    finish_rows(p->m, acc, n, bt->margin, bt->cols,
        acc + (size_t) p->n_outputs * CPU_BLOCK, bt->out + r0 * bt->cols);
    if (acc != stack_acc) {
        free(acc);
    }
    return 0;
}

static int
cpu_predict(forest_executor *base, const float *rows, size_t n_rows,
    int margin, float *out, char *err, size_t errlen)
{
    cpu_executor *ex = (cpu_executor *) base;
    size_t        n_blocks = (n_rows + CPU_BLOCK - 1) / CPU_BLOCK;
    cpu_batch     bt = { ex, rows, n_rows, margin,
                         forest_output_columns(base->model, margin), out };
    int           rc = 0;

    if (n_rows == 0) {
        return 0;
    }
    if (rows == NULL || out == NULL) {
        forest_errf(err, errlen, "cpu executor", "no input or output buffer");
        return -1;
    }
    if (ex->pool != NULL && n_blocks > 1
        && n_rows * ex->plan.n_trees >= PARALLEL_MIN_WORK)
    {
        rc = forest_cpu_pool_run(ex->pool, run_block, &bt, n_blocks);
    } else {
        for (size_t b = 0; b < n_blocks && rc == 0; b++) {
            rc = run_block(&bt, b);
        }
    }
    if (rc != 0) {
        forest_errf(err, errlen, "cpu executor", "out of memory for the "
            "accumulators of %u outputs", ex->plan.n_outputs);
    }
    return rc;
}

static void
cpu_destroy(forest_executor *base)
{
    cpu_executor *ex = (cpu_executor *) base;

    forest_cpu_pool_destroy(ex->pool);
    forest_cpu_plan_free(&ex->plan);
    free(ex);
}

/* contributions: forest_shap_run on the calling thread */
static const forest_executor_ops cpu_ops = {
    "cpu", cpu_predict, cpu_destroy, NULL
};

/* The block kernels this build has, widest first: the x86 ones only in x86
 * builds (their files and __builtin_cpu_supports are x86-only), NEON only
 * in AArch64 builds, where Advanced SIMD is part of the base ISA. */
#if defined(__x86_64__) || defined(__i386__)
static int
has_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
           && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
}

static int
has_avx512(void)
{
    return has_avx2() && __builtin_cpu_supports("avx512f")
           && __builtin_cpu_supports("avx512vl")
           && __builtin_cpu_supports("avx512bw")
           && __builtin_cpu_supports("avx512dq");
}
#endif

static int
always(void)
{
    return 1;
}

/*
 * Batches of at most few_max rows walk trees side by side (few_rows) rather
 * than rows (block); blocked: the plan's blocked copy of dense trees, for
 * few_rows.  few_max is where the block kernel overtakes on the bench
 * models (one tree per lane costs the same per row at any batch, the block
 * kernels' vectors fill up): AVX-512 ties on the XGBoost model at 11 rows
 * and wins on both at 12; AVX2's 8-row vectors only at 16 on the LightGBM
 * one.
 */
typedef struct {
    const char   *name;
    cpu_block_fn  block;
    cpu_block_fn  few_rows;
    size_t        few_max;
    int           blocked;
    int         (*runs)(void);
} cpu_kernel;

static const cpu_kernel kernels[] = {
#if defined(__x86_64__) || defined(__i386__)
    { "avx512", forest_cpu_block_avx512, forest_cpu_rows_by_tree_avx512, 10,
      1, has_avx512 },
    { "avx2", forest_cpu_block_avx2, forest_cpu_rows_by_tree_avx2, 12, 1,
      has_avx2 },
#endif
#if defined(__aarch64__)
    { "neon", forest_cpu_block_neon, forest_cpu_rows_by_tree, 4, 0, always },
#endif
    { "scalar", forest_cpu_block_scalar, forest_cpu_rows_by_tree, 4, 0,
      always },
};

#define N_KERNELS (sizeof(kernels) / sizeof(kernels[0]))

int
forest_cpu_simd_runs(const char *name)
{
    for (size_t k = 0; k < N_KERNELS; k++) {
        if (strcasecmp(name, kernels[k].name) == 0) {
            return kernels[k].runs();
        }
    }
    return 0;
}

/* FOREST_SIMD forces a kernel (tests, benchmarks); default: the widest. */
static const cpu_kernel *
pick_kernel(char *err, size_t errlen)
{
    const char *want = getenv("FOREST_SIMD");
    char        names[64] = "auto";

    for (size_t k = 0; k < N_KERNELS; k++) {
        if (want == NULL || *want == '\0' || strcasecmp(want, "auto") == 0) {
            if (kernels[k].runs()) {
                return &kernels[k];
            }
            continue;
        }
        if (strcasecmp(want, kernels[k].name) == 0 && kernels[k].runs()) {
            return &kernels[k];
        }
        if (kernels[k].runs()) {
            strcat(names, ", ");
            strcat(names, kernels[k].name);
        }
    }
    forest_errf(err, errlen, "cpu executor", "FOREST_SIMD=%s: not one of "
        "%s (the kernels this CPU runs)", want, names);
    return NULL;
}

forest_executor *
forest_cpu_executor_create(const forest_model *m, unsigned threads, char *err,
    size_t errlen)
{
    cpu_executor     *ex;
    const cpu_kernel *kernel = pick_kernel(err, errlen);

    if (kernel == NULL) {
        return NULL;
    }
    if (threads == 0) {
        threads = forest_cpu_count();
    }
    ex = calloc(1, sizeof(*ex));
    if (ex == NULL) {
        forest_errf(err, errlen, "cpu executor", "out of memory");
        return NULL;
    }
    ex->base.ops = &cpu_ops;
    ex->base.model = m;
    ex->block = kernel->block;
    ex->few_rows = kernel->few_rows;
    ex->few_max = kernel->few_max;
    if (forest_cpu_plan_build(&ex->plan, m, kernel->blocked, err, errlen) != 0)
    {
        free(ex);
        return NULL;
    }
    if (threads > 1) {
        /* the calling thread is one of the `threads` */
        ex->pool = forest_cpu_pool_create(threads - 1);
        if (ex->pool == NULL) {
            forest_errf(err, errlen, "cpu executor", "cannot start %u worker "
                "threads", threads - 1);
            forest_cpu_plan_free(&ex->plan);
            free(ex);
            return NULL;
        }
    }
    return &ex->base;
}
