/*
 * Shared state of the codec files (not part of the module's contract, which
 * is forest_codec.h).  One fcodec_parser holds the yajl handle, the growing
 * row buffer and the per-API parse state; each API file owns its own part.
 */
#ifndef FOREST_CODEC_INTERNAL_H
#define FOREST_CODEC_INTERNAL_H

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <yajl/yajl_parse.h>

#include "forest_codec.h"

#define FCODEC_NO_LEN      ((size_t) -1)
/* Levels of the context stack: more than either API reads (KServe's request,
 * inputs, input, data and row are five); an ignored member is skipped
 * without it. */
#define FCODEC_MAX_DEPTH   16
#define FCODEC_MAX_DIMS    4
/* Longest name or token quoted in a message. */
#define FCODEC_NAME_MAX_SHOWN  64

/* What a yajl event carries, so each API routes every value through one
 * function whatever its JSON type. */
typedef enum {
    FCODEC_V_NULL, FCODEC_V_BOOL, FCODEC_V_NUM, FCODEC_V_STR,
    FCODEC_V_MAP, FCODEC_V_ARR
} fcodec_vtype;

typedef struct {
    fcodec_vtype    type;
    int             boolean;
    double          num;
    const char     *str;               /* FCODEC_V_STR: not NUL-terminated */
    size_t          len;
} fcodec_value;

/* KServe tensor datatypes (Triton's names and little-endian layouts). */
typedef struct {
    const char     *name;
    uint32_t        size;              /* bytes per element; 0 = BYTES */
    int             is_bool;
    int             is_int;
    double          min, max;          /* values a JSON number may take */
    float         (*load)(const uint8_t *le);
} fcodec_dtype;

const fcodec_dtype *fcodec_dtype_find(const char *name, size_t len);

/* "[2,4]" (",..." past FCODEC_MAX_DIMS dimensions) into buf. */
void fcodec_shape_text(const uint64_t *shape, uint32_t rank, char *buf,
    size_t size);
/* input__0's shape against model m: 1 when it is [rows, features] with
 * rows, else 0 and the 400's message in err (max_rows is the caller's). */
int fcodec_shape_fits(const uint64_t *shape, uint32_t rank,
    const fcodec_model *m, char *err, size_t size);

/* The magnitude of the value of JSON number token s against the integer
 * whose decimal digits are bound, exactly: <0, 0 or >0. */
int fcodec_number_cmp(const char *s, size_t len, const char *bound);

typedef struct {
    uint32_t       *slots;             /* feature index + 1, 0 = empty */
    uint32_t        mask;
} fcodec_names;

typedef struct {
    int             n_inputs;
    int             have_name, have_shape, have_dtype, have_data, have_bsize;
    uint64_t        shape[FCODEC_MAX_DIMS];
    uint32_t        rank;
    const fcodec_dtype *dtype;
    uint64_t        binary_size;

    int             data_nested;       /* -1 unknown, 0 flat values, 1 rows */
    int             saw_bool, saw_num;
    int             saw_str;           /* category names (forest_codec_category.c) */
    int             saw_text_num;      /* numbers as strings (BYTES only) */
    int             saw_fraction;
    double          fraction, vmin, vmax;
    /* a double cannot tell values from 2^63 on from the 64-bit types'
     * bounds: the first value past INT64's range and the first past
     * UINT64's, as sent ("" when none) */
    char            past_i64[FCODEC_NAME_MAX_SHOWN + 1];
    char            past_u64[FCODEC_NAME_MAX_SHOWN + 1];

    int             req_binary_output;
    int             out_have_name, out_binary;   /* out_binary: -1 unset */
    uint32_t        out_class;
    unsigned        out_extra;         /* FCODEC_OUT_* of the output, 0: output__0 */
    unsigned        extras_json;       /* extras with binary_data false */
    int             out_main;          /* output__0 listed */
    /* the input being read: members seen before its name, named */
    int             in_members, in_named;
    int             at;                /* input__0's place among the inputs */
} fcodec_kserve_state;

/* The "base_margin" tensor or array (forest_codec_base_margin.c). */
typedef struct {
    int             active;            /* the KServe input being read is it */
    int             given;
    int             have_shape, have_dtype, have_data, have_bsize;
    int             at;                /* its place among the inputs, 1.. */
    const fcodec_dtype *dtype;
    uint64_t        binary_size;
    uint64_t        shape[FCODEC_MAX_DIMS];
    uint32_t        rank;
    int             nested;            /* -1 unknown, 0 flat, 1 rows */
    size_t          row_start;         /* first value of the current row */
    float          *vals;
    size_t          n, cap;
} fcodec_bm_state;

typedef struct {
    int             have_rows;         /* the wrapper named its rows */
    uint8_t        *seen;              /* named row: features given so far */
    fcodec_names    names;
} fcodec_simple_state;

/* Triton's BYTES serialisation read as it arrives (forest_codec_bytes.c):
 * per element a 4-byte little-endian length, then its bytes. */
typedef struct {
    uint64_t        left;              /* bytes of the tensor not yet read */
    size_t          index;             /* elements read */
    uint8_t         prefix[4];
    uint32_t        n_prefix;          /* bytes of the current length */
    uint32_t        len;               /* the current element's length */
    uint8_t        *buf;               /* an element split across pieces */
    uint32_t        n_buf, cap;
} fcodec_bytes_reader;

/* One element (not NUL-terminated); 0 stops the reading (an error). */
typedef int (*fcodec_bytes_elem)(void *ctx, size_t index, const uint8_t *s,
    uint32_t len);

enum {
    FCODEC_BYTES_OK = 1,
    FCODEC_BYTES_STOP = 0,             /* elem returned 0 */
    FCODEC_BYTES_PAST_END = -1,        /* element r->index's length (or the
                                        * length itself) runs past the end */
    FCODEC_BYTES_NO_MEMORY = -2
};

void fcodec_bytes_init(fcodec_bytes_reader *r, uint64_t size);
/* The next len bytes of the tensor (at most r->left). */
int fcodec_bytes_read(fcodec_bytes_reader *r, const uint8_t *data, size_t len,
    fcodec_alloc *a, fcodec_bytes_elem elem, void *ctx);

/* A binary tensor after the JSON header: input__0's rows or base_margin,
 * in the order the inputs come in the JSON, as Triton's clients send them. */
typedef struct {
    int             bm;                /* base_margin, else input__0 */
    int             at;                /* place among the inputs */
    const fcodec_dtype *dtype;         /* size 0: BYTES */
    uint64_t        size;              /* binary_data_size */
} fcodec_segment;

typedef struct {
    fcodec_segment  seg[2];
    uint32_t        n_seg, cur;        /* cur: the segment being read */
    uint64_t        expected;          /* all segments' bytes */
    uint64_t        received;
    uint64_t        seg_received;      /* of seg[cur] */
    uint8_t         partial[8];        /* an element split across pieces */
    uint32_t        n_partial;
    fcodec_bytes_reader bytes;         /* a BYTES segment */
} fcodec_binary_state;

/* The JSON fast path (forest_codec_json.c): where its parse stands, and a
 * token cut by the end of a piece. */
#define FCODEC_JSON_DEPTH    32
#define FCODEC_JSON_PENDING  128

typedef struct {
    int             state;
    uint32_t        depth;
    uint8_t         open[FCODEC_JSON_DEPTH];        /* '{' or '[' */
    uint8_t         pending[FCODEC_JSON_PENDING];
    uint32_t        n_pending;
    uint8_t         before;            /* the byte before pending */
} fcodec_json_state;

struct fcodec_parser {
    fcodec_api          api;
    const fcodec_model *m;
    fcodec_alloc       *a;
    yajl_handle         h;             /* NULL until yajl takes over */
    fcodec_json_state   js;
    fcodec_request      req;

    size_t              json_len;      /* FCODEC_NO_LEN: all of the body */
    size_t              json_fed;
    uint8_t             last_byte;     /* of the JSON fed before this piece */
    int                 json_done;

    int                 depth;
    uint8_t             ctx[FCODEC_MAX_DEPTH + 1];
    int                 key;           /* member the next value belongs to */
    size_t              skip;          /* open levels of an ignored value */

    float              *vals;          /* the rows, row-major */
    size_t              n_vals, cap_vals, max_vals;
    size_t              n_rows;        /* rows begun */
    size_t              row_start;     /* first value of the current row */
    int                 in_row;        /* values go to an array row */

    fcodec_kserve_state ks;
    fcodec_simple_state ss;
    fcodec_binary_state bin;
    fcodec_bm_state     bm;
};

/* JSON in (forest_codec_json.c): the fast path, yajl taking over at the
 * first token outside its subset.  Both return 1, or 0 after fcodec_fail.
 * fcodec_json_fast 0 gives every body to yajl and every number to strtod
 * (the fuzz targets' oracle). */
extern int fcodec_json_fast;
int fcodec_json_feed(fcodec_parser *p, const uint8_t *data, size_t len);
int fcodec_json_complete(fcodec_parser *p);

/* yajl's side (forest_codec_parser.c): the callbacks both paths call, a
 * handle made on demand, its parse and its end.  1, or 0 after fcodec_fail. */
extern const yajl_callbacks fcodec_yajl_callbacks;
/* yajl's number callback with the token's value num when the caller has
 * read it (NULL: converted here; with fcodec_json_fast 0, by strtod) */
int fcodec_number(fcodec_parser *p, const char *s, size_t len,
    const double *num);
int fcodec_yajl_start(fcodec_parser *p);
int fcodec_yajl_feed(fcodec_parser *p, const uint8_t *data, size_t len);
int fcodec_yajl_complete(fcodec_parser *p);

/* Records the first error (later ones are consequences); returns 0 so that a
 * yajl callback can `return fcodec_fail(...)` to stop the parse. */
int fcodec_fail(fcodec_parser *p, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void *fcodec_palloc(fcodec_parser *p, size_t size);
char *fcodec_pstrdup(fcodec_parser *p, const char *s, size_t len);

/* Context stack: push checks the depth limit; both return 0 on error. */
int fcodec_push(fcodec_parser *p, int ctx);
/* inline: every value of a request asks for the top */
static inline int
fcodec_top(const fcodec_parser *p)
{
    return p->ctx[p->depth];
}

static inline void
fcodec_pop(fcodec_parser *p)
{
    p->depth--;
}

static inline void
fcodec_set_top(fcodec_parser *p, int ctx)
{
    p->ctx[p->depth] = (uint8_t) ctx;
}
/* Ignores v: the API sees nothing of a map or array until it ends, and
 * its nesting has no limit (yajl's own stack, a byte a level, is bounded
 * by the body).  Returns 1. */
int fcodec_skip(fcodec_parser *p, const fcodec_value *v);

/* "a number", "an object", ... for messages. */
const char *fcodec_type_name(const fcodec_value *v);

/* The characters of a name or token of len bytes (not NUL-terminated) to
 * quote in a message: "%.*s". */
static inline int
fcodec_shown(size_t len)
{
    return len < FCODEC_NAME_MAX_SHOWN ? (int) len : FCODEC_NAME_MAX_SHOWN;
}

/* yajl callback tables: each API fills one through the shared adapters,
 * routing every value into its own handler. */
typedef struct {
    int (*value)(fcodec_parser *p, const fcodec_value *v);
    int (*key)(fcodec_parser *p, const char *s, size_t len);
    int (*end)(fcodec_parser *p);      /* end of the map or array on top */
    int (*done)(fcodec_parser *p);     /* the JSON text is complete */
    /* the context on top while a row's values come as an array, where a
     * finite float32 is pushed as it is and nothing else happens (numbers
     * there are taken without a call of value); -1: none */
    int   row_ctx;
} fcodec_api_ops;

extern const fcodec_api_ops fcodec_kserve_ops;
extern const fcodec_api_ops fcodec_simple_ops;

/* Row buffer (forest_codec_rows.c).  All return 1, or 0 after fcodec_fail. */
/* A string cell of row `row`, feature f: a category name's code (NaN for an
 * unseen name taken as missing) into *out (1), or with bytes (a KServe BYTES
 * tensor) a number as text (2); 0 after fcodec_fail (400). */
int fcodec_category_cell(fcodec_parser *p, size_t row, uint32_t f,
    const fcodec_value *v, int bytes, float *out);
/* The same without a parser (the gRPC codec): 1 or 2 as above, or 0 with
 * the message of the 400 in err.  bytes FCODEC_CELL_BINARY: a string of
 * BYTES binary data, which has no null: the empty string is missing. */
#define FCODEC_CELL_BINARY  2
int fcodec_text_cell(const fcodec_model *m, size_t row, uint32_t f,
    const char *s, size_t len, int bytes, float *out, char *err,
    size_t errlen);

int fcodec_rows_reserve(fcodec_parser *p, size_t n_vals);
int fcodec_rows_push_slow(fcodec_parser *p, float v);
int fcodec_row_begin(fcodec_parser *p);
int fcodec_row_begin_missing(fcodec_parser *p);   /* all features NaN */
int fcodec_row_end(fcodec_parser *p);

/* Every value of a request goes through these two: inline, the common case
 * costs a compare or two instead of two calls. */
static inline int
fcodec_rows_push(fcodec_parser *p, float v)
{
    if (p->n_vals < p->cap_vals && p->n_vals < p->max_vals) {
        p->vals[p->n_vals++] = v;
        return 1;
    }
    return fcodec_rows_push_slow(p, v);
}

/* Doubles from FLT_MAX up to halfway to the next power of two round to
 * FLT_MAX (which is how "3.4028235e38", FLT_MAX printed shortest, reads);
 * from there on the nearest float32 is the infinity of the sign.  Both are
 * spelled out because the cast itself is undefined outside float's range. */
#define FCODEC_FLOAT_ROUNDS_TO_INF  0x1.ffffffp+127

static inline float
fcodec_to_float(double d)
{
    if (d <= FLT_MAX && d >= -FLT_MAX) {    /* (nearly every value) */
        return (float) d;
    }
    if (d >= FCODEC_FLOAT_ROUNDS_TO_INF || d <= -FCODEC_FLOAT_ROUNDS_TO_INF) {
        return d > 0 ? INFINITY : -INFINITY;
    }
    if (d > FLT_MAX || d < -FLT_MAX) {
        return d > 0 ? FLT_MAX : -FLT_MAX;
    }
    return (float) d;
}

/* Feature names (forest_codec_names.c): index, or -1 when unknown. */
int fcodec_names_build(fcodec_parser *p, fcodec_names *n);
long fcodec_names_find(const fcodec_names *n, const fcodec_model *m,
    const char *name, size_t len);

/* base_margin (forest_codec_base_margin.c), KServe's input or the simple
 * API's member.  start when it begins; every value inside its data array
 * through data, which pushes row_ctx (the API's context for one row's
 * array) for a row, and row_end at the end of that row; done once the
 * input's rows are known.  All return 1, or 0 after fcodec_fail. */
int fcodec_bm_start(fcodec_parser *p);
int fcodec_bm_data(fcodec_parser *p, const fcodec_value *v, int row_ctx);
int fcodec_bm_row_end(fcodec_parser *p);
int fcodec_bm_done(fcodec_parser *p, size_t n_rows);
/* One value of base_margin sent as binary data. */
int fcodec_bm_push(fcodec_parser *p, float x);
/* Whether a declared base_margin shape fits n_rows rows of model m: 0, or
 * 400 with the reason in err (KServe JSON and binary, gRPC). */
int fcodec_bm_shape_error(const fcodec_model *m, const uint64_t *shape,
    uint32_t rank, size_t n_rows, char *err, size_t errlen);

/* Binary tensor section (forest_codec_binary.c): expect registers one
 * tensor of the section (bm: base_margin, at: its place among the inputs;
 * for BYTES declared is only checked against the bytes sent). */
int fcodec_binary_expect(fcodec_parser *p, int bm, int at,
    const fcodec_dtype *dt, uint64_t declared);
int fcodec_binary_feed(fcodec_parser *p, const uint8_t *data, size_t len);
int fcodec_binary_finish(fcodec_parser *p);

/* Output shaping (forest_codec_shape.c): one served row from one forest row. */
void fcodec_shape_row(const fcodec_shape *s, const float *in, float *out);

/* Output buffer (fcodec_out, forest_codec.h). */

void fcodec_out_init(fcodec_out *o, fcodec_alloc *a, size_t hint);
uint8_t *fcodec_out_reserve(fcodec_out *o, size_t n);
void fcodec_out_raw(fcodec_out *o, const void *s, size_t n);
void fcodec_out_str(fcodec_out *o, const char *s);      /* verbatim */
void fcodec_out_json_string(fcodec_out *o, const char *s);
void fcodec_out_float(fcodec_out *o, float v);          /* null if not finite */

/* The text of a finite float32 (forest_codec_float.c): the first of %.6g ..
 * %.9g that reads back as v; at most FCODEC_FLOAT_TEXT_MAX bytes, no NUL. */
#define FCODEC_FLOAT_TEXT_MAX  32
size_t fcodec_float_text(float v, char *buf);
/* The same by its definition, with printf and strtof: the fast path's
 * fallback outside its range, and the oracle its checks compare with. */
size_t fcodec_float_text_printf(float v, char *buf);
void fcodec_out_uint(fcodec_out *o, uint64_t v);
void fcodec_out_le32(fcodec_out *o, uint32_t v);
/* n 4-byte values (float or int32 bits), little-endian, at once */
void fcodec_out_le32s(fcodec_out *o, const void *v, size_t n);

/* Classification extension (forest_codec_classify.c): the k highest of a
 * row's cols values, best first, and Triton's "value:index" text of one. */
#define FCODEC_CLASS_TEXT_MAX  80
void fcodec_class_top(const float *row, uint32_t cols, uint32_t k,
    uint32_t *idx);
size_t fcodec_class_text(char *buf, float value, uint32_t index);

/* The output a request names (forest_codec_outputs.c), for KServe and gRPC
 * alike: FCODEC_OUT_MAIN or an FCODEC_OUT_*, or -1 with the 400 message in
 * err (an unknown name, listing the valid ones; treeshap_output of a model
 * whose file stores no node cover). */
int fcodec_output_find(const fcodec_model *m, const char *name, size_t len,
    char *err, size_t errlen);
/* A decoded request asking for more interaction values than
 * FCODEC_INTERACTIONS_MAX gets status 413 and its message. */
void fcodec_interactions_fit(const fcodec_model *m, fcodec_request *req);

/* Response tensors (forest_codec_encode.c), shared by the KServe and gRPC
 * encoders; which is FCODEC_OUT_MAIN or an FCODEC_OUT_*. */
typedef struct {
    const fcodec_request *req;
    const fcodec_shape   *s;
    const float          *outputs;
    float                *row;            /* one served row */
    uint32_t              cols;
    uint32_t              k;              /* classification entries per row */
    uint32_t             *top;            /* k indices */
} fcodec_encoder;

/* 0, or -1 (no memory). */
int fcodec_encoder_init(fcodec_encoder *e, const fcodec_request *req,
    const fcodec_shape *s, const float *outputs, fcodec_alloc *a);
/* Output which's name, datatype (FP32, INT32 or, classification, BYTES)
 * and shape [N, d], [N, C, F+1] or [N, C, F+1, F+1]; returns the rank. */
uint32_t fcodec_encoder_meta(const fcodec_encoder *e, unsigned which,
    const char **name, const char **datatype, uint64_t shape[4]);
/* Its values as Triton's binary data: little-endian, BYTES as a 4-byte
 * length before each string. */
void fcodec_encoder_binary(fcodec_encoder *e, unsigned which, fcodec_out *o);

#endif /* FOREST_CODEC_INTERNAL_H */
