/* orfeas — compute devices. One small interface ({iface, ctx}, as ggml's
 * backends) with three implementations:
 *   cpu          host memory; its "card" is a share of physical RAM
 *   cuda[:N]     an NVIDIA GPU through the CUDA runtime (linked statically)
 *   sim:<size>   a simulated card: the memory accounting of a card of that
 *                size, allocations beyond it fail as CUDA's do, the work
 *                runs on the CPU; "sim:24GiB,oom-after=N" makes the N-th
 *                allocation (counting from 1) and all later ones fail, as
 *                if another process took the card: fault injection.
 * "auto" picks cuda when a device answers, else cpu, and logs why. */
#ifndef ORFEAS_DEVICE_H
#define ORFEAS_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum orfeas_device_kind {
    ORFEAS_DEVICE_CPU = 0,
    ORFEAS_DEVICE_CUDA,
    ORFEAS_DEVICE_SIM
} orfeas_device_kind;

typedef enum orfeas_copy_kind {
    ORFEAS_COPY_HOST_TO_DEVICE = 0,
    ORFEAS_COPY_DEVICE_TO_HOST,
    ORFEAS_COPY_DEVICE_TO_DEVICE
} orfeas_copy_kind;

typedef struct orfeas_device_telemetry {
    int has_utilization;
    unsigned gpu_utilization_pct, memory_utilization_pct;
    int has_temperature;
    int temperature_c;
    int has_power;
    double power_w;
} orfeas_device_telemetry;

struct orfeas_kernels; /* device kernels, src/device/kernels.h */

typedef struct orfeas_device_iface {
    /* Free and total memory of the device as the driver sees it. */
    int (*memory)(void *ctx, uint64_t *free_bytes, uint64_t *total_bytes);
    /* ORFEAS_EGPUOOM when it does not fit (cuda, sim); ORFEAS_ENOMEM (cpu). */
    int (*alloc)(void *ctx, size_t bytes, void **ptr);
    void (*free)(void *ctx, void *ptr);
    int (*copy)(void *ctx, void *dst, const void *src, size_t bytes, orfeas_copy_kind kind);
    int (*sync)(void *ctx);
    /* Bytes held by the backend's pool but not in use; trim returns them. */
    uint64_t (*pooled_bytes)(void *ctx);
    int (*trim_pool)(void *ctx, uint64_t *released_bytes);
    /* Utilisation, temperature, power where the backend knows them (NVML). */
    int (*telemetry)(void *ctx, orfeas_device_telemetry *out);
    void (*destroy)(void *ctx);
    /* The engine's heavy kernels on this device's memory; never NULL. */
    const struct orfeas_kernels *kernels;
} orfeas_device_iface;

typedef struct orfeas_device {
    const orfeas_device_iface *iface;
    void *ctx;
    orfeas_device_kind kind;
    int index;           /* cuda ordinal; 0 otherwise */
    int host_accessible; /* device pointers are host pointers (cpu, sim) */
    char name[128];      /* "cpu", "sim:2GiB", "NVIDIA H100 80GB HBM3" */
    uint64_t oom_after;  /* sim fault injection, 0 = none */
} orfeas_device;

/* Opens a device from its spec ("auto", "cpu", "cuda", "cuda:1", "sim:24GiB",
 * "sim:512MiB,oom-after=3"). On failure returns ORFEAS_EINVAL (bad spec) or
 * ORFEAS_ENOTFOUND (no such device) and writes why into why. For "auto"
 * without a usable GPU, opens cpu and writes the reason into why (non-empty). */
int orfeas_device_open(const char *spec, orfeas_device **out, char *why, size_t why_size);
void orfeas_device_close(orfeas_device *dev);

const char *orfeas_device_kind_name(orfeas_device_kind kind);
/* "cpu,sim" or "cpu,sim,cuda": the backends compiled into this binary. */
const char *orfeas_device_backends(void);

/* Convenience wrappers over the iface. */
int orfeas_device_memory(orfeas_device *dev, uint64_t *free_bytes, uint64_t *total_bytes);
int orfeas_device_alloc(orfeas_device *dev, size_t bytes, void **ptr);
void orfeas_device_free(orfeas_device *dev, void *ptr);
int orfeas_device_copy(orfeas_device *dev, void *dst, const void *src, size_t bytes,
                       orfeas_copy_kind kind);
int orfeas_device_sync(orfeas_device *dev);

/* Parses "24GiB", "512MiB", "2GB", "1.5GiB", "1048576" (bytes); 0 or
 * ORFEAS_EINVAL. */
int orfeas_parse_size(const char *text, uint64_t *bytes);

#ifdef __cplusplus
}
#endif
#endif
