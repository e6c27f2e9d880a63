/*
 * Triton's classification extension: instead of the output tensor, the k
 * best entries of each row as BYTES strings "value:index", value printed the
 * way Triton's std::to_string prints a float (fixed, six decimals).
 */
#include <math.h>
#include <stdio.h>

#include "forest_codec_internal.h"

/* a before b: larger value first, NaN last, ties by lower index */
static int
better(const float *row, uint32_t a, uint32_t b)
{
    if (isnan(row[a]) || isnan(row[b])) {
        return isnan(row[b]) && (!isnan(row[a]) || a < b);
    }
    return row[a] > row[b] || (row[a] == row[b] && a < b);
}

void
fcodec_class_top(const float *row, uint32_t cols, uint32_t k, uint32_t *idx)
{
    uint32_t i, n = 0, at;

    if (k == 0) {
        return;
    }
    /* insertion into a sorted list of at most k: k is small in practice */
    for (i = 0; i < cols; i++) {
        if (n == k && !better(row, i, idx[k - 1])) {
            continue;
        }
        at = n < k ? n++ : k - 1;
        while (at > 0 && better(row, i, idx[at - 1])) {
            idx[at] = idx[at - 1];
            at--;
        }
        idx[at] = i;
    }
}

size_t
fcodec_class_text(char *buf, float value, uint32_t index)
{
    int n = snprintf(buf, FCODEC_CLASS_TEXT_MAX, "%f:%u", (double) value,
                     index);

    return n < FCODEC_CLASS_TEXT_MAX ? (size_t) n : FCODEC_CLASS_TEXT_MAX - 1;
}
