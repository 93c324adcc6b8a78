/* Single-channel float planes for the depth sources: luminance, blur,
 * normalisation. */
#ifndef ORFEAS_SHAPE_DEPTHMAP_H
#define ORFEAS_SHAPE_DEPTHMAP_H

#include <stddef.h>
#include <stdint.h>

/* Rec. 601 luma of RGBA8 pixels, 0..1 (alpha ignored). */
void orfeas_luminance(const uint8_t *rgba, size_t count, float *out);
/* Gaussian-like blur (three box passes per axis) of a w*h plane in place.
 * sigma in pixels; <= 0.3 leaves the plane unchanged. */
int orfeas_blur(float *plane, uint32_t w, uint32_t h, float sigma);
/* Maps the plane linearly so its [lo_pct, hi_pct] percentiles land on 0 and
 * 1 (values outside are clamped). A flat plane becomes all 0.5. */
int orfeas_normalize(float *plane, size_t count, float lo_pct, float hi_pct);

#endif
