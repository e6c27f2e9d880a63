/*
 * Worker pool for the CPU executor (cpu_pool.h).  Jobs wait in a FIFO; a
 * worker joins the job at its head and claims task numbers with an atomic
 * counter until none are left.  A job leaves the queue once all its tasks
 * are claimed, and its caller returns only after every worker that joined
 * it has left, since the job lives on the caller's stack.
 */
#include "cpu_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct cpu_job {
    cpu_task_fn      task;
    void            *ctx;
    size_t           n;
    atomic_size_t    next;
    atomic_int       failed;
    unsigned         helpers;     /* workers inside; under pool->lock */
    int              queued;      /* under pool->lock */
    struct cpu_job  *after;
} cpu_job;

struct cpu_pool {
    pthread_mutex_t  lock;
    pthread_cond_t   work;        /* a job was queued, or stop */
    pthread_cond_t   left;        /* a worker left a job */
    cpu_job         *head, *tail;
    int              stop;
    unsigned         n_threads;
    pthread_t       *threads;
};

static void
work_on(cpu_job *job)
{
    for (;;) {
        size_t i = atomic_fetch_add(&job->next, 1);

        if (i >= job->n) {
            return;
        }
        if (job->task(job->ctx, i) != 0) {
            atomic_store(&job->failed, 1);
        }
    }
}

/* under pool->lock */
static void
dequeue(cpu_pool *pool, cpu_job *job)
{
    cpu_job **pp = &pool->head, *prev = NULL;

    if (!job->queued) {
        return;
    }
    while (*pp != job) {
        prev = *pp;
        pp = &(*pp)->after;
    }
    *pp = job->after;
    if (pool->tail == job) {
        pool->tail = prev;
    }
    job->queued = 0;
}

static void *
worker_main(void *arg)
{
    cpu_pool *pool = arg;

    pthread_mutex_lock(&pool->lock);
    for (;;) {
        cpu_job *job;

        while (pool->head == NULL && !pool->stop) {
            pthread_cond_wait(&pool->work, &pool->lock);
        }
        if (pool->stop) {
            break;
        }
        job = pool->head;
        job->helpers++;
        pthread_mutex_unlock(&pool->lock);

        work_on(job);

        pthread_mutex_lock(&pool->lock);
        dequeue(pool, job);
        if (--job->helpers == 0) {
            pthread_cond_broadcast(&pool->left);
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

cpu_pool *
forest_cpu_pool_create(unsigned workers)
{
    cpu_pool *pool = calloc(1, sizeof(*pool));

    if (pool == NULL) {
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->left, NULL);
    pool->threads = calloc(workers ? workers : 1, sizeof(pthread_t));
    if (pool->threads == NULL) {
        forest_cpu_pool_destroy(pool);
        return NULL;
    }
    for (unsigned i = 0; i < workers; i++) {
        if (pthread_create(&pool->threads[i], NULL, worker_main, pool) != 0) {
            forest_cpu_pool_destroy(pool);
            return NULL;
        }
        pool->n_threads++;
    }
    return pool;
}

void
forest_cpu_pool_destroy(cpu_pool *pool)
{
    if (pool == NULL) {
        return;
    }
    pthread_mutex_lock(&pool->lock);
    pool->stop = 1;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->n_threads; i++) {
        pthread_join(pool->threads[i], NULL);
    }
    pthread_cond_destroy(&pool->left);
    pthread_cond_destroy(&pool->work);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool);
}

int
forest_cpu_pool_run(cpu_pool *pool, cpu_task_fn task, void *ctx, size_t n)
{
    cpu_job job = { .task = task, .ctx = ctx, .n = n, .queued = 1 };

    atomic_init(&job.next, 0);
    atomic_init(&job.failed, 0);
    pthread_mutex_lock(&pool->lock);
    if (pool->tail != NULL) {
        pool->tail->after = &job;
    } else {
        pool->head = &job;
    }
    pool->tail = &job;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);

    work_on(&job);

    pthread_mutex_lock(&pool->lock);
    dequeue(pool, &job);
    while (job.helpers > 0) {
        pthread_cond_wait(&pool->left, &pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    return atomic_load(&job.failed) ? -1 : 0;
}
