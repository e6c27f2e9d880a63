/*
 * Three strategies.  ROWS: one thread per row walks every tree; a block
 * first stages its rows in shared memory (coalesced global reads; an odd
 * row stride keeps the random feature reads of a warp off the same bank),
 * then each thread descends with one 16-byte node load per level through
 * the read-only cache.  COMPACT, for throughput: the same walk over 8-byte
 * nodes, each thread walking several rows through a tree together (their
 * loads of its top levels are the same nodes, and their independent walks
 * overlap their load latencies); the block stages as many trees as fit in
 * shared memory, walks them, then stages the next, so each node comes from
 * global memory once a block, not once a row.  TREES, for latency: a block
 * takes a tile of rows and its threads split the trees, so a batch costs
 * about one walk of n_trees / GPU_BLOCK trees plus a reduction.
 */
#include "gpu_walk.cuh"
#include "gpu_kernel.h"
#include "gpu_launch.cuh"

#define GPU_BLOCK      128
#define GPU_WARP       32
/* rows a TREES block sums: each thread's walks of its trees reuse the
 * tile's node loads from cache.  Awaits the first GPU measurement. */
#define GPU_TREES_TILE 4
/* rows a COMPACT thread walks together where the sums are one register a
 * row (otherwise 1: a row's GPU_MAX_OUTPUTS sums already fill the
 * registers).  Awaits the first GPU measurement. */
#define GPU_COMPACT_ROWS 4

template <bool SCALAR>
struct compact_shape {
    static constexpr uint32_t rows = SCALAR ? GPU_COMPACT_ROWS : 1;
    static constexpr uint32_t sums = SCALAR ? 1 : GPU_MAX_OUTPUTS;
};

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

/*
 * Tree at root (an index into nodes, a stage or the whole compact layout)
 * for the thread's rows x[0..live), walked together a level at a time, and
 * its leaves added to their sums.  Every loop runs to R and tests r < live
 * inside, so that unrolled, each row's node, cursor and sums are registers
 * (a runtime index would put them in local memory).
 */
template <bool STAGED, bool SCALAR>
__device__ static inline void
compact_tree(const gpu_forest &f, const gpu_cnode *nodes, uint32_t root,
    int32_t g, const float *const *x, uint32_t live,
    float (&acc)[compact_shape<SCALAR>::rows][compact_shape<SCALAR>::sums])
{
    constexpr uint32_t R = compact_shape<SCALAR>::rows;
    uint32_t           at[R];
    gpu_cnode          nd[R];
    bool               more = true;

    for (uint32_t r = 0; r < R; r++) {
        at[r] = root;
        nd[r] = gpu_load_cnode<STAGED>(nodes, root);
    }
    while (more) {
        more = false;
        for (uint32_t r = 0; r < R; r++) {
            uint32_t c = gpu_cchild(f, nd[r]);

            if (r < live && c != 0) {
                bool left = gpu_cgoes_left(f, nd[r],
                                           x[r][gpu_cfeature(f, nd[r])]);

                at[r] += c + (left ? 0u : 1u);
                nd[r] = gpu_load_cnode<STAGED>(nodes, at[r]);
                more = true;
            }
        }
    }
    for (uint32_t r = 0; r < R; r++) {
        uint32_t vec;

        memcpy(&vec, &nd[r].value, sizeof(vec));
        if (r < live) {
            gpu_add_leaf<SCALAR>(f, g, nd[r].value, vec, acc[r][0], acc[r]);
        }
    }
}

/*
 * A block's threads take rows first, first + blockDim.x, ... (R of them
 * each) and add every tree in order, as ROWS does: the same sums, bit for
 * bit.  STAGED: the trees go through shared memory a stage
 * (gpu_stage_end) at a time; every thread, with rows or not, helps stage
 * and meets the barriers.
 */
template <bool STAGED, bool SCALAR>
__global__ void
gpu_compact_kernel(gpu_forest f, const float *__restrict__ X, size_t n_rows,
    int margin, float *__restrict__ out, uint32_t out_cols)
{
    constexpr uint32_t R = compact_shape<SCALAR>::rows;
    constexpr uint32_t K = compact_shape<SCALAR>::sums;
    FOREST_DYNAMIC_SHARED(gpu_cnode, stage);
    const size_t first = (size_t) blockIdx.x * blockDim.x * R + threadIdx.x;
    const float *x[R];
    float        acc[R][K];
    uint32_t     live = 0;

    for (uint32_t r = 0; r < R; r++) {
        size_t row = first + (size_t) r * blockDim.x;

        live += row < n_rows ? 1 : 0;
        x[r] = row < n_rows ? X + row * f.n_features : X;
        for (uint32_t k = 0; k < K; k++) {
            acc[r][k] = 0.0f;
        }
    }
    for (uint32_t t0 = 0; t0 < f.n_trees; ) {
        const uint32_t t1 = STAGED ? gpu_stage_end(f, t0) : f.n_trees;
        const uint32_t base = STAGED ? gpu_ro(&f.roots[t0]) : 0;

        if (STAGED) {
            const uint32_t n = gpu_ro(&f.roots[t1]) - base;

            for (uint32_t i = threadIdx.x; i < n; i += blockDim.x) {
                stage[i] = gpu_load_cnode<false>(f.cnodes, base + i);
            }
            __syncthreads();
        }
        for (uint32_t t = t0; t < t1; t++) {
            compact_tree<STAGED, SCALAR>(f, STAGED ? stage : f.cnodes,
                gpu_ro(&f.roots[t]) - base, gpu_ro(&f.groups[t]), x, live,
                acc);
        }
        if (STAGED) {
            __syncthreads();
        }
        t0 = t1;
    }
    for (uint32_t r = 0; r < R; r++) {
        if (r < live) {
            gpu_finish_row(f, acc[r], margin,
                out + (first + (size_t) r * blockDim.x) * out_cols);
        }
    }
}

static size_t
staged_bytes(const gpu_forest *f)
{
    return (size_t) GPU_BLOCK * (f->n_features | 1u) * sizeof(float);
}

static int
rows_fit_shared(const gpu_forest *f)
{
    return staged_bytes(f) <= GPU_SMEM_LIMIT;
}

int
forest_gpu_can_stage(const gpu_forest *f, forest_gpu_kernel kernel)
{
    switch (kernel) {
    case FOREST_GPU_KERNEL_ROWS:
        return rows_fit_shared(f);
    case FOREST_GPU_KERNEL_COMPACT:
        return f->cnodes != NULL && f->cstage > 0;
    default:
        return 0;
    }
}

/* named through pointers: a template's comma would split the macro's
 * arguments */
typedef void (*kernel_fn)(gpu_forest, const float *, size_t, int, float *,
    uint32_t);

template <bool STAGED, bool SCALAR>
static void
launch_rows(const gpu_forest *dev, const float *X, size_t n_rows, int margin,
    float *out, uint32_t out_cols, cudaStream_t stream)
{
    kernel_fn kernel = gpu_predict_kernel<STAGED, SCALAR>;
    size_t    blocks = (n_rows + GPU_BLOCK - 1) / GPU_BLOCK;

    FOREST_LAUNCH(kernel, blocks, GPU_BLOCK, STAGED ? staged_bytes(dev) : 0,
        stream, *dev, X, n_rows, margin, out, out_cols);
}

template <bool STAGED, bool SCALAR>
static void
launch_compact(const gpu_forest *dev, const float *X, size_t n_rows,
    int margin, float *out, uint32_t out_cols, cudaStream_t stream)
{
    kernel_fn kernel = gpu_compact_kernel<STAGED, SCALAR>;
    size_t    per_block = (size_t) GPU_BLOCK * compact_shape<SCALAR>::rows;
    size_t    blocks = (n_rows + per_block - 1) / per_block;

    FOREST_LAUNCH(kernel, blocks, GPU_BLOCK,
        STAGED ? dev->cstage * sizeof(gpu_cnode) : 0, stream, *dev, X,
        n_rows, margin, out, out_cols);
}

template <bool SCALAR>
static void
launch_trees(const gpu_forest *dev, const float *X, size_t n_rows,
    int margin, float *out, uint32_t out_cols, cudaStream_t stream)
{
    kernel_fn kernel = gpu_trees_kernel<SCALAR>;
    size_t    blocks = (n_rows + GPU_TREES_TILE - 1) / GPU_TREES_TILE;
    size_t    smem = (size_t) (GPU_BLOCK / GPU_WARP) * GPU_TREES_TILE
                     * dev->n_outputs * sizeof(float);

    FOREST_LAUNCH(kernel, blocks, GPU_BLOCK, smem, stream, *dev, X, n_rows,
        margin, out, out_cols);
}

template <bool SCALAR>
static void
launch(const gpu_forest *dev, forest_gpu_kernel kernel, int staged,
    const float *X, size_t n_rows, int margin, float *out, uint32_t out_cols,
    cudaStream_t stream)
{
    if (kernel == FOREST_GPU_KERNEL_TREES) {
        launch_trees<SCALAR>(dev, X, n_rows, margin, out, out_cols, stream);
    } else if (kernel == FOREST_GPU_KERNEL_COMPACT && staged) {
        launch_compact<true, SCALAR>(dev, X, n_rows, margin, out, out_cols,
            stream);
    } else if (kernel == FOREST_GPU_KERNEL_COMPACT) {
        launch_compact<false, SCALAR>(dev, X, n_rows, margin, out, out_cols,
            stream);
    } else if (staged) {
        launch_rows<true, SCALAR>(dev, X, n_rows, margin, out, out_cols,
            stream);
    } else {
        launch_rows<false, SCALAR>(dev, X, n_rows, margin, out, out_cols,
            stream);
    }
}

cudaError_t
forest_gpu_launch_variant(const gpu_forest *dev, forest_gpu_kernel kernel,
    int staged, const float *X, size_t n_rows, int margin, float *out,
    uint32_t out_cols, cudaStream_t stream)
{
    if (n_rows == 0) {
        return cudaSuccess;
    }
    if (gpu_scalar_sums(*dev)) {
        launch<true>(dev, kernel, staged, X, n_rows, margin, out, out_cols,
            stream);
    } else {
        launch<false>(dev, kernel, staged, X, n_rows, margin, out, out_cols,
            stream);
    }
    return cudaGetLastError();
}

forest_gpu_kernel
forest_gpu_kernel_for(const gpu_forest *f, forest_gpu_kernel kernel,
    size_t n_rows)
{
    if (kernel == FOREST_GPU_KERNEL_AUTO) {
        kernel = n_rows <= FOREST_GPU_TREES_MAX_ROWS ? FOREST_GPU_KERNEL_TREES
                                                     : FOREST_GPU_KERNEL_COMPACT;
    }
    if (kernel == FOREST_GPU_KERNEL_COMPACT && f->cnodes == NULL) {
        kernel = FOREST_GPU_KERNEL_ROWS;
    }
    return kernel;
}

cudaError_t
forest_gpu_predict_launch(const gpu_forest *dev, forest_gpu_kernel kernel,
    const float *X, size_t n_rows, int margin, float *out, uint32_t out_cols,
    cudaStream_t stream)
{
    kernel = forest_gpu_kernel_for(dev, kernel, n_rows);
    return forest_gpu_launch_variant(dev, kernel,
        forest_gpu_can_stage(dev, kernel), X, n_rows, margin, out, out_cols,
        stream);
}
