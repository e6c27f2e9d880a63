/*
 * AVX-512 block kernel: 16 rows per vector, up to four vectors walked
 * through each tree together so their gathers overlap.  Sparse trees walk
 * their dense top the same way before following child pointers.  Dense trees take
 * their top eight levels from registers (and the feature values of the
 * top five from a transposed copy of the block) (broadcast, then in-register
 * permutes) and gather nodes only below.  Compiled with the AVX-512 flags
 * (Makefile); called only when the CPU has them.
 */
#include "cpu_plan.h"

#include <immintrin.h>

#define VL   16
#define MAXV (CPU_BLOCK / VL)

#define INLINE static inline __attribute__((always_inline))

/* One decision for 16 rows with their feature values x. */
INLINE __m512i
step_x(__m512i idx, __m512i w, __m512 t, __m512 x)
{
    __mmask16 left = _mm512_cmp_ps_mask(x, t, _CMP_LT_OQ)
                   | _mm512_mask_cmp_ps_mask(_mm512_movepi32_mask(w), x, x,
                                             _CMP_UNORD_Q);

    idx = _mm512_add_epi32(_mm512_add_epi32(idx, idx), _mm512_set1_epi32(2));
    return _mm512_mask_sub_epi32(idx, left, idx, _mm512_set1_epi32(1));
}

/* The same, gathering x from the row-major block. */
INLINE __m512i
step(__m512i idx, __m512i w, __m512 t, const float *rows, __m512i rowoff)
{
    __m512i at = _mm512_add_epi32(rowoff,
                     _mm512_and_si512(w, _mm512_set1_epi32(CPU_FEAT_MASK)));

    return step_x(idx, w, t, _mm512_i32gather_ps(at, rows, 4));
}

/* x of feature f for the 16 rows of vector v, from the transposed block */
INLINE __m512
column(const float *xt, const int32_t *node, int i, int v)
{
    return _mm512_loadu_ps(xt + (size_t) (node[i] & CPU_FEAT_MASK) * CPU_BLOCK
                           + v * VL);
}

/* acc[k][16 rows] += leaf[slot * width + k] */
INLINE void
add_leaves(const cpu_plan *p, const cpu_tree *tr, __m512i slot, double *acc)
{
    const double *leaf = p->leaf + tr->leaf_off;
    uint32_t      w = tr->group >= 0 ? 1 : p->leaf_width;
    size_t        col0 = tr->group >= 0 ? (size_t) tr->group : 0;

    if (w > 1) {
        slot = _mm512_mullo_epi32(slot, _mm512_set1_epi32((int) w));
    }
    for (uint32_t k = 0; k < w; k++) {
        double *a = acc + (col0 + k) * CPU_BLOCK;
        __m512d lo, hi;

        if (p->leaf_f != NULL) {
            __m512 f = _mm512_i32gather_ps(slot, p->leaf_f + tr->leaf_off + k,
                                           4);

            lo = _mm512_cvtps_pd(_mm512_castps512_ps256(f));
            hi = _mm512_cvtps_pd(_mm256_castpd_ps(
                     _mm512_extractf64x4_pd(_mm512_castps_pd(f), 1)));
        } else {
            lo = _mm512_i32gather_pd(_mm512_castsi512_si256(slot), leaf + k, 8);
            hi = _mm512_i32gather_pd(_mm512_extracti64x4_epi64(slot, 1),
                                     leaf + k, 8);
        }
        _mm512_storeu_pd(a, _mm512_add_pd(_mm512_loadu_pd(a), lo));
        _mm512_storeu_pd(a + 8, _mm512_add_pd(_mm512_loadu_pd(a + 8), hi));
    }
}

/* table[rel] for a table of 4 or 8 registers: pairs by permutex2var,
 * then bits 5 and 6 of rel pick the pair */
INLINE __m512i
pick_i(const __m512i *tab, __m512i rel, uint32_t nreg)
{
    __mmask16 b5 = _mm512_test_epi32_mask(rel, _mm512_set1_epi32(32));
    __m512i   lo = _mm512_mask_blend_epi32(b5,
                       _mm512_permutex2var_epi32(tab[0], rel, tab[1]),
                       _mm512_permutex2var_epi32(tab[2], rel, tab[3]));
    __m512i   hi;

    if (nreg == 4) {
        return lo;
    }
    hi = _mm512_mask_blend_epi32(b5,
             _mm512_permutex2var_epi32(tab[4], rel, tab[5]),
             _mm512_permutex2var_epi32(tab[6], rel, tab[7]));
    return _mm512_mask_blend_epi32(
               _mm512_test_epi32_mask(rel, _mm512_set1_epi32(64)), lo, hi);
}

INLINE __m512
pick_f(const __m512 *tab, __m512i rel, uint32_t nreg)
{
    __mmask16 b5 = _mm512_test_epi32_mask(rel, _mm512_set1_epi32(32));
    __m512    lo = _mm512_mask_blend_ps(b5,
                       _mm512_permutex2var_ps(tab[0], rel, tab[1]),
                       _mm512_permutex2var_ps(tab[2], rel, tab[3]));
    __m512    hi;

    if (nreg == 4) {
        return lo;
    }
    hi = _mm512_mask_blend_ps(b5,
             _mm512_permutex2var_ps(tab[4], rel, tab[5]),
             _mm512_permutex2var_ps(tab[6], rel, tab[7]));
    return _mm512_mask_blend_ps(
               _mm512_test_epi32_mask(rel, _mm512_set1_epi32(64)), lo, hi);
}

/*
 * Level d <= 4 of a dense tree (at most 16 nodes) with the block
 * transposed: each lane's x is its node's column, picked from the 2^d
 * columns by the bits of its position in the level (loads and blends from
 * L1 cost less than one gather).
 */
INLINE void
top_level_xt(const int32_t *node, const float *thr, const float *xt,
    __m512i *idx, const uint32_t d, uint32_t depth, const int nv)
{
    uint32_t base = (1u << d) - 1, count = 1u << d;
    __m512i  tw, off = _mm512_set1_epi32((int) base);
    __m512   tt;

    if (d >= depth) {
        return;
    }
    tw = _mm512_loadu_si512(node + base);
    tt = _mm512_loadu_ps(thr + base);
    for (int v = 0; v < nv; v++) {
        __m512i rel = _mm512_sub_epi32(idx[v], off);
        __m512  x[16];

#pragma GCC unroll 16
        for (uint32_t i = 0; i < count; i++) {
            x[i] = column(xt, node, (int) (base + i), v);
        }
#pragma GCC unroll 4
        for (uint32_t bit = 1; bit < count; bit <<= 1) {
            __mmask16 m = _mm512_test_epi32_mask(rel,
                              _mm512_set1_epi32((int) bit));

#pragma GCC unroll 8
            for (uint32_t i = 0; i < count; i += 2 * bit) {
                x[i] = _mm512_mask_blend_ps(m, x[i], x[i + bit]);
            }
        }
        idx[v] = step_x(idx[v], _mm512_permutexvar_epi32(rel, tw),
                        _mm512_permutexvar_ps(rel, tt), x[0]);
    }
}

/* Walks `depth` levels of a complete tree from the root (idx all 0). */
INLINE void
dense_levels(const int32_t *node, const float *thr, uint32_t depth,
    const float *rows, const __m512i *rowoff, const float *xt, __m512i *idx,
    const int nv)
{
    uint32_t d;

    if (xt != NULL) {
        top_level_xt(node, thr, xt, idx, 0, depth, nv);
        top_level_xt(node, thr, xt, idx, 1, depth, nv);
        top_level_xt(node, thr, xt, idx, 2, depth, nv);
        top_level_xt(node, thr, xt, idx, 3, depth, nv);
        top_level_xt(node, thr, xt, idx, 4, depth, nv);
        d = 5;
    } else {
        if (depth > 0) {
            __m512i w = _mm512_set1_epi32(node[0]);
            __m512  t = _mm512_set1_ps(thr[0]);

            for (int v = 0; v < nv; v++) {
                idx[v] = step(idx[v], w, t, rows, rowoff[v]);
            }
        }
        /* levels 1-4: at most 16 nodes, one register each */
        for (d = 1; d < depth && d <= 4; d++) {
            uint32_t base = (1u << d) - 1;
            __m512i  tw = _mm512_loadu_si512(node + base);
            __m512   tt = _mm512_loadu_ps(thr + base);
            __m512i  off = _mm512_set1_epi32((int) base);

            for (int v = 0; v < nv; v++) {
                __m512i rel = _mm512_sub_epi32(idx[v], off);

                idx[v] = step(idx[v], _mm512_permutexvar_epi32(rel, tw),
                              _mm512_permutexvar_ps(rel, tt), rows,
                              rowoff[v]);
            }
        }
    }
    /* level 5: 32 nodes, two registers */
    if (d == 5 && d < depth) {
        __m512i tw0 = _mm512_loadu_si512(node + 31);
        __m512i tw1 = _mm512_loadu_si512(node + 47);
        __m512  tt0 = _mm512_loadu_ps(thr + 31);
        __m512  tt1 = _mm512_loadu_ps(thr + 47);
        __m512i off = _mm512_set1_epi32(31);

        for (int v = 0; v < nv; v++) {
            __m512i rel = _mm512_sub_epi32(idx[v], off);

            idx[v] = step(idx[v], _mm512_permutex2var_epi32(tw0, rel, tw1),
                          _mm512_permutex2var_ps(tt0, rel, tt1), rows,
                          rowoff[v]);
        }
        d++;
    }
    /* levels 6 and 7: 64 and 128 nodes from 4 and 8 registers */
    for (; d < depth && d <= 7; d++) {
        uint32_t base = (1u << d) - 1, nreg = (1u << d) / VL;
        __m512i  tw[8];
        __m512   tt[8];
        __m512i  off = _mm512_set1_epi32((int) base);

        for (uint32_t i = 0; i < nreg; i++) {
            tw[i] = _mm512_loadu_si512(node + base + i * VL);
            tt[i] = _mm512_loadu_ps(thr + base + i * VL);
        }
        for (int v = 0; v < nv; v++) {
            __m512i rel = _mm512_sub_epi32(idx[v], off);

            idx[v] = step(idx[v], pick_i(tw, rel, nreg), pick_f(tt, rel, nreg),
                          rows, rowoff[v]);
        }
    }
    for (; d < depth; d++) {
        for (int v = 0; v < nv; v++) {
            idx[v] = step(idx[v], _mm512_i32gather_epi32(idx[v], node, 4),
                          _mm512_i32gather_ps(idx[v], thr, 4), rows,
                          rowoff[v]);
        }
    }
}

INLINE void
dense_tree_nv(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    const __m512i *rowoff, const float *xt, double *acc, const int nv)
{
    __m512i first_leaf = _mm512_set1_epi32((int) ((1u << tr->depth) - 1));
    __m512i idx[MAXV];

    for (int v = 0; v < nv; v++) {
        idx[v] = _mm512_setzero_si512();
    }
    dense_levels(p->node + tr->node_off, p->thr + tr->node_off, tr->depth,
        rows, rowoff, xt, idx, nv);
    for (int v = 0; v < nv; v++) {
        add_leaves(p, tr, _mm512_sub_epi32(idx[v], first_leaf), acc + v * VL);
    }
}

INLINE void
sparse_tree_nv(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    const __m512i *rowoff, const float *xt, double *acc, const int nv)
{
    const int32_t *node = p->node + tr->sparse_off;
    const float   *thr = p->thr + tr->sparse_off;
    const int32_t *right = p->right + tr->sparse_off;
    __m512i        idx[MAXV], w[MAXV];
    __m512i        one = _mm512_set1_epi32(1);
    uint32_t       d = 0;

    for (int v = 0; v < nv; v++) {
        idx[v] = _mm512_setzero_si512();
    }
    if (tr->top > 0) {
        /* the dense top, then each bottom slot's sparse node */
        __m512i first_slot = _mm512_set1_epi32((int) ((1u << tr->top) - 1));

        dense_levels(p->node + tr->node_off, p->thr + tr->node_off, tr->top,
            rows, rowoff, xt, idx, nv);
        for (int v = 0; v < nv; v++) {
            idx[v] = _mm512_i32gather_epi32(_mm512_sub_epi32(idx[v], first_slot),
                                            p->right + tr->node_off, 4);
        }
        d = tr->top;
    }
    for (; d < tr->depth; d++) {
        __mmask16 inner = 0;

        for (int v = 0; v < nv; v++) {
            w[v] = _mm512_i32gather_epi32(idx[v], node, 4);
            inner |= _mm512_testn_epi32_mask(w[v],
                                             _mm512_set1_epi32((int) CPU_LEAF));
        }
        if (inner == 0) {
            break;
        }
        for (int v = 0; v < nv; v++) {
            __m512i   at = _mm512_add_epi32(rowoff[v], _mm512_and_si512(w[v],
                               _mm512_set1_epi32(CPU_FEAT_MASK)));
            __m512    x = _mm512_i32gather_ps(at, rows, 4);
            __m512    t = _mm512_i32gather_ps(idx[v], thr, 4);
            __m512i   r = _mm512_i32gather_epi32(idx[v], right, 4);
            __mmask16 left = _mm512_cmp_ps_mask(x, t, _CMP_LT_OQ)
                           | _mm512_mask_cmp_ps_mask(_mm512_movepi32_mask(w[v]),
                                                     x, x, _CMP_UNORD_Q);

            idx[v] = _mm512_mask_add_epi32(r, left, idx[v], one);
        }
    }
    for (int v = 0; v < nv; v++) {
        add_leaves(p, tr, idx[v], acc + v * VL);
    }
}

/* one copy per vector count, so every lane loop is unrolled */
#define BY_NV(fn, nv, ...) do {                                             \
    switch (nv) {                                                           \
    case 1: fn(__VA_ARGS__, 1); break;                                      \
    case 2: fn(__VA_ARGS__, 2); break;                                      \
    case 3: fn(__VA_ARGS__, 3); break;                                      \
    default: fn(__VA_ARGS__, 4); break;                                     \
    }                                                                       \
} while (0)

/* widest block transposed for the top levels (32 KiB on the stack) */
#define XT_MAX_FEATURES 128

void
cpu_block_avx512(const cpu_plan *p, const float *rows, size_t n, double *acc)
{
    __m512i      rowoff[MAXV];
    int          nv = (int) ((n + VL - 1) / VL);
    float        xt_buf[XT_MAX_FEATURES * CPU_BLOCK];
    const float *xt = NULL;

    if (p->n_features <= XT_MAX_FEATURES) {
        /* spare lanes repeat row 0, like their gathers below */
        for (size_t r = 0; r < (size_t) nv * VL; r++) {
            const float *row = rows + (r < n ? r : 0) * p->n_features;

            for (uint32_t f = 0; f < p->n_features; f++) {
                xt_buf[f * CPU_BLOCK + r] = row[f];
            }
        }
        xt = xt_buf;
    }

    for (int v = 0; v < nv; v++) {
        __m512i   r = _mm512_add_epi32(_mm512_set1_epi32(v * VL),
                          _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                            11, 12, 13, 14, 15));
        /* lanes past the last row read row 0; their sums are dropped */
        __mmask16 real = _mm512_cmplt_epi32_mask(r,
                             _mm512_set1_epi32((int) n));

        rowoff[v] = _mm512_maskz_mullo_epi32(real, r,
                        _mm512_set1_epi32((int) p->n_features));
    }
    for (uint32_t t = 0; t < p->n_trees; t++) {
        const cpu_tree *tr = &p->trees[t];

        switch (tr->kind) {
        case CPU_TREE_DENSE:
            BY_NV(dense_tree_nv, nv, p, tr, rows, rowoff, xt, acc);
            break;
        case CPU_TREE_SPARSE:
            BY_NV(sparse_tree_nv, nv, p, tr, rows, rowoff, xt, acc);
            break;
        default:
            cpu_tree_generic(p, tr, rows, n, acc);
            break;
        }
    }
}
