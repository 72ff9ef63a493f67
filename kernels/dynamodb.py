"""DynamoDB capacity units: what each request consumes, with AWS's rounding.

The rules (FACTS "DynamoDB capacity units"; the DynamoDB developer guide, "Read/write capacity
mode" and "How DynamoDB pricing works"), for provisioned capacity units (RCU, WCU) and
on-demand request units (RRU, WRU) alike:

- A read counts the item's size in blocks of 4 KB (4,096 bytes), rounded up, at least one
  block (a GetItem that finds nothing still reads one): an eventually consistent read costs
  half a unit per block, a strongly consistent read one unit, a transactional read
  (TransactGetItems) two.
- BatchGetItem rounds each item on its own; Query (and Scan) rounds the total size of the
  items it returns, once.
- A write counts the item's size in blocks of 1 KB (1,024 bytes), rounded up, at least one:
  one unit per block, two for a transactional write (TransactWriteItems). UpdateItem counts
  the larger of the item's sizes before and after; DeleteItem the deleted item's.
  BatchWriteItem rounds each item on its own.

Units are counted in halves (`HALF_UNITS_PER_UNIT`), so that sums over millions of requests
stay exact integers; the bill divides by two at the end. The table's kernel will charge these
against partitions and the table (issue "The front door and the state"); this module is the
rule alone. Twin: `kernels/ref/dynamodb.py`.
"""

import numpy as np

from kernels import jit, jit_inline

READ_BLOCK_BYTES = 4096
WRITE_BLOCK_BYTES = 1024
HALF_UNITS_PER_UNIT = 2

# Operations (`calls: [{target: table:NAME, operation: ...}]`).
GET, BATCH_GET, QUERY, TRANSACT_GET, PUT, UPDATE, DELETE, BATCH_WRITE, TRANSACT_WRITE = range(9)
OPERATIONS = ("GetItem", "BatchGetItem", "Query", "TransactGetItems", "PutItem", "UpdateItem", "DeleteItem",
              "BatchWriteItem", "TransactWriteItems")
READS = (GET, BATCH_GET, QUERY, TRANSACT_GET)
# Read consistency.
EVENTUAL, STRONG = 0, 1
# Half units per block: a read by consistency (a transactional read: 4), a write (transactional: 4).
READ_HALVES = (1, 2)
TRANSACTIONAL_HALVES = 4
WRITE_HALVES = 2


@jit_inline
def _blocks(size_bytes, block):
    """Blocks of `block` bytes in an item of `size_bytes`, rounded up, at least one."""
    n = (size_bytes + block - 1) // block
    return n if n > 1 else np.int64(1)


@jit_inline
def request_half_units(op, item_bytes, n_items, consistency):
    """(read, write) half units one request consumes: `n_items` items of `item_bytes` each
    (a Query's items returned, a batch's or transaction's items; 1 for single-item
    operations), reads at `consistency` (EVENTUAL or STRONG; ignored for writes and
    transactions)."""
    if op == GET:
        return _blocks(item_bytes, READ_BLOCK_BYTES) * (2 if consistency == STRONG else 1), np.int64(0)
    if op == BATCH_GET:
        return n_items * _blocks(item_bytes, READ_BLOCK_BYTES) * (2 if consistency == STRONG else 1), np.int64(0)
    if op == QUERY:
        return _blocks(n_items * item_bytes, READ_BLOCK_BYTES) * (2 if consistency == STRONG else 1), np.int64(0)
    if op == TRANSACT_GET:
        return n_items * _blocks(item_bytes, READ_BLOCK_BYTES) * TRANSACTIONAL_HALVES, np.int64(0)
    if op == BATCH_WRITE:
        return np.int64(0), n_items * _blocks(item_bytes, WRITE_BLOCK_BYTES) * WRITE_HALVES
    if op == TRANSACT_WRITE:
        return np.int64(0), n_items * _blocks(item_bytes, WRITE_BLOCK_BYTES) * TRANSACTIONAL_HALVES
    return np.int64(0), _blocks(item_bytes, WRITE_BLOCK_BYTES) * WRITE_HALVES  # PUT, UPDATE, DELETE


@jit
def request_half_units_many(op, item_bytes, n_items, consistency, read_out, write_out):
    """`request_half_units` for arrays of requests (int64), into read_out and write_out."""
    for i in range(op.shape[0]):
        r, w = request_half_units(op[i], item_bytes[i], n_items[i], consistency[i])
        read_out[i] = r
        write_out[i] = w
