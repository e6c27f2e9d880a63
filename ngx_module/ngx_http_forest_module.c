/*
 * ngx_http_forest_module: directives, configuration and worker lifecycle.
 */
#include "ngx_http_forest_module.h"


#define NGX_HTTP_FOREST_DEFAULT_MAX_ROWS  65536
/* enough for several models (or GPU batches) in flight at once */
#define NGX_HTTP_FOREST_BATCH_THREADS     4
#define NGX_HTTP_FOREST_BATCH_MAX_QUEUE   65536
#define NGX_HTTP_FOREST_LUA_MIN_MEMORY    (512 * 1024)


static void *ngx_http_forest_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_forest_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_forest_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_forest_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_forest_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_forest_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_forest_init_process(ngx_cycle_t *cycle);
static void ngx_http_forest_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_forest_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_forest_batch_threads(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_forest_kserve(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_forest_predict(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_forest_grpc(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_forest_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_forest_set_api(ngx_conf_t *cf,
    ngx_http_forest_loc_conf_t *flcf, ngx_http_forest_api_e api,
    ngx_http_handler_pt handler);
static char *ngx_http_forest_lua_memory(ngx_conf_t *cf, void *post,
    void *data);


static ngx_conf_post_handler_pt  ngx_http_forest_lua_memory_p =
    ngx_http_forest_lua_memory;

static ngx_conf_num_bounds_t  ngx_http_forest_lua_budget_bounds = {
    ngx_conf_check_num_bounds, 1000, NGX_MAX_INT32_VALUE
};


static char  ngx_http_forest_runner_conflict[] =
    "cannot be used with the other of forest_batch_threads and "
    "forest_thread_pool: batches run on one or the other";


static ngx_command_t  ngx_http_forest_commands[] = {

    { ngx_string("forest_model"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_forest_model_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("forest_model_repository"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_forest_repository_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("forest_repository_state"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_forest_main_conf_t, repo.state),
      NULL },

    { ngx_string("forest_repository_control"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_forest_loc_conf_t, repo_control),
      NULL },

    { ngx_string("forest_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_forest_thread_pool,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("forest_batch_threads"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_forest_batch_threads,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("forest_max_rows"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_forest_loc_conf_t, max_rows),
      NULL },

    { ngx_string("forest_kserve"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_forest_kserve,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("forest_predict"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_forest_predict,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("forest_grpc"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_forest_grpc,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("forest_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_forest_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("forest_lua_pre"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_forest_lua_hook,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_forest_loc_conf_t, lua.pre),
      NULL },

    { ngx_string("forest_lua_post"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_forest_lua_hook,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_forest_loc_conf_t, lua.post),
      NULL },

    { ngx_string("forest_lua_memory"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_forest_main_conf_t, lua.memory),
      &ngx_http_forest_lua_memory_p },

    { ngx_string("forest_lua_budget"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_forest_main_conf_t, lua.budget),
      &ngx_http_forest_lua_budget_bounds },

    { ngx_string("forest_lua_package_path"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_forest_main_conf_t, lua.package_path),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_forest_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_forest_postconfiguration,     /* postconfiguration */

    ngx_http_forest_create_main_conf,      /* create main configuration */
    ngx_http_forest_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_forest_create_loc_conf,       /* create location configuration */
    ngx_http_forest_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_forest_module = {
    NGX_MODULE_V1,
    &ngx_http_forest_module_ctx,           /* module context */
    ngx_http_forest_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_forest_init_module,           /* init module */
    ngx_http_forest_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_forest_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_forest_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_forest_main_conf_t  *fmcf;

    fmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_forest_main_conf_t));
    if (fmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&fmcf->models, cf->pool, 4,
                       sizeof(ngx_http_forest_model_t *))
        != NGX_OK)
    {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     fmcf->thread_pool = NULL;
     *     fmcf->shm_zone = NULL;
     */

    fmcf->batch_threads = NGX_CONF_UNSET_UINT;
    fmcf->batch_max_queue = NGX_CONF_UNSET_UINT;
    fmcf->lua.memory = NGX_CONF_UNSET_SIZE;
    fmcf->lua.budget = NGX_CONF_UNSET;

    return fmcf;
}


static char *
ngx_http_forest_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_forest_main_conf_t *fmcf = conf;

    ngx_conf_init_size_value(fmcf->lua.memory, FOREST_LUA_DEFAULT_MEMORY);
    ngx_conf_init_value(fmcf->lua.budget, FOREST_LUA_DEFAULT_BUDGET);

    if (ngx_http_forest_repo_init_main(cf, fmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_forest_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_forest_loc_conf_t  *flcf;

    flcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_forest_loc_conf_t));
    if (flcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     flcf->api = NGX_HTTP_FOREST_API_NONE;
     *     flcf->model_name = { 0, NULL };
     *     flcf->model = NULL;
     */

    flcf->max_rows = NGX_CONF_UNSET_SIZE;
    flcf->repo_control = NGX_CONF_UNSET;

    return flcf;
}


static char *
ngx_http_forest_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_forest_loc_conf_t *prev = parent;
    ngx_http_forest_loc_conf_t *conf = child;

    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_forest_main_conf_t  *fmcf;

    ngx_conf_merge_size_value(conf->max_rows, prev->max_rows,
                              NGX_HTTP_FOREST_DEFAULT_MAX_ROWS);
    ngx_conf_merge_value(conf->repo_control, prev->repo_control, 0);

    if (conf->max_rows == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"forest_max_rows\" must be at least 1");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_forest_lua_merge(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    /*
     * The body of an inference request is streamed into the codec, and the
     * limit is checked here, so that a body over client_max_body_size gets
     * a KServe JSON 413 rather than the core's HTML page, which the core
     * would send before the content handler runs.
     */

    if (conf->api == NGX_HTTP_FOREST_API_KSERVE
        || conf->api == NGX_HTTP_FOREST_API_PREDICT
        || conf->api == NGX_HTTP_FOREST_API_GRPC)
    {
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
        conf->max_body = clcf->client_max_body_size;
        clcf->client_max_body_size = 0;
    }

    /*
     * forest_model may follow the locations that name its model, so the
     * name is resolved here, once the whole http block has been read.
     */

    if (conf->model_name.len && conf->model == NULL) {
        fmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_forest_module);

        conf->model = ngx_http_forest_model_find(fmcf, &conf->model_name,
                                                 NULL);
        if (conf->model == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "forest_predict names unknown model \"%V\" "
                          "(no forest_model with that name) in %s:%ui",
                          &conf->model_name, conf->model_file,
                          conf->model_line);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_forest_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_forest_main_conf_t  *fmcf;

    fmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_forest_module);

    if (ngx_http_forest_lua_check(cf, fmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (fmcf->models.nelts == 0) {
        return NGX_OK;
    }

    ngx_conf_init_uint_value(fmcf->batch_threads,
                             NGX_HTTP_FOREST_BATCH_THREADS);
    ngx_conf_init_uint_value(fmcf->batch_max_queue,
                             NGX_HTTP_FOREST_BATCH_MAX_QUEUE);

    return ngx_http_forest_metrics_zone(cf, fmcf);
}


static char *
ngx_http_forest_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_forest_main_conf_t *fmcf = conf;

    ngx_str_t  *value;

    if (fmcf->thread_pool != NULL) {
        return "is duplicate";
    }

    if (fmcf->batch_threads != NGX_CONF_UNSET_UINT) {
        return ngx_http_forest_runner_conflict;
    }

    value = cf->args->elts;

    /* an undeclared name fails with the thread_pool module's own message */
    fmcf->thread_pool = ngx_thread_pool_add(cf, &value[1]);
    if (fmcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* forest_batch_threads N [max_queue=M] */
static char *
ngx_http_forest_batch_threads(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_forest_main_conf_t *fmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (fmcf->batch_threads != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    if (fmcf->thread_pool != NULL) {
        return ngx_http_forest_runner_conflict;
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);
    if (n < 1 || n > 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid thread count \"%V\": 1 to 1024",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    fmcf->batch_threads = n;

    if (cf->args->nelts == 3) {
        if (value[2].len <= 10
            || ngx_strncmp(value[2].data, "max_queue=", 10) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\": want max_queue=N",
                               &value[2]);
            return NGX_CONF_ERROR;
        }

        n = ngx_atoi(value[2].data + 10, value[2].len - 10);
        if (n < 1) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid max_queue \"%V\": a positive count "
                               "of batches", &value[2]);
            return NGX_CONF_ERROR;
        }

        fmcf->batch_max_queue = n;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_forest_set_api(ngx_conf_t *cf, ngx_http_forest_loc_conf_t *flcf,
    ngx_http_forest_api_e api, ngx_http_handler_pt handler)
{
    ngx_http_core_loc_conf_t  *clcf;

    if (flcf->api != NGX_HTTP_FOREST_API_NONE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "only one of forest_kserve, forest_predict, "
                           "forest_grpc and forest_metrics may serve a "
                           "location");
        return NGX_CONF_ERROR;
    }

    flcf->api = api;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_forest_kserve(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_forest_set_api(cf, conf, NGX_HTTP_FOREST_API_KSERVE,
                                   ngx_http_forest_kserve_handler);
}


static char *
ngx_http_forest_predict(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_forest_loc_conf_t *flcf = conf;

    ngx_str_t  *value;

    if (cf->args->nelts == 2) {
        value = cf->args->elts;

        flcf->model_name = value[1];
        flcf->model_file = cf->conf_file->file.name.data;
        flcf->model_line = cf->conf_file->line;
    }

    return ngx_http_forest_set_api(cf, flcf, NGX_HTTP_FOREST_API_PREDICT,
                                   ngx_http_forest_predict_handler);
}


static char *
ngx_http_forest_grpc(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_forest_set_api(cf, conf, NGX_HTTP_FOREST_API_GRPC,
                                   ngx_http_forest_grpc_handler);
}


static char *
ngx_http_forest_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_forest_set_api(cf, conf, NGX_HTTP_FOREST_API_METRICS,
                                   ngx_http_forest_metrics_handler);
}


static char *
ngx_http_forest_lua_memory(ngx_conf_t *cf, void *post, void *data)
{
    size_t *sp = data;

    if (*sp < NGX_HTTP_FOREST_LUA_MIN_MEMORY) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"forest_lua_memory\" must be at least %uzk",
                           (size_t) NGX_HTTP_FOREST_LUA_MIN_MEMORY / 1024);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_forest_init_module(ngx_cycle_t *cycle)
{
    return ngx_http_forest_repo_init_module(cycle);
}


static ngx_int_t
ngx_http_forest_init_process(ngx_cycle_t *cycle)
{
    ngx_http_forest_main_conf_t  *fmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    fmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_forest_module);
    if (fmcf == NULL) {
        return NGX_OK;
    }

    if (ngx_http_forest_models_init_worker(cycle, fmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (fmcf->models.nelts > 0
        && ngx_http_forest_batch_init_worker(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (fmcf->models.nelts > 0 && fmcf->thread_pool == NULL
        && ngx_http_forest_runner_init(cycle, fmcf->batch_threads,
                                       fmcf->batch_max_queue)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_forest_repo_init_worker(cycle, fmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_forest_lua_init_worker(cycle, fmcf);
}


static void
ngx_http_forest_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_forest_main_conf_t  *fmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return;
    }

    fmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_forest_module);
    if (fmcf == NULL) {
        return;
    }

    /*
     * No executor may be in use once its models go: the thread pool module,
     * a core module, has exited before us and its threads ran every queued
     * task; our batch threads stop here.
     */

    ngx_http_forest_runner_exit(cycle);
    ngx_http_forest_batch_exit_worker();
    ngx_http_forest_models_exit_worker(fmcf);
    ngx_http_forest_lua_exit_worker(fmcf);
}
