/* Launching the traversal kernel (gpu_kernel.cu) from host code. */
#ifndef FOREST_GPU_KERNEL_H
#define FOREST_GPU_KERNEL_H

#include <cuda_runtime.h>

#include "forest_gpu.h"
#include "gpu_layout.h"

/* Copies every array of host to the device; dev gets the device pointers.
 * -1 with err on failure (nothing left allocated). */
int  forest_gpu_upload(const gpu_forest *host, gpu_forest *dev, char *err,
    size_t errlen);
void forest_gpu_free_device(gpu_forest *dev);

/* Awaits the first GPU measurement: the crossover where the per-row
 * kernels' walks in parallel overtake TREES's shorter walks is expected
 * near the batch size at which they fill the GPU's threads. */
#define FOREST_GPU_TREES_MAX_ROWS 256

/* The strategy for a batch of n_rows of the forest f: AUTO takes TREES up
 * to FOREST_GPU_TREES_MAX_ROWS, COMPACT above; COMPACT where f has no
 * compact layout is ROWS; any other kernel is itself. */
forest_gpu_kernel forest_gpu_kernel_for(const gpu_forest *f,
    forest_gpu_kernel kernel, size_t n_rows);

/* dev: a gpu_forest whose arrays are device pointers.  X: n_rows x
 * n_features on the device; out: n_rows x out_cols on the device.  Runs
 * forest_gpu_kernel_for's choice, staged wherever it can be. */
cudaError_t forest_gpu_predict_launch(const gpu_forest *dev,
    forest_gpu_kernel kernel, const float *X, size_t n_rows, int margin,
    float *out, uint32_t out_cols, cudaStream_t stream);

/* The variants, for the CPU execution layer's checks (gpu/cpu/) and the
 * benchmark: kernel ROWS, COMPACT (where dev has the compact layout) or
 * TREES; staged: ROWS's rows or COMPACT's trees go through shared memory
 * (only where forest_gpu_can_stage; TREES ignores it). */
int         forest_gpu_can_stage(const gpu_forest *f, forest_gpu_kernel kernel);
cudaError_t forest_gpu_launch_variant(const gpu_forest *dev,
    forest_gpu_kernel kernel, int staged, const float *X, size_t n_rows,
    int margin, float *out, uint32_t out_cols, cudaStream_t stream);

#endif /* FOREST_GPU_KERNEL_H */
