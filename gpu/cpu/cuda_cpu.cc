/*
 * The CPU execution layer's launches (see cuda_runtime.h beside this file):
 * a block's threads are threads of a pool, started together per block.
 * A barrier of the block counts the threads still running: a thread that
 * returns while others wait at a __syncthreads, or one that reaches it
 * after another has returned, is a divergent barrier (undefined on a GPU,
 * where it may hang) and is reported as a fault; so is a shuffle whose
 * mask names a lane that returned, or lanes that disagree on the mask.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "cuda_runtime.h"

thread_local forest_cpu_thread forest_cpu_self;

static thread_local cudaError_t forest_cpu_last_error = cudaSuccess;

namespace {

/* Threads of a block that wait at different barriers (a __syncthreads and a
 * shuffle) wait forever, as on a GPU; far longer than any check's kernel
 * takes, that is reported instead. */
const std::chrono::seconds stuck_after(60);

template <typename P>
void
wait_or_fault(std::condition_variable &cv, std::unique_lock<std::mutex> &lk,
    P done, const char *where)
{
    if (!cv.wait_for(lk, stuck_after, done)) {
        forest_cpu_fault("no progress for %lld s at %s: threads of the "
            "block wait at different barriers", (long long) stuck_after.count(),
            where);
    }
}

/* __syncthreads: its mutex orders the memory of the threads that arrive
 * before the ones that leave, as a GPU barrier does (and TSan sees it so). */
struct block_barrier {
    std::mutex              mu;
    std::condition_variable cv;
    unsigned                running = 0, arrived = 0, exited = 0;
    unsigned long           generation = 0;

    void wait()
    {
        std::unique_lock<std::mutex> lk(mu);
        unsigned long                gen = generation;

        if (exited > 0) {
            forest_cpu_fault("divergent __syncthreads: %u thread(s) of the "
                "block returned before it", exited);
        }
        if (++arrived == running) {
            arrived = 0;
            generation++;
            cv.notify_all();
            return;
        }
        wait_or_fault(cv, lk, [&] { return generation != gen; },
            "__syncthreads");
    }

    void leave()
    {
        std::lock_guard<std::mutex> lk(mu);

        if (arrived > 0) {
            forest_cpu_fault("divergent __syncthreads: a thread returned "
                "while %u wait(s) at it", arrived);
        }
        exited++;
    }
};

/* A warp's shuffles: the lanes of the mask deposit, then all read, before
 * any lane deposits again. */
struct warp_state {
    std::mutex              mu;
    std::condition_variable cv;
    unsigned                mask = 0, deposited = 0, collected = 0;
    unsigned                gone = 0;      /* lanes returned or absent */
    bool                    reading = false;
    uint64_t                value[warpSize] = {};
};

}  // namespace

struct forest_cpu_block {
    block_barrier           sync;
    std::vector<warp_state> warps;
    void                   *smem;
};

void
forest_cpu_fault(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "gpu-cpu: block (%u,%u,%u) thread (%u,%u,%u): ",
        blockIdx.x, blockIdx.y, blockIdx.z,
        threadIdx.x, threadIdx.y, threadIdx.z);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void
forest_cpu_syncthreads(void)
{
    forest_cpu_self.block->sync.wait();
}

void *
forest_cpu_dynamic_shared(void)
{
    return forest_cpu_self.block->smem;
}

static unsigned
linear_thread(void)
{
    return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
}

void
forest_cpu_warp_exchange(unsigned mask, uint64_t v, uint64_t *all)
{
    warp_state                  &w = forest_cpu_self.block->warps[
        linear_thread() / warpSize];
    unsigned                     lane = linear_thread() % warpSize;
    unsigned                     n = (unsigned) __builtin_popcount(mask);
    std::unique_lock<std::mutex> lk(w.mu);

    if (!(mask >> lane & 1u)) {
        forest_cpu_fault("lane %u is not in its shuffle's mask %#x", lane,
            mask);
    }
    wait_or_fault(w.cv, lk, [&] { return !w.reading; }, "a warp shuffle");
    if (mask & w.gone) {
        forest_cpu_fault("divergent warp shuffle: mask %#x names lanes %#x "
            "that returned or do not exist", mask, mask & w.gone);
    }
    if (w.deposited == 0) {
        w.mask = mask;
    } else if (w.mask != mask) {
        forest_cpu_fault("shuffle masks differ in a warp: %#x and %#x",
            w.mask, mask);
    }
    w.value[lane] = v;
    if (++w.deposited == n) {
        w.reading = true;
        w.cv.notify_all();
    } else {
        wait_or_fault(w.cv, lk, [&] { return w.reading; }, "a warp shuffle");
    }
    memcpy(all, w.value, sizeof(w.value));
    if (++w.collected == n) {
        w.reading = false;
        w.deposited = 0;
        w.collected = 0;
        w.cv.notify_all();
    }
}

static void
warp_leave(warp_state &w, unsigned lane)
{
    std::lock_guard<std::mutex> lk(w.mu);

    if (w.deposited > 0 && !w.reading && (w.mask >> lane & 1u)) {
        forest_cpu_fault("divergent warp shuffle: lane %u returned while "
            "its mask %#x waits for it", lane, w.mask);
    }
    w.gone |= 1u << lane;
}

cudaError_t
cudaGetLastError(void)
{
    cudaError_t e = forest_cpu_last_error;

    forest_cpu_last_error = cudaSuccess;
    return e;
}

const char *
cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess:
        return "no error";
    case cudaErrorMemoryAllocation:
        return "out of memory";
    case cudaErrorInvalidConfiguration:
        return "invalid configuration argument";
    }
    return "unknown error";
}

/* the limits of compute capability 8.0 and 9.0, without opting in to more
 * than 48 KiB of dynamic shared memory */
static bool
launch_fits(dim3 grid, dim3 block, size_t smem)
{
    unsigned long threads = (unsigned long) block.x * block.y * block.z;

    return threads >= 1 && threads <= 1024 && block.z <= 64
        && grid.x >= 1 && grid.x <= 0x7fffffffu && grid.y >= 1
        && grid.y <= 65535 && grid.z >= 1 && grid.z <= 65535
        && smem <= 48 * 1024;
}

/* The threads that run the blocks, made once a process (thread creation
 * dominates a check's time under TSan) and kept, blocked, until it exits:
 * never freed, as they may still wait on it then. */
struct worker_pool {
    std::mutex                    mu;
    std::condition_variable       start, finish;
    unsigned                      made = 0, want = 0, done = 0;
    unsigned long                 round = 0;
    std::function<void(unsigned)> job;    /* set for a round, then read only */
};

static worker_pool &
workers(void)
{
    static worker_pool *p = new worker_pool;

    return *p;
}

static void
worker(unsigned t)
{
    worker_pool                 &p = workers();
    unsigned long                seen = 0;
    std::unique_lock<std::mutex> lk(p.mu);

    for (;;) {
        p.start.wait(lk, [&] { return p.round != seen; });
        seen = p.round;
        if (t >= p.want) {
            continue;
        }
        lk.unlock();
        p.job(t);
        lk.lock();
        if (++p.done == p.want) {
            p.finish.notify_all();
        }
    }
}

static void
run_block(dim3 grid, dim3 block, uint3 at, forest_cpu_block &blk,
    const std::function<void()> &body)
{
    worker_pool                 &p = workers();
    unsigned                     n = block.x * block.y * block.z;
    std::unique_lock<std::mutex> lk(p.mu);

    blk.sync.running = n;
    blk.warps = std::vector<warp_state>((n + warpSize - 1) / warpSize);
    for (unsigned l = n % warpSize; l > 0 && l < warpSize; l++) {
        blk.warps.back().gone |= 1u << l;
    }
    for (; p.made < n; p.made++) {
        std::thread(worker, p.made).detach();
    }
    p.job = [&](unsigned t) {
        forest_cpu_self.thread_idx = { t % block.x, t / block.x % block.y,
            t / (block.x * block.y) };
        forest_cpu_self.block_idx = at;
        forest_cpu_self.block_dim = block;
        forest_cpu_self.grid_dim = grid;
        forest_cpu_self.block = &blk;
        body();
        blk.sync.leave();
        warp_leave(blk.warps[t / warpSize], t % warpSize);
    };
    p.want = n;
    p.done = 0;
    p.round++;
    p.start.notify_all();
    p.finish.wait(lk, [&] { return p.done == p.want; });
}

cudaError_t
forest_cpu_run(dim3 grid, dim3 block, size_t smem,
    const std::function<void()> &body)
{
    static std::mutex one_launch;

    if (!launch_fits(grid, block, smem)) {
        forest_cpu_last_error = cudaErrorInvalidConfiguration;
        return forest_cpu_last_error;
    }
    std::lock_guard<std::mutex> lk(one_launch);

    for (unsigned z = 0; z < grid.z; z++) {
        for (unsigned y = 0; y < grid.y; y++) {
            for (unsigned x = 0; x < grid.x; x++) {
                forest_cpu_block blk;

                /* exactly the launch's bytes: ASan flags any access past */
                blk.smem = malloc(smem);
                if (blk.smem == NULL && smem > 0) {
                    forest_cpu_last_error = cudaErrorMemoryAllocation;
                    return forest_cpu_last_error;
                }
                run_block(grid, block, { x, y, z }, blk, body);
                free(blk.smem);
            }
        }
    }
    return cudaSuccess;
}
