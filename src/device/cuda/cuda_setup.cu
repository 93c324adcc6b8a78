/* What the CUDA device (cuda_device.cu) and the depth network on CUDA
 * (src/nn/cuda) set up alike: the device count with the reason when there is
 * none, and a device's stream and caching memory pool. */
#include "device/cuda/cuda_backend.h"

extern "C" {
#include "orfeas/error.h"
}

#include <cuda_runtime.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void orfeas_cuda_set_why(char *why, size_t why_size, const char *fmt, ...)
{
    if (!why || !why_size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}

int orfeas_cuda_device_count(int *count, char *why, size_t why_size)
{
    *count = 0;
    cudaError_t e = cudaGetDeviceCount(count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        const char *fmt = e == cudaErrorInsufficientDriver
                              ? "no CUDA driver: cudaGetDeviceCount: %s"
                          : e == cudaErrorNoDevice ? "no CUDA device: cudaGetDeviceCount: %s"
                                                   : "CUDA unusable: cudaGetDeviceCount: %s";
        orfeas_cuda_set_why(why, why_size, fmt, cudaGetErrorString(e));
        return ORFEAS_ENOTFOUND;
    }
    return 0;
}

int orfeas_cuda_stream_pool_create(int ordinal, cudaStream_t *stream, cudaMemPool_t *pool)
{
    int err = orfeas_cuda_error(cudaSetDevice(ordinal), "cudaSetDevice");
    if (!err)
        err = orfeas_cuda_error(cudaStreamCreateWithFlags(stream, cudaStreamNonBlocking),
                                "cudaStreamCreateWithFlags");
    int pools = 0;
    if (!err)
        err = orfeas_cuda_error(
            cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, ordinal),
            "cudaDeviceGetAttribute");
    if (!err && pools) {
        cudaMemPoolProps props;
        memset(&props, 0, sizeof props);
        props.allocType = cudaMemAllocationTypePinned;
        props.location.type = cudaMemLocationTypeDevice;
        props.location.id = ordinal;
        err = orfeas_cuda_error(cudaMemPoolCreate(pool, &props), "cudaMemPoolCreate");
        if (!err) {
            /* Keep every freed block until trimmed: a caching pool. */
            uint64_t keep = UINT64_MAX;
            err = orfeas_cuda_error(
                cudaMemPoolSetAttribute(*pool, cudaMemPoolAttrReleaseThreshold, &keep),
                "cudaMemPoolSetAttribute");
        }
    }
    return err;
}
