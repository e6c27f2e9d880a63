/*
 * Times the CPU executor on one model: forest_bench MODEL DATA.f32
 *     [--batch B] [--threads N] [--seconds S] [--margin] [--dump ROWS OUT.f32]
 * DATA.f32 holds float32 rows of the model's feature count.  Batches walk
 * through the data (wrapping) until S seconds have passed; prints one line
 *     rows_per_s=... ns_per_row_tree=... calls=... batch=... threads=...
 * --dump writes the predictions of the first ROWS rows (for checking the
 * numbers against the originating library before trusting the timing).
 */
#include "forest_exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_s(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static float *
read_rows(const char *path, uint32_t n_features, size_t *n_rows)
{
    FILE  *f = fopen(path, "rb");
    long   size;
    float *rows;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fprintf(stderr, "%s: cannot read\n", path);
        exit(2);
    }
    *n_rows = (size_t) size / (n_features * sizeof(float));
    if (*n_rows == 0) {
        fprintf(stderr, "%s: fewer bytes than one row of %u features\n", path,
            n_features);
        exit(2);
    }
    rows = malloc(*n_rows * n_features * sizeof(float));
    if (rows == NULL
        || fread(rows, n_features * sizeof(float), *n_rows, f) != *n_rows)
    {
        fprintf(stderr, "%s: short read\n", path);
        exit(2);
    }
    fclose(f);
    return rows;
}

int
main(int argc, char **argv)
{
    size_t           batch = 256, n_rows, dump_rows = 0, calls = 0, done = 0;
    unsigned         threads = 1;
    double           seconds = 2.0, t0, c0, elapsed, cpu;
    int              margin = 0;
    const char      *dump_path = NULL;
    char             err[FOREST_ERR_LEN];
    forest_model    *m;
    forest_executor *ex;
    float           *rows, *out;
    uint32_t         cols;

    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL DATA.f32 [--batch B] [--threads N] "
            "[--seconds S] [--margin] [--dump ROWS OUT.f32]\n", argv[0]);
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            batch = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = (unsigned) strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--margin") == 0) {
            margin = 1;
        } else if (strcmp(argv[i], "--dump") == 0 && i + 2 < argc) {
            dump_rows = strtoul(argv[++i], NULL, 10);
            dump_path = argv[++i];
        } else {
            fprintf(stderr, "unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    m = forest_load(argv[1], FOREST_FORMAT_AUTO, err, sizeof(err));
    if (m == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    ex = forest_cpu_executor_create(m, threads, err, sizeof(err));
    if (ex == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    rows = read_rows(argv[2], m->n_features, &n_rows);
    if (batch == 0 || batch > n_rows) {
        batch = n_rows;
    }
    cols = forest_output_columns(m, margin);
    out = malloc((n_rows > batch ? n_rows : batch) * cols * sizeof(float));
    if (out == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    if (dump_path != NULL) {
        FILE *f = fopen(dump_path, "wb");

        dump_rows = dump_rows < n_rows ? dump_rows : n_rows;
        if (f == NULL || forest_executor_predict(ex, rows, dump_rows, margin,
                             out, err, sizeof(err)) != 0
            || fwrite(out, sizeof(float) * cols, dump_rows, f) != dump_rows
            || fclose(f) != 0)
        {
            fprintf(stderr, "%s: cannot write predictions %s\n", dump_path,
                err);
            return 1;
        }
    }

    /* one untimed pass brings the model and the data into cache */
    forest_executor_predict(ex, rows, batch, margin, out, err, sizeof(err));
    t0 = now_s(CLOCK_MONOTONIC);
    c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    do {
        size_t at = (calls * batch) % n_rows;

        if (at + batch > n_rows) {
            at = 0;
        }
        if (forest_executor_predict(ex, rows + at * m->n_features, batch,
                                    margin, out, err, sizeof(err)) != 0)
        {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        calls++;
        done += batch;
        elapsed = now_s(CLOCK_MONOTONIC) - t0;
    } while (elapsed < seconds || calls < 3);
    cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;

    /* cpu_ns: CPU time of all threads; on a shared machine it shows what
     * the wall clock would be without other load */
    printf("rows_per_s=%.1f ns_per_row_tree=%.4f cpu_ns_per_row_tree=%.4f "
        "calls=%zu batch=%zu threads=%u trees=%u\n", (double) done / elapsed,
        elapsed * 1e9 / ((double) done * m->n_trees),
        cpu * 1e9 / ((double) done * m->n_trees), calls, batch, threads,
        m->n_trees);
    forest_executor_destroy(ex);
    forest_free(m);
    free(rows);
    free(out);
    return 0;
}
