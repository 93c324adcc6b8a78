/* Depth Anything V2 Small on CUDA: depth_anything.c's forward pass, op for
 * op and in the same order, on one device. GEMMs go through cuBLAS in
 * pedantic fp32 (no TF32, no reduced-precision reductions); LayerNorm,
 * softmax, GELU, ReLU, im2col, the transposed conv's scatter, the resizes and
 * the position-embedding interpolation are this file's kernels, each
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
 * the same size costs no driver call) and is destroyed with the handle. */
#include "device/cuda/cuda_backend.h"

#include "nn/cuda/depth_cuda_impl.h"

extern "C" {
#include "orfeas/error.h"
#include "orfeas/log.h"
}

#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ORFEAS_CUBLAS_DIR
#define ORFEAS_CUBLAS_DIR "/usr/local/cuda/lib64"
#endif
#define STR2_(x) #x
#define STR_(x) STR2_(x)
#define CUBLAS_SONAME "libcublas.so." STR_(CUBLAS_VER_MAJOR)

enum { BLOCK = 256 };
/* One chunk of heads' attention scores at most (floats): 512 MiB. A single
 * head's n x n may exceed it (up to 1 GiB at 128 x 128 patches, as on the
 * CPU); then the heads go one at a time. */
static const size_t SCORE_BUDGET = (size_t)128 << 20;
/* The largest im2col band (floats): 128 MiB, whatever the image size. */
static const size_t COL_BUDGET = (size_t)32 << 20;

static void set_why(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t why_size, const char *fmt, ...)
{
    if (!why || !why_size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}

/* ---- cuBLAS through dlopen ---------------------------------------------- */

static struct {
    int ready;
    char why[256];
    decltype(&cublasCreate_v2) create;
    decltype(&cublasDestroy_v2) destroy;
    decltype(&cublasSetStream_v2) set_stream;
    decltype(&cublasSetMathMode) set_math_mode;
    decltype(&cublasSgemm_v2) sgemm;
    decltype(&cublasSgemmStridedBatched) sgemm_strided;
    decltype(&cublasGetStatusString) status_string; /* optional */
} blas;

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void *open_lib(const char *dir, char *err, size_t err_size)
{
    const char *env = getenv("ORFEAS_CUBLAS");
    void *lib = NULL;
    if (env && env[0]) {
        lib = dlopen(env, RTLD_NOW | RTLD_LOCAL);
        if (!lib) snprintf(err, err_size, "%s", dlerror());
        return lib;
    }
    lib = dlopen(CUBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib) return lib;
    snprintf(err, err_size, "%s", dlerror());
    /* The toolkit's directory of the build: libcublas finds its libcublasLt
     * there through its own RUNPATH ($ORIGIN). */
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, CUBLAS_SONAME);
    lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) snprintf(err, err_size, "%s", dlerror());
    return lib;
}

static void blas_load(void)
{
    char err[200] = "";
    void *lib = open_lib(ORFEAS_CUBLAS_DIR, err, sizeof err);
    if (!lib) {
        snprintf(blas.why, sizeof blas.why, "cuBLAS not found: %s", err);
        return;
    }
    *(void **)&blas.create = dlsym(lib, "cublasCreate_v2");
    *(void **)&blas.destroy = dlsym(lib, "cublasDestroy_v2");
    *(void **)&blas.set_stream = dlsym(lib, "cublasSetStream_v2");
    *(void **)&blas.set_math_mode = dlsym(lib, "cublasSetMathMode");
    *(void **)&blas.sgemm = dlsym(lib, "cublasSgemm_v2");
    *(void **)&blas.sgemm_strided = dlsym(lib, "cublasSgemmStridedBatched");
    *(void **)&blas.status_string = dlsym(lib, "cublasGetStatusString");
    if (!blas.create || !blas.destroy || !blas.set_stream || !blas.set_math_mode || !blas.sgemm ||
        !blas.sgemm_strided) {
        snprintf(blas.why, sizeof blas.why, "cuBLAS (%s) lacks a needed symbol", CUBLAS_SONAME);
        dlclose(lib);
        return;
    }
    /* Kept for the life of the process: handles may live until exit. */
    blas.ready = 1;
    ORFEAS_DEBUG("depth cuda: cuBLAS loaded (%s)", CUBLAS_SONAME);
}

static int blas_error(cublasStatus_t s, const char *what)
{
    if (s == CUBLAS_STATUS_SUCCESS) return 0;
    if (s == CUBLAS_STATUS_ALLOC_FAILED) return ORFEAS_EGPUOOM;
    ORFEAS_ERROR("depth cuda: %s: %s (%d)", what,
                 blas.status_string ? blas.status_string(s) : "cuBLAS error", (int)s);
    return ORFEAS_EINTERNAL;
}

/* ---- the handle ----------------------------------------------------------- */

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

static const char *precision_name(int p)
{
    return p == NN_DC_FP16 ? "fp16" : p == NN_DC_INT8 ? "int8" : "fp32";
}

static int use_device(int ordinal)
{
    return orfeas_cuda_error(cudaSetDevice(ordinal), "cudaSetDevice");
}

int nn_dc_available(char *why, size_t why_size)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        const char *fmt = e == cudaErrorInsufficientDriver
                              ? "no CUDA driver: cudaGetDeviceCount: %s"
                          : e == cudaErrorNoDevice ? "no CUDA device: cudaGetDeviceCount: %s"
                                                   : "CUDA unusable: cudaGetDeviceCount: %s";
        set_why(why, why_size, fmt, cudaGetErrorString(e));
        return 0;
    }
    if (count < 1) {
        set_why(why, why_size, "no CUDA device");
        return 0;
    }
    pthread_once(&blas_once, blas_load);
    if (!blas.ready) {
        set_why(why, why_size, "%s", blas.why);
        return 0;
    }
    set_why(why, why_size, "%d CUDA device(s), %s", count, CUBLAS_SONAME);
    return 1;
}

size_t nn_dc_resident_bytes(const nn_depth_cuda *d)
{
    return d ? d->blob_n * sizeof(float) + d->half_n * sizeof(__half) + d->q_bytes : 0;
}

int nn_dc_precision(const nn_depth_cuda *d)
{
    return d ? d->precision : NN_DC_FP32;
}

size_t nn_dc_last_run_bytes(const nn_depth_cuda *d)
{
    return d ? d->last_run_bytes : 0;
}

void nn_dc_free(nn_depth_cuda *d)
{
    if (!d) return;
    if (!use_device(d->ordinal)) {
        if (d->stream) orfeas_cuda_error(cudaStreamSynchronize(d->stream), "cudaStreamSynchronize");
        if (d->handle) blas_error(blas.destroy(d->handle), "cublasDestroy");
        if (d->blob) orfeas_cuda_error(cudaFree(d->blob), "cudaFree");
        if (d->hstore) orfeas_cuda_error(cudaFree(d->hstore), "cudaFree");
        if (d->qstore) orfeas_cuda_error(cudaFree(d->qstore), "cudaFree");
        if (d->pool) orfeas_cuda_error(cudaMemPoolDestroy(d->pool), "cudaMemPoolDestroy");
        if (d->stream) orfeas_cuda_error(cudaStreamDestroy(d->stream), "cudaStreamDestroy");
    }
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static int upload_buffer(nn_depth_cuda *d, void **dst, const void *src, size_t bytes)
{
    *dst = NULL;
    if (!bytes) return 0;
    int rc = orfeas_cuda_error(cudaMalloc(dst, bytes), "cudaMalloc (weights)");
    if (rc) {
        *dst = NULL;
        return rc;
    }
    return orfeas_cuda_error(cudaMemcpyAsync(*dst, src, bytes, cudaMemcpyHostToDevice, d->stream),
                             "cudaMemcpyAsync (weights)");
}

int nn_dc_upload(const nn_dc_layout *l, int ordinal, nn_depth_cuda **out)
{
    *out = NULL;
    char why[256];
    if (!nn_dc_available(why, sizeof why)) {
        ORFEAS_WARN("depth cuda: not available (%s)", why);
        return ORFEAS_ENOTFOUND;
    }
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || ordinal < 0 || ordinal >= count) {
        (void)cudaGetLastError();
        ORFEAS_WARN("depth cuda: no CUDA device %d (found %d)", ordinal, count);
        return ORFEAS_ENOTFOUND;
    }
    nn_depth_cuda *d = (nn_depth_cuda *)calloc(1, sizeof *d);
    if (!d) return ORFEAS_ENOMEM;
    pthread_mutex_init(&d->lock, NULL);
    d->ordinal = ordinal;
    d->precision = l->precision;
    d->blob_n = l->blob_n;
    d->half_n = l->half_n;
    d->q_bytes = l->q_bytes;
    memcpy(d->t_off, l->t_off, sizeof d->t_off);
    memcpy(d->h_off, l->h_off, sizeof d->h_off);
    memcpy(d->lin, l->lin, sizeof d->lin);

    int rc = use_device(ordinal);
    if (!rc)
        rc = orfeas_cuda_error(cudaStreamCreateWithFlags(&d->stream, cudaStreamNonBlocking),
                               "cudaStreamCreateWithFlags");
    int pools = 0;
    if (!rc)
        rc = orfeas_cuda_error(
            cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, ordinal),
            "cudaDeviceGetAttribute");
    if (!rc && pools) {
        cudaMemPoolProps props;
        memset(&props, 0, sizeof props);
        props.allocType = cudaMemAllocationTypePinned;
        props.location.type = cudaMemLocationTypeDevice;
        props.location.id = ordinal;
        rc = orfeas_cuda_error(cudaMemPoolCreate(&d->pool, &props), "cudaMemPoolCreate");
        if (!rc) {
            /* Keeps freed blocks: the next run of this size costs no driver call. */
            uint64_t keep = UINT64_MAX;
            rc = orfeas_cuda_error(
                cudaMemPoolSetAttribute(d->pool, cudaMemPoolAttrReleaseThreshold, &keep),
                "cudaMemPoolSetAttribute");
        }
    }
    if (!rc) {
        cublasStatus_t s = blas.create(&d->handle);
        if (s != CUBLAS_STATUS_SUCCESS) {
            d->handle = NULL;
            if (s == CUBLAS_STATUS_NOT_INITIALIZED) {
                ORFEAS_WARN("depth cuda: cublasCreate: CUDA not initialised");
                rc = ORFEAS_ENOTFOUND;
            } else {
                rc = blas_error(s, "cublasCreate");
            }
        }
    }
    if (!rc) rc = blas_error(blas.set_stream(d->handle, d->stream), "cublasSetStream");
    /* True fp32: no TF32 tensor cores, no reduced-precision reductions. */
    if (!rc)
        rc = blas_error(blas.set_math_mode(d->handle, CUBLAS_PEDANTIC_MATH), "cublasSetMathMode");
    if (!rc) rc = upload_buffer(d, (void **)&d->blob, l->blob, d->blob_n * sizeof(float));
    if (!rc) rc = upload_buffer(d, (void **)&d->hstore, l->hstore, d->half_n * sizeof(uint16_t));
    if (!rc) rc = upload_buffer(d, (void **)&d->qstore, l->qstore, d->q_bytes);
    if (!rc)
        rc = orfeas_cuda_error(cudaStreamSynchronize(d->stream), "cudaStreamSynchronize (upload)");
    if (rc) {
        if (rc == ORFEAS_EGPUOOM)
            ORFEAS_WARN("depth cuda: out of device memory for the %s weights (%.1f MiB)",
                        precision_name(l->precision), nn_dc_resident_bytes(d) / 1048576.0);
        nn_dc_free(d);
        return rc;
    }
    ORFEAS_INFO("depth cuda: %s weights on cuda:%d (%.1f MiB)", precision_name(l->precision),
                ordinal, nn_dc_resident_bytes(d) / 1048576.0);
    *out = d;
    return 0;
}

/* ---- kernels -------------------------------------------------------------- */

/* Grid-stride kernels: a bounded grid covers any n. */
static unsigned blocks_for(size_t n)
{
    size_t b = (n + BLOCK - 1) / BLOCK;
    return (unsigned)(b < ((size_t)1 << 20) ? b : ((size_t)1 << 20));
}

#define FOR_EACH(i, n)                                                                             \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                        \
         i += (size_t)gridDim.x * blockDim.x)

static __global__ void k_half_to_float(const __half *src, float *dst, size_t n)
{
    FOR_EACH(i, n) dst[i] = __half2float(src[i]);
}

/* nn_linear_fwd's dequantisation: (float)q * scale per output row. */
static __global__ void k_dequant(const int8_t *q, const float *scale, size_t in, size_t n,
                                 float *dst)
{
    FOR_EACH(i, n) dst[i] = (float)q[i] * scale[i / in];
}

static __global__ void k_bias_rows(float *y, const float *b, size_t out, size_t n)
{
    FOR_EACH(i, n) y[i] += b[i % out];
}

static __global__ void k_bias_channels(float *y, const float *b, size_t hw, size_t n)
{
    FOR_EACH(i, n) y[i] += b[i / hw];
}

static __global__ void k_add(float *x, const float *y, size_t n)
{
    FOR_EACH(i, n) x[i] += y[i];
}

/* x += ls[c] * y (layer scale), as the encoder's residuals. */
static __global__ void k_scaled_residual(float *x, const float *ls, const float *y, size_t c,
                                         size_t n)
{
    FOR_EACH(i, n) x[i] += ls[i % c] * y[i];
}

static __global__ void k_relu(float *x, size_t n)
{
    FOR_EACH(i, n) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static __global__ void k_gelu(float *x, size_t n)
{
    FOR_EACH(i, n) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

/* The 14 x 14 stride-14 patches as rows [np, 3*14*14] (the encoder's copy). */
static __global__ void k_patches(const float *img, int h, int w, int pw, float *patches, size_t n)
{
    FOR_EACH(id, n)
    {
        size_t p = id / 588, r = id % 588;
        int c = (int)(r / 196), ky = (int)(r % 196) / 14, kx = (int)(r % 14);
        int i = (int)(p / (size_t)pw), j = (int)(p % (size_t)pw);
        patches[id] = img[((size_t)c * h + (size_t)i * 14 + ky) * w + (size_t)j * 14 + kx];
    }
}

/* Tokens [n, c] (class token skipped by the caller) to a map [c, n]. */
static __global__ void k_tokens_to_map(const float *tok, int c, size_t np, float *map, size_t n)
{
    FOR_EACH(id, n)
    {
        size_t ch = id / np, i = id % np;
        map[id] = tok[i * (size_t)c + ch];
    }
}

static __global__ void k_im2col(const float *x, int xh, int xw, int k, int stride, int pad, int oy0,
                                int wo, size_t ncol, float *col, size_t n)
{
    FOR_EACH(id, n)
    {
        size_t q = id / ncol, rem = id % ncol;
        int r = (int)(rem / (size_t)wo), ox = (int)(rem % (size_t)wo);
        int kx = (int)(q % (size_t)k), ky = (int)(q / (size_t)k % (size_t)k);
        size_t c = q / ((size_t)k * k);
        int iy = (oy0 + r) * stride - pad + ky, ix = ox * stride - pad + kx;
        col[id] = (iy >= 0 && iy < xh && ix >= 0 && ix < xw)
                      ? x[(c * xh + (size_t)iy) * xw + (size_t)ix]
                      : 0.0f;
    }
}

/* nn_conv_transpose's scatter: y[o, i*k+ky, j*k+kx] = tmp[(o,ky,kx), (i,j)] + b[o]. */
static __global__ void k_convt_scatter(const float *tmp, const float *b, int k, int xh, int xw,
                                       float *y, size_t n)
{
    FOR_EACH(id, n)
    {
        size_t yh = (size_t)xh * k, yw = (size_t)xw * k, hw = (size_t)xh * xw;
        size_t o = id / (yh * yw), rem = id % (yh * yw);
        size_t yy = rem / yw, xx = rem % yw;
        size_t i = yy / k, ky = yy % k, j = xx / k, kx = xx % k;
        const float *t = tmp + ((o * k + ky) * k + kx) * hw;
        y[id] = t[i * xw + j] + (b ? b[o] : 0.0f);
    }
}

/* nn_resize_bilinear_ac, the same float expressions. */
static __global__ void k_resize_bilinear_ac(const float *x, int xh, int xw, int oh, int ow,
                                            float sy, float sx, float *y, size_t n)
{
    FOR_EACH(id, n)
    {
        size_t c = id / ((size_t)oh * ow), rem = id % ((size_t)oh * ow);
        int i = (int)(rem / (size_t)ow), j = (int)(rem % (size_t)ow);
        const float *src = x + c * xh * xw;
        float fy = sy * (float)i;
        int y0 = (int)fy;
        if (y0 > xh - 1) y0 = xh - 1;
        int y1 = y0 + (y0 < xh - 1);
        float ly = fy - (float)y0, hy = 1.0f - ly;
        float fx = sx * (float)j;
        int x0 = (int)fx;
        if (x0 > xw - 1) x0 = xw - 1;
        int x1 = x0 + (x0 < xw - 1);
        float lx = fx - (float)x0, hx = 1.0f - lx;
        const float *r0 = src + (size_t)y0 * xw, *r1 = src + (size_t)y1 * xw;
        y[id] = hy * (hx * r0[x0] + lx * r0[x1]) + ly * (hx * r1[x0] + lx * r1[x1]);
    }
}

/* nn_pos_interp (ops.c), in double as there, one thread per value. */
static __device__ void cubic_weights(double t, double wt[4])
{
    const double A = -0.75;
    double x1 = t + 1.0, x2 = 1.0 - t, x3 = 2.0 - t;
    wt[0] = ((A * x1 - 5.0 * A) * x1 + 8.0 * A) * x1 - 4.0 * A;
    wt[1] = ((A + 2.0) * t - (A + 3.0)) * t * t + 1.0;
    wt[2] = ((A + 2.0) * x2 - (A + 3.0)) * x2 * x2 + 1.0;
    wt[3] = ((A * x3 - 5.0 * A) * x3 + 8.0 * A) * x3 - 4.0 * A;
}

static __device__ void cubic_taps(int dst, int n, int g, int idx[4], double wt[4])
{
    double src = (dst + 0.5) * ((double)g / (n + 0.1)) - 0.5;
    double f = floor(src);
    cubic_weights(src - f, wt);
    for (int i = 0; i < 4; i++) {
        long long v = (long long)f - 1 + i;
        idx[i] = v < 0 ? 0 : v > g - 1 ? g - 1 : (int)v;
    }
}

static __global__ void k_pos_interp(const float *src, int g, int c, int oh, int ow, float *dst,
                                    size_t n)
{
    FOR_EACH(id, n)
    {
        int ch = (int)(id % (size_t)c);
        size_t p = id / (size_t)c;
        int i = (int)(p / (size_t)ow), j = (int)(p % (size_t)ow);
        int iy[4], ix[4];
        double wy[4], wx[4];
        cubic_taps(i, oh, g, iy, wy);
        cubic_taps(j, ow, g, ix, wx);
        double acc = 0.0;
        for (int a = 0; a < 4; a++) {
            double row = 0.0;
            for (int bb = 0; bb < 4; bb++)
                row += wx[bb] * src[((size_t)iy[a] * g + ix[bb]) * c + ch];
            acc += wy[a] * row;
        }
        dst[id] = (float)acc;
    }
}

template <typename T> static __device__ T warp_sum(T v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

static __device__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    return v;
}

/* The block's sum (or max), returned to every thread; sh holds 32 values. */
template <typename T, bool MAX> static __device__ T block_reduce(T v, T *sh)
{
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    if constexpr (MAX)
        v = warp_max(v);
    else
        v = warp_sum(v);
    __syncthreads(); /* sh may still be read by the previous reduction */
    if (lane == 0) sh[wid] = v;
    __syncthreads();
    if (wid == 0) {
        T t = lane < warps ? sh[lane] : (MAX ? sh[0] : (T)0);
        if constexpr (MAX)
            t = warp_max(t);
        else
            t = warp_sum(t);
        if (lane == 0) sh[0] = t;
    }
    __syncthreads();
    return sh[0];
}

/* nn_layernorm: one block per row, mean and variance summed in double. */
static __global__ void k_layernorm(const float *x, int c, const float *g, const float *b, float eps,
                                   float *y)
{
    __shared__ double sh[32];
    const float *xr = x + (size_t)blockIdx.x * c;
    float *yr = y + (size_t)blockIdx.x * c;
    double s = 0.0;
    for (int i = threadIdx.x; i < c; i += blockDim.x)
        s += xr[i];
    s = block_reduce<double, false>(s, sh);
    double mean = s / c, v = 0.0;
    for (int i = threadIdx.x; i < c; i += blockDim.x) {
        double dd = xr[i] - mean;
        v += dd * dd;
    }
    v = block_reduce<double, false>(v, sh);
    double inv = 1.0 / sqrt(v / c + (double)eps);
    for (int i = threadIdx.x; i < c; i += blockDim.x)
        yr[i] = (float)((xr[i] - mean) * inv) * g[i] + b[i];
}

/* nn_softmax_rows: one block per row. */
static __global__ void k_softmax_rows(float *s, int n)
{
    __shared__ float sh[32];
    float *x = s + (size_t)blockIdx.x * n;
    float mx = x[0];
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        mx = fmaxf(mx, x[j]);
    mx = block_reduce<float, true>(mx, sh);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        float e = expf(x[j] - mx);
        x[j] = e;
        sum += e;
    }
    sum = block_reduce<float, false>(sum, sh);
    float inv = 1.0f / sum;
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        x[j] *= inv;
}

/* ---- one run -------------------------------------------------------------- */

typedef struct dlin {
    const float *w;     /* float32 [out, in], or NULL */
    const int8_t *q;    /* int8 [out, in] */
    const float *scale; /* [out] */
    const __half *h;    /* fp16 [out, in] */
    const float *b;
    int in, out;
} dlin;

typedef struct dmap {
    float *d;
    int c, h, w;
} dmap;

typedef struct fw {
    nn_depth_cuda *d;
    cudaStream_t st;
    const float *t[NN_DA_TENSORS];
    dlin lin[NN_DC_LAYERS][NN_DC_LINEARS];
    float *arena;   /* the fp16 tensors of 2+ dims expanded (below fp32) */
    float *scratch; /* a linear's weight expanded (below fp32) */
    size_t live, peak;
} fw;

static int launched(const char *what)
{
    return orfeas_cuda_error(cudaGetLastError(), what);
}

static int falloc(fw *f, size_t n, float **p)
{
    *p = NULL;
    if (n == 0) n = 1;
    if (n > SIZE_MAX / sizeof(float)) return ORFEAS_EGPUOOM;
    size_t bytes = n * sizeof(float);
    cudaError_t e = f->d->pool ? cudaMallocFromPoolAsync((void **)p, bytes, f->d->pool, f->st)
                               : cudaMalloc((void **)p, bytes);
    if (e != cudaSuccess) {
        *p = NULL;
        return orfeas_cuda_error(e, "cudaMallocFromPoolAsync");
    }
    f->live += bytes;
    if (f->live > f->peak) f->peak = f->live;
    return 0;
}

static void ffree(fw *f, float **p, size_t n)
{
    if (!*p) return;
    if (n == 0) n = 1;
    cudaError_t e = f->d->pool ? cudaFreeAsync(*p, f->st) : cudaFree(*p);
    orfeas_cuda_error(e, "cudaFreeAsync");
    f->live -= n * sizeof(float);
    *p = NULL;
}

static size_t map_numel(const dmap *m)
{
    return (size_t)m->c * m->h * m->w;
}

static int map_alloc(fw *f, dmap *m, int c, int h, int w)
{
    m->d = NULL;
    m->c = m->h = m->w = 0;
    if (c <= 0 || h <= 0 || w <= 0) return ORFEAS_EINVAL;
    int rc = falloc(f, (size_t)c * h * w, &m->d);
    if (rc) return rc;
    m->c = c;
    m->h = h;
    m->w = w;
    return 0;
}

static void map_free(fw *f, dmap *m)
{
    ffree(f, &m->d, map_numel(m));
    m->c = m->h = m->w = 0;
}

static const float *T(const fw *f, const char *name)
{
    int i = nn_da_spec_index(name);
    return i >= 0 ? f->t[i] : NULL;
}

/* Row-major C[M, N] = alpha op(A) op(B) + beta C, as cblas_sgemm(CblasRowMajor,
 * ...) takes it: column-major cuBLAS computes C^T = op(B)^T op(A)^T. */
static int gemm(fw *f, bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc)
{
    return blas_error(blas.sgemm(f->d->handle, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                 ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B, ldb, A, lda,
                                 &beta, C, ldc),
                      "cublasSgemm");
}

static int gemm_batched(fw *f, bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
                        int lda, long long sa, const float *B, int ldb, long long sb, float beta,
                        float *C, int ldc, long long sc, int batch)
{
    return blas_error(blas.sgemm_strided(f->d->handle, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                         ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B, ldb,
                                         sb, A, lda, sa, &beta, C, ldc, sc, batch),
                      "cublasSgemmStridedBatched");
}

#define LAUNCH(kernel, n, ...)                                                                     \
    ((n) == 0 ? 0 : (kernel<<<blocks_for(n), BLOCK, 0, f->st>>>(__VA_ARGS__), launched(#kernel)))

/* nn_linear_fwd: y[n, out] = x[n, in] W^T + b. */
static int linear_fwd(fw *f, const dlin *l, const float *x, int n, float *y)
{
    const float *w = l->w;
    size_t total = (size_t)l->in * l->out;
    int rc;
    if (!w && l->q) {
        if ((rc = LAUNCH(k_dequant, total, l->q, l->scale, (size_t)l->in, total, f->scratch)))
            return rc;
        w = f->scratch;
    } else if (!w && l->h) {
        if ((rc = LAUNCH(k_half_to_float, total, l->h, f->scratch, total))) return rc;
        w = f->scratch;
    }
    if ((rc = gemm(f, false, true, n, l->out, l->in, 1.0f, x, l->in, w, l->in, 0.0f, y, l->out)))
        return rc;
    size_t ny = (size_t)n * l->out;
    return l->b ? LAUNCH(k_bias_rows, ny, y, l->b, (size_t)l->out, ny) : 0;
}

static int layernorm(fw *f, const float *x, int n, int c, const float *g, const float *b, float eps,
                     float *y)
{
    k_layernorm<<<n, 128, 0, f->st>>>(x, c, g, b, eps, y);
    return launched("k_layernorm");
}

/* nn_attention, several heads per batched GEMM (all six when the scores fit
 * SCORE_BUDGET, else fewer, one at least). */
static int attention(fw *f, const float *q, const float *k, const float *v, int ld, int n,
                     int heads, int dh, float *out, float *scores, int hb)
{
    float scale = 1.0f / sqrtf((float)dh);
    long long nn = (long long)n * n;
    for (int h0 = 0; h0 < heads; h0 += hb) {
        int cnt = heads - h0 < hb ? heads - h0 : hb;
        int rc = gemm_batched(f, false, true, n, n, dh, scale, q + h0 * dh, ld, dh, k + h0 * dh, ld,
                              dh, 0.0f, scores, n, nn, cnt);
        if (rc) return rc;
        k_softmax_rows<<<(unsigned)((size_t)cnt * n), BLOCK, 0, f->st>>>(scores, n);
        if ((rc = launched("k_softmax_rows"))) return rc;
        rc = gemm_batched(f, false, false, n, dh, n, 1.0f, scores, n, nn, v + h0 * dh, ld, dh, 0.0f,
                          out + h0 * dh, heads * dh, dh, cnt);
        if (rc) return rc;
    }
    return 0;
}

/* nn_conv2d: 1x1 as one GEMM, else im2col in row bands. Allocates y. */
static int conv2d(fw *f, const dmap *x, const float *w, const float *b, int co, int k, int stride,
                  int pad, dmap *y)
{
    int ho = (x->h + 2 * pad - k) / stride + 1, wo = (x->w + 2 * pad - k) / stride + 1;
    if (ho <= 0 || wo <= 0) return ORFEAS_EINVAL;
    int rc = map_alloc(f, y, co, ho, wo);
    if (rc) return rc;
    size_t hw = (size_t)ho * wo, kk = (size_t)x->c * k * k;
    if (k == 1 && stride == 1 && pad == 0) {
        rc = gemm(f, false, false, co, (int)hw, x->c, 1.0f, w, x->c, x->d, (int)hw, 0.0f, y->d,
                  (int)hw);
    } else {
        size_t band = COL_BUDGET / (kk * (size_t)wo);
        if (band < 1) band = 1;
        if (band > (size_t)ho) band = (size_t)ho;
        float *col;
        size_t coln = kk * band * wo;
        rc = falloc(f, coln, &col);
        for (int oy0 = 0; oy0 < ho && !rc; oy0 += (int)band) {
            int rows = ho - oy0 < (int)band ? ho - oy0 : (int)band;
            size_t ncol = (size_t)rows * wo, n = kk * ncol;
            rc = LAUNCH(k_im2col, n, x->d, x->h, x->w, k, stride, pad, oy0, wo, ncol, col, n);
            if (!rc)
                rc = gemm(f, false, false, co, (int)ncol, (int)kk, 1.0f, w, (int)kk, col, (int)ncol,
                          0.0f, y->d + (size_t)oy0 * wo, (int)hw);
        }
        ffree(f, &col, coln);
    }
    size_t n = (size_t)co * hw;
    if (!rc && b) rc = LAUNCH(k_bias_channels, n, y->d, b, hw, n);
    if (rc) map_free(f, y);
    return rc;
}

/* nn_conv_transpose (kernel == stride), weight [ci, co, k, k]. Allocates y. */
static int conv_transpose(fw *f, const dmap *x, const float *w, const float *b, int co, int k,
                          dmap *y)
{
    size_t hw = (size_t)x->h * x->w, rows = (size_t)co * k * k;
    float *tmp;
    int rc = falloc(f, rows * hw, &tmp);
    if (rc) return rc;
    rc = map_alloc(f, y, co, x->h * k, x->w * k);
    if (!rc)
        rc = gemm(f, true, false, (int)rows, (int)hw, x->c, 1.0f, w, (int)rows, x->d, (int)hw, 0.0f,
                  tmp, (int)hw);
    size_t n = map_numel(y);
    if (!rc) rc = LAUNCH(k_convt_scatter, n, tmp, b, k, x->h, x->w, y->d, n);
    ffree(f, &tmp, rows * hw);
    if (rc) map_free(f, y);
    return rc;
}

static int resize_bilinear_ac(fw *f, const dmap *x, int oh, int ow, dmap *y)
{
    int rc = map_alloc(f, y, x->c, oh, ow);
    if (rc) return rc;
    float sy = oh > 1 ? (float)(x->h - 1) / (float)(oh - 1) : 0.0f;
    float sx = ow > 1 ? (float)(x->w - 1) / (float)(ow - 1) : 0.0f;
    size_t n = map_numel(y);
    rc = LAUNCH(k_resize_bilinear_ac, n, x->d, x->h, x->w, oh, ow, sy, sx, y->d, n);
    if (rc) map_free(f, y);
    return rc;
}

/* RCU(y) = y + conv2(relu(conv1(relu(y)))) */
static int rcu(fw *f, int stage, int which, const dmap *y, dmap *out)
{
    char n1[128], n2[128], b1[128], b2[128];
    const char *pre = "neck.fusion_stage.layers";
    snprintf(n1, sizeof(n1), "%s.%d.residual_layer%d.convolution1.weight", pre, stage, which);
    snprintf(b1, sizeof(b1), "%s.%d.residual_layer%d.convolution1.bias", pre, stage, which);
    snprintf(n2, sizeof(n2), "%s.%d.residual_layer%d.convolution2.weight", pre, stage, which);
    snprintf(b2, sizeof(b2), "%s.%d.residual_layer%d.convolution2.bias", pre, stage, which);
    dmap a, b, c;
    int rc = map_alloc(f, &a, y->c, y->h, y->w);
    if (rc) return rc;
    size_t n = map_numel(y);
    rc = orfeas_cuda_error(
        cudaMemcpyAsync(a.d, y->d, n * sizeof(float), cudaMemcpyDeviceToDevice, f->st),
        "cudaMemcpyAsync");
    if (!rc) rc = LAUNCH(k_relu, n, a.d, n);
    if (!rc) rc = conv2d(f, &a, T(f, n1), T(f, b1), NN_DC_FEAT, 3, 1, 1, &b);
    map_free(f, &a);
    if (rc) return rc;
    rc = LAUNCH(k_relu, n, b.d, n);
    if (!rc) rc = conv2d(f, &b, T(f, n2), T(f, b2), NN_DC_FEAT, 3, 1, 1, &c);
    map_free(f, &b);
    if (rc) return rc;
    rc = LAUNCH(k_add, n, c.d, y->d, n);
    if (rc) {
        map_free(f, &c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Fusion stage j: x (+ RCU1(skip)) -> RCU2 -> bilinear align_corners to
 * (oh, ow) -> 1x1 projection. Consumes x. */
static int fuse(fw *f, int j, dmap *x, const dmap *skip, int oh, int ow, dmap *out)
{
    int rc = 0;
    dmap r, s, p;
    if (skip) {
        rc = rcu(f, j, 1, skip, &r);
        if (rc) {
            map_free(f, x);
            return rc;
        }
        size_t n = map_numel(&r);
        rc = LAUNCH(k_add, n, x->d, r.d, n);
        map_free(f, &r);
        if (rc) {
            map_free(f, x);
            return rc;
        }
    }
    rc = rcu(f, j, 2, x, &r);
    map_free(f, x);
    if (rc) return rc;
    rc = resize_bilinear_ac(f, &r, oh, ow, &s);
    map_free(f, &r);
    if (rc) return rc;
    char wn[96], bn[96];
    snprintf(wn, sizeof(wn), "neck.fusion_stage.layers.%d.projection.weight", j);
    snprintf(bn, sizeof(bn), "neck.fusion_stage.layers.%d.projection.bias", j);
    rc = conv2d(f, &s, T(f, wn), T(f, bn), NN_DC_FEAT, 1, 1, 0, &p);
    map_free(f, &s);
    if (rc) return rc;
    *out = p;
    return 0;
}

/* Reassemble stage k: tokens [N, 384] -> projection -> resize -> neck conv. */
static int reassemble(fw *f, int k, const float *tok, int ph, int pw, dmap *rn)
{
    static const int ch[4] = {48, 96, 192, 384};
    dmap x, p, r;
    int rc = map_alloc(f, &x, NN_DC_DIM, ph, pw);
    if (rc) return rc;
    size_t np = (size_t)ph * pw, n = map_numel(&x);
    rc = LAUNCH(k_tokens_to_map, n, tok, NN_DC_DIM, np, x.d, n);
    char wn[96], bn[96];
    snprintf(wn, sizeof(wn), "neck.reassemble_stage.layers.%d.projection.weight", k);
    snprintf(bn, sizeof(bn), "neck.reassemble_stage.layers.%d.projection.bias", k);
    if (!rc) rc = conv2d(f, &x, T(f, wn), T(f, bn), ch[k], 1, 1, 0, &p);
    map_free(f, &x);
    if (rc) return rc;
    snprintf(wn, sizeof(wn), "neck.reassemble_stage.layers.%d.resize.weight", k);
    snprintf(bn, sizeof(bn), "neck.reassemble_stage.layers.%d.resize.bias", k);
    if (k == 0 || k == 1) {
        rc = conv_transpose(f, &p, T(f, wn), T(f, bn), ch[k], k == 0 ? 4 : 2, &r);
        map_free(f, &p);
    } else if (k == 3) {
        rc = conv2d(f, &p, T(f, wn), T(f, bn), ch[k], 3, 2, 1, &r);
        map_free(f, &p);
    } else {
        r = p;
    }
    if (rc) return rc;
    snprintf(wn, sizeof(wn), "neck.convs.%d.weight", k);
    rc = conv2d(f, &r, T(f, wn), NULL, NN_DC_FEAT, 3, 1, 1, rn);
    map_free(f, &r);
    return rc;
}

typedef struct enc_bufs {
    float *x, *y, *q, *k, *v, *a, *hid, *scores, *patches;
    size_t tok, nhid, nscores, npatches;
} enc_bufs;

static void enc_free(fw *f, enc_bufs *b)
{
    ffree(f, &b->x, b->tok);
    ffree(f, &b->y, b->tok);
    ffree(f, &b->q, b->tok);
    ffree(f, &b->k, b->tok);
    ffree(f, &b->v, b->tok);
    ffree(f, &b->a, b->tok);
    ffree(f, &b->hid, b->nhid);
    ffree(f, &b->scores, b->nscores);
    ffree(f, &b->patches, b->npatches);
}

/* The DINOv2 encoder; writes the four normed taps into feats [4, 1+N, 384]. */
static int encoder(fw *f, const float *img, int h, int w, float *feats)
{
    int ph = h / 14, pw = w / 14, np = ph * pw, nt = np + 1;
    size_t tok = (size_t)nt * NN_DC_DIM;
    size_t nn = (size_t)nt * nt;
    int hb = (int)(SCORE_BUDGET / nn);
    hb = hb < 1 ? 1 : hb > NN_DC_HEADS ? NN_DC_HEADS : hb;
    enc_bufs b;
    memset(&b, 0, sizeof b);
    b.tok = tok;
    b.nhid = (size_t)nt * NN_DC_MLP;
    b.nscores = nn * hb;
    b.npatches = (size_t)np * 3 * 14 * 14;
    int rc = 0;
    float **bufs[] = {&b.x, &b.y, &b.q, &b.k, &b.v, &b.a};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0] && !rc; i++)
        rc = falloc(f, tok, bufs[i]);
    if (!rc) rc = falloc(f, b.nhid, &b.hid);
    if (!rc) rc = falloc(f, b.nscores, &b.scores);
    if (!rc) rc = falloc(f, b.npatches, &b.patches);

    /* Patch embedding: the 14x14 stride-14 conv as one GEMM over patches. */
    const int pk = 3 * 14 * 14;
    if (!rc) rc = LAUNCH(k_patches, b.npatches, img, h, w, pw, b.patches, b.npatches);
    dlin pe;
    memset(&pe, 0, sizeof pe);
    pe.w = T(f, "backbone.embeddings.patch_embeddings.projection.weight");
    pe.b = T(f, "backbone.embeddings.patch_embeddings.projection.bias");
    pe.in = pk;
    pe.out = NN_DC_DIM;
    if (!rc) rc = linear_fwd(f, &pe, b.patches, np, b.x + NN_DC_DIM);
    if (!rc)
        rc = orfeas_cuda_error(cudaMemcpyAsync(b.x, T(f, "backbone.embeddings.cls_token"),
                                               NN_DC_DIM * sizeof(float), cudaMemcpyDeviceToDevice,
                                               f->st),
                               "cudaMemcpyAsync");

    /* Position embedding: the table as is for 37 x 37 square inputs, else
     * the official bicubic interpolation (into y, used as scratch). */
    const float *pos = T(f, "backbone.embeddings.position_embeddings");
    float *pe_used = b.y;
    if (!rc && np == NN_DC_GRID * NN_DC_GRID && h == w) {
        rc = orfeas_cuda_error(
            cudaMemcpyAsync(pe_used, pos, tok * sizeof(float), cudaMemcpyDeviceToDevice, f->st),
            "cudaMemcpyAsync");
    } else if (!rc) {
        rc = orfeas_cuda_error(cudaMemcpyAsync(pe_used, pos, NN_DC_DIM * sizeof(float),
                                               cudaMemcpyDeviceToDevice, f->st),
                               "cudaMemcpyAsync");
        size_t n = (size_t)np * NN_DC_DIM;
        if (!rc)
            rc = LAUNCH(k_pos_interp, n, pos + NN_DC_DIM, NN_DC_GRID, NN_DC_DIM, ph, pw,
                        pe_used + NN_DC_DIM, n);
    }
    if (!rc) rc = LAUNCH(k_add, tok, b.x, pe_used, tok);

    int tapi = 0;
    char name[128];
    for (int l = 0; l < NN_DC_LAYERS && !rc; l++) {
        const dlin *lin = f->lin[l];
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.norm1.weight", l);
        const float *g1 = T(f, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.norm1.bias", l);
        const float *b1 = T(f, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.norm2.weight", l);
        const float *g2 = T(f, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.norm2.bias", l);
        const float *b2 = T(f, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.layer_scale1.lambda1", l);
        const float *ls1 = T(f, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.layer_scale2.lambda1", l);
        const float *ls2 = T(f, name);

        rc = layernorm(f, b.x, nt, NN_DC_DIM, g1, b1, 1e-6f, b.y);
        if (!rc) rc = linear_fwd(f, &lin[NN_DC_Q], b.y, nt, b.q);
        if (!rc) rc = linear_fwd(f, &lin[NN_DC_K], b.y, nt, b.k);
        if (!rc) rc = linear_fwd(f, &lin[NN_DC_V], b.y, nt, b.v);
        if (!rc)
            rc = attention(f, b.q, b.k, b.v, NN_DC_DIM, nt, NN_DC_HEADS, NN_DC_HDIM, b.a, b.scores,
                           hb);
        if (!rc) rc = linear_fwd(f, &lin[NN_DC_O], b.a, nt, b.y);
        if (!rc) rc = LAUNCH(k_scaled_residual, tok, b.x, ls1, b.y, (size_t)NN_DC_DIM, tok);
        if (!rc) rc = layernorm(f, b.x, nt, NN_DC_DIM, g2, b2, 1e-6f, b.y);
        if (!rc) rc = linear_fwd(f, &lin[NN_DC_FC1], b.y, nt, b.hid);
        if (!rc) rc = LAUNCH(k_gelu, b.nhid, b.hid, b.nhid);
        if (!rc) rc = linear_fwd(f, &lin[NN_DC_FC2], b.hid, nt, b.y);
        if (!rc) rc = LAUNCH(k_scaled_residual, tok, b.x, ls2, b.y, (size_t)NN_DC_DIM, tok);
        if (!rc && (l == 2 || l == 5 || l == 8 || l == 11)) {
            rc = layernorm(f, b.x, nt, NN_DC_DIM, T(f, "backbone.layernorm.weight"),
                           T(f, "backbone.layernorm.bias"), 1e-6f, feats + (size_t)tapi * tok);
            tapi++;
        }
    }
    enc_free(f, &b);
    return rc;
}

static int forward(fw *f, const float *img, int h, int w, float *out_dev)
{
    int ph = h / 14, pw = w / 14;
    size_t tok = ((size_t)ph * pw + 1) * NN_DC_DIM;
    float *feats;
    int rc = falloc(f, 4 * tok, &feats);
    if (!rc) rc = encoder(f, img, h, w, feats);
    dmap rn[4], path, next, o1, o2, o3, o4;
    memset(rn, 0, sizeof rn);
    memset(&path, 0, sizeof path);
    memset(&o1, 0, sizeof o1);
    memset(&o2, 0, sizeof o2);
    memset(&o3, 0, sizeof o3);
    memset(&o4, 0, sizeof o4);
    for (int k = 0; k < 4 && !rc; k++)
        rc = reassemble(f, k, feats + (size_t)k * tok + NN_DC_DIM, ph, pw, &rn[k]);
    ffree(f, &feats, 4 * tok);
    /* path4 = F0(rn4) -> size of rn3; path3 = F1(path4, rn3) -> rn2; ... */
    if (!rc) {
        dmap x4;
        rc = map_alloc(f, &x4, rn[3].c, rn[3].h, rn[3].w);
        if (!rc)
            rc = orfeas_cuda_error(cudaMemcpyAsync(x4.d, rn[3].d, map_numel(&x4) * sizeof(float),
                                                   cudaMemcpyDeviceToDevice, f->st),
                                   "cudaMemcpyAsync");
        if (!rc)
            rc = fuse(f, 0, &x4, NULL, rn[2].h, rn[2].w, &path);
        else
            map_free(f, &x4);
    }
    for (int j = 1; j < 4 && !rc; j++) {
        const dmap *skip = &rn[3 - j];
        int oh = j < 3 ? rn[2 - j].h : skip->h * 2, ow = j < 3 ? rn[2 - j].w : skip->w * 2;
        memset(&next, 0, sizeof next);
        rc = fuse(f, j, &path, skip, oh, ow, &next);
        path = next;
    }
    for (int k = 0; k < 4; k++)
        map_free(f, &rn[k]);
    /* Head: conv1 -> bilinear to (h, w) -> conv2 -> ReLU -> conv3 -> ReLU. */
    if (!rc)
        rc = conv2d(f, &path, T(f, "head.conv1.weight"), T(f, "head.conv1.bias"), 32, 3, 1, 1, &o1);
    map_free(f, &path);
    if (!rc) rc = resize_bilinear_ac(f, &o1, h, w, &o2);
    map_free(f, &o1);
    if (!rc)
        rc = conv2d(f, &o2, T(f, "head.conv2.weight"), T(f, "head.conv2.bias"), 32, 3, 1, 1, &o3);
    map_free(f, &o2);
    size_t n3 = map_numel(&o3);
    if (!rc) rc = LAUNCH(k_relu, n3, o3.d, n3);
    if (!rc)
        rc = conv2d(f, &o3, T(f, "head.conv3.weight"), T(f, "head.conv3.bias"), 1, 1, 1, 0, &o4);
    map_free(f, &o3);
    size_t hw = (size_t)h * w;
    if (!rc)
        rc = orfeas_cuda_error(
            cudaMemcpyAsync(out_dev, o4.d, hw * sizeof(float), cudaMemcpyDeviceToDevice, f->st),
            "cudaMemcpyAsync");
    if (!rc) rc = LAUNCH(k_relu, hw, out_dev, hw);
    map_free(f, &o4);
    return rc;
}

/* The run's view of the weights: device pointers per tensor and linear. */
static void bind_view(fw *f)
{
    nn_depth_cuda *d = f->d;
    for (int i = 0; i < NN_DA_TENSORS; i++)
        f->t[i] = d->t_off[i] >= 0   ? d->blob + d->t_off[i]
                  : d->h_off[i] >= 0 ? f->arena + d->h_off[i]
                                     : NULL;
    for (int l = 0; l < NN_DC_LAYERS; l++)
        for (int k = 0; k < NN_DC_LINEARS; k++) {
            const nn_dc_lin *o = &d->lin[l][k];
            dlin *x = &f->lin[l][k];
            x->w = o->w >= 0 ? d->blob + o->w : NULL;
            x->b = o->b >= 0 ? d->blob + o->b : NULL;
            x->q = o->q >= 0 ? (const int8_t *)(d->qstore + o->q) : NULL;
            x->scale = o->s >= 0 ? (const float *)(d->qstore + o->s) : NULL;
            x->h = o->h >= 0 ? (const __half *)(d->qstore + o->h) : NULL;
            x->in = o->in;
            x->out = o->out;
        }
}

static int run_locked(nn_depth_cuda *d, const float *chw, int h, int w, float *out)
{
    int rc = use_device(d->ordinal);
    if (rc) return rc;
    fw *f = (fw *)calloc(1, sizeof *f);
    if (!f) return ORFEAS_ENOMEM;
    f->d = d;
    f->st = d->stream;
    size_t nin = (size_t)3 * h * w, hw = (size_t)h * w;
    float *img = NULL, *res = NULL;
    if (d->half_n) {
        rc = falloc(f, d->half_n, &f->arena);
        if (!rc) rc = LAUNCH(k_half_to_float, d->half_n, d->hstore, f->arena, d->half_n);
    }
    if (!rc && d->precision != NN_DC_FP32)
        rc = falloc(f, (size_t)NN_DC_MLP * NN_DC_DIM, &f->scratch);
    if (!rc) rc = falloc(f, nin, &img);
    if (!rc) rc = falloc(f, hw, &res);
    if (!rc)
        rc = orfeas_cuda_error(
            cudaMemcpyAsync(img, chw, nin * sizeof(float), cudaMemcpyHostToDevice, f->st),
            "cudaMemcpyAsync (input)");
    if (!rc) {
        bind_view(f);
        rc = forward(f, img, h, w, res);
    }
    if (!rc)
        rc = orfeas_cuda_error(
            cudaMemcpyAsync(out, res, hw * sizeof(float), cudaMemcpyDeviceToHost, f->st),
            "cudaMemcpyAsync (output)");
    ffree(f, &img, nin);
    ffree(f, &res, hw);
    ffree(f, &f->arena, d->half_n);
    ffree(f, &f->scratch, (size_t)NN_DC_MLP * NN_DC_DIM);
    /* Waits for the output and surfaces any asynchronous failure. */
    int sync = orfeas_cuda_error(cudaStreamSynchronize(f->st), "cudaStreamSynchronize");
    if (!rc) rc = sync;
    if (!rc) d->last_run_bytes = f->peak;
    free(f);
    return rc;
}

int nn_dc_run(nn_depth_cuda *d, const float *chw, int h, int w, float *out)
{
    if (!d || !chw || !out || h < 14 || w < 14 || h % 14 || w % 14) return ORFEAS_EINVAL;
    if ((long)(h / 14) * (w / 14) > 128L * 128L) return ORFEAS_EINVAL;
    pthread_mutex_lock(&d->lock);
    int rc = run_locked(d, chw, h, w, out);
    pthread_mutex_unlock(&d->lock);
    if (rc == ORFEAS_EGPUOOM)
        ORFEAS_WARN("depth cuda: out of device memory for a %dx%d input", w, h);
    return rc;
}
