/* The reference kernel table: the cpu backend's kernels
 * (device/cpu_kernels_*.c), on host memory. */
#include "device/cpu_kernels.h"
#include "device/kernels.h"

/* The CPU blur keeps its own line buffer; the scratch plane is for devices. */
static int cpu_blur(void *ctx, float *plane, float *tmp, uint32_t w, uint32_t h, float sigma)
{
    (void)ctx, (void)tmp;
    return orfeas_blur(plane, w, h, sigma);
}

static int cpu_resize_f32(void *ctx, const float *src, uint32_t sw, uint32_t sh, float *dst,
                          uint32_t dw, uint32_t dh)
{
    (void)ctx;
    return orfeas_resize_f32(src, sw, sh, dst, dw, dh);
}

const orfeas_kernels orfeas_cpu_kernels = {
    .mg_smooth = orfeas_cpu_mg_smooth,
    .mg_residual = orfeas_cpu_mg_residual,
    .mg_restrict = orfeas_cpu_mg_restrict,
    .mg_prolong_add = orfeas_cpu_mg_prolong_add,
    .mg_coarsen_interior = orfeas_cpu_mg_coarsen_interior,
    .blur = cpu_blur,
    .resize_f32 = cpu_resize_f32,
    .rtin_level = orfeas_cpu_rtin_level,
};
