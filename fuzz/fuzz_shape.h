/*
 * The answer shape the fuzz targets encode with, chosen by bits 3..9 of the
 * input's 2-byte selector, so one input exercises one shape.
 */
#ifndef FUZZ_SHAPE_H
#define FUZZ_SHAPE_H

#include "forest_codec.h"

static inline fcodec_shape
fuzz_shape(unsigned sel)
{
    fcodec_shape s;

    s.forest_columns = 1 + (sel >> 3) % 3;
    s.n_classes = (sel >> 5) % 4;
    s.is_classifier = (sel >> 7) & 1;
    s.predict_proba = (sel >> 8) & 1;
    s.margin = (sel >> 9) & 1;
    s.threshold = 0.3f;
    return s;
}

#endif /* FUZZ_SHAPE_H */
