/*
 * Builds the forest nodes of one LightGBM tree: parses its arrays, lays the
 * nodes out breadth first and translates decision_type into the node rule
 * of forest.h (see tests/reference/models/SEMANTICS.md).
 */
#include "lightgbm_tree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* decision_type bits */
#define LGB_CATEGORICAL   1
#define LGB_DEFAULT_LEFT  2
#define LGB_MISSING_SHIFT 2
/* kZeroThreshold: a float, compared after promotion to double */
#define LGB_ZERO          1e-35f
enum { LGB_MISSING_NONE, LGB_MISSING_ZERO, LGB_MISSING_NAN };

static int
grow(lgb_trees *T, void **p, size_t *cap, size_t need, size_t elem)
{
    /* allocate even for need == 0: callers index the array (+ 0) */
    if (forest_grow(p, cap, need ? need : 1, elem, 16) != 0) {
        return LGB_FAIL(T, "out of memory (%zu entries)", need);
    }
    return 0;
}

/* The value of a "key=" line is there and holds n tokens. */
static int
has_values(lgb_trees *T, uint32_t t, const char *key, text_span v, size_t n)
{
    if (v.p == NULL) {
        return LGB_FAIL(T, "tree %u: %s missing", t, key);
    }
    if (forest_text_count_tokens(v) != n) {
        return LGB_FAIL(T, "tree %u: %s has %zu values, expected %zu", t, key,
            forest_text_count_tokens(v), n);
    }
    return 0;
}

/* Parses exactly n integers in [lo, hi] from the value of a "key=" line. */
static int
ints(lgb_trees *T, uint32_t t, const char *key, text_span v, size_t n,
    long long lo, long long hi, void *out, int unsigned32)
{
    text_span tok;
    long long x;
    size_t    i = 0;

    if (has_values(T, t, key, v, n) != 0) {
        return -1;
    }
    while (forest_text_next_token(&v, &tok)) {
        if (forest_text_to_ll(tok, &x) != 0 || x < lo || x > hi) {
            return LGB_FAIL(T, "tree %u: %s[%zu] = '%.*s' is not an integer "
                "in [%lld, %lld]", t, key, i,
                (int) (tok.len > 40 ? 40 : tok.len), tok.p, lo, hi);
        }
        if (unsigned32) {
            ((uint32_t *) out)[i++] = (uint32_t) x;
        } else {
            ((int32_t *) out)[i++] = (int32_t) x;
        }
    }
    return 0;
}

static int
doubles(lgb_trees *T, uint32_t t, const char *key, text_span v, size_t n,
    double *out)
{
    text_span tok;
    size_t    i = 0;

    if (has_values(T, t, key, v, n) != 0) {
        return -1;
    }
    while (forest_text_next_token(&v, &tok)) {
        if (forest_text_to_double(tok, &out[i]) != 0) {
            return LGB_FAIL(T, "tree %u: %s[%zu] = '%.*s' is not a number", t,
                key, i, (int) (tok.len > 40 ? 40 : tok.len), tok.p);
        }
        i++;
    }
    return 0;
}

int
forest_lgb_one_int(lgb_trees *T, const char *what, text_span v, long long lo,
    long long hi, long long *out)
{
    if (forest_text_to_ll(v, out) != 0 || *out < lo || *out > hi) {
        return LGB_FAIL(T, "%s = '%.*s' is not an integer in [%lld, %lld]",
            what, (int) (v.len > 40 ? 40 : v.len), v.p, lo, hi);
    }
    return 0;
}

/* Fills one internal node from LightGBM node i of tree t. */
static int
split_node(lgb_trees *T, uint32_t t, uint32_t i, uint32_t num_cat,
    size_t cat_base, forest_node *nd)
{
    int32_t dt = T->dtype[i];
    int     missing = (dt >> LGB_MISSING_SHIFT) & 3, swap = 0;
    double  th = T->threshold[i];

    nd->feature = T->feature[i];
    if (dt & LGB_CATEGORICAL) {
        uint32_t k;

        if (!(th >= 0.0 && th < (double) num_cat)) {
            return LGB_FAIL(T, "tree %u node %u: category set %g out of range "
                "(num_cat=%u)", t, i, th, num_cat);
        }
        k = (uint32_t) th;
        nd->kind = FOREST_NODE_CATEGORICAL;
        nd->cat_in_set_left = 1;
        nd->default_left = 0;                /* NaN goes right */
        nd->cat_word = (uint32_t) (cat_base + T->cat_bounds[k]);
        nd->cat_nbits = 32 * (T->cat_bounds[k + 1] - T->cat_bounds[k]);
        return 0;
    }
    nd->kind = FOREST_NODE_NUMERIC;
    /*
     * LightGBM stores inputs with |x| <= kZeroThreshold as 0.0, so such
     * values all follow "0.0 <= threshold"; only a threshold inside that
     * band (e.g. the +-1.0000000180025095e-35 it writes for zero splits)
     * needs moving to the band's edge for the rule to hold.
     */
    if (th >= -(double) LGB_ZERO && th < (double) LGB_ZERO) {
        if (th < 0.0) {
            nd->threshold = forest_threshold_lt(-(double) LGB_ZERO);
        } else {
            (void) forest_threshold_le((double) LGB_ZERO, &nd->threshold);
        }
    } else {
        swap = forest_threshold_le(th, &nd->threshold);
    }
    switch (missing) {
    case LGB_MISSING_NONE:
        /* NaN is compared as 0.0 */
        nd->default_left = 0.0 <= th;
        break;
    case LGB_MISSING_ZERO:
        nd->zero_is_missing = 1;
        /* fall through */
    case LGB_MISSING_NAN:
        nd->default_left = (dt & LGB_DEFAULT_LEFT) != 0;
        break;
    default:
        return LGB_FAIL(T, "tree %u node %u: unknown missing type in "
            "decision_type %d", t, i, dt);
    }
    if (swap) {
        forest_node_swap_children(nd);
    }
    return 0;
}

/*
 * Lays the tree out breadth first from its root so that every child comes
 * after its parent; a child referenced twice or never is an error.
 */
static int
layout_tree(lgb_trees *T, uint32_t t, uint32_t nl, uint32_t num_cat,
    size_t cat_base)
{
    forest_model *m = T->m;
    size_t        base = m->n_nodes, count = 1, total = 2 * (size_t) nl - 1;
    uint8_t      *seen_leaf = T->seen + (nl - 1);

    memset(T->seen, 0, total);
    T->queue[0] = nl > 1 ? 0 : -1;
    T->seen[0] = 1;
    for (size_t q = 0; q < count; q++) {
        int32_t      ref = T->queue[q];
        forest_node *nd = &m->nodes[base + q];

        memset(nd, 0, sizeof(*nd));
        nd->left = nd->right = -1;
        m->node_cover[base + q] = ref < 0 ? T->cover[nl - 1 + ~ref]
                                          : T->cover[ref];
        /* pred_leaf numbers the leaves 0..num_leaves-1 */
        m->node_source_id[base + q] = ref < 0 ? ~ref : ref;
        if (ref < 0) {
            nd->kind = FOREST_NODE_LEAF;
            nd->leaf = (uint32_t) m->n_leaf_values;
            m->leaf_values[m->n_leaf_values++] = T->leaf[~ref];
            continue;
        }
        for (int side = 0; side < 2; side++) {
            int32_t c = T->child[side][ref];
            uint8_t *mark = c >= 0 ? &T->seen[c] : &seen_leaf[~c];

            if ((c >= 0 && (uint32_t) c >= nl - 1)
                || (c < 0 && (uint32_t) ~c >= nl) || *mark)
            {
                return LGB_FAIL(T, "tree %u node %d: bad %s child %d", t, ref,
                    side ? "right" : "left", c);
            }
            *mark = 1;
            T->queue[count] = c;
            *(side ? &nd->right : &nd->left) = (int32_t) count++;
        }
        if (split_node(T, t, (uint32_t) ref, num_cat, cat_base, nd) != 0) {
            return -1;
        }
    }
    if (count != total) {
        return LGB_FAIL(T, "tree %u: %zu of its %zu nodes unreachable from "
            "the root", t, total - count, total);
    }
    m->n_nodes += total;
    return 0;
}

static int
read_categories(lgb_trees *T, uint32_t t, const lgb_tree_text *tx,
    uint32_t num_cat, size_t *cat_base)
{
    forest_model *m = T->m;
    size_t        words = tx->cat_threshold.p
                          ? forest_text_count_tokens(tx->cat_threshold) : 0;

    if (ints(T, t, "cat_boundaries", tx->cat_boundaries, num_cat + 1, 0,
            (long long) words, T->cat_bounds, 1) != 0)
    {
        return -1;
    }
    for (uint32_t k = 0; k < num_cat; k++) {
        if (T->cat_bounds[k + 1] < T->cat_bounds[k]) {
            return LGB_FAIL(T, "tree %u: cat_boundaries not increasing", t);
        }
    }
    if (words > UINT32_MAX / 32) {
        return LGB_FAIL(T, "tree %u: category bitsets too large", t);
    }
    if (T->cat_bounds[0] != 0 || T->cat_bounds[num_cat] != words) {
        return LGB_FAIL(T, "tree %u: cat_boundaries do not cover the %zu "
            "cat_threshold words", t, words);
    }
    if (m->n_cat_words + words > UINT32_MAX) {
        return LGB_FAIL(T, "more than %u category words", UINT32_MAX);
    }
    if (grow(T, (void **) &m->cat_bits, &T->cap_cat, m->n_cat_words + words,
            sizeof(uint32_t)) != 0)
    {
        return -1;
    }
    if (ints(T, t, "cat_threshold", tx->cat_threshold, words, 0, UINT32_MAX,
            m->cat_bits + m->n_cat_words, 1) != 0)
    {
        return -1;
    }
    *cat_base = m->n_cat_words;
    m->n_cat_words += words;
    return 0;
}

/* per-tree scratch for n nodes; every array has room for n + 1 entries */
static int
grow_scratch(lgb_trees *T, size_t n)
{
    size_t c;

#define GROW(array) \
    (c = T->cap_scratch, \
     grow(T, (void **) &(array), &c, n + 1, sizeof(*(array))))
    if (n < T->cap_scratch) {
        return 0;
    }
    if (GROW(T->feature) || GROW(T->dtype) || GROW(T->child[0])
        || GROW(T->child[1]) || GROW(T->queue) || GROW(T->threshold)
        || GROW(T->leaf) || GROW(T->cat_bounds) || GROW(T->seen)
        || GROW(T->cover))
    {
        return -1;
    }
#undef GROW
    T->cap_scratch = c;
    return 0;
}

/*
 * The data counts LightGBM's own TreeSHAP weighs the nodes by; NaN where
 * the file lacks them.  A one-leaf tree needs none.
 */
static int
read_counts(lgb_trees *T, uint32_t t, const lgb_tree_text *tx, uint32_t nl)
{
    size_t total = 2 * (size_t) nl - 1;

    if (nl == 1 && tx->leaf_count.p == NULL) {
        T->cover[0] = 0.0;
        return 0;
    }
    if (tx->leaf_count.p == NULL || (nl > 1 && tx->internal_count.p == NULL)) {
        for (size_t i = 0; i < total; i++) {
            T->cover[i] = NAN;
        }
        return 0;
    }
    return (nl > 1 && doubles(T, t, "internal_count", tx->internal_count,
                              nl - 1, T->cover) != 0)
           || doubles(T, t, "leaf_count", tx->leaf_count, nl,
                      T->cover + (nl - 1)) != 0 ? -1 : 0;
}

/* leaf values, and for nl > 1 the nl - 1 internal nodes */
static int
read_arrays(lgb_trees *T, uint32_t t, const lgb_tree_text *tx, uint32_t nl)
{
    long long ni = (long long) nl - 1, lo = -(long long) nl;

    if (doubles(T, t, "leaf_value", tx->leaf_value, nl, T->leaf) != 0
        || read_counts(T, t, tx, nl) != 0)
    {
        return -1;
    }
    if (ni == 0) {
        return 0;
    }
    return ints(T, t, "split_feature", tx->split_feature, ni, 0,
               (long long) T->m->n_features - 1, T->feature, 0) != 0
           || doubles(T, t, "threshold", tx->threshold, ni, T->threshold) != 0
           || ints(T, t, "decision_type", tx->decision_type, ni, 0, 15,
               T->dtype, 0) != 0
           || ints(T, t, "left_child", tx->left_child, ni, lo, ni - 1,
               T->child[0], 0) != 0
           || ints(T, t, "right_child", tx->right_child, ni, lo, ni - 1,
               T->child[1], 0) != 0
           ? -1 : 0;
}

int
forest_lgb_build_tree(lgb_trees *T, uint32_t t, const lgb_tree_text *tx)
{
    forest_model *m = T->m;
    long long     nl, num_cat = 0, linear = 0;
    size_t        total, cat_base = 0;

    if (tx->num_leaves.p == NULL) {
        return LGB_FAIL(T, "tree %u: num_leaves missing", t);
    }
    if (forest_lgb_one_int(T, "num_leaves", tx->num_leaves, 1,
            FOREST_MAX_NODES / 2, &nl) != 0
        || (tx->is_linear.p
            && forest_lgb_one_int(T, "is_linear", tx->is_linear, 0, 1,
                                  &linear) != 0)
        || (tx->num_cat.p
            && forest_lgb_one_int(T, "num_cat", tx->num_cat, 0, nl - 1,
                                  &num_cat) != 0))
    {
        return -1;
    }
    if (linear) {
        return LGB_FAIL(T, "tree %u: linear trees (linear_tree=true) are not "
            "supported", t);
    }
    total = 2 * (size_t) nl - 1;
    /* the token count bounds every allocation by the file's own size */
    if (tx->leaf_value.p == NULL
        || forest_text_count_tokens(tx->leaf_value) != (size_t) nl)
    {
        return LGB_FAIL(T, "tree %u: leaf_value missing or not %lld values",
            t, nl);
    }
    if (m->n_nodes + total > FOREST_MAX_NODES) {
        return LGB_FAIL(T, "more than %u nodes", FOREST_MAX_NODES);
    }
    if (grow_scratch(T, total) != 0
        || read_arrays(T, t, tx, (uint32_t) nl) != 0
        || (num_cat > 0
            && read_categories(T, t, tx, (uint32_t) num_cat, &cat_base) != 0))
    {
        return -1;
    }
    if (grow(T, (void **) &m->nodes, &T->cap_nodes, m->n_nodes + total,
            sizeof(forest_node)) != 0
        || grow(T, (void **) &m->leaf_values, &T->cap_leaves,
            m->n_leaf_values + (size_t) nl, sizeof(double)) != 0
        || grow(T, (void **) &m->tree_begin, &T->cap_trees, (size_t) t + 2,
            sizeof(uint32_t)) != 0
        || (forest_node_info_grow(m, &T->cap_info, m->n_nodes + total) != 0
            && LGB_FAIL(T, "out of memory") != 0))
    {
        return -1;
    }
    m->tree_begin[t] = (uint32_t) m->n_nodes;
    if (layout_tree(T, t, (uint32_t) nl, (uint32_t) num_cat, cat_base) != 0) {
        return -1;
    }
    m->tree_begin[t + 1] = (uint32_t) m->n_nodes;
    return 0;
}

void
forest_lgb_tree_line(lgb_tree_text *tx, text_span key, text_span value)
{
    static const struct { const char *key; size_t off; } fields[] = {
#define F(k) { #k, offsetof(lgb_tree_text, k) }
        F(num_leaves), F(num_cat), F(split_feature), F(threshold),
        F(decision_type), F(left_child), F(right_child), F(leaf_value),
        F(cat_boundaries), F(cat_threshold), F(is_linear),
        F(internal_count), F(leaf_count),
#undef F
    };

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (forest_text_eq(key, fields[i].key)) {
            *(text_span *) ((char *) tx + fields[i].off) = value;
            return;
        }
    }
}

void
forest_lgb_trees_free(lgb_trees *T)
{
    free(T->feature);
    free(T->dtype);
    free(T->child[0]);
    free(T->child[1]);
    free(T->queue);
    free(T->threshold);
    free(T->leaf);
    free(T->cat_bounds);
    free(T->seen);
    free(T->cover);
}
