"""Packet filters over arrays: network ACLs (the first matching rule decides) and security groups
(any matching rule allows), by a branch-free linear scan for a few dozen rules and by
cross-product tables for hundreds to thousands.

Packets. IPv4 and IPv6 are filtered apart, never mixed in one call, since a rule of one family
never matches the other (AWS: "IPv4 and IPv6 traffic are separate"): an IPv4 address is a
uint32, an IPv6 address two uint64 halves (hi, lo) — the family flag is which kernel runs. The
address a rule's CIDR is matched against is the remote side's: the source for inbound traffic,
the destination for outbound. Protocol and port fold into one uint32 `pk = protocol << 16 | key`
(`l4_keys`): `key` is the destination port for TCP (6) and UDP (17), `type << 8 | code` for ICMP
(1) and ICMPv6 (58), and 0 for any other protocol. `l4_keys` also checks each column's range in
the same pass; `first_match_v4` and `classify_v4` can instead take the columns themselves
(`columns`: protocol, src_port, dst_port, icmp_type, icmp_code) and do that work chunk by chunk
as they scan, so that pk never goes to memory (a 20-rule ACL on uint8/uint16 columns: 1.2x the
time on pk, against 1.45x for `l4_keys` then the scan).

Rules. A rule is a CIDR (`net`, `mask`) and one interval `[lo, lo + span]` of pk (`rule_ranges`):
protocol -1 (all) covers every pk; TCP/UDP ports [from, to] is [p<<16|from, p<<16|to]; an ICMP
type t with code -1 (all) is [p<<16|t<<8, p<<16|t<<8|255], type -1 every key of p; a protocol
without ports all of its keys. A packet matches a rule when `addr & mask == net` and
`uint32(pk - lo) <= span` (one unsigned compare checks both ends).

Verdicts. `first_match_*` and `classify_*` write, per packet, `val[r]` of the lowest-index rule r
that matches, else `default`: with the rules in rule-number order and `val` their actions
(1 allow, 0 deny) that is a network ACL with its final implicit deny; with `val` all ones, a
security group (any rule allows); with `val = arange(R)` and `default = NO_RULE`, the index
of the deciding rule.

Linear scan (`first_match_*`). Packets go in chunks of CHUNK (contiguous 0-based slices, so the
inner loops vectorise); over a chunk the rules are applied last first, BLOCK at a time, each
rule a select `x = val[r] if hit else x`, so after rule 0 `x` holds the first match. Loading
and storing the chunk's running result once per block rather than per rule more than doubled
the rate (20 rules: about 420 M packets/s on one core).

Cross-product tables (`classify_*`, after Gupta and McKeown's recursive flow classification).
Each dimension — the address, the pk — is cut into elementary intervals by the rules'
boundaries (`kernels.routing`); intervals covered by the same set of rules form one class.
A table of classes (address class x pk class) holds the first rule matching both, worked out
once from the classes' rule bit sets. A packet then costs two interval lookups (three loads
each, no branch) and one table read, whatever the rule count; the table's size, not the
rules, is the limit (CROSS_MAX_CELLS; beyond it `TableTooLarge` and the linear scan).
Measured on 1,000 rules: 11-16x the linear scan for rules with the structure of real lists
(hosts and subnets in a few networks, service ports), about 5x for rules drawn uniformly at
random (tests/bench/test_bench_firewall.py); the two break even near 60 rules.
"""

import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from numba import types
from numba.extending import overload

from kernels import JIT_OPTIONS, jit, jit_inline
from kernels.routing import index_v4, index_v6, locate, locate128, narrow, spans

PROTO_ALL = -1
ICMP, TCP, UDP, ICMPV6 = 1, 6, 17, 58  # IANA protocol numbers (scenarios.vpc_check.PROTOCOLS names them)
PORT_PROTOCOLS, ICMP_PROTOCOLS = (TCP, UDP), (ICMP, ICMPV6)
PK_BITS = 24  # protocol (8 bits) and key (16 bits)
PK_MAX = (1 << PK_BITS) - 1
NO_RULE = -1
CHUNK = 1024  # packets per chunk of the linear scan: its arrays stay in L1
BLOCK = 4  # rules applied per pass over a chunk
LINEAR_MAX_RULES = 64  # above this many rules the cross-product table wins (tests/bench/test_bench_firewall.py)
CROSS_MAX_CELLS = 1 << 24  # largest cross-product table (int16: 32 MB)


class TableTooLarge(ValueError):
    """The rules have too many classes for a cross-product table; scan them linearly instead."""


# Bits of `l4_keys`' result: a column holding a value out of its range, and any TCP/UDP packet.
BAD_SRC_IP, BAD_DST_IP, BAD_PROTOCOL, BAD_SRC_PORT, BAD_DST_PORT, BAD_ICMP_TYPE, BAD_ICMP_CODE, ANY_PORTS = (
    1, 2, 4, 8, 16, 32, 64, 128)
ADDRESS_MAX, PROTOCOL_MAX, PORT_MAX, ICMP_MAX = 0xFFFFFFFF, 255, 65535, 255  # ranges checked, from 0


@jit_inline
def _out_of_range(col, k, hi):
    """1 when col[k] is outside 0..hi (0 for an absent column)."""
    if col is None:
        return np.uint8(0)
    v = col[k]
    return np.uint8((v < 0) | (v > hi))


@jit_inline
def _field(col, k, hi):
    """col[k] as a uint32 of at most hi's bits (hi is 2**b - 1); 0 for an absent column."""
    if col is None:
        return np.uint32(0)
    return np.uint32(col[k]) & np.uint32(hi)


@jit_inline
def _address(col, k, out):
    """out[k] = col[k] as a uint32; 1 when it is outside 0..ADDRESS_MAX (nothing for an absent column)."""
    if col is None:
        return np.uint8(0)
    v = col[k]
    out[k] = np.uint32(v)
    return np.uint8((v < 0) | (v > ADDRESS_MAX))


@jit_inline
def _read_rows(src_ip, dst_ip, protocol, src_port, dst_port, icmp_type, icmp_code, src_v4, dst_v4, start, stop, pk):
    """`l4_keys` on rows start..stop: pk[k - start] is row k's key."""
    b_src = b_dst = b_proto = b_sport = b_dport = b_type = b_code = ports = np.uint8(0)
    for j in range(stop - start):  # helpers, not branches here: this way the loop vectorises (5x on uint8 columns)
        k = np.uint64(start + j)  # unsigned, else the index's wrap-around below 0 stops the vectoriser
        b_src |= _address(src_ip, k, src_v4)
        b_dst |= _address(dst_ip, k, dst_v4)
        b_proto |= _out_of_range(protocol, k, PROTOCOL_MAX)
        b_sport |= _out_of_range(src_port, k, PORT_MAX)
        b_dport |= _out_of_range(dst_port, k, PORT_MAX)
        b_type |= _out_of_range(icmp_type, k, ICMP_MAX)
        b_code |= _out_of_range(icmp_code, k, ICMP_MAX)
        p = _field(protocol, k, PROTOCOL_MAX)
        port = _field(dst_port, k, PORT_MAX)
        icmp = (_field(icmp_type, k, ICMP_MAX) << 8) | _field(icmp_code, k, ICMP_MAX)
        is_port = (p == TCP) | (p == UDP)
        ports |= np.uint8(is_port)
        key = port if is_port else (icmp if (p == ICMP) | (p == ICMPV6) else np.uint32(0))
        pk[j] = (p << 16) | key
    bits = 0
    bits |= BAD_SRC_IP if b_src else 0
    bits |= BAD_DST_IP if b_dst else 0
    bits |= BAD_PROTOCOL if b_proto else 0
    bits |= BAD_SRC_PORT if b_sport else 0
    bits |= BAD_DST_PORT if b_dport else 0
    bits |= BAD_ICMP_TYPE if b_type else 0
    bits |= BAD_ICMP_CODE if b_code else 0
    bits |= ANY_PORTS if ports else 0
    return bits


@jit
def l4_keys(src_ip, dst_ip, protocol, src_port, dst_port, icmp_type, icmp_code, src_v4, dst_v4, pk):
    """One pass over a batch's integer columns: pk[k] = protocol << 16 | key of packet k (module
    doc), each column checked against its range, integer addresses converted to uint32.

    Returns the BAD_* bits of the columns holding a value out of range (addresses 0..ADDRESS_MAX,
    protocol 0..PROTOCOL_MAX, ports 0..PORT_MAX, ICMP type and code 0..ICMP_MAX; pk and the
    addresses are then meaningless), plus ANY_PORTS when some packet is TCP or UDP. Any column
    may be None: an address column that is uint32 already (nothing to check or convert; its
    `*_v4` is None too), an absent port or ICMP column (read as 0), an unreadable protocol
    column (read as 0; the caller reports it). Columns of any integer dtype are read as they
    are: the range checks are written against constants, so for a dtype that cannot hold a bad
    value (uint8 protocol, uint16 ports) the compiler drops them, and the column's load if
    nothing else reads it.
    """
    return _read_rows(src_ip, dst_ip, protocol, src_port, dst_port, icmp_type, icmp_code, src_v4, dst_v4, 0,
                      pk.shape[0], pk)


@jit
def dotted_quads(codes, out, ok):
    """Parse IPv4 dotted quads given as code points (uint32, one row per address, zero-padded, as a
    numpy unicode array viewed as uint32): out[k] the address, ok[k] 1 when row k is a dotted
    quad (four decimal octets 0-255 without leading zeros, as `ipaddress` reads them), else 0."""
    for k in range(codes.shape[0]):
        value, octet, digits, dots, good = 0, 0, 0, 0, True
        first = 0
        for j in range(codes.shape[1]):
            c = codes[k, j]
            if c == 0:
                break
            if c == 46:  # "."
                good = good and digits > 0 and dots < 3
                value, octet, digits, dots = (value << 8) | octet, 0, 0, dots + 1
            elif 48 <= c <= 57:
                if digits == 0:
                    first = c
                octet = octet * 10 + (c - 48)
                digits += 1
                good = good and digits <= 3 and octet <= 255 and not (digits > 1 and first == 48)
            else:
                good = False
        good = good and dots == 3 and digits > 0
        out[k] = np.uint32((value << 8) | octet) if good else np.uint32(0)
        ok[k] = 1 if good else 0


def rule_ranges(protocol, port_from, port_to, icmp_type, icmp_code):
    """The pk interval (lo, hi) of each rule, uint32; -1 means all for protocol, ICMP type and code."""
    proto = np.asarray(protocol, np.int64)
    frm, to = np.asarray(port_from, np.int64), np.asarray(port_to, np.int64)
    typ, code = np.asarray(icmp_type, np.int64), np.asarray(icmp_code, np.int64)
    base = np.maximum(proto, 0) << 16
    lo, hi = base.copy(), base | 0xFFFF
    ports = (proto == TCP) | (proto == UDP)
    lo[ports], hi[ports] = base[ports] | frm[ports], base[ports] | to[ports]
    icmp = ((proto == ICMP) | (proto == ICMPV6)) & (typ >= 0)
    lo[icmp] = base[icmp] | (typ[icmp] << 8) | np.maximum(code[icmp], 0)
    hi[icmp] = base[icmp] | (typ[icmp] << 8) | np.where(code[icmp] >= 0, code[icmp], 0xFF)
    everything = proto == PROTO_ALL
    lo[everything], hi[everything] = 0, PK_MAX
    return lo.astype(np.uint32), hi.astype(np.uint32)


def masks_v4(prefix_len):
    """Netmasks (uint32) of IPv4 prefix lengths 0..32."""
    p = np.asarray(prefix_len, np.int64)
    return ((0xFFFFFFFF << (32 - p)) & 0xFFFFFFFF).astype(np.uint32)


def masks_v6(prefix_len):
    """Netmasks (hi, lo uint64) of IPv6 prefix lengths 0..128."""
    m = [((1 << 128) - 1) ^ ((1 << (128 - int(p))) - 1) for p in prefix_len]
    return np.array([x >> 64 for x in m], np.uint64), np.array([x & (2**64 - 1) for x in m], np.uint64)


# ---- linear scan ---------------------------------------------------------------------------

def _chunk_keys(pk, columns, c0, m, buf):
    """The pk of packets c0..c0+m — a slice of `pk`, or, when `pk` is None, read from `columns`
    (module doc) into `buf` — and the `l4_keys` bits of those rows (0 for a slice of `pk`)."""
    if pk is not None:
        return pk[c0:c0 + m], 0
    return buf[:m], _read_rows(None, None, *columns, None, None, c0, c0 + m, buf)


@overload(_chunk_keys, jit_options={"forceinline": True, **{k: v for k, v in JIT_OPTIONS.items() if k != "cache"}})
def _chunk_keys_typed(pk, columns, c0, m, buf):
    """`_chunk_keys` for numba, one version per case, chosen by type: numba prunes a branch on
    `x is None` only where x is None, so one body with both branches would not type. (With
    numba's runtime, unlike `jit_inline` helpers: it returns an array.)"""
    if isinstance(pk, types.NoneType):
        def read(pk, columns, c0, m, buf):
            bits = _read_rows(None, None, columns[0], columns[1], columns[2], columns[3], columns[4], None, None, c0,
                              c0 + m, buf)
            return buf[:m], bits
        return read

    def take(pk, columns, c0, m, buf):
        return pk[c0:c0 + m], 0
    return take


@jit
def first_match_v4(addr, pk, net, mask, lo, span, val, default, out, columns=None):
    """out[k] = val[r] of the first rule r matching IPv4 packet k (addr, pk), else default.

    With `columns` (protocol, src_port, dst_port, icmp_type, icmp_code; each an integer array or
    None, as `l4_keys` takes them) the pk of each chunk is read from them as it is scanned (`pk`
    is not read, and may be None), and the result is `l4_keys`' bits for the whole batch (else 0).
    """
    n = addr.shape[0]
    buf = np.empty(CHUNK, np.int32)
    keys = np.empty(CHUNK, np.uint32)
    bits = 0
    for c0 in range(0, n, CHUNK):
        m = min(CHUNK, n - c0)
        p, chunk_bits = _chunk_keys(pk, columns, c0, m, keys)
        bits |= chunk_bits
        a, x, o = addr[c0:c0 + m], buf[:m], out[c0:c0 + m]
        for k in range(m):
            x[k] = default
        nr = net.shape[0]
        top = nr - nr % BLOCK
        for r in range(nr - 1, top - 1, -1):  # the rules after the last whole block, singly
            n0, m0, l0, s0, v0 = net[r], mask[r], lo[r], span[r], np.int32(val[r])
            for k in range(m):
                x[k] = v0 if ((a[k] & m0) == n0) & (np.uint32(p[k] - l0) <= s0) else x[k]
        for g in range(top - BLOCK, -1, -BLOCK):
            n0, m0, l0, s0, v0 = net[g], mask[g], lo[g], span[g], np.int32(val[g])
            n1, m1, l1, s1, v1 = net[g + 1], mask[g + 1], lo[g + 1], span[g + 1], np.int32(val[g + 1])
            n2, m2, l2, s2, v2 = net[g + 2], mask[g + 2], lo[g + 2], span[g + 2], np.int32(val[g + 2])
            n3, m3, l3, s3, v3 = net[g + 3], mask[g + 3], lo[g + 3], span[g + 3], np.int32(val[g + 3])
            for k in range(m):
                ak, pk_, y = a[k], p[k], x[k]
                y = v3 if ((ak & m3) == n3) & (np.uint32(pk_ - l3) <= s3) else y
                y = v2 if ((ak & m2) == n2) & (np.uint32(pk_ - l2) <= s2) else y
                y = v1 if ((ak & m1) == n1) & (np.uint32(pk_ - l1) <= s1) else y
                y = v0 if ((ak & m0) == n0) & (np.uint32(pk_ - l0) <= s0) else y
                x[k] = y
        for k in range(m):
            o[k] = x[k]
    return bits


@jit_inline
def _hit_v6(ah, al, pk, nh, nl, mh, ml, lo, span):
    return ((ah & mh) == nh) & ((al & ml) == nl) & (np.uint32(pk - lo) <= span)


@jit
def first_match_v6(addr_hi, addr_lo, pk, net_hi, net_lo, mask_hi, mask_lo, lo, span, val, default, out):
    """out[k] = val[r] of the first rule r matching IPv6 packet k (addr_hi, addr_lo, pk), else default."""
    n = addr_hi.shape[0]
    buf = np.empty(CHUNK, np.int32)
    for c0 in range(0, n, CHUNK):
        m = min(CHUNK, n - c0)
        ah, al, p, x, o = addr_hi[c0:c0 + m], addr_lo[c0:c0 + m], pk[c0:c0 + m], buf[:m], out[c0:c0 + m]
        for k in range(m):
            x[k] = default
        nr = net_hi.shape[0]
        top = nr - nr % BLOCK
        for r in range(nr - 1, top - 1, -1):
            h0, e0, i0, j0, l0, s0, v0 = net_hi[r], net_lo[r], mask_hi[r], mask_lo[r], lo[r], span[r], np.int32(val[r])
            for k in range(m):
                x[k] = v0 if _hit_v6(ah[k], al[k], p[k], h0, e0, i0, j0, l0, s0) else x[k]
        for g in range(top - BLOCK, -1, -BLOCK):
            h0, e0, i0, j0, l0, s0 = net_hi[g], net_lo[g], mask_hi[g], mask_lo[g], lo[g], span[g]
            h1, e1, i1, j1, l1, s1 = net_hi[g + 1], net_lo[g + 1], mask_hi[g + 1], mask_lo[g + 1], lo[g + 1], span[g + 1]
            h2, e2, i2, j2, l2, s2 = net_hi[g + 2], net_lo[g + 2], mask_hi[g + 2], mask_lo[g + 2], lo[g + 2], span[g + 2]
            h3, e3, i3, j3, l3, s3 = net_hi[g + 3], net_lo[g + 3], mask_hi[g + 3], mask_lo[g + 3], lo[g + 3], span[g + 3]
            v0, v1, v2, v3 = np.int32(val[g]), np.int32(val[g + 1]), np.int32(val[g + 2]), np.int32(val[g + 3])
            for k in range(m):
                hk, lk, pk_, y = ah[k], al[k], p[k], x[k]
                y = v3 if _hit_v6(hk, lk, pk_, h3, e3, i3, j3, l3, s3) else y
                y = v2 if _hit_v6(hk, lk, pk_, h2, e2, i2, j2, l2, s2) else y
                y = v1 if _hit_v6(hk, lk, pk_, h1, e1, i1, j1, l1, s1) else y
                y = v0 if _hit_v6(hk, lk, pk_, h0, e0, i0, j0, l0, s0) else y
                x[k] = y
        for k in range(m):
            o[k] = x[k]


# ---- equivalence classes and the cross-product table ----------------------------------------

def _bitsets(bounds, starts, ends):
    """Per elementary interval, the bit set (uint64 words) of the intervals [start, end) covering it."""
    n_rules = len(starts)
    bits = np.zeros((len(bounds), max(1, (n_rules + 63) // 64)), np.uint64)
    i0, i1 = spans(bounds, starts, ends)
    for r in range(n_rules):
        bits[i0[r]:i1[r], r >> 6] |= np.uint64(1) << np.uint64(r & 63)
    return bits


def _classes(bounds, starts, ends):
    """Each elementary interval's class (intervals covered by the same rules share one) and each
    class's bit set of rules."""
    class_bits, cls = np.unique(_bitsets(bounds, starts, ends), axis=0, return_inverse=True)
    return cls.reshape(-1).astype(np.int32), class_bits


@jit
def _cross(a_bits, p_bits, none, out):
    """out[i, j] = lowest rule set in both a_bits[i] and p_bits[j], else `none`."""
    for i in range(a_bits.shape[0]):
        for j in range(p_bits.shape[0]):
            r = none
            for w in range(a_bits.shape[1]):
                b = a_bits[i, w] & p_bits[j, w]
                if b != 0:
                    r = w * 64 + trailing_zeros(b)
                    break
            out[i, j] = r


def _finish(a_index, a_bits, p_index, p_bits, n_rules):
    """Check the table size and build the cross-product table."""
    cells = a_bits.shape[0] * p_bits.shape[0]
    if cells > CROSS_MAX_CELLS:
        raise TableTooLarge(f"{a_bits.shape[0]} address classes x {p_bits.shape[0]} protocol/port classes "
                            f"= {cells} cells, over {CROSS_MAX_CELLS}: use the linear scan")
    cross = np.empty((a_bits.shape[0], p_bits.shape[0]), np.int16 if n_rules < 2**15 else np.int32)
    _cross(a_bits, p_bits, n_rules, cross)
    return a_index, p_index, cross


def _pk_index(lo, span):
    starts = np.asarray(lo, np.int64)
    ends = starts + np.asarray(span, np.int64) + 1
    (t1, t2, t3), b = index_v4(starts, ends, PK_BITS)
    cls, bits = _classes(b, starts, ends)
    return (t1, t2, narrow(cls[t3])), bits


def cross_index_v4(net, mask, lo, span):
    """Tables of IPv4 rules for `classify_v4`: (address index, pk index, cross-product table)."""
    starts = np.asarray(net, np.int64)
    ends = starts + (~np.asarray(mask, np.uint32)).astype(np.int64) + 1
    (t1, t2, t3), b = index_v4(starts, ends, 32)
    cls, a_bits = _classes(b, starts, ends)
    p_index, p_bits = _pk_index(lo, span)
    return _finish((t1, t2, narrow(cls[t3])), a_bits, p_index, p_bits, len(starts))


def cross_index_v6(net_hi, net_lo, mask_hi, mask_lo, lo, span):
    """Tables of IPv6 rules for `classify_v6`: (address index, pk index, cross-product table)."""
    starts = [(int(h) << 64) | int(e) for h, e in zip(net_hi, net_lo)]
    sizes = [(((1 << 128) - 1) ^ ((int(h) << 64) | int(e))) + 1 for h, e in zip(mask_hi, mask_lo)]
    ends = [s + z for s, z in zip(starts, sizes)]
    (b_hi, b_lo, bucket), b = index_v6(starts, ends)
    cls, a_bits = _classes(b, starts, ends)
    p_index, p_bits = _pk_index(lo, span)
    return _finish((b_hi, b_lo, bucket, cls), a_bits, p_index, p_bits, len(starts))


@jit
def classify_v4(addr, pk, a_index, p_index, cross, val_none, out, columns=None):
    """`first_match_v4` through the tables of `cross_index_v4`; `val_none` is `val` with `default`
    appended (a packet no rule matches reads the last entry); `columns` as in `first_match_v4`."""
    a1, a2, a3 = a_index
    p1, p2, p3 = p_index
    n = addr.shape[0]
    ia = np.empty(CHUNK, np.int32)
    keys = np.empty(CHUNK, np.uint32)
    bits = 0
    for c0 in range(0, n, CHUNK):  # two loops a chunk: more independent loads in flight
        m = min(CHUNK, n - c0)
        p, chunk_bits = _chunk_keys(pk, columns, c0, m, keys)
        bits |= chunk_bits
        a, o = addr[c0:c0 + m], out[c0:c0 + m]
        for k in range(m):
            ia[k] = locate(a[k], a1, a2, a3)
        for k in range(m):
            o[k] = val_none[cross[ia[k], locate(p[k], p1, p2, p3)]]
    return bits


@jit
def classify_v6(addr_hi, addr_lo, pk, a_index, p_index, cross, val_none, out):
    """`first_match_v6` through the tables of `cross_index_v6` (`val_none` as in `classify_v4`)."""
    b_hi, b_lo, bucket, cls = a_index
    p1, p2, p3 = p_index
    n = addr_hi.shape[0]
    ia = np.empty(CHUNK, np.int32)
    for c0 in range(0, n, CHUNK):
        m = min(CHUNK, n - c0)
        ah, al, p, o = addr_hi[c0:c0 + m], addr_lo[c0:c0 + m], pk[c0:c0 + m], out[c0:c0 + m]
        for k in range(m):
            ia[k] = cls[locate128(ah[k], al[k], b_hi, b_lo, bucket)]
        for k in range(m):
            o[k] = val_none[cross[ia[k], locate(p[k], p1, p2, p3)]]
