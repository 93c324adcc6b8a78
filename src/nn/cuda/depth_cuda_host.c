/* The public side of the depth network on CUDA (nn/depth_cuda.h), built
 * with the CUDA backend: reads the host model's layout and hands it, as
 * plain offsets, to the .cu files (depth_cuda.cu uploads it). */
#include "nn/cuda/depth_cuda_impl.h"
#include "nn/depth_cuda.h"
#include "nn/depth_model.h"

#include "orfeas/error.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(NN_DC_DIM == NN_DIM && NN_DC_HEADS == NN_HEADS && NN_DC_HDIM == NN_HDIM &&
                   NN_DC_MLP == NN_MLP && NN_DC_LAYERS == NN_LAYERS && NN_DC_GRID == NN_GRID &&
                   NN_DC_FEAT == NN_FEAT,
               "depth_cuda_impl.h's sizes must be depth_model.h's");
_Static_assert(NN_DC_Q == L_Q && NN_DC_K == L_K && NN_DC_V == L_V && NN_DC_O == L_O &&
                   NN_DC_FC1 == L_FC1 && NN_DC_FC2 == L_FC2 && NN_DC_LINEARS == L_COUNT,
               "depth_cuda_impl.h's linears must be depth_model.h's");
_Static_assert(NN_DC_FP32 == ORFEAS_DEPTH_FP32 && NN_DC_FP16 == ORFEAS_DEPTH_FP16 &&
                   NN_DC_INT8 == ORFEAS_DEPTH_INT8,
               "depth_cuda_impl.h's precisions must be orfeas_depth_precision's");

/* Offset of p from base in elements of `size` bytes, extending *end by n
 * elements; -1 for NULL. */
static ptrdiff_t offset_of(const void *p, const void *base, size_t size, size_t n, size_t *end)
{
    if (!p) return -1;
    ptrdiff_t off = ((const char *)p - (const char *)base) / (ptrdiff_t)size;
    if ((size_t)off + n > *end) *end = (size_t)off + n;
    return off;
}

int orfeas_nn_depth_cuda_available(char *why, size_t why_size)
{
    return orfeas_nn_dc_available(why, why_size);
}

int orfeas_nn_depth_cuda_upload(const orfeas_depth_model *m, int ordinal, nn_depth_cuda **out)
{
    *out = NULL;
    if (!m) return ORFEAS_EINVAL;
    nn_dc_layout *l = calloc(1, sizeof *l);
    if (!l) return ORFEAS_ENOMEM;
    l->precision = (int)m->precision;
    l->blob = m->blob;
    l->hstore = m->hstore;
    l->qstore = m->qstore;
    size_t blob_end = 0, half_end = 0, q_end = 0;
    for (int i = 0; i < NN_DA_TENSORS; i++) {
        size_t n = orfeas_nn_spec_numel(&orfeas_nn_da_specs[i]);
        l->t_off[i] = offset_of(m->t[i], m->blob, sizeof(float), n, &blob_end);
        l->h_off[i] = offset_of(m->half[i], m->hstore, sizeof(uint16_t), n, &half_end);
    }
    for (int i = 0; i < NN_LAYERS; i++)
        for (int k = 0; k < L_COUNT; k++) {
            const nn_linear *hl = &m->lin[i][k];
            nn_dc_lin *o = &l->lin[i][k];
            size_t n = (size_t)hl->in * (size_t)hl->out;
            o->in = hl->in;
            o->out = hl->out;
            o->w = offset_of(hl->w, m->blob, sizeof(float), n, &blob_end);
            o->b = offset_of(hl->b, m->blob, sizeof(float), (size_t)hl->out, &blob_end);
            o->q = offset_of(hl->q, m->qstore, 1, n, &q_end);
            o->s = offset_of(hl->qscale, m->qstore, 1, (size_t)hl->out * sizeof(float), &q_end);
            o->h = offset_of(hl->h, m->qstore, 1, n * sizeof(uint16_t), &q_end);
        }
    l->blob_n = blob_end;
    l->half_n = half_end;
    l->q_bytes = q_end;
    int rc = orfeas_nn_dc_upload(l, ordinal, out);
    free(l);
    return rc;
}

size_t orfeas_nn_depth_cuda_resident_bytes(const nn_depth_cuda *d)
{
    return orfeas_nn_dc_resident_bytes(d);
}

orfeas_depth_precision orfeas_nn_depth_cuda_precision(const nn_depth_cuda *d)
{
    return (orfeas_depth_precision)orfeas_nn_dc_precision(d);
}

int orfeas_nn_depth_cuda_run(nn_depth_cuda *d, const float *chw, int h, int w, float *out)
{
    return orfeas_nn_dc_run(d, chw, h, w, out);
}

size_t orfeas_nn_depth_cuda_last_run_bytes(const nn_depth_cuda *d)
{
    return orfeas_nn_dc_last_run_bytes(d);
}

void orfeas_nn_depth_cuda_free(nn_depth_cuda *d)
{
    orfeas_nn_dc_free(d);
}
