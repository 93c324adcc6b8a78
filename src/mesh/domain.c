#include "mesh/domain.h"
#include "orfeas/error.h"

#include <stdlib.h>
#include <string.h>

void orfeas_domain_repair_pinches(uint8_t *cells, uint32_t cw, uint32_t ch)
{
    /* Filling a cell can create a new pinch only next to it, but a full sweep
     * is cheap and the loop ends because cells are only ever added. */
    int changed = 1;
    while (changed) {
        changed = 0;
        for (uint32_t y = 1; y < ch; y++) {
            for (uint32_t x = 1; x < cw; x++) {
                uint8_t *a = &cells[(size_t)(y - 1) * cw + x - 1], *b = a + 1;
                uint8_t *c = &cells[(size_t)y * cw + x - 1], *d = c + 1;
                if (*a && *d && !*b && !*c) {
                    *b = 1;
                    changed = 1;
                } else if (*b && *c && !*a && !*d) {
                    *a = 1;
                    changed = 1;
                }
            }
        }
    }
}

/* Flood fill over cells equal to `value` from the seeds already marked in
 * `label`, 4-connected, iterative. Returns how many cells it labelled. */
static uint64_t flood(const uint8_t *cells, uint32_t cw, uint32_t ch, uint8_t value,
                      uint32_t *stack, size_t top, uint32_t *label, uint32_t id)
{
    uint64_t labelled = 0;
    while (top > 0) {
        uint32_t i = stack[--top];
        labelled++;
        uint32_t x = i % cw, y = i / cw;
        uint32_t nb[4];
        int n = 0;
        if (x > 0) nb[n++] = i - 1;
        if (x + 1 < cw) nb[n++] = i + 1;
        if (y > 0) nb[n++] = i - cw;
        if (y + 1 < ch) nb[n++] = i + cw;
        for (int k = 0; k < n; k++) {
            if (cells[nb[k]] == value && label[nb[k]] == 0) {
                label[nb[k]] = id;
                stack[top++] = nb[k];
            }
        }
    }
    return labelled;
}

int orfeas_domain_fill_holes(uint8_t *cells, uint32_t cw, uint32_t ch)
{
    size_t n = (size_t)cw * ch;
    uint32_t *label = calloc(n + 1, sizeof *label);
    uint32_t *stack = malloc((n + 1) * sizeof *stack);
    if (!label || !stack) {
        free(label), free(stack);
        return ORFEAS_ENOMEM;
    }
    size_t top = 0;
    for (uint32_t y = 0; y < ch; y++)
        for (uint32_t x = 0; x < cw; x++) {
            if (x != 0 && y != 0 && x + 1 != cw && y + 1 != ch) continue;
            size_t i = (size_t)y * cw + x;
            if (!cells[i] && !label[i]) {
                label[i] = 1;
                stack[top++] = (uint32_t)i;
            }
        }
    flood(cells, cw, ch, 0, stack, top, label, 1);
    for (size_t i = 0; i < n; i++)
        if (!cells[i] && !label[i]) cells[i] = 1;
    free(label), free(stack);
    return 0;
}

int orfeas_domain_keep_significant(uint8_t *cells, uint32_t cw, uint32_t ch, double min_share,
                                   uint64_t *kept)
{
    size_t n = (size_t)cw * ch;
    uint32_t *label = calloc(n + 1, sizeof *label);
    uint32_t *stack = malloc((n + 1) * sizeof *stack);
    uint64_t *sizes = NULL;
    if (!label || !stack) {
        free(label), free(stack);
        return ORFEAS_ENOMEM;
    }
    uint32_t next_id = 1;
    size_t cap = 0;
    uint64_t largest = 0;
    for (size_t i = 0; i < n; i++) {
        if (!cells[i] || label[i]) continue;
        if (next_id >= cap) {
            cap = cap ? cap * 2 : 64;
            uint64_t *grown = realloc(sizes, cap * sizeof *sizes);
            if (!grown) {
                free(label), free(stack), free(sizes);
                return ORFEAS_ENOMEM;
            }
            sizes = grown;
        }
        uint32_t id = next_id++;
        label[i] = id;
        stack[0] = (uint32_t)i;
        sizes[id] = flood(cells, cw, ch, 1, stack, 1, label, id);
        if (sizes[id] > largest) largest = sizes[id];
    }
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        int keep = cells[i] && (double)sizes[label[i]] >= min_share * (double)largest;
        cells[i] = (uint8_t)keep;
        total += (uint64_t)keep;
    }
    free(label), free(stack), free(sizes);
    *kept = total;
    return 0;
}

int orfeas_domain_clean(uint8_t *cells, uint32_t cw, uint32_t ch, double min_share, uint64_t *kept)
{
    /* Pinch repair first: afterwards 4- and 8-connectivity agree, and neither
     * filling whole holes nor dropping whole parts can create a new pinch. */
    orfeas_domain_repair_pinches(cells, cw, ch);
    int err = orfeas_domain_fill_holes(cells, cw, ch);
    if (err) return err;
    return orfeas_domain_keep_significant(cells, cw, ch, min_share, kept);
}
