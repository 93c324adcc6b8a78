/* Operations on byte masks: width*height bytes, tightly packed, 0 =
 * background and non-zero = object (results are written as 0/255).
 * Every function that allocates returns 0 or ORFEAS_ENOMEM and leaves the
 * mask untouched on failure. */
#ifndef ORFEAS_SHAPE_MASK_OPS_H
#define ORFEAS_SHAPE_MASK_OPS_H

#include <stddef.h>
#include <stdint.h>

/* Number of object pixels. */
size_t orfeas_mask_area(const uint8_t *mask, uint32_t width, uint32_t height);

/* Keeps only the largest 8-connected object component (ties: the first in
 * raster order). An empty mask stays empty. */
int orfeas_mask_keep_largest(uint8_t *mask, uint32_t width, uint32_t height);

/* Keeps the 8-connected components whose area is at least min_fraction of the
 * largest one and at least min_area pixels. */
int orfeas_mask_keep_components(uint8_t *mask, uint32_t width, uint32_t height, double min_fraction,
                                size_t min_area);

/* Fills holes: 4-connected background regions that do not touch the image
 * border become object, if their area is at most max_area (0 = any size). */
int orfeas_mask_fill_holes(uint8_t *mask, uint32_t width, uint32_t height, size_t max_area);

/* Binary erosion/dilation/opening/closing with a disc of the given radius
 * (radius 0 = no-op). Pixels outside the image are ignored, so an object
 * touching the frame is not eaten from that side. */
int orfeas_mask_erode(uint8_t *mask, uint32_t width, uint32_t height, int radius);
int orfeas_mask_dilate(uint8_t *mask, uint32_t width, uint32_t height, int radius);
int orfeas_mask_open(uint8_t *mask, uint32_t width, uint32_t height, int radius);
int orfeas_mask_close(uint8_t *mask, uint32_t width, uint32_t height, int radius);

#endif
