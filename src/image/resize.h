/* orfeas — deterministic resampling of images for the engine (internal).
 *
 * The policy and the resampler are the device layer's (device/cpu_kernels.h:
 * area average when shrinking, bilinear when enlarging, a copy when the size
 * is equal, each axis on its own). Same input gives the same bytes on every
 * run. One float channel: orfeas_resize_f32, the cpu resize kernel, declared
 * there. */
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

#endif
