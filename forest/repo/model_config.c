/*
 * The Triton model configuration reader for FIL models: the message
 * schemas (every field Triton's ModelConfig knows, so that what Triton
 * accepts is accepted and a misspelt field is refused as Triton refuses
 * it), then the values FIL uses.
 */
#include "model_config.h"
#include "pbtxt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MC_MSG  1                        /* the field is a message */
#define MC_REP  2                        /* the field may repeat */

typedef struct {
    const char  *name;
    int          flags;
} mc_field_def;

typedef struct {
    const char  *file;
    char        *err;
    size_t       errlen;
} mc_ctx;

static const mc_field_def mc_model_config[] = {
    { "name", 0 }, { "platform", 0 }, { "backend", 0 }, { "runtime", 0 },
    { "version_policy", MC_MSG }, { "max_batch_size", 0 },
    { "input", MC_MSG | MC_REP }, { "output", MC_MSG | MC_REP },
    { "batch_input", MC_MSG | MC_REP }, { "batch_output", MC_MSG | MC_REP },
    { "optimization", MC_MSG }, { "dynamic_batching", MC_MSG },
    { "sequence_batching", MC_MSG }, { "ensemble_scheduling", MC_MSG },
    { "instance_group", MC_MSG | MC_REP }, { "default_model_filename", 0 },
    { "cc_model_filenames", MC_MSG | MC_REP },
    { "metric_tags", MC_MSG | MC_REP }, { "parameters", MC_MSG | MC_REP },
    { "model_warmup", MC_MSG | MC_REP }, { "model_operations", MC_MSG },
    { "model_transaction_policy", MC_MSG },
    { "model_repository_agents", MC_MSG }, { "response_cache", MC_MSG },
    { NULL, 0 }
};

static const mc_field_def mc_tensor[] = {
    { "name", 0 }, { "data_type", 0 }, { "format", 0 },
    { "dims", MC_REP }, { "reshape", MC_MSG }, { "is_shape_tensor", 0 },
    { "allow_ragged_batch", 0 }, { "optional", 0 }, { "label_filename", 0 },
    { "is_non_linear_format_io", 0 },
    { NULL, 0 }
};

static const mc_field_def mc_instance_group[] = {
    { "name", 0 }, { "kind", 0 }, { "count", 0 },
    { "rate_limiter", MC_MSG }, { "gpus", MC_REP },
    { "secondary_devices", MC_MSG | MC_REP }, { "profile", MC_REP },
    { "passive", 0 }, { "host_policy", 0 },
    { NULL, 0 }
};

static const mc_field_def mc_dynamic_batching[] = {
    { "preferred_batch_size", MC_REP }, { "max_queue_delay_microseconds", 0 },
    { "preserve_ordering", 0 }, { "priority_levels", 0 },
    { "default_priority_level", 0 }, { "default_queue_policy", MC_MSG },
    { "priority_queue_policy", MC_MSG | MC_REP },
    { NULL, 0 }
};

static const mc_field_def mc_version_policy[] = {
    { "latest", MC_MSG }, { "all", MC_MSG }, { "specific", MC_MSG },
    { NULL, 0 }
};

static const mc_field_def mc_latest[] = {
    { "num_versions", 0 }, { NULL, 0 }
};

static const mc_field_def mc_specific[] = {
    { "versions", MC_REP }, { NULL, 0 }
};

static const mc_field_def mc_none[] = {
    { NULL, 0 }
};

static const mc_field_def mc_parameter[] = {
    { "key", 0 }, { "value", MC_MSG }, { NULL, 0 }
};

static const mc_field_def mc_parameter_value[] = {
    { "string_value", 0 }, { NULL, 0 }
};

/* FIL's own GPU kernel and memory tuning: nothing to tune here */
static const char *const mc_no_effect[] = {
    "storage_type", "algo", "threads_per_tree", "blocks_per_sm",
    "use_experimental_optimizations", "layout", "chunk_size",
    "xgboost_allow_unknown_field", NULL
};

/* ModelConfig fields that configure what FIL models do not have here */
static const char *const mc_ignored_fields[] = {
    "batch_input", "batch_output", "optimization", "sequence_batching",
    "ensemble_scheduling", "cc_model_filenames", "metric_tags",
    "model_warmup", "model_operations", "model_transaction_policy",
    "model_repository_agents", "response_cache", NULL
};

static const struct {
    const char     *name;
    forest_format   format;
    const char     *file;
} mc_model_types[] = {
    /* FIL's "xgboost" is the binary encoding; every XGBoost encoding is
     * told apart by its bytes, so a JSON or UBJSON file loads too */
    { "xgboost", FOREST_FORMAT_XGBOOST, "xgboost.model" },
    { "xgboost_json", FOREST_FORMAT_XGBOOST_JSON, "xgboost.json" },
    { "xgboost_ubj", FOREST_FORMAT_XGBOOST_UBJ, "xgboost.ubj" },
    { "lightgbm", FOREST_FORMAT_LIGHTGBM, "model.txt" },
    { "treelite_checkpoint", FOREST_FORMAT_TREELITE, "checkpoint.tl" },
};

#define MC_N_TYPES  (sizeof(mc_model_types) / sizeof(mc_model_types[0]))

static int
mc_fail(mc_ctx *c, unsigned line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    forest_pbtxt_verror(c->err, c->errlen, c->file, line, fmt, ap);
    va_end(ap);
    return -1;
}

/* Every field known to `type`, with the right kind, once unless repeated. */
static int
mc_check(mc_ctx *c, const forest_pb_msg *msg, const char *type,
    const mc_field_def *defs)
{
    const forest_pb_field  *f, *g;
    const mc_field_def     *d;

    for (f = msg->first; f != NULL; f = f->next) {
        for (d = defs; d->name != NULL; d++) {
            if (strcmp(d->name, f->name) == 0) {
                break;
            }
        }
        if (d->name == NULL) {
            return mc_fail(c, f->line, "%s has no field named \"%s\"", type,
                           f->name);
        }
        if ((d->flags & MC_MSG) && f->msg == NULL) {
            return mc_fail(c, f->line, "%s.%s is a message: write %s { ... }",
                           type, f->name, f->name);
        }
        if (!(d->flags & MC_MSG) && f->msg != NULL) {
            return mc_fail(c, f->line, "%s.%s takes a value, not a message",
                           type, f->name);
        }
        if (d->flags & MC_REP) {
            continue;
        }
        for (g = msg->first; g != f; g = g->next) {
            if (strcmp(g->name, f->name) == 0) {
                return mc_fail(c, f->line, "%s.%s is given twice (also at "
                               "line %u)", type, f->name, g->line);
            }
        }
    }
    return 0;
}

static const forest_pb_field *
mc_get(const forest_pb_msg *msg, const char *name)
{
    const forest_pb_field *f;

    for (f = msg->first; f != NULL; f = f->next) {
        if (strcmp(f->name, name) == 0) {
            return f;
        }
    }
    return NULL;
}

static int
mc_int(mc_ctx *c, const forest_pb_field *f, int64_t min, int64_t max,
    int64_t *out)
{
    char       *end;
    long long   v;

    if (f->quoted) {
        return mc_fail(c, f->line, "%s takes a number, not a string",
                       f->name);
    }
    errno = 0;
    v = strtoll(f->value, &end, 0);
    if (errno != 0 || end == f->value || *end != '\0') {
        return mc_fail(c, f->line, "%s: \"%s\" is not an integer", f->name,
                       f->value);
    }
    if (v < min || v > max) {
        return mc_fail(c, f->line, "%s: %lld is out of range (%lld to %lld)",
                       f->name, v, (long long) min, (long long) max);
    }
    *out = v;
    return 0;
}

static int
mc_string(mc_ctx *c, const forest_pb_field *f, char *out, size_t size)
{
    if (!f->quoted) {
        return mc_fail(c, f->line, "%s takes a string in quotes, not %s",
                       f->name, f->value);
    }
    if (f->value_len >= size || strlen(f->value) != f->value_len) {
        return mc_fail(c, f->line, "%s: the string is longer than %zu bytes "
                       "or holds a NUL byte", f->name, size - 1);
    }
    memcpy(out, f->value, f->value_len + 1);
    return 0;
}

static int
mc_enum(mc_ctx *c, const forest_pb_field *f, const char *const *names,
    const char *list)
{
    int i;

    if (!f->quoted) {
        for (i = 0; names[i] != NULL; i++) {
            if (strcmp(f->value, names[i]) == 0) {
                return i;
            }
        }
    }
    return mc_fail(c, f->line, "%s: unknown value %s%s%s (one of %s)",
                   f->name, f->quoted ? "\"" : "", f->value,
                   f->quoted ? "\"" : "", list);
}

static int
mc_tensor_read(mc_ctx *c, const forest_pb_field *t, const char *what,
    int64_t max_batch_size, forest_mc_tensor *out)
{
    static const char *const types[] = { "TYPE_FP32", NULL };
    const forest_pb_field  *f;
    const char             *type;
    int                     first;

    type = strcmp(what, "input") == 0 ? "ModelInput" : "ModelOutput";
    if (mc_check(c, t->msg, type, mc_tensor) != 0) {
        return -1;
    }

    f = mc_get(t->msg, "data_type");
    if (f != NULL && mc_enum(c, f, types, "TYPE_FP32: FIL reads and writes "
                             "32-bit floats") < 0)
    {
        return -1;
    }

    out->line = t->line;
    out->n_dims = 0;
    for (f = t->msg->first; f != NULL; f = f->next) {
        if (strcmp(f->name, "dims") != 0) {
            continue;
        }
        if (out->n_dims == FOREST_MC_MAX_DIMS) {
            return mc_fail(c, f->line, "%s has more than %d dims", what,
                           FOREST_MC_MAX_DIMS);
        }
        if (mc_int(c, f, -1, INT64_MAX, &out->dims[out->n_dims]) != 0) {
            return -1;
        }
        if (out->dims[out->n_dims] == 0) {
            return mc_fail(c, f->line, "%s dims: 0 is not a size (-1 or a "
                           "positive number)", what);
        }
        out->line = f->line;
        out->n_dims++;
    }
    if (out->n_dims == 0) {
        return mc_fail(c, t->line, "%s has no dims", what);
    }

    /* without batching the first dim is the batch */
    first = max_batch_size == 0 ? 1 : 0;
    if (out->n_dims - first != 1) {
        return mc_fail(c, out->line, "%s dims: FIL's %s is one dimension "
                       "per row ([%s]%s)", what, what,
                       what[0] == 'i' ? "features" : "outputs",
                       first ? " after the batch dimension, as "
                               "max_batch_size is 0" : "");
    }
    if (first) {
        out->dims[0] = out->dims[1];
        out->n_dims = 1;
    }
    return 0;
}

static int
mc_tensors(mc_ctx *c, const forest_pb_msg *root, const char *what,
    forest_model_config *mc, forest_mc_tensor *out)
{
    const forest_pb_field  *f, *seen = NULL;

    for (f = root->first; f != NULL; f = f->next) {
        if (strcmp(f->name, what) != 0) {
            continue;
        }
        if (seen != NULL) {
            return mc_fail(c, f->line, "FIL models have one %s (input__0 / "
                           "output__0); another is at line %u", what,
                           seen->line);
        }
        seen = f;
        if (mc_tensor_read(c, f, what, mc->max_batch_size, out) != 0) {
            return -1;
        }
    }
    return 0;
}

static int
mc_instance_groups(mc_ctx *c, const forest_pb_msg *root,
    forest_model_config *mc)
{
    static const char *const kinds[] = {
        "KIND_AUTO", "KIND_GPU", "KIND_CPU", "KIND_MODEL", NULL
    };
    const forest_pb_field  *g, *f;
    int                     kind, any_gpu, any_auto, any;
    int64_t                 v;

    any = any_gpu = any_auto = 0;
    for (g = root->first; g != NULL; g = g->next) {
        if (strcmp(g->name, "instance_group") != 0) {
            continue;
        }
        if (mc_check(c, g->msg, "ModelInstanceGroup", mc_instance_group)
            != 0)
        {
            return -1;
        }
        any = 1;
        kind = 0;
        f = mc_get(g->msg, "kind");
        if (f != NULL) {
            kind = mc_enum(c, f, kinds, "KIND_AUTO, KIND_GPU, KIND_CPU");
            if (kind < 0) {
                return -1;
            }
            if (kind == 3) {
                return mc_fail(c, f->line, "KIND_MODEL is for backends that "
                               "place their own instances; FIL takes "
                               "KIND_GPU, KIND_CPU or KIND_AUTO");
            }
        }
        any_gpu |= kind == 1;
        any_auto |= kind == 0;
        f = mc_get(g->msg, "count");
        if (f != NULL) {
            if (mc_int(c, f, 1, 1024, &v) != 0) {
                return -1;
            }
            mc->instance_count += (unsigned) v;
        }
        for (f = g->msg->first; f != NULL; f = f->next) {
            if (strcmp(f->name, "gpus") != 0) {
                continue;
            }
            if (kind == 2) {
                return mc_fail(c, f->line, "gpus given for a KIND_CPU "
                               "instance group");
            }
            if (mc->n_gpus == FOREST_MC_MAX_GPUS) {
                return mc_fail(c, f->line, "more than %d gpus",
                               FOREST_MC_MAX_GPUS);
            }
            if (mc_int(c, f, 0, 1023, &mc->gpus[mc->n_gpus]) != 0) {
                return -1;
            }
            mc->n_gpus++;
        }
    }

    /* one executor serves the model: on the GPU if any group asks for it */
    mc->kind = any_gpu ? FOREST_MC_KIND_GPU
               : !any || any_auto ? FOREST_MC_KIND_AUTO : FOREST_MC_KIND_CPU;
    return 0;
}

static int
mc_dynamic(mc_ctx *c, const forest_pb_field *d, forest_model_config *mc)
{
    const forest_pb_field  *f;
    int64_t                 v;

    if (mc_check(c, d->msg, "ModelDynamicBatching", mc_dynamic_batching)
        != 0)
    {
        return -1;
    }
    if (mc->max_batch_size == 0) {
        return mc_fail(c, d->line, "dynamic_batching needs max_batch_size "
                       "> 0");
    }
    mc->dynamic_batching = 1;

    f = mc_get(d->msg, "max_queue_delay_microseconds");
    if (f != NULL) {
        if (mc_int(c, f, 0, 60000000, &v) != 0) {
            return -1;
        }
        mc->max_queue_delay_us = (uint64_t) v;
    }

    for (f = d->msg->first; f != NULL; f = f->next) {
        if (strcmp(f->name, "preferred_batch_size") != 0) {
            continue;
        }
        if (mc->n_preferred == 16) {
            return mc_fail(c, f->line, "more than 16 preferred_batch_size");
        }
        if (mc_int(c, f, 1, INT32_MAX, &v) != 0) {
            return -1;
        }
        if (v > mc->max_batch_size) {
            return mc_fail(c, f->line, "preferred_batch_size %lld is over "
                           "max_batch_size %lld", (long long) v,
                           (long long) mc->max_batch_size);
        }
        mc->preferred_batch_size[mc->n_preferred++] = v;
    }
    return 0;
}

static int
mc_policy(mc_ctx *c, const forest_pb_field *p, forest_model_config *mc)
{
    const forest_pb_field  *f, *kind;
    int64_t                 v;

    if (mc_check(c, p->msg, "ModelVersionPolicy", mc_version_policy) != 0) {
        return -1;
    }
    kind = p->msg->first;
    if (kind == NULL) {
        return 0;                       /* the default: latest 1 */
    }
    if (kind->next != NULL) {
        return mc_fail(c, kind->next->line, "version_policy takes one of "
                       "latest, all and specific (also %s at line %u)",
                       kind->name, kind->line);
    }

    if (strcmp(kind->name, "all") == 0) {
        mc->policy = FOREST_MC_ALL;
        return mc_check(c, kind->msg, "ModelVersionPolicy.All", mc_none);
    }

    if (strcmp(kind->name, "latest") == 0) {
        if (mc_check(c, kind->msg, "ModelVersionPolicy.Latest", mc_latest)
            != 0)
        {
            return -1;
        }
        f = mc_get(kind->msg, "num_versions");
        if (f == NULL) {
            return mc_fail(c, kind->line, "version_policy latest needs "
                           "num_versions");
        }
        if (mc_int(c, f, 1, FOREST_MC_MAX_VERSIONS, &v) != 0) {
            return -1;
        }
        mc->policy = FOREST_MC_LATEST;
        mc->num_versions = (unsigned) v;
        return 0;
    }

    if (mc_check(c, kind->msg, "ModelVersionPolicy.Specific", mc_specific)
        != 0)
    {
        return -1;
    }
    mc->policy = FOREST_MC_SPECIFIC;
    for (f = kind->msg->first; f != NULL; f = f->next) {
        if (mc->n_versions == FOREST_MC_MAX_VERSIONS) {
            return mc_fail(c, f->line, "more than %d versions",
                           FOREST_MC_MAX_VERSIONS);
        }
        if (mc_int(c, f, 1, INT64_MAX, &v) != 0) {
            return -1;
        }
        mc->versions[mc->n_versions++] = v;
    }
    if (mc->n_versions == 0) {
        return mc_fail(c, kind->line, "version_policy specific names no "
                       "versions");
    }
    return 0;
}

static int
mc_bool_param(mc_ctx *c, unsigned line, const char *key, const char *v,
    int *out)
{
    if (strcasecmp(v, "true") == 0) {
        *out = 1;
    } else if (strcasecmp(v, "false") == 0) {
        *out = 0;
    } else {
        return mc_fail(c, line, "parameter %s: \"%s\" is not \"true\" or "
                       "\"false\"", key, v);
    }
    return 0;
}

static int
mc_int_param(mc_ctx *c, unsigned line, const char *key, const char *v,
    int64_t min, int64_t *out)
{
    char       *end;
    long long   n;

    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min) {
        return mc_fail(c, line, "parameter %s: \"%s\" is not an integer of "
                       "at least %lld", key, v, (long long) min);
    }
    *out = n;
    return 0;
}

static int
mc_param(mc_ctx *c, const forest_pb_field *p, forest_model_config *mc,
    char *notes, size_t notes_len)
{
    const forest_pb_field  *key, *val, *s;
    const char             *k, *v, *file;
    char                   *end;
    double                  d;
    size_t                  i, used;

    if (mc_check(c, p->msg, "ModelParameter", mc_parameter) != 0) {
        return -1;
    }
    key = mc_get(p->msg, "key");
    val = mc_get(p->msg, "value");
    if (key == NULL || !key->quoted) {
        return mc_fail(c, p->line, "parameters entry without a key string");
    }
    if (val == NULL) {
        return mc_fail(c, p->line, "parameter %s has no value { "
                       "string_value: \"...\" }", key->value);
    }
    if (mc_check(c, val->msg, "ModelParameter", mc_parameter_value) != 0) {
        return -1;
    }
    s = mc_get(val->msg, "string_value");
    if (s == NULL || !s->quoted || strlen(s->value) != s->value_len) {
        return mc_fail(c, val->line, "parameter %s: value needs "
                       "string_value: \"...\"", key->value);
    }
    k = key->value;
    v = s->value;

    if (strcmp(k, "model_type") == 0) {
        if (forest_fil_model_type(v, &mc->format, &file) != 0) {
            return mc_fail(c, s->line, "parameter model_type: unknown "
                           "\"%s\" (one of %s)", v, forest_fil_model_types());
        }
        if (mc->model_file[0] == '\0') {
            snprintf(mc->model_file, sizeof(mc->model_file), "%s", file);
        }
        return 0;
    }
    if (strcmp(k, "output_class") == 0 || strcmp(k, "is_classifier") == 0) {
        return mc_bool_param(c, s->line, k, v, &mc->output_class);
    }
    if (strcmp(k, "predict_proba") == 0) {
        return mc_bool_param(c, s->line, k, v, &mc->predict_proba);
    }
    if (strcmp(k, "threshold") == 0) {
        errno = 0;
        d = strtod(v, &end);
        if (errno != 0 || end == v || *end != '\0' || !isfinite(d)) {
            return mc_fail(c, s->line, "parameter threshold: \"%s\" is not "
                           "a number", v);
        }
        mc->has_threshold = 1;
        mc->threshold = (float) d;
        return 0;
    }
    if (strcmp(k, "transfer_threshold") == 0) {
        return mc_int_param(c, s->line, k, v, 0, &mc->transfer_threshold);
    }
    if (strcmp(k, "cpu_nthread") == 0) {
        mc->has_cpu_nthread = 1;
        return mc_int_param(c, s->line, k, v, -1, &mc->cpu_nthread);
    }

    for (i = 0; mc_no_effect[i] != NULL; i++) {
        if (strcmp(k, mc_no_effect[i]) == 0) {
            break;
        }
    }
    used = strlen(notes);
    snprintf(notes + used, notes_len - used, "%s%s (line %u%s)",
             used ? ", " : "", k, key->line,
             mc_no_effect[i] == NULL ? ", not a FIL parameter" : "");
    return 0;
}

static int
mc_read(mc_ctx *c, const forest_pb_msg *root, forest_model_config *mc,
    forest_mc_note note, void *note_data)
{
    const forest_pb_field  *f;
    char                    notes[1024], msg[1280];
    size_t                  i, used;

    if (mc_check(c, root, "ModelConfig", mc_model_config) != 0) {
        return -1;
    }

    f = mc_get(root, "name");
    if (f != NULL) {
        if (mc_string(c, f, mc->name, sizeof(mc->name)) != 0) {
            return -1;
        }
        mc->name_line = f->line;
    }
    f = mc_get(root, "backend");
    if (f != NULL && mc_string(c, f, mc->backend, sizeof(mc->backend)) != 0)
    {
        return -1;
    }
    f = mc_get(root, "platform");
    if (f != NULL && mc->backend[0] == '\0'
        && mc_string(c, f, mc->backend, sizeof(mc->backend)) != 0)
    {
        return -1;
    }

    f = mc_get(root, "max_batch_size");
    if (f != NULL && mc_int(c, f, 0, INT32_MAX, &mc->max_batch_size) != 0) {
        return -1;
    }

    if (mc_tensors(c, root, "input", mc, &mc->input) != 0
        || mc_tensors(c, root, "output", mc, &mc->output) != 0
        || mc_instance_groups(c, root, mc) != 0)
    {
        return -1;
    }

    f = mc_get(root, "dynamic_batching");
    if (f != NULL && mc_dynamic(c, f, mc) != 0) {
        return -1;
    }
    f = mc_get(root, "version_policy");
    if (f != NULL && mc_policy(c, f, mc) != 0) {
        return -1;
    }
    f = mc_get(root, "default_model_filename");
    if (f != NULL) {
        if (mc_string(c, f, mc->model_file, sizeof(mc->model_file)) != 0) {
            return -1;
        }
        if (mc->model_file[0] == '\0' || strchr(mc->model_file, '/') != NULL
            || strcmp(mc->model_file, ".") == 0
            || strcmp(mc->model_file, "..") == 0)
        {
            return mc_fail(c, f->line, "default_model_filename \"%s\" is "
                           "not a file name", mc->model_file);
        }
    }

    notes[0] = '\0';
    for (f = root->first; f != NULL; f = f->next) {
        if (strcmp(f->name, "parameters") == 0
            && mc_param(c, f, mc, notes, sizeof(notes)) != 0)
        {
            return -1;
        }
    }
    if (notes[0] != '\0' && note != NULL) {
        snprintf(msg, sizeof(msg), "%s: parameters %s tune FIL's own GPU "
                 "kernels or memory and have no effect here", c->file,
                 notes);
        note(note_data, msg);
    }

    notes[0] = '\0';
    for (f = root->first; f != NULL; f = f->next) {
        for (i = 0; mc_ignored_fields[i] != NULL; i++) {
            if (strcmp(f->name, mc_ignored_fields[i]) == 0) {
                used = strlen(notes);
                snprintf(notes + used, sizeof(notes) - used, "%s%s (line %u)",
                         used ? ", " : "", f->name, f->line);
            }
        }
    }
    if (mc->n_preferred > 0) {
        used = strlen(notes);
        snprintf(notes + used, sizeof(notes) - used, "%spreferred_batch_size"
                 " (batches grow to max_batch_size)", used ? ", " : "");
    }
    if (notes[0] != '\0' && note != NULL) {
        snprintf(msg, sizeof(msg), "%s: %s have no effect here", c->file,
                 notes);
        note(note_data, msg);
    }
    return 0;
}

int
forest_model_config_read(const char *text, size_t len, const char *file,
    forest_model_config *mc, forest_mc_note note, void *note_data,
    char *err, size_t errlen)
{
    forest_pbtxt  *doc;
    mc_ctx         c;
    const char    *type_file;
    int            rc;

    memset(mc, 0, sizeof(*mc));
    mc->max_batch_size = 0;
    mc->policy = FOREST_MC_LATEST;
    mc->num_versions = 1;
    mc->output_class = 0;               /* FIL's defaults */
    mc->predict_proba = 0;
    mc->threshold = 0.5f;
    mc->cpu_nthread = -1;
    mc->input.n_dims = 0;
    mc->output.n_dims = 0;
    forest_fil_model_type("xgboost", &mc->format, &type_file);

    doc = forest_pbtxt_parse(text, len, file, err, errlen);
    if (doc == NULL) {
        return -1;
    }

    c.file = file;
    c.err = err;
    c.errlen = errlen;
    rc = mc_read(&c, forest_pbtxt_root(doc), mc, note, note_data);
    forest_pbtxt_free(doc);

    if (rc == 0 && mc->model_file[0] == '\0') {
        snprintf(mc->model_file, sizeof(mc->model_file), "%s", type_file);
    }
    return rc;
}

int
forest_fil_model_type(const char *name, forest_format *format,
    const char **default_file)
{
    size_t i;

    for (i = 0; i < MC_N_TYPES; i++) {
        if (strcmp(name, mc_model_types[i].name) == 0) {
            *format = mc_model_types[i].format;
            *default_file = mc_model_types[i].file;
            return 0;
        }
    }
    return -1;
}

const char *
forest_fil_model_types(void)
{
    return "xgboost, xgboost_json, xgboost_ubj, lightgbm, "
           "treelite_checkpoint";
}
