/*
 * Path-dependent TreeSHAP over precomputed root-to-leaf paths.
 *
 * The recursive algorithm (Lundberg et al.; XGBoost, LightGBM and shap all
 * run it) extends and unwinds a path polynomial at every node of every tree
 * for every row: O(leaves * depth^2) with a division per step.  Here each
 * leaf's path is compiled once into its unique features, each with its
 * "zero fraction" z (product of the cover ratios of that feature's nodes on
 * the path).  For a row, an element is hot (one fraction 1) when the row
 * takes every one of its nodes the path's way, else cold (one fraction 0).
 * With the cold product Zc and the hot polynomial P(t) = prod_hot (z + t):
 *     cold element: phi = -v * Zc * Psi(P)
 *     hot element i: phi = v * (1 - z_i) * Zc * Psi(P / (z_i + t))
 * where Psi(Q) = sum_k q_k k!(d-1-k)!/d! over a path of d unique features:
 * the same Shapley weights without the unwinding divisions, and the work of
 * the polynomial is in the hot elements only.
 */
#include "forest_internal.h"
#include "treeshap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* rows processed tree by tree together, so a tree's paths stay in cache */
#define SHAP_BLOCK 32

/* The divisions of one path's hot elements are independent chains of
 * multiply-adds: four at once in one vector hide their latency. */
#define SHAP_LANES 4
typedef double shap_vec __attribute__((vector_size(SHAP_LANES
                                                    * sizeof(double))));

/*
 * A node test on a path: (node's position in its tree) << 1 | 1 when the
 * path goes left there; the row's side table at that index says whether
 * the row goes the path's way.
 */
typedef struct {
    double    z;            /* zero fraction */
    int32_t   feature;
    uint32_t  cond;         /* the feature's first node on the path */
} shap_elem;

/* A feature's further nodes on a path: its element is hot only when the
 * row goes the path's way at every one. */
typedef struct {
    uint32_t  elem;         /* position in the path */
    uint32_t  cond;
} shap_extra;

typedef struct {
    uint32_t  elem_begin;
    uint32_t  n_elems;      /* d: unique features on the path */
    uint32_t  extra_begin;
    uint32_t  n_extra;
    uint32_t  leaf;         /* first value in model->leaf_values */
    /* a pair of sibling leaves (see add_pair_phi): the right leaf, and
     * its z for the last element, whose z and cond are the left leaf's;
     * SHAP_SINGLE: one leaf */
    uint32_t  leaf2;
    double    z2;
} shap_path;

#define SHAP_SINGLE  UINT32_MAX

typedef struct {
    uint32_t  path_begin, n_paths;
    uint32_t  split_begin, n_splits;
    int32_t   group;        /* output column, -1: vector leaves */
} shap_tree;

/*
 * A tree's split nodes, packed: a row's side table is filled from these
 * without touching the leaves or branching on node kinds, whose pattern a
 * branch predictor cannot learn when each tree sees one row per call.
 */
typedef struct {
    float     threshold;
    int32_t   feature;
    uint32_t  node;         /* position in its tree */
    uint8_t   default_left;
    uint8_t   general;      /* categorical or zero-is-missing: the model's
                               own node test */
} shap_split;

struct forest_shap {
    const forest_model *m;
    shap_tree          *trees;
    shap_path          *paths;
    shap_elem          *elems;
    shap_extra         *extras;
    shap_split         *splits;
    /* Shapley weights k!(d-1-k)!/d! of d = 1.., at weights[d(d-1)/2 + k] */
    double             *weights;
    double             *bias;        /* n_outputs: expected margin */
    uint32_t            max_nodes, max_d, cols;
    size_t              n_paths, n_elems, n_extras, n_splits;
};

/* ---- compiling the paths --------------------------------------------- */

typedef struct {
    forest_shap  *s;
    size_t        cap_paths, cap_elems, cap_extras, cap_splits;
    /* the path from the root to the node being visited */
    int32_t      *path_feature;
    uint32_t     *path_cond;
    double       *path_ratio;
    uint32_t     *stack_node, *stack_depth;
    uint32_t     *elem_of_feature;    /* per feature: element + 1, 0: none */
    char         *err;
    size_t        errlen;
} shap_build;

static int
build_oom(shap_build *b)
{
    forest_errf(b->err, b->errlen, "model", "out of memory compiling "
        "TreeSHAP paths");
    return -1;
}

/* The unique-feature elements of the path to a leaf at depth d. */
static int
add_path(shap_build *b, uint32_t d, uint32_t leaf)
{
    forest_shap *s = b->s;
    shap_path   *p;
    uint32_t     first = (uint32_t) s->n_elems, n = 0;
    size_t       extras_before = s->n_extras;

    if (forest_grow((void **) &s->paths, &b->cap_paths, s->n_paths + 1,
                    sizeof(shap_path), 256) != 0
        || forest_grow((void **) &s->elems, &b->cap_elems, s->n_elems + d,
                    sizeof(shap_elem), 1024) != 0
        || forest_grow((void **) &s->extras, &b->cap_extras,
                    s->n_extras + d, sizeof(shap_extra), 256) != 0)
    {
        return build_oom(b);
    }
    /* group the path's nodes by feature, in order of first appearance */
    for (uint32_t k = 0; k < d; k++) {
        int32_t f = b->path_feature[k];

        if (b->elem_of_feature[f] == 0) {
            shap_elem *e = &s->elems[first + n];

            e->feature = f;
            e->z = b->path_ratio[k];
            e->cond = b->path_cond[k];
            b->elem_of_feature[f] = ++n;
            continue;
        }
        /* a feature seen before on the path */
        s->elems[first + b->elem_of_feature[f] - 1].z *= b->path_ratio[k];
        s->extras[s->n_extras].elem = b->elem_of_feature[f] - 1;
        s->extras[s->n_extras++].cond = b->path_cond[k];
    }
    for (uint32_t i = 0; i < n; i++) {
        b->elem_of_feature[s->elems[first + i].feature] = 0;
    }
    p = &s->paths[s->n_paths++];
    p->extra_begin = (uint32_t) extras_before;
    p->n_extra = (uint32_t) (s->n_extras - extras_before);
    s->n_elems += n;
    s->max_d = n > s->max_d ? n : s->max_d;
    p->elem_begin = first;
    p->n_elems = n;
    p->leaf = leaf;
    p->leaf2 = SHAP_SINGLE;
    return 0;
}

static double
ratio(double child, double parent)
{
    return parent > 0.0 ? child / parent : 0.0;
}

static int
on_path(const shap_build *b, uint32_t d, int32_t feature)
{
    for (uint32_t k = 0; k < d; k++) {
        if (b->path_feature[k] == feature) {
            return 1;
        }
    }
    return 0;
}

/*
 * Node i at depth d whose children are both leaves, its feature new on the
 * path: one path for the two leaves (their paths differ in the last
 * element only), with both leaves' shares of the bias.
 */
static int
add_pair(shap_build *b, uint32_t t, uint32_t i, uint32_t d)
{
    forest_shap        *s = b->s;
    const forest_model *m = s->m;
    const forest_node  *tree = m->nodes + m->tree_begin[t];
    const double       *cover = m->node_cover + m->tree_begin[t];
    const forest_node  *nd = &tree[i];
    uint32_t            g = (uint32_t) m->tree_group[t];
    shap_path          *p;

    s->bias[g] += ratio(cover[nd->left], cover[0])
                  * m->leaf_values[tree[nd->left].leaf]
                  + ratio(cover[nd->right], cover[0])
                    * m->leaf_values[tree[nd->right].leaf];
    b->path_cond[d] = (i << 1) | 1u;
    b->path_ratio[d] = ratio(cover[nd->left], cover[i]);
    if (add_path(b, d + 1, tree[nd->left].leaf) != 0) {
        return -1;
    }
    p = &s->paths[s->n_paths - 1];
    p->leaf2 = tree[nd->right].leaf;
    p->z2 = ratio(cover[nd->right], cover[i]);
    return 0;
}

/*
 * Depth first from node i at depth d of tree t: slots 0..d-1 of the build
 * path hold i's ancestors; a path per leaf, and its share of the tree's
 * expected value (leaf cover / root cover) into the bias.
 */
static int
walk(shap_build *b, uint32_t t, uint32_t i, uint32_t d)
{
    forest_shap        *s = b->s;
    const forest_model *m = s->m;
    const forest_node  *tree = m->nodes + m->tree_begin[t];
    const double       *cover = m->node_cover + m->tree_begin[t];
    const forest_node  *nd = &tree[i];

    if (nd->kind == FOREST_NODE_LEAF) {
        uint32_t w = m->tree_group[t] < 0 ? m->leaf_width : 1;
        uint32_t g = m->tree_group[t] < 0 ? 0 : (uint32_t) m->tree_group[t];
        double   share = i == 0 ? 1.0 : ratio(cover[i], cover[0]);

        for (uint32_t k = 0; k < w; k++) {
            s->bias[g + k] += share * m->leaf_values[nd->leaf + k];
        }
        return add_path(b, d, nd->leaf);
    }
    if (d >= FOREST_MAX_DEPTH) {
        forest_errf(b->err, b->errlen, "model", "tree %u deeper than %u", t,
            FOREST_MAX_DEPTH);
        return -1;
    }
    b->path_feature[d] = nd->feature;
    if (tree[nd->left].kind == FOREST_NODE_LEAF
        && tree[nd->right].kind == FOREST_NODE_LEAF
        && m->tree_group[t] >= 0 && !on_path(b, d, nd->feature))
    {
        return add_pair(b, t, i, d);
    }
    for (int left = 1; left >= 0; left--) {
        uint32_t c = (uint32_t) (left ? nd->left : nd->right);

        b->path_cond[d] = (i << 1) | (uint32_t) left;
        b->path_ratio[d] = ratio(cover[c], cover[i]);
        if (walk(b, t, c, d + 1) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Tree t's split nodes into s->splits. */
static int
add_splits(shap_build *b, uint32_t t)
{
    forest_shap        *s = b->s;
    const forest_model *m = s->m;
    const forest_node  *tree = m->nodes + m->tree_begin[t];
    uint32_t            n = m->tree_begin[t + 1] - m->tree_begin[t];

    if (forest_grow((void **) &s->splits, &b->cap_splits, s->n_splits + n,
                    sizeof(shap_split), 1024) != 0)
    {
        return build_oom(b);
    }
    s->trees[t].split_begin = (uint32_t) s->n_splits;
    for (uint32_t i = 0; i < n; i++) {
        const forest_node *nd = &tree[i];
        shap_split        *sp;

        if (nd->kind == FOREST_NODE_LEAF) {
            continue;
        }
        sp = &s->splits[s->n_splits++];
        sp->threshold = nd->threshold;
        sp->feature = nd->feature;
        sp->node = i;
        sp->default_left = nd->default_left;
        sp->general = nd->kind == FOREST_NODE_CATEGORICAL
                      || nd->zero_is_missing;
    }
    s->trees[t].n_splits = (uint32_t) s->n_splits - s->trees[t].split_begin;
    return 0;
}

static int
build(shap_build *b)
{
    forest_shap        *s = b->s;
    const forest_model *m = s->m;

    b->path_feature = malloc(FOREST_MAX_DEPTH * sizeof(int32_t));
    b->path_cond = malloc(FOREST_MAX_DEPTH * sizeof(uint32_t));
    b->path_ratio = malloc(FOREST_MAX_DEPTH * sizeof(double));
    b->elem_of_feature = calloc(m->n_features, sizeof(uint32_t));
    s->trees = calloc(m->n_trees, sizeof(shap_tree));
    s->bias = calloc(m->n_outputs, sizeof(double));
    if (b->path_feature == NULL || b->path_cond == NULL
        || b->path_ratio == NULL || b->elem_of_feature == NULL
        || s->trees == NULL || s->bias == NULL)
    {
        return build_oom(b);
    }
    for (uint32_t t = 0; t < m->n_trees; t++) {
        uint32_t n = m->tree_begin[t + 1] - m->tree_begin[t];

        s->trees[t].path_begin = (uint32_t) s->n_paths;
        s->trees[t].group = m->tree_group[t];
        if (walk(b, t, 0, 0) != 0 || add_splits(b, t) != 0) {
            return -1;
        }
        s->trees[t].n_paths = (uint32_t) s->n_paths - s->trees[t].path_begin;
        s->max_nodes = n > s->max_nodes ? n : s->max_nodes;
    }
    for (uint32_t k = 0; k < m->n_outputs; k++) {
        s->bias[k] = s->bias[k] / m->average_divisor[k] + m->base_score[k];
    }
    /* W_d[0] = 1/d, W_d[k+1] = W_d[k] (k+1) / (d-1-k) */
    s->weights = malloc(((size_t) s->max_d * (s->max_d + 1) / 2 + 1)
                        * sizeof(double));
    if (s->weights == NULL) {
        return build_oom(b);
    }
    for (uint32_t d = 1; d <= s->max_d; d++) {
        double *w = s->weights + (size_t) d * (d - 1) / 2;

        w[0] = 1.0 / d;
        for (uint32_t k = 0; k + 1 < d; k++) {
            w[k + 1] = w[k] * (k + 1) / (d - 1 - k);
        }
    }
    return 0;
}

forest_shap *
forest_shap_new(const forest_model *m, char *err, size_t errlen)
{
    shap_build   b;
    forest_shap *s;
    int          rc;

    if (m->node_cover == NULL) {
        forest_errf(err, errlen, "model", "contributions need each node's "
            "cover (training hessian sum or data count), which this model "
            "file does not store");
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        forest_errf(err, errlen, "model", "out of memory");
        return NULL;
    }
    memset(&b, 0, sizeof(b));
    b.s = s;
    b.err = err;
    b.errlen = errlen;
    s->m = m;
    s->cols = m->n_features + 1;
    rc = build(&b);
    free(b.path_feature);
    free(b.path_cond);
    free(b.path_ratio);
    free(b.elem_of_feature);
    if (rc != 0) {
        forest_shap_free(s);
        return NULL;
    }
    return s;
}

void
forest_shap_free(forest_shap *s)
{
    if (s == NULL) {
        return;
    }
    free(s->trees);
    free(s->paths);
    free(s->elems);
    free(s->extras);
    free(s->splits);
    free(s->weights);
    free(s->bias);
    free(s);
}

size_t
forest_shap_row_values(const forest_shap *s)
{
    return (size_t) s->m->n_outputs * s->cols;
}

/* ---- evaluation -------------------------------------------------------- */

/* scratch of one call */
typedef struct {
    uint8_t  *side;         /* per node n of a tree: [2n + 1] 1 when the row
                               goes left, [2n] when it goes right */
    uint8_t  *hot;          /* per element of a path */
    double   *poly;         /* hot polynomial, max_d + 1 coefficients */
    double   *w;            /* per element: its weight (phi / leaf value) */
    double   *hot_z;        /* the hot elements' z, padded to SHAP_LANES */
    uint32_t *hot_at;       /* and their positions */
} shap_scratch;

/*
 * For each of the n hot elements listed in sc->hot_z / hot_at:
 *     w[at] = (1 - z) * zc * Psi(poly / (z + t))
 * poly of degree deg holding the factor (z + t); by synthetic division
 * from the top, SHAP_LANES elements at a time.
 */
static void
hot_weights(const shap_scratch *sc, const double *poly, uint32_t deg,
    const double *W, uint32_t n, double zc, double *w)
{
    uint32_t j = 0;

    /* one or two: scalar chains, cheaper than a vector mostly empty */
    for (; n - j == 1 || n - j == 2; j++) {
        double z = sc->hot_z[j], q = poly[deg], sum = q * W[deg - 1];

        for (uint32_t k = deg - 1; k > 0; k--) {
            q = poly[k] - z * q;
            sum += q * W[k - 1];
        }
        w[sc->hot_at[j]] = (1.0 - z) * zc * sum;
    }
    for (uint32_t i = n; i % SHAP_LANES != 0; i++) {
        sc->hot_z[i] = 0.0;
    }
    for (; j < n; j += SHAP_LANES) {
        shap_vec z, q, sum;

        memcpy(&z, &sc->hot_z[j], sizeof(z));
        q = z * 0.0 + poly[deg];
        sum = q * W[deg - 1];
        for (uint32_t k = deg - 1; k > 0; k--) {
            q = poly[k] - z * q;
            sum += q * W[k - 1];
        }
        for (uint32_t l = 0; l < SHAP_LANES && j + l < n; l++) {
            w[sc->hot_at[j + l]] = (1.0 - z[l]) * zc * sum[l];
        }
    }
}

/*
 * Which of the first n elements of path p are hot for the row (sc->side):
 * into sc->hot; sc->poly = prod (z + t) over the hot ones, *zc = prod z
 * over the cold ones.  Returns the number hot (poly's degree).
 */
static uint32_t
hot_poly(const forest_shap *s, const shap_path *p, uint32_t n,
    const shap_scratch *sc, double *zc)
{
    const shap_elem *e = s->elems + p->elem_begin;
    double          *poly = sc->poly;
    uint32_t         h = 0;

    for (uint32_t i = 0; i < n; i++) {
        sc->hot[i] = sc->side[e[i].cond];
    }
    for (uint32_t k = 0; k < p->n_extra; k++) {
        const shap_extra *x = &s->extras[p->extra_begin + k];

        sc->hot[x->elem] &= sc->side[x->cond];
    }
    *zc = 1.0;
    poly[0] = 1.0;
    for (uint32_t i = 0; i < n; i++) {
        double z = e[i].z;

        if (!sc->hot[i]) {
            *zc *= z;
            continue;
        }
        /* poly *= (z + t) */
        poly[h + 1] = poly[h];
        for (uint32_t k = h; k > 0; k--) {
            poly[k] = poly[k] * z + poly[k - 1];
        }
        poly[0] *= z;
        h++;
    }
    return h;
}

/*
 * Two sibling leaves whose paths differ only in the last element L (their
 * parent's feature, new on the path).  The row takes one of them: there L
 * is hot (leaf value vh, zero fraction zh), in the other cold (vc, zl).
 * Psi is linear in the polynomial, so the prefix elements' contributions
 * from both leaves come from one polynomial
 *     C(t) = P(t) ((vh zh + vc zl) + vh t)
 * (P: the prefix's hot polynomial, Zc its cold product), and L's own are
 *     Zc Psi(P) (vh (1 - zh) - vc zl):
 * the cost of one path for two leaves.
 */
static void
add_pair_phi(const forest_shap *s, const shap_path *p, double *row,
    const shap_scratch *sc)
{
    const shap_elem *e = s->elems + p->elem_begin;
    const double    *W, *v = s->m->leaf_values;
    double          *poly = sc->poly, *c = sc->w + s->max_d + 1;
    double           zc, vh, zh, vc, zl, psi = 0.0, cold = 0.0;
    uint32_t         d = p->n_elems, np = d - 1, h;
    int              left = sc->side[e[np].cond];

    vh = v[left ? p->leaf : p->leaf2];
    zh = left ? e[np].z : p->z2;
    vc = v[left ? p->leaf2 : p->leaf];
    zl = left ? p->z2 : e[np].z;
    h = hot_poly(s, p, np, sc, &zc);
    W = s->weights + (size_t) d * (d - 1) / 2;
    for (uint32_t k = 0; k <= h; k++) {
        psi += poly[k] * W[k];
    }
    row[e[np].feature] += zc * psi * (vh * (1.0 - zh) - vc * zl);
    if (np == 0) {
        return;
    }
    /* C = P * (a0 + vh t) */
    c[h + 1] = vh * poly[h];
    for (uint32_t k = h; k > 0; k--) {
        c[k] = (vh * zh + vc * zl) * poly[k] + vh * poly[k - 1];
    }
    c[0] = (vh * zh + vc * zl) * poly[0];
    if (h < np) {
        for (uint32_t k = 0; k <= h + 1; k++) {
            cold += c[k] * W[k];
        }
        cold = -zc * cold;
    }
    for (uint32_t i = 0, n = 0; i < np; i++) {
        sc->w[i] = cold;
        if (sc->hot[i]) {
            sc->hot_z[n] = e[i].z;
            sc->hot_at[n++] = i;
        }
    }
    hot_weights(sc, c, h + 1, W, h, zc, sc->w);
    for (uint32_t i = 0; i < np; i++) {
        row[e[i].feature] += sc->w[i];
    }
}

/* Adds the contributions of one path for one row to phi (n_outputs rows of
 * cols values; group: the path's column, or -1 for vector leaves). */
static void
add_path_phi(const forest_shap *s, const shap_path *p, int32_t group,
    const shap_scratch *sc, double *phi)
{
    const forest_model *m = s->m;
    const shap_elem    *e = s->elems + p->elem_begin;
    const double       *W;
    const double       *v = m->leaf_values + p->leaf;
    double             *poly = sc->poly, *w = sc->w;
    double              zc, cold = 0.0;
    uint32_t            d = p->n_elems, h;

    if (d == 0) {
        return;
    }
    if (p->leaf2 != SHAP_SINGLE) {
        add_pair_phi(s, p, phi + (size_t) group * s->cols, sc);
        return;
    }
    h = hot_poly(s, p, d, sc, &zc);
    W = s->weights + (size_t) d * (d - 1) / 2;
    if (h < d) {
        for (uint32_t k = 0; k <= h; k++) {
            cold += poly[k] * W[k];
        }
        cold = -zc * cold;
    }
    for (uint32_t i = 0, n = 0; i < d; i++) {
        w[i] = cold;
        if (sc->hot[i]) {
            sc->hot_z[n] = e[i].z;
            sc->hot_at[n++] = i;
        }
    }
    hot_weights(sc, poly, h, W, h, zc, w);
    if (group >= 0) {
        double *row = phi + (size_t) group * s->cols;

        for (uint32_t i = 0; i < d; i++) {
            row[e[i].feature] += v[0] * w[i];
        }
        return;
    }
    for (uint32_t k = 0; k < m->leaf_width; k++) {
        double *row = phi + (size_t) k * s->cols;

        for (uint32_t i = 0; i < d; i++) {
            row[e[i].feature] += v[k] * w[i];
        }
    }
}

/* Which way the row goes at each split of tree t, into side: numeric
 * splits without branches (NaN to the default child), categorical and
 * zero-is-missing ones by the model's node test. */
static void
tree_sides(const forest_shap *s, uint32_t t, const float *row,
    uint8_t *side)
{
    const forest_model *m = s->m;
    const forest_node  *tree = m->nodes + m->tree_begin[t];
    const shap_split   *sp = s->splits + s->trees[t].split_begin;

    for (uint32_t j = 0; j < s->trees[t].n_splits; j++) {
        float    x = row[sp[j].feature];
        uint32_t i = sp[j].node;
        uint8_t  left, nan = (uint8_t) (x != x);

        left = (uint8_t) ((nan & sp[j].default_left)
                          | (!nan & (x < sp[j].threshold)));
        if (sp[j].general) {
            left = (uint8_t) forest_node_goes_left(m, &tree[i], x);
        }
        side[2 * i + 1] = left;
        side[2 * i] = !left;
    }
}

int
forest_shap_run(const forest_shap *s, const float *rows, size_t n,
    float *out)
{
    const forest_model *m = s->m;
    size_t              per_row = forest_shap_row_values(s);
    shap_scratch        sc;
    double             *phi;

    sc.side = malloc(2 * (size_t) s->max_nodes + 2);
    sc.hot = malloc(s->max_d + 1);
    sc.poly = malloc((s->max_d + 2) * sizeof(double));
    sc.w = malloc(2 * (s->max_d + 2) * sizeof(double));
    sc.hot_z = malloc((s->max_d + SHAP_LANES) * sizeof(double));
    sc.hot_at = malloc((s->max_d + 1) * sizeof(uint32_t));
    phi = malloc(SHAP_BLOCK * per_row * sizeof(double));
    if (sc.side == NULL || sc.hot == NULL || sc.poly == NULL || sc.w == NULL
        || sc.hot_z == NULL || sc.hot_at == NULL || phi == NULL)
    {
        free(sc.hot_z);
        free(sc.hot_at);
        free(sc.side);
        free(sc.hot);
        free(sc.poly);
        free(sc.w);
        free(phi);
        return -1;
    }
    for (size_t r0 = 0; r0 < n; r0 += SHAP_BLOCK) {
        size_t nb = n - r0 < SHAP_BLOCK ? n - r0 : SHAP_BLOCK;

        memset(phi, 0, nb * per_row * sizeof(double));
        for (uint32_t t = 0; t < m->n_trees; t++) {
            const shap_tree *st = &s->trees[t];
            const shap_path *p = s->paths + st->path_begin;

            for (size_t r = 0; r < nb; r++) {
                tree_sides(s, t, rows + (r0 + r) * (size_t) m->n_features,
                    sc.side);
                for (uint32_t j = 0; j < st->n_paths; j++) {
                    add_path_phi(s, &p[j], st->group, &sc, phi + r * per_row);
                }
            }
        }
        for (size_t r = 0; r < nb; r++) {
            const double *src = phi + r * per_row;
            float        *dst = out + (r0 + r) * per_row;

            for (uint32_t k = 0; k < m->n_outputs; k++) {
                for (uint32_t f = 0; f < m->n_features; f++) {
                    dst[k * s->cols + f] = (float) (src[k * s->cols + f]
                                                    / m->average_divisor[k]);
                }
                dst[k * s->cols + m->n_features] = (float) s->bias[k];
            }
        }
    }
    free(sc.side);
    free(sc.hot);
    free(sc.poly);
    free(sc.w);
    free(sc.hot_z);
    free(sc.hot_at);
    free(phi);
    return 0;
}

void
forest_leaf_index(const forest_model *m, const float *rows, size_t n,
    int32_t *out)
{
    for (size_t r = 0; r < n; r++) {
        const float *row = rows + r * (size_t) m->n_features;

        for (uint32_t t = 0; t < m->n_trees; t++) {
            const forest_node *tree = m->nodes + m->tree_begin[t];
            uint32_t           i = 0;

            while (tree[i].kind != FOREST_NODE_LEAF) {
                i = (uint32_t) (forest_node_goes_left(m, &tree[i],
                                    row[tree[i].feature])
                                ? tree[i].left : tree[i].right);
            }
            out[r * m->n_trees + t] = m->node_source_id
                ? m->node_source_id[m->tree_begin[t] + i] : (int32_t) i;
        }
    }
}
