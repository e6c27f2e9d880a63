/*
 * Shared by the loaders and executors of the forest library; not installed.
 */
#ifndef FOREST_INTERNAL_H
#define FOREST_INTERNAL_H

#include "forest.h"

#include <stdarg.h>

/* Writes "NAME: reason" into err. */
void forest_errf(char *err, size_t errlen, const char *name,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/*
 * Threshold conversion for float32 inputs: for every float x (not NaN),
 *   x <= t  <=>  x < forest_threshold_le(t)
 *   x <  t  <=>  x < forest_threshold_lt(t)
 */
float forest_threshold_le(double t);
float forest_threshold_lt(double t);

/* The node rule of forest.h for one non-leaf node: 1 when x goes left.
 * Defined by the reference predictor; exact paths of executors reuse it. */
int forest_node_goes_left(const forest_model *m, const forest_node *nd,
    float x);

/*
 * Makes *p (of *cap elements of elem bytes) hold at least need elements,
 * doubling from *cap, or from `first` when nothing is allocated yet.
 * -1 when out of memory or when the size would overflow; *p and *cap are
 * left as they were.
 */
int forest_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first);

/*
 * Called by every loader on its finished model: fills base_score and
 * average_divisor defaults when NULL, then forest_validate().  On failure
 * frees nothing; the loader frees the model.
 */
int forest_model_finish(forest_model *m, const char *name, char *err,
    size_t errlen);

/* Upper bounds that keep hostile files from asking for absurd allocations. */
#define FOREST_MAX_TREES     (1u << 22)
#define FOREST_MAX_NODES     (1u << 28)
#define FOREST_MAX_OUTPUTS   (1u << 16)
#define FOREST_MAX_DEPTH     4096

#endif /* FOREST_INTERNAL_H */
