/* libFuzzer target: the request codec on simple-API requests, then the answer encoder. */
// FUZZ_LIBS: -lyajl
#include "fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_codec(FCODEC_SIMPLE, data, size, 0);
    return 0;
}
