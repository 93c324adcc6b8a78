/* A small float32 runtime for the depth network: plain row-major buffers
 * (tokens as [N, C], feature maps as [C, H, W]) and the operators the
 * DINOv2 encoder and the DPT head need. GEMMs go through OpenBLAS. */
#ifndef ORFEAS_NN_TENSOR_H
#define ORFEAS_NN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

/* A float32 feature map [c, h, w]. */
typedef struct nn_map {
    float *d;
    int c, h, w;
} nn_map;

/* Allocates c*h*w floats (overflow-checked, counted as orfeas_nn_alloc); 0 or
 * ORFEAS_ENOMEM/EINVAL. */
int orfeas_nn_map_alloc(nn_map *m, int c, int h, int w);
void orfeas_nn_map_free(nn_map *m);

/* malloc/free with a process-wide count of the bytes live and their peak
 * (src/nn/alloc.c): every buffer of the forward pass goes through these,
 * so tests and benches can measure its peak. orfeas_nn_release takes the size
 * orfeas_nn_alloc was given. */
void *orfeas_nn_alloc(size_t bytes);
void orfeas_nn_release(void *p, size_t bytes);
size_t orfeas_nn_alloc_live(void);
size_t orfeas_nn_alloc_peak(void);
/* Starts a new peak measurement: peak = what is live now. */
void orfeas_nn_alloc_reset_peak(void);

/* The largest im2col band of orfeas_nn_conv2d, in floats (16 MiB): bounds the
 * conv's scratch whatever the image size. */
#define NN_COL_BUDGET (4u << 20)
/* Floats of the im2col band orfeas_nn_conv2d allocates for ci input channels, a
 * k x k kernel and an ho x wo output (0 for the 1x1 stride-1 case). */
size_t orfeas_nn_conv_col_floats(int ci, int k, int stride, int pad, int ho, int wo);

/* A linear layer's weight [out, in]: float32, or int8 with one scale per
 * output row (symmetric), or fp16 storage converted per use. */
typedef struct nn_linear {
    const float *w;      /* float32 [out, in] (NULL when quantized) */
    const int8_t *q;     /* int8 [out, in] */
    const float *qscale; /* [out] */
    const uint16_t *h;   /* fp16 [out, in] */
    const float *b;      /* [out] or NULL */
    int in, out;
} nn_linear;

/* y[n, out] = x[n, in] * W^T + b. `scratch` holds in*out floats when the
 * weight is not float32 (may be NULL otherwise). */
void orfeas_nn_linear_fwd(const nn_linear *l, const float *x, int n, float *y, float *scratch);
/* orfeas_nn_linear_fwd in two steps, so a batch expands a weight once: the float32
 * weight (l->w, or expanded into scratch), then one GEMM over n rows. */
const float *orfeas_nn_linear_weights(const nn_linear *l, float *scratch);
void orfeas_nn_linear_apply(const nn_linear *l, const float *w, const float *x, int n, float *y);
/* LayerNorm over the last dim (eps as given), in place allowed. */
void orfeas_nn_layernorm(const float *x, int n, int c, const float *g, const float *b, float eps,
                         float *y);
/* Exact (erf) GELU, in place. */
void orfeas_nn_gelu(float *x, size_t n);
void orfeas_nn_relu(float *x, size_t n);
/* Softmax of each row of s [rows, n], in place. */
void orfeas_nn_softmax_rows(float *s, int rows, int n);
/* Multi-head self-attention on qkv already projected: q, k, v are [n, heads*dh]
 * with row stride ld; out [n, heads*dh]. One head's n x n scores at a time
 * (`scores` holds n*n floats). */
void orfeas_nn_attention(const float *q, const float *k, const float *v, int ld, int n, int heads,
                         int dh, float *out, float *scores);
/* 2-D convolution, weight [co, ci, k, k], optional bias, zero padding. Works
 * through im2col in row bands so the column buffer stays bounded. */
int orfeas_nn_conv2d(const nn_map *x, const float *w, const float *b, int co, int k, int stride,
                     int pad, nn_map *y);
/* Transposed convolution with kernel == stride (no overlap), weight
 * [ci, co, k, k] (PyTorch layout). */
int orfeas_nn_conv_transpose(const nn_map *x, const float *w, const float *b, int co, int k,
                             nn_map *y);
/* Bilinear resize with align_corners=True (PyTorch's F.interpolate). */
int orfeas_nn_resize_bilinear_ac(const nn_map *x, int oh, int ow, nn_map *y);
/* Bicubic resize as OpenCV's INTER_CUBIC (A=-0.75, half-pixel centres,
 * replicated border): the official preprocessing's resize. */
int orfeas_nn_resize_bicubic(const nn_map *x, int oh, int ow, nn_map *y);
/* The official DINOv2 position-embedding interpolation: bicubic (A=-0.75,
 * align_corners=False, no antialias) of the g x g grid `src` [g*g, c] to
 * [oh*ow, c], mapping coordinates with PyTorch's scale (n + 0.1) / g. */
void orfeas_nn_pos_interp(const float *src, int g, int c, int oh, int ow, float *dst);

#endif
