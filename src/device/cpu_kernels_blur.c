/* The cpu reference of the blur kernel (orfeas_kernels.blur), also the
 * host blur of the depth sources (shape/depthmap.h). */
#include "device/cpu_kernels.h"
#include "orfeas/error.h"

#include <math.h>
#include <stdlib.h>

/* Running-sum box filter of radius r along a strided line, edges clamped. */
static void box_line(float *line, size_t n, size_t stride, int r, float *tmp)
{
    for (size_t i = 0; i < n; i++)
        tmp[i] = line[i * stride];
    double sum = 0;
    for (int k = -r; k <= r; k++)
        sum += tmp[k < 0 ? 0 : (size_t)k < n ? (size_t)k : n - 1];
    float inv = 1.0f / (2 * r + 1);
    for (size_t i = 0; i < n; i++) {
        line[i * stride] = (float)(sum * inv);
        long out = (long)i - r, in = (long)i + r + 1;
        sum += tmp[in < (long)n ? (size_t)in : n - 1] - tmp[out < 0 ? 0 : (size_t)out];
    }
}

int orfeas_blur(float *plane, uint32_t w, uint32_t h, float sigma)
{
    if (sigma <= 0.3f || w == 0 || h == 0) return 0;
    /* Three boxes of width 2r+1 have variance 3 * ((2r+1)^2 - 1) / 12. */
    int r = (int)floorf(0.5f * (sqrtf(4.0f * sigma * sigma + 1.0f) - 1.0f) + 0.5f);
    if (r < 1) r = 1;
    float *tmp = malloc((size_t)(w > h ? w : h) * sizeof *tmp);
    if (!tmp) return ORFEAS_ENOMEM;
    for (int pass = 0; pass < 3; pass++) {
        for (uint32_t y = 0; y < h; y++)
            box_line(plane + (size_t)y * w, w, 1, r, tmp);
        for (uint32_t x = 0; x < w; x++)
            box_line(plane + x, h, w, r, tmp);
    }
    free(tmp);
    return 0;
}
