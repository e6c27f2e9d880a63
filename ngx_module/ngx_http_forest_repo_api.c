/*
 * Triton's model repository extension over forest_model_repository:
 *
 *   GET|POST /v2/repository/index                  every model, its state
 *   POST     /v2/repository/models/{m}/load        (forest_repository_control)
 *   POST     /v2/repository/models/{m}/unload
 *
 * and the poll= timer.  Load and unload change the state file and send the
 * master SIGHUP: the reload reads every repository again, new workers serve
 * the result and the old ones finish their requests.  The request waits on
 * a timer until the master's STATE.result has its answer; its worker, told
 * to quit by that very reload, stays until it has answered.
 */
#include "ngx_http_forest_module.h"

#include <signal.h>
#include <sys/stat.h>


#define NGX_HTTP_FOREST_REPO_WAIT     25      /* ms between looks */
#define NGX_HTTP_FOREST_REPO_TIMEOUT  60000   /* ms for a reload */


typedef struct {
    ngx_event_t               ev;
    ngx_http_request_t       *request;
    ngx_http_forest_main_conf_t  *fmcf;
    ngx_str_t                 name;
    ngx_uint_t                unload;
    uint64_t                  seq;
    ngx_msec_t                waited;
} ngx_http_forest_repo_wait_t;


static ngx_int_t ngx_http_forest_repo_folder(
    ngx_http_forest_main_conf_t *fmcf, ngx_str_t *name);
static ngx_int_t ngx_http_forest_repo_signal(ngx_log_t *log);
static void ngx_http_forest_repo_wait_handler(ngx_event_t *ev);
static void ngx_http_forest_repo_wait_cleanup(void *data);
static void ngx_http_forest_repo_poll_handler(ngx_event_t *ev);


static ngx_event_t  ngx_http_forest_repo_poll_ev;
static uint64_t     ngx_http_forest_repo_poll_signalled;


ngx_int_t
ngx_http_forest_repo_index(ngx_http_request_t *r,
    ngx_http_forest_main_conf_t *fmcf)
{
    u_char                        *buf, *p, *end, *name, *version, *reason;
    size_t                         size;
    ngx_uint_t                     i, n;
    ngx_http_forest_model_t      **models;
    ngx_http_forest_repo_entry_t  *e;

    models = fmcf->models.elts;
    e = fmcf->repo.unavailable.elts;

    size = 16 + fmcf->models.nelts
                * (NGX_HTTP_FOREST_JSON_LEN(NGX_HTTP_FOREST_NAME_MAX
                                            + NGX_HTTP_FOREST_VERSION_MAX)
                   + 96);

    for (i = 0; i < fmcf->repo.unavailable.nelts; i++) {
        size += NGX_HTTP_FOREST_JSON_LEN(e[i].name.len + e[i].reason.len
                                         + NGX_HTTP_FOREST_VERSION_MAX)
                + 96;
    }

    buf = ngx_pnalloc(r->pool, size);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    end = buf + size;
    p = ngx_slprintf(buf, end, "[");
    n = 0;

    for (i = 0; i < fmcf->models.nelts; i++) {
        name = ngx_http_forest_json_string(r->pool,
                                           (char *) models[i]->name.data);
        version = ngx_http_forest_json_string(r->pool,
                                            (char *) models[i]->version.data);
        if (name == NULL || version == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_slprintf(p, end,
                         "%s{\"name\":%s,\"version\":%s,\"state\":\"%s\","
                         "\"reason\":\"%s\"}",
                         n++ ? "," : "", name, version,
                         models[i]->executor ? "READY" : "UNAVAILABLE",
                         models[i]->executor ? ""
                                             : "no executor in this worker");
    }

    for (i = 0; i < fmcf->repo.unavailable.nelts; i++) {
        name = ngx_pnalloc(r->pool, e[i].name.len + e[i].reason.len + 2);
        if (name == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* NUL-terminated copies for the JSON escaper */
        reason = ngx_cpymem(name, e[i].name.data, e[i].name.len);
        *reason++ = '\0';
        *ngx_cpymem(reason, e[i].reason.data, e[i].reason.len) = '\0';

        name = ngx_http_forest_json_string(r->pool, (char *) name);
        reason = ngx_http_forest_json_string(r->pool, (char *) reason);
        if (name == NULL || reason == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_slprintf(p, end, "%s{\"name\":%s,", n++ ? "," : "", name);

        if (e[i].version.len) {
            p = ngx_slprintf(p, end, "\"version\":\"%V\",", &e[i].version);
        }

        p = ngx_slprintf(p, end, "\"state\":\"UNAVAILABLE\",\"reason\":%s}",
                         reason);
    }

    p = ngx_slprintf(p, end, "]");

    if (p == end) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_forest_send(r, NGX_HTTP_OK, "application/json", buf,
                                p - buf);
}


/* POST /v2/repository/models/{name}/{action} */
ngx_int_t
ngx_http_forest_repo_control(ngx_http_request_t *r,
    ngx_http_forest_main_conf_t *fmcf, ngx_str_t *name, ngx_str_t *action)
{
    ngx_int_t                     rc;
    ngx_uint_t                    unload;
    ngx_pool_cleanup_t           *cln;
    ngx_http_forest_model_t      *m;
    ngx_http_forest_loc_conf_t   *flcf;
    ngx_http_forest_repo_wait_t  *w;

    if (action->len == 4 && ngx_strncmp(action->data, "load", 4) == 0) {
        unload = 0;

    } else if (action->len == 6
               && ngx_strncmp(action->data, "unload", 6) == 0)
    {
        unload = 1;

    } else {
        return ngx_http_forest_no_endpoint(r);
    }

    if (!(r->method & NGX_HTTP_POST)) {
        return ngx_http_forest_not_allowed(r, "POST");
    }

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_forest_module);

    if (!flcf->repo_control) {
        return ngx_http_forest_send_error(r, NULL, NGX_HTTP_FORBIDDEN,
                                          NGX_LOG_INFO,
                                          "model control is off here "
                                          "(forest_repository_control on; "
                                          "enables load and unload)");
    }

    /* the request outlives its configuration in a single process */
    if (ngx_process != NGX_PROCESS_WORKER) {
        return ngx_http_forest_send_error(r, NULL, NGX_HTTP_BAD_REQUEST,
                                          NGX_LOG_INFO,
                                          "model control needs "
                                          "master_process on");
    }

    if (fmcf->repo.dirs.nelts == 0) {
        return ngx_http_forest_send_error(r, NULL, NGX_HTTP_BAD_REQUEST,
                                          NGX_LOG_INFO,
                                          "no forest_model_repository to "
                                          "load models from");
    }

    m = ngx_http_forest_model_find(fmcf, name, NULL);

    if (m != NULL && m->config.len == 0) {
        return ngx_http_forest_send_error(r, NULL, NGX_HTTP_BAD_REQUEST,
                                          NGX_LOG_INFO,
                                          "model \"%V\" is defined by "
                                          "forest_model, not by a "
                                          "repository", name);
    }

    if (ngx_http_forest_valid_name(name) != NGX_OK
        || (m == NULL && ngx_http_forest_repo_folder(fmcf, name) != NGX_OK))
    {
        return ngx_http_forest_send_error(r, NULL, NGX_HTTP_NOT_FOUND,
                                          NGX_LOG_INFO,
                                          "no model \"%V\" in the model "
                                          "repositories", name);
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    w = ngx_pcalloc(r->pool, sizeof(ngx_http_forest_repo_wait_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (w == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w->request = r;
    w->fmcf = fmcf;
    w->name = *name;
    w->unload = unload;

    if (ngx_http_forest_repo_update(r->connection->log, r->pool,
                                    &fmcf->repo.state, name, unload, &w->seq)
        != NGX_OK)
    {
        return ngx_http_forest_send_error(r, NULL,
                                          NGX_HTTP_INTERNAL_SERVER_ERROR,
                                          NGX_LOG_ERR,
                                          "cannot write the repository state "
                                          "file %V (see the error log)",
                                          &fmcf->repo.state);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "forest repository %s \"%V\": request %uL",
                   unload ? "unload" : "load", name, w->seq);

    if (ngx_http_forest_repo_signal(r->connection->log) != NGX_OK) {
        return ngx_http_forest_send_error(r, NULL,
                                          NGX_HTTP_INTERNAL_SERVER_ERROR,
                                          NGX_LOG_ERR,
                                          "cannot signal the nginx master "
                                          "to reload (see the error log)");
    }

    w->ev.handler = ngx_http_forest_repo_wait_handler;
    w->ev.data = w;
    w->ev.log = r->connection->log;

    cln->handler = ngx_http_forest_repo_wait_cleanup;
    cln->data = w;

    ngx_add_timer(&w->ev, NGX_HTTP_FOREST_REPO_WAIT);

    r->main->count++;

    return NGX_DONE;
}


/* A folder with a config.pbtxt of that name in some repository. */
static ngx_int_t
ngx_http_forest_repo_folder(ngx_http_forest_main_conf_t *fmcf,
    ngx_str_t *name)
{
    u_char                   path[NGX_MAX_PATH];
    ngx_uint_t               i;
    struct stat              st;
    ngx_http_forest_repo_t  *repos;

    repos = fmcf->repo.dirs.elts;

    for (i = 0; i < fmcf->repo.dirs.nelts; i++) {
        ngx_snprintf(path, sizeof(path), "%V/%V/config.pbtxt%Z",
                     &repos[i].path, name);

        if (stat((char *) path, &st) == 0 && S_ISREG(st.st_mode)) {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/* The master reloads on SIGHUP. */
static ngx_int_t
ngx_http_forest_repo_signal(ngx_log_t *log)
{
    ngx_pid_t  master;

    master = getppid();

    if (kill(master, SIGHUP) == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "forest: kill(%P, SIGHUP) to reload for the model "
                      "repository failed (workers must run as the master's "
                      "user to load, unload and poll)", master);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_forest_repo_wait_handler(ngx_event_t *ev)
{
    ngx_http_forest_repo_wait_t *w = ev->data;

    ngx_int_t            rc;
    ngx_str_t            error;
    ngx_flag_t           ready;
    ngx_http_request_t  *r;

    r = w->request;

    rc = ngx_http_forest_repo_result(&w->fmcf->repo.state, w->seq, &w->name,
                                     r->pool, &ready, &error);

    /*
     * The answer waits until the master has told this worker to quit, so
     * the new workers are serving: the next request sees the change.
     */

    if (rc == NGX_AGAIN || (rc == NGX_OK && !ngx_exiting)) {
        w->waited += NGX_HTTP_FOREST_REPO_WAIT;

        if (w->waited < NGX_HTTP_FOREST_REPO_TIMEOUT) {
            ngx_add_timer(&w->ev, NGX_HTTP_FOREST_REPO_WAIT);
            return;
        }

        rc = ngx_http_forest_send_error(r, NULL,
                                        NGX_HTTP_INTERNAL_SERVER_ERROR,
                                        NGX_LOG_ERR,
                                        "the reload for \"%V\" did not "
                                        "complete in %d s (see the error "
                                        "log)", &w->name,
                                        NGX_HTTP_FOREST_REPO_TIMEOUT / 1000);

    } else if (rc == NGX_DECLINED) {
        rc = ngx_http_forest_send_error(r, NULL, NGX_HTTP_BAD_REQUEST,
                                        NGX_LOG_INFO,
                                        "failed to %s \"%V\": %V",
                                        w->unload ? "unload" : "load",
                                        &w->name, &error);

    } else if (!w->unload && !ready) {
        rc = ngx_http_forest_send_error(r, NULL, NGX_HTTP_BAD_REQUEST,
                                        NGX_LOG_INFO,
                                        "failed to load \"%V\": %V",
                                        &w->name, &error);

    } else {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                       "forest repository request %uL done: \"%V\"",
                       w->seq, &w->name);

        rc = ngx_http_forest_send(r, NGX_HTTP_OK, "application/json", NULL,
                                  0);
    }

    ngx_http_finalize_request(r, rc);
}


static void
ngx_http_forest_repo_wait_cleanup(void *data)
{
    ngx_http_forest_repo_wait_t *w = data;

    if (w->ev.timer_set) {
        ngx_del_timer(&w->ev);
    }
}


/*
 * poll=: one worker looks at the repositories; a change from what this
 * configuration read asks the master for a reload, once per change (a
 * reload that fails leaves this worker running, and it asks again only
 * when the repository changes again).
 */
ngx_int_t
ngx_http_forest_repo_init_worker(ngx_cycle_t *cycle,
    ngx_http_forest_main_conf_t *fmcf)
{
    /* a single process would keep the timer of a freed configuration */
    if (fmcf->repo.poll == 0 || fmcf->repo.dirs.nelts == 0
        || ngx_process != NGX_PROCESS_WORKER || ngx_worker != 0)
    {
        return NGX_OK;
    }

    ngx_http_forest_repo_poll_ev.handler = ngx_http_forest_repo_poll_handler;
    ngx_http_forest_repo_poll_ev.data = fmcf;
    ngx_http_forest_repo_poll_ev.log = cycle->log;
    ngx_http_forest_repo_poll_ev.cancelable = 1;

    ngx_add_timer(&ngx_http_forest_repo_poll_ev, fmcf->repo.poll);

    return NGX_OK;
}


static void
ngx_http_forest_repo_poll_handler(ngx_event_t *ev)
{
    ngx_http_forest_main_conf_t *fmcf = ev->data;

    uint64_t  fp;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    fp = ngx_http_forest_repo_fingerprint(fmcf);

    if (fp != fmcf->repo.fingerprint
        && fp != ngx_http_forest_repo_poll_signalled)
    {
        ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                      "forest: the model repository changed, reloading");

        ngx_http_forest_repo_poll_signalled = fp;
        (void) ngx_http_forest_repo_signal(ev->log);
    }

    ngx_add_timer(ev, fmcf->repo.poll);
}
