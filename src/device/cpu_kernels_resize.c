/* The cpu reference of the resize kernel (orfeas_kernels.resize_f32) and
 * the separable resampler under it, which image/resize.c's RGBA8 resize
 * shares (area average down, bilinear up).
 *
 * Rows are filtered horizontally once each into a small ring buffer and the
 * vertical taps read from there, so memory stays at a few destination rows
 * whatever the source size. Weights are computed once per axis; the float
 * operations run in a fixed order, so the output is reproducible. */
#include "device/cpu_kernels.h"
#include "orfeas/error.h"

#include <stdlib.h>
#include <string.h>

/* Taps of one axis: destination i reads source start[i] .. start[i]+count[i]-1
 * with weights w[i*max_count ...], which sum to 1. */
struct taps {
    uint32_t *start;
    uint32_t *count;
    float *w;
    uint32_t max_count;
};

static void taps_free(struct taps *t)
{
    free(t->start);
    free(t->count);
    free(t->w);
}

static int taps_make(struct taps *t, uint32_t sn, uint32_t dn)
{
    memset(t, 0, sizeof *t);
    /* Shrinking covers at most ceil(sn/dn)+1 source pixels; bilinear 2. */
    uint64_t max = dn < sn ? ((uint64_t)sn + dn - 1) / dn + 1 : 2;
    t->max_count = (uint32_t)max;
    t->start = malloc(dn * sizeof *t->start);
    t->count = malloc(dn * sizeof *t->count);
    t->w = calloc((size_t)dn * max, sizeof *t->w);
    if (!t->start || !t->count || !t->w) {
        taps_free(t);
        return ORFEAS_ENOMEM;
    }
    for (uint32_t i = 0; i < dn; i++) {
        float *w = t->w + (size_t)i * max;
        if (dn < sn) {
            /* In units of 1/dn: destination i spans [i*sn, (i+1)*sn), source
             * j spans [j*dn, (j+1)*dn). Integer overlaps make exact weights. */
            uint64_t lo = (uint64_t)i * sn, hi = lo + sn;
            uint32_t j0 = (uint32_t)(lo / dn), j1 = (uint32_t)((hi + dn - 1) / dn);
            t->start[i] = j0;
            t->count[i] = j1 - j0;
            for (uint32_t j = j0; j < j1; j++) {
                uint64_t a = (uint64_t)j * dn, b = a + dn;
                uint64_t overlap = (hi < b ? hi : b) - (lo > a ? lo : a);
                w[j - j0] = (float)((double)overlap / sn);
            }
        } else if (dn > sn) {
            double c = ((double)i + 0.5) * sn / dn - 0.5;
            if (c < 0) c = 0;
            uint32_t j0 = (uint32_t)c;
            double f = c - j0;
            if (j0 >= sn - 1) {
                j0 = sn - 1;
                f = 0;
            }
            t->start[i] = j0;
            t->count[i] = f > 0 ? 2 : 1;
            w[0] = (float)(1.0 - f);
            w[1] = (float)f;
        } else {
            t->start[i] = i;
            t->count[i] = 1;
            w[0] = 1.0f;
        }
    }
    return 0;
}

/* Horizontal pass of one row; ch is a constant in each caller so the channel
 * loops unroll. */
static inline void filter_row_ch(const float *in, const struct taps *hx, uint32_t dw, float *out,
                                 const int ch)
{
    for (uint32_t i = 0; i < dw; i++) {
        const float *w = hx->w + (size_t)i * hx->max_count;
        const float *p = in + (size_t)hx->start[i] * ch;
        float acc[4] = {0, 0, 0, 0};
        for (uint32_t k = 0; k < hx->count[i]; k++, p += ch)
            for (int c = 0; c < ch; c++)
                acc[c] += w[k] * p[c];
        for (int c = 0; c < ch; c++)
            out[(size_t)i * ch + c] = acc[c];
    }
}

static void filter_row(const float *in, const struct taps *hx, uint32_t dw, int channels,
                       float *out)
{
    if (channels == 4)
        filter_row_ch(in, hx, dw, out, 4);
    else
        filter_row_ch(in, hx, dw, out, 1);
}

int orfeas_cpu_resample(const void *src, size_t sstride, uint32_t sw, uint32_t sh, void *dst,
                        uint32_t dw, uint32_t dh, int channels, orfeas_resample_load_fn load,
                        orfeas_resample_store_fn store)
{
    struct taps hx, vy;
    int rc = taps_make(&hx, sw, dw);
    if (rc) return rc;
    rc = taps_make(&vy, sh, dh);
    if (rc) {
        taps_free(&hx);
        return rc;
    }
    size_t drow = (size_t)dw * channels;
    uint32_t ring_n = vy.max_count;
    float *line = malloc((size_t)sw * channels * sizeof(float));
    float *ring = malloc(ring_n * drow * sizeof(float));
    float *acc = malloc(drow * sizeof(float));
    if (!line || !ring || !acc) {
        rc = ORFEAS_ENOMEM;
        goto done;
    }
    /* Vertical starts never decrease and a destination row needs at most
     * ring_n consecutive source rows, so the ring never drops a needed row. */
    uint32_t next = 0;
    for (uint32_t y = 0; y < dh; y++) {
        uint32_t s = vy.start[y], n = vy.count[y];
        for (; next < s + n; next++) {
            load(src, sstride, next, sw, line);
            filter_row(line, &hx, dw, channels, ring + (size_t)(next % ring_n) * drow);
        }
        const float *w = vy.w + (size_t)y * vy.max_count;
        memset(acc, 0, drow * sizeof(float));
        for (uint32_t k = 0; k < n; k++) {
            const float *row = ring + (size_t)((s + k) % ring_n) * drow;
            for (size_t x = 0; x < drow; x++)
                acc[x] += w[k] * row[x];
        }
        store(acc, dw, dst, y);
    }
done:
    free(line);
    free(ring);
    free(acc);
    taps_free(&hx);
    taps_free(&vy);
    return rc;
}

static void load_f32(const void *src, size_t stride, uint32_t y, uint32_t w, float *out)
{
    memcpy(out, (const uint8_t *)src + (size_t)y * stride, (size_t)w * sizeof(float));
}

static void store_f32(const float *row, uint32_t w, void *dst, uint32_t y)
{
    memcpy((float *)dst + (size_t)y * w, row, (size_t)w * sizeof(float));
}

int orfeas_resize_f32(const float *src, uint32_t sw, uint32_t sh, float *dst, uint32_t dw,
                      uint32_t dh)
{
    if (!src || !dst || !sw || !sh || !dw || !dh) return ORFEAS_EINVAL;
    if (sw == dw && sh == dh) {
        memcpy(dst, src, (size_t)sw * sh * sizeof(float));
        return 0;
    }
    return orfeas_cpu_resample(src, (size_t)sw * sizeof(float), sw, sh, dst, dw, dh, 1, load_f32,
                               store_f32);
}
