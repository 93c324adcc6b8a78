#include "engine/gen.h"
#include "core/half.h"
#include "orfeas/depth.h"
#include "orfeas/error.h"

#include <stdlib.h>
#include <string.h>

int orfeas_gen_alloc(orfeas_gen *j, size_t bytes, void **ptr)
{
    return orfeas_devmem_alloc(&j->plane_mem, bytes, ptr);
}

void orfeas_gen_free(orfeas_gen *j, void *ptr, size_t bytes)
{
    orfeas_devmem_free(&j->plane_mem, ptr, bytes);
}

void orfeas_gen_release_grid(orfeas_gen *j)
{
    size_t n = (size_t)j->w * j->h;
    orfeas_gen_free(j, j->rgba, n * 4);
    orfeas_plane_release(j, &j->mask);
    orfeas_plane_release(j, &j->depth);
    if (j->w && j->h) orfeas_gen_free(j, j->cells, (size_t)(j->w - 1) * (j->h - 1));
    orfeas_gen_free(j, j->front, n * sizeof(float));
    orfeas_gen_free(j, j->back, n * sizeof(float));
    j->rgba = NULL, j->cells = NULL, j->front = j->back = NULL;
}

size_t orfeas_precision_bytes(orfeas_precision precision)
{
    switch (precision) {
    case ORFEAS_PRECISION_FP16:
        return 2;
    case ORFEAS_PRECISION_INT8:
        return 1;
    default:
        return 4;
    }
}

int orfeas_plane_store(orfeas_gen *j, orfeas_plane *p, const float *values, size_t count)
{
    p->precision = j->precision;
    p->count = count;
    int err = orfeas_gen_alloc(j, count * orfeas_precision_bytes(p->precision), &p->data);
    if (err) {
        p->data = NULL;
        return err;
    }
    switch (p->precision) {
    case ORFEAS_PRECISION_FP16:
        for (size_t i = 0; i < count; i++)
            ((uint16_t *)p->data)[i] = orfeas_f32_to_f16(values[i]);
        break;
    case ORFEAS_PRECISION_INT8:
        /* The planes hold 0..1; 8 bits are what an 8-bit image had anyway. */
        for (size_t i = 0; i < count; i++) {
            float v = values[i] < 0 ? 0 : values[i] > 1 ? 1 : values[i];
            ((uint8_t *)p->data)[i] = (uint8_t)(v * 255.0f + 0.5f);
        }
        break;
    default:
        memcpy(p->data, values, count * sizeof(float));
    }
    return 0;
}

void orfeas_plane_release(orfeas_gen *j, orfeas_plane *p)
{
    if (p->data) orfeas_gen_free(j, p->data, p->count * orfeas_precision_bytes(p->precision));
    p->data = NULL;
    p->count = 0;
}

float orfeas_plane_at(const orfeas_plane *p, size_t i)
{
    switch (p->precision) {
    case ORFEAS_PRECISION_FP16:
        return orfeas_f16_to_f32(((const uint16_t *)p->data)[i]);
    case ORFEAS_PRECISION_INT8:
        return ((const uint8_t *)p->data)[i] * (1.0f / 255.0f);
    default:
        return ((const float *)p->data)[i];
    }
}

int orfeas_plane_floats(const orfeas_plane *p, float **out)
{
    *out = malloc(p->count * sizeof **out + 1);
    if (!*out) return ORFEAS_ENOMEM;
    for (size_t i = 0; i < p->count; i++)
        (*out)[i] = orfeas_plane_at(p, i);
    return 0;
}

const orfeas_decode_limits *orfeas_gen_limits(const orfeas_gen *j)
{
    return j->opts ? &j->opts->limits : NULL;
}

const atomic_int *orfeas_gen_cancel(const orfeas_gen *j)
{
    return j->opts ? j->opts->cancel : NULL;
}

/* The multigrid hierarchy of shape/inflate.c: interior (1 byte) and u, f, r
 * (4 bytes each) per point on every level. */
static uint64_t multigrid_bytes(uint32_t w, uint32_t h)
{
    uint64_t total = 0;
    for (int level = 0; level < 32; level++) {
        total += (uint64_t)w * h * 13;
        if (w <= 24 || h <= 24) break;
        w = (w + 1) / 2, h = (h + 1) / 2;
    }
    return total;
}

/* The RTIN error grid of mesh/rtin.c, plus device copies of its inputs
 * when the device has its own memory. */
static uint64_t rtin_bytes(int host_memory_device, uint32_t w, uint32_t h)
{
    uint64_t tile = 1;
    while (tile + 1 < w || tile + 1 < h)
        tile *= 2;
    if (tile < 2) tile = 2;
    uint64_t bytes = (tile + 1) * (tile + 1) * 4;
    if (!host_memory_device) bytes += (uint64_t)w * h * 8 + (uint64_t)(w - 1) * (h - 1);
    return bytes;
}

int orfeas_gen_uses_depth_model(const orfeas_gen *j)
{
    const orfeas_depth_model *model = j->opts ? j->opts->depth_model : NULL;
    orfeas_depth_source src = j->params.depth_source;
    int have_upload = j->input->depth && j->input->depth_size;
    return model && (src == ORFEAS_DEPTH_MODEL || (src == ORFEAS_DEPTH_AUTO && !have_upload)) &&
           j->params.mode != ORFEAS_MODE_LITHOPHANE;
}

uint64_t orfeas_gen_depth_bytes(const orfeas_gen *j)
{
    if (!orfeas_gen_uses_depth_model(j)) return 0;
    size_t infer =
        orfeas_depth_infer_bytes(j->w, j->h, orfeas_depth_model_precision(j->opts->depth_model));
    /* The network refuses the size: orfeas_stage_depth fails without allocating. */
    if (infer == 0) return 0;
    return infer + (uint64_t)j->w * j->h * sizeof(float);
}

uint64_t orfeas_gen_estimate(int host_memory_device, orfeas_precision precision, int has_mask,
                             uint32_t w, uint32_t h, uint64_t depth_bytes)
{
    uint64_t n = (uint64_t)w * h;
    uint64_t planes = 0;
    if (host_memory_device) {
        /* rgba, depth, mask at the precision, cells, front and back */
        planes = n * 4 + n * orfeas_precision_bytes(precision) * (has_mask ? 2 : 1) + n + n * 8;
    }
    /* Blur: a scratch plane, plus the plane itself on a device of its own. */
    uint64_t blur = n * 4 * (host_memory_device ? 1 : 2);
    uint64_t kernels = multigrid_bytes(w, h);
    if (blur > kernels) kernels = blur;
    if (rtin_bytes(host_memory_device, w, h) > kernels)
        kernels = rtin_bytes(host_memory_device, w, h);
    if (depth_bytes > kernels) kernels = depth_bytes;
    return planes + kernels;
}
