/*
 * Kernel launches and dynamic shared memory through macros: nvcc's syntax
 * here, the CPU execution layer's (gpu/cpu/cuda_runtime.h) when g++
 * compiles the same kernel sources for make test-gpu-cpu.
 */
#ifndef FOREST_GPU_LAUNCH_CUH
#define FOREST_GPU_LAUNCH_CUH

#ifndef FOREST_CUDA_CPU
#define FOREST_LAUNCH(kernel, grid, block, smem, stream, ...) \
    kernel<<<grid, block, smem, stream>>>(__VA_ARGS__)
#define FOREST_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

#endif /* FOREST_GPU_LAUNCH_CUH */
