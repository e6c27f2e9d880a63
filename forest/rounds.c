/*
 * Tree selection by boosting round (forest_model key trees=, --trees).
 *
 * It cuts the model itself at load rather than telling executors where to
 * stop, so every executor, the GPU layouts, TreeSHAP and leaf_index see the
 * same trees.
 */
#include "forest_internal.h"

#include <string.h>

int
forest_trees_parse(const char *s, size_t len, uint32_t *rounds)
{
    uint64_t n = 0;

    if (len == 3 && memcmp(s, "all", 3) == 0) {
        *rounds = FOREST_TREES_ALL;
        return 0;
    }
    if (len == 4 && memcmp(s, "best", 4) == 0) {
        *rounds = FOREST_TREES_BEST;
        return 0;
    }
    if (len == 0 || len > 10) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        n = n * 10 + (uint64_t) (s[i] - '0');
    }
    if (n == 0 || n >= FOREST_TREES_BEST) {
        return -1;
    }
    *rounds = (uint32_t) n;
    return 0;
}

int
forest_select_rounds(forest_model *m, uint32_t rounds, const char *name,
    char *err, size_t errlen)
{
    uint32_t have, keep;
    size_t   n_nodes, n_leaf_values = 0;

    if (rounds == FOREST_TREES_ALL) {
        return 0;
    }
    if (m->trees_per_round == 0) {
        forest_errf(err, errlen, name, "trees: the model's boosting rounds "
            "are unknown (only XGBoost models are cut by round)");
        return -1;
    }
    have = m->n_trees / m->trees_per_round;
    if (rounds == FOREST_TREES_BEST) {
        if (m->best_rounds == 0) {
            forest_errf(err, errlen, name, "trees=best: the model stores no "
                "best_iteration (it was not trained with early stopping)");
            return -1;
        }
        rounds = m->best_rounds;
    }
    if (rounds > have) {
        forest_errf(err, errlen, name, "trees: %u rounds asked, the model "
            "has %u", rounds, have);
        return -1;
    }
    keep = rounds * m->trees_per_round;
    n_nodes = m->tree_begin[keep];
    /* leaves of later trees may sit anywhere in leaf_values: keep the
     * prefix the kept leaves reach */
    for (size_t i = 0; i < n_nodes; i++) {
        const forest_node *nd = &m->nodes[i];
        size_t             end;

        if (nd->kind == FOREST_NODE_LEAF) {
            end = (size_t) nd->leaf + m->leaf_width;
            n_leaf_values = end > n_leaf_values ? end : n_leaf_values;
        }
    }
    m->n_trees = keep;
    m->n_nodes = n_nodes;
    m->n_leaf_values = n_leaf_values;
    return forest_validate(m, err, errlen) == 0 ? 0 : -1;
}
