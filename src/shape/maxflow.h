/* Boykov-Kolmogorov max-flow / min-cut ("An Experimental Comparison of
 * Min-Cut/Max-Flow Algorithms for Energy Minimization in Vision", PAMI 2004)
 * on a generic graph: nodes with terminal capacities (source/sink) and
 * directed edge pairs. Fast on the grid graphs of image segmentation.
 *
 * Usage: create with upper bounds on nodes and edges, add nodes, t-weights and
 * edges, solve, read the side of each node. orfeas_maxflow_reset() empties the
 * graph for another cut without reallocating. Not thread-safe per graph. */
#ifndef ORFEAS_SHAPE_MAXFLOW_H
#define ORFEAS_SHAPE_MAXFLOW_H

#include <stddef.h>
#include <stdint.h>

typedef struct orfeas_maxflow orfeas_maxflow;

/* Returns NULL when out of memory or when the bounds are not positive. */
orfeas_maxflow *orfeas_maxflow_create(int32_t max_nodes, int64_t max_edges);
void orfeas_maxflow_destroy(orfeas_maxflow *g);
/* Forgets every node and edge (keeps the allocation). */
void orfeas_maxflow_reset(orfeas_maxflow *g);

/* Adds count nodes with zero capacities; returns the index of the first one,
 * or -1 when max_nodes would be exceeded. */
int32_t orfeas_maxflow_add_nodes(orfeas_maxflow *g, int32_t count);
/* Adds capacities source->node and node->sink (may be called repeatedly; may
 * be negative as long as the sums are consistent, as in Kolmogorov's code). */
void orfeas_maxflow_add_tweights(orfeas_maxflow *g, int32_t node, double cap_source,
                                 double cap_sink);
/* Adds edge i->j with capacity cap and j->i with rev_cap (both >= 0).
 * Returns 0, or -1 when max_edges would be exceeded or i == j. */
int orfeas_maxflow_add_edge(orfeas_maxflow *g, int32_t i, int32_t j, double cap, double rev_cap);

/* Computes the maximum flow (= minimum cut value). */
double orfeas_maxflow_solve(orfeas_maxflow *g);
/* After solve: 1 when the node is on the sink side of the minimum cut, 0 on
 * the source side (nodes reachable from neither terminal go to the source). */
int orfeas_maxflow_is_sink(const orfeas_maxflow *g, int32_t node);

#endif
