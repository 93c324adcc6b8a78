#include "shape/depthmap.h"
#include "orfeas/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void orfeas_luminance(const uint8_t *rgba, size_t count, float *out)
{
    for (size_t i = 0; i < count; i++) {
        const uint8_t *p = rgba + 4 * i;
        out[i] = (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) * (1.0f / 255.0f);
    }
}

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

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int orfeas_normalize(float *plane, size_t count, float lo_pct, float hi_pct)
{
    if (count == 0) return 0;
    /* Percentiles from a regular subsample: exact enough, and cheap. */
    size_t step = count > 65536 ? count / 65536 : 1;
    size_t n = (count + step - 1) / step;
    float *sample = malloc(n * sizeof *sample);
    if (!sample) return ORFEAS_ENOMEM;
    for (size_t i = 0, k = 0; k < n; i += step, k++)
        sample[k] = plane[i];
    qsort(sample, n, sizeof *sample, cmp_float);
    float lo = sample[(size_t)(lo_pct * (float)(n - 1))];
    float hi = sample[(size_t)(hi_pct * (float)(n - 1))];
    free(sample);
    if (!(hi - lo > 1e-6f)) {
        for (size_t i = 0; i < count; i++)
            plane[i] = 0.5f;
        return 0;
    }
    float scale = 1.0f / (hi - lo);
    for (size_t i = 0; i < count; i++) {
        float v = (plane[i] - lo) * scale;
        plane[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    return 0;
}
