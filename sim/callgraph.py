"""The expected-calls matrix of a scenario's functions, and whether its chains end.

`M[f, g]` is the expected number of invocations of function `g` that one invocation of `f`
causes directly (ACCOUNT_SPEC.md §9). The expected number of descendants of one request is
the sum of the powers of M, finite exactly when M's spectral radius is below 1; a radius of
1 or more means a request's chain never ends on average (a function feeding its own queue
with certainty, say), which the builder refuses with the cycle's functions.
"""

from __future__ import annotations

from typing import Hashable, Iterable, List, Mapping, Sequence, Tuple

import numpy as np


def spectral_radius(m: np.ndarray) -> float:
    """The largest modulus of the eigenvalues of the square matrix `m` (0 for an empty one)."""
    m = np.asarray(m, float)
    if m.size == 0:
        return 0.0
    return float(np.max(np.abs(np.linalg.eigvals(m))))


def strongly_connected(adjacency: Mapping[Hashable, Iterable[Hashable]]) -> List[List[Hashable]]:
    """The strongly connected components of a directed graph {node: successors} (Tarjan), each
    sorted, in the order Tarjan finishes them; nodes without an entry have no successors."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v) -> None:  # recursive: fine for scenario-sized graphs (functions, modules)
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(adjacency.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(adjacency):
        if v not in index:
            visit(v)
    return out


def _components(m: np.ndarray) -> List[List[int]]:
    """Strongly connected components of the graph with an edge f -> g where m[f, g] > 0."""
    return strongly_connected({f: np.flatnonzero(m[f] > 0).tolist() for f in range(len(m))})


def runaway_cycle(m: np.ndarray, names: Sequence[str]) -> Tuple[float, List[str]]:
    """(radius, functions) of the strongly connected part of the call graph with the largest
    spectral radius; the radius of the whole matrix is the largest of its parts'."""
    m = np.asarray(m, float)
    best, members = 0.0, []
    for comp in _components(m):
        r = spectral_radius(m[np.ix_(comp, comp)])
        if r > best:
            best, members = r, [names[i] for i in comp]
    return best, members
