/*
 * Shared pieces of the `forest` command-line tool: argument parsing, loading
 * the model and the input, and error reporting.
 */
#ifndef FOREST_CLI_H
#define FOREST_CLI_H

#include "forest.h"
#include "forest_exec.h"
#include "input.h"
#include "../gpu/forest_gpu.h"

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* exit status: 1 for a failure at run time, 2 for a bad command line */
#define CLI_EXIT_FAIL   1
#define CLI_EXIT_USAGE  2

/* Options a command accepts (bit set passed to cli_parse_args). */
enum {
    CLI_OPT_FORMAT     = 1 << 0,
    CLI_OPT_MARGIN     = 1 << 1,
    CLI_OPT_THREADS    = 1 << 2,
    CLI_OPT_FEATURES   = 1 << 3,
    CLI_OPT_BATCH      = 1 << 4,
    CLI_OPT_REPEAT     = 1 << 5,
    CLI_OPT_DEVICE     = 1 << 6,
    CLI_OPT_GPU_KERNEL = 1 << 7,
    CLI_OPT_THRESHOLDS = 1 << 8,
    CLI_OPT_TREES      = 1 << 9
};

typedef enum {
    CLI_DEVICE_CPU = 0,
    CLI_DEVICE_GPU,
    CLI_DEVICE_GPU_HOST,         /* the GPU layout and walk, run on the CPU */
    CLI_DEVICE_GPU_CPU           /* the kernel launches on CPU threads (gpu/cpu/) */
} cli_device;

typedef struct {
    forest_format      format;      /* --format, default auto */
    int                margin;      /* --margin */
    int                thresholds;  /* --thresholds (info) */
    unsigned           threads;     /* --threads, 0 = forest_cpu_count() */
    uint32_t           features;    /* --features, for .f32 input */
    size_t             batch;       /* --batch */
    unsigned           repeat;      /* --repeat */
    cli_device         device;      /* --device, default cpu */
    forest_gpu_kernel  gpu_kernel;  /* --gpu-kernel, default auto */
    uint32_t           trees;       /* --trees: FOREST_TREES_* or rounds */
    const char        *pos[2];      /* positional arguments */
    int                n_pos;
} cli_args;

/*
 * Parses argv[first..argc) for command cmd: options anywhere, as "--opt V"
 * or "--opt=V", and exactly n_pos positional arguments.  On error prints a
 * message and the usage line to stderr and returns -1.
 */
int cli_parse_args(int argc, char **argv, int first, const char *cmd,
    unsigned allowed, int n_pos, cli_args *a);

void cli_usage(FILE *f);

/* Prints "forest: msg" to stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* The model with the trees --trees keeps; NULL after a message. */
forest_model *cli_load_model(const char *path, forest_format format,
    uint32_t trees);

typedef int (*cli_executor_fn)(forest_executor *ex, const forest_matrix *mat,
    const cli_args *a);

/*
 * Loads the model a->pos[0] and the input a->pos[1], builds the executor
 * --device asks for (cpu by default), calls run with them and frees them
 * again; CLI_EXIT_FAIL after a message when any of that fails, otherwise
 * what run returns.
 */
int cli_run_executor(const cli_args *a, cli_executor_fn run);

int cmd_info(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tune(int argc, char **argv);

#endif /* FOREST_CLI_H */
