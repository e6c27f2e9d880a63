/*
 * AVX-512 block kernel: 16 rows per vector, up to four vectors walked
 * through each tree together so their gathers overlap.  Sparse trees walk
 * their dense top the same way, then follow child pointers with lane
 * compaction (below).  Dense trees take
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

/* The lanes whose feature value x goes left at their node (w = node word,
 * t = threshold): NaN fails the comparison and goes where the sign bit
 * says. */
INLINE __mmask16
goes_left(__m512i w, __m512 t, __m512 x)
{
    return _mm512_cmp_ps_mask(x, t, _CMP_LT_OQ)
           | _mm512_mask_cmp_ps_mask(_mm512_movepi32_mask(w), x, x,
                                     _CMP_UNORD_Q);
}

/* A sparse step's distance: 1 going left, else the near right child's
 * distance, else 0 (the right child is far: right[] names it). */
INLINE __m512i
sparse_by(__m512i w, __mmask16 left)
{
    return _mm512_mask_blend_epi32(left, _mm512_and_si512(
               _mm512_srli_epi32(w, CPU_NEAR_SHIFT),
               _mm512_set1_epi32(CPU_NEAR_MASK)), _mm512_set1_epi32(1));
}

/* One decision for 16 rows with their feature values x. */
INLINE __m512i
step_x(__m512i idx, __m512i w, __m512 t, __m512 x)
{
    __mmask16 left = goes_left(w, t, x);

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
    uint32_t      w = cpu_tree_width(p, tr);
    size_t        col0 = cpu_tree_col0(tr);

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

/* table[rel] for a table of 4 or 8 registers (t4..t7 unused for 4):
 * pairs by permutex2var, then bits 5 and 6 of rel pick the pair.  The
 * registers are passed one by one: arrays of them end up copied. */
INLINE __m512i
pick_i(__m512i t0, __m512i t1, __m512i t2, __m512i t3, __m512i t4,
    __m512i t5, __m512i t6, __m512i t7, __m512i rel, uint32_t nreg)
{
    __mmask16 b5 = _mm512_test_epi32_mask(rel, _mm512_set1_epi32(32));
    __m512i   lo = _mm512_mask_blend_epi32(b5,
                       _mm512_permutex2var_epi32(t0, rel, t1),
                       _mm512_permutex2var_epi32(t2, rel, t3));
    __m512i   hi;

    if (nreg == 4) {
        return lo;
    }
    hi = _mm512_mask_blend_epi32(b5, _mm512_permutex2var_epi32(t4, rel, t5),
                                 _mm512_permutex2var_epi32(t6, rel, t7));
    return _mm512_mask_blend_epi32(
               _mm512_test_epi32_mask(rel, _mm512_set1_epi32(64)), lo, hi);
}

INLINE __m512
pick_f(__m512 t0, __m512 t1, __m512 t2, __m512 t3, __m512 t4, __m512 t5,
    __m512 t6, __m512 t7, __m512i rel, uint32_t nreg)
{
    __mmask16 b5 = _mm512_test_epi32_mask(rel, _mm512_set1_epi32(32));
    __m512    lo = _mm512_mask_blend_ps(b5,
                       _mm512_permutex2var_ps(t0, rel, t1),
                       _mm512_permutex2var_ps(t2, rel, t3));
    __m512    hi;

    if (nreg == 4) {
        return lo;
    }
    hi = _mm512_mask_blend_ps(b5, _mm512_permutex2var_ps(t4, rel, t5),
                              _mm512_permutex2var_ps(t6, rel, t7));
    return _mm512_mask_blend_ps(
               _mm512_test_epi32_mask(rel, _mm512_set1_epi32(64)), lo, hi);
}

/*
 * The walk below handles nt trees of one depth at once, each over nv
 * vectors of rows: idx[k * nv + v] is tree k's position for vector v.
 * Small blocks (one or two vectors) take several trees together so that
 * there are always about four independent chains of gathers in flight.
 */

/*
 * Level d <= 4 (at most 16 nodes) with the block transposed: each lane's x
 * is its node's column, picked from the 2^d columns by the bits of its
 * position in the level (loads and blends from L1 cost less than a gather).
 */
INLINE void
top_level_xt(const int32_t *const *node, const float *const *thr,
    const float *xt, __m512i *idx, const uint32_t d, uint32_t depth,
    const int nv, const int nt)
{
    uint32_t base = (1u << d) - 1, count = 1u << d;
    __m512i  off = _mm512_set1_epi32((int) base);

    if (d >= depth) {
        return;
    }
    for (int k = 0; k < nt; k++) {
        __m512i tw = _mm512_loadu_si512(node[k] + base);
        __m512  tt = _mm512_loadu_ps(thr[k] + base);

        for (int v = 0; v < nv; v++) {
            __m512i rel = _mm512_sub_epi32(idx[k * nv + v], off);
            __m512  x[16];

#pragma GCC unroll 16
            for (uint32_t i = 0; i < count; i++) {
                x[i] = column(xt, node[k], (int) (base + i), v);
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
            idx[k * nv + v] = step_x(idx[k * nv + v],
                                  _mm512_permutexvar_epi32(rel, tw),
                                  _mm512_permutexvar_ps(rel, tt), x[0]);
        }
    }
}

/* Level d of a dense tree from nreg (1, 2, 4 or 8) registers of nodes. */
INLINE void
table_level(const int32_t *const *node, const float *const *thr,
    const float *rows, const __m512i *rowoff, __m512i *idx, uint32_t d,
    const uint32_t nreg, const int nv, const int nt)
{
    uint32_t base = (1u << d) - 1;
    __m512i  off = _mm512_set1_epi32((int) base);

    for (int k = 0; k < nt; k++) {
        const int32_t *n = node[k] + base;
        const float   *h = thr[k] + base;
        __m512i        w0, w1, w2, w3, w4, w5, w6, w7;
        __m512         f0, f1, f2, f3, f4, f5, f6, f7;

        w0 = w1 = w2 = w3 = w4 = w5 = w6 = w7 = _mm512_setzero_si512();
        f0 = f1 = f2 = f3 = f4 = f5 = f6 = f7 = _mm512_setzero_ps();
        w0 = _mm512_loadu_si512(n);
        f0 = _mm512_loadu_ps(h);
        if (nreg >= 2) {
            w1 = _mm512_loadu_si512(n + VL);
            f1 = _mm512_loadu_ps(h + VL);
        }
        if (nreg >= 4) {
            w2 = _mm512_loadu_si512(n + 2 * VL);
            f2 = _mm512_loadu_ps(h + 2 * VL);
            w3 = _mm512_loadu_si512(n + 3 * VL);
            f3 = _mm512_loadu_ps(h + 3 * VL);
        }
        if (nreg >= 8) {
            w4 = _mm512_loadu_si512(n + 4 * VL);
            f4 = _mm512_loadu_ps(h + 4 * VL);
            w5 = _mm512_loadu_si512(n + 5 * VL);
            f5 = _mm512_loadu_ps(h + 5 * VL);
            w6 = _mm512_loadu_si512(n + 6 * VL);
            f6 = _mm512_loadu_ps(h + 6 * VL);
            w7 = _mm512_loadu_si512(n + 7 * VL);
            f7 = _mm512_loadu_ps(h + 7 * VL);
        }
        for (int v = 0; v < nv; v++) {
            __m512i rel = _mm512_sub_epi32(idx[k * nv + v], off);
            __m512i w;
            __m512  t;

            if (nreg == 1) {
                w = _mm512_permutexvar_epi32(rel, w0);
                t = _mm512_permutexvar_ps(rel, f0);
            } else if (nreg == 2) {
                w = _mm512_permutex2var_epi32(w0, rel, w1);
                t = _mm512_permutex2var_ps(f0, rel, f1);
            } else {
                w = pick_i(w0, w1, w2, w3, w4, w5, w6, w7, rel, nreg);
                t = pick_f(f0, f1, f2, f3, f4, f5, f6, f7, rel, nreg);
            }
            idx[k * nv + v] = step(idx[k * nv + v], w, t, rows, rowoff[v]);
        }
    }
}

/* Walks `depth` levels of nt complete trees from their roots (idx 0). */
INLINE void
dense_levels(const int32_t *const *node, const float *const *thr,
    uint32_t depth, const float *rows, const __m512i *rowoff,
    const float *xt, __m512i *idx, const int nv, const int nt)
{
    uint32_t d = 0;

    if (xt != NULL) {
        top_level_xt(node, thr, xt, idx, 0, depth, nv, nt);
        top_level_xt(node, thr, xt, idx, 1, depth, nv, nt);
        top_level_xt(node, thr, xt, idx, 2, depth, nv, nt);
        top_level_xt(node, thr, xt, idx, 3, depth, nv, nt);
        top_level_xt(node, thr, xt, idx, 4, depth, nv, nt);
        d = 5;
    }
    /* levels up to 4 (no transposed block): one register each */
    for (; d < depth && d <= 4; d++) {
        table_level(node, thr, rows, rowoff, idx, d, 1, nv, nt);
    }
    if (d == 5 && d < depth) {
        table_level(node, thr, rows, rowoff, idx, 5, 2, nv, nt);
        d++;
    }
    if (d == 6 && d < depth) {
        table_level(node, thr, rows, rowoff, idx, 6, 4, nv, nt);
        d++;
    }
    if (d == 7 && d < depth) {
        table_level(node, thr, rows, rowoff, idx, 7, 8, nv, nt);
        d++;
    }
    for (; d < depth; d++) {
        for (int k = 0; k < nt; k++) {
            for (int v = 0; v < nv; v++) {
                __m512i i = idx[k * nv + v];

                idx[k * nv + v] = step(i, _mm512_i32gather_epi32(i, node[k], 4),
                                       _mm512_i32gather_ps(i, thr[k], 4), rows,
                                       rowoff[v]);
            }
        }
    }
}

/* Trees tr[0..nt) (dense, one depth), added in tree order. */
INLINE void
dense_trees(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    const __m512i *rowoff, const float *xt, double *acc, const int nv,
    const int nt)
{
    __m512i        first_leaf = _mm512_set1_epi32((int) ((1u << tr->depth) - 1));
    __m512i        idx[MAXV];
    const int32_t *node[MAXV];
    const float   *thr[MAXV];

    cpu_tree_tables(p, tr, nt, node, thr);
    for (int u = 0; u < nt * nv; u++) {
        idx[u] = _mm512_setzero_si512();
    }
    dense_levels(node, thr, tr->depth, rows, rowoff, xt, idx, nv, nt);
    for (int k = 0; k < nt; k++) {
        for (int v = 0; v < nv; v++) {
            add_leaves(p, &tr[k], _mm512_sub_epi32(idx[k * nv + v], first_leaf),
                       acc + v * VL);
        }
    }
}

/*
 * Blocks of at most 8 rows: two dense trees of one depth share a vector,
 * lanes 0-7 the rows in the pair's first tree, lanes 8-15 the same rows in
 * its second (a vector of one tree would idle half its lanes).  Levels
 * below PAIR_REG come from registers holding both trees' nodes (a lane's
 * table index has the bit above its level's width set for the second
 * tree), deeper levels from gathers with the second tree's node offset in
 * the upper lanes; x from the transposed block for levels of up to PAIR_XT
 * nodes, else gathered.  PAIR_NP pairs are walked together: the walk is
 * bound by the latency of its chains, not by gathers (Sapphire Rapids,
 * batch 8: one pair 0.80 of the time of one tree a vector, 4 pairs 0.70,
 * 6 or 8 the same; level 7 from 2 x 8 registers cost more than its
 * gathers, x of levels 2-3 from the transposed block saved nothing).
 */
#define HALF     8
#define HIGH     ((__mmask16) 0xff00)
#define PAIR_REG 7
#define PAIR_XT  2
#define PAIR_NP  4

/* A level of up to 8 nodes of trees a (lanes 0-7) and b in one register. */
INLINE __m512i
pair_half_i(const int32_t *a, const int32_t *b, uint32_t count)
{
    __mmask8 m = (__mmask8) ((1u << count) - 1);

    return _mm512_inserti64x4(_mm512_castsi256_si512(
               _mm256_maskz_loadu_epi32(m, a)), _mm256_maskz_loadu_epi32(m, b),
               1);
}

INLINE __m512
pair_half_f(const float *a, const float *b, uint32_t count)
{
    __mmask8 m = (__mmask8) ((1u << count) - 1);

    return _mm512_insertf32x8(_mm512_castps256_ps512(
               _mm256_maskz_loadu_ps(m, a)), _mm256_maskz_loadu_ps(m, b), 1);
}

/* x of rows 0-7 at node i of tree a (lanes 0-7) and of tree b (8-15),
 * from the transposed block */
INLINE __m512
pair_column(const float *xt, const int32_t *a, const int32_t *b, uint32_t i)
{
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(
               xt + (size_t) (a[i] & CPU_FEAT_MASK) * CPU_BLOCK)),
               _mm256_loadu_ps(xt + (size_t) (b[i] & CPU_FEAT_MASK)
                               * CPU_BLOCK), 1);
}

/* x of each lane's node at a level of count <= PAIR_XT nodes: the
 * columns picked by the bits of the lane's position in the level */
INLINE __m512
pair_x(const float *xt, const int32_t *a, const int32_t *b, __m512i rel,
    uint32_t count)
{
    __m512 x[PAIR_XT];

#pragma GCC unroll 16
    for (uint32_t i = 0; i < count; i++) {
        x[i] = pair_column(xt, a, b, i);
    }
#pragma GCC unroll 4
    for (uint32_t bit = 1; bit < count; bit <<= 1) {
        __mmask16 m = _mm512_test_epi32_mask(rel, _mm512_set1_epi32((int) bit));

#pragma GCC unroll 8
        for (uint32_t i = 0; i < count; i += 2 * bit) {
            x[i] = _mm512_mask_blend_ps(m, x[i], x[i + bit]);
        }
    }
    return x[0];
}

/* Level d of the np pairs from registers (d < PAIR_REG). */
INLINE void
pair_table_level(const int32_t *const *node, const float *const *thr,
    const float *rows, __m512i rowoff, const float *xt, __m512i *idx,
    uint32_t d, const int np)
{
    uint32_t base = (1u << d) - 1, count = 1u << d;
    __m512i  off = _mm512_set1_epi32((int) base);
    /* the second tree's table index: bit d (bit 3 below level 3) */
    __m512i  hi = _mm512_maskz_mov_epi32(HIGH,
                      _mm512_set1_epi32((int) (count < HALF ? HALF : count)));

    for (int j = 0; j < np; j++) {
        const int32_t *na = node[2 * j] + base, *nb = node[2 * j + 1] + base;
        const float   *ha = thr[2 * j] + base, *hb = thr[2 * j + 1] + base;
        __m512i        rel = _mm512_or_si512(_mm512_sub_epi32(idx[j], off), hi);
        __m512i        w;
        __m512         t;

        if (count <= HALF) {
            w = _mm512_permutexvar_epi32(rel, pair_half_i(na, nb, count));
            t = _mm512_permutexvar_ps(rel, pair_half_f(ha, hb, count));
        } else if (count == 16) {
            w = _mm512_permutex2var_epi32(_mm512_loadu_si512(na), rel,
                                          _mm512_loadu_si512(nb));
            t = _mm512_permutex2var_ps(_mm512_loadu_ps(ha), rel,
                                       _mm512_loadu_ps(hb));
        } else if (count == 32) {
            w = pick_i(_mm512_loadu_si512(na), _mm512_loadu_si512(na + VL),
                       _mm512_loadu_si512(nb), _mm512_loadu_si512(nb + VL),
                       _mm512_setzero_si512(), _mm512_setzero_si512(),
                       _mm512_setzero_si512(), _mm512_setzero_si512(), rel, 4);
            t = pick_f(_mm512_loadu_ps(ha), _mm512_loadu_ps(ha + VL),
                       _mm512_loadu_ps(hb), _mm512_loadu_ps(hb + VL),
                       _mm512_setzero_ps(), _mm512_setzero_ps(),
                       _mm512_setzero_ps(), _mm512_setzero_ps(), rel, 4);
        } else {
            w = pick_i(_mm512_loadu_si512(na), _mm512_loadu_si512(na + VL),
                       _mm512_loadu_si512(na + 2 * VL),
                       _mm512_loadu_si512(na + 3 * VL),
                       _mm512_loadu_si512(nb), _mm512_loadu_si512(nb + VL),
                       _mm512_loadu_si512(nb + 2 * VL),
                       _mm512_loadu_si512(nb + 3 * VL), rel, 8);
            t = pick_f(_mm512_loadu_ps(ha), _mm512_loadu_ps(ha + VL),
                       _mm512_loadu_ps(ha + 2 * VL),
                       _mm512_loadu_ps(ha + 3 * VL),
                       _mm512_loadu_ps(hb), _mm512_loadu_ps(hb + VL),
                       _mm512_loadu_ps(hb + 2 * VL),
                       _mm512_loadu_ps(hb + 3 * VL),
                       rel, 8);
        }
        if (xt != NULL && count <= PAIR_XT) {
            idx[j] = step_x(idx[j], w, t, pair_x(xt, na, nb, rel, count));
        } else {
            idx[j] = step(idx[j], w, t, rows, rowoff);
        }
    }
}

/* Trees tr[0..2 np) (dense, one depth, one leaf width), added in tree
 * order: per row the first tree's leaf, then the second's. */
INLINE void
pair_trees(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    __m512i rowoff, const float *xt, double *acc, const int np)
{
    uint32_t       depth = tr->depth, d = 0;
    uint32_t       w = cpu_tree_width(p, tr);
    __m512i        first_leaf = _mm512_set1_epi32((int) ((1u << depth) - 1));
    __m512i        idx[PAIR_NP], noff[PAIR_NP], loff[PAIR_NP];
    const int32_t *node[2 * PAIR_NP];
    const float   *thr[2 * PAIR_NP];

    cpu_tree_tables(p, tr, 2 * np, node, thr);
    for (int j = 0; j < np; j++) {
        idx[j] = _mm512_setzero_si512();
        noff[j] = _mm512_maskz_mov_epi32(HIGH, _mm512_set1_epi32((int)
                      (tr[2 * j + 1].node_off - tr[2 * j].node_off)));
        loff[j] = _mm512_maskz_mov_epi32(HIGH, _mm512_set1_epi32((int)
                      (tr[2 * j + 1].leaf_off - tr[2 * j].leaf_off)));
    }
    for (; d < depth && d < PAIR_REG; d++) {
        pair_table_level(node, thr, rows, rowoff, xt, idx, d, np);
    }
    for (; d < depth; d++) {
        for (int j = 0; j < np; j++) {
            __m512i at = _mm512_add_epi32(idx[j], noff[j]);

            idx[j] = step(idx[j], _mm512_i32gather_epi32(at, node[2 * j], 4),
                          _mm512_i32gather_ps(at, thr[2 * j], 4), rows,
                          rowoff);
        }
    }
    for (int j = 0; j < np; j++) {
        const cpu_tree *a = &tr[2 * j], *b = &tr[2 * j + 1];
        __m512i         slot = _mm512_sub_epi32(idx[j], first_leaf);

        if (w > 1) {
            slot = _mm512_mullo_epi32(slot, _mm512_set1_epi32((int) w));
        }
        slot = _mm512_add_epi32(slot, loff[j]);
        for (uint32_t k = 0; k < w; k++) {
            double *sa = acc + (cpu_tree_col0(a) + k) * CPU_BLOCK;
            double *sb = acc + (cpu_tree_col0(b) + k) * CPU_BLOCK;
            __m512d lo, hi;

            if (p->leaf_f != NULL) {
                __m512 f = _mm512_i32gather_ps(slot,
                               p->leaf_f + a->leaf_off + k, 4);

                lo = _mm512_cvtps_pd(_mm512_castps512_ps256(f));
                hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(f, 1));
            } else {
                lo = _mm512_i32gather_pd(_mm512_castsi512_si256(slot),
                                         p->leaf + a->leaf_off + k, 8);
                hi = _mm512_i32gather_pd(_mm512_extracti64x4_epi64(slot, 1),
                                         p->leaf + a->leaf_off + k, 8);
            }
            _mm512_storeu_pd(sa, _mm512_add_pd(_mm512_loadu_pd(sa), lo));
            _mm512_storeu_pd(sb, _mm512_add_pd(_mm512_loadu_pd(sb), hi));
        }
    }
}

/* n trees from tr on can be walked in pairs: dense, one depth, one leaf
 * width, their node and leaf offsets apart by less than 2^31. */
INLINE int
pairs_fit(const cpu_plan *p, const cpu_tree *tr, uint32_t n)
{
    for (uint32_t k = 1; k < n; k++) {
        if (cpu_tree_width(p, &tr[k]) != cpu_tree_width(p, tr)) {
            return 0;
        }
    }
    return cpu_same_dense(tr, n) && tr->kind == CPU_TREE_DENSE
           && p->n_nodes <= INT32_MAX && p->n_leaf <= INT32_MAX;
}

/*
 * Sparse trees: the dense top as above, then the tails with lane
 * compaction (cpu_plan.h) by vpcompressd, as the AVX2 kernel does with a
 * permutation table; leaves are added afterwards in tree order.
 */

/* The lanes of m, compressed, stored from dst on. */
INLINE void
store_lanes(int32_t *dst, __mmask16 m, __m512i v)
{
    _mm512_storeu_si512(dst, _mm512_maskz_compress_epi32(m, v));
}

INLINE void
tail_push(cpu_tail_lanes *b, __mmask16 m, __m512i at, __m512i roff, __m512i tag,
    __m512i w)
{
    store_lanes(b->at + b->n, m, at);
    store_lanes(b->roff + b->n, m, roff);
    store_lanes(b->tag + b->n, m, tag);
    store_lanes(b->word + b->n, m, w);
    b->n += __builtin_popcount(m);
}

INLINE void
tail_retire(cpu_tail_done *b, __mmask16 m, __m512i at, __m512i tag)
{
    store_lanes(b->at + b->n, m, at);
    store_lanes(b->tag + b->n, m, tag);
    b->n += __builtin_popcount(m);
}

INLINE __mmask16
inner_lanes(__m512i w)
{
    return _mm512_testn_epi32_mask(w, _mm512_set1_epi32((int) CPU_LEAF));
}

/* One level for the lanes `valid` of the tail walk. */
INLINE void
tail_step(const int32_t *node, const float *thr, const int32_t *right,
    const int32_t *base, const float *rows, __mmask16 valid, __m512i at,
    __m512i roff, __m512i tag, __m512i w, cpu_tail_lanes *live, cpu_tail_done *done)
{
    __m512    x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid,
                      _mm512_add_epi32(roff, _mm512_and_si512(w,
                          _mm512_set1_epi32(CPU_FEAT_MASK))), rows, 4);
    __m512    t = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, at,
                      thr, 4);
    __m512i   by = sparse_by(w, goes_left(w, t, x));
    __mmask16 far = _mm512_mask_cmpeq_epi32_mask(valid, by,
                                                 _mm512_setzero_si512());
    __mmask16 in;

    at = _mm512_add_epi32(at, by);
    if (far != 0) {
        /* right[] is tree-relative: add the lane's tree's base */
        at = _mm512_mask_add_epi32(at, far,
                 _mm512_mask_i32gather_epi32(at, far, at, right, 4),
                 _mm512_mask_i32gather_epi32(at, far,
                     _mm512_srli_epi32(tag, CPU_TAG_SHIFT), base, 4));
    }
    w = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, at, node,
                                    4);
    in = inner_lanes(w) & valid;
    tail_push(live, in, at, roff, tag, w);
    tail_retire(done, valid & ~in, at, tag);
}

/* The dense tops of nt sparse trees of one top depth: idx[k * nv + v]
 * becomes the sparse node (tree-relative) tree k continues at for vector
 * v. */
INLINE void
sparse_tops(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    const __m512i *rowoff, const float *xt, __m512i *idx, const int nv,
    const int nt)
{
    const int32_t *node[MAXV];
    const float   *thr[MAXV];
    __m512i        first_slot = _mm512_set1_epi32((int) ((1u << tr->top) - 1));

    for (int u = 0; u < nt * nv; u++) {
        idx[u] = _mm512_setzero_si512();
    }
    if (tr->top == 0) {
        return;
    }
    cpu_tree_tables(p, tr, nt, node, thr);
    dense_levels(node, thr, tr->top, rows, rowoff, xt, idx, nv, nt);
    for (int k = 0; k < nt; k++) {
        for (int v = 0; v < nv; v++) {
            idx[k * nv + v] = _mm512_i32gather_epi32(
                                  _mm512_sub_epi32(idx[k * nv + v],
                                                   first_slot),
                                  p->right + tr[k].node_off, 4);
        }
    }
}

/* nt sparse trees (nt <= CPU_SPARSE_CHUNK) over nv vectors of rows. */
INLINE void
sparse_trees(const cpu_plan *p, const cpu_tree *tr, uint32_t nt,
    const float *rows, const __m512i *rowoff, const float *xt, double *acc,
    const int nv)
{
    const int32_t *node = p->node + tr->sparse_off;
    const float   *thr = p->thr + tr->sparse_off;
    const int32_t *right = p->right + tr->sparse_off;
    int32_t        fin[CPU_SPARSE_CHUNK * CPU_BLOCK], base[CPU_SPARSE_CHUNK];
    cpu_tail_lanes     live;
    cpu_tail_done      done;
    __m512i        lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                              11, 12, 13, 14, 15);
    __m512i        idx[MAXV];

    live.n = done.n = 0;
    for (uint32_t k = 0; k < nt;) {
        /* one or two vectors: tops of equal depth walked together, for
         * more gathers in flight */
        uint32_t g = nv <= 2 ? 4 / (uint32_t) nv : 1;

        if (k + g > nt || !cpu_same_tops(tr + k, g)) {
            g = 1;
        }
        if (g == 4) {
            sparse_tops(p, tr + k, rows, rowoff, xt, idx, nv, 4);
        } else if (g == 2) {
            sparse_tops(p, tr + k, rows, rowoff, xt, idx, nv, 2);
        } else {
            sparse_tops(p, tr + k, rows, rowoff, xt, idx, nv, 1);
        }
        for (uint32_t u = 0; u < g; u++, k++) {
            base[k] = (int32_t) (tr[k].sparse_off - tr->sparse_off);
            for (int v = 0; v < nv; v++) {
                __m512i i = idx[u * (uint32_t) nv + (uint32_t) v];
                __m512i at = _mm512_add_epi32(i, _mm512_set1_epi32(base[k]));
                __m512i w = _mm512_i32gather_epi32(at, node, 4);

                _mm512_storeu_si512(fin + k * CPU_BLOCK + v * VL, i);
                tail_push(&live, inner_lanes(w), at, rowoff[v],
                    _mm512_add_epi32(lane, _mm512_set1_epi32(
                        (int) (k << CPU_TAG_SHIFT) + v * VL)), w);
            }
        }
    }
    while (live.n > 0) {
        int n_in = live.n;

        live.n = 0;
        for (int j = 0; j < n_in; j += VL) {
            __mmask16 valid = n_in - j >= VL ? (__mmask16) 0xffff
                              : (__mmask16) ((1u << (n_in - j)) - 1);

            tail_step(node, thr, right, base, rows, valid,
                _mm512_maskz_loadu_epi32(valid, live.at + j),
                _mm512_maskz_loadu_epi32(valid, live.roff + j),
                _mm512_maskz_loadu_epi32(valid, live.tag + j),
                _mm512_maskz_loadu_epi32(valid, live.word + j),
                &live, &done);
        }
    }
    cpu_tail_leaves(&done, base, fin);
    for (uint32_t k = 0; k < nt; k++) {
        for (int v = 0; v < nv; v++) {
            add_leaves(p, &tr[k], _mm512_loadu_si512(fin + k * CPU_BLOCK
                                                     + v * VL), acc + v * VL);
        }
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

/* Out of line, so that the dense walk's registers in the block function
 * stay as they are without the sparse one beside it. */
static __attribute__((noinline)) void
sparse_chunk(const cpu_plan *p, const cpu_tree *tr, uint32_t nt,
    const float *rows, const __m512i *rowoff, const float *xt, double *acc,
    int nv)
{
    BY_NV(sparse_trees, nv, p, tr, nt, rows, rowoff, xt, acc);
}

INLINE void
dense_tree_nv(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    const __m512i *rowoff, const float *xt, double *acc, const int nv)
{
    dense_trees(p, tr, rows, rowoff, xt, acc, nv, 1);
}

/*
 * Few rows: one tree per lane, nt * 16 trees of one kind walked together
 * for one row after another (the trees' top lines stay in L1 for the next
 * row).  Dense trees of one depth walk their blocked copy (cpu_plan.h),
 * path being each tree's node number in its level; sparse trees walk
 * their sparse nodes from the root, a lane resting once it reaches a leaf,
 * until all do.  A row of at most 32 or 64 features is held in 2 or 4
 * registers and each lane's x permuted out of them, a gather less a level.
 * Leaves are added in tree order (cpu_row_leaves).
 */
typedef struct {
    __m512 r0, r1, r2, r3;
} row_regs;

/* masked: no load past the row's last feature */
INLINE __m512
row_part(const float *row, uint32_t nf, uint32_t from)
{
    uint32_t  have = nf > from ? nf - from : 0;
    __mmask16 m = (__mmask16) (have >= VL ? 0xffff : (1u << have) - 1);

    return _mm512_maskz_loadu_ps(m, row + from);
}

INLINE row_regs
row_load(const float *row, uint32_t nf, const int xregs)
{
    row_regs x;

    x.r0 = x.r1 = x.r2 = x.r3 = _mm512_setzero_ps();
    if (xregs >= 2) {
        x.r0 = row_part(row, nf, 0);
        x.r1 = row_part(row, nf, VL);
    }
    if (xregs == 4) {
        x.r2 = row_part(row, nf, 2 * VL);
        x.r3 = row_part(row, nf, 3 * VL);
    }
    return x;
}

/* x of each lane's node word w, from the row's registers or gathered */
INLINE __m512
row_x(const float *row, const row_regs *x, __m512i w, const int xregs)
{
    if (xregs == 0) {
        return _mm512_i32gather_ps(
                   _mm512_and_si512(w, _mm512_set1_epi32(CPU_FEAT_MASK)),
                   row, 4);
    }
    if (xregs == 2) {
        return _mm512_permutex2var_ps(x->r0, w, x->r1);
    }
    return _mm512_mask_blend_ps(
               _mm512_test_epi32_mask(w, _mm512_set1_epi32(VL * 2)),
               _mm512_permutex2var_ps(x->r0, w, x->r1),
               _mm512_permutex2var_ps(x->r2, w, x->r3));
}

INLINE void
blk_trees_rows(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    size_t n, double *acc, const int nt, const int xregs)
{
    const cpu_blk_step *steps = p->blk_step[tr->depth];
    __m512i             boff[MAXV], path[MAXV];
    __m512i             even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14,
                                   16, 18, 20, 22, 24, 26, 28, 30);
    __m512i             odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    int32_t             off[MAXV * VL];
    uint32_t            slot[MAXV * VL];
    size_t              leaf_at[MAXV * VL];
    int                 one_column = cpu_same_column(tr,
                                         (uint32_t) (nt * VL));

    for (int j = 0; j < nt * VL; j++) {
        off[j] = (int32_t) tr[j].blk_off;
        leaf_at[j] = tr[j].leaf_off;
    }
    for (int v = 0; v < nt; v++) {
        boff[v] = _mm512_loadu_si512(off + v * VL);
    }
    for (size_t r = 0; r < n; r++) {
        const float *row = rows + r * p->n_features;
        row_regs     x = row_load(row, p->n_features, xregs);

        for (int v = 0; v < nt; v++) {
            path[v] = _mm512_setzero_si512();
        }
        for (uint32_t d = 0; d < tr->depth; d++) {
            __m512i base = _mm512_set1_epi32((int) steps[d].base);
            __m512i low = _mm512_set1_epi32((int) ((1u << steps[d].k) - 1));
            __m128i k = _mm_cvtsi32_si128(steps[d].k);
            __m128i sh = _mm_cvtsi32_si128(steps[d].sh);

            for (int v = 0; v < nt; v++) {
                __m512i at = _mm512_add_epi32(
                                 _mm512_add_epi32(boff[v], base),
                                 _mm512_add_epi32(
                                     _mm512_sll_epi32(
                                         _mm512_srl_epi32(path[v], k), sh),
                                     _mm512_and_si512(path[v], low)));
                __m512i g0 = _mm512_i32gather_epi64(
                                 _mm512_castsi512_si256(at), p->blk, 8);
                __m512i g1 = _mm512_i32gather_epi64(
                                 _mm512_extracti64x4_epi64(at, 1), p->blk, 8);
                __m512i w = _mm512_permutex2var_epi32(g0, even, g1);
                __m512  t = _mm512_castsi512_ps(
                                _mm512_permutex2var_epi32(g0, odd, g1));

                /* step_x's heap index 2i+2-left, less one: the path
                 * 2i+1-left */
                path[v] = _mm512_sub_epi32(
                              step_x(path[v], w, t, row_x(row, &x, w, xregs)),
                              _mm512_set1_epi32(1));
            }
        }
        for (int v = 0; v < nt; v++) {
            _mm512_storeu_si512(slot + v * VL, path[v]);
        }
        cpu_row_leaves(p, tr, (uint32_t) (nt * VL), r, slot, leaf_at,
            one_column, acc);
    }
}

/* One step of the lanes `live` of a sparse walk at node `at` (absolute,
 * word w) of trees whose sparse roots are at `root`. */
INLINE void
sparse_row_step(const cpu_plan *p, const float *row, const row_regs *x,
    __m512i root, __mmask16 live, __m512i *at, __m512i *w, const int xregs)
{
    __m512    t = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, *at,
                      p->thr, 4);
    __m512    xv = row_x(row, x, *w, xregs);
    __m512i   by = sparse_by(*w, goes_left(*w, t, xv));
    __mmask16 far = _mm512_mask_cmpeq_epi32_mask(live, by,
                                                 _mm512_setzero_si512());

    *at = _mm512_mask_add_epi32(*at, live, *at, by);
    if (far != 0) {
        /* right[] is tree-relative */
        *at = _mm512_mask_add_epi32(*at, far, root,
                  _mm512_mask_i32gather_epi32(*at, far, *at, p->right, 4));
    }
    *w = _mm512_mask_i32gather_epi32(*w, live, *at, p->node, 4);
}

INLINE void
sparse_trees_rows(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    size_t n, double *acc, const int nt, const int xregs)
{
    __m512i  root[MAXV], at[MAXV], w[MAXV];
    int32_t  off[MAXV * VL];
    uint32_t slot[MAXV * VL];
    size_t   leaf_at[MAXV * VL];
    int      one_column = cpu_same_column(tr, (uint32_t) (nt * VL));

    for (int j = 0; j < nt * VL; j++) {
        off[j] = (int32_t) tr[j].sparse_off;
        leaf_at[j] = tr[j].leaf_off;
    }
    for (int v = 0; v < nt; v++) {
        root[v] = _mm512_loadu_si512(off + v * VL);
    }
    for (size_t r = 0; r < n; r++) {
        const float *row = rows + r * p->n_features;
        row_regs     x = row_load(row, p->n_features, xregs);
        __mmask16    live[MAXV];
        int          any = 0;

        for (int v = 0; v < nt; v++) {
            at[v] = root[v];
            w[v] = _mm512_i32gather_epi32(at[v], p->node, 4);
            live[v] = inner_lanes(w[v]);
            any |= live[v];
        }
        while (any) {
            any = 0;
            for (int v = 0; v < nt; v++) {
                sparse_row_step(p, row, &x, root[v], live[v], &at[v], &w[v],
                                xregs);
                live[v] &= inner_lanes(w[v]);
                any |= live[v];
            }
        }
        for (int v = 0; v < nt; v++) {
            _mm512_storeu_si512(slot + v * VL,
                                _mm512_sub_epi32(at[v], root[v]));
        }
        cpu_row_leaves(p, tr, (uint32_t) (nt * VL), r, slot, leaf_at,
            one_column, acc);
    }
}

/* by the registers a row takes (0: gathered) */
#define BY_XREGS(fn, p, ...) do {                                           \
        if ((p)->n_features <= 2 * VL) {                                    \
            fn(p, __VA_ARGS__, 2);                                          \
        } else if ((p)->n_features <= 4 * VL) {                             \
            fn(p, __VA_ARGS__, 4);                                          \
        } else {                                                            \
            fn(p, __VA_ARGS__, 0);                                          \
        }                                                                   \
    } while (0)

INLINE void
few_rows_kind(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    size_t n, double *acc, const int nt)
{
    if (tr->kind == CPU_TREE_DENSE) {
        BY_XREGS(blk_trees_rows, p, tr, rows, n, acc, nt);
    } else {
        BY_XREGS(sparse_trees_rows, p, tr, rows, n, acc, nt);
    }
}

CPU_ROWS_GROUP_FN(few_rows_group, few_rows_kind, MAXV)

void
forest_cpu_rows_by_tree_avx512(const cpu_plan *p, const float *rows,
    size_t n, double *acc)
{
    cpu_rows_by_tree_groups(p, rows, n, acc, VL, MAXV, few_rows_group);
}

/* widest block transposed for the top levels (32 KiB on the stack) */
#define XT_MAX_FEATURES 128

void
forest_cpu_block_avx512(const cpu_plan *p, const float *rows, size_t n,
    double *acc)
{
    __m512i      rowoff[MAXV], pairoff;
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
    /* pairs of trees (n <= HALF): the upper lanes take the same rows */
    pairoff = _mm512_shuffle_i64x2(rowoff[0], rowoff[0], 0x44);
    for (uint32_t t = 0; t < p->n_trees; t++) {
        const cpu_tree *tr = &p->trees[t];

        switch (tr->kind) {
        case CPU_TREE_DENSE:
            if (n <= HALF && t + 2 * PAIR_NP <= p->n_trees
                && pairs_fit(p, tr, 2 * PAIR_NP))
            {
                pair_trees(p, tr, rows, pairoff, xt, acc, PAIR_NP);
                t += 2 * PAIR_NP - 1;
                break;
            }
            if (n <= HALF && t + 2 <= p->n_trees && pairs_fit(p, tr, 2)) {
                pair_trees(p, tr, rows, pairoff, xt, acc, 1);
                t += 1;
                break;
            }
            if (nv <= 2 && t + 4 / nv <= p->n_trees
                && cpu_same_dense(tr, 4 / nv))
            {
                if (nv == 1) {
                    dense_trees(p, tr, rows, rowoff, xt, acc, 1, 4);
                } else {
                    dense_trees(p, tr, rows, rowoff, xt, acc, 2, 2);
                }
                t += 4 / nv - 1;
                break;
            }
            BY_NV(dense_tree_nv, nv, p, tr, rows, rowoff, xt, acc);
            break;
        case CPU_TREE_SPARSE: {
            uint32_t nt = cpu_sparse_chunk(p, t);

            sparse_chunk(p, tr, nt, rows, rowoff, xt, acc, nv);
            t += nt - 1;
            break;
        }
        default:
            forest_cpu_tree_generic(p, tr, rows, n, acc);
            break;
        }
    }
}
