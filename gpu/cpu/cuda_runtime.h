/*
 * The CPU execution layer: stands in for the CUDA toolkit's cuda_runtime.h
 * when g++ compiles the kernel sources as they are (force-included, and
 * found as <cuda_runtime.h> through -Igpu/cpu), so that a launch runs on the
 * CPU with its block and thread indexing, shared memory, barriers and warp
 * shuffles (make test-gpu-cpu).
 *
 * The blocks of a launch run one after another (they are independent); a
 * block runs as blockDim OS threads with a real barrier at __syncthreads,
 * so that ASan sees every out-of-bounds global or shared access (dynamic
 * shared memory is a heap block of exactly the launch's size, a static
 * __shared__ array a function static) and TSan a read of a shared slot
 * that another thread of the block wrote with no barrier in between.  Only
 * the intrinsics the kernels and tests/gpu_cpu/kernel_checks.cc use are
 * here.
 */
#ifndef FOREST_CUDA_CPU_H
#define FOREST_CUDA_CPU_H

#define FOREST_CUDA_CPU 1

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

/* the kernels' device branches are what a GPU runs */
#define __CUDA_ARCH__ 800

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
/* blocks run one at a time and launches are serialised: one copy a kernel */
#define __shared__ static

#define warpSize 32

struct uint3 {
    unsigned x, y, z;
};

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1)
        : x(vx), y(vy), z(vz) {}
};

/* as on the device: an 8- or 16-byte load must be aligned to its size */
struct alignas(8) uint2 {
    unsigned x, y;
};

struct alignas(16) uint4 {
    unsigned x, y, z, w;
};

typedef enum {
    cudaSuccess = 0,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9
} cudaError_t;

typedef struct forest_cpu_stream *cudaStream_t;

/* what a thread of the running block sees */
struct forest_cpu_thread {
    uint3                    thread_idx, block_idx;
    dim3                     block_dim, grid_dim;
    struct forest_cpu_block *block;
};

extern thread_local forest_cpu_thread forest_cpu_self;

#define threadIdx (forest_cpu_self.thread_idx)
#define blockIdx  (forest_cpu_self.block_idx)
#define blockDim  (forest_cpu_self.block_dim)
#define gridDim   (forest_cpu_self.grid_dim)

cudaError_t cudaGetLastError(void);
const char *cudaGetErrorString(cudaError_t e);

/* Reports a fault of the running kernel (what would trap or hang a GPU)
 * and aborts. */
[[noreturn]] void forest_cpu_fault(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

void  forest_cpu_syncthreads(void);
void *forest_cpu_dynamic_shared(void);
/* Every lane of mask deposits v; returns the 32 lanes' deposits in all
 * (lanes outside mask: unset). */
void  forest_cpu_warp_exchange(unsigned mask, uint64_t v, uint64_t *all);
cudaError_t forest_cpu_run(dim3 grid, dim3 block, size_t smem,
    const std::function<void()> &body);

static inline void
__syncthreads(void)
{
    forest_cpu_syncthreads();
}

template <typename T>
static inline T
__ldg(const T *p)
{
    T v;

    if ((uintptr_t) p % alignof(T) != 0) {
        forest_cpu_fault("misaligned %zu-byte __ldg at %p", sizeof(T),
            (const void *) p);
    }
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline float
__uint_as_float(unsigned u)
{
    float f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

template <typename T>
static inline T
min(T a, T b)
{
    return b < a ? b : a;
}

static inline unsigned
forest_cpu_lane(void)
{
    unsigned t = threadIdx.x + blockDim.x * (threadIdx.y
        + blockDim.y * threadIdx.z);

    return t % warpSize;
}

/* The value of lane src of the warp (src in the caller's group of width
 * lanes, or the caller's own value where src is -1). */
template <typename T>
static inline T
forest_cpu_shuffle(unsigned mask, T var, int src)
{
    static_assert(sizeof(T) <= sizeof(uint64_t) && std::is_trivially_copyable<T>::value,
        "shuffles move at most 8 bytes");
    uint64_t mine = 0, all[warpSize];
    T        got;

    memcpy(&mine, &var, sizeof(var));
    forest_cpu_warp_exchange(mask, mine, all);
    if (src < 0) {
        return var;
    }
    if (!(mask >> src & 1u)) {
        forest_cpu_fault("lane %u shuffles from lane %d, outside mask %#x",
            forest_cpu_lane(), src, mask);
    }
    memcpy(&got, &all[src], sizeof(got));
    return got;
}

template <typename T>
static inline T
__shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize)
{
    int lane = (int) forest_cpu_lane();

    return forest_cpu_shuffle(mask, var,
        (lane & ~(width - 1)) + (src_lane & (width - 1)));
}

template <typename T>
static inline T
__shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize)
{
    int lane = (int) forest_cpu_lane();

    return forest_cpu_shuffle(mask, var,
        (lane & (width - 1)) + (int) delta < width ? lane + (int) delta : -1);
}

template <typename T>
static inline T
__shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize)
{
    int lane = (int) forest_cpu_lane();
    int src = lane ^ lane_mask;

    /* a later group of width lanes is out of reach: the caller's own */
    return forest_cpu_shuffle(mask, var,
        src >= (lane & ~(width - 1)) + width ? -1 : src);
}

static inline unsigned
__ballot_sync(unsigned mask, int pred)
{
    uint64_t all[warpSize];
    unsigned bits = 0;

    forest_cpu_warp_exchange(mask, pred != 0, all);
    for (unsigned l = 0; l < warpSize; l++) {
        bits |= (mask >> l & 1u) && all[l] ? 1u << l : 0u;
    }
    return bits;
}

/* A block's threads run at once: a real atomic read-modify-write, as
 * sm_60 and later have for double (and an 8-byte alignment fault). */
static inline double
atomicAdd(double *p, double v)
{
    double old, sum;

    if ((uintptr_t) p % alignof(double) != 0) {
        forest_cpu_fault("misaligned atomicAdd at %p", (void *) p);
    }
    __atomic_load(p, &old, __ATOMIC_RELAXED);
    do {
        sum = old + v;
    } while (!__atomic_compare_exchange(p, &old, &sum, false,
                 __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return old;
}

/* kernel<<<grid, block, smem, stream>>>(args...): each thread gets its own
 * copy of the arguments, converted to the kernel's parameter types */
template <typename... P, typename... A>
static inline cudaError_t
forest_cpu_launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem,
    cudaStream_t stream, A &&...args)
{
    const std::tuple<std::decay_t<P>...> params(std::forward<A>(args)...);

    (void) stream;
    return forest_cpu_run(grid, block, smem, [&] {
        std::apply(kernel, params);
    });
}

#define FOREST_LAUNCH(kernel, grid, block, smem, stream, ...) \
    ((void) forest_cpu_launch(kernel, grid, block, smem, stream, __VA_ARGS__))

#define FOREST_DYNAMIC_SHARED(type, name) \
    type *const name = static_cast<type *>(forest_cpu_dynamic_shared())

#endif /* FOREST_CUDA_CPU_H */
