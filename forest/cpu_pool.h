/*
 * A persistent pool of worker threads running numbered tasks.  Several
 * callers may run jobs at once; each caller also works on its own job, so a
 * job always finishes even while the workers are busy elsewhere.
 */
#ifndef CPU_POOL_H
#define CPU_POOL_H

#include <stddef.h>

typedef struct cpu_pool cpu_pool;

/* Runs task(ctx, i) for one i; returns 0 or -1 (the job then fails). */
typedef int (*cpu_task_fn)(void *ctx, size_t i);

/* workers: threads besides the callers (0 is allowed: callers do all). */
cpu_pool *forest_cpu_pool_create(unsigned workers);
void forest_cpu_pool_destroy(cpu_pool *pool);

/* Runs task for i in [0, n) across the caller and the workers; returns when
 * all are done: 0, or -1 when some task failed. */
int forest_cpu_pool_run(cpu_pool *pool, cpu_task_fn task, void *ctx, size_t n);

#endif /* CPU_POOL_H */
