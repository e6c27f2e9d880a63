/*
 * AVX2 block kernel: 8 rows per vector, up to eight vectors walked through
 * each tree together (and, for few vectors, several trees).  Dense trees
 * and the dense tops of sparse ones take levels 0-4 from registers
 * (broadcast, then in-register permutes), the root's feature values from a
 * transposed copy of the block, and gather below.  Sparse trees then walk
 * on with lane compaction (below).  Batches of a few rows walk one tree
 * per lane instead (forest_cpu_rows_by_tree_avx2, at the end).  Compiled
 * with the AVX2 flags (Makefile); called only when the CPU has them.
 */
#include "cpu_plan.h"

#include <immintrin.h>

#define VL   8
#define MAXV (CPU_BLOCK / VL)

#define INLINE static inline __attribute__((always_inline))

/* widest block transposed for the roots (32 KiB on the stack) */
#define XT_MAX_FEATURES 128

/* All ones in the lanes whose feature value x goes left at their node (w =
 * node word, t = threshold). */
INLINE __m256i
goes_left(__m256i w, __m256 t, __m256 x)
{
    __m256 lt = _mm256_cmp_ps(x, t, _CMP_LT_OQ);
    __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    __m256 dl = _mm256_castsi256_ps(_mm256_srai_epi32(w, 31));

    return _mm256_castps_si256(_mm256_or_ps(lt, _mm256_and_ps(nan, dl)));
}

/* One decision for 8 rows with their feature values x: w = node words,
 * t = thresholds. */
INLINE __m256i
step_x(__m256i idx, __m256i w, __m256 t, __m256 x)
{
    /* going left: 2i+2 - 1 */
    idx = _mm256_add_epi32(_mm256_add_epi32(idx, idx), _mm256_set1_epi32(2));
    return _mm256_add_epi32(idx, goes_left(w, t, x));
}

/* The same, gathering x from the row-major block. */
INLINE __m256i
step(__m256i idx, __m256i w, __m256 t, const float *rows, __m256i rowoff)
{
    __m256i at = _mm256_add_epi32(rowoff,
                     _mm256_and_si256(w, _mm256_set1_epi32(CPU_FEAT_MASK)));

    return step_x(idx, w, t, _mm256_i32gather_ps(rows, at, 4));
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
        __m256d lo, hi;

        /* one gather of 8 floats rather than two of 4 doubles */
        if (p->leaf_f != NULL) {
            __m256 f = _mm256_i32gather_ps(p->leaf_f + tr->leaf_off + k, slot,
                                           4);

            lo = _mm256_cvtps_pd(_mm256_castps256_ps128(f));
            hi = _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1));
        } else {
            lo = _mm256_i32gather_pd(leaf + k, _mm256_castsi256_si128(slot), 8);
            hi = _mm256_i32gather_pd(leaf + k,
                                     _mm256_extracti128_si256(slot, 1), 8);
        }

        _mm256_storeu_pd(a, _mm256_add_pd(_mm256_loadu_pd(a), lo));
        _mm256_storeu_pd(a + 4, _mm256_add_pd(_mm256_loadu_pd(a + 4), hi));
    }
}

/*
 * Walks `depth` levels of nt complete trees from their roots (idx 0), each
 * over nv vectors of rows: idx[k * nv + v] is tree k's position for vector
 * v.
 */
INLINE void
dense_levels(const int32_t *const *node, const float *const *thr,
    uint32_t depth, const float *rows, const __m256i *rowoff, const float *xt,
    __m256i *idx, const int nv, const int nt)
{
    uint32_t d;

    for (int u = 0; u < nt * nv; u++) {
        idx[u] = _mm256_setzero_si256();
    }
    /* the root: its feature's column of the transposed block, when there
     * is one, takes a load instead of a gather */
    for (int k = 0; depth > 0 && k < nt; k++) {
        __m256i w = _mm256_set1_epi32(node[k][0]);
        __m256  t = _mm256_set1_ps(thr[k][0]);

        for (int v = 0; v < nv; v++) {
            idx[k * nv + v] = xt != NULL
                ? step_x(idx[k * nv + v], w, t, _mm256_loadu_ps(xt
                      + (size_t) (node[k][0] & CPU_FEAT_MASK) * CPU_BLOCK
                      + v * VL))
                : step(idx[k * nv + v], w, t, rows, rowoff[v]);
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
}

/*
 * nt dense trees of one depth, each over nv vectors of rows.  Small blocks
 * (one or two vectors) take several trees together so that about four
 * independent chains of gathers are in flight; leaves are added in tree
 * order.
 */
INLINE void
dense_trees(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    const __m256i *rowoff, const float *xt, double *acc, const int nv,
    const int nt)
{
    uint32_t       depth = tr->depth;
    __m256i        idx[MAXV];
    const int32_t *node[MAXV];
    const float   *thr[MAXV];

    cpu_tree_tables(p, tr, nt, node, thr);
    dense_levels(node, thr, depth, rows, rowoff, xt, idx, nv, nt);
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
    const __m256i *rowoff, const float *xt, double *acc, const int nv)
{
    dense_trees(p, tr, rows, rowoff, xt, acc, nv, 1);
}

/*
 * Sparse trees walk their dense tops like dense trees, then their deeper
 * paths ("tails") with child pointers.  Tails differ widely in length
 * (LightGBM's leaf-wise trees: most rows end within the top, a few go 10-15
 * levels further), and a vector would run until its deepest lane ends, so
 * the tails are walked with lane compaction (cpu_plan.h), the lanes packed
 * by a permutation from a table.  The leaves are added afterwards in tree
 * order, so the sums are the same.
 */

/* For each 8-bit mask, the lanes of its set bits in order, one per nibble
 * (lane i of the permutation in bits 4i..4i+3). */
static const uint32_t compact_lanes[256] = {
    0x00000000, 0x00000000, 0x00000001, 0x00000010, 0x00000002, 0x00000020,
    0x00000021, 0x00000210, 0x00000003, 0x00000030, 0x00000031, 0x00000310,
    0x00000032, 0x00000320, 0x00000321, 0x00003210, 0x00000004, 0x00000040,
    0x00000041, 0x00000410, 0x00000042, 0x00000420, 0x00000421, 0x00004210,
    0x00000043, 0x00000430, 0x00000431, 0x00004310, 0x00000432, 0x00004320,
    0x00004321, 0x00043210, 0x00000005, 0x00000050, 0x00000051, 0x00000510,
    0x00000052, 0x00000520, 0x00000521, 0x00005210, 0x00000053, 0x00000530,
    0x00000531, 0x00005310, 0x00000532, 0x00005320, 0x00005321, 0x00053210,
    0x00000054, 0x00000540, 0x00000541, 0x00005410, 0x00000542, 0x00005420,
    0x00005421, 0x00054210, 0x00000543, 0x00005430, 0x00005431, 0x00054310,
    0x00005432, 0x00054320, 0x00054321, 0x00543210, 0x00000006, 0x00000060,
    0x00000061, 0x00000610, 0x00000062, 0x00000620, 0x00000621, 0x00006210,
    0x00000063, 0x00000630, 0x00000631, 0x00006310, 0x00000632, 0x00006320,
    0x00006321, 0x00063210, 0x00000064, 0x00000640, 0x00000641, 0x00006410,
    0x00000642, 0x00006420, 0x00006421, 0x00064210, 0x00000643, 0x00006430,
    0x00006431, 0x00064310, 0x00006432, 0x00064320, 0x00064321, 0x00643210,
    0x00000065, 0x00000650, 0x00000651, 0x00006510, 0x00000652, 0x00006520,
    0x00006521, 0x00065210, 0x00000653, 0x00006530, 0x00006531, 0x00065310,
    0x00006532, 0x00065320, 0x00065321, 0x00653210, 0x00000654, 0x00006540,
    0x00006541, 0x00065410, 0x00006542, 0x00065420, 0x00065421, 0x00654210,
    0x00006543, 0x00065430, 0x00065431, 0x00654310, 0x00065432, 0x00654320,
    0x00654321, 0x06543210, 0x00000007, 0x00000070, 0x00000071, 0x00000710,
    0x00000072, 0x00000720, 0x00000721, 0x00007210, 0x00000073, 0x00000730,
    0x00000731, 0x00007310, 0x00000732, 0x00007320, 0x00007321, 0x00073210,
    0x00000074, 0x00000740, 0x00000741, 0x00007410, 0x00000742, 0x00007420,
    0x00007421, 0x00074210, 0x00000743, 0x00007430, 0x00007431, 0x00074310,
    0x00007432, 0x00074320, 0x00074321, 0x00743210, 0x00000075, 0x00000750,
    0x00000751, 0x00007510, 0x00000752, 0x00007520, 0x00007521, 0x00075210,
    0x00000753, 0x00007530, 0x00007531, 0x00075310, 0x00007532, 0x00075320,
    0x00075321, 0x00753210, 0x00000754, 0x00007540, 0x00007541, 0x00075410,
    0x00007542, 0x00075420, 0x00075421, 0x00754210, 0x00007543, 0x00075430,
    0x00075431, 0x00754310, 0x00075432, 0x00754320, 0x00754321, 0x07543210,
    0x00000076, 0x00000760, 0x00000761, 0x00007610, 0x00000762, 0x00007620,
    0x00007621, 0x00076210, 0x00000763, 0x00007630, 0x00007631, 0x00076310,
    0x00007632, 0x00076320, 0x00076321, 0x00763210, 0x00000764, 0x00007640,
    0x00007641, 0x00076410, 0x00007642, 0x00076420, 0x00076421, 0x00764210,
    0x00007643, 0x00076430, 0x00076431, 0x00764310, 0x00076432, 0x00764320,
    0x00764321, 0x07643210, 0x00000765, 0x00007650, 0x00007651, 0x00076510,
    0x00007652, 0x00076520, 0x00076521, 0x00765210, 0x00007653, 0x00076530,
    0x00076531, 0x00765310, 0x00076532, 0x00765320, 0x00765321, 0x07653210,
    0x00007654, 0x00076540, 0x00076541, 0x00765410, 0x00076542, 0x00765420,
    0x00765421, 0x07654210, 0x00076543, 0x00765430, 0x00765431, 0x07654310,
    0x00765432, 0x07654320, 0x07654321, 0x76543210,
};

/* The permutation that moves the lanes of m (8-bit mask) to the front. */
INLINE __m256i
lanes_first(uint32_t m)
{
    return _mm256_and_si256(_mm256_srlv_epi32(
               _mm256_set1_epi32((int) compact_lanes[m]),
               _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)),
               _mm256_set1_epi32(7));
}

/* The lanes perm picks, stored from dst on. */
INLINE void
store_lanes(int32_t *dst, __m256i v, __m256i perm)
{
    _mm256_storeu_si256((__m256i *) dst, _mm256_permutevar8x32_epi32(v, perm));
}

/* Appends the lanes of m in order. */
INLINE void
tail_push(cpu_tail_lanes *b, uint32_t m, __m256i at, __m256i roff, __m256i tag,
    __m256i w)
{
    __m256i perm = lanes_first(m);

    store_lanes(b->at + b->n, at, perm);
    store_lanes(b->roff + b->n, roff, perm);
    store_lanes(b->tag + b->n, tag, perm);
    store_lanes(b->word + b->n, w, perm);
    b->n += __builtin_popcount(m);
}

/* The same for lanes at their leaf. */
INLINE void
tail_retire(cpu_tail_done *b, uint32_t m, __m256i at, __m256i tag)
{
    __m256i perm = lanes_first(m);

    store_lanes(b->at + b->n, at, perm);
    store_lanes(b->tag + b->n, tag, perm);
    b->n += __builtin_popcount(m);
}

/* Lanes of w not on a leaf. */
INLINE uint32_t
inner_lanes(__m256i w)
{
    __m256i leafbit = _mm256_set1_epi32((int) CPU_LEAF);

    return (uint32_t) _mm256_movemask_ps(_mm256_castsi256_ps(
               _mm256_cmpeq_epi32(_mm256_and_si256(w, leafbit),
                                  _mm256_setzero_si256())));
}

/* One level for 8 lanes (where `valid`) of the tail walk, each appended to
 * live or, at its leaf, to done.  base: per tree of the chunk, its sparse
 * root (from the first's). */
INLINE void
tail_step(const int32_t *node, const float *thr, const int32_t *right,
    const int32_t *base, const float *rows, __m256i valid, __m256i at,
    __m256i roff, __m256i tag, __m256i w, cpu_tail_lanes *live, cpu_tail_done *done)
{
    __m256   x = _mm256_i32gather_ps(rows, _mm256_add_epi32(roff,
                     _mm256_and_si256(w, _mm256_set1_epi32(CPU_FEAT_MASK))),
                     4);
    __m256   t = _mm256_i32gather_ps(thr, at, 4);
    __m256   left = _mm256_castsi256_ps(goes_left(w, t, x));
    /* 1 going left, else the near right child's distance, else 0 */
    __m256i  by = _mm256_castps_si256(_mm256_blendv_ps(
                      _mm256_castsi256_ps(_mm256_and_si256(
                          _mm256_srli_epi32(w, CPU_NEAR_SHIFT),
                          _mm256_set1_epi32(CPU_NEAR_MASK))),
                      _mm256_castsi256_ps(_mm256_set1_epi32(1)), left));
    __m256i  far = _mm256_cmpeq_epi32(by, _mm256_setzero_si256());
    uint32_t m = (uint32_t) _mm256_movemask_ps(_mm256_castsi256_ps(valid));
    uint32_t in;

    if (_mm256_movemask_ps(_mm256_castsi256_ps(far)) & m) {
        /* right[] is tree-relative: add the lane's tree's base */
        __m256i r = _mm256_add_epi32(_mm256_i32gather_epi32(right, at, 4),
                        _mm256_i32gather_epi32(base,
                            _mm256_srli_epi32(tag, CPU_TAG_SHIFT), 4));

        at = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(
                 _mm256_add_epi32(at, by)), _mm256_castsi256_ps(r),
                 _mm256_castsi256_ps(far)));
    } else {
        at = _mm256_add_epi32(at, by);
    }
    w = _mm256_i32gather_epi32(node, at, 4);
    in = inner_lanes(w) & m;
    tail_push(live, in, at, roff, tag, w);
    tail_retire(done, m & ~in, at, tag);
}

/* The dense tops of nt sparse trees of one top depth: idx[k * nv + v]
 * becomes the sparse node (tree-relative) tree k continues at for vector
 * v. */
INLINE void
sparse_tops(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    const __m256i *rowoff, const float *xt, __m256i *idx, const int nv,
    const int nt)
{
    const int32_t *node[MAXV];
    const float   *thr[MAXV];
    __m256i        first_slot = _mm256_set1_epi32((int) ((1u << tr->top) - 1));

    if (tr->top == 0) {
        for (int u = 0; u < nt * nv; u++) {
            idx[u] = _mm256_setzero_si256();
        }
        return;
    }
    cpu_tree_tables(p, tr, nt, node, thr);
    dense_levels(node, thr, tr->top, rows, rowoff, xt, idx, nv, nt);
    for (int k = 0; k < nt; k++) {
        for (int v = 0; v < nv; v++) {
            idx[k * nv + v] = _mm256_i32gather_epi32(p->right + tr[k].node_off,
                                  _mm256_sub_epi32(idx[k * nv + v],
                                                   first_slot), 4);
        }
    }
}

/* nt sparse trees (nt <= CPU_SPARSE_CHUNK) over nv vectors of rows.  fin:
 * per tree and row, its leaf (tree-relative node). */
INLINE void
sparse_trees(const cpu_plan *p, const cpu_tree *tr, uint32_t nt,
    const float *rows, const __m256i *rowoff, const float *xt, double *acc,
    const int nv)
{
    const int32_t *node = p->node + tr->sparse_off;
    const float   *thr = p->thr + tr->sparse_off;
    const int32_t *right = p->right + tr->sparse_off;
    int32_t        fin[CPU_SPARSE_CHUNK * CPU_BLOCK], base[CPU_SPARSE_CHUNK];
    cpu_tail_lanes     live;
    cpu_tail_done      done;
    __m256i        lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i        idx[MAXV];

    live.n = done.n = 0;
    for (uint32_t k = 0; k < nt;) {
        /* up to four vectors: tops of equal depth walked together, for
         * more gathers in flight */
        uint32_t g = nv <= 2 ? 4 / (uint32_t) nv : nv <= 4 ? 2 : 1;

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
                __m256i i = idx[u * (uint32_t) nv + (uint32_t) v];
                __m256i at = _mm256_add_epi32(i, _mm256_set1_epi32(base[k]));
                __m256i w = _mm256_i32gather_epi32(node, at, 4);

                _mm256_storeu_si256((__m256i *) (fin + k * CPU_BLOCK
                                                 + v * VL), i);
                tail_push(&live, inner_lanes(w), at, rowoff[v],
                    _mm256_add_epi32(lane, _mm256_set1_epi32(
                        (int) (k << CPU_TAG_SHIFT) + v * VL)), w);
            }
        }
    }
    while (live.n > 0) {
        int n_in = live.n;

        live.n = 0;
        for (int j = 0; j < n_in; j += VL) {
            /* lanes past n_in hold stale entries: zeroed, they read the
             * first tree's sparse root and row 0, and are dropped */
            __m256i valid = _mm256_cmpgt_epi32(_mm256_set1_epi32(n_in - j),
                                               lane);

            tail_step(node, thr, right, base, rows, valid,
                _mm256_and_si256(valid,
                    _mm256_loadu_si256((__m256i *) (live.at + j))),
                _mm256_and_si256(valid,
                    _mm256_loadu_si256((__m256i *) (live.roff + j))),
                _mm256_and_si256(valid,
                    _mm256_loadu_si256((__m256i *) (live.tag + j))),
                _mm256_and_si256(valid,
                    _mm256_loadu_si256((__m256i *) (live.word + j))),
                &live, &done);
        }
    }
    cpu_tail_leaves(&done, base, fin);
    for (uint32_t k = 0; k < nt; k++) {
        for (int v = 0; v < nv; v++) {
            add_leaves(p, &tr[k], _mm256_loadu_si256((const __m256i *) (fin
                           + k * CPU_BLOCK + v * VL)), acc + v * VL);
        }
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
    __m256i      rowoff[MAXV];
    int          nv = (int) ((n + VL - 1) / VL);
    float        xt_buf[XT_MAX_FEATURES * CPU_BLOCK];
    const float *xt = NULL;

    /* the transposed block repays its copying over a few trees per
     * feature */
    if (p->n_features <= XT_MAX_FEATURES
        && p->n_features <= 4 * p->n_trees)
    {
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

            BY_NV(sparse_trees, nv, p, tr, nt, rows, rowoff, xt, acc);
            t += nt - 1;
            break;
        }
        default:
            forest_cpu_tree_generic(p, tr, rows, n, acc);
            break;
        }
    }
}

/*
 * Few rows: one tree per lane, nv * 8 trees of one kind walked together
 * for one row after another (the trees' top nodes stay in L1 for the next
 * row), nv vectors at once so their gathers overlap.  Dense trees of one
 * depth walk their blocked copy (cpu_plan.h), each lane's node word and
 * threshold one 8-byte gather element, the roots loaded once for all rows.
 * Sparse trees walk their sparse nodes from the root until every lane is
 * on a leaf (a leaf's right child is itself, so lanes resting there need
 * no mask), taking right[] every step: cheaper than branching on whether
 * any lane's right child is far.  A row of at most 8 features is held in
 * a register and each lane's x permuted out of it; in the sparse walk, a
 * row of up to 32 in four, picked by feature bits 3 and 4 (each level waits
 * on the last, and the permutes wait less than a gather).  The dense walk
 * gathers x above 8 features: its lanes are many and independent, and the
 * four-register pick takes more instructions than the gather.  Leaves are
 * added in tree order (cpu_row_leaves).
 */
#define ROW_VECS  8
#define ROW_TREES (ROW_VECS * VL)

typedef struct {
    __m256 r[4];
} row_regs;

/* features from..from+7 of the row, zero past its last */
INLINE __m256
row_part(const float *row, uint32_t nf, uint32_t from)
{
    int have = nf > from ? (int) (nf - from) : 0;

    if (have == 0) {
        return _mm256_setzero_ps();
    }
    return _mm256_maskload_ps(row + from, _mm256_cmpgt_epi32(
               _mm256_set1_epi32(have), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6,
                                                          7)));
}

INLINE row_regs
row_load(const float *row, uint32_t nf, const int xregs)
{
    row_regs x;

    for (int i = 0; i < 4; i++) {
        x.r[i] = i < xregs ? row_part(row, nf, (uint32_t) i * VL)
                           : _mm256_setzero_ps();
    }
    return x;
}

/* x of each lane's node word w, from the row's xregs registers (feature
 * bits 0-2 pick the entry, 3 and 4 the register) or gathered */
INLINE __m256
row_x(const float *row, const row_regs *x, __m256i w, const int xregs)
{
    if (xregs == 0) {
        return _mm256_i32gather_ps(row,
                   _mm256_and_si256(w, _mm256_set1_epi32(CPU_FEAT_MASK)), 4);
    }
    if (xregs == 1) {
        return _mm256_permutevar8x32_ps(x->r[0], w);
    }
    if (xregs == 2) {
        return pick16(x->r[0], x->r[1], w);
    }
    return _mm256_blendv_ps(pick16(x->r[0], x->r[1], w),
                            pick16(x->r[2], x->r[3], w),
                            _mm256_castsi256_ps(_mm256_slli_epi32(w, 27)));
}

/* per lane: blk_off or sparse_off, and leaf_off, of trees tr[0..nv * 8);
 * whether they all add to one output column */
INLINE int
row_group_tables(const cpu_tree *tr, int nv, int dense, __m256i *off,
    size_t *leaf_at)
{
    int32_t o[ROW_TREES];

    for (int j = 0; j < nv * VL; j++) {
        o[j] = (int32_t) (dense ? tr[j].blk_off : tr[j].sparse_off);
        leaf_at[j] = tr[j].leaf_off;
    }
    for (int v = 0; v < nv; v++) {
        off[v] = _mm256_loadu_si256((const __m256i *) (o + v * VL));
    }
    return cpu_same_column(tr, (uint32_t) (nv * VL));
}

/* The word w and threshold t of each lane's blocked node at. */
INLINE void
blk_node(const cpu_plan *p, __m256i at, __m256i *w, __m256 *t)
{
    const long long *blk = (const long long *) p->blk;
    /* lanes 0,1,4,5 gathered first, 2,3,6,7 second: the shuffles below
     * then put words and thresholds back in lane order */
    __m256i          q = _mm256_permute4x64_epi64(at, 0xd8);
    __m256           g0 = _mm256_castsi256_ps(_mm256_i32gather_epi64(blk,
                              _mm256_castsi256_si128(q), 8));
    __m256           g1 = _mm256_castsi256_ps(_mm256_i32gather_epi64(blk,
                              _mm256_extracti128_si256(q, 1), 8));

    *w = _mm256_castps_si256(_mm256_shuffle_ps(g0, g1, 0x88));
    *t = _mm256_shuffle_ps(g0, g1, 0xdd);
}

/* One level: the path 2i+1, less one going left. */
INLINE __m256i
blk_step(__m256i path, __m256i w, __m256 t, const float *row,
    const row_regs *x, const int xregs)
{
    return _mm256_add_epi32(_mm256_add_epi32(path, path),
               _mm256_add_epi32(_mm256_set1_epi32(1),
                   goes_left(w, t, row_x(row, x, w, xregs))));
}

INLINE void
blk_trees_rows(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    size_t n, double *acc, const int nv, const int xregs)
{
    const cpu_blk_step *steps = p->blk_step[tr->depth];
    __m256i             boff[ROW_VECS], path[ROW_VECS], w0[ROW_VECS];
    __m256              t0[ROW_VECS];
    uint32_t            slot[ROW_TREES];
    size_t              leaf_at[ROW_TREES];
    int                 one_column = row_group_tables(tr, nv, 1, boff,
                                         leaf_at);

    /* the roots, the same for every row */
    for (int v = 0; v < nv && tr->depth > 0; v++) {
        blk_node(p, boff[v], &w0[v], &t0[v]);
    }
    for (size_t r = 0; r < n; r++) {
        const float *row = rows + r * p->n_features;
        row_regs     x = row_load(row, p->n_features, xregs);

        for (int v = 0; v < nv; v++) {
            path[v] = tr->depth > 0
                      ? blk_step(_mm256_setzero_si256(), w0[v], t0[v], row,
                                 &x, xregs)
                      : _mm256_setzero_si256();
        }
        for (uint32_t d = 1; d < tr->depth; d++) {
            __m256i base = _mm256_set1_epi32((int) steps[d].base);
            __m256i low = _mm256_set1_epi32((int) ((1u << steps[d].k) - 1));
            __m128i k = _mm_cvtsi32_si128(steps[d].k);
            __m128i sh = _mm_cvtsi32_si128(steps[d].sh);

            for (int v = 0; v < nv; v++) {
                __m256i w;
                __m256  t;

                blk_node(p, _mm256_add_epi32(_mm256_add_epi32(boff[v], base),
                                _mm256_add_epi32(_mm256_sll_epi32(
                                    _mm256_srl_epi32(path[v], k), sh),
                                    _mm256_and_si256(path[v], low))),
                         &w, &t);
                path[v] = blk_step(path[v], w, t, row, &x, xregs);
            }
        }
        for (int v = 0; v < nv; v++) {
            _mm256_storeu_si256((__m256i *) (slot + v * VL), path[v]);
        }
        cpu_row_leaves(p, tr, (uint32_t) (nv * VL), r, slot, leaf_at,
            one_column, acc);
    }
}

/* One step of a sparse walk at node `at` (absolute, word w) of trees whose
 * sparse roots are at `root`. */
INLINE void
sparse_row_step(const cpu_plan *p, const float *row, const row_regs *x,
    __m256i root, __m256i *at, __m256i *w, const int xregs)
{
    __m256  t = _mm256_i32gather_ps(p->thr, *at, 4);
    __m256i left = goes_left(*w, t, row_x(row, x, *w, xregs));
    /* right[] is tree-relative; a leaf's leads to itself */
    __m256i r = _mm256_add_epi32(root, _mm256_i32gather_epi32(p->right, *at,
                                                              4));

    *at = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(r),
              _mm256_castsi256_ps(_mm256_add_epi32(*at, _mm256_set1_epi32(1))),
              _mm256_castsi256_ps(left)));
    *w = _mm256_i32gather_epi32(p->node, *at, 4);
}

INLINE void
sparse_trees_rows(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    size_t n, double *acc, const int nv, const int xregs)
{
    __m256i  root[ROW_VECS], at[ROW_VECS], w[ROW_VECS];
    uint32_t slot[ROW_TREES];
    size_t   leaf_at[ROW_TREES];
    int      one_column = row_group_tables(tr, nv, 0, root, leaf_at);

    for (size_t r = 0; r < n; r++) {
        const float *row = rows + r * p->n_features;
        row_regs     x = row_load(row, p->n_features, xregs);
        uint32_t     live[ROW_VECS], any = 0;

        for (int v = 0; v < nv; v++) {
            at[v] = root[v];
            w[v] = _mm256_i32gather_epi32(p->node, at[v], 4);
            live[v] = inner_lanes(w[v]);
            any |= live[v];
        }
        while (any) {
            any = 0;
            for (int v = 0; v < nv; v++) {
                if (live[v] != 0) {
                    sparse_row_step(p, row, &x, root[v], &at[v], &w[v],
                                    xregs);
                    live[v] = inner_lanes(w[v]);
                    any |= live[v];
                }
            }
        }
        for (int v = 0; v < nv; v++) {
            _mm256_storeu_si256((__m256i *) (slot + v * VL),
                                _mm256_sub_epi32(at[v], root[v]));
        }
        cpu_row_leaves(p, tr, (uint32_t) (nv * VL), r, slot, leaf_at,
            one_column, acc);
    }
}

/* by the registers a row takes, up to max (0: gathered) */
#define BY_XREGS(fn, max, p, ...) do {                                      \
        if ((p)->n_features <= VL) {                                        \
            fn(p, __VA_ARGS__, 1);                                          \
        } else if ((p)->n_features <= 2 * VL && (max) >= 2) {               \
            fn(p, __VA_ARGS__, 2);                                          \
        } else if ((p)->n_features <= 4 * VL && (max) >= 4) {               \
            fn(p, __VA_ARGS__, 4);                                          \
        } else {                                                            \
            fn(p, __VA_ARGS__, 0);                                          \
        }                                                                   \
    } while (0)

INLINE void
few_rows_kind(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    size_t n, double *acc, const int nv)
{
    if (tr->kind == CPU_TREE_DENSE) {
        BY_XREGS(blk_trees_rows, 1, p, tr, rows, n, acc, nv);
    } else {
        BY_XREGS(sparse_trees_rows, 4, p, tr, rows, n, acc, nv);
    }
}

CPU_ROWS_GROUP_FN(few_rows_group, few_rows_kind, ROW_VECS)

void
forest_cpu_rows_by_tree_avx2(const cpu_plan *p, const float *rows, size_t n,
    double *acc)
{
    cpu_rows_by_tree_groups(p, rows, n, acc, VL, ROW_VECS, few_rows_group);
}
