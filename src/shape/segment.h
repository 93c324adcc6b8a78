/* Foreground segmentation (DESIGN.md §3 "Foreground"): a GrabCut-style
 * colour-model segmentation seeded from the image border, used when the
 * image has no real alpha and no mask was uploaded.
 *
 * The image is area-averaged down to a working size, a frame strip seeds the
 * background colour model and the rest the foreground one (Gaussian mixtures;
 * frame colours much more common in the centre are not forced to background),
 * and a few rounds of model fitting + graph cut (Boykov-Kolmogorov) settle the
 * labels. The result is cleaned up (largest 8-connected component, holes
 * filled), smoothed, and upsampled to the full resolution. */
#ifndef ORFEAS_SHAPE_SEGMENT_H
#define ORFEAS_SHAPE_SEGMENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct orfeas_segment_options {
    uint32_t work_long_side; /* segmentation runs at this long side, 0 = default */
    int iterations;          /* GrabCut iterations, 0 = default */
} orfeas_segment_options;

#define ORFEAS_SEGMENT_DEFAULT_LONG_SIDE 256
#define ORFEAS_SEGMENT_DEFAULT_ITERATIONS 5

/* rgba: width*height RGBA8 pixels with row stride (alpha is ignored).
 * mask_out: width*height bytes, 255 = object, 0 = background, at the full
 * input resolution. confidence_out (may be NULL): 0..1, how sure we are that
 * there is one real foreground object (low when the foreground and background
 * colour models barely differ, or when the object covers almost nothing or
 * almost everything). opts may be NULL (defaults). Returns 0, ORFEAS_EINVAL
 * (NULL buffers, zero size, stride too small), ORFEAS_ENOMEM, or
 * ORFEAS_ECANCELLED if *cancel becomes non-zero (cancel may be NULL).
 * Deterministic: the same input gives the same bytes. */
int orfeas_segment_foreground(const uint8_t *rgba, uint32_t width, uint32_t height, size_t stride,
                              const orfeas_segment_options *opts, const atomic_int *cancel,
                              uint8_t *mask_out, double *confidence_out);

#endif
