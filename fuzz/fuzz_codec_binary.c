/* libFuzzer target: the request codec on KServe requests with Triton's
 * binary tensor extension (the header length comes from the input), then
 * the answer encoder. */
// FUZZ_EXTRA_SRCS: ngx_module/forest_codec_binary.c ngx_module/forest_codec_classify.c ngx_module/forest_codec_dtype.c ngx_module/forest_codec_encode.c ngx_module/forest_codec_float.c ngx_module/forest_codec_kserve.c ngx_module/forest_codec_names.c ngx_module/forest_codec_out.c ngx_module/forest_codec_parser.c ngx_module/forest_codec_rows.c ngx_module/forest_codec_shape.c ngx_module/forest_codec_simple.c
// FUZZ_LIBS: -lyajl
#include "fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_codec(FCODEC_KSERVE, data, size, 1);
    return 0;
}
