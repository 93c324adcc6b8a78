/* Single-channel float planes for the depth sources: luminance and
 * normalisation. */
#ifndef ORFEAS_SHAPE_DEPTHMAP_H
#define ORFEAS_SHAPE_DEPTHMAP_H

#include <stddef.h>
#include <stdint.h>

/* Rec. 601 luma of RGBA8 pixels, 0..1 (alpha ignored). */
void orfeas_luminance(const uint8_t *rgba, size_t count, float *out);
/* The blur (orfeas_blur) is the device layer's cpu kernel: see
 * device/cpu_kernels.h, or orfeas_devmem_blur for a plane on any device. */
/* Maps the plane linearly so its [lo_pct, hi_pct] percentiles land on 0 and
 * 1 (values outside are clamped). A flat plane becomes all 0.5. */
int orfeas_normalize(float *plane, size_t count, float lo_pct, float hi_pct);

#endif
