/* The 2D domain a closed mesh is built on: a grid of cells (between pixel
 * centres) that are inside or outside. The cleanup makes its boundary a set
 * of simple closed curves, which is what makes the mesh 2-manifold. */
#ifndef ORFEAS_MESH_DOMAIN_H
#define ORFEAS_MESH_DOMAIN_H

#include <stdint.h>

/* cells: cw*ch bytes, 1 = inside. Returns 0 or ORFEAS_ENOMEM. */

/* Where two inside cells touch only at a corner (a "pinch" vertex whose four
 * cells read 1 0 / 0 1) one of the outside cells is filled, until none is
 * left. Without this the boundary would touch itself at a vertex. */
void orfeas_domain_repair_pinches(uint8_t *cells, uint32_t cw, uint32_t ch);
/* Fills outside regions not 4-connected to the grid border. */
int orfeas_domain_fill_holes(uint8_t *cells, uint32_t cw, uint32_t ch);
/* Keeps the 4-connected parts of at least min_share times the largest part's
 * area (1.0: the largest only); *kept receives the cells kept. */
int orfeas_domain_keep_significant(uint8_t *cells, uint32_t cw, uint32_t ch, double min_share,
                                   uint64_t *kept);
/* All three in the order that keeps each other's invariants. */
int orfeas_domain_clean(uint8_t *cells, uint32_t cw, uint32_t ch, double min_share, uint64_t *kept);

#endif
