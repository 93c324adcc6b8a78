/* orfeas depth: run Depth Anything V2 Small.
 *   conformance: --weights FILE --tensor-in X.f32 --height H --width W --tensor-out Y.f32
 *   image:       IMAGE -o depth.png --depth-model FILE */
#include "cli/cli.h"
#include "core/clock.h"
#include "nn/tensor.h"
#include "orfeas/depth.h"
#include "orfeas/error.h"
#include "orfeas/image.h"

#include <errno.h>
#include <math.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void depth_help(FILE *out)
{
    fprintf(out,
            "usage: orfeas depth --weights FILE --tensor-in X.f32 --height H --width W\n"
            "                    --tensor-out Y.f32 [options]\n"
            "       orfeas depth IMAGE -o DEPTH.png --depth-model FILE [options]\n"
            "       orfeas depth --random-weights SEED --save-weights FILE\n\n"
            "Runs Depth Anything V2 Small (Hugging Face model.safetensors of\n"
            "depth-anything/Depth-Anything-V2-Small-hf) on the CPU.\n"
            "The first form is the conformance entry point: X.f32 is a raw little-endian\n"
            "float32 [3, H, W] tensor, already normalised (H and W multiples of 14); Y.f32\n"
            "receives the raw float32 [H, W] output of the network.\n"
            "The second form applies the official preprocessing (short side 518, multiples\n"
            "of 14, bicubic, ImageNet mean/std) and writes a 16-bit greyscale PNG at the\n"
            "image's size (white = near, min-max normalised).\n"
            "The third writes the seeded test weights as a model.safetensors (fp32), for\n"
            "--depth-model in tests and benchmarks.\n\n"
            "options:\n"
            "  --weights FILE, --depth-model FILE   the safetensors weights\n"
            "  --random-weights SEED  the seeded test weights instead of a file\n"
            "  --save-weights FILE    with --random-weights: write them to FILE and exit\n"
            "  --precision P          fp32 (default), fp16 (weights in binary16) or int8 (linear\n"
            "                         weights int8 per output channel, the others fp16)\n"
            "  --prune-sparsity S     L1 magnitude pruning of the linear weights (0..1)\n"
            "  --threads N            GEMM threads (default 1)\n"
            "  --time                 print the forward pass's time to stderr\n"
            "  -h, --help             this text\n\n"
            "exit status: 0 ok, 2 invalid usage or weights, 3 file not found, 1 otherwise.\n");
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return ORFEAS_EINVAL;
    *out = v;
    return 0;
}

static int read_exact(const char *path, float *dst, size_t n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "orfeas depth: %s: %s\n", path, strerror(errno));
        return errno == ENOENT ? ORFEAS_ENOTFOUND : ORFEAS_EIO;
    }
    size_t got = fread(dst, sizeof(float), n, fp);
    int extra = fgetc(fp) != EOF;
    fclose(fp);
    if (got != n || extra) {
        fprintf(stderr, "orfeas depth: %s: expected exactly %zu bytes (3 x H x W float32)\n", path,
                n * sizeof(float));
        return ORFEAS_EINVAL;
    }
    return 0;
}

static int write_all(const char *path, const void *d, size_t bytes)
{
    FILE *fp = fopen(path, "wb");
    int ok = fp && fwrite(d, 1, bytes, fp) == bytes;
    if (fp && fclose(fp) != 0) ok = 0;
    if (!ok) {
        fprintf(stderr, "orfeas depth: cannot write %s\n", path);
        return ORFEAS_EIO;
    }
    return 0;
}

static int write_png16(const char *path, const uint16_t *px, uint32_t w, uint32_t h)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        fprintf(stderr, "orfeas depth: %s: %s\n", path, strerror(errno));
        return ORFEAS_EIO;
    }
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {
        .width = w, .height = h, .bit_depth = 16, .color_type = SPNG_COLOR_TYPE_GRAYSCALE};
    int err = ctx ? spng_set_png_file(ctx, fp) : SPNG_EMEM;
    if (!err) err = spng_set_ihdr(ctx, &ihdr);
    /* SPNG_FMT_PNG takes 16-bit samples in host order. */
    if (!err)
        err = spng_encode_image(ctx, px, (size_t)w * h * 2, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    spng_ctx_free(ctx);
    if (fclose(fp) != 0 && !err) err = SPNG_IO_ERROR;
    if (err) {
        fprintf(stderr, "orfeas depth: %s: %s\n", path, spng_strerror(err));
        return ORFEAS_EIO;
    }
    return 0;
}

static int run_image(const orfeas_depth_model *m, const char *in, const char *out, int timing)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = orfeas_read_file(in, 256u << 20, &data, &size);
    if (rc) {
        fprintf(stderr, "orfeas depth: %s: %s\n", in, orfeas_strerror(rc));
        return rc;
    }
    orfeas_image img;
    orfeas_decode_limits lim = {0};
    rc = orfeas_image_decode(data, size, &lim, ORFEAS_PIXELS_RGBA8, &img);
    free(data);
    if (rc) {
        fprintf(stderr, "orfeas depth: %s: %s\n", in, orfeas_strerror(rc));
        return rc;
    }
    int iw = (int)img.width, ih = (int)img.height;
    nn_map full = {0};
    uint16_t *px = NULL;
    rc = orfeas_nn_map_alloc(&full, 1, ih, iw);
    if (!rc) {
        double t0 = (orfeas_clock_mono_ms() / 1e3);
        rc = orfeas_depth_infer_rgba(m, img.pixels, img.width, img.height, img.stride, full.d);
        if (timing)
            fprintf(stderr, "depth: %dx%d %.3f s\n", iw, ih, (orfeas_clock_mono_ms() / 1e3) - t0);
        if (rc == ORFEAS_EINVAL)
            fprintf(stderr, "orfeas depth: %s: aspect ratio too extreme for the model\n", in);
    }
    orfeas_image_free(&img);
    if (!rc) {
        size_t n = (size_t)ih * iw;
        px = malloc(n * sizeof(uint16_t));
        if (!px) rc = ORFEAS_ENOMEM;
        float lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < n && px; i++) {
            lo = fminf(lo, full.d[i]);
            hi = fmaxf(hi, full.d[i]);
        }
        for (size_t i = 0; i < n && px; i++)
            px[i] = hi > lo ? (uint16_t)lrint((full.d[i] - lo) / (hi - lo) * 65535.0) : 0;
        if (px) rc = write_png16(out, px, (uint32_t)iw, (uint32_t)ih);
    }
    free(px);
    orfeas_nn_map_free(&full);
    return rc;
}

int cli_depth(int argc, char **argv)
{
    const char *weights = NULL, *tin = NULL, *tout = NULL, *image = NULL, *png = NULL, *save = NULL;
    long height = 0, width = 0, threads = 1, seed = -1;
    double sparsity = 0.0;
    int timing = 0;
    orfeas_depth_precision prec = ORFEAS_DEPTH_FP32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            depth_help(stdout);
            return 0;
        } else if (strcmp(a, "--time") == 0) {
            timing = 1;
            continue;
        } else if (a[0] != '-' && !image) {
            image = a;
            continue;
        } else if (!v) {
            bad = 1;
        } else if (strcmp(a, "--weights") == 0 || strcmp(a, "--depth-model") == 0) {
            weights = v;
        } else if (strcmp(a, "--save-weights") == 0) {
            save = v;
        } else if (strcmp(a, "--tensor-in") == 0) {
            tin = v;
        } else if (strcmp(a, "--tensor-out") == 0) {
            tout = v;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            png = v;
        } else if (strcmp(a, "--height") == 0) {
            bad = parse_int(v, 14, 8190, &height) != 0;
        } else if (strcmp(a, "--width") == 0) {
            bad = parse_int(v, 14, 8190, &width) != 0;
        } else if (strcmp(a, "--threads") == 0) {
            bad = parse_int(v, 1, 256, &threads) != 0;
        } else if (strcmp(a, "--random-weights") == 0) {
            bad = parse_int(v, 0, 0x7fffffffL, &seed) != 0;
        } else if (strcmp(a, "--precision") == 0) {
            bad = orfeas_depth_precision_parse(v, &prec) != 0;
        } else if (strcmp(a, "--prune-sparsity") == 0) {
            char *end;
            sparsity = strtod(v, &end);
            bad = end == v || *end || !(sparsity >= 0.0 && sparsity <= 1.0);
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "orfeas depth: bad or incomplete option '%s'\n", a);
            depth_help(stderr);
            return 2;
        }
        i++;
    }
    if (save) {
        if (seed < 0 || weights || tin || tout || image || png) {
            depth_help(stderr);
            return 2;
        }
        int rc = orfeas_depth_write_random((uint64_t)seed, save);
        if (rc) fprintf(stderr, "orfeas depth: %s: %s\n", save, orfeas_strerror(rc));
        return orfeas_error_exit_status(rc);
    }
    int conformance = tin || tout;
    if ((!weights) == (seed < 0) ||
        (conformance ? (!tin || !tout || !height || !width || image || png) : (!image || !png))) {
        depth_help(stderr);
        return 2;
    }
    if (conformance && (height % 14 || width % 14)) {
        fprintf(stderr, "orfeas depth: --height and --width must be multiples of 14\n");
        return 2;
    }
    orfeas_depth_set_threads((int)threads);
    orfeas_depth_model *m = NULL;
    /* Pruning acts on fp32 weights, before the precision conversion. */
    orfeas_depth_precision load_prec = sparsity > 0.0 ? ORFEAS_DEPTH_FP32 : prec;
    int rc = weights ? orfeas_depth_load(weights, load_prec, &m)
                     : orfeas_depth_load_random((uint64_t)seed, load_prec, &m);
    if (rc) {
        fprintf(stderr, "orfeas depth: cannot load the weights: %s\n", orfeas_strerror(rc));
        return orfeas_error_exit_status(rc);
    }
    if (sparsity > 0.0) {
        rc = orfeas_depth_prune(m, sparsity);
        if (!rc && prec != ORFEAS_DEPTH_FP32) rc = orfeas_depth_convert(m, prec);
    }
    if (!rc && conformance) {
        size_t n = (size_t)height * width;
        float *x = malloc(3 * n * sizeof(float)), *y = malloc(n * sizeof(float));
        rc = x && y ? read_exact(tin, x, 3 * n) : ORFEAS_ENOMEM;
        if (!rc) {
            double t0 = (orfeas_clock_mono_ms() / 1e3);
            rc = orfeas_depth_run(m, x, (int)height, (int)width, y);
            if (timing)
                fprintf(stderr, "depth: %ldx%ld forward %.3f s\n", width, height,
                        (orfeas_clock_mono_ms() / 1e3) - t0);
        }
        if (!rc) rc = write_all(tout, y, n * sizeof(float));
        free(x);
        free(y);
    } else if (!rc) {
        rc = run_image(m, image, png, timing);
    }
    orfeas_depth_free(m);
    if (rc) {
        fprintf(stderr, "orfeas depth: %s\n", orfeas_strerror(rc));
        return orfeas_error_exit_status(rc);
    }
    return 0;
}
