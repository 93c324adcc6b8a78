/* The nn runtime's allocations, counted: every buffer of a forward pass
 * (maps, encoder buffers, im2col bands, the fp16 expansion) goes through
 * orfeas_nn_alloc/orfeas_nn_release with its size, so that the activation estimate
 * (depth_memory.c) can be checked against the real peak. Process-wide
 * counters; the cost is two atomic operations per buffer (a few hundred per
 * forward pass). */
#include "nn/tensor.h"

#include <stdatomic.h>
#include <stdlib.h>

static _Atomic size_t live_bytes, peak_bytes;

void *orfeas_nn_alloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) return NULL;
    size_t now = atomic_fetch_add(&live_bytes, bytes) + bytes;
    size_t peak = atomic_load(&peak_bytes);
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
    }
    return p;
}

void orfeas_nn_release(void *p, size_t bytes)
{
    if (!p) return;
    free(p);
    atomic_fetch_sub(&live_bytes, bytes);
}

size_t orfeas_nn_alloc_live(void)
{
    return atomic_load(&live_bytes);
}

size_t orfeas_nn_alloc_peak(void)
{
    return atomic_load(&peak_bytes);
}

void orfeas_nn_alloc_reset_peak(void)
{
    atomic_store(&peak_bytes, atomic_load(&live_bytes));
}
