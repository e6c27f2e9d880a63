/* Minimal assertion helpers for the C unit tests: each test binary ends with
 * one "N passed, N failed, N skipped" line, which tests/run-all.sh adds up.
 * A skip is only for hardware this machine lacks, and names it on a
 * "SKIP reason: what" line that run-all.sh repeats in its summary. */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>

static int check_passed, check_failed, check_skipped;

#define CHECK(cond) do { \
    if (cond) { check_passed++; } else { check_failed++; \
        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

static inline void check_skip(const char *reason, const char *what)
{
    check_skipped++;
    printf("SKIP %s: %s\n", reason, what);
}

static inline int check_summary(void)
{
    printf("%d passed, %d failed, %d skipped\n", check_passed, check_failed,
        check_skipped);
    return check_failed ? 1 : 0;
}
#endif
