/* Test fixtures for the image decoders: see test_image_fixtures.h. */
#include "test_image_fixtures.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <webp/encode.h>

struct membuf {
    uint8_t *data;
    size_t size, cap;
};

static int membuf_put(struct membuf *m, const void *p, size_t n)
{
    if (m->size + n > m->cap) {
        size_t cap = (m->size + n) * 2 + 64;
        uint8_t *grown = realloc(m->data, cap);
        if (!grown) return -1;
        m->data = grown;
        m->cap = cap;
    }
    memcpy(m->data + m->size, p, n);
    m->size += n;
    return 0;
}

static void png_write_cb(png_structp png, png_bytep data, png_size_t len)
{
    struct membuf *m = png_get_io_ptr(png);
    if (membuf_put(m, data, len)) png_error(png, "out of memory");
}

static void png_flush_cb(png_structp png)
{
    (void)png;
}

static int channels_of(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        return 2;
    case PNG_COLOR_TYPE_RGB:
        return 3;
    case PNG_COLOR_TYPE_RGBA:
        return 4;
    default:
        return 1;
    }
}

int fx_png(fx_buf *out, uint32_t w, uint32_t h, int color_type, int bit_depth, int interlace,
           const uint16_t *samples, const uint8_t (*palette)[3], int npalette,
           const uint8_t *trns_alpha, int ntrns, const uint16_t *trns_key)
{
    memset(out, 0, sizeof *out);
    struct membuf m = {0};
    int ch = channels_of(color_type);
    size_t bps = bit_depth == 16 ? 2 : 1; /* sub-byte samples: one per byte + png_set_packing */
    size_t rowbytes = (size_t)w * ch * bps;
    uint8_t *rows = malloc(rowbytes * h);
    png_bytep *rowp = malloc(h * sizeof *rowp);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!rows || !rowp || !info) goto fail;
    for (size_t i = 0; i < (size_t)w * h * ch; i++) {
        if (bps == 2) {
            rows[2 * i] = (uint8_t)(samples[i] >> 8); /* PNG is big-endian */
            rows[2 * i + 1] = (uint8_t)samples[i];
        } else {
            rows[i] = (uint8_t)samples[i];
        }
    }
    for (uint32_t y = 0; y < h; y++)
        rowp[y] = rows + y * rowbytes;
    if (setjmp(png_jmpbuf(png))) goto fail;
    png_set_write_fn(png, &m, png_write_cb, png_flush_cb);
    png_set_IHDR(png, info, w, h, bit_depth, color_type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette) {
        png_color pal[256];
        for (int i = 0; i < npalette; i++) {
            pal[i].red = palette[i][0];
            pal[i].green = palette[i][1];
            pal[i].blue = palette[i][2];
        }
        png_set_PLTE(png, info, pal, npalette);
    }
    if (trns_alpha || trns_key) {
        png_color_16 key = {0};
        if (trns_key && color_type == PNG_COLOR_TYPE_GRAY) key.gray = trns_key[0];
        if (trns_key && color_type == PNG_COLOR_TYPE_RGB) {
            key.red = trns_key[0];
            key.green = trns_key[1];
            key.blue = trns_key[2];
        }
        png_set_tRNS(png, info, trns_alpha, trns_alpha ? ntrns : 0, trns_key ? &key : NULL);
    }
    png_write_info(png, info);
    if (bit_depth < 8) png_set_packing(png);
    png_write_image(png, rowp);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(rowp);
    out->data = m.data;
    out->size = m.size;
    return 0;
fail:
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(rowp);
    free(m.data);
    return -1;
}

uint32_t fx_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return c ^ 0xffffffffu;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int put_chunk(struct membuf *m, const char *type, const uint8_t *data, uint32_t len)
{
    uint8_t hdr[8], crc[4];
    put_be32(hdr, len);
    memcpy(hdr + 4, type, 4);
    uint8_t *both = malloc(4 + (size_t)len);
    if (!both) return -1;
    memcpy(both, type, 4);
    if (len) memcpy(both + 4, data, len);
    put_be32(crc, fx_crc32(both, 4 + (size_t)len));
    free(both);
    if (membuf_put(m, hdr, 8) || (len && membuf_put(m, data, len)) || membuf_put(m, crc, 4))
        return -1;
    return 0;
}

int fx_png_header_only(fx_buf *out, uint32_t w, uint32_t h)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    /* A zlib stream holding one empty stored block: valid, but far too short. */
    static const uint8_t idat[] = {0x78, 0x01, 0x01, 0x00, 0x00, 0xff,
                                   0xff, 0x00, 0x00, 0x00, 0x01};
    uint8_t ihdr[13];
    put_be32(ihdr, w);
    put_be32(ihdr + 4, h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 6;  /* RGBA */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* not interlaced */
    struct membuf m = {0};
    memset(out, 0, sizeof *out);
    if (membuf_put(&m, sig, 8) || put_chunk(&m, "IHDR", ihdr, 13) ||
        put_chunk(&m, "IDAT", idat, sizeof idat) || put_chunk(&m, "IEND", NULL, 0)) {
        free(m.data);
        return -1;
    }
    out->data = m.data;
    out->size = m.size;
    return 0;
}

int fx_jpeg(fx_buf *out, const uint8_t *pixels, uint32_t w, uint32_t h, int components, int in_cs,
            int jpeg_cs, int progressive, int quality, const uint8_t *app1, size_t app1_len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *buf = NULL;
    unsigned long len = 0;
    memset(out, 0, sizeof *out);
    c.err = jpeg_std_error(&err); /* the fixtures are valid: the default exit() is fine */
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &len);
    c.image_width = w;
    c.image_height = h;
    c.input_components = components;
    c.in_color_space = (J_COLOR_SPACE)in_cs;
    jpeg_set_defaults(&c);
    if (jpeg_cs >= 0) jpeg_set_colorspace(&c, (J_COLOR_SPACE)jpeg_cs);
    jpeg_set_quality(&c, quality, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    if (app1) jpeg_write_marker(&c, JPEG_APP0 + 1, app1, (unsigned int)app1_len);
    while (c.next_scanline < h) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)c.next_scanline * w * components);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    out->data = buf; /* jpeg_mem_dest allocates with malloc */
    out->size = len;
    return 0;
}

size_t fx_exif_orientation_app1(uint8_t *b, int orientation, int big_endian)
{
    size_t n = 0;
    memcpy(b, "Exif\0\0", 6);
    n = 6;
    uint8_t *t = b + n; /* TIFF header: offsets count from here */
#define U16(p, v)                                                                                  \
    do {                                                                                           \
        if (big_endian) {                                                                          \
            (p)[0] = (uint8_t)((v) >> 8);                                                          \
            (p)[1] = (uint8_t)(v);                                                                 \
        } else {                                                                                   \
            (p)[0] = (uint8_t)(v);                                                                 \
            (p)[1] = (uint8_t)((v) >> 8);                                                          \
        }                                                                                          \
    } while (0)
#define U32(p, v)                                                                                  \
    do {                                                                                           \
        if (big_endian) {                                                                          \
            U16(p, (v) >> 16);                                                                     \
            U16((p) + 2, (v)&0xffff);                                                              \
        } else {                                                                                   \
            U16(p, (v)&0xffff);                                                                    \
            U16((p) + 2, (v) >> 16);                                                               \
        }                                                                                          \
    } while (0)
    t[0] = t[1] = big_endian ? 'M' : 'I';
    U16(t + 2, 42);
    U32(t + 4, 8);       /* IFD0 at offset 8 */
    U16(t + 8, 1);       /* one entry */
    U16(t + 10, 0x0112); /* Orientation */
    U16(t + 12, 3);      /* SHORT */
    U32(t + 14, 1);      /* count */
    U16(t + 18, (unsigned)orientation);
    U16(t + 20, 0); /* padding of the 4-byte value field */
    U32(t + 22, 0); /* no next IFD */
#undef U16
#undef U32
    return n + 26;
}

static int copy_out(fx_buf *out, const uint8_t *data, size_t size)
{
    out->data = malloc(size ? size : 1);
    if (!out->data) return -1;
    memcpy(out->data, data, size);
    out->size = size;
    return 0;
}

int fx_webp(fx_buf *out, const uint8_t *rgba, uint32_t w, uint32_t h, int lossless, float quality)
{
    uint8_t *enc = NULL;
    size_t n = lossless ? WebPEncodeLosslessRGBA(rgba, (int)w, (int)h, (int)w * 4, &enc)
                        : WebPEncodeRGBA(rgba, (int)w, (int)h, (int)w * 4, quality, &enc);
    memset(out, 0, sizeof *out);
    if (n == 0) return -1;
    int rc = copy_out(out, enc, n);
    WebPFree(enc);
    return rc;
}

static void put_le(uint8_t *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int fx_webp_animated(fx_buf *out, const uint8_t *rgba, uint32_t w, uint32_t h)
{
    fx_buf still;
    memset(out, 0, sizeof *out);
    if (fx_webp(&still, rgba, w, h, 1, 100)) return -1;
    /* still = "RIFF" size "WEBP" + the VP8L chunk (already padded). */
    const uint8_t *frame = still.data + 12;
    size_t frame_len = still.size - 12;
    size_t total = 12 + (8 + 10) + (8 + 6) + (8 + 16 + frame_len);
    uint8_t *b = calloc(1, total);
    if (!b) {
        free(still.data);
        return -1;
    }
    uint8_t *p = b;
    memcpy(p, "RIFF", 4);
    put_le(p + 4, (uint32_t)(total - 8), 4);
    memcpy(p + 8, "WEBP", 4);
    p += 12;
    memcpy(p, "VP8X", 4);
    put_le(p + 4, 10, 4);
    p[8] = 0x02 | 0x10; /* animation, alpha */
    put_le(p + 12, w - 1, 3);
    put_le(p + 15, h - 1, 3);
    p += 18;
    memcpy(p, "ANIM", 4);
    put_le(p + 4, 6, 4);
    put_le(p + 12, 0, 2); /* loop forever; background 0 */
    p += 14;
    memcpy(p, "ANMF", 4);
    put_le(p + 4, (uint32_t)(16 + frame_len), 4);
    put_le(p + 8, 0, 3);      /* x/2 */
    put_le(p + 11, 0, 3);     /* y/2 */
    put_le(p + 14, w - 1, 3); /* width-1 */
    put_le(p + 17, h - 1, 3); /* height-1 */
    put_le(p + 20, 100, 3);   /* duration ms */
    p[23] = 0;
    memcpy(p + 24, frame, frame_len);
    free(still.data);
    out->data = b;
    out->size = total;
    return 0;
}
