#include "shape/mask_ops.h"

#include "orfeas/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t orfeas_mask_area(const uint8_t *mask, uint32_t width, uint32_t height)
{
    size_t n = (size_t)width * height, area = 0;
    for (size_t i = 0; i < n; i++)
        area += mask[i] != 0;
    return area;
}

typedef struct mask_components {
    uint32_t *label; /* per pixel: component index + 1, 0 = other class */
    size_t *size;    /* per component */
    uint8_t *border; /* per component: touches the image border */
    size_t count;
} mask_components;

static void components_free(mask_components *c)
{
    free(c->label);
    free(c->size);
    free(c->border);
}

/* Labels the connected regions of pixels with (mask != 0) == object, using 8-
 * or 4-connectivity, by flood fill with an explicit stack. */
static int label_components(const uint8_t *mask, uint32_t width, uint32_t height, int object,
                            int conn8, mask_components *out)
{
    memset(out, 0, sizeof *out);
    size_t n = (size_t)width * height;
    if (n == 0) return 0;
    if (n >= UINT32_MAX) return ORFEAS_ENOMEM; /* pixel indices are 32-bit */
    size_t cap = 16;
    out->label = calloc(n, sizeof *out->label);
    uint32_t *stack = malloc(n * sizeof *stack);
    out->size = malloc(cap * sizeof *out->size);
    out->border = malloc(cap);
    if (!out->label || !stack || !out->size || !out->border) goto oom;

    static const int dx[8] = {1, -1, 0, 0, 1, 1, -1, -1};
    static const int dy[8] = {0, 0, 1, -1, 1, -1, 1, -1};
    int nb = conn8 ? 8 : 4;
    for (size_t start = 0; start < n; start++) {
        if (out->label[start] || ((mask[start] != 0) != object)) continue;
        if (out->count == cap) {
            cap *= 2;
            size_t *ns = realloc(out->size, cap * sizeof *ns);
            if (!ns) goto oom;
            out->size = ns;
            uint8_t *nbd = realloc(out->border, cap);
            if (!nbd) goto oom;
            out->border = nbd;
        }
        uint32_t id = (uint32_t)++out->count;
        size_t size = 0, top = 0;
        uint8_t border = 0;
        out->label[start] = id;
        stack[top++] = (uint32_t)start;
        while (top) {
            uint32_t p = stack[--top];
            uint32_t x = p % width, y = p / width;
            size++;
            if (x == 0 || y == 0 || x + 1 == width || y + 1 == height) border = 1;
            for (int k = 0; k < nb; k++) {
                int64_t nx = (int64_t)x + dx[k], ny = (int64_t)y + dy[k];
                if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
                size_t q = (size_t)ny * width + (size_t)nx;
                if (out->label[q] || ((mask[q] != 0) != object)) continue;
                out->label[q] = id;
                stack[top++] = (uint32_t)q;
            }
        }
        out->size[id - 1] = size;
        out->border[id - 1] = border;
    }
    free(stack);
    return 0;
oom:
    free(stack);
    components_free(out);
    return ORFEAS_ENOMEM;
}

int orfeas_mask_keep_largest(uint8_t *mask, uint32_t width, uint32_t height)
{
    mask_components c;
    int rc = label_components(mask, width, height, 1, 1, &c);
    if (rc) return rc;
    size_t best = 0;
    for (size_t i = 1; i < c.count; i++)
        if (c.size[i] > c.size[best]) best = i;
    size_t n = (size_t)width * height;
    for (size_t i = 0; i < n; i++)
        mask[i] = (c.count && c.label[i] == best + 1) ? 255 : 0;
    components_free(&c);
    return 0;
}

int orfeas_mask_keep_components(uint8_t *mask, uint32_t width, uint32_t height, double min_fraction,
                                size_t min_area)
{
    mask_components c;
    int rc = label_components(mask, width, height, 1, 1, &c);
    if (rc) return rc;
    size_t largest = 0;
    for (size_t i = 0; i < c.count; i++)
        if (c.size[i] > largest) largest = c.size[i];
    double limit = min_fraction * (double)largest;
    size_t n = (size_t)width * height;
    for (size_t i = 0; i < n; i++) {
        uint32_t l = c.label[i];
        int keep = l && c.size[l - 1] >= min_area && (double)c.size[l - 1] >= limit;
        mask[i] = keep ? 255 : 0;
    }
    components_free(&c);
    return 0;
}

int orfeas_mask_fill_holes(uint8_t *mask, uint32_t width, uint32_t height, size_t max_area)
{
    /* Background is 4-connected so that it is the dual of the 8-connected
     * object: a diagonal gap in an outline does not let a hole "leak". */
    mask_components c;
    int rc = label_components(mask, width, height, 0, 0, &c);
    if (rc) return rc;
    size_t n = (size_t)width * height;
    for (size_t i = 0; i < n; i++) {
        uint32_t l = c.label[i];
        if (!l) {
            mask[i] = 255;
            continue;
        }
        int fill = !c.border[l - 1] && (max_area == 0 || c.size[l - 1] <= max_area);
        mask[i] = fill ? 255 : 0;
    }
    components_free(&c);
    return 0;
}

/* Sets every pixel to `hit` when a pixel of class `hit` lies within the disc,
 * else to the other value: erosion looks for background (hit = 0), dilation
 * for object (hit = 255). Per-row prefix counts make it O(N * (2r+1)). */
static void morph_pass(uint8_t *mask, uint32_t width, uint32_t height, int radius, uint8_t hit,
                       uint32_t *prefix, const int *half);

/* Runs one pass, or two (hit then 255 - hit) when `both`; the buffers are
 * allocated up front so a failure leaves the mask untouched. */
static int morph(uint8_t *mask, uint32_t width, uint32_t height, int radius, uint8_t hit, int both)
{
    if (radius <= 0 || width == 0 || height == 0) return 0;
    size_t w1 = (size_t)width + 1;
    uint32_t *prefix = malloc(w1 * height * sizeof *prefix);
    int *half = malloc((size_t)(2 * radius + 1) * sizeof *half);
    if (!prefix || !half) {
        free(prefix);
        free(half);
        return ORFEAS_ENOMEM;
    }
    for (int dy = -radius; dy <= radius; dy++)
        half[dy + radius] = (int)floor(sqrt((double)radius * radius - (double)dy * dy) + 1e-9);
    morph_pass(mask, width, height, radius, hit, prefix, half);
    if (both) morph_pass(mask, width, height, radius, (uint8_t)(255 - hit), prefix, half);
    free(prefix);
    free(half);
    return 0;
}

static void morph_pass(uint8_t *mask, uint32_t width, uint32_t height, int radius, uint8_t hit,
                       uint32_t *prefix, const int *half)
{
    size_t w1 = (size_t)width + 1;
    for (uint32_t y = 0; y < height; y++) {
        uint32_t *p = prefix + y * w1;
        const uint8_t *row = mask + (size_t)y * width;
        p[0] = 0;
        for (uint32_t x = 0; x < width; x++)
            p[x + 1] = p[x] + ((row[x] != 0) == (hit != 0));
    }
    uint8_t other = hit ? 0 : 255;
    for (uint32_t y = 0; y < height; y++) {
        int64_t y0 = (int64_t)y - radius < 0 ? 0 : (int64_t)y - radius;
        int64_t y1 = (int64_t)y + radius >= height ? (int64_t)height - 1 : (int64_t)y + radius;
        for (uint32_t x = 0; x < width; x++) {
            uint8_t v = other;
            for (int64_t yy = y0; yy <= y1 && v == other; yy++) {
                int h = half[yy - y + radius];
                int64_t x0 = (int64_t)x - h < 0 ? 0 : (int64_t)x - h;
                int64_t x1 = (int64_t)x + h >= width ? (int64_t)width - 1 : (int64_t)x + h;
                const uint32_t *p = prefix + (size_t)yy * w1;
                if (p[x1 + 1] - p[x0]) v = hit;
            }
            mask[(size_t)y * width + x] = v;
        }
    }
}

int orfeas_mask_erode(uint8_t *mask, uint32_t width, uint32_t height, int radius)
{
    return morph(mask, width, height, radius, 0, 0);
}

int orfeas_mask_dilate(uint8_t *mask, uint32_t width, uint32_t height, int radius)
{
    return morph(mask, width, height, radius, 255, 0);
}

int orfeas_mask_open(uint8_t *mask, uint32_t width, uint32_t height, int radius)
{
    return morph(mask, width, height, radius, 0, 1);
}

int orfeas_mask_close(uint8_t *mask, uint32_t width, uint32_t height, int radius)
{
    return morph(mask, width, height, radius, 255, 1);
}
