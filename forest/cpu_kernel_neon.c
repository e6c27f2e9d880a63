/*
 * NEON block kernel (AArch64, where Advanced SIMD is always there): 4 rows
 * per vector, up to 16 vectors walked through each tree together.  Dense
 * trees take levels 0-5 from registers (broadcast, then TBL/TBX byte
 * shuffles of the level's node words and thresholds) so that a row's step
 * there costs one load, its feature value; below, each lane loads its node
 * too.
 * NEON has no gather: a lane's load is a scalar load into that lane, and
 * the vector work (compare, NaN rule, next index) is shared by four rows.
 * Built only for AArch64 (Makefile).
 */
#include "cpu_plan.h"

#include <arm_neon.h>

#define VL   4
#define MAXV (CPU_BLOCK / VL)

#define INLINE static inline __attribute__((always_inline))

INLINE float32x4_t
gather_f32(const float *base, uint32x4_t at)
{
    float32x4_t v = vld1q_dup_f32(base + vgetq_lane_u32(at, 0));

    v = vld1q_lane_f32(base + vgetq_lane_u32(at, 1), v, 1);
    v = vld1q_lane_f32(base + vgetq_lane_u32(at, 2), v, 2);
    return vld1q_lane_f32(base + vgetq_lane_u32(at, 3), v, 3);
}

INLINE uint32x4_t
gather_u32(const int32_t *base, uint32x4_t at)
{
    return vreinterpretq_u32_f32(gather_f32((const float *) base, at));
}

/* One decision for 4 rows: w = node words, t = thresholds. */
INLINE uint32x4_t
step(uint32x4_t idx, uint32x4_t w, float32x4_t t, const float *rows,
    uint32x4_t rowoff)
{
    uint32x4_t  at = vaddq_u32(rowoff,
                         vandq_u32(w, vdupq_n_u32(CPU_FEAT_MASK)));
    float32x4_t x = gather_f32(rows, at);
    uint32x4_t  lt = vcltq_f32(x, t);
    /* x == x fails only for NaN: bic keeps the default-left sign there */
    uint32x4_t  dl = vreinterpretq_u32_s32(
                         vshrq_n_s32(vreinterpretq_s32_u32(w), 31));
    uint32x4_t  nan_dl = vbicq_u32(dl, vceqq_f32(x, x));
    /* all ones (-1) where the row goes left: 2i+2 - 1 */
    uint32x4_t  left = vorrq_u32(lt, nan_dl);

    return vaddq_u32(vaddq_u32(vaddq_u32(idx, idx), vdupq_n_u32(2)), left);
}

/* Byte offsets for TBL: entry rel (one 32-bit lane each) -> bytes
 * 4 rel .. 4 rel + 3.  An out-of-range rel picks zeros (never happens:
 * rel < the level's width). */
INLINE uint8x16_t
tbl_index(uint32x4_t rel)
{
    uint32x4_t b = vmulq_n_u32(rel, 0x04040404u);

    return vreinterpretq_u8_u32(vaddq_u32(b, vdupq_n_u32(0x03020100u)));
}

/* acc[k][4 rows] += leaf[slot * width + k], one double add per row as the
 * other kernels do it */
INLINE void
add_leaves(const cpu_plan *p, const cpu_tree *tr, uint32x4_t slot,
    double *acc)
{
    const double *leaf = p->leaf + tr->leaf_off;
    uint32_t      w = cpu_tree_width(p, tr);
    size_t        col0 = cpu_tree_col0(tr);

    if (w > 1) {
        slot = vmulq_n_u32(slot, w);
    }
    for (uint32_t k = 0; k < w; k++) {
        double     *a = acc + (col0 + k) * CPU_BLOCK;
        float64x2_t lo = vld1q_dup_f64(leaf + k + vgetq_lane_u32(slot, 0));
        float64x2_t hi = vld1q_dup_f64(leaf + k + vgetq_lane_u32(slot, 2));

        lo = vld1q_lane_f64(leaf + k + vgetq_lane_u32(slot, 1), lo, 1);
        hi = vld1q_lane_f64(leaf + k + vgetq_lane_u32(slot, 3), hi, 1);
        vst1q_f64(a, vaddq_f64(vld1q_f64(a), lo));
        vst1q_f64(a + 2, vaddq_f64(vld1q_f64(a + 2), hi));
    }
}

/* A level's node words or thresholds held in registers: up to 16 nodes in
 * lo, 16 more in hi (level 5). */
typedef struct {
    uint8x16x4_t lo, hi;
} level_tab;

INLINE level_tab
load_tab(const void *from, const int regs)
{
    const uint8_t *b = from;
    level_tab      l;

    for (int k = 0; k < 4; k++) {
        l.lo.val[k] = k < regs ? vld1q_u8(b + 16 * k) : vdupq_n_u8(0);
        l.hi.val[k] = k + 4 < regs ? vld1q_u8(b + 16 * (k + 4))
                                   : vdupq_n_u8(0);
    }
    return l;
}

/* entry ix (TBL byte offsets) of a level held in `regs` registers; past
 * 64 bytes TBX picks from hi, keeping lo's answer where ix - 64 wraps out
 * of range */
INLINE uint8x16_t
pick(const level_tab *l, uint8x16_t ix, const int regs)
{
    switch (regs) {
    case 1:
        return vqtbl1q_u8(l->lo.val[0], ix);
    case 2:
        return vqtbl2q_u8((uint8x16x2_t) { { l->lo.val[0], l->lo.val[1] } },
                          ix);
    case 4:
        return vqtbl4q_u8(l->lo, ix);
    default:
        return vqtbx4q_u8(vqtbl4q_u8(l->lo, ix), l->hi,
                          vsubq_u8(ix, vdupq_n_u8(64)));
    }
}

/* Level d (1..5) of a dense tree from registers: its 2^d nodes in `regs`
 * registers of four. */
INLINE void
reg_level(const int32_t *node, const float *thr, const uint32_t d,
    const int regs, uint32x4_t *idx, const float *rows,
    const uint32x4_t *rowoff, const int nv)
{
    uint32_t   base = (1u << d) - 1;
    level_tab  w = load_tab(node + base, regs);
    level_tab  t = load_tab(thr + base, regs);
    uint32x4_t off = vdupq_n_u32(base);

    for (int v = 0; v < nv; v++) {
        uint8x16_t ix = tbl_index(vsubq_u32(idx[v], off));

        idx[v] = step(idx[v], vreinterpretq_u32_u8(pick(&w, ix, regs)),
                      vreinterpretq_f32_u8(pick(&t, ix, regs)), rows,
                      rowoff[v]);
    }
}

/*
 * A dense tree over nv vectors of rows: level 0 broadcast, levels 1-5
 * from one, one, two, four and eight registers, then per-lane loads.
 */
INLINE void
dense_tree_nv(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    const uint32x4_t *rowoff, double *acc, const int nv)
{
    const int32_t *node = p->node + tr->node_off;
    const float   *thr = p->thr + tr->node_off;
    uint32_t       depth = tr->depth;
    uint32x4_t     idx[MAXV];

    for (int v = 0; v < nv; v++) {
        idx[v] = vdupq_n_u32(0);
    }
    if (depth > 0) {
        uint32x4_t  w = vdupq_n_u32((uint32_t) node[0]);
        float32x4_t t = vdupq_n_f32(thr[0]);

        for (int v = 0; v < nv; v++) {
            idx[v] = step(idx[v], w, t, rows, rowoff[v]);
        }
    }
    if (depth > 1) {
        reg_level(node, thr, 1, 1, idx, rows, rowoff, nv);
    }
    if (depth > 2) {
        reg_level(node, thr, 2, 1, idx, rows, rowoff, nv);
    }
    if (depth > 3) {
        reg_level(node, thr, 3, 2, idx, rows, rowoff, nv);
    }
    if (depth > 4) {
        reg_level(node, thr, 4, 4, idx, rows, rowoff, nv);
    }
    if (depth > 5) {
        reg_level(node, thr, 5, 8, idx, rows, rowoff, nv);
    }
    for (uint32_t d = 6; d < depth; d++) {
        for (int v = 0; v < nv; v++) {
            idx[v] = step(idx[v], gather_u32(node, idx[v]),
                          gather_f32(thr, idx[v]), rows, rowoff[v]);
        }
    }
    for (int v = 0; v < nv; v++) {
        add_leaves(p, tr, vsubq_u32(idx[v], vdupq_n_u32((1u << depth) - 1)),
                   acc + v * VL);
    }
}

INLINE void
sparse_tree_nv(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    const uint32x4_t *rowoff, double *acc, const int nv)
{
    const int32_t *node = p->node + tr->sparse_off;
    const float   *thr = p->thr + tr->sparse_off;
    const int32_t *right = p->right + tr->sparse_off;
    uint32x4_t     idx[MAXV], w[MAXV];
    uint32x4_t     leafbit = vdupq_n_u32(CPU_LEAF);

    for (int v = 0; v < nv; v++) {
        idx[v] = vdupq_n_u32(0);
    }
    for (uint32_t d = 0; d < tr->depth; d++) {
        uint32x4_t leaves = leafbit;

        for (int v = 0; v < nv; v++) {
            w[v] = gather_u32(node, idx[v]);
            leaves = vandq_u32(leaves, w[v]);
        }
        /* every lane on a leaf: each leaf's bit set */
        if (vminvq_u32(vceqq_u32(leaves, leafbit)) != 0) {
            break;
        }
        for (int v = 0; v < nv; v++) {
            uint32x4_t  at = vaddq_u32(rowoff[v], vandq_u32(w[v],
                                 vdupq_n_u32(CPU_FEAT_MASK)));
            float32x4_t x = gather_f32(rows, at);
            float32x4_t t = gather_f32(thr, idx[v]);
            uint32x4_t  r = gather_u32(right, idx[v]);
            uint32x4_t  dl = vreinterpretq_u32_s32(
                                 vshrq_n_s32(vreinterpretq_s32_u32(w[v]), 31));
            uint32x4_t  left = vorrq_u32(vcltq_f32(x, t),
                                   vbicq_u32(dl, vceqq_f32(x, x)));

            idx[v] = vbslq_u32(left, vaddq_u32(idx[v], vdupq_n_u32(1)), r);
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
    case 5: case 6: case 7: case 8: fn(__VA_ARGS__, 8); break;              \
    default: fn(__VA_ARGS__, 16); break;                                    \
    }                                                                       \
} while (0)

void
forest_cpu_block_neon(const cpu_plan *p, const float *rows, size_t n,
    double *acc)
{
    uint32x4_t rowoff[MAXV];
    int        nv = (int) ((n + VL - 1) / VL);
    /* whole vectors past the last row walk row 0; their sums land in acc
     * columns past n, which the caller never reads (acc is CPU_BLOCK
     * rows wide) */
    int        nw = nv <= 4 ? nv : nv <= 8 ? 8 : MAXV;

    for (int v = 0; v < nw; v++) {
        uint32_t r[VL];

        for (int j = 0; j < VL; j++) {
            uint32_t row = (uint32_t) (v * VL + j);

            /* lanes past the last row read row 0; their sums are dropped */
            r[j] = row < n ? row * p->n_features : 0;
        }
        rowoff[v] = vld1q_u32(r);
    }
    for (uint32_t t = 0; t < p->n_trees; t++) {
        const cpu_tree *tr = &p->trees[t];

        switch (tr->kind) {
        case CPU_TREE_DENSE:
            BY_NV(dense_tree_nv, nw, p, tr, rows, rowoff, acc);
            break;
        case CPU_TREE_SPARSE:
            BY_NV(sparse_tree_nv, nw, p, tr, rows, rowoff, acc);
            break;
        default:
            forest_cpu_tree_generic(p, tr, rows, n, acc);
            break;
        }
    }
}
