"""S3 buckets: request rates per partitioned prefix, request by request (issue "The front door and the state").

S3 serves at least 3,500 PUT/COPY/POST/DELETE and 5,500 GET/HEAD requests a second per
partitioned prefix, answers 503 Slow Down beyond while it scales, and partitions a prefix that
stays busy, which takes 30 to 60 minutes (FACTS "S3 request rates": knowledge-center
http-5xx-errors-s3, re:Post). Here each prefix of a bucket has two token buckets, writes
(PUT, COPY, POST, DELETE) and reads (GET, HEAD, and LIST: our assumption, AWS names no LIST
rate), each gaining its rate times the prefix's partitions a second and holding one second's
worth (our assumption: AWS documents no burst), starting full. A request takes one token of
its class at its prefix; without one it is refused: 503 Slow Down (retried by the SDK). The
prefix's partitions only grow, at exact times decided outside (`split`: the control process of
`sim/storage/buckets.py`); the buckets are refilled at the old rate up to a split.

State per prefix row (`prefix_row` = the bucket's first row + the prefix's index): `ptok`,
`plast`, `pparts`, and `pslow` (503s since the control last read them); per period and bucket
the counters `bper`. Requests in time order per bucket, so the outcome does not depend on
windows. Twin: `kernels/ref/buckets.py`.
"""

import numpy as np

from kernels import jit, jit_inline

# Per partitioned prefix and second (FACTS "S3 request rates").
WRITE_RATE_PER_S = 3500.0
READ_RATE_PER_S = 5500.0
BURST_S = 1.0
# Operations (`calls: [{target: bucket:NAME, operation: ...}]`) and their class.
GET, HEAD, LIST, PUT, COPY, POST, DELETE = range(7)
OPERATIONS = ("GET", "HEAD", "LIST", "PUT", "COPY", "POST", "DELETE")
READ, WRITE = 0, 1
OP_CLASS = (READ, READ, READ, WRITE, WRITE, WRITE, WRITE)
RATES = (READ_RATE_PER_S, WRITE_RATE_PER_S)

# Counters per period and bucket `bper[p, b]` (int64).
BC_REQUESTS = 0  # AllRequests
BC_GET = 1  # GetRequests
BC_PUT = 2  # PutRequests
BC_HEAD = 3
BC_LIST = 4
BC_DELETE = 5
BC_POST = 6  # COPY and POST
BC_SLOWDOWN = 7  # 503 Slow Down: 5xxErrors
BC_FIRST_BYTE_US = 8  # summed over served requests
BC_TOTAL_US = 9  # first byte + transfer, summed over served requests
BC_BYTES_DOWN = 10  # GET bodies
BC_BYTES_UP = 11  # PUT / POST bodies
BC_SERVED_TIER1 = 12  # served PUT, COPY, POST, LIST (S3's Tier1 requests)
BC_SERVED_TIER2 = 13  # served GET, HEAD (Tier2); a served DELETE is free
N_BC = 14
_OP_COUNTER = (BC_GET, BC_HEAD, BC_LIST, BC_PUT, BC_POST, BC_POST, BC_DELETE)
_OP_TIER = (BC_SERVED_TIER2, BC_SERVED_TIER2, BC_SERVED_TIER1, BC_SERVED_TIER1, BC_SERVED_TIER1, BC_SERVED_TIER1, -1)


@jit_inline
def _refill(row, t, ptok, plast, pparts):
    """Prefix row `row`'s two buckets brought to t at its rates now."""
    dt = t - plast[row]
    if dt > 0.0:
        for k in range(2):
            tok = ptok[row, k] + RATES[k] * pparts[row] * dt
            top = RATES[k] * pparts[row] * BURST_S
            ptok[row, k] = tok if tok < top else top
        plast[row] = t


@jit_inline
def bucket_request(t, b, p, op, row, size, first_byte_us, transfer_us, ptok, plast, pparts, pslow, bper):
    """A request at t to bucket b's prefix row `row` (op, its body `size` bytes): served (True) or
    refused with 503 Slow Down; counted in period p (a served one with its latencies, µs)."""
    c = OP_CLASS[op]
    _refill(row, t, ptok, plast, pparts)
    bper[p, b, BC_REQUESTS] += 1
    bper[p, b, _OP_COUNTER[op]] += 1
    if ptok[row, c] < 1.0:
        bper[p, b, BC_SLOWDOWN] += 1
        pslow[row] += 1
        return False
    ptok[row, c] -= 1.0
    if _OP_TIER[op] >= 0:
        bper[p, b, _OP_TIER[op]] += 1
    bper[p, b, BC_FIRST_BYTE_US] += first_byte_us
    bper[p, b, BC_TOTAL_US] += first_byte_us + transfer_us
    if op == GET:
        bper[p, b, BC_BYTES_DOWN] += size
    elif op == PUT or op == POST:
        bper[p, b, BC_BYTES_UP] += size
    return True


@jit
def bucket_many(t, b, op, row, size, first_byte_us, transfer_us, period, ptok, plast, pparts, pslow, bper, ok):
    """`bucket_request` for arrays of requests in time order: ok[i] whether request i was served."""
    n = 0
    for i in range(t.shape[0]):
        ok[i] = bucket_request(t[i], b[i], period[i], op[i], row[i], size[i], first_byte_us[i], transfer_us[i],
                               ptok, plast, pparts, pslow, bper)
        if ok[i]:
            n += 1
    return n


@jit
def split(t, row, ptok, plast, pparts):
    """Prefix row `row` doubles its partitions at t (after every request before t): its buckets
    are refilled to t at the old rate, then keep their tokens under the new rate."""
    _refill(row, t, ptok, plast, pparts)
    pparts[row] *= 2


def bucket_arrays(prefixes, n_periods):
    """(ptok, plast, pparts, pslow, bper) for buckets with `prefixes[b]` prefixes each (rows in
    bucket order): every prefix one partition, its buckets full at 0."""
    rows = int(sum(prefixes))
    ptok = np.zeros((max(rows, 1), 2), np.float64)
    ptok[:, READ] = READ_RATE_PER_S * BURST_S
    ptok[:, WRITE] = WRITE_RATE_PER_S * BURST_S
    return (ptok, np.zeros(max(rows, 1), np.float64), np.ones(max(rows, 1), np.int64),
            np.zeros(max(rows, 1), np.int64), np.zeros((max(n_periods, 1), max(len(prefixes), 1), N_BC), np.int64))
