/* orfeas generate PHOTO -o OUT.glb [-o OUT.stl ...] [parameters] */
#include "cli/cli.h"
#include "orfeas/depth.h"
#include "orfeas/orfeas.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_OUTPUTS 8
#define MAX_INPUT_BYTES (256u << 20)

typedef struct generate_args {
    const char *image, *mask, *depth, *thumbnail, *device, *depth_model, *depth_precision;
    const char *outputs[MAX_OUTPUTS];
    int output_count;
    orfeas_params params;
    orfeas_decode_limits limits;
    int quiet;
} generate_args;

static void generate_help(FILE *out)
{
    fprintf(
        out,
        "usage: orfeas generate IMAGE -o OUT.{stl,obj,ply,glb} [-o OUT2 ...] [options]\n\n"
        "Turns a PNG, JPEG or WebP image into a closed, printable, coloured mesh.\n"
        "The format of each output follows its extension.\n\n"
        "options:\n"
        "  -o, --output PATH       output file (repeat for several formats)\n"
        "  --mask PATH             foreground mask image (white = object)\n"
        "  --depth PATH            depth image (8/16-bit grey, brighter = nearer)\n"
        "  --thumbnail PATH        also render a 256x256 PNG preview of the model\n"
        "  --max-pixels N          refuse images with more pixels (default 50000000)\n"
        "  --device D              auto, cpu, cuda[:N], sim:<size>[,oom-after=N] (default auto)\n"
        "  --depth-model PATH      Depth Anything V2 Small weights (model.safetensors)\n"
        "  --depth-precision P     its weights: fp32, fp16, int8 or auto (by the device's free\n"
        "                          memory; fp32 on the cpu); default: --precision if set, else "
        "auto\n"
        "  --log-level LEVEL       debug, info, warn, error, off (default warn)\n"
        "  -q, --quiet             no progress bar and no summary\n"
        "  -h, --help              this text\n\n"
        "parameters:\n");
    for (const orfeas_param_desc *d = orfeas_params_table(); d->name; d++) {
        if (strcmp(d->name, "format") == 0) continue; /* taken from -o */
        char values[128] = "";
        if (d->values) {
            for (int i = 0; d->values[i]; i++) {
                strncat(values, i ? "|" : "", sizeof values - strlen(values) - 1);
                strncat(values, d->values[i], sizeof values - strlen(values) - 1);
            }
        } else {
            snprintf(values, sizeof values, "%g..%g", d->min, d->max);
        }
        fprintf(out, "  %-20s %s (default %s)\n      %s\n", d->flag, values, d->default_text,
                d->help);
    }
    fprintf(out, "\nexit status: 0 ok, 2 invalid parameter, 3 file not found or I/O error,\n"
                 "4 too large, 5 unsupported format, 6 invalid image, 7 no foreground,\n"
                 "11 out of memory, 1 anything else.\n");
}

static int parse_args(int argc, char **argv, generate_args *a)
{
    memset(a, 0, sizeof *a);
    orfeas_params_init(&a->params);
    a->limits.max_pixels = ORFEAS_DEFAULT_MAX_PIXELS;
    orfeas_log_set_level(ORFEAS_LOG_WARN);
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            generate_help(stdout);
            exit(0);
        }
        if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) {
            a->quiet = 1;
            continue;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            if (a->image) {
                fprintf(stderr, "orfeas generate: more than one input image ('%s')\n", arg);
                return ORFEAS_EINVAL;
            }
            a->image = arg;
            continue;
        }
        /* --name=value or --name value */
        char flag[64];
        const char *value = NULL;
        const char *eq = strchr(arg, '=');
        size_t flag_len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (flag_len >= sizeof flag) flag_len = sizeof flag - 1;
        memcpy(flag, arg, flag_len);
        flag[flag_len] = '\0';
        if (eq)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        if (!value) {
            fprintf(stderr, "orfeas generate: %s needs a value\n", flag);
            return ORFEAS_EINVAL;
        }
        if (strcmp(flag, "-o") == 0 || strcmp(flag, "--output") == 0) {
            if (a->output_count == MAX_OUTPUTS) {
                fprintf(stderr, "orfeas generate: at most %d outputs\n", MAX_OUTPUTS);
                return ORFEAS_EINVAL;
            }
            orfeas_format f;
            if (orfeas_format_from_path(value, &f)) {
                fprintf(stderr,
                        "orfeas generate: '%s': extension must be .stl, .obj, .ply or .glb\n",
                        value);
                return ORFEAS_EINVAL;
            }
            a->outputs[a->output_count++] = value;
        } else if (strcmp(flag, "--mask") == 0) {
            a->mask = value;
        } else if (strcmp(flag, "--depth") == 0) {
            a->depth = value;
        } else if (strcmp(flag, "--device") == 0) {
            a->device = value;
        } else if (strcmp(flag, "--depth-model") == 0) {
            a->depth_model = value;
        } else if (strcmp(flag, "--depth-precision") == 0) {
            orfeas_depth_precision dp;
            if (orfeas_depth_precision_choose(value, NULL, &dp)) {
                fprintf(
                    stderr,
                    "orfeas generate: --depth-precision: '%s' is not fp32, fp16, int8 or auto\n",
                    value);
                return ORFEAS_EINVAL;
            }
            a->depth_precision = value;
        } else if (strcmp(flag, "--thumbnail") == 0) {
            a->thumbnail = value;
        } else if (strcmp(flag, "--max-pixels") == 0) {
            char *end;
            unsigned long long v = strtoull(value, &end, 10);
            if (*end || v == 0) {
                fprintf(stderr, "orfeas generate: --max-pixels: '%s' is not a positive integer\n",
                        value);
                return ORFEAS_EINVAL;
            }
            a->limits.max_pixels = v;
        } else if (strcmp(flag, "--log-level") == 0) {
            orfeas_log_level level;
            if (orfeas_log_parse_level(value, &level)) {
                fprintf(stderr, "orfeas generate: --log-level: unknown level '%s'\n", value);
                return ORFEAS_EINVAL;
            }
            orfeas_log_set_level(level);
        } else {
            char err[256];
            if (orfeas_params_set(&a->params, flag, value, err, sizeof err)) {
                fprintf(stderr, "orfeas generate: %s\n", err);
                return ORFEAS_EINVAL;
            }
        }
    }
    if (!a->image || a->output_count == 0) {
        fprintf(stderr, "orfeas generate: need an input image and at least one -o OUTPUT\n"
                        "try 'orfeas generate --help'\n");
        return ORFEAS_EINVAL;
    }
    char err[256];
    if (orfeas_params_validate(&a->params, err, sizeof err)) {
        fprintf(stderr, "orfeas generate: %s\n", err);
        return ORFEAS_EINVAL;
    }
    return 0;
}

static int progress_bar(void *userdata, orfeas_stage stage, double percent)
{
    (void)userdata;
    int filled = (int)(percent * 0.3);
    fprintf(stderr, "\r[%-30.*s] %3.0f%% %-10s", filled, "##############################", percent,
            orfeas_stage_name(stage));
    if (percent >= 100) fputc('\n', stderr);
    fflush(stderr);
    return 0;
}

static int load(const char *what, const char *path, uint8_t **data, size_t *size)
{
    int err = orfeas_read_file(path, MAX_INPUT_BYTES, data, size);
    if (err) fprintf(stderr, "orfeas generate: %s '%s': %s\n", what, path, orfeas_strerror(err));
    return err;
}

static void print_summary(const generate_args *a, const orfeas_mesh *mesh,
                          const orfeas_generate_stats *st)
{
    const orfeas_mesh_report *r = &st->report;
    printf("mode %s, foreground %s, %ux%u -> %ux%u working grid\n", orfeas_mode_name(st->mode),
           st->foreground_source, st->source_width, st->source_height, st->work_width,
           st->work_height);
    printf("vertices %u, triangles %u (full resolution %llu, simplification tolerance %.3f mm)\n",
           mesh->vertex_count, mesh->triangle_count, (unsigned long long)st->full_triangles,
           st->max_height_error_mm);
    printf("volume %.1f mm^3, bbox %.2f x %.2f x %.2f mm, watertight yes, parts %u\n", r->volume,
           r->max[0] - r->min[0], r->max[1] - r->min[1], r->max[2] - r->min[2], r->components);
    printf("device peak %.1f MiB of %.1f MiB reserved, precision %s\n",
           st->device_peak_bytes / 1048576.0, st->device_estimate_bytes / 1048576.0,
           orfeas_precision_name(st->precision));
    printf("ms:");
    for (int s = 0; s < ORFEAS_STAGE_COUNT_; s++)
        printf(" %s %.1f", orfeas_stage_name((orfeas_stage)s), st->stage_ms[s]);
    printf(", total %.1f\n", st->total_ms);
    (void)a;
}

int cli_generate(int argc, char **argv)
{
    generate_args a;
    int err = parse_args(argc, argv, &a);
    if (err) return orfeas_error_exit_status(err);

    uint8_t *image = NULL, *mask = NULL, *depth = NULL;
    size_t image_size = 0, mask_size = 0, depth_size = 0;
    err = load("image", a.image, &image, &image_size);
    if (!err && a.mask) err = load("mask", a.mask, &mask, &mask_size);
    if (!err && a.depth) err = load("depth", a.depth, &depth, &depth_size);
    if (err) {
        free(image), free(mask), free(depth);
        return orfeas_error_exit_status(err);
    }
    if (a.depth && a.params.depth_source == ORFEAS_DEPTH_AUTO)
        a.params.depth_source = ORFEAS_DEPTH_UPLOAD;

    orfeas_device *dev = NULL;
    orfeas_vram *vram = NULL;
    char why[256];
    err = orfeas_device_open(a.device ? a.device : "auto", &dev, why, sizeof why);
    if (!err) {
        orfeas_vram_config config;
        orfeas_vram_config_init(&config);
        config.monitor_interval_s = -1; /* one job: nothing to watch */
        err = orfeas_vram_create(dev, &config, &vram);
    } else {
        fprintf(stderr, "orfeas generate: --device: %s\n", why);
    }
    if (err) {
        orfeas_device_close(dev);
        free(image), free(mask), free(depth);
        return orfeas_error_exit_status(err);
    }

    /* The model's weights at --depth-precision (by default --precision when
     * given, else auto: by the device's free memory, fp32 on the cpu), a
     * resident reservation of the VRAM manager while loaded. */
    orfeas_depth_model *model = NULL;
    if (a.depth_model) {
        const char *dp = a.depth_precision ? a.depth_precision
                         : a.params.precision == ORFEAS_PRECISION_AUTO
                             ? "auto"
                             : orfeas_precision_name(a.params.precision);
        char msg[1400];
        err = orfeas_depth_load_on(a.depth_model, dp, vram, &model, msg, sizeof msg);
        if (err) {
            fprintf(stderr, "orfeas generate: %s\n", msg);
            orfeas_vram_destroy(vram);
            orfeas_device_close(dev);
            free(image), free(mask), free(depth);
            return orfeas_error_exit_status(err);
        }
    }

    orfeas_input input = {image, image_size, mask, mask_size, depth, depth_size};
    orfeas_generate_options opts = {.limits = a.limits, .vram = vram, .depth_model = model};
    if (!a.quiet && isatty(STDERR_FILENO)) opts.progress = progress_bar;
    orfeas_mesh mesh;
    orfeas_generate_stats stats;
    err = orfeas_generate(&input, &a.params, &opts, &mesh, &stats);
    free(image), free(mask), free(depth);
    orfeas_depth_free(model);
    orfeas_vram_destroy(vram);
    orfeas_device_close(dev);
    if (err) {
        fprintf(stderr, "orfeas generate: %s: %s (%s)%s%s\n", a.image, orfeas_strerror(err),
                orfeas_error_code(err), stats.error_detail[0] ? ": " : "", stats.error_detail);
        return orfeas_error_exit_status(err);
    }
    for (int i = 0; i < a.output_count && !err; i++) {
        orfeas_format format;
        orfeas_format_from_path(a.outputs[i], &format);
        orfeas_buffer buf = {0};
        err = orfeas_export(&mesh, format, a.params.texture == ORFEAS_TEXTURE_VERTEX, &buf);
        if (!err) err = orfeas_write_file_atomic(a.outputs[i], buf.data, buf.size);
        if (err)
            fprintf(stderr, "orfeas generate: writing '%s': %s\n", a.outputs[i],
                    orfeas_strerror(err));
        else if (!a.quiet)
            printf("wrote %s (%zu bytes)\n", a.outputs[i], buf.size);
        orfeas_buffer_free(&buf);
    }
    if (!err && a.thumbnail) {
        orfeas_buffer png = {0};
        err = orfeas_render_thumbnail(&mesh, NULL, &png);
        if (!err) err = orfeas_write_file_atomic(a.thumbnail, png.data, png.size);
        if (err)
            fprintf(stderr, "orfeas generate: thumbnail '%s': %s\n", a.thumbnail,
                    orfeas_strerror(err));
        orfeas_buffer_free(&png);
    }
    if (!err && !a.quiet) print_summary(&a, &mesh, &stats);
    orfeas_mesh_free(&mesh);
    return orfeas_error_exit_status(err);
}
