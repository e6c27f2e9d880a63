/*
 * Path-dependent TreeSHAP over precomputed root-to-leaf paths.
 *
 * The recursive algorithm (Lundberg et al.; XGBoost, LightGBM and shap all
 * run it) extends and unwinds a path polynomial at every node of every tree
 * for every row: O(leaves * depth^2) with a division per step.  Here each
 * leaf's path is compiled once into its unique features, each with its
 * "zero fraction" z (product of the cover ratios of that feature's nodes on
 * the path).  For a row, an element's one fraction o is 1 (hot) when the
 * row takes every one of its nodes the path's way, else 0 (cold).  The
 * Shapley weight k!(d-1-k)!/d! of a path of d unique features is the
 * integral of t^k (1-t)^(d-1-k) over [0, 1], so element i's contribution is
 *     phi_i = v (o_i - z_i) integral_0^1 prod_{j != i} F_j(t) dt,
 *     F_j(t) = z_j + (o_j - z_j) t
 * (as in Linear TreeSHAP, Yu et al. 2022).  The integrand is a polynomial
 * of degree d - 1, so Gauss-Legendre quadrature with ceil(d / 2) nodes is
 * exact: the path's work is a product of d small vectors (the F at the
 * nodes) forward and backward, each element's leave-one-out product their
 * product, all branch-free and without the polynomial's O(d^2) or any
 * division.
 */
#include "forest_internal.h"
#include "treeshap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* rows processed tree by tree together, so a tree's paths stay in cache */
#define SHAP_BLOCK 32

/* quadrature nodes in one vector: a path of up to 8 elements (every path
 * of a depth-8 tree) fits one */
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

typedef struct shap_scratch shap_scratch;

/* one tree's contributions of a block of rows: the same code compiled for
 * the vector instructions this CPU has */
typedef void (*shap_tree_fn)(const forest_shap *s, uint32_t t,
    const float *rows, size_t nb, const shap_scratch *sc, double *phi);

struct forest_shap {
    const forest_model *m;
    shap_tree_fn        tree_rows;
    shap_tree          *trees;
    shap_path          *paths;
    shap_elem          *elems;
    shap_extra         *extras;
    shap_split         *splits;
    /*
     * Gauss-Legendre quadrature of [0, 1] for each number g of lane groups
     * (g SHAP_LANES nodes): nodes at quad[g (g - 1)], weights at quad[g g],
     * g vectors each
     */
    shap_vec           *quad;
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

/* Quadrature groups of SHAP_LANES nodes for a path of d elements: n nodes
 * integrate degree 2n - 1 exactly, the integrands have degree d - 1. */
static uint32_t
quad_groups(uint32_t d)
{
    return (d + 2 * SHAP_LANES - 1) / (2 * SHAP_LANES);
}

/* The n Gauss-Legendre nodes t and weights w of [0, 1], by Newton's method
 * on the Legendre polynomial P_n from the usual cosine guesses. */
static void
gauss_legendre(uint32_t n, double *t, double *w)
{
    for (uint32_t i = 0; i < n; i++) {
        double x = cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1.0;

        for (int it = 0; it < 100; it++) {
            double p0 = 1.0, p1 = x, dx;

            for (uint32_t k = 2; k <= n; k++) {
                double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;

                p0 = p1;
                p1 = p2;
            }
            dp = n * (x * p1 - p0) / (x * x - 1.0);
            dx = p1 / dp;
            x -= dx;
            if (fabs(dx) < 1e-16) {
                break;
            }
        }
        t[i] = (1.0 + x) / 2.0;
        w[i] = 1.0 / ((1.0 - x * x) * dp * dp);
    }
}

/* A tree's paths of one kind (pair or single leaf, number of repeated
 * features, length) together: the evaluation's branches and loop counts
 * then repeat from path to path, which a branch predictor learns. */
static int
path_kind_cmp(const void *x, const void *y)
{
    const shap_path *p = x, *q = y;
    uint32_t kp[4] = { p->leaf2 == SHAP_SINGLE, p->n_extra, p->n_elems,
                       p->leaf };
    uint32_t kq[4] = { q->leaf2 == SHAP_SINGLE, q->n_extra, q->n_elems,
                       q->leaf };

    for (int k = 0; k < 4; k++) {
        if (kp[k] != kq[k]) {
            return kp[k] < kq[k] ? -1 : 1;
        }
    }
    return 0;
}

static int
build(shap_build *b)
{
    forest_shap        *s = b->s;
    const forest_model *m = s->m;
    uint32_t            ng;

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
        qsort(s->paths + s->trees[t].path_begin, s->trees[t].n_paths,
            sizeof(shap_path), path_kind_cmp);
        s->max_nodes = n > s->max_nodes ? n : s->max_nodes;
    }
    for (uint32_t k = 0; k < m->n_outputs; k++) {
        s->bias[k] = s->bias[k] / m->average_divisor[k] + m->base_score[k];
    }
    /* one group at least: a model of single-leaf trees has no path */
    ng = quad_groups(s->max_d > 0 ? s->max_d : 1);
    s->quad = aligned_alloc(sizeof(shap_vec),
                  (size_t) ng * (ng + 1) * sizeof(shap_vec));
    if (s->quad == NULL) {
        return build_oom(b);
    }
    for (uint32_t g = 1; g <= ng; g++) {
        gauss_legendre(g * SHAP_LANES, (double *) (s->quad + g * (g - 1)),
            (double *) (s->quad + g * g));
    }
    return 0;
}

static void tree_rows_generic(const forest_shap *s, uint32_t t,
    const float *rows, size_t nb, const shap_scratch *sc, double *phi);
#if defined(__x86_64__) || defined(__i386__)
static void tree_rows_avx2(const forest_shap *s, uint32_t t,
    const float *rows, size_t nb, const shap_scratch *sc, double *phi);
#endif

/* The AVX2 code where the CPU has it, unless FOREST_SIMD=scalar (as for
 * the CPU executor: tests run both). */
static shap_tree_fn
pick_tree_rows(void)
{
    const char *want = getenv("FOREST_SIMD");

    if (want != NULL && strcmp(want, "scalar") == 0) {
        return tree_rows_generic;
    }
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return tree_rows_avx2;
    }
#endif
    return tree_rows_generic;
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
    s->tree_rows = pick_tree_rows();
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
    free(s->quad);
    free(s->bias);
    free(s);
}

size_t
forest_shap_row_values(const forest_shap *s)
{
    return (size_t) s->m->n_outputs * s->cols;
}

/* ---- evaluation -------------------------------------------------------- */

#define SHAP_INLINE static inline __attribute__((always_inline))

/* scratch of one call */
struct shap_scratch {
    uint8_t  *side;         /* per node n of a tree: [2n + 1] 1 when the row
                               goes left, [2n] when it goes right */
    double   *z, *a;        /* per element of a path: F(t) = z + a t */
    double   *w;            /* per element: its contribution (for vector
                               leaves: per unit of leaf value) */
    shap_vec *pre;          /* prefix products of F at the nodes, per
                               element and lane group */
};

/* w[k] = a[k] * (the sum of q[k]'s lanes), k < 4 */
SHAP_INLINE void
scaled_lane_sums(const shap_vec *q, const double *a, double *w)
{
    shap_vec lo = __builtin_shufflevector(q[0], q[1], 0, 4, 2, 6)
                  + __builtin_shufflevector(q[0], q[1], 1, 5, 3, 7);
    shap_vec hi = __builtin_shufflevector(q[2], q[3], 0, 4, 2, 6)
                  + __builtin_shufflevector(q[2], q[3], 1, 5, 3, 7);
    shap_vec x;

    memcpy(&x, a, sizeof(x));
    x *= __builtin_shufflevector(lo, hi, 0, 1, 4, 5)
         + __builtin_shufflevector(lo, hi, 2, 3, 6, 7);
    memcpy(w, &x, sizeof(x));
}

/*
 * Each element's weight a_i * integral of prod_{j != i} F_j over [0, 1]
 * (n elements, leaf value v folded in) by the path's quadrature: prefix
 * products forward, suffix products backward, no division.
 */
SHAP_INLINE void
path_weights(const forest_shap *s, uint32_t d, double v,
    const shap_scratch *sc)
{
    uint32_t        ng = quad_groups(d);
    const shap_vec *t = s->quad + (size_t) ng * (ng - 1);
    const shap_vec *wt = t + ng;
    shap_vec       *pre = sc->pre;

    if (ng == 1) {
        /* the products in registers (d is a constant here for paths of
         * up to 8 elements); f: the factors, q: the products */
        shap_vec run = t[0] * 0.0 + 1.0, f[2 * SHAP_LANES];
        shap_vec q[2 * SHAP_LANES];

        for (uint32_t i = 0; i < d; i++) {
            f[i] = sc->z[i] + sc->a[i] * t[0];
            q[i] = run;
            run *= f[i];
        }
        run = wt[0] * v;
        for (uint32_t i = d; i-- > 0;) {
            q[i] *= run;
            run *= f[i];
        }
        for (uint32_t i = d; i % SHAP_LANES != 0; i++) {
            q[i] = run * 0.0;
        }
        for (uint32_t i = 0; i < d; i += SHAP_LANES) {
            scaled_lane_sums(q + i, sc->a + i, sc->w + i);
        }
        return;
    }
    for (uint32_t g = 0; g < ng; g++) {
        pre[g] = t[g] * 0.0 + 1.0;
    }
    for (uint32_t i = 0; i < d; i++) {
        for (uint32_t g = 0; g < ng; g++) {
            pre[(i + 1) * ng + g] = pre[i * ng + g]
                                    * (sc->z[i] + sc->a[i] * t[g]);
        }
    }
    for (uint32_t g = 0; g < ng; g++) {
        pre[(d + 1) * ng + g] = wt[g] * v;
    }
    for (uint32_t i = d; i-- > 0;) {
        shap_vec *suf = pre + (d + 1) * ng, q = t[0] * 0.0;

        for (uint32_t g = 0; g < ng; g++) {
            q += pre[i * ng + g] * suf[g];
            suf[g] *= sc->z[i] + sc->a[i] * t[g];
        }
        sc->w[i] = sc->a[i] * (q[0] + q[1] + q[2] + q[3]);
    }
}

/*
 * The row's F of the first n elements of path p: an element is hot (one
 * fraction o = 1) when the row goes the path's way at all its nodes (the
 * side table sc->side), else cold (o = 0); F(t) = z + (o - z) t.
 */
SHAP_INLINE void
path_factors(const forest_shap *s, const shap_path *p, uint32_t n,
    const shap_scratch *sc)
{
    const shap_elem *e = s->elems + p->elem_begin;

    if (p->n_extra == 0) {
        for (uint32_t i = 0; i < n; i++) {
            sc->z[i] = e[i].z;
            sc->a[i] = (double) sc->side[e[i].cond] - e[i].z;
        }
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        sc->a[i] = (double) sc->side[e[i].cond];
    }
    for (uint32_t k = 0; k < p->n_extra; k++) {
        const shap_extra *x = &s->extras[p->extra_begin + k];

        sc->a[x->elem] *= (double) sc->side[x->cond];
    }
    for (uint32_t i = 0; i < n; i++) {
        sc->z[i] = e[i].z;
        sc->a[i] -= e[i].z;
    }
}

/* Adds the contributions of one path of d elements for one row to phi
 * (n_outputs rows of cols values; group: the path's column, or -1 for
 * vector leaves). */
SHAP_INLINE void
add_path_phi(const forest_shap *s, const shap_path *p, uint32_t d,
    int32_t group, const shap_scratch *sc, double *phi)
{
    const forest_model *m = s->m;
    const shap_elem    *e = s->elems + p->elem_begin;
    const double       *v = m->leaf_values + p->leaf;

    if (d == 0) {
        return;
    }
    if (p->leaf2 != SHAP_SINGLE) {
        /*
         * Two sibling leaves whose paths differ only in the last element L
         * (their parent's feature, new on the path): the row takes one, where
         * L is hot (value vh, zero fraction zh), and in the other L is cold
         * (vc, zc).  The integrand is linear in L's factor, so both leaves
         * are one path whose last factor is vh (zh + (1 - zh) t) + vc zc (1 - t)
         * and whose L weight is vh (1 - zh) - vc zc.  That factor's z is
         * the same whichever leaf the row takes, its a is vh - z: one
         * path's work, without a branch the row decides.
         */
        double  *row = phi + (size_t) group * s->cols;
        double   v2[2] = { m->leaf_values[p->leaf2], v[0] };
        double   z = v2[1] * e[d - 1].z + v2[0] * p->z2;

        path_factors(s, p, d - 1, sc);
        sc->z[d - 1] = z;
        sc->a[d - 1] = v2[sc->side[e[d - 1].cond]] - z;
        path_weights(s, d, 1.0, sc);
        for (uint32_t i = 0; i < d; i++) {
            row[e[i].feature] += sc->w[i];
        }
        return;
    }
    path_factors(s, p, d, sc);
    if (group >= 0) {
        double *row = phi + (size_t) group * s->cols;

        path_weights(s, d, v[0], sc);
        for (uint32_t i = 0; i < d; i++) {
            row[e[i].feature] += sc->w[i];
        }
        return;
    }
    path_weights(s, d, 1.0, sc);
    for (uint32_t k = 0; k < m->leaf_width; k++) {
        double *row = phi + (size_t) k * s->cols;

        for (uint32_t i = 0; i < d; i++) {
            row[e[i].feature] += v[k] * sc->w[i];
        }
    }
}

/* Which way the row goes at each split of tree t, into side: numeric
 * splits without branches (NaN to the default child), categorical and
 * zero-is-missing ones by the model's node test. */
SHAP_INLINE void
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

/* Tree t's contributions of nb rows into phi (per_row values a row). */
SHAP_INLINE void
tree_rows(const forest_shap *s, uint32_t t, const float *rows, size_t nb,
    const shap_scratch *sc, double *phi)
{
    const shap_tree *st = &s->trees[t];
    const shap_path *p = s->paths + st->path_begin;
    size_t           per_row = forest_shap_row_values(s);

    for (size_t r = 0; r < nb; r++) {
        tree_sides(s, t, rows + r * (size_t) s->m->n_features, sc->side);
        for (uint32_t j = 0; j < st->n_paths; j++) {
            double *row_phi = phi + r * per_row;

            /* a copy of the path's code for each length up to 8 (every
             * path of a depth-8 tree), unrolled; the sorted paths take
             * the same copy many times in a row */
            switch (p[j].n_elems) {
            case 1: add_path_phi(s, &p[j], 1, st->group, sc, row_phi); break;
            case 2: add_path_phi(s, &p[j], 2, st->group, sc, row_phi); break;
            case 3: add_path_phi(s, &p[j], 3, st->group, sc, row_phi); break;
            case 4: add_path_phi(s, &p[j], 4, st->group, sc, row_phi); break;
            case 5: add_path_phi(s, &p[j], 5, st->group, sc, row_phi); break;
            case 6: add_path_phi(s, &p[j], 6, st->group, sc, row_phi); break;
            case 7: add_path_phi(s, &p[j], 7, st->group, sc, row_phi); break;
            case 8: add_path_phi(s, &p[j], 8, st->group, sc, row_phi); break;
            default:
                add_path_phi(s, &p[j], p[j].n_elems, st->group, sc,
                    row_phi);
            }
        }
    }
}

static void
tree_rows_generic(const forest_shap *s, uint32_t t, const float *rows,
    size_t nb, const shap_scratch *sc, double *phi)
{
    tree_rows(s, t, rows, nb, sc, phi);
}

#if defined(__x86_64__) || defined(__i386__)
/* the same code with the vectors in AVX2 registers, for the CPUs that have
 * them (chosen in forest_shap_new) */
__attribute__((target("avx2,fma"))) static void
tree_rows_avx2(const forest_shap *s, uint32_t t, const float *rows,
    size_t nb, const shap_scratch *sc, double *phi)
{
    tree_rows(s, t, rows, nb, sc, phi);
}
#endif

int
forest_shap_run(const forest_shap *s, const float *rows, size_t n,
    float *out)
{
    const forest_model *m = s->m;
    size_t              per_row = forest_shap_row_values(s);
    shap_scratch        sc;
    double             *phi;
    size_t              ng = quad_groups(s->max_d);
    /* per-element arrays, padded to whole vectors */
    size_t              lanes = s->max_d + SHAP_LANES;

    sc.side = malloc(2 * (size_t) s->max_nodes + 2);
    sc.z = calloc(3 * lanes, sizeof(double));
    sc.pre = aligned_alloc(sizeof(shap_vec),
                 ((s->max_d + 2) * ng + 1) * sizeof(shap_vec));
    phi = malloc(SHAP_BLOCK * per_row * sizeof(double));
    if (sc.side == NULL || sc.z == NULL || sc.pre == NULL || phi == NULL) {
        free(sc.side);
        free(sc.z);
        free(sc.pre);
        free(phi);
        return -1;
    }
    sc.a = sc.z + lanes;
    sc.w = sc.a + lanes;
    for (size_t r0 = 0; r0 < n; r0 += SHAP_BLOCK) {
        size_t nb = n - r0 < SHAP_BLOCK ? n - r0 : SHAP_BLOCK;

        memset(phi, 0, nb * per_row * sizeof(double));
        for (uint32_t t = 0; t < m->n_trees; t++) {
            s->tree_rows(s, t, rows + r0 * (size_t) m->n_features, nb, &sc,
                phi);
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
    free(sc.z);
    free(sc.pre);
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
