/* orfeas — JPEG decoding with libjpeg-turbo.
 *
 * libjpeg reports errors through a callback that must not return: the error
 * manager longjmps back to run_job(). Everything that has to survive the jump
 * lives in struct jpeg_job (memory, not registers), and the work itself is in
 * a separate non-inlined function so no local of the setjmp frame changes. */
#include "image/image_internal.h"

#include "orfeas/error.h"
#include "orfeas/log.h"

#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

struct jpeg_job {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr err;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    int code; /* ORFEAS_E* set before jumping */

    const uint8_t *data;
    size_t size;
    const orfeas_decode_limits *limits;
    orfeas_pixel_format pixel_format;

    int orientation;
    uint8_t *pixels; /* output, owned by the job until success */
    uint8_t *row;    /* scratch row for GREY16 */
    orfeas_image result;
};

static struct jpeg_job *job_of(j_common_ptr cinfo)
{
    return (struct jpeg_job *)cinfo->client_data;
}

static void fail(j_common_ptr cinfo, int code)
{
    struct jpeg_job *job = job_of(cinfo);
    char message[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, message);
    ORFEAS_DEBUG("jpeg: %s", message);
    job->code = code;
    longjmp(job->jump, 1);
}

static void on_error_exit(j_common_ptr cinfo)
{
    int code = cinfo->err->msg_code == JERR_OUT_OF_MEMORY ? ORFEAS_ENOMEM : ORFEAS_EBADIMAGE;
    fail(cinfo, code);
}

/* Warnings (level -1) mostly mean corrupt or truncated data, which libjpeg
 * would otherwise paper over with grey blocks: refuse all but the harmless. */
static void on_emit_message(j_common_ptr cinfo, int level)
{
    if (level >= 0) return; /* trace messages */
    switch (cinfo->err->msg_code) {
    case JWRN_ADOBE_XFORM:
    case JWRN_JFIF_MAJOR:
    case JWRN_BOGUS_ICC: /* we never read the ICC profile */
        cinfo->err->num_warnings++;
        return;
    default:
        fail(cinfo, ORFEAS_EBADIMAGE);
    }
}

static void on_progress(j_common_ptr cinfo)
{
    if (!cinfo->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > ORFEAS_JPEG_MAX_SCANS) {
        ORFEAS_DEBUG("jpeg: more than %d scans", ORFEAS_JPEG_MAX_SCANS);
        struct jpeg_job *job = job_of(cinfo);
        job->code = ORFEAS_EBADIMAGE;
        longjmp(job->jump, 1);
    }
}

/* Reads the header (with APP1 saved for EXIF), the orientation, and checks
 * the pixel limit before libjpeg allocates anything image-sized. */
static void read_header(struct jpeg_job *job)
{
    j_decompress_ptr c = &job->cinfo;
    jpeg_create_decompress(c);
    c->client_data = job;
    c->progress = &job->progress;
    jpeg_mem_src(c, job->data, (unsigned long)job->size);
    jpeg_save_markers(c, JPEG_APP0 + 1, 0xffff);
    if (jpeg_read_header(c, TRUE) != JPEG_HEADER_OK) {
        job->code = ORFEAS_EBADIMAGE; /* tables-only stream: no image */
        longjmp(job->jump, 1);
    }
    job->orientation = 1;
    for (jpeg_saved_marker_ptr m = c->marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif\0", 6) == 0) {
            job->orientation = orfeas_img_exif_orientation(m->data, m->data_length);
            break;
        }
    }
    int rc = orfeas_img_check_dims(c->image_width, c->image_height, job->limits);
    if (rc) {
        job->code = rc;
        longjmp(job->jump, 1);
    }
}

/* Photoshop writes Adobe CMYK inverted (0 = full ink); without the Adobe
 * marker we assume plain CMYK. */
static void cmyk_row_to_rgba(uint8_t *row, size_t width, int inverted)
{
    for (size_t x = 0; x < width; x++) {
        uint8_t *p = row + 4 * x;
        unsigned c = p[0], m = p[1], y = p[2], k = p[3];
        if (!inverted) {
            c = 255 - c;
            m = 255 - m;
            y = 255 - y;
            k = 255 - k;
        }
        p[0] = (uint8_t)((c * k + 127) / 255);
        p[1] = (uint8_t)((m * k + 127) / 255);
        p[2] = (uint8_t)((y * k + 127) / 255);
        p[3] = 255;
    }
}

static void fail_code(struct jpeg_job *job, int code)
{
    job->code = code;
    longjmp(job->jump, 1);
}

/* The smallest n/8 scale whose long side is still at least min_long_side
 * (libjpeg rounds output sides up). The pixel limit was checked on the full
 * size in read_header. */
static void choose_scale(j_decompress_ptr c, uint32_t want)
{
    uint64_t side = c->image_width > c->image_height ? c->image_width : c->image_height;
    if (want == 0 || want >= side) return;
    for (unsigned num = 1; num < 8; num++) {
        if ((side * num + 7) / 8 >= want) {
            c->scale_num = num;
            c->scale_denom = 8;
            return;
        }
    }
}

__attribute__((noinline)) static void decode_body(struct jpeg_job *job)
{
    j_decompress_ptr c = &job->cinfo;
    read_header(job);

    int cmyk = c->jpeg_color_space == JCS_CMYK || c->jpeg_color_space == JCS_YCCK;
    int grey16 = job->pixel_format == ORFEAS_PIXELS_GREY16;
    if (cmyk)
        c->out_color_space = JCS_CMYK;
    else
        c->out_color_space = grey16 ? JCS_GRAYSCALE : JCS_EXT_RGBA;
    c->dct_method = JDCT_ISLOW; /* the exact one: same pixels everywhere */
    choose_scale(c, job->limits ? job->limits->min_long_side : 0);
    jpeg_start_decompress(c);

    uint32_t w = c->output_width, h = c->output_height;
    size_t out_bpp = grey16 ? 2 : 4;
    size_t len = orfeas_img_buffer_size(w, h, out_bpp);
    if (len == 0 || c->output_components != (cmyk || !grey16 ? 4 : 1))
        fail_code(job, ORFEAS_EBADIMAGE);
    job->pixels = malloc(len);
    if (!job->pixels) fail_code(job, ORFEAS_ENOMEM);
    if (grey16) {
        job->row = malloc((size_t)w * (size_t)c->output_components);
        if (!job->row) fail_code(job, ORFEAS_ENOMEM);
    }

    while (c->output_scanline < h) {
        size_t y = c->output_scanline;
        uint8_t *dst = job->pixels + y * (size_t)w * out_bpp;
        JSAMPROW rows[1] = {grey16 ? job->row : dst};
        if (jpeg_read_scanlines(c, rows, 1) != 1) fail_code(job, ORFEAS_EBADIMAGE);
        if (!grey16) {
            if (cmyk) cmyk_row_to_rgba(dst, w, c->saw_Adobe_marker);
            continue;
        }
        uint16_t *d16 = (uint16_t *)(void *)dst;
        if (cmyk) {
            cmyk_row_to_rgba(job->row, w, c->saw_Adobe_marker);
            for (size_t x = 0; x < w; x++) {
                const uint8_t *p = job->row + 4 * x;
                d16[x] = orfeas_img_luma16(p[0] * 257u, p[1] * 257u, p[2] * 257u);
            }
        } else {
            for (size_t x = 0; x < w; x++)
                d16[x] = (uint16_t)(job->row[x] * 257u);
        }
    }
    /* Reads on to EOI: a file cut short anywhere warns here. */
    jpeg_finish_decompress(c);

    job->result.width = w;
    job->result.height = h;
    job->result.pixel_format = job->pixel_format;
    job->result.source_format = ORFEAS_IMAGE_JPEG;
    job->result.stride = (size_t)w * out_bpp;
}

__attribute__((noinline)) static void probe_body(struct jpeg_job *job)
{
    read_header(job);
}

static int run_job(struct jpeg_job *job, void (*body)(struct jpeg_job *))
{
    if (setjmp(job->jump)) return job->code ? job->code : ORFEAS_EBADIMAGE;
    body(job);
    return 0;
}

static void init_job(struct jpeg_job *job, const uint8_t *data, size_t size,
                     const orfeas_decode_limits *limits, orfeas_pixel_format pixel_format)
{
    memset(job, 0, sizeof *job);
    job->data = data;
    job->size = size;
    job->limits = limits;
    job->pixel_format = pixel_format;
    job->cinfo.err = jpeg_std_error(&job->err);
    job->err.error_exit = on_error_exit;
    job->err.emit_message = on_emit_message;
    job->cinfo.client_data = job;
    job->progress.progress_monitor = on_progress;
}

int orfeas_img_jpeg_probe(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                          orfeas_image_info *info)
{
    struct jpeg_job *job = malloc(sizeof *job);
    if (!job) return ORFEAS_ENOMEM;
    init_job(job, data, size, limits, ORFEAS_PIXELS_RGBA8);
    int rc = run_job(job, probe_body);
    if (!rc) {
        int swap = job->orientation >= 5;
        info->format = ORFEAS_IMAGE_JPEG;
        info->width = swap ? job->cinfo.image_height : job->cinfo.image_width;
        info->height = swap ? job->cinfo.image_width : job->cinfo.image_height;
    }
    jpeg_destroy_decompress(&job->cinfo);
    free(job);
    return rc;
}

int orfeas_img_jpeg_decode(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                           orfeas_pixel_format pixel_format, orfeas_image *out)
{
    struct jpeg_job *job = malloc(sizeof *job);
    if (!job) return ORFEAS_ENOMEM;
    init_job(job, data, size, limits, pixel_format);
    int rc = run_job(job, decode_body);
    jpeg_destroy_decompress(&job->cinfo);
    free(job->row);
    if (!rc) {
        *out = job->result;
        out->pixels = job->pixels;
        job->pixels = NULL;
        rc = orfeas_img_apply_orientation(out, job->orientation);
        if (rc) orfeas_image_free(out);
    }
    free(job->pixels);
    free(job);
    return rc;
}
