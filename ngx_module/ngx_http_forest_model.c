/*
 * The forest_model directive and the model registry: every model is loaded
 * and validated while the configuration is read, so a bad model fails
 * `nginx -t` (and a reload keeps the old configuration); each worker then
 * gives every model an executor of its own.
 */
#include "ngx_http_forest_module.h"

#include <math.h>
#include <stdlib.h>

#include "../gpu/forest_gpu.h"
#include "repo/model_config.h"


#define NGX_HTTP_FOREST_DEFAULT_MAX_BATCH  1024
/* a batch predicted to take this long or less runs on the event loop */
#define NGX_HTTP_FOREST_DEFAULT_INLINE_US  50


static char *ngx_http_forest_model_param(ngx_conf_t *cf,
    ngx_http_forest_model_t *m, ngx_str_t *param);
static ngx_int_t ngx_http_forest_parse_flag(ngx_str_t *v, ngx_flag_t *out);
static ngx_int_t ngx_http_forest_parse_delay(ngx_str_t *v, ngx_uint_t *us);
static ngx_int_t ngx_http_forest_model_check(ngx_http_forest_model_t *m,
    char *err, size_t errlen);
static void ngx_http_forest_model_cleanup(void *data);
static void ngx_http_forest_shap_cleanup(void *data);
static forest_executor *ngx_http_forest_executor_create(
    ngx_http_forest_model_t *m, char *err, size_t errlen);


char *
ngx_http_forest_model_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_forest_main_conf_t *fmcf = conf;

    char                      err[FOREST_ERR_LEN];
    ngx_str_t                *value;
    ngx_uint_t                i;
    ngx_http_forest_model_t  *m;

    value = cf->args->elts;

    if (ngx_http_forest_valid_name(&value[1]) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid model name \"%V\": use 1 to %d of "
                           "A-Z a-z 0-9 _ . - (not \"stats\", \".\" or "
                           "\"..\")",
                           &value[1], NGX_HTTP_FOREST_NAME_MAX - 1);
        return NGX_CONF_ERROR;
    }

    /* configuration tokens are NUL-terminated */
    m = ngx_http_forest_model_create(cf, &value[1]);
    if (m == NULL) {
        return NGX_CONF_ERROR;
    }

    m->defined_at.len = ngx_strlen(cf->conf_file->file.name.data) + 64;
    m->defined_at.data = ngx_pnalloc(cf->pool, m->defined_at.len);
    if (m->defined_at.data == NULL) {
        return NGX_CONF_ERROR;
    }

    m->defined_at.len = ngx_snprintf(m->defined_at.data, m->defined_at.len,
                                     "forest_model in %s:%ui",
                                     cf->conf_file->file.name.data,
                                     cf->conf_file->line)
                        - m->defined_at.data;

    m->path = value[2];
    if (ngx_conf_full_name(cf->cycle, &m->path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 3; i < cf->args->nelts; i++) {
        if (ngx_http_forest_model_param(cf, m, &value[i]) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_forest_model_conflict(fmcf, m, err, sizeof(err)) != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_forest_model_load(cf, m, err, sizeof(err)) != NGX_OK
        || ngx_http_forest_model_register(fmcf, m) != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "forest_model \"%V\": %s",
                           &m->name, err);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* A model with the defaults of forest_model's keys. */
ngx_http_forest_model_t *
ngx_http_forest_model_create(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_http_forest_model_t  *m;

    m = ngx_pcalloc(cf->pool, sizeof(ngx_http_forest_model_t));
    if (m == NULL) {
        return NULL;
    }

    m->name = *name;
    ngx_str_set(&m->version, "1");
    m->version_n = 1;
    m->format = FOREST_FORMAT_AUTO;
    m->predict_proba = 0;
    m->is_classifier = NGX_CONF_UNSET;
    m->threshold = 0.5f;
    m->max_batch_size = NGX_HTTP_FOREST_DEFAULT_MAX_BATCH;
    m->inline_max_us = NGX_HTTP_FOREST_DEFAULT_INLINE_US;
    m->device = NGX_HTTP_FOREST_DEVICE_CPU;
    m->threads = 1;
    m->transfer_threshold = FOREST_GPU_TRANSFER_THRESHOLD;

    return m;
}


/*
 * Loads m->path and checks that this host can run it; the reason goes to
 * err, for forest_model's message or a repository model's state.
 */
ngx_int_t
ngx_http_forest_model_load(ngx_conf_t *cf, ngx_http_forest_model_t *m,
    char *err, size_t errlen)
{
    char                 reason[FOREST_ERR_LEN];
    ngx_pool_cleanup_t  *cln;

#if !(NGX_FOREST_CUDA)
    if (m->device == NGX_HTTP_FOREST_DEVICE_GPU) {
        ngx_cpystrn((u_char *) err, (u_char *) "device=gpu: no GPU support "
                    "in this build (built without CUDA); use device=cpu or "
                    "device=auto", errlen);
        return NGX_ERROR;
    }

#else
    if (m->device == NGX_HTTP_FOREST_DEVICE_GPU
        && ngx_http_forest_gpu_probe(cf->cycle, reason, sizeof(reason))
           != NGX_OK)
    {
        ngx_snprintf((u_char *) err, errlen, "device=gpu: no usable GPU: "
                     "%s%Z", reason);
        return NGX_ERROR;
    }
#endif

    m->forest = forest_load((const char *) m->path.data, m->format,
                            reason, sizeof(reason));
    if (m->forest == NULL) {
        ngx_snprintf((u_char *) err, errlen, "cannot load %s%Z", reason);
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        forest_free(m->forest);
        m->forest = NULL;
        ngx_cpystrn((u_char *) err, (u_char *) "out of memory", errlen);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_forest_model_cleanup;
    cln->data = m->forest;

    if (forest_select_rounds(m->forest, m->trees, (const char *) m->path.data,
                             reason, sizeof(reason))
        != 0)
    {
        ngx_snprintf((u_char *) err, errlen, "%s%Z", reason);
        return NGX_ERROR;
    }

    /* contributions (treeshap_output) where the file stores node covers */
    if (m->forest->node_cover != NULL) {
        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            ngx_cpystrn((u_char *) err, (u_char *) "out of memory", errlen);
            return NGX_ERROR;
        }

        m->shap = forest_shap_new(m->forest, reason, sizeof(reason));
        if (m->shap == NULL) {
            ngx_snprintf((u_char *) err, errlen, "%s: %s%Z", m->path.data,
                         reason);
            return NGX_ERROR;
        }

        cln->handler = ngx_http_forest_shap_cleanup;
        cln->data = m->shap;
    }

    return ngx_http_forest_model_check(m, err, errlen);
}


/*
 * A name is served from one place: forest_model lines (one per version) or
 * one repository's folder.  NGX_ERROR names both places in err.
 */
ngx_int_t
ngx_http_forest_model_conflict(ngx_http_forest_main_conf_t *fmcf,
    ngx_http_forest_model_t *m, char *err, size_t errlen)
{
    ngx_uint_t                i, both_lines;
    ngx_http_forest_model_t  *o, **models;

    models = fmcf->models.elts;

    for (i = 0; i < fmcf->models.nelts; i++) {
        o = models[i];

        if (o->name.len != m->name.len
            || ngx_strncmp(o->name.data, m->name.data, m->name.len) != 0)
        {
            continue;
        }

        both_lines = o->config.len == 0 && m->config.len == 0;

        if (both_lines && o->version_n != m->version_n) {
            continue;
        }

        if (both_lines) {
            ngx_snprintf((u_char *) err, errlen, "duplicate forest_model "
                         "\"%V\" version %V (also %V)%Z", &m->name,
                         &m->version, &o->defined_at);
        } else {
            ngx_snprintf((u_char *) err, errlen, "model \"%V\" is defined "
                         "twice: by %V and by %V%Z", &m->name,
                         &o->defined_at, &m->defined_at);
        }

        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_forest_model_register(ngx_http_forest_main_conf_t *fmcf,
    ngx_http_forest_model_t *m)
{
    ngx_http_forest_model_t  **mp;

    mp = ngx_array_push(&fmcf->models);
    if (mp == NULL) {
        return NGX_ERROR;
    }

    *mp = m;

    return NGX_OK;
}


static char *
ngx_http_forest_model_param(ngx_conf_t *cf, ngx_http_forest_model_t *m,
    ngx_str_t *param)
{
    u_char      *eq;
    char        *end;
    double       d;
    ngx_int_t    n;
    ngx_str_t    key, v;
    const char  *file;

    eq = ngx_strlchr(param->data, param->data + param->len, '=');
    if (eq == NULL) {
        goto invalid;
    }

    key.data = param->data;
    key.len = eq - param->data;
    v.data = eq + 1;
    v.len = param->data + param->len - v.data;

    if (v.len == 0) {
        goto invalid;
    }

#define KEY_IS(s)  (key.len == sizeof(s) - 1                                 \
                    && ngx_strncmp(key.data, s, sizeof(s) - 1) == 0)

    if (KEY_IS("format")) {
        if (forest_format_parse((const char *) v.data, &m->format) != 0) {
            char names[256];

            forest_format_list(names, sizeof(names));
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "forest_model \"%V\": unknown format \"%V\", "
                               "expected one of: %s", &m->name, &v, names);
            return NGX_CONF_ERROR;
        }
        return NGX_CONF_OK;
    }

    /* Triton FIL's name for the format, with FIL's meaning */
    if (KEY_IS("model_type")) {
        if (forest_fil_model_type((const char *) v.data, &m->format, &file)
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "forest_model \"%V\": unknown model_type "
                               "\"%V\", expected one of: %s", &m->name, &v,
                               forest_fil_model_types());
            return NGX_CONF_ERROR;
        }
        return NGX_CONF_OK;
    }

    if (KEY_IS("version")) {
        if (v.len > NGX_HTTP_FOREST_VERSION_MAX - 1) {
            goto invalid;
        }
        n = ngx_atoi(v.data, v.len);
        if (n == NGX_ERROR || n < 1) {
            goto invalid;
        }
        m->version = v;
        m->version_n = (uint64_t) n;
        return NGX_CONF_OK;
    }

    if (KEY_IS("predict_proba")) {
        if (ngx_http_forest_parse_flag(&v, &m->predict_proba) != NGX_OK) {
            goto invalid;
        }
        return NGX_CONF_OK;
    }

    if (KEY_IS("is_classifier") || KEY_IS("output_class")) {
        if (ngx_http_forest_parse_flag(&v, &m->is_classifier) != NGX_OK) {
            goto invalid;
        }
        return NGX_CONF_OK;
    }

    if (KEY_IS("threshold")) {
        errno = 0;
        d = strtod((const char *) v.data, &end);
        if (errno || end != (char *) v.data + v.len || !isfinite(d)) {
            goto invalid;
        }
        m->threshold = (float) d;
        return NGX_CONF_OK;
    }

    if (KEY_IS("max_batch_size")) {
        n = ngx_atoi(v.data, v.len);
        if (n == NGX_ERROR || n < 1) {
            goto invalid;
        }
        m->max_batch_size = n;
        return NGX_CONF_OK;
    }

    if (KEY_IS("batch_delay")) {
        if (ngx_http_forest_parse_delay(&v, &m->batch_delay_us) != NGX_OK) {
            goto invalid;
        }
        return NGX_CONF_OK;
    }

    if (KEY_IS("inline_max")) {
        if (ngx_http_forest_parse_delay(&v, &m->inline_max_us) != NGX_OK) {
            goto invalid;
        }
        return NGX_CONF_OK;
    }

    if (KEY_IS("device")) {
        if (v.len == 3 && ngx_strncmp(v.data, "cpu", 3) == 0) {
            m->device = NGX_HTTP_FOREST_DEVICE_CPU;
        } else if (v.len == 3 && ngx_strncmp(v.data, "gpu", 3) == 0) {
            m->device = NGX_HTTP_FOREST_DEVICE_GPU;
        } else if (v.len == 4 && ngx_strncmp(v.data, "auto", 4) == 0) {
            m->device = NGX_HTTP_FOREST_DEVICE_AUTO;
        } else {
            goto invalid;
        }
        return NGX_CONF_OK;
    }

    if (KEY_IS("transfer_threshold")) {
        n = ngx_atoi(v.data, v.len);
        if (n == NGX_ERROR) {
            goto invalid;
        }
        m->transfer_threshold = n;
        return NGX_CONF_OK;
    }

    /* accepted with device=cpu too, where it has no effect: one
     * configuration serves hosts with and without a GPU */
    if (KEY_IS("gpu_kernel")) {
        if (v.len == 4 && ngx_strncmp(v.data, "auto", 4) == 0) {
            m->gpu_kernel = FOREST_GPU_KERNEL_AUTO;
        } else if (v.len == 4 && ngx_strncmp(v.data, "rows", 4) == 0) {
            m->gpu_kernel = FOREST_GPU_KERNEL_ROWS;
        } else if (v.len == 5 && ngx_strncmp(v.data, "trees", 5) == 0) {
            m->gpu_kernel = FOREST_GPU_KERNEL_TREES;
        } else if (v.len == 7 && ngx_strncmp(v.data, "compact", 7) == 0) {
            m->gpu_kernel = FOREST_GPU_KERNEL_COMPACT;
        } else {
            goto invalid;
        }
        return NGX_CONF_OK;
    }

    if (KEY_IS("trees")) {
        if (forest_trees_parse((const char *) v.data, v.len, &m->trees) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "forest_model \"%V\": invalid \"trees=%V\", "
                               "expected all, best or a number of boosting "
                               "rounds", &m->name, &v);
            return NGX_CONF_ERROR;
        }
        return NGX_CONF_OK;
    }

    if (KEY_IS("threads")) {
        n = ngx_atoi(v.data, v.len);
        if (n == NGX_ERROR || n > 1024) {
            goto invalid;
        }
        m->threads = n;
        return NGX_CONF_OK;
    }

#undef KEY_IS

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "forest_model \"%V\": unknown parameter \"%V\" "
                       "(format, model_type, version, predict_proba, "
                       "is_classifier, output_class, "
                       "threshold, max_batch_size, batch_delay, inline_max, "
                       "device, transfer_threshold, gpu_kernel, threads, trees)",
                       &m->name, param);
    return NGX_CONF_ERROR;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "forest_model \"%V\": invalid parameter \"%V\"",
                       &m->name, param);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_forest_parse_flag(ngx_str_t *v, ngx_flag_t *out)
{
    if ((v->len == 2 && ngx_strncasecmp(v->data, (u_char *) "on", 2) == 0)
        || (v->len == 4 && ngx_strncasecmp(v->data, (u_char *) "true", 4) == 0)
        || (v->len == 1 && v->data[0] == '1'))
    {
        *out = 1;
        return NGX_OK;
    }

    if ((v->len == 3 && ngx_strncasecmp(v->data, (u_char *) "off", 3) == 0)
        || (v->len == 5
            && ngx_strncasecmp(v->data, (u_char *) "false", 5) == 0)
        || (v->len == 1 && v->data[0] == '0'))
    {
        *out = 0;
        return NGX_OK;
    }

    return NGX_ERROR;
}


/* "100us", "2ms", "1s"; a bare number is milliseconds, like NGINX times */
static ngx_int_t
ngx_http_forest_parse_delay(ngx_str_t *v, ngx_uint_t *us)
{
    size_t      digits;
    ngx_int_t   n;
    ngx_uint_t  scale;
    ngx_str_t   unit;

    for (digits = 0; digits < v->len; digits++) {
        if (v->data[digits] < '0' || v->data[digits] > '9') {
            break;
        }
    }

    n = ngx_atoi(v->data, digits);
    if (n == NGX_ERROR || n > 60000000) {
        return NGX_ERROR;
    }

    unit.data = v->data + digits;
    unit.len = v->len - digits;

    if (unit.len == 2 && ngx_strncmp(unit.data, "us", 2) == 0) {
        scale = 1;
    } else if (unit.len == 0
               || (unit.len == 2 && ngx_strncmp(unit.data, "ms", 2) == 0))
    {
        scale = 1000;
    } else if (unit.len == 1 && unit.data[0] == 's') {
        scale = 1000000;
    } else {
        return NGX_ERROR;
    }

    if ((ngx_uint_t) n > 60000000 / scale) {
        return NGX_ERROR;
    }

    *us = (ngx_uint_t) n * scale;

    return NGX_OK;
}


/*
 * A name is a segment of the URIs that reach its model: characters that no
 * URI or Prometheus label escapes, and no segment that NGINX's URI
 * normalisation takes out ("." and "..") or that names another endpoint
 * (/v2/models/stats).
 */
ngx_int_t
ngx_http_forest_valid_name(ngx_str_t *name)
{
    size_t  i;
    u_char  c;

    if (name->len == 0 || name->len > NGX_HTTP_FOREST_NAME_MAX - 1) {
        return NGX_ERROR;
    }

    if ((name->len == 5 && ngx_strncmp(name->data, "stats", 5) == 0)
        || (name->len == 1 && name->data[0] == '.')
        || (name->len == 2 && ngx_strncmp(name->data, "..", 2) == 0))
    {
        return NGX_ERROR;
    }

    for (i = 0; i < name->len; i++) {
        c = name->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_forest_model_check(ngx_http_forest_model_t *m, char *err,
    size_t errlen)
{
    char              reason[FOREST_ERR_LEN];
    forest_executor  *ex;

    if (m->is_classifier == NGX_CONF_UNSET) {
        m->is_classifier = (m->forest->n_classes > 0);
    }

    if (m->predict_proba && m->forest->n_classes == 0) {
        ngx_snprintf((u_char *) err, errlen, "predict_proba=on needs a "
                     "classifier, but %s has objective \"%s\"%Z",
                     m->path.data, m->forest->objective);
        return NGX_ERROR;
    }

    /*
     * Build the CPU executor once so that a model it cannot run fails
     * here rather than in every worker.
     */

    if (m->device == NGX_HTTP_FOREST_DEVICE_CPU) {
        ex = forest_cpu_executor_create(m->forest, m->threads, reason,
                                        sizeof(reason));
        if (ex == NULL) {
            ngx_snprintf((u_char *) err, errlen, "%s: %s%Z", m->path.data,
                         reason);
            return NGX_ERROR;
        }

        forest_executor_destroy(ex);
    }

    return NGX_OK;
}


static void
ngx_http_forest_model_cleanup(void *data)
{
    forest_free(data);
}


static void
ngx_http_forest_shap_cleanup(void *data)
{
    forest_shap_free(data);
}


ngx_http_forest_model_t *
ngx_http_forest_model_find(ngx_http_forest_main_conf_t *fmcf,
    ngx_str_t *name, ngx_str_t *version)
{
    ngx_uint_t                i;
    ngx_http_forest_model_t  *m, **models, *latest;

    models = fmcf->models.elts;
    latest = NULL;

    for (i = 0; i < fmcf->models.nelts; i++) {
        m = models[i];

        if (m->name.len != name->len
            || ngx_strncmp(m->name.data, name->data, name->len) != 0)
        {
            continue;
        }

        if (version == NULL || version->len == 0) {
            if (latest == NULL || m->version_n > latest->version_n) {
                latest = m;
            }
            continue;
        }

        if (m->version.len == version->len
            && ngx_strncmp(m->version.data, version->data, version->len) == 0)
        {
            return m;
        }
    }

    return latest;
}


static forest_executor *
ngx_http_forest_executor_create(ngx_http_forest_model_t *m, char *err,
    size_t errlen)
{
#if (NGX_FOREST_CUDA)
    forest_executor     *ex;
    forest_gpu_options   opt;

    if (m->device != NGX_HTTP_FOREST_DEVICE_CPU) {
        ngx_memzero(&opt, sizeof(forest_gpu_options));
        opt.cpu_threads = m->threads;
        opt.transfer_threshold = m->transfer_threshold;
        opt.kernel = m->gpu_kernel;

        ex = forest_gpu_executor_create(m->forest, &opt, err, errlen);
        if (ex != NULL || m->device == NGX_HTTP_FOREST_DEVICE_GPU) {
            return ex;
        }
    }
#else
    /* device=auto: the reason it runs on the CPU, for the startup log */
    ngx_cpystrn((u_char *) err, (u_char *) "this build has no CUDA support",
                errlen);
#endif

    return forest_cpu_executor_create(m->forest, m->threads, err, errlen);
}


ngx_int_t
ngx_http_forest_models_init_worker(ngx_cycle_t *cycle,
    ngx_http_forest_main_conf_t *fmcf)
{
    char                      err[FOREST_ERR_LEN];
    ngx_uint_t                i;
    ngx_http_forest_model_t  *m, **models;

    models = fmcf->models.elts;

    for (i = 0; i < fmcf->models.nelts; i++) {
        m = models[i];

        m->executor = ngx_http_forest_executor_create(m, err, sizeof(err));

        if (m->executor == NULL) {
            /* the model answers 503 and stays "not ready" in this worker */
            ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                          "forest_model \"%V\" version %V is not ready: %s",
                          &m->name, &m->version, err);
            continue;
        }

        m->executor_kind = m->executor->ops->name;

        ngx_http_forest_batch_calibrate(m, cycle->log);

        if (m->device == NGX_HTTP_FOREST_DEVICE_AUTO) {
            ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                          "forest_model \"%V\" version %V: device=auto runs "
                          "on the %s%s%s", &m->name, &m->version,
                          m->executor_kind,
                          ngx_strcmp(m->executor_kind, "cpu") == 0 ? ": " : "",
                          ngx_strcmp(m->executor_kind, "cpu") == 0 ? err : "");
        }
    }

    return NGX_OK;
}


void
ngx_http_forest_models_exit_worker(ngx_http_forest_main_conf_t *fmcf)
{
    ngx_uint_t                i;
    ngx_http_forest_model_t  *m, **models;

    models = fmcf->models.elts;

    for (i = 0; i < fmcf->models.nelts; i++) {
        m = models[i];

        forest_executor_destroy(m->executor);
        m->executor = NULL;
    }
}


void
ngx_http_forest_model_shape(ngx_http_forest_model_t *m, int margin,
    fcodec_shape *shape)
{
    shape->forest_columns = forest_output_columns(m->forest, margin);
    shape->n_classes = m->forest->n_classes;
    shape->is_classifier = (int) m->is_classifier;
    shape->predict_proba = (int) m->predict_proba;

    /* FIL: a binary classifier whose config.pbtxt gives predict_proba one
     * output column answers P(class 1) alone, as the forest computes it */
    if (m->proba_one_column) {
        shape->is_classifier = 0;
        shape->predict_proba = 0;
    }
    shape->margin = margin;
    shape->threshold = m->threshold;
}


uint32_t
ngx_http_forest_model_columns(ngx_http_forest_model_t *m, int margin)
{
    fcodec_shape  shape;

    ngx_http_forest_model_shape(m, margin, &shape);

    return fcodec_output_columns(&shape);
}
