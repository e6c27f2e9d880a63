/*
 * AVX2 block kernel: 8 rows per vector, up to eight vectors walked through
 * each tree together (and, for one or two vectors, several trees).  Dense
 * trees take levels 0-4 from registers (broadcast, then in-register
 * permutes) and gather below.  Compiled with
 * the AVX2 flags (Makefile); called only when the CPU has them.
 */
#include "cpu_plan.h"

#include <immintrin.h>

#define VL   8
#define MAXV (CPU_BLOCK / VL)

#define INLINE static inline __attribute__((always_inline))

/* One decision for 8 rows: w = node words, t = thresholds. */
INLINE __m256i
step(__m256i idx, __m256i w, __m256 t, const float *rows, __m256i rowoff)
{
    __m256i at = _mm256_add_epi32(rowoff,
                     _mm256_and_si256(w, _mm256_set1_epi32(CPU_FEAT_MASK)));
    __m256  x = _mm256_i32gather_ps(rows, at, 4);
    __m256  lt = _mm256_cmp_ps(x, t, _CMP_LT_OQ);
    __m256  nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    __m256  dl = _mm256_castsi256_ps(_mm256_srai_epi32(w, 31));
    /* all ones where the row goes left: 2i+2 - 1 */
    __m256i left = _mm256_castps_si256(_mm256_or_ps(lt, _mm256_and_ps(nan, dl)));

    idx = _mm256_add_epi32(_mm256_add_epi32(idx, idx), _mm256_set1_epi32(2));
    return _mm256_add_epi32(idx, left);
}

/* Entry rel (0..15) of a 16-entry table held in two registers: bit 3 of
 * rel, shifted into the sign bit, picks the register. */
INLINE __m256
pick16(__m256 t0, __m256 t1, __m256i rel)
{
    return _mm256_blendv_ps(_mm256_permutevar8x32_ps(t0, rel),
                            _mm256_permutevar8x32_ps(t1, rel),
                            _mm256_castsi256_ps(_mm256_slli_epi32(rel, 28)));
}

/* acc[k][8 rows] += leaf[slot * width + k] */
INLINE void
add_leaves(const cpu_plan *p, const cpu_tree *tr, __m256i slot, double *acc)
{
    const double *leaf = p->leaf + tr->leaf_off;
    uint32_t      w = cpu_tree_width(p, tr);
    size_t        col0 = cpu_tree_col0(tr);

    if (w > 1) {
        slot = _mm256_mullo_epi32(slot, _mm256_set1_epi32((int) w));
    }
    for (uint32_t k = 0; k < w; k++) {
        double *a = acc + (col0 + k) * CPU_BLOCK;
        __m256d lo = _mm256_i32gather_pd(leaf + k,
                                         _mm256_castsi256_si128(slot), 8);
        __m256d hi = _mm256_i32gather_pd(leaf + k,
                                         _mm256_extracti128_si256(slot, 1), 8);

        _mm256_storeu_pd(a, _mm256_add_pd(_mm256_loadu_pd(a), lo));
        _mm256_storeu_pd(a + 4, _mm256_add_pd(_mm256_loadu_pd(a + 4), hi));
    }
}

/*
 * nt dense trees of one depth, each over nv vectors of rows:
 * idx[k * nv + v] is tree k's position for vector v.  Small blocks (one or
 * two vectors) take several trees together so that about four independent
 * chains of gathers are in flight; leaves are added in tree order.
 */
INLINE void
dense_trees(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    const __m256i *rowoff, double *acc, const int nv, const int nt)
{
    uint32_t       depth = tr->depth, d;
    __m256i        idx[MAXV];
    const int32_t *node[MAXV];
    const float   *thr[MAXV];

    cpu_tree_tables(p, tr, nt, node, thr);
    for (int u = 0; u < nt * nv; u++) {
        idx[u] = _mm256_setzero_si256();
    }
    for (int k = 0; depth > 0 && k < nt; k++) {
        __m256i w = _mm256_set1_epi32(node[k][0]);
        __m256  t = _mm256_set1_ps(thr[k][0]);

        for (int v = 0; v < nv; v++) {
            idx[k * nv + v] = step(idx[k * nv + v], w, t, rows, rowoff[v]);
        }
    }
    /* levels 1-3: at most 8 nodes, one register each */
    for (d = 1; d < depth && d <= 3; d++) {
        uint32_t base = (1u << d) - 1;
        __m256i  off = _mm256_set1_epi32((int) base);

        for (int k = 0; k < nt; k++) {
            __m256i tw = _mm256_loadu_si256((const __m256i *) (node[k] + base));
            __m256  tt = _mm256_loadu_ps(thr[k] + base);

            for (int v = 0; v < nv; v++) {
                __m256i i = idx[k * nv + v];
                __m256i rel = _mm256_sub_epi32(i, off);

                idx[k * nv + v] = step(i, _mm256_permutevar8x32_epi32(tw, rel),
                                       _mm256_permutevar8x32_ps(tt, rel),
                                       rows, rowoff[v]);
            }
        }
    }
    /* level 4: 16 nodes, two registers (fewer gathers) */
    if (d == 4 && d < depth) {
        __m256i off = _mm256_set1_epi32(15);

        for (int k = 0; k < nt; k++) {
            /* the words go through float registers: only moved, never
             * computed on */
            __m256 tw0 = _mm256_loadu_ps((const float *) (node[k] + 15));
            __m256 tw1 = _mm256_loadu_ps((const float *) (node[k] + 23));
            __m256 tt0 = _mm256_loadu_ps(thr[k] + 15);
            __m256 tt1 = _mm256_loadu_ps(thr[k] + 23);

            for (int v = 0; v < nv; v++) {
                __m256i i = idx[k * nv + v];
                __m256i rel = _mm256_sub_epi32(i, off);

                idx[k * nv + v] = step(i,
                    _mm256_castps_si256(pick16(tw0, tw1, rel)),
                    pick16(tt0, tt1, rel), rows, rowoff[v]);
            }
        }
        d++;
    }
    for (; d < depth; d++) {
        for (int k = 0; k < nt; k++) {
            for (int v = 0; v < nv; v++) {
                __m256i i = idx[k * nv + v];

                idx[k * nv + v] = step(i, _mm256_i32gather_epi32(node[k], i, 4),
                                       _mm256_i32gather_ps(thr[k], i, 4), rows,
                                       rowoff[v]);
            }
        }
    }
    for (int k = 0; k < nt; k++) {
        for (int v = 0; v < nv; v++) {
            add_leaves(p, &tr[k], _mm256_sub_epi32(idx[k * nv + v],
                           _mm256_set1_epi32((int) ((1u << depth) - 1))),
                       acc + v * VL);
        }
    }
}

INLINE void
dense_tree_nv(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    const __m256i *rowoff, double *acc, const int nv)
{
    dense_trees(p, tr, rows, rowoff, acc, nv, 1);
}

INLINE void
sparse_tree_nv(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    const __m256i *rowoff, double *acc, const int nv)
{
    const int32_t *node = p->node + tr->sparse_off;
    const float   *thr = p->thr + tr->sparse_off;
    const int32_t *right = p->right + tr->sparse_off;
    __m256i        idx[MAXV], w[MAXV];
    __m256i        leafbit = _mm256_set1_epi32((int) CPU_LEAF);

    for (int v = 0; v < nv; v++) {
        idx[v] = _mm256_setzero_si256();
    }
    for (uint32_t d = 0; d < tr->depth; d++) {
        __m256i leaves = leafbit;

        for (int v = 0; v < nv; v++) {
            w[v] = _mm256_i32gather_epi32(node, idx[v], 4);
            leaves = _mm256_and_si256(leaves, w[v]);
        }
        if (_mm256_movemask_ps(_mm256_castsi256_ps(
                _mm256_cmpeq_epi32(leaves, leafbit))) == 0xff)
        {
            break;
        }
        for (int v = 0; v < nv; v++) {
            __m256i at = _mm256_add_epi32(rowoff[v], _mm256_and_si256(w[v],
                             _mm256_set1_epi32(CPU_FEAT_MASK)));
            __m256  x = _mm256_i32gather_ps(rows, at, 4);
            __m256  t = _mm256_i32gather_ps(thr, idx[v], 4);
            __m256i r = _mm256_i32gather_epi32(right, idx[v], 4);
            __m256  lt = _mm256_cmp_ps(x, t, _CMP_LT_OQ);
            __m256  nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
            __m256  dl = _mm256_castsi256_ps(_mm256_srai_epi32(w[v], 31));
            __m256  left = _mm256_or_ps(lt, _mm256_and_ps(nan, dl));

            idx[v] = _mm256_castps_si256(_mm256_blendv_ps(
                         _mm256_castsi256_ps(r),
                         _mm256_castsi256_ps(_mm256_add_epi32(idx[v],
                             _mm256_set1_epi32(1))),
                         left));
        }
    }
    for (int v = 0; v < nv; v++) {
        add_leaves(p, tr, idx[v], acc + v * VL);
    }
}

#define BY_NV(fn, nv, ...) do {                                             \
    switch (nv) {                                                           \
    case 1: fn(__VA_ARGS__, 1); break;                                      \
    case 2: fn(__VA_ARGS__, 2); break;                                      \
    case 3: fn(__VA_ARGS__, 3); break;                                      \
    case 4: fn(__VA_ARGS__, 4); break;                                      \
    case 5: fn(__VA_ARGS__, 5); break;                                      \
    case 6: fn(__VA_ARGS__, 6); break;                                      \
    case 7: fn(__VA_ARGS__, 7); break;                                      \
    default: fn(__VA_ARGS__, 8); break;                                     \
    }                                                                       \
} while (0)

void
forest_cpu_block_avx2(const cpu_plan *p, const float *rows, size_t n,
    double *acc)
{
    __m256i rowoff[MAXV];
    int     nv = (int) ((n + VL - 1) / VL);

    for (int v = 0; v < nv; v++) {
        __m256i r = _mm256_add_epi32(_mm256_set1_epi32(v * VL),
                        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        /* lanes past the last row read row 0; their sums are dropped */
        __m256i real = _mm256_cmpgt_epi32(_mm256_set1_epi32((int) n), r);

        rowoff[v] = _mm256_and_si256(real, _mm256_mullo_epi32(r,
                        _mm256_set1_epi32((int) p->n_features)));
    }
    for (uint32_t t = 0; t < p->n_trees; t++) {
        const cpu_tree *tr = &p->trees[t];

        switch (tr->kind) {
        case CPU_TREE_DENSE:
            if (nv <= 2 && t + 4 / nv <= p->n_trees
                && cpu_same_dense(tr, 4 / nv))
            {
                if (nv == 1) {
                    dense_trees(p, tr, rows, rowoff, acc, 1, 4);
                } else {
                    dense_trees(p, tr, rows, rowoff, acc, 2, 2);
                }
                t += 4 / nv - 1;
                break;
            }
            BY_NV(dense_tree_nv, nv, p, tr, rows, rowoff, acc);
            break;
        case CPU_TREE_SPARSE:
            BY_NV(sparse_tree_nv, nv, p, tr, rows, rowoff, acc);
            break;
        default:
            forest_cpu_tree_generic(p, tr, rows, n, acc);
            break;
        }
    }
}
