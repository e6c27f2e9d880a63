/*
 * `forest bench MODEL INPUT`: times the executor alone (model and input are
 * loaded and the executor built before the clock starts).  Each repeat walks
 * the input in batches, looping over it until at least MIN_REPEAT_SECONDS
 * have passed so small inputs still give a stable figure; the last line is
 * the median over the repeats.
 */
#include "cli.h"
#include "forest_exec.h"
#include "cpu_count.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MIN_REPEAT_SECONDS 0.2
#define DEFAULT_BATCH      1024
#define DEFAULT_REPEAT     5

static double
now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
compare_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}

/* One pass over the input; -1 after printing the executor's error. */
static int
one_pass(forest_executor *ex, const forest_matrix *mat, size_t batch,
    float *out)
{
    char err[FOREST_ERR_LEN];

    for (size_t r0 = 0; r0 < mat->n_rows; r0 += batch) {
        size_t n = mat->n_rows - r0 < batch ? mat->n_rows - r0 : batch;

        if (forest_executor_predict(ex, mat->values + r0 * mat->n_cols, n, 0,
                out, err, sizeof(err)) != 0)
        {
            return cli_fail("prediction failed: %s", err);
        }
    }
    return 0;
}

static int
run_bench(forest_executor *ex, const forest_matrix *mat, const cli_args *a)
{
    const forest_model *m = ex->model;
    size_t              batch = a->batch ? a->batch : DEFAULT_BATCH;
    unsigned            repeat = a->repeat ? a->repeat : DEFAULT_REPEAT;
    double             *rate;
    float              *out;
    int                 rc = 0;

    if (mat->n_rows == 0) {
        return cli_fail("%s: no rows to time", a->pos[1]);
    }
    batch = batch < mat->n_rows ? batch : mat->n_rows;
    out = malloc(batch * forest_output_columns(m, 0) * sizeof(float));
    rate = malloc(repeat * sizeof(double));
    if (out == NULL || rate == NULL) {
        free(out);
        free(rate);
        return cli_fail("out of memory");
    }
    printf("rows=%zu features=%u trees=%u batch=%zu threads=%u repeat=%u\n",
        mat->n_rows, m->n_features, m->n_trees, batch,
        a->threads != 0 ? a->threads : forest_cpu_count(), repeat);
    /* warm-up: first-touch page faults and the thread pool spinning up */
    rc = one_pass(ex, mat, batch, out);
    for (unsigned i = 0; i < repeat && rc == 0; i++) {
        double t0 = now_seconds(), dt;
        size_t rows = 0;

        do {
            rc = one_pass(ex, mat, batch, out);
            rows += mat->n_rows;
            dt = now_seconds() - t0;
        } while (rc == 0 && dt < MIN_REPEAT_SECONDS);
        rate[i] = rows / dt;
        printf("repeat %u: %.0f rows in %.3f s, %.6g rows/s\n", i + 1,
            (double) rows, dt, rate[i]);
    }
    if (rc == 0) {
        double med;

        qsort(rate, repeat, sizeof(double), compare_double);
        med = repeat % 2 ? rate[repeat / 2]
                         : (rate[repeat / 2 - 1] + rate[repeat / 2]) / 2;
        printf("rows/s=%.6g ns/row/tree=%.6g\n", med,
            1e9 / med / m->n_trees);
    }
    free(out);
    free(rate);
    return rc;
}

int
cmd_bench(int argc, char **argv)
{
    cli_args a = { 0 };

    if (cli_parse_args(argc, argv, 2, "bench", CLI_OPT_FORMAT | CLI_OPT_BATCH
            | CLI_OPT_THREADS | CLI_OPT_REPEAT | CLI_OPT_FEATURES
            | CLI_OPT_DEVICE | CLI_OPT_GPU_KERNEL, 2, &a) != 0)
    {
        return CLI_EXIT_USAGE;
    }
    return cli_run_executor(&a, run_bench);
}
