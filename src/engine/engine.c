/* The generation pipeline: admission on the device, the stages in order,
 * one retry at a lower precision after an out-of-memory, and the final
 * check of the mesh guarantees. */
#include "engine/gen.h"
#include "core/clock.h"
#include "orfeas/error.h"
#include "orfeas/log.h"
#include "vram/devmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const stage_names[ORFEAS_STAGE_COUNT_] = {"decode",  "foreground", "depth",
                                                             "heights", "mesh",       "check"};
/* Share of the overall progress each stage ends at. */
static const double stage_end_percent[ORFEAS_STAGE_COUNT_] = {10, 30, 40, 55, 95, 100};

const char *orfeas_stage_name(orfeas_stage stage)
{
    return (unsigned)stage < ORFEAS_STAGE_COUNT_ ? stage_names[stage] : "unknown";
}

/* Records the stage time and reports progress; non-zero means stop. */
static int stage_done(orfeas_gen *j, orfeas_stage stage)
{
    double t = orfeas_clock_mono_ms();
    j->stats->stage_ms[stage] += t - j->stage_start;
    j->stage_start = t;
    if (j->opts && j->opts->progress &&
        j->opts->progress(j->opts->progress_userdata, stage, stage_end_percent[stage]))
        return ORFEAS_ECANCELLED;
    const atomic_int *cancel = orfeas_gen_cancel(j);
    return cancel && atomic_load(cancel) ? ORFEAS_ECANCELLED : 0;
}

static orfeas_precision lower_precision(orfeas_precision p)
{
    return p == ORFEAS_PRECISION_FP32 ? ORFEAS_PRECISION_FP16 : ORFEAS_PRECISION_INT8;
}

static uint64_t estimate(const orfeas_gen *j, orfeas_precision p)
{
    return orfeas_gen_estimate(orfeas_devmem_host_accessible(&j->mem), p, 1, j->w, j->h,
                               orfeas_gen_depth_bytes(j));
}

static void log_usage(orfeas_vram *vram, const char *when)
{
    orfeas_vram_stats st;
    if (!vram || orfeas_vram_stats_get(vram, &st)) return;
    ORFEAS_INFO("GPU usage %s generation: %.1f%% used, %.2f GB free, %.1f MiB allocated by orfeas",
                when, st.usage_percent, st.free_bytes / 1e9, st.allocated_bytes / 1048576.0);
}

/* Picks the precision and reserves its estimate. A generation that fits now at
 * its precision runs; else one that fits now at a lower precision runs
 * there; else it waits for the precision that can fit the card at all. */
static int admit(orfeas_gen *j, orfeas_precision wanted, orfeas_vram_reservation *res)
{
    orfeas_vram *vram = j->opts ? j->opts->vram : NULL;
    j->precision = wanted;
    if (!vram) return 0;
    uint64_t capacity = orfeas_vram_capacity(vram);
    for (orfeas_precision p = wanted;; p = lower_precision(p)) {
        if (orfeas_vram_would_fit(vram, estimate(j, p))) {
            j->precision = p;
            break;
        }
        if (p == ORFEAS_PRECISION_INT8) {
            /* Nothing fits now: wait at the best precision the card holds. */
            for (p = wanted; p != ORFEAS_PRECISION_INT8 && estimate(j, p) > capacity;)
                p = lower_precision(p);
            if (estimate(j, p) > capacity) {
                snprintf(j->stats->error_detail, sizeof j->stats->error_detail,
                         "needs %.1f MiB even at int8; the card's budget for jobs is %.1f MiB",
                         estimate(j, p) / 1048576.0, capacity / 1048576.0);
                return ORFEAS_EGPUOOM;
            }
            j->precision = p;
            break;
        }
    }
    j->stats->device_estimate_bytes = estimate(j, j->precision);
    int timeout = j->opts->reserve_timeout_ms > 0 ? j->opts->reserve_timeout_ms : -1;
    return orfeas_vram_reserve(vram, j->stats->device_estimate_bytes, timeout, orfeas_gen_cancel(j),
                               res);
}

/* Everything after decoding, on the working grid. */
static int run_stages(orfeas_gen *j, orfeas_mesh *mesh)
{
    int err = orfeas_stage_working_image(j);
    if (!err) err = orfeas_stage_foreground(j);
    if (!err) err = stage_done(j, ORFEAS_STAGE_FOREGROUND);
    if (!err) err = orfeas_stage_depth(j);
    if (!err) err = stage_done(j, ORFEAS_STAGE_DEPTH);
    if (!err) err = orfeas_stage_heights(j);
    if (!err) err = stage_done(j, ORFEAS_STAGE_HEIGHTS);
    if (!err) err = orfeas_stage_mesh(j, mesh);
    if (!err) err = stage_done(j, ORFEAS_STAGE_MESH);
    return err;
}

static orfeas_precision initial_precision(const orfeas_gen *j)
{
    if (j->params.precision != ORFEAS_PRECISION_AUTO) return j->params.precision;
    orfeas_vram *vram = j->opts ? j->opts->vram : NULL;
    return vram ? orfeas_vram_recommend_precision(vram) : ORFEAS_PRECISION_FP32;
}

static int generate(orfeas_gen *j, orfeas_mesh *mesh)
{
    orfeas_vram *vram = j->opts ? j->opts->vram : NULL;
    int err = orfeas_stage_decode(j);
    if (!err) err = stage_done(j, ORFEAS_STAGE_DECODE);
    if (err) return err;
    const orfeas_params original = j->params;
    uint32_t w = j->w, h = j->h;
    orfeas_precision precision = initial_precision(j);
    for (int attempt = 0;; attempt++) {
        orfeas_vram_reservation res = {0};
        err = admit(j, precision, &res);
        if (err) return err;
        err = run_stages(j, mesh);
        orfeas_gen_release_grid(j);
        if (vram) orfeas_vram_release(vram, &res);
        if (err != ORFEAS_EGPUOOM || attempt > 0 || j->precision == ORFEAS_PRECISION_INT8)
            return err;
        /* Out of memory mid-run: the generation's buffers are freed; return the
         * pool to the driver and try once more one precision lower. */
        orfeas_mesh_free(mesh);
        if (vram) {
            uint64_t released = 0;
            orfeas_vram_note_oom(vram);
            orfeas_vram_clear_cache(vram, &released);
        }
        ORFEAS_WARN("out of GPU memory at %s; retrying at %s", orfeas_precision_name(j->precision),
                    orfeas_precision_name(lower_precision(j->precision)));
        precision = lower_precision(j->precision);
        j->params = original;
        j->w = w, j->h = h;
        j->stats->oom_retries++;
    }
}

int orfeas_generate(const orfeas_input *input, const orfeas_params *params,
                    const orfeas_generate_options *options, orfeas_mesh *mesh,
                    orfeas_generate_stats *stats)
{
    orfeas_generate_stats local_stats;
    if (!stats) stats = &local_stats;
    memset(stats, 0, sizeof *stats);
    memset(mesh, 0, sizeof *mesh);
    if (!input || !params || !input->image || input->image_size == 0) return ORFEAS_EUNSUPPORTED;
    if (orfeas_params_validate(params, stats->error_detail, sizeof stats->error_detail))
        return ORFEAS_EINVAL;

    orfeas_gen j = {.input = input, .params = *params, .opts = options, .stats = stats};
    orfeas_vram *vram = options ? options->vram : NULL;
    orfeas_vram_bind_devmem(vram, &j.mem);
    j.mem.in_use = &j.mem_in_use;
    j.mem.peak = &j.mem_peak;
    /* Planes live on the device only where the device's memory is the host's
     * (cpu, sim); with a GPU they stay in host memory. */
    if (orfeas_devmem_host_accessible(&j.mem)) j.plane_mem = j.mem;
    j.depth_mm = params->depth_mm > 0                     ? params->depth_mm
                 : params->mode == ORFEAS_MODE_LITHOPHANE ? 3.0
                                                          : 20.0;
    double start = orfeas_clock_mono_ms();
    j.stage_start = start;
    log_usage(vram, "before");
    int err = generate(&j, mesh);
    if (!err) err = orfeas_mesh_check(mesh, &stats->report);
    /* Never hand out a mesh that breaks the guarantees. */
    if (!err && !orfeas_mesh_report_ok(&stats->report)) {
        ORFEAS_ERROR("mesh check failed: %llu boundary, %llu non-manifold, %llu flipped edges",
                     (unsigned long long)stats->report.boundary_edges,
                     (unsigned long long)stats->report.nonmanifold_edges,
                     (unsigned long long)stats->report.inconsistent_edges);
        err = ORFEAS_EINTERNAL;
    }
    if (!err) err = stage_done(&j, ORFEAS_STAGE_CHECK);
    log_usage(vram, "after");
    stats->mode = j.params.mode;
    stats->precision = j.precision;
    stats->device_peak_bytes = j.mem_peak;
    stats->total_ms = orfeas_clock_mono_ms() - start;
    orfeas_gen_release_grid(&j);
    orfeas_image_free(&j.source);
    if (err) orfeas_mesh_free(mesh);
    return err;
}
