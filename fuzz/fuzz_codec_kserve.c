/* libFuzzer target: the request codec on KServe v2 JSON requests, then the answer encoder. */
// FUZZ_LIBS: -lyajl
#include "fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_codec(FCODEC_KSERVE, data, size, 0);
    return 0;
}
