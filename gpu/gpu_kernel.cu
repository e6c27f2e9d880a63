/*
 * Two strategies.  ROWS, for throughput: one thread per row walks every
 * tree; a block first stages its rows in shared memory (coalesced global
 * reads; an odd row stride keeps the random feature reads of a warp off the
 * same bank), then each thread descends with one 16-byte node load per
 * level through the read-only cache.  TREES, for latency: a block takes a
 * tile of rows and its threads split the trees, so a batch costs about one
 * walk of n_trees / GPU_BLOCK trees plus a reduction.
 */
#include "gpu_walk.cuh"
#include "gpu_kernel.h"
#include "gpu_launch.cuh"

#define GPU_BLOCK      128
#define GPU_SMEM_LIMIT (48 * 1024)
#define GPU_WARP       32
/* rows a TREES block sums: each thread's walks of its trees reuse the
 * tile's node loads from cache.  Awaits the first GPU measurement. */
#define GPU_TREES_TILE 4

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

/*
 * Each thread adds the leaves of trees threadIdx.x, threadIdx.x +
 * blockDim.x, ... for each row of the block's tile; a warp's sums meet by
 * shuffles, then the warps' in shared memory (part: warp x tile row x
 * output), in a fixed order: the same outputs on every run.
 */
template <bool SCALAR>
__global__ void
gpu_trees_kernel(gpu_forest f, const float *__restrict__ X, size_t n_rows,
    int margin, float *__restrict__ out, uint32_t out_cols)
{
    FOREST_DYNAMIC_SHARED(float, part);
    const uint32_t K = f.n_outputs;
    const size_t   first = (size_t) blockIdx.x * GPU_TREES_TILE;
    const uint32_t nr = (uint32_t) min((size_t) GPU_TREES_TILE,
                                       n_rows - first);
    const uint32_t lane = threadIdx.x % GPU_WARP;
    const uint32_t warp = threadIdx.x / GPU_WARP;
    float          acc[GPU_MAX_OUTPUTS];
    float          acc0;

    for (uint32_t r = 0; r < nr; r++) {
        const float *x = X + (first + r) * f.n_features;

        gpu_zero_sums<SCALAR>(f, acc0, acc);
        for (uint32_t t = threadIdx.x; t < f.n_trees; t += blockDim.x) {
            gpu_add_tree<SCALAR>(f, x, t, acc0, acc);
        }
        for (uint32_t k = 0; k < K; k++) {
            float v = SCALAR ? acc0 : acc[k];

            for (uint32_t d = GPU_WARP / 2; d > 0; d /= 2) {
                v += __shfl_down_sync(0xffffffffu, v, d);
            }
            if (lane == 0) {
                part[(warp * GPU_TREES_TILE + r) * K + k] = v;
            }
        }
    }
    __syncthreads();
    if (threadIdx.x < nr) {
        for (uint32_t k = 0; k < K; k++) {
            float s = 0.0f;

            for (uint32_t w = 0; w < blockDim.x / GPU_WARP; w++) {
                s += part[(w * GPU_TREES_TILE + threadIdx.x) * K + k];
            }
            acc[k] = s;
        }
        gpu_finish_row(f, acc, margin,
            out + (first + threadIdx.x) * out_cols);
    }
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
launch_rows(const gpu_forest *dev, const float *X, size_t n_rows, int margin,
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
        launch_rows<true, true>(dev, X, n_rows, margin, out, out_cols, stream);
    } else if (staged) {
        launch_rows<true, false>(dev, X, n_rows, margin, out, out_cols,
            stream);
    } else if (scalar) {
        launch_rows<false, true>(dev, X, n_rows, margin, out, out_cols,
            stream);
    } else {
        launch_rows<false, false>(dev, X, n_rows, margin, out, out_cols,
            stream);
    }
    return cudaGetLastError();
}

static cudaError_t
launch_trees(const gpu_forest *dev, const float *X, size_t n_rows,
    int margin, float *out, uint32_t out_cols, cudaStream_t stream)
{
    size_t blocks = (n_rows + GPU_TREES_TILE - 1) / GPU_TREES_TILE;
    size_t smem = (size_t) (GPU_BLOCK / GPU_WARP) * GPU_TREES_TILE
                  * dev->n_outputs * sizeof(float);

    if (n_rows == 0) {
        return cudaSuccess;
    }
    if (gpu_scalar_sums(*dev)) {
        FOREST_LAUNCH(gpu_trees_kernel<true>, blocks, GPU_BLOCK, smem, stream,
            *dev, X, n_rows, margin, out, out_cols);
    } else {
        FOREST_LAUNCH(gpu_trees_kernel<false>, blocks, GPU_BLOCK, smem,
            stream, *dev, X, n_rows, margin, out, out_cols);
    }
    return cudaGetLastError();
}

forest_gpu_kernel
forest_gpu_kernel_for(forest_gpu_kernel kernel, size_t n_rows)
{
    if (kernel != FOREST_GPU_KERNEL_AUTO) {
        return kernel;
    }
    return n_rows <= FOREST_GPU_TREES_MAX_ROWS ? FOREST_GPU_KERNEL_TREES
                                               : FOREST_GPU_KERNEL_ROWS;
}

cudaError_t
forest_gpu_predict_launch(const gpu_forest *dev, forest_gpu_kernel kernel,
    const float *X, size_t n_rows, int margin, float *out, uint32_t out_cols,
    cudaStream_t stream)
{
    if (forest_gpu_kernel_for(kernel, n_rows) == FOREST_GPU_KERNEL_TREES) {
        return launch_trees(dev, X, n_rows, margin, out, out_cols, stream);
    }
    return forest_gpu_predict_launch_variant(dev,
        forest_gpu_rows_fit_shared(dev), X, n_rows, margin, out, out_cols,
        stream);
}
