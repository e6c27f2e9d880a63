/*
 * forest_model_repository: a Triton model repository served as it is.
 *
 * Every model folder's config.pbtxt is read (forest/repo/model_config.c)
 * when the configuration is read, and each version its version_policy picks
 * becomes a model like a forest_model line's, so loading, unloading and
 * polling are configuration reloads: the master reads the repository again
 * and every worker changes at once, gracefully.
 *
 * What Triton refuses in a config.pbtxt fails the configuration (nginx -t)
 * with the file, line and reason.  A model that cannot be served (its file
 * does not load, its dims do not match, another backend, unloaded) is listed
 * as UNAVAILABLE with the reason by /v2/repository/index, except that a
 * reload never takes a name that the running configuration serves to a
 * broken version: that reload fails and the running models stay.  nginx -t
 * while nginx runs refuses the same, from the names STATE.result lists.
 *
 * The state file (forest_repository_state) holds the explicitly unloaded
 * models and the number of the last load/unload request; the master writes
 * what each reload made of it to STATE.result, where the endpoint that asked
 * reads its answer (ngx_http_forest_repo_api.c).
 */
#include "ngx_http_forest_module.h"

#include <sys/file.h>

#include "repo/model_config.h"
#include "repo/repo_scan.h"


#define NGX_HTTP_FOREST_REPO_CONFIG_MAX  (1024 * 1024)
#define NGX_HTTP_FOREST_REPO_STATE_MAX   (1024 * 1024)
#define NGX_HTTP_FOREST_REPO_STATE       "logs/forest_repository.state"


typedef struct {
    ngx_conf_t                    *cf;
    ngx_http_forest_main_conf_t   *fmcf;
    ngx_http_forest_repo_t        *repo;
    ngx_array_t                    unloaded;       /* ngx_str_t */
    ngx_uint_t                     real;           /* a running server's */
} ngx_http_forest_repo_load_t;


static ngx_int_t ngx_http_forest_repo_model(ngx_http_forest_repo_load_t *ld,
    const char *folder);
static ngx_int_t ngx_http_forest_repo_version(ngx_http_forest_repo_load_t *ld,
    forest_model_config *mc, ngx_str_t *name, ngx_str_t *dir,
    ngx_str_t *config, uint64_t version);
static ngx_int_t ngx_http_forest_repo_apply(ngx_http_forest_model_t *m,
    forest_model_config *mc, char *err, size_t errlen);
static ngx_int_t ngx_http_forest_repo_check(ngx_http_forest_model_t *m,
    forest_model_config *mc, char *err, size_t errlen);
static ngx_int_t ngx_http_forest_repo_unavailable(
    ngx_http_forest_repo_load_t *ld, ngx_str_t *name, uint64_t version,
    const char *reason);
static ngx_int_t ngx_http_forest_repo_fail(ngx_http_forest_repo_load_t *ld,
    const char *fmt, ...);
static ngx_int_t ngx_http_forest_repo_defined(ngx_http_forest_repo_load_t *ld,
    ngx_str_t *name);
static void ngx_http_forest_repo_note(void *data, const char *msg);
static u_char *ngx_http_forest_repo_read(ngx_pool_t *pool, const char *path,
    size_t max, size_t *len, ngx_err_t *err);
static ngx_int_t ngx_http_forest_repo_parse_state(ngx_pool_t *pool,
    u_char *p, u_char *end, ngx_array_t *unloaded, uint64_t *seq);
static ngx_int_t ngx_http_forest_repo_write(ngx_log_t *log, ngx_str_t *state,
    u_char *data, size_t len);
static ngx_uint_t ngx_http_forest_repo_served(ngx_str_t *name);
static ngx_int_t ngx_http_forest_repo_running(ngx_conf_t *cf,
    ngx_http_forest_main_conf_t *fmcf);
static ngx_int_t ngx_http_forest_repo_keep_served(ngx_cycle_t *cycle,
    ngx_http_forest_main_conf_t *fmcf);


/*
 * The names the running configuration serves, in its cycle's pool: the
 * next configuration is read while that cycle still lives (the module
 * stays loaded across reloads), and init_module points here again before
 * the old cycle goes.  Under nginx -t, those of the running server.
 */
static u_char     *ngx_http_forest_repo_served_names;
static size_t      ngx_http_forest_repo_served_len;


/* forest_model_repository DIR [poll=TIME] */
char *
ngx_http_forest_repository_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_forest_main_conf_t *fmcf = conf;

    ngx_str_t               *value, v;
    ngx_msec_t               poll;
    ngx_http_forest_repo_t  *repo;

    value = cf->args->elts;

    if (fmcf->repo.dirs.elts == NULL
        && ngx_array_init(&fmcf->repo.dirs, cf->pool, 2,
                          sizeof(ngx_http_forest_repo_t))
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    repo = ngx_array_push(&fmcf->repo.dirs);
    if (repo == NULL) {
        return NGX_CONF_ERROR;
    }

    repo->path = value[1];
    if (ngx_conf_full_name(cf->cycle, &repo->path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    repo->file = cf->conf_file->file.name.data;
    repo->line = cf->conf_file->line;

    if (cf->args->nelts == 3) {
        if (value[2].len <= 5 || ngx_strncmp(value[2].data, "poll=", 5) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\": want poll=TIME",
                               &value[2]);
            return NGX_CONF_ERROR;
        }

        v.data = value[2].data + 5;
        v.len = value[2].len - 5;

        poll = ngx_parse_time(&v, 0);
        if (poll == (ngx_msec_t) NGX_ERROR || poll < 100) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid poll interval \"%V\": a time of at "
                               "least 100ms", &v);
            return NGX_CONF_ERROR;
        }

        if (fmcf->repo.poll == 0 || poll < fmcf->repo.poll) {
            fmcf->repo.poll = poll;
        }
    }

    return NGX_CONF_OK;
}


/*
 * Runs from init_main_conf, once every forest_model line has been read:
 * each repository's models join the registry before the locations that
 * name them are merged.
 */
ngx_int_t
ngx_http_forest_repo_init_main(ngx_conf_t *cf,
    ngx_http_forest_main_conf_t *fmcf)
{
    u_char                       *text;
    size_t                        len, k;
    ngx_err_t                     err;
    ngx_uint_t                    i;
    forest_repo_dirs              folders;
    ngx_http_forest_repo_t       *repos;
    ngx_http_forest_repo_load_t   ld;
    char                          reason[FOREST_ERR_LEN];

    if (fmcf->repo.state.data == NULL) {
        ngx_str_set(&fmcf->repo.state, NGX_HTTP_FOREST_REPO_STATE);
    }

    if (ngx_conf_full_name(cf->cycle, &fmcf->repo.state, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    if (fmcf->repo.dirs.nelts == 0) {
        return NGX_OK;
    }

    if (ngx_array_init(&fmcf->repo.unavailable, cf->pool, 4,
                       sizeof(ngx_http_forest_repo_entry_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_memzero(&ld, sizeof(ngx_http_forest_repo_load_t));
    ld.cf = cf;
    ld.fmcf = fmcf;
    ld.real = !ngx_test_config && ngx_process != NGX_PROCESS_SIGNALLER;

    if (ngx_array_init(&ld.unloaded, cf->pool, 4, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_test_config && ngx_http_forest_repo_running(cf, fmcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    text = ngx_http_forest_repo_read(cf->temp_pool,
                                     (char *) fmcf->repo.state.data,
                                     NGX_HTTP_FOREST_REPO_STATE_MAX, &len,
                                     &err);
    if (text == NULL && err != NGX_ENOENT) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, err,
                      "forest_repository_state \"%V\" cannot be read",
                      &fmcf->repo.state);
        return NGX_ERROR;
    }

    if (text != NULL
        && ngx_http_forest_repo_parse_state(cf->pool, text, text + len,
                                            &ld.unloaded, &fmcf->repo.seq)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "forest_repository_state \"%V\" is not a state file "
                      "this module wrote", &fmcf->repo.state);
        return NGX_ERROR;
    }

    /* before the models are read: a change while they load polls again */
    fmcf->repo.fingerprint = ngx_http_forest_repo_fingerprint(fmcf);

    repos = fmcf->repo.dirs.elts;

    for (i = 0; i < fmcf->repo.dirs.nelts; i++) {
        ld.repo = &repos[i];

        if (forest_repo_list((char *) repos[i].path.data, &folders, reason,
                             sizeof(reason))
            != 0)
        {
            return ngx_http_forest_repo_fail(&ld, "%s", reason);
        }

        for (k = 0; k < folders.n; k++) {
            if (ngx_http_forest_repo_model(&ld, folders.names[k]) != NGX_OK)
            {
                forest_repo_dirs_free(&folders);
                return NGX_ERROR;
            }
        }

        forest_repo_dirs_free(&folders);
    }

    return NGX_OK;
}


uint64_t
ngx_http_forest_repo_fingerprint(ngx_http_forest_main_conf_t *fmcf)
{
    uint64_t                 fp;
    ngx_uint_t               i;
    ngx_http_forest_repo_t  *repos;

    repos = fmcf->repo.dirs.elts;
    fp = 0;

    for (i = 0; i < fmcf->repo.dirs.nelts; i++) {
        fp = fp * 1099511628211ULL
             ^ forest_repo_fingerprint((char *) repos[i].path.data);
    }

    return fp;
}


static ngx_int_t
ngx_http_forest_repo_model(ngx_http_forest_repo_load_t *ld,
    const char *folder)
{
    u_char               *text, *p;
    size_t                len, k, j;
    uint64_t              v, picked[FOREST_MC_MAX_VERSIONS];
    ngx_err_t             err;
    ngx_str_t             name, dir, config;
    ngx_uint_t            n, i, found;
    forest_repo_dirs      vdirs;
    forest_model_config   mc;
    char                  reason[FOREST_ERR_LEN];

    /* model names are NUL-terminated */
    name.len = ngx_strlen(folder);
    name.data = ngx_pnalloc(ld->cf->pool, name.len + 1);
    dir.len = ld->repo->path.len + 1 + name.len;
    dir.data = ngx_pnalloc(ld->cf->pool, dir.len + sizeof("/config.pbtxt"));
    if (name.data == NULL || dir.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(name.data, folder, name.len + 1);

    p = ngx_cpymem(dir.data, ld->repo->path.data, ld->repo->path.len);
    *p++ = '/';
    p = ngx_cpymem(p, folder, name.len);
    *p = '\0';

    config.data = ngx_pnalloc(ld->cf->pool, dir.len + sizeof("/config.pbtxt"));
    if (config.data == NULL) {
        return NGX_ERROR;
    }
    config.len = ngx_sprintf(config.data, "%V/config.pbtxt%Z", &dir)
                 - config.data - 1;

    if (ngx_http_forest_repo_defined(ld, &name) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_forest_valid_name(&name) != NGX_OK) {
        return ngx_http_forest_repo_unavailable(ld, &name, 0,
                   "the folder name is no model name (1 to 63 of A-Z a-z "
                   "0-9 _ . -, not \"stats\")");
    }

    text = ngx_http_forest_repo_read(ld->cf->temp_pool,
                                     (char *) config.data,
                                     NGX_HTTP_FOREST_REPO_CONFIG_MAX, &len,
                                     &err);
    if (text == NULL) {
        if (err == NGX_ENOENT) {
            return ngx_http_forest_repo_unavailable(ld, &name, 0,
                       "no config.pbtxt (ngx_forest does not complete a "
                       "model configuration)");
        }

        return ngx_http_forest_repo_fail(ld, "%s: %s", config.data,
                                         err ? strerror(err)
                                             : "larger than 1 MB");
    }

    if (forest_model_config_read((char *) text, len, (char *) config.data,
                                 &mc, ngx_http_forest_repo_note, ld->cf,
                                 reason, sizeof(reason))
        != 0)
    {
        return ngx_http_forest_repo_fail(ld, "%s", reason);
    }

    if (mc.name[0] != '\0' && ngx_strcmp(mc.name, folder) != 0) {
        return ngx_http_forest_repo_fail(ld, "%V:%ud: name \"%s\" does not "
                                         "match the model folder \"%s\"",
                                         &config, mc.name_line, mc.name,
                                         folder);
    }

    if (mc.backend[0] == '\0') {
        return ngx_http_forest_repo_fail(ld, "%V: no backend (a FIL model "
                                         "says backend: \"fil\")", &config);
    }

    /*
     * A repository may hold models of other backends beside its FIL ones;
     * they are listed as not served rather than failing the whole server.
     */

    if (ngx_strcmp(mc.backend, "fil") != 0) {
        ngx_snprintf((u_char *) reason, sizeof(reason), "backend \"%s\" is "
                     "not served by ngx_forest (only \"fil\")%Z", mc.backend);
        ngx_log_error(NGX_LOG_NOTICE, ld->cf->log, 0, "%V: %s: skipped",
                      &config, reason);
        return ngx_http_forest_repo_unavailable(ld, &name, 0, reason);
    }

    for (i = 0; i < ld->unloaded.nelts; i++) {
        if (((ngx_str_t *) ld->unloaded.elts)[i].len == name.len
            && ngx_strncmp(((ngx_str_t *) ld->unloaded.elts)[i].data,
                           name.data, name.len) == 0)
        {
            return ngx_http_forest_repo_unavailable(ld, &name, 0,
                                                    "unloaded");
        }
    }

    if (mc.n_gpus > 0) {
        ngx_log_error(NGX_LOG_NOTICE, ld->cf->log, 0,
                      "%V: instance_group gpus has no effect here: a model "
                      "runs on the first GPU, or on the CPU without one",
                      &config);
    }

    if (forest_repo_list((char *) dir.data, &vdirs, reason, sizeof(reason))
        != 0)
    {
        return ngx_http_forest_repo_fail(ld, "%s", reason);
    }

    /* the version folders in ascending order */
    n = 0;
    for (k = vdirs.n; k > 0 && n < FOREST_MC_MAX_VERSIONS; k--) {
        if (forest_repo_version(vdirs.names[k - 1], &v) != 0 || v == 0) {
            continue;
        }

        for (j = n; j > 0 && picked[j - 1] < v; j--) {
            picked[j] = picked[j - 1];
        }
        picked[j] = v;
        n++;
    }

    forest_repo_dirs_free(&vdirs);

    /* picked[] is descending here */

    if (mc.policy == FOREST_MC_LATEST && n > mc.num_versions) {
        n = mc.num_versions;
    }

    if (mc.policy == FOREST_MC_SPECIFIC) {
        for (k = 0; k < (size_t) mc.n_versions; k++) {
            found = 0;
            for (j = 0; j < n; j++) {
                found |= picked[j] == (uint64_t) mc.versions[k];
            }

            if (!found
                && ngx_http_forest_repo_unavailable(ld, &name,
                       (uint64_t) mc.versions[k],
                       "version_policy names it, but its version folder "
                       "is missing")
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    found = 0;

    for (j = n; j > 0; j--) {
        v = picked[j - 1];

        if (mc.policy == FOREST_MC_SPECIFIC) {
            for (k = 0; k < (size_t) mc.n_versions; k++) {
                if ((uint64_t) mc.versions[k] == v) {
                    break;
                }
            }

            if (k == (size_t) mc.n_versions) {
                continue;
            }
        }

        found = 1;

        if (ngx_http_forest_repo_version(ld, &mc, &name, &dir, &config, v)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (!found && mc.policy != FOREST_MC_SPECIFIC) {
        return ngx_http_forest_repo_unavailable(ld, &name, 0,
                   "no version folder (a positive number) in the model "
                   "folder");
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_forest_repo_version(ngx_http_forest_repo_load_t *ld,
    forest_model_config *mc, ngx_str_t *name, ngx_str_t *dir,
    ngx_str_t *config, uint64_t version)
{
    size_t                    len;
    ngx_http_forest_model_t  *m;
    char                      err[FOREST_ERR_LEN];

    m = ngx_http_forest_model_create(ld->cf, name);
    if (m == NULL) {
        return NGX_ERROR;
    }

    m->config = *config;

    m->version.data = ngx_pnalloc(ld->cf->pool, NGX_HTTP_FOREST_VERSION_MAX);
    len = dir->len + NGX_HTTP_FOREST_VERSION_MAX + 2
          + ngx_strlen(mc->model_file);
    m->path.data = ngx_pnalloc(ld->cf->pool, len + 1);
    m->defined_at.len = ld->repo->path.len + ngx_strlen(ld->repo->file) + 64;
    m->defined_at.data = ngx_pnalloc(ld->cf->pool, m->defined_at.len);

    if (m->version.data == NULL || m->path.data == NULL
        || m->defined_at.data == NULL)
    {
        return NGX_ERROR;
    }

    m->version.len = ngx_sprintf(m->version.data, "%uL%Z", version)
                     - m->version.data - 1;
    m->version_n = version;
    m->path.len = ngx_sprintf(m->path.data, "%V/%uL/%s%Z", dir, version,
                              mc->model_file)
                  - m->path.data - 1;
    m->defined_at.len = ngx_snprintf(m->defined_at.data, m->defined_at.len,
                                     "forest_model_repository %V in %s:%ui",
                                     &ld->repo->path, ld->repo->file,
                                     ld->repo->line)
                        - m->defined_at.data;

    if (ngx_http_forest_repo_apply(m, mc, err, sizeof(err)) == NGX_OK
        && ngx_http_forest_model_load(ld->cf, m, err, sizeof(err)) == NGX_OK
        && ngx_http_forest_repo_check(m, mc, err, sizeof(err)) == NGX_OK)
    {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ld->cf->log, 0,
                       "forest repository model \"%V\" version %V: %V",
                       &m->name, &m->version, &m->path);

        return ngx_http_forest_model_register(ld->fmcf, m);
    }

    /* a broken version never replaces what the running server serves */

    if (ngx_http_forest_repo_served(name)) {
        return ngx_http_forest_repo_fail(ld, "model \"%V\" version %uL: %s; "
                                         "the running configuration stays",
                                         name, version, err);
    }

    ngx_log_error(NGX_LOG_ERR, ld->cf->log, 0,
                  "model \"%V\" version %uL is unavailable: %s", name,
                  version, err);

    return ngx_http_forest_repo_unavailable(ld, name, version, err);
}


/* What config.pbtxt says, as forest_model's keys. */
static ngx_int_t
ngx_http_forest_repo_apply(ngx_http_forest_model_t *m,
    forest_model_config *mc, char *err, size_t errlen)
{
    m->format = mc->format;
    m->is_classifier = mc->output_class;
    m->predict_proba = mc->output_class && mc->predict_proba;

    if (mc->has_threshold) {
        m->threshold = mc->threshold;
    }

    if (mc->max_batch_size > 0) {
        m->max_batch_size = (ngx_uint_t) mc->max_batch_size;
    }

    m->batch_delay_us = mc->dynamic_batching
                        ? (ngx_uint_t) mc->max_queue_delay_us : 0;

    /* KIND_GPU runs on the CPU where there is no GPU, as device=auto */
    m->device = mc->kind == FOREST_MC_KIND_CPU ? NGX_HTTP_FOREST_DEVICE_CPU
                                               : NGX_HTTP_FOREST_DEVICE_AUTO;

    if (mc->transfer_threshold > 0) {
        m->transfer_threshold = (ngx_uint_t) mc->transfer_threshold;
    }

    if (mc->has_cpu_nthread) {
        /* FIL's -1 is every CPU, as threads=0 */
        if (mc->cpu_nthread > 1024) {
            ngx_snprintf((u_char *) err, errlen, "%V: cpu_nthread %L is "
                         "over 1024%Z", &m->config, mc->cpu_nthread);
            return NGX_ERROR;
        }
        m->threads = mc->cpu_nthread < 0 ? 0 : (ngx_uint_t) mc->cpu_nthread;
    }

    return NGX_OK;
}


/* config.pbtxt's input and output dims against the model file. */
static ngx_int_t
ngx_http_forest_repo_check(ngx_http_forest_model_t *m,
    forest_model_config *mc, char *err, size_t errlen)
{
    int64_t   d;
    uint32_t  cols;

    if (mc->input.n_dims > 0) {
        d = mc->input.dims[0];

        if (d != -1 && (uint64_t) d != m->forest->n_features) {
            ngx_snprintf((u_char *) err, errlen, "%V:%ud: input dims [%L], "
                         "but %V has %uD features%Z", &m->config,
                         mc->input.line, d, &m->path,
                         m->forest->n_features);
            return NGX_ERROR;
        }
    }

    if (mc->output.n_dims == 0) {
        return NGX_OK;
    }

    d = mc->output.dims[0];

    /* FIL: a binary classifier's predict_proba is [1-p, p], or p alone */
    if (d == 1 && m->predict_proba && m->forest->n_classes == 2
        && forest_output_columns(m->forest, 0) == 1)
    {
        m->proba_one_column = 1;
    }

    cols = ngx_http_forest_model_columns(m, 0);

    if (d != -1 && (uint64_t) d != cols) {
        ngx_snprintf((u_char *) err, errlen, "%V:%ud: output dims [%L], but "
                     "%V gives %uD column%s per row (%s)%Z", &m->config,
                     mc->output.line, d, &m->path, cols,
                     cols == 1 ? "" : "s",
                     !m->is_classifier ? "output_class false: the model's "
                                         "values"
                     : m->predict_proba ? "predict_proba: one probability "
                                          "per class"
                     : "output_class true: the class id");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_forest_repo_unavailable(ngx_http_forest_repo_load_t *ld,
    ngx_str_t *name, uint64_t version, const char *reason)
{
    ngx_http_forest_repo_entry_t  *e;

    e = ngx_array_push(&ld->fmcf->repo.unavailable);
    if (e == NULL) {
        return NGX_ERROR;
    }

    e->name = *name;
    e->reason.len = ngx_strlen(reason);
    e->reason.data = ngx_pstrdup(ld->cf->pool, &(ngx_str_t) {
                                     e->reason.len, (u_char *) reason });
    e->version.data = ngx_pnalloc(ld->cf->pool, NGX_HTTP_FOREST_VERSION_MAX);

    if (e->reason.data == NULL || e->version.data == NULL) {
        return NGX_ERROR;
    }

    e->version.len = version ? ngx_sprintf(e->version.data, "%uL", version)
                               - e->version.data
                             : 0;

    return NGX_OK;
}


/* A name served from two places is a configuration error naming both. */
static ngx_int_t
ngx_http_forest_repo_defined(ngx_http_forest_repo_load_t *ld,
    ngx_str_t *name)
{
    char                           err[FOREST_ERR_LEN];
    ngx_uint_t                     i;
    ngx_http_forest_model_t        probe;
    ngx_http_forest_repo_entry_t  *e;

    ngx_memzero(&probe, sizeof(ngx_http_forest_model_t));
    probe.name = *name;
    ngx_str_set(&probe.config, "config.pbtxt");

    probe.defined_at.data = (u_char *) err + sizeof(err) / 2;
    probe.defined_at.len = ngx_snprintf(probe.defined_at.data,
                                        sizeof(err) / 2,
                                        "forest_model_repository %V in "
                                        "%s:%ui", &ld->repo->path,
                                        ld->repo->file, ld->repo->line)
                           - probe.defined_at.data;

    if (ngx_http_forest_model_conflict(ld->fmcf, &probe, err,
                                       sizeof(err) / 2)
        != NGX_OK)
    {
        return ngx_http_forest_repo_fail(ld, "%s", err);
    }

    e = ld->fmcf->repo.unavailable.elts;

    for (i = 0; i < ld->fmcf->repo.unavailable.nelts; i++) {
        if (e[i].name.len == name->len
            && ngx_strncmp(e[i].name.data, name->data, name->len) == 0)
        {
            return ngx_http_forest_repo_fail(ld, "model \"%V\" is in more "
                                             "than one forest_model_"
                                             "repository", name);
        }
    }

    return NGX_OK;
}


/*
 * A configuration error, in the log and, for a reload, in STATE.result,
 * with the names that stay served (nginx -t reads them).
 */
static ngx_int_t
ngx_http_forest_repo_fail(ngx_http_forest_repo_load_t *ld,
    const char *fmt, ...)
{
    u_char   *p, *q, *res, *end, msg[NGX_MAX_ERROR_STR];
    size_t    size, len, k;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg) - 1, fmt, args);
    va_end(args);
    *p = '\0';

    ngx_log_error(NGX_LOG_EMERG, ld->cf->log, 0, "%s (forest_model_"
                  "repository in %s:%ui)", msg, ld->repo->file,
                  ld->repo->line);

    if (ld->real) {
        for (p = msg; *p; p++) {
            if (*p == '\n') {
                *p = ' ';
            }
        }

        /* a name of n bytes takes n + 1 in the list, n + 7 as a line */
        size = sizeof(msg) + 64 + 4 * ngx_http_forest_repo_served_len;

        res = ngx_pnalloc(ld->cf->temp_pool, size);
        if (res == NULL) {
            return NGX_ERROR;
        }

        end = res + size;
        p = ngx_slprintf(res, end, "seq %uL\nerror %s\n",
                         ld->fmcf->repo.seq, msg);

        q = ngx_http_forest_repo_served_names;

        for (k = 0; k < ngx_http_forest_repo_served_len; k += len + 1) {
            len = ngx_strlen(q + k);
            p = ngx_slprintf(p, end, "ready %*s\n", len, q + k);
        }

        (void) ngx_http_forest_repo_write(ld->cf->log, &ld->fmcf->repo.state,
                                          res, p - res);
    }

    return NGX_ERROR;
}


static void
ngx_http_forest_repo_note(void *data, const char *msg)
{
    ngx_conf_t *cf = data;

    ngx_log_error(NGX_LOG_NOTICE, cf->log, 0, "%s", msg);
}


/* The whole file into the pool; NULL with err (0: over max). */
static u_char *
ngx_http_forest_repo_read(ngx_pool_t *pool, const char *path, size_t max,
    size_t *len, ngx_err_t *err)
{
    u_char           *buf;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_file_info_t   fi;

    *err = 0;

    fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        *err = ngx_errno;
        return NULL;
    }

    buf = NULL;

    if (flock(fd, LOCK_SH) == -1 || ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        *err = ngx_errno;
        goto done;
    }

    if ((size_t) ngx_file_size(&fi) > max) {
        goto done;
    }

    buf = ngx_pnalloc(pool, (size_t) ngx_file_size(&fi) + 1);
    if (buf == NULL) {
        *err = NGX_ENOMEM;
        goto done;
    }

    n = ngx_read_fd(fd, buf, (size_t) ngx_file_size(&fi));
    if (n == -1) {
        *err = ngx_errno;
        buf = NULL;
        goto done;
    }

    buf[n] = '\0';
    *len = (size_t) n;

done:

    (void) ngx_close_file(fd);

    return buf;
}


/* "seq N" and "unloaded NAME" lines. */
static ngx_int_t
ngx_http_forest_repo_parse_state(ngx_pool_t *pool, u_char *p, u_char *end,
    ngx_array_t *unloaded, uint64_t *seq)
{
    u_char     *eol;
    ngx_str_t  *name, line;
    ngx_int_t   n;

    while (p < end) {
        eol = ngx_strlchr(p, end, '\n');
        if (eol == NULL) {
            eol = end;
        }

        line.data = p;
        line.len = eol - p;
        p = eol + 1;

        if (line.len == 0 || line.data[0] == '#') {
            continue;
        }

        if (line.len > 4 && ngx_strncmp(line.data, "seq ", 4) == 0) {
            n = ngx_atoi(line.data + 4, line.len - 4);
            if (n == NGX_ERROR) {
                return NGX_ERROR;
            }
            *seq = (uint64_t) n;
            continue;
        }

        if (line.len > 9 && ngx_strncmp(line.data, "unloaded ", 9) == 0) {
            name = ngx_array_push(unloaded);
            if (name == NULL) {
                return NGX_ERROR;
            }

            name->len = line.len - 9;
            name->data = ngx_pstrdup(pool, &(ngx_str_t) { name->len,
                                                          line.data + 9 });
            if (name->data == NULL) {
                return NGX_ERROR;
            }
            continue;
        }

        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A load/unload request: the state file is changed under its lock and its
 * request number goes up; *seq is the new number.
 */
ngx_int_t
ngx_http_forest_repo_update(ngx_log_t *log, ngx_pool_t *pool,
    ngx_str_t *state, ngx_str_t *name, ngx_uint_t unload, uint64_t *seq)
{
    u_char           *buf, *p, *end;
    size_t            size;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_int_t         rc;
    ngx_str_t        *names;
    ngx_uint_t        i;
    ngx_array_t       unloaded;
    ngx_file_info_t   fi;

    if (ngx_array_init(&unloaded, pool, 4, sizeof(ngx_str_t)) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(state->data, NGX_FILE_RDWR, NGX_FILE_CREATE_OR_OPEN,
                       NGX_FILE_DEFAULT_ACCESS);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      ngx_open_file_n " \"%V\" failed", state);
        return NGX_ERROR;
    }

    rc = NGX_ERROR;
    *seq = 0;

    if (flock(fd, LOCK_EX) == -1 || ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno, "\"%V\"", state);
        goto done;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_FOREST_REPO_STATE_MAX) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "\"%V\" is too large", state);
        goto done;
    }

    size = (size_t) ngx_file_size(&fi) + name->len + 256;

    buf = ngx_pnalloc(pool, size);
    if (buf == NULL) {
        goto done;
    }

    n = ngx_read_fd(fd, buf, (size_t) ngx_file_size(&fi));
    if (n == -1
        || ngx_http_forest_repo_parse_state(pool, buf, buf + n, &unloaded,
                                            seq)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0, "\"%V\" cannot be read as a "
                      "state file", state);
        goto done;
    }

    (*seq)++;

    end = buf + size;
    p = ngx_slprintf(buf, end, "# forest_model_repository: written by "
                     "/v2/repository/models/{m}/load and /unload\n"
                     "seq %uL\n", *seq);

    names = unloaded.elts;

    for (i = 0; i < unloaded.nelts; i++) {
        if (names[i].len == name->len
            && ngx_strncmp(names[i].data, name->data, name->len) == 0)
        {
            continue;
        }

        p = ngx_slprintf(p, end, "unloaded %V\n", &names[i]);
    }

    if (unload) {
        p = ngx_slprintf(p, end, "unloaded %V\n", name);
    }

    if (ftruncate(fd, 0) == -1
        || pwrite(fd, buf, p - buf, 0) != p - buf)
    {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno, "\"%V\" cannot be "
                      "written", state);
        goto done;
    }

    rc = NGX_OK;

done:

    (void) ngx_close_file(fd);

    return rc;
}


/*
 * What the reload for request seq made of model name: NGX_AGAIN (not yet
 * read), NGX_OK with *ready, or NGX_DECLINED with the reason the reload
 * was refused in *error.  A reload that failed elsewhere leaves NGX_AGAIN.
 */
ngx_int_t
ngx_http_forest_repo_result(ngx_str_t *state, uint64_t seq, ngx_str_t *name,
    ngx_pool_t *pool, ngx_flag_t *ready, ngx_str_t *error)
{
    u_char     *text, *p, *end, *eol, path[NGX_MAX_PATH];
    size_t      len;
    ngx_err_t   err;
    ngx_str_t   line;
    ngx_int_t   n;

    ngx_snprintf(path, sizeof(path), "%V.result%Z", state);

    text = ngx_http_forest_repo_read(pool, (char *) path,
                                     NGX_HTTP_FOREST_REPO_STATE_MAX, &len,
                                     &err);
    if (text == NULL) {
        return NGX_AGAIN;
    }

    *ready = 0;
    error->len = 0;
    n = -1;

    for (p = text, end = text + len; p < end; p = eol + 1) {
        eol = ngx_strlchr(p, end, '\n');
        if (eol == NULL) {
            eol = end;
        }

        line.data = p;
        line.len = eol - p;

        if (line.len > 4 && ngx_strncmp(line.data, "seq ", 4) == 0) {
            n = ngx_atoi(line.data + 4, line.len - 4);
            if (n == NGX_ERROR || (uint64_t) n < seq) {
                return NGX_AGAIN;
            }

        } else if (line.len > 6 && ngx_strncmp(line.data, "error ", 6) == 0)
        {
            error->data = line.data + 6;
            error->len = line.len - 6;
            return NGX_DECLINED;

        } else if (line.len == 6 + name->len
                   && ngx_strncmp(line.data, "ready ", 6) == 0
                   && ngx_strncmp(line.data + 6, name->data, name->len) == 0)
        {
            *ready = 1;

        } else if (line.len > 12 + name->len
                   && ngx_strncmp(line.data, "unavailable ", 12) == 0
                   && ngx_strncmp(line.data + 12, name->data, name->len) == 0
                   && line.data[12 + name->len] == ' '
                   && error->len == 0)
        {
            error->data = line.data + 13 + name->len;
            error->len = line.len - 13 - name->len;
        }
    }

    return n == -1 ? NGX_AGAIN : NGX_OK;
}


/* Written whole under a new name and renamed: readers take no lock. */
static ngx_int_t
ngx_http_forest_repo_write(ngx_log_t *log, ngx_str_t *state, u_char *data,
    size_t len)
{
    u_char    tmp[NGX_MAX_PATH], path[NGX_MAX_PATH];
    ngx_fd_t  fd;

    ngx_snprintf(path, sizeof(path), "%V.result%Z", state);
    ngx_snprintf(tmp, sizeof(tmp), "%V.result.%P%Z", state, ngx_pid);

    fd = ngx_open_file(tmp, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                       NGX_FILE_DEFAULT_ACCESS);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      ngx_open_file_n " \"%s\" failed", tmp);
        return NGX_ERROR;
    }

    if (ngx_write_fd(fd, data, len) != (ssize_t) len) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno, "\"%s\" cannot be "
                      "written", tmp);
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    (void) ngx_close_file(fd);

    if (ngx_rename_file(tmp, path) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno, ngx_rename_file_n
                      " \"%s\" to \"%s\" failed", tmp, path);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_forest_repo_served(ngx_str_t *name)
{
    u_char  *p, *end;

    p = ngx_http_forest_repo_served_names;
    if (p == NULL) {
        return 0;
    }

    end = p + ngx_http_forest_repo_served_len;

    /* NUL-separated names */
    while (p < end) {
        if (ngx_strlen(p) == name->len
            && ngx_strncmp(p, name->data, name->len) == 0)
        {
            return 1;
        }

        p += ngx_strlen(p) + 1;
    }

    return 0;
}


/*
 * nginx -t: when the server that the pid file names runs (as nginx -s
 * finds it), the names its STATE.result lists as ready are the served ones,
 * so -t refuses what a reload would.
 */
static ngx_int_t
ngx_http_forest_repo_running(ngx_conf_t *cf,
    ngx_http_forest_main_conf_t *fmcf)
{
    u_char           *text, *p, *end, *eol, *names, *q;
    u_char            path[NGX_MAX_PATH];
    size_t            len;
    ngx_err_t         err;
    ngx_str_t         pid;
    ngx_int_t         n;
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                           ngx_core_module);

    /* what the core module's init_conf makes of it after the http block */
    pid = ccf->pid;
    if (pid.len == 0) {
        ngx_str_set(&pid, NGX_PID_PATH);
    }

    if (ngx_conf_full_name(cf->cycle, &pid, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    text = ngx_http_forest_repo_read(cf->temp_pool, (char *) pid.data,
                                     NGX_INT64_LEN + 2, &len, &err);
    if (text == NULL) {
        return NGX_OK;
    }

    while (len > 0 && (text[len - 1] == LF || text[len - 1] == CR)) {
        len--;
    }

    n = ngx_atoi(text, len);
    if (n <= 0 || (kill((ngx_pid_t) n, 0) == -1 && ngx_errno == NGX_ESRCH)) {
        return NGX_OK;
    }

    ngx_snprintf(path, sizeof(path), "%V.result%Z", &fmcf->repo.state);

    text = ngx_http_forest_repo_read(cf->temp_pool, (char *) path,
                                     NGX_HTTP_FOREST_REPO_STATE_MAX, &len,
                                     &err);
    if (text == NULL) {
        return NGX_OK;
    }

    names = ngx_pnalloc(cf->pool, len + 1);
    if (names == NULL) {
        return NGX_ERROR;
    }

    q = names;

    for (p = text, end = text + len; p < end; p = eol + 1) {
        eol = ngx_strlchr(p, end, '\n');
        if (eol == NULL) {
            eol = end;
        }

        if (eol - p > 6 && ngx_strncmp(p, "ready ", 6) == 0) {
            q = ngx_cpymem(q, p + 6, eol - p - 6);
            *q++ = '\0';
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cf->log, 0,
                   "forest repository: nginx %i runs, serving %uz bytes "
                   "of names", n, (size_t) (q - names));

    ngx_http_forest_repo_served_names = names;
    ngx_http_forest_repo_served_len = q - names;

    return NGX_OK;
}


static ngx_int_t
ngx_http_forest_repo_keep_served(ngx_cycle_t *cycle,
    ngx_http_forest_main_conf_t *fmcf)
{
    u_char                    *names, *p;
    size_t                     len;
    ngx_uint_t                 i;
    ngx_http_forest_model_t  **models;

    models = fmcf->models.elts;
    len = 1;

    for (i = 0; i < fmcf->models.nelts; i++) {
        len += models[i]->name.len + 1;
    }

    names = ngx_pnalloc(cycle->pool, len);
    if (names == NULL) {
        return NGX_ERROR;
    }

    p = names;

    for (i = 0; i < fmcf->models.nelts; i++) {
        p = ngx_cpymem(p, models[i]->name.data, models[i]->name.len);
        *p++ = '\0';
    }

    ngx_http_forest_repo_served_names = names;
    ngx_http_forest_repo_served_len = p - names;

    return NGX_OK;
}


/*
 * The module's init_module: in the master, once a configuration has been
 * read and is about to serve, its models become "the running ones", and
 * STATE.result says what the reload made of each repository model.
 */
ngx_int_t
ngx_http_forest_repo_init_module(ngx_cycle_t *cycle)
{
    u_char                        *buf, *p, *end;
    size_t                         size;
    ngx_uint_t                     i;
    ngx_http_forest_model_t      **models;
    ngx_http_forest_main_conf_t   *fmcf;
    ngx_http_forest_repo_entry_t  *e;

    if (ngx_test_config || ngx_process == NGX_PROCESS_SIGNALLER) {
        return NGX_OK;
    }

    /* the names in the cycle that goes are not to be read again */
    ngx_http_forest_repo_served_names = NULL;
    ngx_http_forest_repo_served_len = 0;

    fmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_forest_module);
    if (fmcf == NULL) {
        return NGX_OK;
    }

    if (ngx_http_forest_repo_keep_served(cycle, fmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (fmcf->repo.dirs.nelts == 0) {
        return NGX_OK;
    }

    models = fmcf->models.elts;
    e = fmcf->repo.unavailable.elts;
    size = 64;

    for (i = 0; i < fmcf->models.nelts; i++) {
        size += models[i]->name.len + 8;
    }

    for (i = 0; i < fmcf->repo.unavailable.nelts; i++) {
        size += e[i].name.len + e[i].reason.len + 16;
    }

    buf = ngx_pnalloc(cycle->pool, size);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    end = buf + size;
    p = ngx_slprintf(buf, end, "seq %uL\n", fmcf->repo.seq);

    for (i = 0; i < fmcf->models.nelts; i++) {
        p = ngx_slprintf(p, end, "ready %V\n", &models[i]->name);
    }

    for (i = 0; i < fmcf->repo.unavailable.nelts; i++) {
        p = ngx_slprintf(p, end, "unavailable %V %V\n", &e[i].name,
                         &e[i].reason);
    }

    /* a state file nobody can write only costs the endpoints their answer */
    (void) ngx_http_forest_repo_write(cycle->log, &fmcf->repo.state, buf,
                                      p - buf);

    return NGX_OK;
}
