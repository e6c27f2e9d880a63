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

static int
time_batch(const gpu_forest *dev, const float *d_in, float *d_out,
    uint32_t cols, size_t n_rows, size_t batch, unsigned reps,
    double *rows_per_s, char *err, size_t errlen)
{
    cudaEvent_t start, stop;
    double     *runs = (double *) calloc(reps, sizeof(double));
    size_t      launches = n_rows / batch;
    int         rc = 0;

    if (runs == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    launches = launches > GPU_BENCH_MAX_LAUNCHES ? GPU_BENCH_MAX_LAUNCHES
                                                 : launches;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    for (unsigned r = 0; r < reps && rc == 0; r++) {
        float ms = 0.0f;

        cudaEventRecord(start, 0);
        for (size_t i = 0; i < launches && rc == 0; i++) {
            rc = bench_failed(forest_gpu_predict_launch(dev,
                     FOREST_GPU_KERNEL_AUTO, d_in + i * batch * dev->n_features, batch, 0,
                     d_out + i * batch * cols, cols, 0), "launch", err,
                     errlen);
        }
        cudaEventRecord(stop, 0);
        if (rc == 0) {
            rc = bench_failed(cudaEventSynchronize(stop), "kernel", err,
                errlen);
        }
        cudaEventElapsedTime(&ms, start, stop);
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
forest_gpu_kernel_bench(const forest_model *m, const float *rows,
    size_t n_rows, const size_t *batches, size_t n_batches, unsigned reps,
    double *rows_per_s, char *err, size_t errlen)
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
        rc = time_batch(&dev, d_in, d_out, cols, n_rows, batches[i], reps,
            &rows_per_s[i], err, errlen);
    }
    cudaFree(d_in);
    cudaFree(d_out);
    forest_gpu_free_device(&dev);
    return rc ? -1 : 0;
}
