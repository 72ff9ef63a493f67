"""A binary min-heap of timed events on arrays: ordered by (time, insertion counter)."""

import numpy as np

from kernels import jit


@jit
def heap_less(ht, hs, i, j):
    """True when entry i comes before entry j (earlier time, then earlier counter)."""
    return ht[i] < ht[j] or (ht[i] == ht[j] and hs[i] < hs[j])


@jit
def heap_push(ht, hs, hv, n, t, seq, v):
    """Insert (t, seq) carrying value v into a heap of n entries; returns the new size."""
    i = n
    ht[i] = t
    hs[i] = seq
    hv[i] = v
    while i > 0:
        p = (i - 1) >> 1
        if heap_less(ht, hs, i, p):
            ht[i], ht[p] = ht[p], ht[i]
            hs[i], hs[p] = hs[p], hs[i]
            hv[i], hv[p] = hv[p], hv[i]
            i = p
        else:
            break
    return n + 1


@jit
def heap_pop(ht, hs, hv, n):
    """Remove the first entry of a heap of n entries; returns its value (size becomes n-1)."""
    v = hv[0]
    n -= 1
    ht[0] = ht[n]
    hs[0] = hs[n]
    hv[0] = hv[n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and heap_less(ht, hs, c + 1, c):
            c += 1
        if heap_less(ht, hs, c, i):
            ht[i], ht[c] = ht[c], ht[i]
            hs[i], hs[c] = hs[c], hs[i]
            hv[i], hv[c] = hv[c], hv[i]
            i = c
        else:
            break
    return v


def heap_order_ref(times, seqs):
    """Twin: the order a heap pops (time, counter) pairs is the sorted order."""
    return [v for _, _, v in sorted(zip(times, seqs, range(len(times))))]


def new_heap(capacity: int):
    """Empty heap arrays (times, counters, values) of the given capacity."""
    return (
        np.zeros(capacity, np.float64),
        np.zeros(capacity, np.int64),
        np.zeros(capacity, np.int64),
    )
