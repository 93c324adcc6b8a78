/* Wavefront OBJ: "v x y z [r g b]" (colours as 0..1) and 1-based "f a b c".
 * Numbers are formatted by hand: printf's %f follows LC_NUMERIC, and the
 * output must be the same bytes in every locale. */
#include "export_internal.h"
#include "orfeas/error.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Writes an unsigned integer; returns the length. */
static size_t fmt_u64(char *dst, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        dst[i] = tmp[n - 1 - i];
    return n;
}

/* Fixed point with up to 6 decimals, trailing zeros trimmed; |v| < 1e12.
 * The sign comes from the rounded value so tiny negatives never print "-0". */
static size_t fmt_fixed6(char *dst, double v)
{
    long long s = llround(v * 1e6);
    size_t n = 0;
    uint64_t mag = s < 0 ? (uint64_t)(-(s + 1)) + 1 : (uint64_t)s;
    if (s < 0) dst[n++] = '-';
    n += fmt_u64(dst + n, mag / 1000000u);
    uint32_t frac = (uint32_t)(mag % 1000000u);
    if (frac) {
        char digits[6];
        for (int i = 5; i >= 0; i--) {
            digits[i] = (char)('0' + frac % 10);
            frac /= 10;
        }
        int last = 5;
        while (digits[last] == '0')
            last--;
        dst[n++] = '.';
        memcpy(dst + n, digits, (size_t)last + 1);
        n += (size_t)last + 1;
    }
    return n;
}

/* Exact decimal of a large float (>= 1e12 is always an integer in float):
 * mantissa times a power of two in base-1e9 limbs. At most 40 chars. */
static size_t fmt_big_float(char *dst, float f)
{
    int exp2 = 0;
    double m = frexp(fabs((double)f), &exp2); /* |f| = m * 2^exp2, m in [0.5,1) */
    uint64_t mant = (uint64_t)ldexp(m, 24);   /* exact: floats have 24 bits */
    exp2 -= 24;
    uint32_t limb[6] = {(uint32_t)(mant % 1000000000u), (uint32_t)(mant / 1000000000u)};
    int used = limb[1] ? 2 : 1;
    for (int e = 0; e < exp2; e++) {
        uint32_t carry = 0;
        for (int i = 0; i < used; i++) {
            uint64_t x = (uint64_t)limb[i] * 2 + carry;
            limb[i] = (uint32_t)(x % 1000000000u);
            carry = (uint32_t)(x / 1000000000u);
        }
        if (carry) limb[used++] = carry;
    }
    size_t n = 0;
    if (f < 0) dst[n++] = '-';
    n += fmt_u64(dst + n, limb[used - 1]);
    for (int i = used - 2; i >= 0; i--) {
        uint32_t x = limb[i];
        for (int d = 8; d >= 0; d--) {
            dst[n + (size_t)d] = (char)('0' + x % 10);
            x /= 10;
        }
        n += 9;
    }
    return n;
}

static size_t fmt_coord(char *dst, float f)
{
    if (fabsf(f) < 1e12f) return fmt_fixed6(dst, (double)f);
    return fmt_big_float(dst, f);
}

int orfeas_export_obj_(const orfeas_mesh *mesh, int with_colors, orfeas_buffer *out)
{
    static const char header[] = "# orfeas OBJ, units mm\n";
    size_t nv = mesh->vertex_count, nt = mesh->triangle_count;
    /* A typical line length; the buffer grows geometrically past it. */
    size_t per_v = with_colors ? 64 : 40;
    if (nv > (SIZE_MAX / 4) / per_v || nt > (SIZE_MAX / 4) / 32) return ORFEAS_ENOMEM;
    int rc = orfeas_buffer_reserve(out, sizeof header + nv * per_v + nt * 32);
    if (rc) return rc;
    rc = orfeas_buffer_append(out, header, sizeof header - 1);
    if (rc) return rc;

    char color_text[256][12];
    size_t color_len[256];
    for (int c = 0; c < 256; c++)
        color_len[c] = fmt_fixed6(color_text[c], c / 255.0);

    char line[256]; /* "v " + 3 * 41 + 3 * 9 + "\n" fits */
    for (size_t i = 0; i < nv; i++) {
        size_t n = 0;
        line[n++] = 'v';
        for (int k = 0; k < 3; k++) {
            line[n++] = ' ';
            n += fmt_coord(line + n, mesh->positions[3 * i + (size_t)k]);
        }
        if (with_colors) {
            for (int k = 0; k < 3; k++) {
                uint8_t c = mesh->colors[4 * i + (size_t)k];
                line[n++] = ' ';
                memcpy(line + n, color_text[c], color_len[c]);
                n += color_len[c];
            }
        }
        line[n++] = '\n';
        rc = orfeas_buffer_append(out, line, n);
        if (rc) return rc;
    }
    for (size_t t = 0; t < nt; t++) {
        size_t n = 0;
        line[n++] = 'f';
        for (int k = 0; k < 3; k++) {
            line[n++] = ' ';
            n += fmt_u64(line + n, (uint64_t)mesh->indices[3 * t + (size_t)k] + 1);
        }
        line[n++] = '\n';
        rc = orfeas_buffer_append(out, line, n);
        if (rc) return rc;
    }
    return 0;
}
