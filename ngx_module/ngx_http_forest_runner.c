/*
 * The module's own executor threads (the default; forest_thread_pool picks
 * an NGINX thread pool instead).
 *
 * Why not only NGINX's thread pool: it signals its condition variable while
 * holding the queue mutex and completes through the one shared ngx_notify(),
 * so on a busy core a batch costs four to six context switches (the woken
 * thread preempts the event loop, then blocks on the mutex, ...).  Measured
 * on 1-row requests that hand-off was about 2.5 us of a 14 us request.
 * Here a job costs two: the event loop wakes a thread only when one is idle,
 * after releasing the mutex, and a thread writes the worker's eventfd only
 * when the completed list was empty, so one wakeup of the event loop
 * collects every job that finished meanwhile.
 *
 * Lifecycle: ngx_http_forest_runner_init() in init_process, _post() on the
 * event loop, _exit() in exit_process, which stops the threads after their
 * current job and joins them.  A job that never completes is not possible
 * here: jobs are bounded computations, and a worker with jobs in flight is
 * kept alive by the batcher's own timer until they are answered.
 */
#include "ngx_http_forest_module.h"

#include <pthread.h>
#include <sys/eventfd.h>


typedef struct {
    pthread_mutex_t           mutex;
    pthread_cond_t            cond;

    ngx_http_forest_job_t    *head;              /* waiting, FIFO */
    ngx_http_forest_job_t   **tail;
    ngx_uint_t                waiting;
    ngx_uint_t                max_queue;
    ngx_uint_t                idle;              /* threads in cond_wait */
    ngx_flag_t                stop;

    ngx_http_forest_job_t    *done;              /* completed, LIFO */

    int                       efd;
    ngx_connection_t         *notify;
    pthread_t                *tids;
    ngx_uint_t                n_threads;
} ngx_http_forest_runner_t;


static void *ngx_http_forest_runner_thread(void *data);
static void ngx_http_forest_runner_handler(ngx_event_t *ev);


static ngx_http_forest_runner_t  ngx_http_forest_runner;


ngx_int_t
ngx_http_forest_runner_init(ngx_cycle_t *cycle, ngx_uint_t threads,
    ngx_uint_t max_queue)
{
    int                        err;
    ngx_uint_t                 i;
    ngx_event_t               *rev;
    ngx_http_forest_runner_t  *rn = &ngx_http_forest_runner;

    ngx_memzero(rn, sizeof(ngx_http_forest_runner_t));
    rn->tail = &rn->head;
    rn->max_queue = max_queue;
    rn->efd = -1;

    if (pthread_mutex_init(&rn->mutex, NULL) != 0
        || pthread_cond_init(&rn->cond, NULL) != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "forest: cannot create the executor threads' lock");
        return NGX_ERROR;
    }

    rn->efd = eventfd(0, EFD_NONBLOCK|EFD_CLOEXEC);
    if (rn->efd == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "forest: eventfd() failed");
        return NGX_ERROR;
    }

    rn->notify = ngx_get_connection(rn->efd, cycle->log);
    if (rn->notify == NULL) {
        close(rn->efd);
        rn->efd = -1;
        return NGX_ERROR;
    }

    rev = rn->notify->read;
    rev->handler = ngx_http_forest_runner_handler;
    rev->log = cycle->log;

    if (ngx_add_event(rev, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_close_connection(rn->notify);
        rn->notify = NULL;
        rn->efd = -1;
        return NGX_ERROR;
    }

    rn->tids = ngx_palloc(cycle->pool, threads * sizeof(pthread_t));
    if (rn->tids == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < threads; i++) {
        err = pthread_create(&rn->tids[i], NULL,
                             ngx_http_forest_runner_thread, rn);
        if (err != 0) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, err,
                          "forest: cannot start executor thread %ui of %ui",
                          i + 1, threads);
            return NGX_ERROR;
        }

        rn->n_threads++;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_forest_runner_post(ngx_http_forest_job_t *job, ngx_log_t *log)
{
    ngx_uint_t                 wake;
    ngx_http_forest_runner_t  *rn = &ngx_http_forest_runner;

    job->next = NULL;

    pthread_mutex_lock(&rn->mutex);

    if (rn->waiting >= rn->max_queue) {
        pthread_mutex_unlock(&rn->mutex);
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "forest: the executor queue is full: %ui batches "
                      "waiting", rn->max_queue);
        return NGX_DECLINED;
    }

    *rn->tail = job;
    rn->tail = &job->next;
    rn->waiting++;
    wake = rn->idle;

    pthread_mutex_unlock(&rn->mutex);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "forest runner post %p, idle threads:%ui", job->data,
                   wake);

    /* after the unlock: the woken thread must not block on the mutex */
    if (wake) {
        pthread_cond_signal(&rn->cond);
    }

    return NGX_OK;
}


void
ngx_http_forest_runner_exit(ngx_cycle_t *cycle)
{
    ngx_uint_t                 i;
    ngx_http_forest_runner_t  *rn = &ngx_http_forest_runner;

    if (rn->tids == NULL && rn->notify == NULL) {
        return;
    }

    pthread_mutex_lock(&rn->mutex);
    rn->stop = 1;
    pthread_mutex_unlock(&rn->mutex);
    pthread_cond_broadcast(&rn->cond);

    for (i = 0; i < rn->n_threads; i++) {
        pthread_join(rn->tids[i], NULL);
    }

    rn->n_threads = 0;
    rn->tids = NULL;

    /* closed here, so that the exiting worker finds no socket left open */
    if (rn->notify != NULL) {
        ngx_close_connection(rn->notify);
        rn->notify = NULL;
        rn->efd = -1;
    }
}


static void *
ngx_http_forest_runner_thread(void *data)
{
    ngx_http_forest_runner_t *rn = data;

    uint64_t                one = 1;
    ngx_uint_t              notify;
    ngx_http_forest_job_t  *job;
    sigset_t                set;

    /* signals are the worker's event loop's, as in NGINX's thread pool */
    sigfillset(&set);
    sigdelset(&set, SIGILL);
    sigdelset(&set, SIGFPE);
    sigdelset(&set, SIGSEGV);
    sigdelset(&set, SIGBUS);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    pthread_mutex_lock(&rn->mutex);

    for ( ;; ) {
        while (rn->head == NULL && !rn->stop) {
            rn->idle++;
            pthread_cond_wait(&rn->cond, &rn->mutex);
            rn->idle--;
        }

        if (rn->stop) {
            break;
        }

        job = rn->head;
        rn->head = job->next;
        if (rn->head == NULL) {
            rn->tail = &rn->head;
        }
        rn->waiting--;

        pthread_mutex_unlock(&rn->mutex);

        job->run(job->data);

        pthread_mutex_lock(&rn->mutex);

        notify = (rn->done == NULL);
        job->next = rn->done;
        rn->done = job;

        if (notify) {
            /*
             * outside the mutex, which the woken event loop takes at once;
             * a later job finds the list non-empty and relies on this write
             */
            pthread_mutex_unlock(&rn->mutex);
            (void) !write(rn->efd, &one, sizeof(uint64_t));
            pthread_mutex_lock(&rn->mutex);
        }
    }

    pthread_mutex_unlock(&rn->mutex);

    return NULL;
}


static void
ngx_http_forest_runner_handler(ngx_event_t *ev)
{
    uint64_t                   count;
    ngx_http_forest_job_t     *job, *next, *fifo;
    ngx_http_forest_runner_t  *rn = &ngx_http_forest_runner;

    while (read(rn->efd, &count, sizeof(uint64_t)) == sizeof(uint64_t)) {
        /* void */
    }

    pthread_mutex_lock(&rn->mutex);
    job = rn->done;
    rn->done = NULL;
    pthread_mutex_unlock(&rn->mutex);

    /* completed in the order they finished */
    for (fifo = NULL; job != NULL; job = next) {
        next = job->next;
        job->next = fifo;
        fifo = job;
    }

    for (job = fifo; job != NULL; job = next) {
        next = job->next;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                       "forest runner complete %p", job->data);

        job->done(job->data);
    }
}
