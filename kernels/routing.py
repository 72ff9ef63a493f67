"""Address-space interval indexes: longest-prefix-match routing, and the interval lookup that
the large-rule packet classifier (`kernels.firewall`) shares.

A set of CIDR blocks (or any integer intervals) cuts the key space into elementary intervals:
between two consecutive boundaries every key is covered by the same blocks. An index maps a
key to the number of its elementary interval.

IPv4 addresses (uint32) and the firewall's 24-bit protocol/port keys use a three-level table
(a multibit trie with strides 16, 8, 8 bits from the top for addresses, 8, 8, 8 for 24-bit
keys): `t1[x >> 16]`, then a 256-entry block of `t2` for bits 15..8, then one of `t3` for
bits 7..0. A /16 (or /24) with no boundary inside needs no block of its own: its entry points
at a single shared cell and the step adds no offset. Entries of t1 and t2 are `base << 1 | 1`
(a block) or `base << 1` (a cell), so every lookup is the same three loads with no branch to
mispredict (a binary search here ran 3-4x slower), and the lookups of consecutive keys overlap.

IPv6 addresses, two uint64 halves (hi, lo), use the sorted boundaries and a bucket table on the
top 16 bits of `hi` that narrows a binary search (`locate128`). The families are never mixed in
one index: a VPC route table's IPv4 and IPv6 routes are separate tables.

Longest prefix match: painting the routes shortest prefix first gives each elementary interval
the target of the longest prefix covering it, since CIDR blocks either nest or are disjoint.
Lookups return a target index, NO_ROUTE (-1) where no route covers the address.
"""

from bisect import bisect_left

import numpy as np

from kernels import jit, jit_inline

BUCKET_BITS = 16
NO_ROUTE = -1
_M64 = (1 << 64) - 1


def _boundaries(starts, ends, top):
    """Sorted distinct boundaries (Python ints) of intervals [start, end) in [0, top), 0 included."""
    return sorted({0, *(int(s) for s in starts), *(int(e) for e in ends if int(e) < top)})


def narrow(table):
    """The table as uint16 when its entries fit (half the cache it takes), else uint32."""
    return table.astype(np.uint16 if len(table) == 0 or table.max() < 2**16 else np.uint32)


def _entries(prefixes, split, cell):
    """One table entry per prefix: `block << 1 | 1` when the prefix is split (its block is the
    position in `split` times 256), else `cell << 1`."""
    pos = np.searchsorted(split, prefixes)
    real = np.zeros(len(prefixes), bool)
    if len(split):
        real = split[np.minimum(pos, len(split) - 1)] == prefixes
    return np.where(real, (pos * 256) << 1 | 1, cell << 1)


def _trie(bounds, bits):
    """The three tables (uint16 or uint32) mapping a `bits`-bit key (17..32 bits) to its interval."""
    b = np.asarray(bounds, np.int64)
    byte = np.arange(256, dtype=np.int64)

    def interval(x):
        return np.searchsorted(b, x, side="right") - 1

    split24 = np.unique(b[(b & 0xFF) != 0] >> 8)  # prefixes of all but the last 8 bits, split inside
    split16 = np.unique(b[(b & 0xFFFF) != 0] >> 16)
    cells = np.arange(len(b))  # each level ends with one shared cell per interval
    t3 = np.concatenate([interval(((split24[:, None] << 8) + byte).ravel()), cells])
    c3 = len(split24) * 256 + cells
    q = ((split16[:, None] << 8) + byte).ravel()
    t2 = np.concatenate([_entries(q, split24, c3[interval(q << 8)]), c3 << 1])
    c2 = len(split16) * 256 + cells
    top = np.arange(1 << (bits - 16), dtype=np.int64)
    t1 = _entries(top, split16, c2[interval(top << 16)])
    return narrow(t1), narrow(t2), narrow(t3)


def _bucket_v6(b_hi, b_lo):
    """bucket[t]: index of the interval holding (t << 48, 0) in (hi, lo) order, for t in 0..65536."""
    blocks = np.arange(2**BUCKET_BITS + 1, dtype=np.uint64) << np.uint64(64 - BUCKET_BITS)
    left = np.searchsorted(b_hi, blocks, side="left")  # bounds with hi < block (the last wraps to 0)
    at = np.minimum(left, len(b_hi) - 1)
    equal = (left < len(b_hi)) & (b_hi[at] == blocks) & (b_lo[at] == 0)
    idx = np.where(np.arange(len(blocks)) == 2**BUCKET_BITS, len(b_hi) - 1, left + equal - 1)
    return np.minimum(idx, len(b_hi) - 1).astype(np.int32)


def index_v4(starts, ends, bits=32):
    """Index of the intervals [starts[i], ends[i]) of a `bits`-bit space (17 <= bits <= 32).

    Returns the tables `(t1, t2, t3)` for `locate` and the boundaries as Python ints.
    """
    b = _boundaries(starts, ends, 1 << bits)
    return _trie(b, bits), b


def index_v6(starts, ends):
    """Index of the intervals [starts[i], ends[i]) (Python ints) of the IPv6 space.

    Returns `(bounds_hi uint64, bounds_lo uint64, bucket int32[65537])` and the boundaries.
    """
    b = _boundaries(starts, ends, 1 << 128)
    hi = np.array([x >> 64 for x in b], np.uint64)
    lo = np.array([x & _M64 for x in b], np.uint64)
    return (hi, lo, _bucket_v6(hi, lo)), b


def spans(bounds, starts, ends):
    """For each interval [start, end), the range [i0, i1) of elementary intervals it covers."""
    i0 = np.array([bisect_left(bounds, int(s)) for s in starts], np.int64)
    i1 = np.array([bisect_left(bounds, int(e)) for e in ends], np.int64)
    return i0, i1


@jit_inline
def locate(x, t1, t2, t3):
    """Number of the elementary interval holding key x (uint32), through the tables of `index_v4`."""
    e = t1[x >> 16]
    e = t2[(e >> 1) + ((x >> 8) & 255) * (e & 1)]  # LLVM makes these products conditional moves
    return t3[(e >> 1) + (x & 255) * (e & 1)]


@jit_inline
def locate128(x_hi, x_lo, b_hi, b_lo, bucket):
    """Number of the elementary interval holding the 128-bit key (x_hi, x_lo): a binary search
    between the bucket's bounds."""
    t = x_hi >> np.uint64(64 - BUCKET_BITS)
    lo = bucket[t]
    hi = bucket[t + 1]
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if b_hi[mid] < x_hi or (b_hi[mid] == x_hi and b_lo[mid] <= x_lo):
            lo = mid
        else:
            hi = mid - 1
    return lo


# ---- longest prefix match ---------------------------------------------------------------

def _paint(bounds, starts, ends, plen, target):
    """Per elementary interval, the target of the longest prefix covering it (NO_ROUTE if none)."""
    result = np.full(len(bounds), NO_ROUTE, np.int32)
    i0, i1 = spans(bounds, starts, ends)
    for r in np.argsort(plen, kind="stable"):  # shortest first: longer prefixes overwrite
        result[i0[r]:i1[r]] = target[r]
    return result


def build_lpm_v4(net, plen, target):
    """An IPv4 LPM table from routes (net uint32, prefix length, target index >= 0).

    Returns `(t1, t2, t3, result)` for `lpm_v4`; host bits of `net` are ignored.
    """
    plen = np.asarray(plen, np.int64)
    size = [1 << (32 - int(p)) for p in plen]
    starts = [int(n) & ~(s - 1) for n, s in zip(np.asarray(net, np.uint64), size)]
    ends = [s + z for s, z in zip(starts, size)]
    tables, b = index_v4(starts, ends, 32)
    return tables + (_paint(b, starts, ends, plen, np.asarray(target, np.int32)),)


def build_lpm_v6(net, plen, target):
    """An IPv6 LPM table from routes (net as Python ints, prefix length, target index >= 0).

    Returns `(bounds_hi, bounds_lo, bucket, result)` for `lpm_v6`.
    """
    plen = np.asarray(plen, np.int64)
    size = [1 << (128 - int(p)) for p in plen]
    starts = [int(n) & ~(s - 1) for n, s in zip(net, size)]
    ends = [s + z for s, z in zip(starts, size)]
    (b_hi, b_lo, bucket), b = index_v6(starts, ends)
    return b_hi, b_lo, bucket, _paint(b, starts, ends, plen, np.asarray(target, np.int32))


@jit
def lpm_v4(addr, t1, t2, t3, result, out):
    """out[k] = target index of the longest prefix covering IPv4 addr[k] (uint32), or NO_ROUTE."""
    for k in range(addr.shape[0]):
        out[k] = result[locate(addr[k], t1, t2, t3)]


@jit
def lpm_v6(addr_hi, addr_lo, b_hi, b_lo, bucket, result, out):
    """out[k] = target index of the longest prefix covering IPv6 (addr_hi, addr_lo)[k], or NO_ROUTE."""
    for k in range(addr_hi.shape[0]):
        out[k] = result[locate128(addr_hi[k], addr_lo[k], b_hi, b_lo, bucket)]
