#include "device/devmem.h"
#include "orfeas/error.h"

#include <stdlib.h>
#include <string.h>

static int raw_alloc(const orfeas_devmem *m, size_t bytes, void **ptr)
{
    if (!m || !m->dev) {
        *ptr = malloc(bytes ? bytes : 1);
        return *ptr ? 0 : ORFEAS_ENOMEM;
    }
    if (m->allocator) return m->allocator->alloc(m->owner, bytes, ptr);
    return orfeas_device_alloc(m->dev, bytes, ptr);
}

int orfeas_devmem_alloc(const orfeas_devmem *m, size_t bytes, void **ptr)
{
    int err = raw_alloc(m, bytes, ptr);
    if (!err && m && m->in_use) {
        *m->in_use += bytes;
        if (m->peak && *m->in_use > *m->peak) *m->peak = *m->in_use;
    }
    return err;
}

void orfeas_devmem_free(const orfeas_devmem *m, void *ptr, size_t bytes)
{
    if (!ptr) return;
    if (m && m->in_use) *m->in_use -= bytes;
    if (!m || !m->dev)
        free(ptr);
    else if (m->allocator)
        m->allocator->free(m->owner, ptr, bytes);
    else
        orfeas_device_free(m->dev, ptr);
}

int orfeas_devmem_host_accessible(const orfeas_devmem *m)
{
    return !m || !m->dev || m->dev->host_accessible;
}

int orfeas_devmem_upload(const orfeas_devmem *m, void *dst, const void *src, size_t bytes)
{
    if (orfeas_devmem_host_accessible(m)) {
        if (bytes && dst != src) memmove(dst, src, bytes);
        return 0;
    }
    return orfeas_device_copy(m->dev, dst, src, bytes, ORFEAS_COPY_HOST_TO_DEVICE);
}

int orfeas_devmem_download(const orfeas_devmem *m, void *dst, const void *src, size_t bytes)
{
    if (orfeas_devmem_host_accessible(m)) {
        if (bytes && dst != src) memmove(dst, src, bytes);
        return 0;
    }
    return orfeas_device_copy(m->dev, dst, src, bytes, ORFEAS_COPY_DEVICE_TO_HOST);
}

int orfeas_devmem_sync(const orfeas_devmem *m)
{
    return m && m->dev ? orfeas_device_sync(m->dev) : 0;
}

const orfeas_kernels *orfeas_devmem_kernels(const orfeas_devmem *m, void **ctx)
{
    if (!m || !m->dev) {
        *ctx = NULL;
        return &orfeas_cpu_kernels;
    }
    *ctx = m->dev->ctx;
    return m->dev->iface->kernels;
}

int orfeas_devmem_blur(const orfeas_devmem *m, float *plane, uint32_t w, uint32_t h, float sigma)
{
    size_t bytes = (size_t)w * h * sizeof(float);
    void *kctx;
    const orfeas_kernels *k = orfeas_devmem_kernels(m, &kctx);
    int host = orfeas_devmem_host_accessible(m);
    float *dev_plane = plane, *tmp = NULL;
    int err = orfeas_devmem_alloc(m, bytes, (void **)&tmp);
    if (!err && !host) err = orfeas_devmem_alloc(m, bytes, (void **)&dev_plane);
    if (!err && !host) err = orfeas_devmem_upload(m, dev_plane, plane, bytes);
    if (!err) err = k->blur(kctx, dev_plane, tmp, w, h, sigma);
    if (!err && !host) err = orfeas_devmem_download(m, plane, dev_plane, bytes);
    if (!err) err = orfeas_devmem_sync(m);
    if (!host && dev_plane != plane) orfeas_devmem_free(m, dev_plane, bytes);
    orfeas_devmem_free(m, tmp, bytes);
    return err;
}
