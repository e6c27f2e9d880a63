/*
 * The growable arrays of the loaders and the document builder.
 */
#include "forest_internal.h"

#include <stdint.h>
#include <stdlib.h>

int
forest_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
    size_t ncap = *cap ? *cap : first;
    void  *np;

    if (need <= *cap) {
        return 0;
    }
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem) {
            return -1;
        }
        ncap *= 2;
    }
    np = realloc(*p, ncap * elem);
    if (np == NULL) {
        return -1;
    }
    *p = np;
    *cap = ncap;
    return 0;
}
