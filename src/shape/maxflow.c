/* Boykov-Kolmogorov max-flow, following the structure of Kolmogorov's
 * maxflow-v3 (search trees grown from both terminals, augmentation, adoption
 * of orphans with the timestamp/distance heuristic), with array indices
 * instead of pointers. Arc a's reverse ("sister") is a ^ 1. */
#include "shape/maxflow.h"

#include <stdlib.h>

#define MF_NONE (-1)     /* no parent: free node; or end of a list */
#define MF_TERMINAL (-2) /* parent is the source or the sink */
#define MF_ORPHAN (-3)   /* lost its parent during augmentation */
#define MF_INFINITE_D 0x7fffffff

typedef struct mf_node {
    int32_t first;  /* first outgoing arc */
    int32_t parent; /* arc toward the parent in its tree, or MF_* */
    int32_t next;   /* next active node; itself at the end; MF_NONE when inactive */
    int32_t ts;     /* time of the last distance check */
    int32_t dist;   /* distance to the terminal (valid when ts is recent) */
    int32_t is_sink;
    double tr_cap; /* residual: > 0 toward the source, < 0 toward the sink */
} mf_node;

typedef struct mf_arc {
    int32_t head;
    int32_t next; /* next arc out of the same tail */
    double r_cap; /* residual capacity */
} mf_arc;

struct orfeas_maxflow {
    mf_node *nodes;
    mf_arc *arcs;
    int32_t *orphans; /* ring buffer (deque) of at most max_nodes entries */
    int32_t max_nodes, node_count;
    int64_t max_arcs, arc_count;
    int32_t queue_first, queue_last;
    int32_t orphan_head, orphan_count;
    int32_t time;
    double flow;
};

orfeas_maxflow *orfeas_maxflow_create(int32_t max_nodes, int64_t max_edges)
{
    if (max_nodes <= 0 || max_edges < 0 || max_edges > INT32_MAX / 2) return NULL;
    orfeas_maxflow *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->nodes = malloc((size_t)max_nodes * sizeof *g->nodes);
    g->arcs = malloc((size_t)(2 * max_edges + 1) * sizeof *g->arcs);
    g->orphans = malloc((size_t)max_nodes * sizeof *g->orphans);
    if (!g->nodes || !g->arcs || !g->orphans) {
        orfeas_maxflow_destroy(g);
        return NULL;
    }
    g->max_nodes = max_nodes;
    g->max_arcs = 2 * max_edges;
    return g;
}

void orfeas_maxflow_destroy(orfeas_maxflow *g)
{
    if (!g) return;
    free(g->nodes);
    free(g->arcs);
    free(g->orphans);
    free(g);
}

void orfeas_maxflow_reset(orfeas_maxflow *g)
{
    g->node_count = 0;
    g->arc_count = 0;
    g->flow = 0;
}

int32_t orfeas_maxflow_add_nodes(orfeas_maxflow *g, int32_t count)
{
    if (count < 0 || count > g->max_nodes - g->node_count) return -1;
    int32_t first = g->node_count;
    for (int32_t i = first; i < first + count; i++) {
        mf_node *n = &g->nodes[i];
        n->first = MF_NONE;
        n->parent = MF_NONE;
        n->next = MF_NONE;
        n->ts = 0;
        n->dist = 0;
        n->is_sink = 0;
        n->tr_cap = 0;
    }
    g->node_count += count;
    return first;
}

void orfeas_maxflow_add_tweights(orfeas_maxflow *g, int32_t node, double cap_source,
                                 double cap_sink)
{
    /* Only the difference matters for the cut; the common part is flow that
     * must cross anyway. */
    double delta = g->nodes[node].tr_cap;
    if (delta > 0)
        cap_source += delta;
    else
        cap_sink -= delta;
    g->flow += cap_source < cap_sink ? cap_source : cap_sink;
    g->nodes[node].tr_cap = cap_source - cap_sink;
}

int orfeas_maxflow_add_edge(orfeas_maxflow *g, int32_t i, int32_t j, double cap, double rev_cap)
{
    if (i == j || g->arc_count + 2 > g->max_arcs) return -1;
    int32_t a = (int32_t)g->arc_count, b = a + 1;
    g->arc_count += 2;
    g->arcs[a].head = j;
    g->arcs[a].next = g->nodes[i].first;
    g->arcs[a].r_cap = cap;
    g->nodes[i].first = a;
    g->arcs[b].head = i;
    g->arcs[b].next = g->nodes[j].first;
    g->arcs[b].r_cap = rev_cap;
    g->nodes[j].first = b;
    return 0;
}

static void set_active(orfeas_maxflow *g, int32_t i)
{
    if (g->nodes[i].next != MF_NONE) return;
    if (g->queue_last != MF_NONE)
        g->nodes[g->queue_last].next = i;
    else
        g->queue_first = i;
    g->queue_last = i;
    g->nodes[i].next = i;
}

/* Pops active nodes until one that still belongs to a tree. */
static int32_t next_active(orfeas_maxflow *g)
{
    for (;;) {
        int32_t i = g->queue_first;
        if (i == MF_NONE) return MF_NONE;
        if (g->nodes[i].next == i)
            g->queue_first = g->queue_last = MF_NONE;
        else
            g->queue_first = g->nodes[i].next;
        g->nodes[i].next = MF_NONE;
        if (g->nodes[i].parent != MF_NONE) return i;
    }
}

static void orphan_front(orfeas_maxflow *g, int32_t i)
{
    g->nodes[i].parent = MF_ORPHAN;
    g->orphan_head = g->orphan_head == 0 ? g->max_nodes - 1 : g->orphan_head - 1;
    g->orphans[g->orphan_head] = i;
    g->orphan_count++;
}

static void orphan_rear(orfeas_maxflow *g, int32_t i)
{
    g->nodes[i].parent = MF_ORPHAN;
    int64_t pos = (int64_t)g->orphan_head + g->orphan_count;
    if (pos >= g->max_nodes) pos -= g->max_nodes;
    g->orphans[pos] = i;
    g->orphan_count++;
}

static int32_t orphan_pop(orfeas_maxflow *g)
{
    int32_t i = g->orphans[g->orphan_head];
    g->orphan_head = g->orphan_head + 1 == g->max_nodes ? 0 : g->orphan_head + 1;
    g->orphan_count--;
    return i;
}

/* Pushes flow along source tree -> middle arc -> sink tree. */
static void augment(orfeas_maxflow *g, int32_t middle)
{
    mf_node *nodes = g->nodes;
    mf_arc *arcs = g->arcs;
    int32_t i, a;
    double bottleneck = arcs[middle].r_cap;

    for (i = arcs[middle ^ 1].head;; i = arcs[a].head) {
        a = nodes[i].parent;
        if (a == MF_TERMINAL) break;
        if (bottleneck > arcs[a ^ 1].r_cap) bottleneck = arcs[a ^ 1].r_cap;
    }
    if (bottleneck > nodes[i].tr_cap) bottleneck = nodes[i].tr_cap;
    for (i = arcs[middle].head;; i = arcs[a].head) {
        a = nodes[i].parent;
        if (a == MF_TERMINAL) break;
        if (bottleneck > arcs[a].r_cap) bottleneck = arcs[a].r_cap;
    }
    if (bottleneck > -nodes[i].tr_cap) bottleneck = -nodes[i].tr_cap;

    arcs[middle ^ 1].r_cap += bottleneck;
    arcs[middle].r_cap -= bottleneck;
    for (i = arcs[middle ^ 1].head;; i = arcs[a].head) {
        a = nodes[i].parent;
        if (a == MF_TERMINAL) break;
        arcs[a].r_cap += bottleneck;
        arcs[a ^ 1].r_cap -= bottleneck;
        if (arcs[a ^ 1].r_cap == 0) orphan_front(g, i);
    }
    nodes[i].tr_cap -= bottleneck;
    if (nodes[i].tr_cap == 0) orphan_front(g, i);
    for (i = arcs[middle].head;; i = arcs[a].head) {
        a = nodes[i].parent;
        if (a == MF_TERMINAL) break;
        arcs[a ^ 1].r_cap += bottleneck;
        arcs[a].r_cap -= bottleneck;
        if (arcs[a].r_cap == 0) orphan_front(g, i);
    }
    nodes[i].tr_cap += bottleneck;
    if (nodes[i].tr_cap == 0) orphan_front(g, i);

    g->flow += bottleneck;
}

/* Tries to find a new parent for orphan i in its own tree (sink = is_sink);
 * otherwise frees it and orphans its children. */
static void process_orphan(orfeas_maxflow *g, int32_t i, int sink)
{
    mf_node *nodes = g->nodes;
    mf_arc *arcs = g->arcs;
    int32_t a0_min = MF_NONE;
    int32_t d_min = MF_INFINITE_D;

    for (int32_t a0 = nodes[i].first; a0 != MF_NONE; a0 = arcs[a0].next) {
        /* Source tree: flow must reach i from j (arc j->i); sink tree: i->j. */
        double cap = sink ? arcs[a0].r_cap : arcs[a0 ^ 1].r_cap;
        if (cap == 0) continue;
        int32_t j = arcs[a0].head;
        if (nodes[j].is_sink != sink || nodes[j].parent == MF_NONE) continue;
        /* Walk to the root, stopping at a node checked in this pass. */
        int32_t d = 0;
        for (;;) {
            if (nodes[j].ts == g->time) {
                d += nodes[j].dist;
                break;
            }
            int32_t a = nodes[j].parent;
            d++;
            if (a == MF_TERMINAL) {
                nodes[j].ts = g->time;
                nodes[j].dist = 1;
                break;
            }
            if (a == MF_ORPHAN) {
                d = MF_INFINITE_D;
                break;
            }
            j = arcs[a].head;
        }
        if (d < MF_INFINITE_D) {
            if (d < d_min) {
                a0_min = a0;
                d_min = d;
            }
            /* Mark the path so later walks stop early. */
            for (j = arcs[a0].head; nodes[j].ts != g->time; j = arcs[nodes[j].parent].head) {
                nodes[j].ts = g->time;
                nodes[j].dist = d--;
            }
        }
    }

    nodes[i].parent = a0_min;
    if (a0_min != MF_NONE) {
        nodes[i].ts = g->time;
        nodes[i].dist = d_min + 1;
        return;
    }
    for (int32_t a0 = nodes[i].first; a0 != MF_NONE; a0 = arcs[a0].next) {
        int32_t j = arcs[a0].head;
        int32_t a = nodes[j].parent;
        if (nodes[j].is_sink != sink || a == MF_NONE) continue;
        double cap = sink ? arcs[a0].r_cap : arcs[a0 ^ 1].r_cap;
        if (cap != 0) set_active(g, j);
        if (a != MF_TERMINAL && a != MF_ORPHAN && arcs[a].head == i) orphan_rear(g, j);
    }
}

double orfeas_maxflow_solve(orfeas_maxflow *g)
{
    mf_node *nodes = g->nodes;
    mf_arc *arcs = g->arcs;

    g->queue_first = g->queue_last = MF_NONE;
    g->orphan_head = g->orphan_count = 0;
    g->time = 0;
    for (int32_t i = 0; i < g->node_count; i++) {
        mf_node *n = &nodes[i];
        n->next = MF_NONE;
        n->ts = 0;
        if (n->tr_cap > 0) {
            n->is_sink = 0;
            n->parent = MF_TERMINAL;
            set_active(g, i);
            n->dist = 1;
        } else if (n->tr_cap < 0) {
            n->is_sink = 1;
            n->parent = MF_TERMINAL;
            set_active(g, i);
            n->dist = 1;
        } else {
            n->parent = MF_NONE;
        }
    }

    int32_t current = MF_NONE;
    for (;;) {
        int32_t i = current;
        if (i != MF_NONE) {
            nodes[i].next = MF_NONE;
            if (nodes[i].parent == MF_NONE) i = MF_NONE;
        }
        if (i == MF_NONE) {
            i = next_active(g);
            if (i == MF_NONE) break;
        }

        /* Growth: find an arc that joins the two trees. */
        int32_t a = MF_NONE;
        if (!nodes[i].is_sink) {
            for (a = nodes[i].first; a != MF_NONE; a = arcs[a].next) {
                if (arcs[a].r_cap == 0) continue;
                int32_t j = arcs[a].head;
                if (nodes[j].parent == MF_NONE) {
                    nodes[j].is_sink = 0;
                    nodes[j].parent = a ^ 1;
                    nodes[j].ts = nodes[i].ts;
                    nodes[j].dist = nodes[i].dist + 1;
                    set_active(g, j);
                } else if (nodes[j].is_sink) {
                    break;
                } else if (nodes[j].ts <= nodes[i].ts && nodes[j].dist > nodes[i].dist) {
                    nodes[j].parent = a ^ 1;
                    nodes[j].ts = nodes[i].ts;
                    nodes[j].dist = nodes[i].dist + 1;
                }
            }
        } else {
            for (a = nodes[i].first; a != MF_NONE; a = arcs[a].next) {
                if (arcs[a ^ 1].r_cap == 0) continue;
                int32_t j = arcs[a].head;
                if (nodes[j].parent == MF_NONE) {
                    nodes[j].is_sink = 1;
                    nodes[j].parent = a ^ 1;
                    nodes[j].ts = nodes[i].ts;
                    nodes[j].dist = nodes[i].dist + 1;
                    set_active(g, j);
                } else if (!nodes[j].is_sink) {
                    a = a ^ 1;
                    break;
                } else if (nodes[j].ts <= nodes[i].ts && nodes[j].dist > nodes[i].dist) {
                    nodes[j].parent = a ^ 1;
                    nodes[j].ts = nodes[i].ts;
                    nodes[j].dist = nodes[i].dist + 1;
                }
            }
        }

        if (a == MF_NONE) {
            current = MF_NONE;
            continue;
        }
        /* Keep i as the current node: it may have more arcs to the other tree. */
        nodes[i].next = i;
        current = i;
        augment(g, a);
        /* A new time stamp per augmentation only (as in maxflow-v3): the
         * distances found by growth stay valid for the orphan heuristic. */
        g->time++;
        while (g->orphan_count > 0) {
            int32_t o = orphan_pop(g);
            process_orphan(g, o, nodes[o].is_sink);
        }
    }
    return g->flow;
}

int orfeas_maxflow_is_sink(const orfeas_maxflow *g, int32_t node)
{
    const mf_node *n = &g->nodes[node];
    return n->parent != MF_NONE && n->is_sink;
}
