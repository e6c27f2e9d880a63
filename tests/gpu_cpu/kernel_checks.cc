/*
 * The CPU execution layer's own checks (tests/suite_gpu_cpu.sh), built
 * like the kernels (g++ through gpu/cpu/cuda_runtime.h), once under
 * ASan+UBSan and once under TSan:
 *
 *   kernel_checks good   a kernel using every intrinsic the layer gives
 *                        (both kinds of shared memory, barriers, shuffles,
 *                        ballot, atomicAdd, a partial last block) must
 *                        give the host's sums, and launches past the
 *                        limits fail;
 *   kernel_checks BUG    a kernel with that bug must not finish quietly:
 *                        race (a shared slot read with no barrier after
 *                        another thread wrote it), oob-dynamic, oob-static
 *                        (a shared write past the end), oob-global (a read
 *                        past the input), divergent (a __syncthreads some
 *                        threads skip), shuffle-divergent (a lane of the
 *                        mask skips the shuffle).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

#include "gpu_launch.cuh"

#define BLOCK   128
#define WARPS   (BLOCK / 32)
#define N       300                   /* the last block is partial */
#define BLOCKS  ((N + BLOCK - 1) / BLOCK)
#define FULL    0xffffffffu

/* per block: the sum of x by a shared-memory tree and by warp shuffles,
 * and each warp's ballot of x > 0 */
__global__ void
block_sums(const int *x, size_t n, int *tree_sum, int *shfl_sum,
    int *xor_sum, unsigned *ballots)
{
    FOREST_DYNAMIC_SHARED(int, part);
    __shared__ int warp_part[WARPS];
    size_t         i = (size_t) blockIdx.x * blockDim.x + threadIdx.x;
    int            v = i < n ? x[i] : 0;
    unsigned       lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
    int            down = v, butterfly = v;
    unsigned       ballot = __ballot_sync(FULL, v > 0);

    part[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) {
            part[threadIdx.x] += part[threadIdx.x + s];
        }
        __syncthreads();
    }
    for (int d = warpSize / 2; d > 0; d /= 2) {
        down += __shfl_down_sync(FULL, down, d);
        butterfly += __shfl_xor_sync(FULL, butterfly, d);
    }
    /* every lane holds the butterfly's total: lane 0's reaches all */
    butterfly = __shfl_sync(FULL, butterfly, (int) (lane + 7) % warpSize)
        == __shfl_sync(FULL, butterfly, 0) ? butterfly : -1;
    if (lane == 0) {
        warp_part[warp] = down;
        ballots[blockIdx.x * WARPS + warp] = ballot;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        int s = 0;

        for (unsigned w = 0; w < WARPS; w++) {
            s += warp_part[w];
        }
        tree_sum[blockIdx.x] = part[0];
        shfl_sum[blockIdx.x] = s;
    }
    if (lane == warpSize - 1) {
        xor_sum[blockIdx.x * WARPS + warp] = butterfly;
    }
}

__global__ void
buggy(int bug, const int *x, size_t n, int *out)
{
    FOREST_DYNAMIC_SHARED(int, part);
    __shared__ int fixed[BLOCK];
    size_t         i = (size_t) blockIdx.x * blockDim.x + threadIdx.x;
    unsigned       t = threadIdx.x;

    switch (bug) {
    case 0:  /* race */
        part[t] = i < n ? x[i] : 0;
        out[i] = part[(t + 1) % blockDim.x];
        break;
    case 1:  /* oob-dynamic */
        part[t + 1] = 1;
        break;
    case 2:  /* oob-static */
        fixed[t + 1] = 1;
        out[i] = fixed[t + 1];
        break;
    case 3:  /* oob-global */
        out[i] = x[i];
        break;
    case 4:  /* divergent */
        if (t == 5) {
            return;
        }
        __syncthreads();
        break;
    case 5:  /* shuffle-divergent */
        if (t % warpSize == 3) {
            return;
        }
        out[i] = __shfl_down_sync(FULL, (int) t, 1);
        break;
    }
}

static const char *const bugs[] = {
    "race", "oob-dynamic", "oob-static", "oob-global", "divergent",
    "shuffle-divergent"
};

/* every thread of every block adds its x to one total */
__global__ void
atomic_sum(const int *x, size_t n, double *total)
{
    size_t i = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (i < n) {
        atomicAdd(total, (double) x[i]);
    }
}

static int
check_good(const int *x)
{
    int      tree[BLOCKS], shfl[BLOCKS], xr[BLOCKS * WARPS];
    unsigned ballots[BLOCKS * WARPS];
    int      bad = 0, want_total = 0;
    double   total = 0.0;

    FOREST_LAUNCH(block_sums, BLOCKS, BLOCK, BLOCK * sizeof(int), NULL, x,
        (size_t) N, tree, shfl, xr, ballots);
    if (cudaGetLastError() != cudaSuccess) {
        fprintf(stderr, "FAIL good: the launch failed\n");
        return 1;
    }
    for (int b = 0; b < BLOCKS; b++) {
        int want = 0;

        for (int i = b * BLOCK; i < N && i < (b + 1) * BLOCK; i++) {
            want += x[i];
        }
        bad |= tree[b] != want || shfl[b] != want;
        for (int w = 0; w < WARPS; w++) {
            int      wsum = 0;
            unsigned wb = 0;

            for (int l = 0; l < 32; l++) {
                int i = b * BLOCK + w * 32 + l;

                wsum += i < N ? x[i] : 0;
                wb |= i < N && x[i] > 0 ? 1u << l : 0u;
            }
            bad |= xr[b * WARPS + w] != wsum || ballots[b * WARPS + w] != wb;
        }
    }
    FOREST_LAUNCH(atomic_sum, BLOCKS, BLOCK, 0, NULL, x, (size_t) N, &total);
    for (int i = 0; i < N; i++) {
        want_total += x[i];
    }
    bad |= cudaGetLastError() != cudaSuccess || total != want_total;
    if (bad) {
        fprintf(stderr, "FAIL good: sums, ballots or the atomic total differ "
            "from the host's\n");
        return 1;
    }
    FOREST_LAUNCH(block_sums, 1, 2048, 0, NULL, x, (size_t) N, tree, shfl,
        xr, ballots);
    bad |= cudaGetLastError() != cudaErrorInvalidConfiguration;
    FOREST_LAUNCH(block_sums, 1, BLOCK, 64 * 1024, NULL, x, (size_t) N,
        tree, shfl, xr, ballots);
    bad |= cudaGetLastError() != cudaErrorInvalidConfiguration;
    if (bad) {
        fprintf(stderr, "FAIL good: a launch past the limits did not fail\n");
        return 1;
    }
    printf("ok good\n");
    return 0;
}

int
main(int argc, char **argv)
{
    int *x = (int *) malloc(N * sizeof(int));
    int *out = (int *) calloc(BLOCKS * BLOCK, sizeof(int));
    int  rc = 2;

    if (argc != 2 || x == NULL || out == NULL) {
        fprintf(stderr, "usage: kernel_checks good|BUG\n");
        return 2;
    }
    for (int i = 0; i < N; i++) {
        x[i] = (i * 37) % 11 - 4;
    }
    if (strcmp(argv[1], "good") == 0) {
        rc = check_good(x);
    }
    for (int b = 0; b < (int) (sizeof(bugs) / sizeof(bugs[0])); b++) {
        if (strcmp(argv[1], bugs[b]) == 0) {
            FOREST_LAUNCH(buggy, BLOCKS, BLOCK, BLOCK * sizeof(int), NULL, b,
                x, (size_t) N, out);
            printf("%s: no fault reported\n", bugs[b]);
            rc = 0;
        }
    }
    free(x);
    free(out);
    return rc;
}
