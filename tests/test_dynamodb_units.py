"""DynamoDB capacity units per request (kernels/dynamodb.py), against AWS's documented rules
worked by hand and against the plain twin (kernels/ref/dynamodb.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kernels import dynamodb as D
from kernels.ref.dynamodb import request_half_units_ref

KB = 1024


@pytest.mark.parametrize("op, item_bytes, n_items, consistency, read_units, write_units", [
    # AWS's example: an 8 KB item costs 2 RCU strongly consistent, 1 eventually, 4 transactional
    (D.GET, 8 * KB, 1, D.STRONG, 2, 0),
    (D.GET, 8 * KB, 1, D.EVENTUAL, 1, 0),
    (D.TRANSACT_GET, 8 * KB, 1, D.STRONG, 4, 0),
    # sizes round up to 4 KB: 3.5 KB is one block, 4 KB exactly one, a byte more two
    (D.GET, 3584, 1, D.STRONG, 1, 0),
    (D.GET, 4 * KB, 1, D.STRONG, 1, 0),
    (D.GET, 4 * KB + 1, 1, D.STRONG, 2, 0),
    (D.GET, 4 * KB + 1, 1, D.EVENTUAL, 1, 0),
    # an item that is not there still reads one block: 1 RCU, half eventually consistent
    (D.GET, 0, 1, D.STRONG, 1, 0),
    (D.GET, 0, 1, D.EVENTUAL, 0.5, 0),
    # a Query adds up the items it returns and rounds once: 10 x 0.5 KB = 5 KB -> 2 blocks
    (D.QUERY, 512, 10, D.STRONG, 2, 0),
    (D.QUERY, 512, 10, D.EVENTUAL, 1, 0),
    (D.QUERY, 400, 10, D.STRONG, 1, 0),  # 4,000 bytes: one block
    # BatchGetItem rounds each item: 10 x 0.5 KB -> 10 blocks
    (D.BATCH_GET, 512, 10, D.STRONG, 10, 0),
    (D.BATCH_GET, 512, 10, D.EVENTUAL, 5, 0),
    # writes round up to 1 KB: 1 KB one unit, 1.5 KB two; transactional twice that
    (D.PUT, 1 * KB, 1, D.STRONG, 0, 1),
    (D.PUT, 1536, 1, D.STRONG, 0, 2),
    (D.UPDATE, 1536, 1, D.EVENTUAL, 0, 2),
    (D.DELETE, 0, 1, D.STRONG, 0, 1),
    (D.TRANSACT_WRITE, 1536, 3, D.STRONG, 0, 12),
    # BatchWriteItem: 25 items of 0.5 KB, each its own unit
    (D.BATCH_WRITE, 512, 25, D.STRONG, 0, 25),
])
def test_units_worked_by_hand(op, item_bytes, n_items, consistency, read_units, write_units):
    r, w = D.request_half_units(np.int64(op), np.int64(item_bytes), np.int64(n_items), np.int64(consistency))
    assert (r / D.HALF_UNITS_PER_UNIT, w / D.HALF_UNITS_PER_UNIT) == (read_units, write_units)
    assert (r, w) == request_half_units_ref(op, item_bytes, n_items, consistency)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(D.OPERATIONS) - 1),
                          st.one_of(st.integers(0, 400 * KB), st.sampled_from([0, 1, 1023, 1024, 1025, 4095, 4096,
                                                                               4097, 400 * KB])),
                          st.integers(1, 100), st.sampled_from([D.EVENTUAL, D.STRONG])), min_size=1, max_size=40))
def test_kernel_matches_twin(requests):
    """The vectorized kernel gives the twin's half units, request by request."""
    op, size, n, cons = (np.array(x, np.int64) for x in zip(*requests))
    r, w = np.zeros(len(op), np.int64), np.zeros(len(op), np.int64)
    D.request_half_units_many(op, size, n, cons, r, w)
    want = [request_half_units_ref(*q) for q in requests]
    assert list(zip(r.tolist(), w.tolist())) == want
    assert all((rr == 0) != (op_ in D.READS) for rr, op_ in zip(r.tolist(), op.tolist()))  # reads read, writes write
