/*
 * One thread per row walks every tree.  A block first stages its rows in
 * shared memory (coalesced global reads; an odd row stride keeps the random
 * feature reads of a warp off the same bank), then each thread descends with
 * one 16-byte node load per level through the read-only cache.
 */
#include "gpu_walk.cuh"
#include "gpu_kernel.h"
#include "gpu_launch.cuh"

#define GPU_BLOCK      128
#define GPU_SMEM_LIMIT (48 * 1024)

template <bool STAGED, bool SCALAR>
__global__ void
gpu_predict_kernel(gpu_forest f, const float *__restrict__ X, size_t n_rows,
    int margin, float *__restrict__ out, uint32_t out_cols)
{
    FOREST_DYNAMIC_SHARED(float, staged);
    const uint32_t F = f.n_features;
    const size_t   first = (size_t) blockIdx.x * blockDim.x;
    const size_t   row = first + threadIdx.x;
    const float   *x;
    float          acc[GPU_MAX_OUTPUTS];

    if (STAGED) {
        const uint32_t stride = F | 1u;
        const size_t   nr = min((size_t) blockDim.x, n_rows - first);

        for (size_t i = threadIdx.x; i < nr * F; i += blockDim.x) {
            staged[(i / F) * stride + i % F] = X[first * F + i];
        }
        __syncthreads();
        x = staged + (size_t) threadIdx.x * stride;
    } else {
        x = X + row * F;
    }
    if (row >= n_rows) {
        return;
    }
    gpu_walk_row<SCALAR>(f, x, acc);
    gpu_finish_row(f, acc, margin, out + row * out_cols);
}

static size_t
staged_bytes(const gpu_forest *f)
{
    return (size_t) GPU_BLOCK * (f->n_features | 1u) * sizeof(float);
}

int
forest_gpu_rows_fit_shared(const gpu_forest *f)
{
    return staged_bytes(f) <= GPU_SMEM_LIMIT;
}

template <bool STAGED, bool SCALAR>
static void
launch(const gpu_forest *dev, const float *X, size_t n_rows, int margin,
    float *out, uint32_t out_cols, cudaStream_t stream)
{
    /* named through a pointer: the template's comma would split the
     * macro's arguments */
    void (*kernel)(gpu_forest, const float *, size_t, int, float *,
        uint32_t) = gpu_predict_kernel<STAGED, SCALAR>;
    size_t blocks = (n_rows + GPU_BLOCK - 1) / GPU_BLOCK;

    FOREST_LAUNCH(kernel, blocks, GPU_BLOCK, STAGED ? staged_bytes(dev) : 0,
        stream, *dev, X, n_rows, margin, out, out_cols);
}

cudaError_t
forest_gpu_predict_launch_variant(const gpu_forest *dev, int staged,
    const float *X, size_t n_rows, int margin, float *out, uint32_t out_cols,
    cudaStream_t stream)
{
    bool scalar = gpu_scalar_sums(*dev);

    if (n_rows == 0) {
        return cudaSuccess;
    }
    if (staged && scalar) {
        launch<true, true>(dev, X, n_rows, margin, out, out_cols, stream);
    } else if (staged) {
        launch<true, false>(dev, X, n_rows, margin, out, out_cols, stream);
    } else if (scalar) {
        launch<false, true>(dev, X, n_rows, margin, out, out_cols, stream);
    } else {
        launch<false, false>(dev, X, n_rows, margin, out, out_cols, stream);
    }
    return cudaGetLastError();
}

cudaError_t
forest_gpu_predict_launch(const gpu_forest *dev, const float *X,
    size_t n_rows, int margin, float *out, uint32_t out_cols,
    cudaStream_t stream)
{
    return forest_gpu_predict_launch_variant(dev,
        forest_gpu_rows_fit_shared(dev), X, n_rows, margin, out, out_cols,
        stream);
}
