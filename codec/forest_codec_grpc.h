/*
 * The KServe v2 / Triton GRPCInferenceService messages the module reads and
 * writes (inference.ModelInferRequest and friends, field numbers of the
 * open inference protocol's grpc_service.proto), and gRPC's message framing
 * on HTTP/2: a 1-byte compressed flag and a 4-byte big-endian length before
 * each message.  Requests are decoded whole (a unary call's body is one
 * message); failures use the HTTP statuses of forest_codec.h, which
 * fcodec_grpc_status() turns into gRPC codes.
 */
#ifndef FOREST_CODEC_GRPC_H
#define FOREST_CODEC_GRPC_H

#include "forest_codec.h"
#include "forest_pb.h"

/* gRPC status codes */
enum {
    FCODEC_GRPC_OK = 0,
    FCODEC_GRPC_UNKNOWN = 2,
    FCODEC_GRPC_INVALID_ARGUMENT = 3,
    FCODEC_GRPC_NOT_FOUND = 5,
    FCODEC_GRPC_RESOURCE_EXHAUSTED = 8,
    FCODEC_GRPC_UNIMPLEMENTED = 12,
    FCODEC_GRPC_INTERNAL = 13,
    FCODEC_GRPC_UNAVAILABLE = 14
};

/* 400 -> INVALID_ARGUMENT, 404 -> NOT_FOUND, 413 -> RESOURCE_EXHAUSTED,
 * 405/501 -> UNIMPLEMENTED, 503 -> UNAVAILABLE, other 5xx -> INTERNAL. */
int fcodec_grpc_status(int http_status);

/*
 * The one message of a unary call's body.  0 and the message (msg, msg_len), or an
 * HTTP status with err: 400 for a truncated prefix, a length that is not
 * the body's, a second message or a bad flag; 501 for a compressed message.
 */
int fcodec_grpc_unframe(const uint8_t *body, size_t len,
    const uint8_t **msg, size_t *msg_len, char *err, size_t errlen);

/*
 * The name/version pair every model request starts with (fields 1 and 2 of
 * ModelReadyRequest, ModelMetadataRequest, ModelConfigRequest,
 * ModelStatisticsRequest and ModelInferRequest); RepositoryIndexRequest's
 * field 2 is a bool, read into flag.  The whole message is checked for
 * well-formed fields.  0, or 400 with err.
 */
typedef struct {
    const uint8_t  *name;
    size_t          name_len;
    const uint8_t  *version;
    size_t          version_len;
    int             flag;
} fcodec_grpc_target;

int fcodec_grpc_target_read(const uint8_t *msg, size_t len,
    fcodec_grpc_target *t, char *err, size_t errlen);

/*
 * ModelInferRequest for model m: input__0 as typed contents or
 * raw_input_contents, converted to float rows as the HTTP codec converts
 * (NaN = missing; BYTES: category names and numbers as text), the optional
 * base_margin input (req->base_margin), the id, the requested outputs
 * (req->order) with output__0's "classification" parameter, and the
 * predict_proba / output_margin parameters of the request or input__0.
 * req->status != 0 on error.
 */
void fcodec_grpc_infer_decode(const uint8_t *msg, size_t len,
    const fcodec_model *m, fcodec_alloc *a, fcodec_request *req);

/* The framed ModelInferResponse: the outputs of req->order, each in its
 * raw_output_contents, as Triton answers (req->contribs and req->leaves
 * filled in for treeshap_output and leaf_index).  0 or -1 (no memory). */
int fcodec_grpc_infer_encode(const fcodec_request *req,
    const fcodec_shape *s, const char *model_name, const char *version,
    const float *outputs, fcodec_alloc *a, fcodec_response *out);

#endif /* FOREST_CODEC_GRPC_H */
