"""A 4-ary min-heap of timed events in one array, ordered by (time, insertion counter).

Each entry is one row of an int64 array `hh` of shape (capacity, H_COLS): the time's IEEE
bits (`H_T`), the counter (`H_SEQ`) and the value (`H_V`), padded to 32 bytes. For the
non-negative times a simulation schedules, the bits of a float64 compare as int64 in the
same order as the floats (+0.0 is stored for -0.0, and no time is NaN), so a sift compares
integers and reads one row per node instead of three arrays. Sifting moves a hole instead
of swapping; four children per node halve the depth; the smallest of a full node's four
children is chosen without branches. Positions are unsigned: numba adds a negative-index
wraparound to every signed index it cannot prove non-negative.

Measured on a hold model (pop, then push at a random later time) of 600 and 3,000 entries,
ns per pop and push: 88 and 107 with three arrays (float times, a branch per child), 56 and
68 as here (2026-12-05). In the account's loop the sift is still about a fifth of the time
(perf, composed chain). Twin: `kernels/ref/heap.py`.
"""

import numpy as np

from kernels import jit_inline

ARITY = 4
H_T, H_SEQ, H_V = 0, 1, 2  # the columns of an entry: time bits, counter, value
H_COLS = 4  # (one column of padding: a row is 32 bytes, two rows share no cache line)
_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U3 = np.uint64(3)
_U4 = np.uint64(4)


@jit_inline
def time_bits(t):
    """The int64 heap key of a time t >= 0 (the bits of t, with -0.0 as +0.0)."""
    return np.float64(t + 0.0).view(np.int64)


@jit_inline
def heap_time(hh, k):
    """The time of entry k (0: the first)."""
    return np.int64(hh[k, H_T]).view(np.float64)


@jit_inline
def _before(at, aseq, bt, bseq):
    return (at < bt) | ((at == bt) & (aseq < bseq))


@jit_inline
def heap_push(hh, n, t, seq, v):
    """Insert (t, seq) carrying value v into a heap of n entries; returns the new size."""
    tb = time_bits(t)
    i = np.uint64(n)
    while i > 0:
        p = (i - _U1) >> _U2
        pt = hh[p, H_T]
        if tb < pt or (tb == pt and seq < hh[p, H_SEQ]):
            hh[i, H_T] = pt
            hh[i, H_SEQ] = hh[p, H_SEQ]
            hh[i, H_V] = hh[p, H_V]
            i = p
        else:
            break
    hh[i, H_T] = tb
    hh[i, H_SEQ] = seq
    hh[i, H_V] = v
    return n + 1


@jit_inline
def heap_pop(hh, n):
    """Remove the first entry of a heap of n entries; returns its value (size becomes n-1)."""
    top = hh[0, H_V]
    n -= 1
    un = np.uint64(n)
    tb = hh[un, H_T]
    seq = hh[un, H_SEQ]
    v = hh[un, H_V]
    i = np.uint64(0)
    while True:
        c = (i << _U2) + _U1
        if c >= un:
            break
        bt = hh[c, H_T]
        bs = hh[c, H_SEQ]
        best = c
        if c + _U3 < un:
            # four children: the smaller of each pair, then of the two (selects, no branches)
            t1 = hh[c + _U1, H_T]
            s1 = hh[c + _U1, H_SEQ]
            t2 = hh[c + _U2, H_T]
            s2 = hh[c + _U2, H_SEQ]
            t3 = hh[c + _U3, H_T]
            s3 = hh[c + _U3, H_SEQ]
            l1 = _before(t1, s1, bt, bs)
            a = c + _U1 if l1 else c
            at = t1 if l1 else bt
            aseq = s1 if l1 else bs
            l3 = _before(t3, s3, t2, s2)
            b = c + _U3 if l3 else c + _U2
            btt = t3 if l3 else t2
            bss = s3 if l3 else s2
            lb = _before(btt, bss, at, aseq)
            best = b if lb else a
            bt = btt if lb else at
            bs = bss if lb else aseq
        else:
            k = c + _U1
            while k < un:
                kt = hh[k, H_T]
                if kt < bt or (kt == bt and hh[k, H_SEQ] < bs):
                    best = k
                    bt = kt
                    bs = hh[k, H_SEQ]
                k += _U1
        if bt < tb or (bt == tb and bs < seq):
            hh[i, H_T] = bt
            hh[i, H_SEQ] = bs
            hh[i, H_V] = hh[best, H_V]
            i = best
        else:
            break
    if n > 0:
        hh[i, H_T] = tb
        hh[i, H_SEQ] = seq
        hh[i, H_V] = v
    return top


def new_heap(capacity: int):
    """An empty heap array of the given capacity."""
    return np.zeros((capacity, H_COLS), np.int64)


def first_time(hh) -> float:
    """The time of a non-empty heap's first entry, read from Python."""
    return float(hh[0:1, H_T].view(np.float64)[0])
