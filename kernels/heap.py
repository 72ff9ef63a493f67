"""A 4-ary min-heap of timed events on arrays, ordered by (time, insertion counter).

Sifting moves a hole instead of swapping, and four children per node halve the depth;
both matter because every simulated request is one push and one pop. Twin:
`kernels/ref/heap.py`.
"""

import numpy as np

from kernels import jit_inline

ARITY = 4


@jit_inline
def heap_push(ht, hs, hv, n, t, seq, v):
    """Insert (t, seq) carrying value v into a heap of n entries; returns the new size."""
    i = n
    while i > 0:
        p = (i - 1) >> 2
        pt = ht[p]
        if t < pt or (t == pt and seq < hs[p]):
            ht[i] = pt
            hs[i] = hs[p]
            hv[i] = hv[p]
            i = p
        else:
            break
    ht[i] = t
    hs[i] = seq
    hv[i] = v
    return n + 1


@jit_inline
def heap_pop(ht, hs, hv, n):
    """Remove the first entry of a heap of n entries; returns its value (size becomes n-1)."""
    top = hv[0]
    n -= 1
    t = ht[n]
    seq = hs[n]
    v = hv[n]
    i = 0
    while True:
        c = 4 * i + 1
        if c >= n:
            break
        # the smallest of up to four children
        best = c
        bt = ht[c]
        bs = hs[c]
        last = min(c + 4, n)
        for k in range(c + 1, last):
            kt = ht[k]
            if kt < bt or (kt == bt and hs[k] < bs):
                best = k
                bt = kt
                bs = hs[k]
        if bt < t or (bt == t and bs < seq):
            ht[i] = bt
            hs[i] = bs
            hv[i] = hv[best]
            i = best
        else:
            break
    if n > 0:
        ht[i] = t
        hs[i] = seq
        hv[i] = v
    return top


def new_heap(capacity: int):
    """Empty heap arrays (times, counters, values) of the given capacity."""
    return (
        np.zeros(capacity, np.float64),
        np.zeros(capacity, np.int64),
        np.zeros(capacity, np.int64),
    )
