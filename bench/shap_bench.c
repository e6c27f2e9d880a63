/*
 * Times forest's TreeSHAP on one model, one thread:
 *     shap_bench MODEL DATA.f32 [--batch B] [--seconds S] [--calls N]
 *         [--dump ROWS OUT.f32]
 * DATA.f32 holds float32 rows of the model's feature count.  Batches walk
 * through the data (wrapping) until S seconds of this process's CPU time
 * and at least N calls (default 3) have passed (CPU time, not wall time: the
 * rate of one thread however loaded the machine is); prints one line
 *     rows_per_s=... calls=... batch=...
 * --dump writes the contributions of the first ROWS rows, for checking them
 * against the library's own before trusting the timing.
 */
#include "input.h"
#include "treeshap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
    size_t        batch = 1, n_rows, dump_rows = 0, calls = 0, done = 0, per;
    size_t        min_calls = 3;
    double        seconds = 2.0, t0, elapsed;
    const char   *dump_path = NULL;
    char          err[FOREST_ERR_LEN];
    forest_model *m;
    forest_shap  *s;
    forest_matrix data;
    float        *rows, *out;

    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL DATA.f32 [--batch B] [--seconds S] "
            "[--calls N] [--dump ROWS OUT.f32]\n", argv[0]);
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            batch = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc) {
            min_calls = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--dump") == 0 && i + 2 < argc) {
            dump_rows = strtoul(argv[++i], NULL, 10);
            dump_path = argv[++i];
        } else {
            fprintf(stderr, "unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    m = forest_load(argv[1], FOREST_FORMAT_AUTO, err, sizeof(err));
    if (m == NULL || (s = forest_shap_new(m, err, sizeof(err))) == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (forest_input_load(argv[2], m->n_features, &data, err, sizeof(err))
        != 0)
    {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rows = data.values;
    n_rows = data.n_rows;
    batch = batch < 1 ? 1 : (batch > n_rows ? n_rows : batch);
    per = forest_shap_row_values(s);
    out = malloc((batch > dump_rows ? batch : dump_rows) * per
                 * sizeof(float));
    if (out == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    if (dump_path != NULL) {
        FILE *f = fopen(dump_path, "wb");

        dump_rows = dump_rows > n_rows ? n_rows : dump_rows;
        if (f == NULL || forest_shap_run(s, rows, dump_rows, out) != 0
            || fwrite(out, per * sizeof(float), dump_rows, f) != dump_rows
            || fclose(f) != 0)
        {
            fprintf(stderr, "%s: cannot write\n", dump_path);
            return 1;
        }
    }
    if (min_calls > 1) {
        forest_shap_run(s, rows, batch, out);
    }
    t0 = now_s();
    do {
        size_t at = (calls * batch) % n_rows;

        at = at + batch > n_rows ? 0 : at;
        forest_shap_run(s, rows + at * m->n_features, batch, out);
        calls++;
        done += batch;
        elapsed = now_s() - t0;
    } while (elapsed < seconds || calls < min_calls);
    printf("rows_per_s=%.1f calls=%zu batch=%zu\n", (double) done / elapsed,
        calls, batch);
    free(out);
    forest_matrix_free(&data);
    forest_shap_free(s);
    forest_free(m);
    return 0;
}
