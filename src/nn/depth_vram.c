/* The depth model and the VRAM manager: the weights' resident reservation
 * and the choice of precision by free memory. */
#include "nn/depth_cuda.h"
#include "nn/depth_model.h"
#include "orfeas/error.h"
#include "orfeas/log.h"

#include <stdio.h>
#include <string.h>

int orfeas_depth_reserve_resident(orfeas_depth_model *m, orfeas_vram *vram)
{
    if (!m || !vram) return ORFEAS_EINVAL;
    if (m->vram) return ORFEAS_EINVAL; /* one reservation per model */
    char name[64];
    snprintf(name, sizeof name, "depth-anything-v2-small:%s",
             orfeas_depth_precision_name(m->precision));
    int rc = orfeas_vram_reserve_resident(vram, name, m->bytes, &m->resident);
    if (rc) return rc;
    m->vram = vram;
    return 0;
}

static orfeas_depth_precision from_engine(orfeas_precision p)
{
    switch (p) {
    case ORFEAS_PRECISION_FP16:
        return ORFEAS_DEPTH_FP16;
    case ORFEAS_PRECISION_INT8:
        return ORFEAS_DEPTH_INT8;
    default:
        return ORFEAS_DEPTH_FP32;
    }
}

int orfeas_depth_precision_choose(const char *text, orfeas_vram *vram, orfeas_depth_precision *out)
{
    if (text && strcmp(text, "auto") == 0) {
        orfeas_device *dev = vram ? orfeas_vram_device(vram) : NULL;
        /* On the cpu the weights live in RAM and fp16/int8 are not faster
         * (they are expanded to float32 for the GEMMs): full precision. */
        *out = !dev || dev->kind == ORFEAS_DEVICE_CPU
                   ? ORFEAS_DEPTH_FP32
                   : from_engine(orfeas_vram_recommend_precision(vram));
        return 0;
    }
    return orfeas_depth_precision_parse(text, out);
}

int orfeas_depth_load_on(const char *path, const char *precision, orfeas_vram *vram,
                         orfeas_depth_model **out, char *err, size_t err_size)
{
    *out = NULL;
    orfeas_depth_precision p;
    if (orfeas_depth_precision_choose(precision, vram, &p)) {
        snprintf(err, err_size, "--depth-precision: '%s' is not fp32, fp16, int8 or auto",
                 precision ? precision : "");
        return ORFEAS_EINVAL;
    }
    orfeas_depth_model *m;
    int rc = orfeas_depth_load(path, p, &m);
    if (rc) {
        snprintf(err, err_size, "--depth-model '%s': %s", path, orfeas_strerror(rc));
        return rc;
    }
    if (vram) {
        rc = orfeas_depth_reserve_resident(m, vram);
        if (rc) {
            snprintf(err, err_size,
                     "--depth-model '%s': its %s weights (%.1f MiB) do not fit the device's "
                     "budget (%.1f MiB); try --depth-precision int8",
                     path, orfeas_depth_precision_name(p), m->bytes / 1048576.0,
                     orfeas_vram_capacity(vram) / 1048576.0);
            orfeas_depth_free(m);
            return rc;
        }
    }
    orfeas_device *dev = vram ? orfeas_vram_device(vram) : NULL;
    if (dev && dev->kind == ORFEAS_DEVICE_CUDA) {
        /* The forward pass on the GPU; the CPU stays the fallback. */
        rc = orfeas_nn_depth_cuda_upload(m, dev->index, &m->cuda);
        if (rc)
            ORFEAS_WARN("depth model: not on %s (%s); it runs on the cpu", dev->name,
                        orfeas_strerror(rc));
        else
            ORFEAS_INFO("depth model: weights on %s", dev->name);
    }
    ORFEAS_INFO(
        "depth model %s: %s (%s), %.1f MiB of weights", path, orfeas_depth_precision_name(p),
        precision && strcmp(precision, "auto") == 0 ? "auto" : "asked", m->bytes / 1048576.0);
    *out = m;
    return 0;
}

uint32_t orfeas_depth_batch_limit(const orfeas_depth_model *m, orfeas_vram *vram,
                                  uint32_t queue_depth)
{
    if (!m || !vram) return 1;
    /* One sample: the pass of a 518 x 518 input (the short side every
     * image is resized to), the model's weights as the model size. */
    double sample_mb = orfeas_depth_activation_bytes(518, 518, 1, m->precision) / (1024.0 * 1024.0);
    uint32_t b = orfeas_vram_optimal_batch_size(vram, m->bytes / 1e9, queue_depth, sample_mb);
    return b < 1 ? 1 : b > ORFEAS_DEPTH_MAX_BATCH ? ORFEAS_DEPTH_MAX_BATCH : b;
}
