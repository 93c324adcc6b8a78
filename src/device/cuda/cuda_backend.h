/* The CUDA backend (built only with ORFEAS_HAVE_CUDA). device.c sees only
 * orfeas_cuda_device_open; the rest is shared by the backend's own files
 * and the depth network on CUDA (src/nn/cuda). */
#ifndef ORFEAS_CUDA_BACKEND_H
#define ORFEAS_CUDA_BACKEND_H

#include <stddef.h>

#include "orfeas/device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens CUDA device `ordinal`. Returns 0, or ORFEAS_ENOTFOUND with why set
 * ("no CUDA driver: cudaGetDeviceCount: ...", "no CUDA device 1 (found 1)")
 * so that "auto" can fall back to the cpu; ORFEAS_ENOMEM/EINTERNAL otherwise. */
int orfeas_cuda_device_open(int ordinal, orfeas_device **out, char *why, size_t why_size);

/* ---- internal to src/device/cuda ---- */

struct orfeas_kernels;
extern const struct orfeas_kernels orfeas_cuda_kernels;

/* NVML, opened with dlopen on first use; every symbol optional. A handle is
 * found by PCI bus id ("0000:3B:00.0"), else by index; NULL when NVML or the
 * device is not there. */
void *orfeas_nvml_device(const char *pci_bus_id, int index);
/* Fills what NVML answers; 0, or ORFEAS_ENOTFOUND when handle is NULL. */
int orfeas_nvml_telemetry(void *handle, orfeas_device_telemetry *out);

/* ---- shared with src/nn/cuda (cuda_setup.cu) ---- */

/* vsnprintf into why, when there is a why. */
void orfeas_cuda_set_why(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* cudaGetDeviceCount: 0, or ORFEAS_ENOTFOUND with why set ("no CUDA driver:
 * cudaGetDeviceCount: ...", "no CUDA device: ...", "CUDA unusable: ..."). */
int orfeas_cuda_device_count(int *count, char *why, size_t why_size);

#ifdef __CUDACC__
#include <cuda_runtime.h>

/* The ctx of a CUDA device: what the kernels table receives as ctx. */
typedef struct orfeas_cuda_ctx {
    int ordinal;
    cudaStream_t stream;
    cudaMemPool_t pool; /* NULL where the device lacks memory pools */
    void *nvml;
} orfeas_cuda_ctx;

/* Maps a CUDA error to an orfeas code (out of memory: ORFEAS_EGPUOOM),
 * clearing it and logging what failed where. */
int orfeas_cuda_error(cudaError_t e, const char *what);
/* Stream-ordered scratch memory from the device's pool. */
int orfeas_cuda_scratch_alloc(orfeas_cuda_ctx *c, size_t bytes, void **ptr);
void orfeas_cuda_scratch_free(orfeas_cuda_ctx *c, void *ptr);
/* Makes `ordinal` the calling thread's device and creates there a
 * non-blocking stream and, where the device has memory pools, a pool that
 * keeps every freed block (release threshold at the maximum; *pool is left
 * as it is without pools). On an error what was created is in *stream and
 * *pool, for the caller to destroy. */
int orfeas_cuda_stream_pool_create(int ordinal, cudaStream_t *stream, cudaMemPool_t *pool);
#endif

#ifdef __cplusplus
}
#endif
#endif
