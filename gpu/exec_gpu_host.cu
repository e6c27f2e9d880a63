/*
 * The "gpu-host" executor: the GPU executor's layout (gpu_layout.cu) and
 * per-row walk (gpu_walk.cuh) run on the CPU, one row after another.  Not
 * for serving: it lets tests/parity.py check everything of the GPU path
 * but the launch itself on a machine without a GPU (`forest predict
 * --device gpu-host`), so a session that gets a GPU starts from a layout
 * and kernel body already known to match the libraries.
 */
#include "forest_gpu.h"
#include "gpu_walk.cuh"

static int
gpu_host_predict(forest_executor *base, const float *rows, size_t n_rows,
    int margin, float *out, char *err, size_t errlen)
{
    const gpu_forest &f = ((gpu_layout_executor *) base)->host;
    bool              scalar = gpu_scalar_sums(f);
    uint32_t          cols = forest_output_columns(base->model, margin);
    float             acc[GPU_MAX_OUTPUTS];

    (void) err;
    (void) errlen;
    for (size_t r = 0; r < n_rows; r++) {
        const float *x = rows + r * f.n_features;

        if (scalar) {
            gpu_walk_row<true>(f, x, acc);
        } else {
            gpu_walk_row<false>(f, x, acc);
        }
        gpu_finish_row(f, acc, margin, out + r * cols);
    }
    return 0;
}

static const forest_executor_ops gpu_host_ops = {
    "gpu-host", gpu_host_predict, forest_gpu_layout_executor_destroy, NULL
};

extern "C" forest_executor *
forest_gpu_host_executor_create(const forest_model *m, char *err,
    size_t errlen)
{
    return forest_gpu_layout_executor_create(m, &gpu_host_ops, err, errlen);
}
