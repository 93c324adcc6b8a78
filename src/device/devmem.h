/* Where a stage's large buffers live: on a device (accounted by a memory
 * manager above it when one is bound, the VRAM manager: see vram/devmem.h)
 * or, with no device, in host memory with the cpu kernels. Stages take a
 * `const orfeas_devmem *` (NULL = host). */
#ifndef ORFEAS_DEVICE_DEVMEM_H
#define ORFEAS_DEVICE_DEVMEM_H

#include <stddef.h>

#include "device/kernels.h"
#include "orfeas/device.h"

/* A manager that device allocations go through instead of straight to the
 * device; the layer above that owns one registers it (the device layer
 * knows nothing of it). */
typedef struct orfeas_devmem_allocator {
    int (*alloc)(void *owner, size_t bytes, void **ptr);
    void (*free)(void *owner, void *ptr, size_t bytes);
} orfeas_devmem_allocator;

typedef struct orfeas_devmem {
    orfeas_device *dev;                       /* NULL: host memory, cpu kernels */
    const orfeas_devmem_allocator *allocator; /* optional: allocations go through it */
    void *owner;                              /* the allocator's first argument */
    uint64_t *in_use; /* optional: bytes allocated through this devmem now */
    uint64_t *peak;   /* optional: the most there ever were */
} orfeas_devmem;

int orfeas_devmem_alloc(const orfeas_devmem *m, size_t bytes, void **ptr);
void orfeas_devmem_free(const orfeas_devmem *m, void *ptr, size_t bytes);
/* 1 when device pointers can be used from the host. */
int orfeas_devmem_host_accessible(const orfeas_devmem *m);
int orfeas_devmem_upload(const orfeas_devmem *m, void *dst, const void *src, size_t bytes);
int orfeas_devmem_download(const orfeas_devmem *m, void *dst, const void *src, size_t bytes);
int orfeas_devmem_sync(const orfeas_devmem *m);
const orfeas_kernels *orfeas_devmem_kernels(const orfeas_devmem *m, void **ctx);

/* Blurs a host plane with the device's kernel (upload and download when the
 * device memory is not host memory). */
int orfeas_devmem_blur(const orfeas_devmem *m, float *plane, uint32_t w, uint32_t h, float sigma);

#endif
