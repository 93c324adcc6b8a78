#include "vram/devmem.h"

static int vram_devmem_alloc(void *owner, size_t bytes, void **ptr)
{
    return orfeas_vram_alloc(owner, bytes, ptr);
}

static void vram_devmem_free(void *owner, void *ptr, size_t bytes)
{
    orfeas_vram_free(owner, ptr, bytes);
}

static const orfeas_devmem_allocator vram_allocator = {
    .alloc = vram_devmem_alloc,
    .free = vram_devmem_free,
};

void orfeas_vram_bind_devmem(orfeas_vram *vram, orfeas_devmem *m)
{
    m->dev = vram ? orfeas_vram_device(vram) : NULL;
    m->allocator = vram ? &vram_allocator : NULL;
    m->owner = vram;
}
