/*
 * Reading Treelite checkpoints (see load_treelite.c for the layout):
 * bounded little-endian reads that never pass the end of the buffer, the
 * header of 4.x and 3.9 checkpoints, and one tree of either.
 */
#include "treelite_format.h"

/* ---- bounded little-endian reads -------------------------------------- */

static const uint8_t *
rd_bytes(forest_reader *r, uint64_t n, const char *what)
{
    const uint8_t *at;

    if (n > r->len - r->pos) {
        forest_errf(r->err, r->errlen, r->name, "truncated: %s needs %llu "
            "bytes at offset %zu, %zu left", what, (unsigned long long) n,
            r->pos, r->len - r->pos);
        return NULL;
    }
    at = r->p + r->pos;
    r->pos += (size_t) n;
    return at;
}

/* rd_i32, rd_u8, rd_u64, rd_f32: one fixed-size field, decoded into *v. */
#define RD_FIXED(fn, type, size, decode)                                    \
static int                                                                  \
fn(forest_reader *r, type *v, const char *what)                             \
{                                                                           \
    const uint8_t *b = rd_bytes(r, size, what);                             \
                                                                            \
    if (b == NULL) {                                                        \
        return -1;                                                          \
    }                                                                       \
    *v = decode;                                                            \
    return 0;                                                               \
}

RD_FIXED(rd_i32, int32_t, 4, le_i32(b))
RD_FIXED(rd_u8, uint8_t, 1, b[0])
RD_FIXED(rd_u64, uint64_t, 8, forest_le_u64(b))
RD_FIXED(rd_f32, double, 4, le_real(b, 0))

/* An array: its element count, then the elements (returned in place). */
static const uint8_t *
rd_array(forest_reader *r, size_t elem, uint64_t *count, const char *what)
{
    if (rd_u64(r, count, what) != 0) {
        return NULL;
    }
    if (*count > (r->len - r->pos) / elem) {
        forest_errf(r->err, r->errlen, r->name, "truncated: %s has %llu "
            "elements of %zu bytes at offset %zu, %zu bytes left", what,
            (unsigned long long) *count, elem, r->pos, r->len - r->pos);
        return NULL;
    }
    return rd_bytes(r, *count * elem, what);
}

/* An array that must have exactly n elements (n = 0 allows empty too when
 * allow_empty). */
static const uint8_t *
rd_array_n(forest_reader *r, size_t elem, uint64_t n, int allow_empty,
    const char *what)
{
    uint64_t       count;
    const uint8_t *a = rd_array(r, elem, &count, what);

    if (a == NULL) {
        return NULL;
    }
    if (count != n && !(allow_empty && count == 0)) {
        forest_errf(r->err, r->errlen, r->name, "%s has %llu elements, "
            "expected %llu", what, (unsigned long long) count,
            (unsigned long long) n);
        return NULL;
    }
    return a;
}

static int
skip_optional_fields(forest_reader *r, const char *slot)
{
    int32_t  n;
    uint64_t name_len, elem, count;

    if (rd_i32(r, &n, slot) != 0) {
        return -1;
    }
    if (n < 0) {
        forest_errf(r->err, r->errlen, r->name, "%s: negative field count %d",
            slot, n);
        return -1;
    }
    for (int32_t i = 0; i < n; i++) {
        if (rd_u64(r, &name_len, slot) != 0
            || rd_bytes(r, name_len, slot) == NULL
            || rd_u64(r, &elem, slot) != 0 || rd_u64(r, &count, slot) != 0)
        {
            return -1;
        }
        if (elem != 0 && count > UINT64_MAX / elem) {
            forest_errf(r->err, r->errlen, r->name, "%s: field size "
                "overflows", slot);
            return -1;
        }
        if (rd_bytes(r, elem * count, slot) == NULL) {
            return -1;
        }
    }
    return 0;
}


static tl_field
col(const uint8_t *base, size_t elem)
{
    tl_field f = { base, elem };

    return f;
}


/* ---- header ------------------------------------------------------------*/

static int
real_type(forest_reader *r, uint8_t t, const char *what, int *is64)
{
    if (t != TL_FLOAT32 && t != TL_FLOAT64) {
        forest_errf(r->err, r->errlen, r->name, "%s type %u not supported "
            "(only float32 and float64; integer leaf outputs are a "
            "Treelite 3 feature Treelite 4 dropped too)", what, t);
        return -1;
    }
    *is64 = t == TL_FLOAT64;
    return 0;
}

static int
read_header_v4(forest_reader *r, tl_header *h)
{
    int32_t        n_targets;
    uint64_t       n, len;
    const uint8_t *a, *s;

    if (rd_i32(r, &n_targets, "num_target") != 0) {
        return -1;
    }
    if (n_targets < 1 || (uint32_t) n_targets > FOREST_MAX_OUTPUTS) {
        forest_errf(r->err, r->errlen, r->name, "bad num_target %d",
            n_targets);
        return -1;
    }
    h->n_targets = (uint32_t) n_targets;
    h->num_class = rd_array_n(r, 4, h->n_targets, 0, "num_class");
    if (h->num_class == NULL) {
        return -1;
    }
    h->max_class = 0;
    for (uint32_t t = 0; t < h->n_targets; t++) {
        int32_t k = le_i32(h->num_class + 4 * (size_t) t);

        if (k < 1 || (uint32_t) k > FOREST_MAX_OUTPUTS) {
            forest_errf(r->err, r->errlen, r->name, "bad num_class[%u] = %d",
                t, k);
            return -1;
        }
        h->max_class = (uint32_t) k > h->max_class ? (uint32_t) k
                                                   : h->max_class;
    }
    a = rd_array_n(r, 4, 2, 0, "leaf_vector_shape");
    if (a == NULL) {
        return -1;
    }
    if (le_i32(a) < 1 || le_i32(a + 4) < 1
        || (uint32_t) le_i32(a) > h->n_targets
        || (uint32_t) le_i32(a + 4) > h->max_class)
    {
        forest_errf(r->err, r->errlen, r->name, "bad leaf_vector_shape "
            "[%d, %d] for %u targets, %u classes", le_i32(a), le_i32(a + 4),
            h->n_targets, h->max_class);
        return -1;
    }
    h->shape0 = (uint32_t) le_i32(a);
    h->shape1 = (uint32_t) le_i32(a + 4);
    h->target_id = rd_array_n(r, 4, h->n_trees, 0, "target_id");
    if (h->target_id == NULL) {
        return -1;
    }
    h->class_id = rd_array_n(r, 4, h->n_trees, 0, "class_id");
    if (h->class_id == NULL) {
        return -1;
    }
    if (rd_u64(r, &len, "postprocessor") != 0
        || (s = rd_bytes(r, len, "postprocessor")) == NULL)
    {
        return -1;
    }
    if (len >= sizeof(h->post)) {
        forest_errf(r->err, r->errlen, r->name, "postprocessor name of %llu "
            "bytes not supported", (unsigned long long) len);
        return -1;
    }
    memcpy(h->post, s, (size_t) len);
    h->post[len] = '\0';
    if (rd_f32(r, &h->sigmoid_alpha, "sigmoid_alpha") != 0
        || rd_f32(r, &h->ratio_c, "ratio_c") != 0)
    {
        return -1;
    }
    h->base_scores = rd_array(r, 8, &n, "base_scores");
    if (h->base_scores == NULL) {
        return -1;
    }
    h->n_base_scores = n;
    /* attributes: a JSON string; load_treelite.c reads its categories */
    if (rd_u64(r, &len, "attributes") != 0
        || (h->attributes = rd_bytes(r, len, "attributes")) == NULL)
    {
        return -1;
    }
    h->n_attributes = len;
    return skip_optional_fields(r, "per-model optional fields");
}

/* Treelite 3.9: TaskParam {uint8 output_type; bool grove_per_class;
 * uint32 num_class; uint32 leaf_vector_size} (12 bytes with padding) and
 * ModelParam {char pred_transform[256]; float sigmoid_alpha, ratio_c,
 * global_bias}, mapped as Treelite 4 maps them. */
static int
read_header_v3(forest_reader *r, tl_header *h)
{
    const uint8_t *tp, *mp;
    uint32_t       num_class, lv_size;
    int32_t        n_opt;
    size_t         plen;

    if ((tp = rd_bytes(r, 12, "TaskParam")) == NULL
        || (mp = rd_bytes(r, 268, "ModelParam")) == NULL
        || rd_i32(r, &n_opt, "per-model optional fields") != 0)
    {
        return -1;
    }
    num_class = (uint32_t) le_i32(tp + 4);
    lv_size = (uint32_t) le_i32(tp + 8);
    if (tp[0] != 0) {
        forest_errf(r->err, r->errlen, r->name, "integer leaf outputs "
            "(Treelite 3 output_type %u) not supported", tp[0]);
        return -1;
    }
    if (num_class < 1 || num_class > FOREST_MAX_OUTPUTS || n_opt != 0) {
        forest_errf(r->err, r->errlen, r->name, "bad Treelite 3 header "
            "(num_class %u, %d optional fields)", num_class, n_opt);
        return -1;
    }
    h->n_targets = 1;
    h->max_class = num_class;
    h->shape0 = 1;
    h->shape1 = 1;
    switch (h->task) {
    case 0:     /* kBinaryClfRegr */
        h->task = TL_TASK_REGRESSOR;
        break;
    case 1:     /* kMultiClfGrovePerClass */
        h->task = TL_TASK_MULTICLASS;
        h->v3_class_mod = (int32_t) num_class;
        break;
    case 2:     /* kMultiClfProbDistLeaf */
        h->task = TL_TASK_MULTICLASS;
        h->shape1 = num_class;
        h->v3_class_all = 1;
        break;
    default:
        forest_errf(r->err, r->errlen, r->name, "Treelite 3 task type %u "
            "not supported", h->task);
        return -1;
    }
    if (lv_size != h->shape1 || (h->task == TL_TASK_REGRESSOR
                                 && num_class != 1))
    {
        forest_errf(r->err, r->errlen, r->name, "inconsistent Treelite 3 "
            "task parameters (num_class %u, leaf_vector_size %u)", num_class,
            lv_size);
        return -1;
    }
    plen = strnlen((const char *) mp, 256);
    if (plen >= sizeof(h->post)) {
        forest_errf(r->err, r->errlen, r->name, "pred_transform name too "
            "long");
        return -1;
    }
    memcpy(h->post, mp, plen);
    h->post[plen] = '\0';
    if (strcmp(h->post, "max_index") == 0) {
        /* Treelite 4 reads max_index as softmax */
        strcpy(h->post, "softmax");
    }
    if (strcmp(h->post, "sigmoid") == 0) {
        h->task = TL_TASK_BINARY;
    }
    h->sigmoid_alpha = le_real(mp + 256, 0);
    h->ratio_c = le_real(mp + 260, 0);
    h->v3_global_bias = le_real(mp + 264, 0);
    return 0;
}

int
forest_tl_read_header(forest_reader *r, tl_header *h)
{
    uint8_t thr, leaf;

    memset(h, 0, sizeof(*h));
    if (rd_i32(r, &h->major, "version") != 0
        || rd_i32(r, &h->minor, "version") != 0
        || rd_i32(r, &h->patch, "version") != 0)
    {
        return -1;
    }
    if (!(h->major == 4 || (h->major == 3 && h->minor == 9))) {
        forest_errf(r->err, r->errlen, r->name, "Treelite checkpoint version "
            "%d.%d.%d not supported (4.x and 3.9 are)", h->major, h->minor,
            h->patch);
        return -1;
    }
    if (rd_u8(r, &thr, "threshold_type") != 0
        || rd_u8(r, &leaf, "leaf_output_type") != 0
        || real_type(r, thr, "threshold", &h->thr64) != 0
        || real_type(r, leaf, "leaf output", &h->leaf64) != 0
        || rd_u64(r, &h->n_trees, "num_tree") != 0
        || rd_i32(r, &h->n_features, "num_feature") != 0
        || rd_u8(r, &h->task, "task_type") != 0
        || rd_u8(r, &h->average, "average_tree_output") != 0)
    {
        return -1;
    }
    /* every tree takes well over 64 bytes, so this also bounds the
     * allocations below by the file size */
    if (h->n_trees == 0 || h->n_trees > FOREST_MAX_TREES
        || h->n_trees > (r->len - r->pos) / 64)
    {
        forest_errf(r->err, r->errlen, r->name, "bad num_tree %llu for a "
            "file of %zu bytes", (unsigned long long) h->n_trees, r->len);
        return -1;
    }
    if (h->n_features < 1 || (uint32_t) h->n_features > FOREST_MAX_FEATURES) {
        forest_errf(r->err, r->errlen, r->name, "bad num_feature %d",
            h->n_features);
        return -1;
    }
    if (h->major == 3) {
        return read_header_v3(r, h);
    }
    if (h->task > TL_TASK_ISOLATION_FOREST) {
        forest_errf(r->err, r->errlen, r->name, "unknown task_type %u",
            h->task);
        return -1;
    }
    return read_header_v4(r, h);
}

/* ---- trees ------------------------------------------------------------ */

/* num_nodes and has_categorical_split, which start a tree of either
 * version (the flag is not needed: the node types tell). */
static int
read_node_count(forest_reader *r, tl_tree *t)
{
    int32_t n;
    uint8_t has_cat;

    if (rd_i32(r, &n, "num_nodes") != 0
        || rd_u8(r, &has_cat, "has_categorical_split") != 0)
    {
        return -1;
    }
    if (n < 1) {
        forest_errf(r->err, r->errlen, r->name, "tree has %d nodes", n);
        return -1;
    }
    t->n_nodes = (uint32_t) n;
    return 0;
}

/* leaf_vector and its per-node begin/end offsets, laid out alike in 4.x
 * and 3.9 (begin/end empty when the leaves are scalars). */
static int
read_leaf_vectors(forest_reader *r, const tl_header *h, tl_tree *t)
{
    const uint8_t *a;
    uint64_t       n_lv_begin;

    if ((t->leaf_vector = rd_array(r, h->leaf64 ? 8 : 4, &t->n_leaf_vector,
                                   "leaf_vector")) == NULL
        || (a = rd_array(r, 8, &n_lv_begin, "leaf_vector_begin")) == NULL)
    {
        return -1;
    }
    if (n_lv_begin != 0 && n_lv_begin != t->n_nodes) {
        forest_errf(r->err, r->errlen, r->name, "leaf_vector_begin has %llu "
            "elements for %u nodes", (unsigned long long) n_lv_begin,
            t->n_nodes);
        return -1;
    }
    t->has_lv = n_lv_begin != 0;
    t->lv_begin = col(a, 8);
    if ((a = rd_array_n(r, 8, n_lv_begin, 0, "leaf_vector_end")) == NULL) {
        return -1;
    }
    t->lv_end = col(a, 8);
    return 0;
}

int
forest_tl_read_tree_v4(forest_reader *r, const tl_header *h, tl_tree *t)
{
    size_t         real_t = h->thr64 ? 8 : 4, real_l = h->leaf64 ? 8 : 4;
    const uint8_t *a;
    uint64_t       n_cat_begin;
    static const struct { size_t elem; const char *what; } stats[] = {
        { 8, "data_count" }, { 1, "data_count_present" },
        { 8, "sum_hess" }, { 1, "sum_hess_present" },
        { 8, "gain" }, { 1, "gain_present" },
    };
    struct { tl_field *f; size_t elem; const char *what; } cols[] = {
        { &t->node_type, 1, "node_type" }, { &t->cleft, 4, "cleft" },
        { &t->cright, 4, "cright" }, { &t->split_index, 4, "split_index" },
        { &t->default_left, 1, "default_left" },
        { &t->leaf_value, real_l, "leaf_value" },
        { &t->threshold, real_t, "threshold" }, { &t->cmp, 1, "cmp" },
        { &t->cat_right, 1, "category_list_right_child" },
    };

    if (read_node_count(r, t) != 0) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        if ((a = rd_array_n(r, cols[i].elem, t->n_nodes, 0, cols[i].what))
            == NULL)
        {
            return -1;
        }
        *cols[i].f = col(a, cols[i].elem);
    }
    if (read_leaf_vectors(r, h, t) != 0) {
        return -1;
    }
    if ((t->cat_list = rd_array(r, 4, &t->n_cat_list, "category_list"))
        == NULL
        || (a = rd_array_n(r, 8, t->n_nodes, 1, "category_list_begin"))
           == NULL)
    {
        return -1;
    }
    t->cat_begin = col(a, 8);
    n_cat_begin = forest_le_u64(a - 8);
    if ((a = rd_array_n(r, 8, n_cat_begin, 0, "category_list_end")) == NULL) {
        return -1;
    }
    t->cat_end = col(a, 8);
    t->has_cat = n_cat_begin != 0;
    tl_field *stat_fields[] = {
        &t->data_count, &t->data_count_present, &t->sum_hess,
        &t->sum_hess_present, NULL, NULL
    };

    for (size_t i = 0; i < sizeof(stats) / sizeof(stats[0]); i++) {
        if ((a = rd_array_n(r, stats[i].elem, t->n_nodes, 1, stats[i].what))
            == NULL)
        {
            return -1;
        }
        if (stat_fields[i] != NULL && forest_le_u64(a - 8) != 0) {
            *stat_fields[i] = col(a, stats[i].elem);
        }
    }
    if (skip_optional_fields(r, "per-tree optional fields") != 0
        || skip_optional_fields(r, "per-node optional fields") != 0)
    {
        return -1;
    }
    return 0;
}

/* Treelite 3.9 node struct: int32 cleft, cright; uint32 sindex (bit 31 =
 * default left); union {leaf, threshold}; uint64 data_count; double
 * sum_hess, gain; int8 split_type, cmp; bool data_count_present,
 * sum_hess_present, gain_present, categories_list_right_child. */
int
forest_tl_read_tree_v3(forest_reader *r, const tl_header *h, tl_tree *t)
{
    int32_t        n_opt_tree, n_opt_node;
    size_t         u = (h->thr64 || h->leaf64) ? 8 : 4;
    size_t         info = u == 8 ? 16 : 12, dc = u == 8 ? 24 : 16;
    size_t         size = u == 8 ? 56 : 48;
    const uint8_t *nodes, *a;
    uint64_t       n_off;

    if (read_node_count(r, t) != 0) {
        return -1;
    }
    if ((nodes = rd_array_n(r, size, t->n_nodes, 0, "nodes")) == NULL) {
        return -1;
    }
    t->cleft = col(nodes, size);
    t->cright = col(nodes + 4, size);
    t->split_index = col(nodes + 8, size);
    t->sindex_packed = 1;
    t->leaf_value = col(nodes + info, size);
    t->threshold = col(nodes + info, size);
    t->node_type = col(nodes + dc + 24, size);   /* split_type: 1 num, 2 cat */
    t->cmp = col(nodes + dc + 25, size);
    t->cat_right = col(nodes + dc + 29, size);
    t->data_count = col(nodes + dc, size);
    t->sum_hess = col(nodes + dc + 8, size);
    t->data_count_present = col(nodes + dc + 26, size);
    t->sum_hess_present = col(nodes + dc + 27, size);
    if (read_leaf_vectors(r, h, t) != 0) {
        return -1;
    }
    if ((t->cat_list = rd_array(r, 4, &t->n_cat_list, "category_list"))
        == NULL
        || (a = rd_array(r, 8, &n_off, "category offsets")) == NULL)
    {
        return -1;
    }
    if (n_off != (uint64_t) t->n_nodes + 1) {
        forest_errf(r->err, r->errlen, r->name, "category offsets have %llu "
            "elements for %u nodes", (unsigned long long) n_off, t->n_nodes);
        return -1;
    }
    t->cat_begin = col(a, 8);
    t->cat_end = col(a + 8, 8);
    t->has_cat = 1;
    if (rd_i32(r, &n_opt_tree, "per-tree optional fields") != 0
        || rd_i32(r, &n_opt_node, "per-node optional fields") != 0)
    {
        return -1;
    }
    if (n_opt_tree != 0 || n_opt_node != 0) {
        forest_errf(r->err, r->errlen, r->name, "Treelite 3 tree with "
            "optional fields");
        return -1;
    }
    return 0;
}
