/*
 * The outputs a KServe v2 request may name, over HTTP and gRPC alike:
 * output__0 (the prediction), treeshap_output (Triton FIL's name for the
 * SHAP contributions), leaf_index and treeshap_interactions (SHAP
 * interaction values).
 */
#include <stdio.h>
#include <string.h>

#include "forest_codec_internal.h"

static const struct {
    const char *name;
    unsigned    which;
} outputs[] = {
    { "output__0",       FCODEC_OUT_MAIN },
    { "treeshap_output", FCODEC_OUT_CONTRIBS },
    { "leaf_index",      FCODEC_OUT_LEAVES },
    { "treeshap_interactions", FCODEC_OUT_INTERACTIONS },
};

int
fcodec_output_find(const fcodec_model *m, const char *name, size_t len,
    char *err, size_t errlen)
{
    size_t i;

    for (i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
        if (strlen(outputs[i].name) != len
            || memcmp(outputs[i].name, name, len) != 0)
        {
            continue;
        }
        if ((outputs[i].which == FCODEC_OUT_CONTRIBS
             || outputs[i].which == FCODEC_OUT_INTERACTIONS)
            && !m->contributions)
        {
            snprintf(err, errlen, "model %s cannot answer %s: its file "
                     "stores no node cover (training hessian sums or "
                     "counts)", m->name, outputs[i].name);
            return -1;
        }
        return (int) outputs[i].which;
    }
    snprintf(err, errlen, "unknown output \"%.*s\": model %s answers "
             FCODEC_OUTPUT_NAMES, fcodec_shown(len), name, m->name);
    return -1;
}

void
fcodec_interactions_fit(const fcodec_model *m, fcodec_request *req)
{
    size_t per = m->interactions_row;

    if (req->status != 0 || !(req->extras & FCODEC_OUT_INTERACTIONS)
        || per == 0 || req->n_rows <= FCODEC_INTERACTIONS_MAX / per)
    {
        return;
    }
    req->status = 413;
    snprintf(req->error, sizeof(req->error), "treeshap_interactions of "
             "model %s take %zu values a row; a request may ask for at most "
             "%zu values (%zu rows), this one sent %zu rows", m->name, per,
             (size_t) FCODEC_INTERACTIONS_MAX, FCODEC_INTERACTIONS_MAX / per,
             req->n_rows);
}
