/* The CPU kernels this architecture's build has, by their FOREST_SIMD
 * names (test_exec_cpu.c, test_edge_values.c). */
#ifndef SIMD_LEVELS_H
#define SIMD_LEVELS_H

static const char *const simd_levels[] = {
    "scalar",
#if defined(__aarch64__)
    "neon",
#else
    "avx2", "avx512",
#endif
};

#endif
