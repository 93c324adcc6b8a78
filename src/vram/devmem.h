/* The VRAM manager as a devmem's allocator: the device layer's devmem
 * (device/devmem.h) knows no manager; this binds one from above, so a
 * stage's device buffers are counted in the manager's "allocated". */
#ifndef ORFEAS_VRAM_DEVMEM_H
#define ORFEAS_VRAM_DEVMEM_H

#include "device/devmem.h"
#include "orfeas/vram.h"

/* Points m at vram's device, its allocations through vram. vram NULL: m on
 * the host (no device, no allocator). in_use and peak are left as they are. */
void orfeas_vram_bind_devmem(orfeas_vram *vram, orfeas_devmem *m);

#endif
