/*
 * Feature name -> index for rows given as objects.  A hash table built once
 * per request that uses names, so a row of F named values costs O(F) rather
 * than O(F^2) on models with thousands of features.
 */
#include <string.h>

#include "forest_codec_internal.h"

static uint32_t
hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;                       /* FNV-1a */

    while (len-- > 0) {
        h = (h ^ (uint8_t) *s++) * 16777619u;
    }
    return h;
}

/* s may hold NUL bytes (a JSON "\u0000"), so it is compared by length */
static int
same(const char *name, const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (name[i] != s[i] || name[i] == '\0') {
            return 0;
        }
    }
    return name[len] == '\0';
}

int
fcodec_names_build(fcodec_parser *p, fcodec_names *n)
{
    const fcodec_model *m = p->m;
    uint32_t            size = 16, i, at;

    while (size < 2 * m->n_features) {
        size *= 2;
    }
    n->slots = fcodec_palloc(p, size * sizeof(uint32_t));
    if (n->slots == NULL) {
        return 0;
    }
    memset(n->slots, 0, size * sizeof(uint32_t));
    n->mask = size - 1;

    /* a repeated name keeps its first index, as a lookup would find it */
    for (i = 0; i < m->n_features; i++) {
        const char *name = m->feature_names[i];

        for (at = hash(name, strlen(name)) & n->mask; n->slots[at] != 0;
             at = (at + 1) & n->mask)
        {
            if (strcmp(m->feature_names[n->slots[at] - 1], name) == 0) {
                break;
            }
        }
        if (n->slots[at] == 0) {
            n->slots[at] = i + 1;
        }
    }
    return 1;
}

long
fcodec_names_find(const fcodec_names *n, const fcodec_model *m,
    const char *name, size_t len)
{
    uint32_t at;

    for (at = hash(name, len) & n->mask; n->slots[at] != 0;
         at = (at + 1) & n->mask)
    {
        if (same(m->feature_names[n->slots[at] - 1], name, len)) {
            return (long) n->slots[at] - 1;
        }
    }
    return -1;
}
