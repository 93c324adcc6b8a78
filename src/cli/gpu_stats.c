/* orfeas gpu-stats [--device D] [--json] [--model-size-gb X] [--queue-depth N]
 *                  [--sample-size-mb M] */
#include "cli/cli.h"
#include "orfeas/device.h"
#include "orfeas/error.h"
#include "orfeas/vram.h"
#include "server/gpu_stats_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gpu_stats_args {
    const char *device;
    int json;
    double model_size_gb, sample_size_mb;
    uint32_t queue_depth;
} gpu_stats_args;

static void gpu_stats_help(FILE *out)
{
    fprintf(out, "usage: orfeas gpu-stats [--device D] [--json] [--model-size-gb X]\n"
                 "                        [--queue-depth N] [--sample-size-mb M]\n\n"
                 "Shows the memory of a compute device as the VRAM manager sees it: total, free,\n"
                 "allocated by orfeas, pooled, reserved, the job budget, usage, the recommended\n"
                 "precision and the optimal batch size for a model of the given size.\n\n"
                 "options:\n"
                 "  --device D           auto, cpu, cuda, cuda:N, sim:SIZE[,oom-after=N]\n"
                 "                       (default auto: cuda when a GPU answers, else cpu)\n"
                 "  --json               print one JSON object (as GET /api/v1/gpu/stats)\n"
                 "  --model-size-gb X    model size in GB for the batch size (default 6)\n"
                 "  --queue-depth N      jobs waiting, for the batch size (default 0)\n"
                 "  --sample-size-mb M   memory per sample in MB (default 50)\n"
                 "  -h, --help           this text\n\n"
                 "exit status: 0 ok, 2 invalid usage, 3 no such device, 1 anything else.\n");
}

static int parse_double(const char *text, double min, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < min) return ORFEAS_EINVAL;
    *out = v;
    return 0;
}

static int parse_u32(const char *text, uint32_t *out)
{
    char *end;
    errno = 0;
    if (*text == '-') return ORFEAS_EINVAL;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || end == text || *end || v > UINT32_MAX) return ORFEAS_EINVAL;
    *out = (uint32_t)v;
    return 0;
}

/* 0 to run, 1 when help was printed, ORFEAS_EINVAL on bad usage. */
static int parse_args(int argc, char **argv, gpu_stats_args *a)
{
    a->device = "auto";
    a->json = 0;
    a->model_size_gb = 6.0;
    a->queue_depth = 0;
    a->sample_size_mb = 50.0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            gpu_stats_help(stdout);
            return 1;
        }
        if (strcmp(arg, "--json") == 0) {
            a->json = 1;
            continue;
        }
        /* Every other option takes a value, as "--opt V" or "--opt=V". */
        const char *names[] = {"--device", "--model-size-gb", "--queue-depth", "--sample-size-mb"};
        int which = -1;
        const char *value = NULL;
        for (int k = 0; k < 4; k++) {
            size_t n = strlen(names[k]);
            if (strncmp(arg, names[k], n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
                which = k;
                if (arg[n] == '=')
                    value = arg + n + 1;
                else if (i + 1 < argc)
                    value = argv[++i];
                break;
            }
        }
        if (which < 0) {
            fprintf(stderr, "orfeas gpu-stats: unknown option '%s'\n", arg);
            return ORFEAS_EINVAL;
        }
        if (!value) {
            fprintf(stderr, "orfeas gpu-stats: %s needs a value\n", names[which]);
            return ORFEAS_EINVAL;
        }
        int rc = 0;
        switch (which) {
        case 0:
            a->device = value;
            break;
        case 1:
            rc = parse_double(value, 0.0, &a->model_size_gb);
            break;
        case 2:
            rc = parse_u32(value, &a->queue_depth);
            break;
        default:
            rc = parse_double(value, 0.0, &a->sample_size_mb);
            if (rc == 0 && a->sample_size_mb <= 0) rc = ORFEAS_EINVAL;
            break;
        }
        if (rc) {
            fprintf(stderr, "orfeas gpu-stats: invalid value '%s' for %s\n", value, names[which]);
            return rc;
        }
    }
    return 0;
}

static void print_bytes(const char *label, uint64_t bytes)
{
    printf("  %-22s %10.2f GB  (%llu bytes)\n", label, (double)bytes / 1e9,
           (unsigned long long)bytes);
}

static void print_table(orfeas_vram *vram, const gpu_stats_args *a, const orfeas_vram_stats *st)
{
    orfeas_device *dev = orfeas_vram_device(vram);
    int gpu = dev->kind != ORFEAS_DEVICE_CPU;
    printf("device\n");
    printf("  %-22s %s\n", "name", dev->name);
    printf("  %-22s %s%s\n", "backend", orfeas_device_kind_name(dev->kind),
           dev->kind == ORFEAS_DEVICE_SIM ? " (simulated)" : "");
    printf("  %-22s %s\n", "GPU available", gpu ? "yes" : "no (CUDA not available)");
    orfeas_device_telemetry tel;
    memset(&tel, 0, sizeof tel);
    if (dev->iface->telemetry && dev->iface->telemetry(dev->ctx, &tel) == 0) {
        if (tel.has_utilization) printf("  %-22s %u %%\n", "utilization", tel.gpu_utilization_pct);
        if (tel.has_temperature) printf("  %-22s %d C\n", "temperature", tel.temperature_c);
    }
    printf("memory\n");
    print_bytes("total", st->total_bytes);
    print_bytes("free", st->free_bytes);
    print_bytes("allocated by orfeas", st->allocated_bytes);
    print_bytes("pooled", st->pooled_bytes);
    print_bytes("reserved for jobs", st->reserved_bytes);
    print_bytes("system reserve", st->system_reserve_bytes);
    print_bytes("cache reserve", st->cache_reserve_bytes);
    print_bytes("budget", st->budget_bytes);
    printf("  %-22s %10.1f %%\n", "usage", st->usage_percent);
    printf("jobs\n");
    printf("  %-22s %u\n", "active reservations", st->active_reservations);
    printf("  %-22s %u\n", "waiting", st->waiting_jobs);
    printf("  %-22s %llu\n", "out-of-memory events", (unsigned long long)st->oom_events);
    printf("recommendation\n");
    printf("  %-22s %s\n", "precision", orfeas_precision_name(st->precision));
    printf("  %-22s %s\n", "mixed precision", st->mixed_precision ? "yes" : "no");
    printf("  %-22s %s\n", "quantization", st->quantization ? "yes" : "no");
    printf("  %-22s %u  (model %.2f GB, queue depth %u, sample %.1f MB)\n", "optimal batch size",
           orfeas_batch_size_formula((double)st->free_bytes / 1e9, a->model_size_gb,
                                     (double)st->cache_reserve_bytes / 1e9, a->queue_depth,
                                     a->sample_size_mb),
           a->model_size_gb, a->queue_depth, a->sample_size_mb);
}

int cli_gpu_stats(int argc, char **argv)
{
    gpu_stats_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc == 1) return 0;
    if (rc) {
        fprintf(stderr, "try 'orfeas gpu-stats --help'\n");
        return orfeas_error_exit_status(ORFEAS_EINVAL);
    }
    orfeas_device *dev = NULL;
    char why[256] = "";
    rc = orfeas_device_open(a.device, &dev, why, sizeof why);
    if (rc) {
        fprintf(stderr, "orfeas gpu-stats: cannot open device '%s': %s\n", a.device,
                why[0] ? why : orfeas_strerror(rc));
        return orfeas_error_exit_status(rc);
    }
    /* For auto, the device layer has already logged why it chose the cpu. */

    orfeas_vram_config cfg;
    orfeas_vram_config_init(&cfg);
    cfg.monitor_interval_s = -1; /* one snapshot, no monitor thread */
    orfeas_vram *vram = NULL;
    rc = orfeas_vram_create(dev, &cfg, &vram);
    if (rc) {
        fprintf(stderr, "orfeas gpu-stats: %s\n", orfeas_strerror(rc));
        orfeas_device_close(dev);
        return orfeas_error_exit_status(rc);
    }
    if (a.json) {
        char *json = NULL;
        rc = orfeas_gpu_stats_json(vram, a.model_size_gb, a.queue_depth, a.sample_size_mb, &json);
        if (rc == 0) {
            printf("%s\n", json);
            free(json);
        }
    } else {
        orfeas_vram_stats st;
        rc = orfeas_vram_stats_get(vram, &st);
        if (rc == 0) print_table(vram, &a, &st);
    }
    if (rc) fprintf(stderr, "orfeas gpu-stats: %s\n", orfeas_strerror(rc));
    orfeas_vram_destroy(vram);
    orfeas_device_close(dev);
    return rc ? orfeas_error_exit_status(rc) : 0;
}
