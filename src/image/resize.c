/* orfeas — RGBA8 resampling (area average down, bilinear up) on the
 * device layer's separable resampler (device/cpu_kernels_resize.c). */
#include "image/resize.h"
#include "device/cpu_kernels.h"
#include "orfeas/error.h"

#include <string.h>

/* RGBA8 rows become premultiplied floats (colour * alpha/255, alpha 0..255). */
static void load_rgba8(const void *src, size_t stride, uint32_t y, uint32_t w, float *out)
{
    const uint8_t *p = (const uint8_t *)src + (size_t)y * stride;
    for (uint32_t x = 0; x < w; x++, p += 4, out += 4) {
        float a = p[3], k = a * (1.0f / 255.0f);
        out[0] = p[0] * k;
        out[1] = p[1] * k;
        out[2] = p[2] * k;
        out[3] = a;
    }
}

/* Branch-free clamp and round; NaN becomes 0 (a comparison with NaN is false). */
static inline uint8_t to_u8(float v)
{
    v = v > 0.0f ? v : 0.0f;
    v = v < 255.0f ? v : 255.0f;
    return (uint8_t)(int)(v + 0.5f);
}

static void store_rgba8(const float *row, uint32_t w, void *dst, uint32_t y)
{
    uint8_t *p = (uint8_t *)dst + (size_t)y * w * 4;
    for (uint32_t x = 0; x < w; x++, p += 4, row += 4) {
        uint8_t a = to_u8(row[3]);
        p[3] = a;
        if (a == 0) {
            p[0] = p[1] = p[2] = 0;
            continue;
        }
        float k = 255.0f / row[3];
        p[0] = to_u8(row[0] * k);
        p[1] = to_u8(row[1] * k);
        p[2] = to_u8(row[2] * k);
    }
}

int orfeas_resize_rgba8(const uint8_t *src, uint32_t sw, uint32_t sh, size_t sstride, uint8_t *dst,
                        uint32_t dw, uint32_t dh)
{
    if (!src || !dst || !sw || !sh || !dw || !dh || sstride < (size_t)sw * 4) return ORFEAS_EINVAL;
    if (sw == dw && sh == dh) {
        for (uint32_t y = 0; y < sh; y++)
            memcpy(dst + (size_t)y * dw * 4, src + (size_t)y * sstride, (size_t)sw * 4);
        return 0;
    }
    return orfeas_cpu_resample(src, sstride, sw, sh, dst, dw, dh, 4, load_rgba8, store_rgba8);
}
