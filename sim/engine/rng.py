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


class Draws:
    """A stream's values (`next_chunk()`) handed out n at a time, in order: what an item gets does
    not depend on how items are cut into windows."""

    def __init__(self, stream):
        self.stream, self.buf, self.pos = stream, np.zeros(0), 0

    def take(self, n: int) -> np.ndarray:
        out = np.empty(n)
        got = 0
        while got < n:
            if self.pos >= len(self.buf):
                self.buf, self.pos = self.stream.next_chunk(), 0
            k = min(n - got, len(self.buf) - self.pos)
            out[got:got + k] = self.buf[self.pos:self.pos + k]
            self.pos += k
            got += k
        return out


def _uniform(gen: np.random.Generator, n: int) -> np.ndarray:
    return gen.random(n)


class Uniforms(Draws):
    """Uniform [0, 1) draws handed out n at a time from fixed CHUNK-sized refills."""

    def __init__(self, gen: np.random.Generator, chunk: int = CHUNK):
        super().__init__(ChunkStream(gen, _uniform, chunk))


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
