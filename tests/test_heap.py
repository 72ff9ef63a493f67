"""The event heap kernel against its twin: pops come out in (time, counter) order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from kernels import jit
from kernels.heap import H_COLS, first_time, heap_pop, heap_push, heap_time, new_heap
from kernels.ref.heap import heap_order_ref


@jit
def _push_all_pop_all(times, seqs):
    hh = np.zeros((len(times), H_COLS), np.int64)
    n = 0
    for k in range(len(times)):
        n = heap_push(hh, n, times[k], seqs[k], k)
    out = np.empty(len(times), np.int64)
    for k in range(len(times)):
        out[k] = heap_pop(hh, n)
        n -= 1
    return out


@jit
def _interleaved(times, seqs, pops_after):
    """Push each item; after item k pop pops_after[k] items (when there are any)."""
    hh = np.zeros((len(times), H_COLS), np.int64)
    n = 0
    out = np.full(len(times), -1, np.int64)
    m = 0
    for k in range(len(times)):
        n = heap_push(hh, n, times[k], seqs[k], k)
        for _ in range(pops_after[k]):
            if n > 0:
                out[m] = heap_pop(hh, n)
                n -= 1
                m += 1
    while n > 0:
        out[m] = heap_pop(hh, n)
        n -= 1
        m += 1
    return out


def interleaved_ref(times, seqs, pops_after):
    pending, out = [], []
    for k in range(len(times)):
        pending.append(k)
        for _ in range(pops_after[k]):
            if pending:
                first = min(pending, key=lambda j: (times[j], seqs[j]))
                pending.remove(first)
                out.append(first)
    while pending:
        first = min(pending, key=lambda j: (times[j], seqs[j]))
        pending.remove(first)
        out.append(first)
    return out


def test_edge_cases():
    assert list(_push_all_pop_all(np.array([1.0]), np.array([0]))) == [0]
    # equal times: the counter decides, whatever the insertion order
    t = np.array([5.0, 5.0, 5.0, 1.0, 5.0])
    s = np.array([3, 1, 2, 9, 0])
    assert list(_push_all_pop_all(t, s)) == heap_order_ref(t, s) == [3, 4, 1, 2, 0]
    # more than one level of four children, reversed input
    t = np.arange(40, 0, -1, dtype=float)
    assert list(_push_all_pop_all(t, np.arange(40))) == list(range(39, -1, -1))
    # infinities and zeros
    t = np.array([np.inf, 0.0, -0.0, 1e-300, np.inf])
    assert list(_push_all_pop_all(t, np.arange(5))) == heap_order_ref(t, np.arange(5))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 3)), min_size=1, max_size=200), st.randoms())
def test_random_against_twin(items, rnd):
    times = np.array([t / 4 for t, _ in items], float)  # coarse: many ties
    seqs = np.arange(len(items))
    rnd.shuffle(seqs)
    pops = np.array([p for _, p in items], np.int64)
    assert list(_push_all_pop_all(times, seqs)) == heap_order_ref(times, seqs)
    assert list(_interleaved(times, seqs, pops)) == interleaved_ref(times, seqs, pops)


def test_new_heap_shapes():
    hh = new_heap(8)
    assert hh.shape == (8, H_COLS) and hh.dtype == np.int64


@jit
def _first_times(times):
    hh = np.zeros((len(times), H_COLS), np.int64)
    n = 0
    out = np.empty(len(times))
    for k in range(len(times)):
        n = heap_push(hh, n, times[k], k, k)
        out[k] = heap_time(hh, 0)
    return out, hh


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.0, 1e12, allow_nan=False), min_size=1, max_size=50))
def test_the_first_time_is_the_smallest_time_exactly(times):
    """Times go in as their bits and come out as the same floats (kernel and Python)."""
    times = np.array(times)
    firsts, hh = _first_times(times)
    assert list(firsts) == list(np.minimum.accumulate(times))
    assert first_time(hh) == times.min()
