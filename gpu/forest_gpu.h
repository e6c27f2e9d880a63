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
    FOREST_GPU_KERNEL_AUTO = 0,  /* by model and batch size (forest_gpu_kernel_for) */
    FOREST_GPU_KERNEL_ROWS,      /* one thread per row walks every tree */
    FOREST_GPU_KERNEL_TREES,     /* a block per row tile splits the trees */
    FOREST_GPU_KERNEL_COMPACT    /* 8-byte nodes staged in shared memory, a
                                  * thread walks several rows; ROWS where the
                                  * model does not fit the compact layout */
} forest_gpu_kernel;

/*
 * transfer_threshold's default: batches of fewer rows run on the CPU
 * executor, where the copies to and from the GPU and the launch cost more
 * than the walk.  Not measured (no GPU has run these kernels yet): an
 * estimate from about 50 us a small batch on the GPU against a few us a
 * row on one CPU core.  `bench/gpu.sh run` measures the crossover and
 * prints the value to put here.
 */
#define FOREST_GPU_TRANSFER_THRESHOLD 16

typedef struct {
    int         device;              /* CUDA device ordinal */
    size_t      transfer_threshold;  /* batches below this many rows run on the CPU
                                      * (FOREST_GPU_TRANSFER_THRESHOLD unless
                                      * configured) */
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
 * For bench/: times kernel (AUTO: forest_gpu_kernel_for's choice per batch)
 * alone on rows already resident on the device (no transfers).  For each
 * batches[i], runs the input in batches of that size (as many launches,
 * at most 4096, as take about 50 ms), repeats reps times and stores the
 * median rows/s in rows_per_s[i].  n_rows must be >= every batch.
 */
int forest_gpu_kernel_bench(const forest_model *m, forest_gpu_kernel kernel,
    const float *rows, size_t n_rows, const size_t *batches, size_t n_batches,
    unsigned reps, double *rows_per_s, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* FOREST_GPU_H */
