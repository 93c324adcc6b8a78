/* orfeas — deterministic resampling for the engine (internal).
 *
 * Per axis: area average when shrinking (each destination pixel is the mean
 * of the source area it covers, fractional edges weighted), bilinear with
 * pixel-centre alignment when enlarging, a copy when the size is equal. The
 * two axes are separable and independent, so 1000x100 -> 500x400 shrinks x
 * and enlarges y. Same input gives the same bytes on every run. */
#ifndef ORFEAS_IMAGE_RESIZE_H
#define ORFEAS_IMAGE_RESIZE_H

#include <stddef.h>
#include <stdint.h>

/* RGBA8 straight alpha, src rows sstride bytes apart, dst packed (dw*4).
 * Colours are averaged weighted by alpha, so fully transparent pixels do not
 * bleed their (meaningless) colour into the edges; a pixel that ends up fully
 * transparent gets colour 0. Returns 0, ORFEAS_EINVAL or ORFEAS_ENOMEM. */
int orfeas_resize_rgba8(const uint8_t *src, uint32_t sw, uint32_t sh, size_t sstride, uint8_t *dst,
                        uint32_t dw, uint32_t dh);

/* One float channel, both planes packed. Same policy; NaN propagates. */
int orfeas_resize_f32(const float *src, uint32_t sw, uint32_t sh, float *dst, uint32_t dw,
                      uint32_t dh);

#endif
