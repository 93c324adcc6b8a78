/* The cpu backend: host memory, the reference kernels. */
#include "device/device_internal.h"
#include "device/kernels.h"
#include "orfeas/error.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cpu_memory(void *ctx, uint64_t *free_bytes, uint64_t *total_bytes)
{
    (void)ctx;
    long page = sysconf(_SC_PAGESIZE);
    long total = sysconf(_SC_PHYS_PAGES), avail = sysconf(_SC_AVPHYS_PAGES);
    if (page <= 0 || total <= 0 || avail < 0) return ORFEAS_EIO;
    *total_bytes = (uint64_t)total * (uint64_t)page;
    *free_bytes = (uint64_t)avail * (uint64_t)page;
    return 0;
}

static int cpu_alloc(void *ctx, size_t bytes, void **ptr)
{
    (void)ctx;
    *ptr = malloc(bytes ? bytes : 1);
    return *ptr ? 0 : ORFEAS_ENOMEM;
}

static void cpu_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

/* Host memory on both sides: every copy is a memcpy (memmove for overlap). */
static int host_copy(void *ctx, void *dst, const void *src, size_t bytes, orfeas_copy_kind kind)
{
    (void)ctx, (void)kind;
    if (bytes) memmove(dst, src, bytes);
    return 0;
}

static int no_sync(void *ctx)
{
    (void)ctx;
    return 0;
}

static uint64_t no_pool(void *ctx)
{
    (void)ctx;
    return 0;
}

static int no_trim(void *ctx, uint64_t *released)
{
    (void)ctx;
    *released = 0;
    return 0;
}

static int no_telemetry(void *ctx, orfeas_device_telemetry *out)
{
    (void)ctx;
    memset(out, 0, sizeof *out);
    return 0;
}

static void cpu_destroy(void *ctx)
{
    (void)ctx;
}

static const orfeas_device_iface cpu_iface = {
    .memory = cpu_memory,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .copy = host_copy,
    .sync = no_sync,
    .pooled_bytes = no_pool,
    .trim_pool = no_trim,
    .telemetry = no_telemetry,
    .destroy = cpu_destroy,
    .kernels = &orfeas_cpu_kernels,
};

int orfeas_cpu_device_open(orfeas_device **out)
{
    orfeas_device *dev = calloc(1, sizeof *dev);
    if (!dev) return ORFEAS_ENOMEM;
    dev->iface = &cpu_iface;
    dev->kind = ORFEAS_DEVICE_CPU;
    dev->host_accessible = 1;
    strcpy(dev->name, "cpu");
    *out = dev;
    return 0;
}
