"""The call graph's runaway check (sim/callgraph.py) on matrices worked out by hand."""

import numpy as np
import pytest

from sim.callgraph import runaway_cycle, spectral_radius


def test_a_self_loop_is_its_probability():
    assert spectral_radius(np.array([[0.3]])) == pytest.approx(0.3)
    assert runaway_cycle(np.array([[1.0]]), ["f"]) == (pytest.approx(1.0), ["f"])


def test_a_chain_without_a_cycle_has_radius_zero():
    m = np.array([[0, 2.0, 0], [0, 0, 5.0], [0, 0, 0]])
    assert spectral_radius(m) == pytest.approx(0.0, abs=1e-12)
    assert runaway_cycle(m, list("abc")) == (0.0, [])


def test_a_two_cycle_is_the_geometric_mean_of_its_edges():
    # a -> b twice per call, b -> a with probability 0.4: expected round trip 0.8, radius sqrt(0.8)
    m = np.array([[0, 2.0, 0], [0.4, 0, 1.0], [0, 0, 0]])
    r, members = runaway_cycle(m, ["a", "b", "c"])
    assert r == pytest.approx(np.sqrt(0.8)) and members == ["a", "b"]
    assert spectral_radius(m) == pytest.approx(np.sqrt(0.8))


def test_the_worst_part_is_named():
    m = np.zeros((4, 4))
    m[0, 0] = 0.5  # a feeds itself half the time
    m[1, 2] = m[2, 1] = 1.1  # b <-> c, more than once each way: runaway
    m[3, 1] = 1.0
    r, members = runaway_cycle(m, ["a", "b", "c", "d"])
    assert r == pytest.approx(1.1) and members == ["b", "c"]
