#include "shape/depthmap.h"
#include "orfeas/error.h"

#include <stdlib.h>

void orfeas_luminance(const uint8_t *rgba, size_t count, float *out)
{
    for (size_t i = 0; i < count; i++) {
        const uint8_t *p = rgba + 4 * i;
        out[i] = (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) * (1.0f / 255.0f);
    }
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
