"""Batch: items on the data plane as a struct of arrays, never per-item Python objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List

import numpy as np


@dataclass
class Batch:
    """Timestamped items: `t` seconds, request `id`, payload `size_bytes`, attribute class
    `key`, `attempt` number, an optional per-item `duration_ms` (NaN: draw one) and the FIFO
    message `group` (0 for standard targets)."""

    t: np.ndarray
    id: np.ndarray
    size_bytes: np.ndarray
    key: np.ndarray
    attempt: np.ndarray
    duration_ms: np.ndarray
    group: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def empty(cls) -> "Batch":
        return cls.of(np.zeros(0), np.zeros(0, np.int64))

    @classmethod
    def of(cls, t, id, size_bytes=0, key=0, attempt=0, duration_ms=None, group=0) -> "Batch":
        """A batch from times and ids; scalars broadcast to every item."""
        t = np.ascontiguousarray(t, dtype=np.float64)
        n = len(t)

        def col(v, dtype):
            a = np.asarray(v, dtype=dtype)
            return np.full(n, a, dtype=dtype) if a.ndim == 0 else np.ascontiguousarray(a)

        dur = np.full(n, np.nan) if duration_ms is None else col(duration_ms, np.float64)
        return cls(t, col(id, np.int64), col(size_bytes, np.int64), col(key, np.int64),
                   col(attempt, np.int64), dur, col(group, np.int64))

    def split(self, t1: float):
        """(items with t < t1, the rest); `t` must be sorted."""
        k = int(np.searchsorted(self.t, t1, side="left"))
        return self.slice(0, k), self.slice(k, len(self))

    def slice(self, a: int, b: int) -> "Batch":
        return Batch(*(getattr(self, f)[a:b] for f in FIELDS))

    @staticmethod
    def concat(batches: List["Batch"]) -> "Batch":
        if len(batches) == 1:
            return batches[0]
        if not batches:
            return Batch.empty()
        return Batch(*(np.concatenate([getattr(b, f) for b in batches]) for f in FIELDS))

    def take(self, idx) -> "Batch":
        """The items at `idx` (an index array or a boolean mask), in that order."""
        return Batch(*(getattr(self, f)[idx] for f in FIELDS))


FIELDS = ("t", "id", "size_bytes", "key", "attempt", "duration_ms", "group")


class Inbox:
    """Batches waiting for a component, each tagged with an integer port (e.g. a source), or
    with an int64 array giving each item its own port (a topic delivering to many queues
    puts one time-ordered batch instead of one per destination) and a fixed integer `order`
    that ranks the put among the others (`take` returns it as the third element)."""

    def __init__(self) -> None:
        self._pending: List[tuple] = []

    def put(self, port, batch: Batch, order: int | None = None) -> None:
        if len(batch):
            self._pending.append((port, batch, port if order is None else order))

    def take(self, t1: float) -> List[tuple]:
        """Every pending item with t < t1, as (port, batch, order) in the order of the puts."""
        out, keep = [], []
        for port, b, order in self._pending:
            k = int(np.searchsorted(b.t, t1, side="left"))
            many = isinstance(port, np.ndarray)
            if k:
                out.append((port[:k] if many else port, b.slice(0, k), order))
            if k < len(b):
                keep.append((port[k:] if many else port, b.slice(k, len(b)), order))
        self._pending = keep
        return out
