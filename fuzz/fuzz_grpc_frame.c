/* libFuzzer target: gRPC message framing (the 5-byte prefix of a unary
 * call's body) and the name/version fields every model request starts
 * with.  Beyond the sanitizers it checks the decoder's promises: a message
 * lies inside the body, and every failure has a status and a message. */
#include "forest_codec_grpc.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t      *msg = NULL;
    size_t              len = 0;
    fcodec_grpc_target  t;
    char                err[256];
    int                 status;

    err[0] = '\0';
    status = fcodec_grpc_unframe(data, size, &msg, &len, err, sizeof(err));
    if (status != 0) {
        if ((status != 400 && status != 501) || err[0] == '\0') {
            abort();
        }
        return 0;
    }
    if (msg != data + 5 || len != size - 5) {
        abort();
    }
    status = fcodec_grpc_target_read(msg, len, &t, err, sizeof(err));
    if (status == 0) {
        if ((t.name != NULL && (t.name < msg || t.name + t.name_len > msg + len))
            || (t.version != NULL
                && (t.version < msg || t.version + t.version_len > msg + len)))
        {
            abort();
        }
    } else if (status != 400 || err[0] == '\0') {
        abort();
    }
    return 0;
}
