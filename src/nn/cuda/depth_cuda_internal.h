/* Depth Anything V2 Small on CUDA: depth_anything.c's forward pass, op for
 * op and in the same order, on one device. GEMMs go through cuBLAS in
 * pedantic fp32 (no TF32, no reduced-precision reductions); LayerNorm,
 * softmax, GELU, ReLU, im2col, the transposed conv's scatter, the resizes and
 * the position-embedding interpolation are our own kernels, each
 * evaluating the CPU's float (or double) expressions in the CPU's order;
 * the library's .cu files are built with --fmad=false, so the elementwise
 * kernels round as the CPU does and only the order of the GEMMs' and the
 * reductions' sums differs (tests/test_nn_cuda.c states the tolerances).
 *
 * cuBLAS is loaded with dlopen on first use (libcublas.so.<major of the
 * headers>, then the toolkit's lib directory of the build, or the file
 * ORFEAS_CUBLAS names): nothing here is linked against it, so the binary
 * starts without a driver or a toolkit, as with NVML (nvml.c).
 *
 * Memory: the weights are plain cudaMalloc buffers (the host model's three
 * buffers, copied as they are); a run's activations come stream-ordered from
 * the handle's own memory pool, which keeps freed blocks (the next run of
 * the same size costs no driver call) and is destroyed with the handle.
 *
 * The files (all C++, built by nvcc; this header is theirs alone):
 *   depth_cuda.cu          the handle: availability, weights upload, free
 *   depth_cuda_blas.cu     cuBLAS through dlopen, the GEMM wrappers
 *   depth_cuda_kernels.cu  the kernels
 *   depth_cuda_forward.cu  one run: the forward pass on the handle's stream
 * Their shared names are in namespace orfeas_dc. */
#ifndef ORFEAS_NN_CUDA_DEPTH_CUDA_INTERNAL_H
#define ORFEAS_NN_CUDA_DEPTH_CUDA_INTERNAL_H

#include "nn/cuda/depth_cuda_impl.h"

#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define STR2_(x) #x
#define STR_(x) STR2_(x)
#define CUBLAS_SONAME "libcublas.so." STR_(CUBLAS_VER_MAJOR)

struct nn_depth_cuda {
    int ordinal;
    int precision;
    cudaStream_t stream;
    cudaMemPool_t pool; /* NULL: plain cudaMalloc for activations */
    cublasHandle_t handle;
    pthread_mutex_t lock;
    float *blob;     /* the float32 tensors */
    __half *hstore;  /* fp16 tensors of 2+ dims (below fp32) */
    uint8_t *qstore; /* the linears below fp32: fp16, or int8 scales + weights */
    size_t blob_n, half_n, q_bytes;
    ptrdiff_t t_off[NN_DA_TENSORS]; /* floats into blob, or -1 */
    ptrdiff_t h_off[NN_DA_TENSORS]; /* halves into hstore, or -1 */
    nn_dc_lin lin[NN_DC_LAYERS][NN_DC_LINEARS];
    size_t last_run_bytes;
};

namespace orfeas_dc
{

/* ---- depth_cuda.cu -------------------------------------------------------- */

/* cudaSetDevice: the runtime's current device is per host thread. */
int use_device(int ordinal);

/* ---- depth_cuda_blas.cu --------------------------------------------------- */

/* cuBLAS's entry points once loaded (ready), else why not. */
struct blas_api {
    int ready;
    char why[256];
    decltype(&cublasCreate_v2) create;
    decltype(&cublasDestroy_v2) destroy;
    decltype(&cublasSetStream_v2) set_stream;
    decltype(&cublasSetMathMode) set_math_mode;
    decltype(&cublasSgemm_v2) sgemm;
    decltype(&cublasSgemmStridedBatched) sgemm_strided;
    decltype(&cublasGetStatusString) status_string; /* optional */
};
extern blas_api blas;

/* Loads cuBLAS on the first call (from any thread, once). */
void blas_load_once(void);
/* Maps a cuBLAS status to an orfeas code (allocation: ORFEAS_EGPUOOM),
 * logging what failed. */
int blas_error(cublasStatus_t s, const char *what);

typedef struct dlin {
    const float *w;     /* float32 [out, in], or NULL */
    const int8_t *q;    /* int8 [out, in] */
    const float *scale; /* [out] */
    const __half *h;    /* fp16 [out, in] */
    const float *b;
    int in, out;
} dlin;

typedef struct fw {
    nn_depth_cuda *d;
    cudaStream_t st;
    const float *t[NN_DA_TENSORS];
    dlin lin[NN_DC_LAYERS][NN_DC_LINEARS];
    float *arena;   /* the fp16 tensors of 2+ dims expanded (below fp32) */
    float *scratch; /* a linear's weight expanded (below fp32) */
    size_t live, peak;
} fw;

/* Row-major C[M, N] = alpha op(A) op(B) + beta C, as cblas_sgemm(CblasRowMajor,
 * ...) takes it: column-major cuBLAS computes C^T = op(B)^T op(A)^T. */
int gemm(fw *f, bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
         const float *B, int ldb, float beta, float *C, int ldc);
int gemm_batched(fw *f, bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                 long long sa, const float *B, int ldb, long long sb, float beta, float *C, int ldc,
                 long long sc, int batch);

/* ---- depth_cuda_kernels.cu ------------------------------------------------ */

__global__ void k_half_to_float(const __half *src, float *dst, size_t n);
__global__ void k_dequant(const int8_t *q, const float *scale, size_t in, size_t n, float *dst);
__global__ void k_bias_rows(float *y, const float *b, size_t out, size_t n);
__global__ void k_bias_channels(float *y, const float *b, size_t hw, size_t n);
__global__ void k_add(float *x, const float *y, size_t n);
__global__ void k_scaled_residual(float *x, const float *ls, const float *y, size_t c, size_t n);
__global__ void k_relu(float *x, size_t n);
__global__ void k_gelu(float *x, size_t n);
__global__ void k_patches(const float *img, int h, int w, int pw, float *patches, size_t n);
__global__ void k_tokens_to_map(const float *tok, int c, size_t np, float *map, size_t n);
__global__ void k_im2col(const float *x, int xh, int xw, int k, int stride, int pad, int oy0,
                         int wo, size_t ncol, float *col, size_t n);
__global__ void k_convt_scatter(const float *tmp, const float *b, int k, int xh, int xw, float *y,
                                size_t n);
__global__ void k_resize_bilinear_ac(const float *x, int xh, int xw, int oh, int ow, float sy,
                                     float sx, float *y, size_t n);
__global__ void k_pos_interp(const float *src, int g, int c, int oh, int ow, float *dst, size_t n);
__global__ void k_layernorm(const float *x, int c, const float *g, const float *b, float eps,
                            float *y);
__global__ void k_softmax_rows(float *s, int n);

} // namespace orfeas_dc

#endif
