/* The CUDA device: one stream and one memory pool per device. Allocations
 * are stream-ordered from a pool that keeps freed blocks (release threshold
 * at the maximum), so the engine's many same-sized buffers cost no driver
 * calls after the first job; trim_pool hands the idle part back. */
#include "device/cuda/cuda_backend.h"

extern "C" {
#include "device/kernels.h"
#include "orfeas/error.h"
#include "orfeas/log.h"
}

#include <cuda_runtime.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int orfeas_cuda_error(cudaError_t e, const char *what)
{
    if (e == cudaSuccess) return 0;
    (void)cudaGetLastError(); /* clear it, where it is not sticky */
    if (e == cudaErrorMemoryAllocation) return ORFEAS_EGPUOOM;
    ORFEAS_ERROR("cuda: %s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    return ORFEAS_EINTERNAL;
}

/* The runtime's current device is per host thread; any thread may call us. */
static int use(orfeas_cuda_ctx *c)
{
    return orfeas_cuda_error(cudaSetDevice(c->ordinal), "cudaSetDevice");
}

int orfeas_cuda_scratch_alloc(orfeas_cuda_ctx *c, size_t bytes, void **ptr)
{
    *ptr = NULL;
    if (bytes == 0) bytes = 1; /* a non-NULL pointer for every success */
    cudaError_t e =
        c->pool ? cudaMallocFromPoolAsync(ptr, bytes, c->pool, c->stream) : cudaMalloc(ptr, bytes);
    if (e != cudaSuccess) {
        *ptr = NULL;
        return orfeas_cuda_error(e, "cudaMallocFromPoolAsync");
    }
    return 0;
}

void orfeas_cuda_scratch_free(orfeas_cuda_ctx *c, void *ptr)
{
    if (!ptr) return;
    cudaError_t e = c->pool ? cudaFreeAsync(ptr, c->stream) : cudaFree(ptr);
    orfeas_cuda_error(e, "cudaFreeAsync");
}

static int cuda_memory(void *ctx, uint64_t *free_bytes, uint64_t *total_bytes)
{
    orfeas_cuda_ctx *c = (orfeas_cuda_ctx *)ctx;
    int err = use(c);
    if (err) return err;
    size_t fb = 0, tb = 0;
    err = orfeas_cuda_error(cudaMemGetInfo(&fb, &tb), "cudaMemGetInfo");
    if (err) return err;
    if (free_bytes) *free_bytes = fb;
    if (total_bytes) *total_bytes = tb;
    return 0;
}

static int cuda_alloc(void *ctx, size_t bytes, void **ptr)
{
    orfeas_cuda_ctx *c = (orfeas_cuda_ctx *)ctx;
    int err = use(c);
    if (err) return err;
    return orfeas_cuda_scratch_alloc(c, bytes, ptr);
}

static void cuda_free(void *ctx, void *ptr)
{
    orfeas_cuda_ctx *c = (orfeas_cuda_ctx *)ctx;
    if (!ptr || use(c)) return;
    orfeas_cuda_scratch_free(c, ptr);
}

/* Host copies wait for the stream: the caller may reuse its host buffer (or
 * read the result) as soon as we return, whether or not it is pinned. */
static int cuda_copy(void *ctx, void *dst, const void *src, size_t bytes, orfeas_copy_kind kind)
{
    orfeas_cuda_ctx *c = (orfeas_cuda_ctx *)ctx;
    if (bytes == 0) return 0;
    int err = use(c);
    if (err) return err;
    cudaMemcpyKind k = kind == ORFEAS_COPY_HOST_TO_DEVICE   ? cudaMemcpyHostToDevice
                       : kind == ORFEAS_COPY_DEVICE_TO_HOST ? cudaMemcpyDeviceToHost
                                                            : cudaMemcpyDeviceToDevice;
    err = orfeas_cuda_error(cudaMemcpyAsync(dst, src, bytes, k, c->stream), "cudaMemcpyAsync");
    if (err || k == cudaMemcpyDeviceToDevice) return err;
    return orfeas_cuda_error(cudaStreamSynchronize(c->stream), "cudaStreamSynchronize");
}

static int cuda_sync(void *ctx)
{
    orfeas_cuda_ctx *c = (orfeas_cuda_ctx *)ctx;
    int err = use(c);
    if (err) return err;
    return orfeas_cuda_error(cudaStreamSynchronize(c->stream), "cudaStreamSynchronize");
}

static uint64_t pool_attr(cudaMemPool_t pool, cudaMemPoolAttr attr)
{
    uint64_t v = 0;
    if (orfeas_cuda_error(cudaMemPoolGetAttribute(pool, attr, &v), "cudaMemPoolGetAttribute"))
        return 0;
    return v;
}

static uint64_t cuda_pooled_bytes(void *ctx)
{
    orfeas_cuda_ctx *c = (orfeas_cuda_ctx *)ctx;
    if (!c->pool || use(c)) return 0;
    uint64_t reserved = pool_attr(c->pool, cudaMemPoolAttrReservedMemCurrent);
    uint64_t used = pool_attr(c->pool, cudaMemPoolAttrUsedMemCurrent);
    return reserved > used ? reserved - used : 0;
}

static int cuda_trim_pool(void *ctx, uint64_t *released_bytes)
{
    orfeas_cuda_ctx *c = (orfeas_cuda_ctx *)ctx;
    if (released_bytes) *released_bytes = 0;
    if (!c->pool) return 0;
    int err = use(c);
    /* Frees still queued on the stream return their blocks only once run. */
    if (!err) err = orfeas_cuda_error(cudaStreamSynchronize(c->stream), "cudaStreamSynchronize");
    if (err) return err;
    uint64_t before = pool_attr(c->pool, cudaMemPoolAttrReservedMemCurrent);
    err = orfeas_cuda_error(cudaMemPoolTrimTo(c->pool, 0), "cudaMemPoolTrimTo");
    if (err) return err;
    uint64_t after = pool_attr(c->pool, cudaMemPoolAttrReservedMemCurrent);
    if (released_bytes) *released_bytes = before > after ? before - after : 0;
    return 0;
}

static int cuda_telemetry(void *ctx, orfeas_device_telemetry *out)
{
    orfeas_cuda_ctx *c = (orfeas_cuda_ctx *)ctx;
    memset(out, 0, sizeof *out);
    if (!c->nvml) return 0; /* no NVML: nothing known, which is not an error */
    return orfeas_nvml_telemetry(c->nvml, out);
}

static void cuda_destroy(void *ctx)
{
    orfeas_cuda_ctx *c = (orfeas_cuda_ctx *)ctx;
    if (!c) return;
    if (!use(c)) {
        if (c->stream) {
            orfeas_cuda_error(cudaStreamSynchronize(c->stream), "cudaStreamSynchronize");
            orfeas_cuda_error(cudaStreamDestroy(c->stream), "cudaStreamDestroy");
        }
        /* Blocks still allocated keep the pool alive until they are freed. */
        if (c->pool) orfeas_cuda_error(cudaMemPoolDestroy(c->pool), "cudaMemPoolDestroy");
    }
    free(c);
}

static const orfeas_device_iface cuda_iface = {
    cuda_memory,       cuda_alloc,     cuda_free,      cuda_copy,    cuda_sync,
    cuda_pooled_bytes, cuda_trim_pool, cuda_telemetry, cuda_destroy, &orfeas_cuda_kernels,
};

int orfeas_cuda_device_open(int ordinal, orfeas_device **out, char *why, size_t why_size)
{
    *out = NULL;
    int count = 0;
    if (orfeas_cuda_device_count(&count, why, why_size)) return ORFEAS_ENOTFOUND;
    if (ordinal < 0 || ordinal >= count) {
        orfeas_cuda_set_why(why, why_size, "no CUDA device %d (found %d)", ordinal, count);
        return ORFEAS_ENOTFOUND;
    }
    cudaDeviceProp prop;
    cudaError_t e = cudaGetDeviceProperties(&prop, ordinal);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        orfeas_cuda_set_why(why, why_size, "cuda:%d: cudaGetDeviceProperties: %s", ordinal,
                            cudaGetErrorString(e));
        return ORFEAS_ENOTFOUND;
    }
    int err = 0;
    orfeas_cuda_ctx *c = (orfeas_cuda_ctx *)calloc(1, sizeof *c);
    orfeas_device *dev = (orfeas_device *)calloc(1, sizeof *dev);
    if (!c || !dev) {
        free(c);
        free(dev);
        return ORFEAS_ENOMEM;
    }
    c->ordinal = ordinal;
    err = orfeas_cuda_stream_pool_create(ordinal, &c->stream, &c->pool);
    if (err) {
        cuda_destroy(c);
        free(dev);
        orfeas_cuda_set_why(why, why_size,
                            "cuda:%d: could not set up a stream and memory pool (%s)", ordinal,
                            orfeas_strerror(err));
        return ORFEAS_ENOTFOUND;
    }
    char bus[32] = "";
    if (cudaDeviceGetPCIBusId(bus, sizeof bus, ordinal) != cudaSuccess) {
        (void)cudaGetLastError();
        bus[0] = '\0';
    }
    c->nvml = orfeas_nvml_device(bus[0] ? bus : NULL, ordinal);

    dev->iface = &cuda_iface;
    dev->ctx = c;
    dev->kind = ORFEAS_DEVICE_CUDA;
    dev->index = ordinal;
    dev->host_accessible = 0;
    snprintf(dev->name, sizeof dev->name, "%s", prop.name);
    ORFEAS_INFO("cuda:%d: %s, %.1f GiB, compute %d.%d, %s pool, NVML %s", ordinal, prop.name,
                (double)prop.totalGlobalMem / 1073741824.0, prop.major, prop.minor,
                c->pool ? "stream-ordered" : "no", c->nvml ? "yes" : "no");
    *out = dev;
    return 0;
}
