"""Random streams: one numpy Generator per component and purpose, drawn in fixed chunks.

A stream's seed is `SeedSequence(seed, spawn_key=(stable_hash(component), purpose))`, so
adding a component or changing the window never changes anyone else's numbers.
"""

from __future__ import annotations

import hashlib

import numpy as np

CHUNK = 16384  # draws per refill; fixed, so the sequence never depends on the window


def stable_hash(name: str) -> int:
    """A 64-bit hash of `name` that is the same in every process (unlike hash())."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def generator(seed: int, component: str, purpose: int = 0) -> np.random.Generator:
    """The Generator for one purpose of one component."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(stable_hash(component), int(purpose)))
    return np.random.Generator(np.random.PCG64(ss))


class ChunkStream:
    """An endless sequence of draws, produced `CHUNK` at a time by `draw(gen, n)`."""

    def __init__(self, gen: np.random.Generator, draw, chunk: int = CHUNK):
        self.gen = gen
        self.draw = draw
        self.chunk = chunk

    def next_chunk(self) -> np.ndarray:
        return np.ascontiguousarray(self.draw(self.gen, self.chunk), dtype=np.float64)


class ArrayStream:
    """A finite sequence given in advance (tests): chunks are consecutive slices."""

    def __init__(self, values, chunk: int = CHUNK):
        self.values = np.asarray(values, dtype=np.float64)
        self.chunk = chunk
        self.pos = 0

    def next_chunk(self) -> np.ndarray:
        out = self.values[self.pos : self.pos + self.chunk]
        if len(out) < self.chunk:
            raise IndexError("ArrayStream exhausted: give the test more draws")
        self.pos += self.chunk
        return out
