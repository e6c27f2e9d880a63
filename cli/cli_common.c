/*
 * Argument parsing and model/input loading shared by the subcommands.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    unsigned    bit;
    int         has_value;
    unsigned long max;           /* largest accepted number */
} cli_option;

static const cli_option options[] = {
    { "format",     CLI_OPT_FORMAT,     1, 0 },
    { "margin",     CLI_OPT_MARGIN,     0, 0 },
    { "thresholds", CLI_OPT_THRESHOLDS, 0, 0 },
    { "threads",    CLI_OPT_THREADS,    1, 4096 },
    { "features",   CLI_OPT_FEATURES,   1, FOREST_MAX_FEATURES },
    { "batch",      CLI_OPT_BATCH,      1, 1u << 24 },
    { "repeat",     CLI_OPT_REPEAT,     1, 1000 },
    { "device",     CLI_OPT_DEVICE,     1, 0 },
    { "gpu-kernel", CLI_OPT_GPU_KERNEL, 1, 0 },
    { "trees",      CLI_OPT_TREES,      1, 0 },
};

void
cli_usage(FILE *f)
{
    const forest_format_info *fi;

    fputs("usage: forest info MODEL [--format F] [--thresholds] [--trees T]\n"
          "       forest predict MODEL INPUT [--format F] [--margin] "
          "[--threads N] [--features N] [--device D] [--gpu-kernel K] "
          "[--trees T]\n"
          "       forest bench MODEL INPUT [--format F] [--batch N] "
          "[--threads N] [--repeat R] [--features N] [--device D] "
          "[--gpu-kernel K]\n"
          "       forest tune MODEL [--requests FILE] [--rows N] [--p99 T] "
          "[--concurrency C,C..] [--time T] [--out DIR] (forest tune --help)\n"
          "       forest --version\n"
          "INPUT is CSV with a header line, or raw float32 when it ends in "
          ".f32 (needs --features);\n"
          "D is cpu (default), gpu, or gpu-host (the GPU executor's layout "
          "and walk on the CPU, a check for machines without a GPU), or "
          "gpu-cpu (its kernel launches on CPU threads: the check builds of "
          "make test-gpu-cpu only);\n"
          "K is the GPU kernel (--device gpu): auto (default: by batch "
          "size), rows or trees;\n"
          "T is all (default), best (XGBoost's best_iteration, as its "
          "scikit-learn wrappers predict) or N boosting rounds;\n"
          "F is one of:\n", f);
    for (size_t i = 0; (fi = forest_format_at(i)) != NULL; i++) {
        fprintf(f, "  %-20s %s%s%s\n", fi->name, fi->description,
            fi->alias ? "; also called " : "", fi->alias ? fi->alias : "");
    }
}

int
cli_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("forest: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAIL;
}

static int
usage_error(const char *cmd, const char *fmt, const char *what)
{
    fprintf(stderr, "forest %s: ", cmd);
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    cli_usage(stderr);
    return -1;
}

static int
parse_number(const char *cmd, const cli_option *o, const char *v,
    unsigned long *out)
{
    char *end;

    errno = 0;
    if (*v < '0' || *v > '9') {
        return usage_error(cmd, "--%s needs a non-negative integer", o->name);
    }
    *out = strtoul(v, &end, 10);
    if (errno != 0 || *end != '\0' || *out > o->max) {
        fprintf(stderr, "forest %s: --%s %s: not an integer in 0..%lu\n",
            cmd, o->name, v, o->max);
        cli_usage(stderr);
        return -1;
    }
    return 0;
}

static int
apply_option(const char *cmd, const cli_option *o, const char *v,
    cli_args *a)
{
    unsigned long n = 0;

    if (o->bit == CLI_OPT_MARGIN) {
        a->margin = 1;
        return 0;
    }
    if (o->bit == CLI_OPT_THRESHOLDS) {
        a->thresholds = 1;
        return 0;
    }
    if (o->bit == CLI_OPT_DEVICE) {
        if (strcmp(v, "cpu") == 0) {
            a->device = CLI_DEVICE_CPU;
        } else if (strcmp(v, "gpu") == 0) {
            a->device = CLI_DEVICE_GPU;
        } else if (strcmp(v, "gpu-host") == 0) {
            a->device = CLI_DEVICE_GPU_HOST;
        } else if (strcmp(v, "gpu-cpu") == 0) {
            a->device = CLI_DEVICE_GPU_CPU;
        } else {
            return usage_error(cmd, "--device is cpu, gpu, gpu-host or "
                               "gpu-cpu, not '%s'", v);
        }
        return 0;
    }
    if (o->bit == CLI_OPT_GPU_KERNEL) {
        if (strcmp(v, "auto") == 0) {
            a->gpu_kernel = FOREST_GPU_KERNEL_AUTO;
        } else if (strcmp(v, "rows") == 0) {
            a->gpu_kernel = FOREST_GPU_KERNEL_ROWS;
        } else if (strcmp(v, "trees") == 0) {
            a->gpu_kernel = FOREST_GPU_KERNEL_TREES;
        } else if (strcmp(v, "compact") == 0) {
            a->gpu_kernel = FOREST_GPU_KERNEL_COMPACT;
        } else {
            return usage_error(cmd, "--gpu-kernel is auto, rows, trees or "
                               "compact, not '%s'", v);
        }
        return 0;
    }
    if (o->bit == CLI_OPT_TREES) {
        if (forest_trees_parse(v, strlen(v), &a->trees) != 0) {
            return usage_error(cmd, "--trees is all, best or a number of "
                               "boosting rounds, not '%s'", v);
        }
        return 0;
    }
    if (o->bit == CLI_OPT_FORMAT) {
        char names[256];

        if (forest_format_parse(v, &a->format) != 0) {
            forest_format_list(names, sizeof(names));
            fprintf(stderr, "forest %s: unknown model format '%s', expected "
                "one of: %s\n", cmd, v, names);
            return -1;
        }
        return 0;
    }
    if (parse_number(cmd, o, v, &n) != 0) {
        return -1;
    }
    switch (o->bit) {
    case CLI_OPT_THREADS:
        a->threads = (unsigned) n;
        return 0;
    case CLI_OPT_FEATURES:
        a->features = (uint32_t) n;
        return n ? 0 : usage_error(cmd, "--%s must be at least 1", o->name);
    case CLI_OPT_BATCH:
        a->batch = (size_t) n;
        return n ? 0 : usage_error(cmd, "--%s must be at least 1", o->name);
    default:
        a->repeat = (unsigned) n;
        return n ? 0 : usage_error(cmd, "--%s must be at least 1", o->name);
    }
}

int
cli_parse_args(int argc, char **argv, int first, const char *cmd,
    unsigned allowed, int n_pos, cli_args *a)
{
    for (int i = first; i < argc; i++) {
        const char       *arg = argv[i], *value, *eq;
        const cli_option *o = NULL;
        size_t            len;

        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (a->n_pos == n_pos) {
                return usage_error(cmd, "unexpected argument '%s'", arg);
            }
            a->pos[a->n_pos++] = arg;
            continue;
        }
        eq = strchr(arg, '=');
        len = eq ? (size_t) (eq - arg - 2) : strlen(arg + 2);
        for (size_t k = 0; k < sizeof(options) / sizeof(options[0]); k++) {
            if (strlen(options[k].name) == len
                && strncmp(options[k].name, arg + 2, len) == 0
                && (options[k].bit & allowed))
            {
                o = &options[k];
            }
        }
        if (o == NULL) {
            return usage_error(cmd, "unknown option '%s'", arg);
        }
        if (!o->has_value) {
            if (eq != NULL) {
                return usage_error(cmd, "'%s' takes no value", arg);
            }
            value = NULL;
        } else if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return usage_error(cmd, "'%s' needs a value", arg);
        }
        if (apply_option(cmd, o, value, a) != 0) {
            return -1;
        }
    }
    if (a->n_pos != n_pos) {
        return usage_error(cmd, "%s", n_pos == 1 ? "expected MODEL"
                                                 : "expected MODEL INPUT");
    }
    return 0;
}

forest_model *
cli_load_model(const char *path, forest_format format, uint32_t trees)
{
    char          err[FOREST_ERR_LEN];
    forest_model *m = forest_load(path, format, err, sizeof(err));

    if (m == NULL) {
        cli_fail("%s", err);
        return NULL;
    }
    if (forest_select_rounds(m, trees, path, err, sizeof(err)) != 0) {
        cli_fail("%s", err);
        forest_free(m);
        return NULL;
    }
    return m;
}

static int
load_input(const char *path, const forest_model *m, uint32_t features,
    forest_matrix *mat)
{
    char   err[FOREST_ERR_LEN];
    size_t n = strlen(path);

    if (n >= 4 && strcmp(path + n - 4, ".f32") == 0) {
        if (features == 0) {
            cli_fail("%s: raw float32 input needs --features N (the model "
                "has %u)", path, m->n_features);
            return -1;
        }
        if (features != m->n_features) {
            cli_fail("%s: --features %u, but the model has %u features",
                path, features, m->n_features);
            return -1;
        }
    }
    if (forest_input_load(path, features, mat, err, sizeof(err)) != 0
        || forest_matrix_for_model(mat, m, path, err, sizeof(err)) != 0)
    {
        forest_matrix_free(mat);
        cli_fail("%s", err);
        return -1;
    }
    return 0;
}

/* The model a->pos[0] and the input file a->pos[1], read and arranged for
 * the model; NULL after an error message (then nothing is left to free). */
static forest_model *
load_model_and_input(const cli_args *a, forest_matrix *mat)
{
    forest_model *m = cli_load_model(a->pos[0], a->format, a->trees);

    if (m != NULL && load_input(a->pos[1], m, a->features, mat) != 0) {
        forest_free(m);
        return NULL;
    }
    return m;
}

/* The executor --device asks for (cpu by default); NULL after a message. */
static forest_executor *
executor_create(const forest_model *m, const cli_args *a)
{
    forest_executor *ex;
    char             err[FOREST_ERR_LEN];

    if (a->device == CLI_DEVICE_CPU) {
        ex = forest_cpu_executor_create(m, a->threads, err, sizeof(err));
    } else if (a->device == CLI_DEVICE_GPU_CPU) {
#ifdef FOREST_GPU_CPU
        ex = forest_gpu_cpu_executor_create(m, err, sizeof(err));
#else
        snprintf(err, sizeof(err), "--device gpu-cpu: only the check builds "
            "of make test-gpu-cpu (BUILD/gpu-cpu/*/bin/forest) have it");
        ex = NULL;
#endif
    } else {
#ifdef FOREST_HAVE_CUDA
        forest_gpu_options opt = { 0, 0, a->threads, 0, a->gpu_kernel };

        ex = a->device == CLI_DEVICE_GPU
             ? forest_gpu_executor_create(m, &opt, err, sizeof(err))
             : forest_gpu_host_executor_create(m, err, sizeof(err));
#else
        snprintf(err, sizeof(err), "--device %s: this build has no CUDA "
            "support", a->device == CLI_DEVICE_GPU ? "gpu" : "gpu-host");
        ex = NULL;
#endif
    }
    if (ex == NULL) {
        cli_fail("%s", err);
    }
    return ex;
}

int
cli_run_executor(const cli_args *a, cli_executor_fn run)
{
    forest_model    *m;
    forest_matrix    mat;
    forest_executor *ex;
    int              rc;

    m = load_model_and_input(a, &mat);
    if (m == NULL) {
        return CLI_EXIT_FAIL;
    }
    ex = executor_create(m, a);
    if (ex == NULL) {
        rc = CLI_EXIT_FAIL;
    } else {
        rc = run(ex, &mat, a);
        forest_executor_destroy(ex);
    }
    forest_matrix_free(&mat);
    forest_free(m);
    return rc;
}
