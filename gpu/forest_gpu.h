/*
 * The CUDA executor: implements forest_exec.h on an NVIDIA GPU.  Only built
 * where nvcc exists (FOREST_HAVE_CUDA / NGX_FOREST_CUDA); callers compile the
 * calls out otherwise.
 */
#ifndef FOREST_GPU_H
#define FOREST_GPU_H

#include "forest_exec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of usable CUDA devices, or -1 with the CUDA runtime's reason in err.
 * Call it in the process that will use the GPU (never before fork()). */
int forest_gpu_probe(char *err, size_t errlen);

/* How a batch's rows and trees spread over the GPU's threads. */
typedef enum {
    FOREST_GPU_KERNEL_AUTO = 0,  /* by batch size (forest_gpu_kernel_for) */
    FOREST_GPU_KERNEL_ROWS,      /* one thread per row walks every tree */
    FOREST_GPU_KERNEL_TREES      /* a block per row tile splits the trees */
} forest_gpu_kernel;

typedef struct {
    int         device;              /* CUDA device ordinal */
    size_t      transfer_threshold;  /* batches below this many rows run on the CPU */
    unsigned    cpu_threads;         /* threads of the CPU executor used below it */
    unsigned    streams;             /* batches in flight at once (0 = 4) */
    forest_gpu_kernel  kernel;       /* AUTO unless the configuration forces one */
} forest_gpu_options;

/*
 * A GPU executor for m.  Returns NULL with the reason in err when the GPU
 * cannot run this model or no GPU is usable; the caller then decides whether
 * that is fatal (device=gpu) or means the CPU (device=auto).
 */
forest_executor *forest_gpu_executor_create(const forest_model *m,
    const forest_gpu_options *opt, char *err, size_t errlen);

/*
 * The same layout and per-row walk as the GPU executor, run on the CPU:
 * checks them where there is no GPU (`forest predict --device gpu-host`).
 * NULL with the reason in err when the GPU layout cannot hold m.
 */
forest_executor *forest_gpu_host_executor_create(const forest_model *m,
    char *err, size_t errlen);

/*
 * The layout and the kernel launches themselves, compiled by g++ through
 * the CPU execution layer (gpu/cpu/) and run on CPU threads: only in the
 * check builds of make test-gpu-cpu (`--device gpu-cpu`).
 */
forest_executor *forest_gpu_cpu_executor_create(const forest_model *m,
    char *err, size_t errlen);

/*
 * For bench/: times the traversal kernel alone on rows already resident on
 * the device (no transfers).  For each batches[i], runs the input in batches
 * of that size (at most 4096 launches a repeat), repeats reps times and
 * stores the median rows/s in rows_per_s[i].  n_rows must be >= every batch.
 */
int forest_gpu_kernel_bench(const forest_model *m, const float *rows,
    size_t n_rows, const size_t *batches, size_t n_batches, unsigned reps,
    double *rows_per_s, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* FOREST_GPU_H */
