/* Between depth_cuda_host.c (C: reads the host model) and the .cu files
 * (C++: the device side, depth_cuda_internal.h). Only plain types here, so
 * that the .cu files include neither orfeas/depth.h nor nn/depth_model.h (C
 * headers that C++ need not accept); depth_cuda_host.c checks that the sizes
 * below are the model's. */
#ifndef ORFEAS_NN_CUDA_DEPTH_CUDA_IMPL_H
#define ORFEAS_NN_CUDA_DEPTH_CUDA_IMPL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "nn/weights.h"

/* nn/depth_model.h's NN_DIM, NN_HEADS, ... (checked equal there). */
#define NN_DC_DIM 384
#define NN_DC_HEADS 6
#define NN_DC_HDIM 64
#define NN_DC_MLP 1536
#define NN_DC_LAYERS 12
#define NN_DC_GRID 37
#define NN_DC_FEAT 64
/* The linears of a layer in depth_model.h's order: q, k, v, o, fc1, fc2. */
#define NN_DC_Q 0
#define NN_DC_K 1
#define NN_DC_V 2
#define NN_DC_O 3
#define NN_DC_FC1 4
#define NN_DC_FC2 5
#define NN_DC_LINEARS 6
/* orfeas_depth_precision's values. */
#define NN_DC_FP32 0
#define NN_DC_FP16 1
#define NN_DC_INT8 2

/* One encoder linear: where its parts lie in the host model's buffers. */
typedef struct nn_dc_lin {
    ptrdiff_t w, b;    /* floats into blob, or -1 */
    ptrdiff_t q, s, h; /* bytes into qstore (int8 weights, float scales, fp16 weights), or -1 */
    int in, out;
} nn_dc_lin;

/* The host model's three buffers (copied to the device as they are) and
 * where each tensor lies in them. */
typedef struct nn_dc_layout {
    int precision;
    const float *blob;      /* float32 tensors */
    const uint16_t *hstore; /* fp16 tensors of 2+ dims, or NULL */
    const void *qstore;     /* the linears below fp32, or NULL */
    size_t blob_n, half_n, q_bytes;
    ptrdiff_t t_off[NN_DA_TENSORS]; /* floats into blob, or -1 */
    ptrdiff_t h_off[NN_DA_TENSORS]; /* halves into hstore, or -1 */
    nn_dc_lin lin[NN_DC_LAYERS][NN_DC_LINEARS];
} nn_dc_layout;

typedef struct nn_depth_cuda nn_depth_cuda;

int orfeas_nn_dc_available(char *why, size_t why_size);
int orfeas_nn_dc_upload(const nn_dc_layout *l, int ordinal, nn_depth_cuda **out);
size_t orfeas_nn_dc_resident_bytes(const nn_depth_cuda *d);
int orfeas_nn_dc_precision(const nn_depth_cuda *d);
int orfeas_nn_dc_run(nn_depth_cuda *d, const float *chw, int h, int w, float *out);
size_t orfeas_nn_dc_last_run_bytes(const nn_depth_cuda *d);
void orfeas_nn_dc_free(nn_depth_cuda *d);

#ifdef __cplusplus
}
#endif
#endif
