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
 *   x <  t  <=>  x < forest_threshold_lt(t)
 *   x <= t  <=>  x < *thr        when forest_threshold_le returns 0
 *   x <= t  <=>  !(x < *thr)     when it returns 1
 * It returns 1 only for t = +inf: x <= +inf holds for every x, +inf
 * included, which no "x < float" says; *thr is then -inf (never true) and
 * the caller swaps the node's children (forest_node_swap_children), so
 * every executor keeps its one comparison.
 */
int   forest_threshold_le(double t, float *thr);
float forest_threshold_lt(double t);

/* Exchanges a decision node's children and its missing-value direction:
 * the node then takes the other side of the same test. */
void forest_node_swap_children(forest_node *nd);

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
 * Makes m->node_cover and m->node_source_id hold at least need nodes (both
 * of *cap entries).  A loader writes NaN as the cover of a node whose file
 * lacks it; forest_model_finish then drops the covers.  -1: out of memory.
 */
int forest_node_info_grow(forest_model *m, size_t *cap, size_t need);

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
