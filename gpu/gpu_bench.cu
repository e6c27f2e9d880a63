/*
 * Kernel-only timing for the GPU benchmark (bench/gpu.sh): the input is
 * uploaded once, so the figure is the traversal itself, which is what the
 * instruction-issue and memory floors in the README are computed for.
 */
#include <stdio.h>
#include <stdlib.h>

#include "forest_gpu.h"
#include "gpu_kernel.h"

#define GPU_BENCH_MAX_LAUNCHES 4096
/* a repeat's launches take about this long: a slow kernel at a small
 * batch (ROWS walking 5,000 trees for one row) would otherwise take
 * minutes of the device run */
#define GPU_BENCH_REPEAT_MS    50.0f

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}

static int
bench_failed(cudaError_t rc, const char *what, char *err, size_t errlen)
{
    if (rc == cudaSuccess) {
        return 0;
    }
    snprintf(err, errlen, "CUDA %s: %s", what, cudaGetErrorString(rc));
    return -1;
}

/* ms of `launches` launches of batch rows each, from d_in's start */
static int
time_launches(const gpu_forest *dev, forest_gpu_kernel kernel,
    const float *d_in, float *d_out, uint32_t cols, size_t batch,
    size_t launches, cudaEvent_t start, cudaEvent_t stop, float *ms,
    char *err, size_t errlen)
{
    int rc = 0;

    cudaEventRecord(start, 0);
    for (size_t i = 0; i < launches && rc == 0; i++) {
        rc = bench_failed(forest_gpu_predict_launch(dev, kernel,
                 d_in + i * batch * dev->n_features, batch, 0,
                 d_out + i * batch * cols, cols, 0), "launch", err, errlen);
    }
    cudaEventRecord(stop, 0);
    if (rc == 0) {
        rc = bench_failed(cudaEventSynchronize(stop), "kernel", err, errlen);
    }
    *ms = 0.0f;
    cudaEventElapsedTime(ms, start, stop);
    return rc;
}

static int
time_batch(const gpu_forest *dev, forest_gpu_kernel kernel,
    const float *d_in, float *d_out, uint32_t cols, size_t n_rows,
    size_t batch, unsigned reps, double *rows_per_s, char *err,
    size_t errlen)
{
    cudaEvent_t start, stop;
    double     *runs = (double *) calloc(reps, sizeof(double));
    size_t      launches = n_rows / batch;
    float       ms = 0.0f;
    int         rc;

    if (runs == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    /* one launch, untimed as a result: warms up and sizes the repeats */
    rc = time_launches(dev, kernel, d_in, d_out, cols, batch, 1, start, stop,
        &ms, err, errlen);
    if (ms > 0.0f && GPU_BENCH_REPEAT_MS / ms < (float) launches) {
        launches = (size_t) (GPU_BENCH_REPEAT_MS / ms);
    }
    launches = launches < 1 ? 1 : launches;
    launches = launches > GPU_BENCH_MAX_LAUNCHES ? GPU_BENCH_MAX_LAUNCHES
                                                 : launches;
    for (unsigned r = 0; r < reps && rc == 0; r++) {
        rc = time_launches(dev, kernel, d_in, d_out, cols, batch, launches,
            start, stop, &ms, err, errlen);
        runs[r] = (double) (launches * batch) / (ms / 1e3);
    }
    if (rc == 0) {
        qsort(runs, reps, sizeof(double), cmp_double);
        *rows_per_s = runs[reps / 2];
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    free(runs);
    return rc;
}

extern "C" int
forest_gpu_kernel_bench(const forest_model *m, forest_gpu_kernel kernel,
    const float *rows, size_t n_rows, const size_t *batches, size_t n_batches,
    unsigned reps, double *rows_per_s, char *err, size_t errlen)
{
    gpu_forest host, dev;
    float     *d_in = NULL, *d_out = NULL;
    uint32_t   cols = forest_output_columns(m, 0);
    int        rc;

    if (reps == 0 || forest_gpu_layout_build(m, &host, err, errlen) != 0) {
        return -1;
    }
    rc = forest_gpu_upload(&host, &dev, err, errlen);
    forest_gpu_layout_free_host(&host);
    if (rc != 0) {
        return -1;
    }
    rc = bench_failed(cudaMalloc((void **) &d_in,
                          n_rows * m->n_features * sizeof(float)), "alloc",
                      err, errlen)
         || bench_failed(cudaMalloc((void **) &d_out,
                             n_rows * cols * sizeof(float)), "alloc", err,
                         errlen)
         || bench_failed(cudaMemcpy(d_in, rows,
                             n_rows * m->n_features * sizeof(float),
                             cudaMemcpyHostToDevice), "copy", err, errlen);
    for (size_t i = 0; i < n_batches && rc == 0; i++) {
        if (batches[i] == 0 || batches[i] > n_rows) {
            snprintf(err, errlen, "batch %zu is not in 1..%zu", batches[i],
                n_rows);
            rc = -1;
            break;
        }
        rc = time_batch(&dev, kernel, d_in, d_out, cols, n_rows, batches[i],
            reps, &rows_per_s[i], err, errlen);
    }
    cudaFree(d_in);
    cudaFree(d_out);
    forest_gpu_free_device(&dev);
    return rc ? -1 : 0;
}
