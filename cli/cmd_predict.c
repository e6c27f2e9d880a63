/*
 * `forest predict MODEL INPUT`: one CSV line per input row, one "%.9g"
 * column per output, no header.
 */
#include "cli.h"
#include "forest_exec.h"

#include <stdio.h>
#include <stdlib.h>

/* rows per executor call, so the output buffer stays small on huge inputs */
#define PREDICT_CHUNK 65536

static int
predict_rows(forest_executor *ex, const forest_matrix *mat, const cli_args *a)
{
    uint32_t cols = forest_output_columns(ex->model, a->margin);
    size_t   chunk = mat->n_rows < PREDICT_CHUNK ? mat->n_rows : PREDICT_CHUNK;
    float   *out = malloc(chunk * cols * sizeof(float) + 1);
    char     err[FOREST_ERR_LEN];

    if (out == NULL) {
        return cli_fail("out of memory");
    }
    for (size_t r0 = 0; r0 < mat->n_rows; r0 += chunk) {
        size_t n = mat->n_rows - r0 < chunk ? mat->n_rows - r0 : chunk;

        if (forest_executor_predict(ex, mat->values + r0 * mat->n_cols, n,
                a->margin, out, err, sizeof(err)) != 0)
        {
            free(out);
            return cli_fail("prediction failed: %s", err);
        }
        for (size_t i = 0; i < n; i++) {
            for (uint32_t k = 0; k < cols; k++) {
                printf(k ? ",%.9g" : "%.9g", out[i * cols + k]);
            }
            putchar('\n');
        }
    }
    free(out);
    return fflush(stdout) == 0 && !ferror(stdout)
           ? 0 : cli_fail("cannot write the output");
}

int
cmd_predict(int argc, char **argv)
{
    cli_args a = { 0 };

    if (cli_parse_args(argc, argv, 2, "predict", CLI_OPT_FORMAT
            | CLI_OPT_MARGIN | CLI_OPT_THREADS | CLI_OPT_FEATURES
            | CLI_OPT_DEVICE | CLI_OPT_GPU_KERNEL | CLI_OPT_TREES, 2, &a) != 0)
    {
        return CLI_EXIT_USAGE;
    }
    return cli_run_executor(&a, predict_rows);
}
