"""Plain-Python twin of `kernels.dynamodb`: capacity units per request, from AWS's rules as
written (units as fractions, turned into halves at the end)."""

import math
from fractions import Fraction

from kernels.dynamodb import (BATCH_GET, BATCH_WRITE, GET, HALF_UNITS_PER_UNIT, QUERY, READ_BLOCK_BYTES, STRONG,
                              TRANSACT_GET, TRANSACT_WRITE, WRITE_BLOCK_BYTES)


def units_ref(op: int, item_bytes: int, n_items: int, consistency: int):
    """(read units, write units) as Fractions."""
    def reads(size):  # one read of `size` bytes: 4 KB blocks, at least one
        blocks = max(1, math.ceil(size / READ_BLOCK_BYTES))
        return blocks * (Fraction(1) if consistency == STRONG else Fraction(1, 2))

    def writes(size):
        return Fraction(max(1, math.ceil(size / WRITE_BLOCK_BYTES)))

    if op == GET:
        return reads(item_bytes), Fraction(0)
    if op == BATCH_GET:  # each item on its own
        return sum((reads(item_bytes) for _ in range(n_items)), Fraction(0)), Fraction(0)
    if op == QUERY:  # the items returned, added up, rounded once
        return reads(n_items * item_bytes), Fraction(0)
    if op == TRANSACT_GET:  # 2 units per 4 KB per item
        return sum((2 * max(1, math.ceil(item_bytes / READ_BLOCK_BYTES)) for _ in range(n_items)), Fraction(0)), \
            Fraction(0)
    if op == BATCH_WRITE:
        return Fraction(0), sum((writes(item_bytes) for _ in range(n_items)), Fraction(0))
    if op == TRANSACT_WRITE:
        return Fraction(0), sum((2 * writes(item_bytes) for _ in range(n_items)), Fraction(0))
    return Fraction(0), writes(item_bytes)


def request_half_units_ref(op: int, item_bytes: int, n_items: int, consistency: int):
    r, w = units_ref(op, item_bytes, n_items, consistency)
    return int(r * HALF_UNITS_PER_UNIT), int(w * HALF_UNITS_PER_UNIT)
