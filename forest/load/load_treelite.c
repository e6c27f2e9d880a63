/*
 * Treelite checkpoint loader: the bytes treelite.Model.serialize() writes
 * (Treelite 4.x; 3.9.x checkpoints too, which Treelite 4 still reads), the
 * file Triton FIL loads as model_type "treelite_checkpoint".
 *
 * Layout (little-endian; an "array" is a uint64 count then count elements,
 * a "string" is a uint64 length then the bytes, no NUL):
 *   int32 major, minor, patch; uint8 threshold_type, leaf_output_type
 *   (2 = float32, 3 = float64); uint64 num_tree; int32 num_feature;
 *   uint8 task_type; bool average_tree_output;
 *   4.x: int32 num_target; array<int32> num_class, leaf_vector_shape,
 *        target_id, class_id; string postprocessor; float32 sigmoid_alpha,
 *        ratio_c; array<float64> base_scores; string attributes;
 *        int32 n_optional fields, each: string name, uint64 elem_size,
 *        uint64 count, elem_size*count bytes.
 *        Per tree: int32 num_nodes; bool has_categorical_split; then one
 *        array per node field (node_type int8, cleft, cright, split_index
 *        int32, default_left bool, leaf_value, threshold, cmp int8,
 *        category_list_right_child bool), leaf_vector + begin/end (uint64),
 *        category_list (uint32) + begin/end (uint64), six node-statistics
 *        arrays, and two optional-field slots like the model's.
 *   3.9: a 12-byte TaskParam and a 268-byte ModelParam struct instead, and
 *        per tree one array of 48/56-byte node structs.
 *
 * Every tree is renumbered in depth-first order so that children follow
 * their parents (forest_validate), which also drops unreachable nodes and
 * rejects shared children and cycles.
 */
#include "loaders.h"
#include "treelite_format.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Categories above 2^24 never match: Treelite refuses inputs above that. */
#define TL_MAX_CATEGORY    (1u << 24)
/* Bound on the category bitsets of one model (64 MiB). */
#define TL_MAX_CAT_WORDS   ((size_t) 1 << 24)

/* ---- conversion ------------------------------------------------------- */

typedef struct {
    forest_model *m;
    size_t        cap_leaf, cap_cat;
    uint32_t     *order;       /* scratch, per tree: old ids in new order */
    uint32_t     *stack;
    int32_t      *new_id;      /* scratch, per tree: old id -> new id */
    uint32_t      scratch_n;
} tl_build;

static uint32_t
class_count(const tl_header *h, uint32_t target)
{
    return h->num_class ? (uint32_t) le_i32(h->num_class + 4 * (size_t) target)
                        : h->max_class;
}

/*
 * Where tree t's leaves go.  Returns the output column of a scalar-leaf
 * tree, -1 for a tree whose leaf vectors cover every output in order, or
 * -2 (error set) for layouts forest_model cannot express.  *width gets the
 * leaf vector length.
 */
static int32_t
tree_column(const tl_header *h, uint64_t t, uint32_t n_outputs,
    uint32_t *width, forest_reader *r)
{
    int32_t  tid, cid;
    uint32_t rows, cols;

    if (h->target_id != NULL) {
        tid = le_i32(h->target_id + 4 * t);
        cid = le_i32(h->class_id + 4 * t);
    } else {
        tid = 0;
        cid = h->v3_class_all ? -1
              : h->v3_class_mod ? (int32_t) (t % (uint64_t) h->v3_class_mod)
              : 0;
    }
    if (tid < -1 || cid < -1 || tid >= (int32_t) h->n_targets
        || cid >= (int32_t) (tid >= 0 ? class_count(h, (uint32_t) tid)
                                      : h->max_class))
    {
        forest_errf(r->err, r->errlen, r->name, "tree %llu: bad target_id %d "
            "/ class_id %d", (unsigned long long) t, tid, cid);
        return -2;
    }
    rows = tid < 0 ? h->shape0 : 1;
    cols = cid < 0 ? h->shape1 : 1;
    *width = rows * cols;
    if (*width == 1) {
        return (tid < 0 ? 0 : tid) * (int32_t) h->max_class
               + (cid < 0 ? 0 : cid);
    }
    /* element (i, j) of the leaf vector adds to (target i or tid,
     * class j or cid); forest_model adds leaf vectors to columns 0.. */
    for (uint32_t i = 0; i < rows; i++) {
        for (uint32_t j = 0; j < cols; j++) {
            uint32_t target = tid < 0 ? i : (uint32_t) tid;
            uint32_t klass = cid < 0 ? j : (uint32_t) cid;

            if (target * h->max_class + klass != i * cols + j
                || *width != n_outputs)
            {
                forest_errf(r->err, r->errlen, r->name, "tree %llu: leaf "
                    "vectors of shape [%u, %u] with target_id %d, class_id "
                    "%d for %u targets x %u classes are not supported",
                    (unsigned long long) t, rows, cols, tid, cid,
                    h->n_targets, h->max_class);
                return -2;
            }
        }
    }
    return -1;
}

/* Depth-first order from the root, each node reached exactly once. */
static int
order_tree(tl_build *b, const tl_tree *t, uint64_t ti, uint32_t *count,
    forest_reader *r)
{
    uint32_t n = t->n_nodes, top = 0, emitted = 0;

    for (uint32_t i = 0; i < n; i++) {
        b->new_id[i] = -1;
    }
    b->stack[top++] = 0;
    b->new_id[0] = -2;                       /* queued */
    while (top > 0) {
        uint32_t id = b->stack[--top];
        int32_t  kids[2];

        b->new_id[id] = (int32_t) emitted;
        b->order[emitted++] = id;
        kids[0] = le_i32(at(t->cleft, id));
        if (kids[0] == -1) {
            continue;
        }
        kids[1] = le_i32(at(t->cright, id));
        for (int k = 1; k >= 0; k--) {
            if (kids[k] < 0 || (uint32_t) kids[k] >= n
                || b->new_id[kids[k]] != -1)
            {
                forest_errf(r->err, r->errlen, r->name, "tree %llu node %u: "
                    "bad child %d (out of range, shared or a cycle)",
                    (unsigned long long) ti, id, kids[k]);
                return -1;
            }
            b->new_id[kids[k]] = -2;
            b->stack[top++] = (uint32_t) kids[k];
        }
    }
    *count = emitted;
    return 0;
}

static int
numeric_test(const tl_header *h, const tl_tree *t, uint64_t ti, uint32_t id,
    forest_node *nd, int *swap, forest_reader *r)
{
    double thr = le_real(at(t->threshold, id), h->thr64);
    int    op = (int8_t) *at(t->cmp, id);

    *swap = 0;
    if (isnan(thr)) {
        /* every comparison with NaN is false: always the right child */
        nd->threshold = -INFINITY;
        return 0;
    }
    switch (op) {
    case TL_OP_LT:
        nd->threshold = forest_threshold_lt(thr);
        return 0;
    case TL_OP_LE:
        *swap = forest_threshold_le(thr, &nd->threshold);
        return 0;
    case TL_OP_GT:                 /* left iff !(x <= t) */
        *swap = !forest_threshold_le(thr, &nd->threshold);
        return 0;
    case TL_OP_GE:                 /* left iff !(x < t) */
        nd->threshold = forest_threshold_lt(thr);
        *swap = 1;
        return 0;
    case TL_OP_EQ:
        if ((double) (float) thr != thr) {
            /* no float32 input equals it: always the right child */
            nd->threshold = -INFINITY;
            return 0;
        }
        forest_errf(r->err, r->errlen, r->name, "tree %llu node %u: "
            "operator == on threshold %.9g not supported",
            (unsigned long long) ti, id, thr);
        return -1;
    default:
        forest_errf(r->err, r->errlen, r->name, "tree %llu node %u: bad "
            "comparison operator %d", (unsigned long long) ti, id, op);
        return -1;
    }
}

static int
categorical_test(tl_build *b, const tl_tree *t, uint64_t ti, uint32_t id,
    forest_node *nd, forest_reader *r)
{
    forest_model *m = b->m;
    uint64_t      begin = 0, end = 0;
    uint32_t      nbits = 0, nwords;

    if (t->has_cat) {
        begin = forest_le_u64(at(t->cat_begin, id));
        end = forest_le_u64(at(t->cat_end, id));
    }
    if (begin > end || end > t->n_cat_list) {
        forest_errf(r->err, r->errlen, r->name, "tree %llu node %u: category "
            "list [%llu, %llu) out of range", (unsigned long long) ti, id,
            (unsigned long long) begin, (unsigned long long) end);
        return -1;
    }
    for (uint64_t k = begin; k < end; k++) {
        uint32_t c = (uint32_t) le_i32(t->cat_list + 4 * k);

        if (c <= TL_MAX_CATEGORY && c + 1 > nbits) {
            nbits = c + 1;
        }
    }
    nwords = (nbits + 31) / 32;
    if (m->n_cat_words + nwords > TL_MAX_CAT_WORDS) {
        forest_errf(r->err, r->errlen, r->name, "category sets larger than "
            "%zu words", TL_MAX_CAT_WORDS);
        return -1;
    }
    if (forest_grow((void **) &m->cat_bits, &b->cap_cat,
                    m->n_cat_words + nwords, sizeof(uint32_t), 256) != 0)
    {
        forest_errf(r->err, r->errlen, r->name, "out of memory");
        return -1;
    }
    if (nwords != 0) {   /* an empty set may leave cat_bits NULL */
        memset(m->cat_bits + m->n_cat_words, 0, nwords * sizeof(uint32_t));
    }
    for (uint64_t k = begin; k < end; k++) {
        uint32_t c = (uint32_t) le_i32(t->cat_list + 4 * k);

        if (c <= TL_MAX_CATEGORY) {
            m->cat_bits[m->n_cat_words + c / 32] |= 1u << (c % 32);
        }
    }
    if (m->feature_is_categorical == NULL) {
        m->feature_is_categorical = calloc(m->n_features, 1);
        if (m->feature_is_categorical == NULL) {
            forest_errf(r->err, r->errlen, r->name, "out of memory");
            return -1;
        }
    }
    m->feature_is_categorical[nd->feature] = 1;
    nd->kind = FOREST_NODE_CATEGORICAL;
    nd->cat_word = (uint32_t) m->n_cat_words;
    nd->cat_nbits = nbits;
    nd->cat_in_set_left = *at(t->cat_right, id) == 0;
    m->n_cat_words += nwords;
    return 0;
}

static int
leaf_values(tl_build *b, const tl_header *h, const tl_tree *t, uint64_t ti,
    uint32_t id, uint32_t width, forest_node *nd, forest_reader *r)
{
    forest_model *m = b->m;
    uint64_t      begin = 0, end = 0;
    size_t        real = h->leaf64 ? 8 : 4;

    if (t->has_lv) {
        begin = forest_le_u64(at(t->lv_begin, id));
        end = forest_le_u64(at(t->lv_end, id));
    }
    if (begin > end || end > t->n_leaf_vector
        || (end != begin && end - begin != width))
    {
        forest_errf(r->err, r->errlen, r->name, "tree %llu node %u: leaf "
            "vector [%llu, %llu) does not hold %u values",
            (unsigned long long) ti, id, (unsigned long long) begin,
            (unsigned long long) end, width);
        return -1;
    }
    if (end == begin && width != 1) {
        forest_errf(r->err, r->errlen, r->name, "tree %llu node %u: scalar "
            "leaf in a tree with %u outputs per leaf", (unsigned long long) ti,
            id, width);
        return -1;
    }
    if (forest_grow((void **) &m->leaf_values, &b->cap_leaf,
                    m->n_leaf_values + width, sizeof(double), 256) != 0)
    {
        forest_errf(r->err, r->errlen, r->name, "out of memory");
        return -1;
    }
    nd->leaf = (uint32_t) m->n_leaf_values;
    if (end == begin) {
        m->leaf_values[m->n_leaf_values++] = le_real(at(t->leaf_value, id),
                                                     h->leaf64);
    } else {
        for (uint64_t k = begin; k < end; k++) {
            m->leaf_values[m->n_leaf_values++] =
                le_real(t->leaf_vector + k * real, h->leaf64);
        }
    }
    return 0;
}

/* Node id's cover: sum_hess (XGBoost's and scikit-learn's TreeSHAP
 * weight), else data_count (LightGBM's), else NaN. */
static double
node_cover(const tl_tree *t, uint32_t id)
{
    if (t->sum_hess.base != NULL && t->sum_hess_present.base != NULL
        && *at(t->sum_hess_present, id))
    {
        return forest_le_f64(at(t->sum_hess, id));
    }
    if (t->data_count.base != NULL && t->data_count_present.base != NULL
        && *at(t->data_count_present, id))
    {
        return (double) forest_le_u64(at(t->data_count, id));
    }
    return NAN;
}

static int
convert_tree(tl_build *b, const tl_header *h, const tl_tree *t, uint64_t ti,
    uint32_t width, forest_reader *r)
{
    forest_model *m = b->m;
    uint32_t      count;

    if (t->n_nodes > b->scratch_n) {
        free(b->order);
        free(b->stack);
        free(b->new_id);
        b->order = malloc((size_t) t->n_nodes * sizeof(uint32_t));
        b->stack = malloc((size_t) t->n_nodes * sizeof(uint32_t));
        b->new_id = malloc((size_t) t->n_nodes * sizeof(int32_t));
        b->scratch_n = t->n_nodes;
        if (b->order == NULL || b->stack == NULL || b->new_id == NULL) {
            b->scratch_n = 0;
            forest_errf(r->err, r->errlen, r->name, "out of memory");
            return -1;
        }
    }
    if (order_tree(b, t, ti, &count, r) != 0) {
        return -1;
    }
    m->tree_begin[ti] = (uint32_t) m->n_nodes;
    for (uint32_t k = 0; k < count; k++) {
        uint32_t     id = b->order[k];
        forest_node *nd = &m->nodes[m->n_nodes + k];
        int32_t      left = le_i32(at(t->cleft, id));
        int          type, swap = 0;
        uint32_t     sindex;

        memset(nd, 0, sizeof(*nd));
        nd->left = nd->right = -1;
        m->node_cover[m->n_nodes + k] = node_cover(t, id);
        m->node_source_id[m->n_nodes + k] = (int32_t) id;
        if (left == -1) {
            nd->kind = FOREST_NODE_LEAF;
            if (leaf_values(b, h, t, ti, id, width, nd, r) != 0) {
                return -1;
            }
            continue;
        }
        sindex = (uint32_t) le_i32(at(t->split_index, id));
        if (t->sindex_packed) {
            nd->default_left = (uint8_t) (sindex >> 31);
            sindex &= 0x7fffffffu;
        } else {
            nd->default_left = *at(t->default_left, id) != 0;
        }
        if (sindex >= (uint32_t) h->n_features) {
            forest_errf(r->err, r->errlen, r->name, "tree %llu node %u: "
                "feature %d out of range (num_feature %d)",
                (unsigned long long) ti, id, (int32_t) sindex, h->n_features);
            return -1;
        }
        nd->feature = (int32_t) sindex;
        type = (int8_t) *at(t->node_type, id);
        if (type == TL_NODE_NUMERIC) {
            nd->kind = FOREST_NODE_NUMERIC;
            if (numeric_test(h, t, ti, id, nd, &swap, r) != 0) {
                return -1;
            }
        } else if (type == TL_NODE_CATEGORICAL) {
            if (categorical_test(b, t, ti, id, nd, r) != 0) {
                return -1;
            }
        } else {
            forest_errf(r->err, r->errlen, r->name, "tree %llu node %u: "
                "node type %d with children", (unsigned long long) ti, id,
                type);
            return -1;
        }
        nd->left = b->new_id[left];
        nd->right = b->new_id[le_i32(at(t->cright, id))];
        if (swap) {
            forest_node_swap_children(nd);
        }
    }
    m->n_nodes += count;
    return 0;
}

/* ---- model -------------------------------------------------------------*/

static const struct {
    const char           *name;
    forest_postprocessor  post;
    int                   per_row;   /* couples the outputs of a row */
} tl_posts[] = {
    { "identity", FOREST_POST_IDENTITY, 0 },
    { "identity_multiclass", FOREST_POST_IDENTITY, 0 },
    { "sigmoid", FOREST_POST_SIGMOID, 0 },
    { "multiclass_ova", FOREST_POST_SIGMOID, 0 },
    { "softmax", FOREST_POST_SOFTMAX, 1 },
    { "exponential", FOREST_POST_EXP, 0 },
    { "exponential_standard_ratio", FOREST_POST_EXP_STANDARD_RATIO, 0 },
    { "logarithm_one_plus_exp", FOREST_POST_LOG1P_EXP, 0 },
    { "hinge", FOREST_POST_HINGE, 0 },
    { "signed_square", FOREST_POST_SIGNED_SQUARE, 0 },
};

static int
set_model_params(forest_model *m, const tl_header *h, forest_reader *r)
{
    size_t i;

    for (i = 0; i < sizeof(tl_posts) / sizeof(tl_posts[0]); i++) {
        if (strcmp(h->post, tl_posts[i].name) == 0) {
            break;
        }
    }
    if (i == sizeof(tl_posts) / sizeof(tl_posts[0])) {
        forest_errf(r->err, r->errlen, r->name, "unknown postprocessor "
            "\"%s\"", h->post);
        return -1;
    }
    if (tl_posts[i].per_row && h->n_targets > 1) {
        forest_errf(r->err, r->errlen, r->name, "postprocessor %s over %u "
            "targets not supported", h->post, h->n_targets);
        return -1;
    }
    m->post = tl_posts[i].post;
    m->sigmoid_alpha = h->sigmoid_alpha;
    m->ratio_c = h->ratio_c;
    if (m->post == FOREST_POST_SIGMOID && h->sigmoid_alpha == 0.0) {
        forest_errf(r->err, r->errlen, r->name, "sigmoid_alpha is 0");
        return -1;
    }
    if (m->post == FOREST_POST_EXP_STANDARD_RATIO
        && !(h->ratio_c > 0.0 && isfinite(h->ratio_c)))
    {
        forest_errf(r->err, r->errlen, r->name, "bad ratio_c %g", h->ratio_c);
        return -1;
    }
    m->n_classes = h->task == TL_TASK_BINARY ? 2
                   : h->task == TL_TASK_MULTICLASS && h->n_targets == 1
                     ? h->max_class : 0;
    snprintf(m->objective, sizeof(m->objective), "%s", h->post);
    snprintf(m->source, sizeof(m->source), "treelite %d.%d.%d", h->major,
        h->minor, h->patch);
    m->format = FOREST_FORMAT_TREELITE;
    m->n_features = (uint32_t) h->n_features;
    return 0;
}

static int
set_scores(forest_model *m, const tl_header *h, const uint32_t *n_contrib,
    forest_reader *r)
{
    m->base_score = malloc(m->n_outputs * sizeof(double));
    m->average_divisor = malloc(m->n_outputs * sizeof(double));
    if (m->base_score == NULL || m->average_divisor == NULL) {
        forest_errf(r->err, r->errlen, r->name, "out of memory");
        return -1;
    }
    if (h->major == 4 && h->n_base_scores != m->n_outputs) {
        forest_errf(r->err, r->errlen, r->name, "base_scores has %llu "
            "values for %u outputs", (unsigned long long) h->n_base_scores,
            m->n_outputs);
        return -1;
    }
    for (uint32_t k = 0; k < m->n_outputs; k++) {
        m->base_score[k] = h->major == 4 ? le_real(h->base_scores + 8 * k, 1)
                                         : h->v3_global_bias;
        /* Treelite averages over the trees that add to the output, then
         * adds the base score */
        m->average_divisor[k] = h->average && n_contrib[k] > 0
                                ? (double) n_contrib[k] : 1.0;
    }
    return 0;
}

static forest_model *
load(forest_reader *r)
{
    tl_header     h;
    tl_tree      *trees = NULL;
    uint32_t     *n_contrib = NULL;
    uint32_t     *widths = NULL;
    tl_build      b;
    forest_model *m = NULL;
    uint64_t      total_nodes = 0;
    int           ok = 0;

    memset(&b, 0, sizeof(b));
    if (forest_tl_read_header(r, &h) != 0) {
        return NULL;
    }
    if ((uint64_t) h.n_targets * h.max_class > FOREST_MAX_OUTPUTS) {
        forest_errf(r->err, r->errlen, r->name, "%u targets x %u classes: too "
            "many outputs", h.n_targets, h.max_class);
        return NULL;
    }
    trees = calloc((size_t) h.n_trees, sizeof(*trees));
    m = calloc(1, sizeof(*m));
    if (trees == NULL || m == NULL) {
        forest_errf(r->err, r->errlen, r->name, "out of memory");
        goto done;
    }
    for (uint64_t t = 0; t < h.n_trees; t++) {
        if ((h.major == 4 ? forest_tl_read_tree_v4(r, &h, &trees[t])
                          : forest_tl_read_tree_v3(r, &h, &trees[t])) != 0)
        {
            goto done;
        }
        total_nodes += trees[t].n_nodes;
        if (total_nodes > FOREST_MAX_NODES) {
            forest_errf(r->err, r->errlen, r->name, "more than %u nodes",
                FOREST_MAX_NODES);
            goto done;
        }
    }
    if (r->pos != r->len) {
        forest_errf(r->err, r->errlen, r->name, "%zu unexpected bytes after "
            "the last tree", r->len - r->pos);
        goto done;
    }
    b.m = m;
    m->n_trees = (uint32_t) h.n_trees;
    m->n_outputs = h.n_targets * h.max_class;
    m->leaf_width = 1;
    if (set_model_params(m, &h, r) != 0) {
        goto done;
    }
    m->nodes = malloc((size_t) total_nodes * sizeof(forest_node));
    m->node_cover = malloc((size_t) total_nodes * sizeof(double));
    m->node_source_id = malloc((size_t) total_nodes * sizeof(int32_t));
    m->tree_begin = malloc(((size_t) h.n_trees + 1) * sizeof(uint32_t));
    m->tree_group = malloc((size_t) h.n_trees * sizeof(int32_t));
    n_contrib = calloc(m->n_outputs, sizeof(uint32_t));
    widths = malloc((size_t) h.n_trees * sizeof(uint32_t));
    if (m->nodes == NULL || m->tree_begin == NULL || m->tree_group == NULL
        || n_contrib == NULL || widths == NULL || m->node_cover == NULL
        || m->node_source_id == NULL)
    {
        forest_errf(r->err, r->errlen, r->name, "out of memory");
        goto done;
    }
    for (uint64_t t = 0; t < h.n_trees; t++) {
        int32_t group = tree_column(&h, t, m->n_outputs, &widths[t], r);

        if (group == -2) {
            goto done;
        }
        m->tree_group[t] = group;
        if (group >= 0) {
            n_contrib[group]++;
        } else {
            m->leaf_width = m->n_outputs;
            for (uint32_t k = 0; k < m->n_outputs; k++) {
                n_contrib[k]++;
            }
        }
        if (convert_tree(&b, &h, &trees[t], t, widths[t], r) != 0) {
            goto done;
        }
    }
    m->tree_begin[h.n_trees] = (uint32_t) m->n_nodes;
    if (set_scores(m, &h, n_contrib, r) != 0
        || forest_tl_category_attributes(m, h.attributes, h.n_attributes,
               r->name, r->err, r->errlen) != 0
        || forest_model_finish(m, r->name, r->err, r->errlen) != 0)
    {
        goto done;
    }
    ok = 1;
done:
    free(trees);
    free(n_contrib);
    free(widths);
    free(b.order);
    free(b.stack);
    free(b.new_id);
    if (!ok) {
        forest_free(m);
        return NULL;
    }
    return m;
}

/* The header starts with the writer's version as three int32: major 3 or
 * 4, then two small numbers, which no text format begins with. */
int
forest_detect_treelite(const uint8_t *data, size_t len)
{
    uint32_t major, minor, patch;

    if (len < 12) {
        return 0;
    }
    major = forest_le_u32(data);
    minor = forest_le_u32(data + 4);
    patch = forest_le_u32(data + 8);
    return major >= 3 && major <= 4 && minor < 100 && patch < 100;
}

forest_model *
forest_load_treelite(const uint8_t *data, size_t len, const char *name,
    char *err, size_t errlen)
{
    forest_reader r = { data, len, 0, name, err, errlen };

    return load(&r);
}
