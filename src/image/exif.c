/* orfeas — EXIF orientation: read with libexif, applied to decoded pixels. */
#include "image/image_internal.h"

#include "orfeas/error.h"

#include <libexif/exif-data.h>
#include <stdlib.h>
#include <string.h>

int orfeas_img_exif_orientation(const uint8_t *app1, size_t size)
{
    if (!app1 || size < 6 || memcmp(app1, "Exif\0", 6) != 0 || size > 0xffff) return 1;
    ExifData *ed = exif_data_new();
    if (!ed) return 1;
    /* Only read: do not let libexif add or "fix" entries. */
    exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_load_data(ed, app1, (unsigned int)size);
    int orientation = 1;
    ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (e && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->data && e->size >= 2) {
        ExifShort v = exif_get_short(e->data, exif_data_get_byte_order(ed));
        if (v >= 1 && v <= 8) orientation = v;
    }
    exif_data_unref(ed);
    return orientation;
}

static void swap_px(uint8_t *a, uint8_t *b, size_t bpp)
{
    uint8_t t[4];
    memcpy(t, a, bpp);
    memcpy(a, b, bpp);
    memcpy(b, t, bpp);
}

int orfeas_img_apply_orientation(orfeas_image *image, int orientation)
{
    if (orientation <= 1 || orientation > 8 || !image->pixels) return 0;
    size_t bpp = image->pixel_format == ORFEAS_PIXELS_GREY16 ? 2 : 4;
    size_t w = image->width, h = image->height, stride = image->stride;
    uint8_t *px = image->pixels;

    /* 2, 3, 4 are flips: done in place. */
    if (orientation == 2 || orientation == 3) {
        for (size_t y = 0; y < h; y++) {
            uint8_t *row = px + y * stride;
            for (size_t x = 0; x < w / 2; x++)
                swap_px(row + x * bpp, row + (w - 1 - x) * bpp, bpp);
        }
    }
    if (orientation == 3 || orientation == 4) {
        for (size_t y = 0; y < h / 2; y++) {
            uint8_t *a = px + y * stride, *b = px + (h - 1 - y) * stride;
            for (size_t x = 0; x < w; x++)
                swap_px(a + x * bpp, b + x * bpp, bpp);
        }
    }
    if (orientation <= 4) return 0;

    /* 5..8 transpose: displayed (x, y) of a h-wide, w-tall image comes from
     * stored (sx, sy) as below (EXIF 2.3, table of Orientation). */
    size_t dw = h, dh = w, dstride = dw * bpp;
    uint8_t *dst = malloc(dstride * dh);
    if (!dst) return ORFEAS_ENOMEM;
    for (size_t y = 0; y < dh; y++) {
        for (size_t x = 0; x < dw; x++) {
            size_t sx, sy;
            switch (orientation) {
            case 5: /* transpose */
                sx = y;
                sy = x;
                break;
            case 6: /* rotate 90 clockwise */
                sx = y;
                sy = h - 1 - x;
                break;
            case 7: /* transverse */
                sx = w - 1 - y;
                sy = h - 1 - x;
                break;
            default: /* 8: rotate 90 counter-clockwise */
                sx = w - 1 - y;
                sy = x;
                break;
            }
            memcpy(dst + y * dstride + x * bpp, px + sy * stride + sx * bpp, bpp);
        }
    }
    free(px);
    image->pixels = dst;
    image->width = (uint32_t)dw;
    image->height = (uint32_t)dh;
    image->stride = dstride;
    return 0;
}
