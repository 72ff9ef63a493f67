"""Packet-filter kernels against their `ipaddress` twins: random rules and packets, with the edges
(/0, /32, ::/0, /128, ports 0 and 65535, protocol -1, ICMP type/code -1) drawn on purpose."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.firewall import (ANY_PORTS, BAD_DST_IP, BAD_DST_PORT, BAD_ICMP_CODE, BAD_ICMP_TYPE, BAD_PROTOCOL,
                              BAD_SRC_IP, BAD_SRC_PORT, CHUNK, NO_RULE, PK_MAX, classify_v4, classify_v6,
                              cross_index_v4, cross_index_v6, dotted_quads, first_match_v4, first_match_v6, l4_keys,
                              masks_v4, masks_v6, rule_ranges)
from kernels.ref.firewall import RefPacket, RefRule, dotted_quad_ref, first_match_ref, l4_keys_ref

PROTOCOLS = [-1, 6, 17, 1, 58, 47]
M64 = (1 << 64) - 1


# ---- encoding the twin's rules and packets for the kernels --------------------------------

def encode(rules, version):
    """Kernel arrays of the rules of one family, and their indices in `rules`."""
    idx = [i for i, r in enumerate(rules) if r.network.version == version]
    sel = [rules[i] for i in idx]
    lo, hi = rule_ranges([r.protocol for r in sel], [r.port_from for r in sel], [r.port_to for r in sel],
                         [r.icmp_type for r in sel], [r.icmp_code if r.icmp_type >= 0 else -1 for r in sel])
    span = (hi - lo).astype(np.uint32)
    plen = [r.network.prefixlen for r in sel]
    nets = [int(r.network.network_address) for r in sel]
    if version == 4:
        arrays = (np.array(nets, np.uint32), masks_v4(plen), lo, span)
    else:
        mh, ml = masks_v6(plen)
        arrays = (np.array([x >> 64 for x in nets], np.uint64), np.array([x & M64 for x in nets], np.uint64), mh, ml,
                  lo, span)
    return arrays, np.array(idx, np.int32)


def packet_arrays(packets, version):
    sel = [p for p in packets if p.remote.version == version]
    proto = np.array([p.protocol for p in sel], np.int64)
    pk = np.empty(len(sel), np.uint32)
    l4_keys(None, None, proto, None, np.array([p.dst_port for p in sel], np.int64),
            np.array([p.icmp_type for p in sel], np.int64), np.array([p.icmp_code for p in sel], np.int64),
            None, None, pk)
    ints = [int(p.remote) for p in sel]
    addr = (np.array(ints, np.uint32),) if version == 4 else (
        np.array([x >> 64 for x in ints], np.uint64), np.array([x & M64 for x in ints], np.uint64))
    return sel, addr, pk


def run_kernels(rules, packets, version):
    """(twin, linear kernel, cross-product kernel) first-rule indices for the packets of one family."""
    arrays, idx = encode(rules, version)
    sel, addr, pk = packet_arrays(packets, version)
    want = [first_match_ref(rules, range(len(rules)), NO_RULE, p) for p in sel]
    linear = np.empty(len(sel), np.int32)
    (first_match_v4 if version == 4 else first_match_v6)(*addr, pk, *arrays, idx, NO_RULE, linear)
    cross = np.empty(len(sel), np.int32)
    tables = (cross_index_v4 if version == 4 else cross_index_v6)(*arrays)
    (classify_v4 if version == 4 else classify_v6)(*addr, pk, *tables, np.append(idx, NO_RULE).astype(np.int32), cross)
    if version == 4:  # and reading the columns instead of pk: the same first rules, and l4_keys' bits
        columns = (np.array([p.protocol for p in sel], np.uint8), None, np.array([p.dst_port for p in sel], np.int32),
                   np.array([p.icmp_type for p in sel], np.int16), np.array([p.icmp_code for p in sel], np.uint8))
        bits = l4_keys(None, None, *columns, None, None, np.empty(len(sel), np.uint32))
        for kernel, args in ((first_match_v4, (*arrays, idx, NO_RULE)),
                             (classify_v4, (*tables, np.append(idx, NO_RULE).astype(np.int32)))):
            got = np.empty(len(sel), np.int32)
            assert kernel(*addr, None, *args, got, columns) == bits
            assert got.tolist() == want
    return want, linear.tolist(), cross.tolist()


# ---- strategies ------------------------------------------------------------------------------

def prefix(version):
    bits = 32 if version == 4 else 128
    return st.one_of(st.sampled_from([0, bits, bits - 1, 1, 8, 16, 24, 64 if version == 6 else 28]),
                     st.integers(0, bits))


ports = st.one_of(st.sampled_from([0, 1, 22, 80, 443, 1023, 1024, 32768, 61000, 65534, 65535]),
                  st.integers(0, 65535))
icmp = st.one_of(st.just(-1), st.sampled_from([0, 3, 4, 8, 11, 128, 129, 255]), st.integers(0, 255))


@st.composite
def rule(draw, version):
    bits = 32 if version == 4 else 128
    plen = draw(prefix(version))
    addr = draw(st.integers(0, 2**bits - 1))
    net = (ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network)((addr, plen), strict=False)
    a, b = sorted((draw(ports), draw(ports)))
    return RefRule(net, draw(st.sampled_from(PROTOCOLS)), a, b, draw(icmp), draw(icmp))


@st.composite
def packet_near(draw, rules, version):
    """A packet inside a rule's block (at its edges or anywhere) and near its ports, or anywhere."""
    bits = 32 if version == 4 else 128
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    same = [r for r in rules if r.network.version == version]
    if same and draw(st.booleans()):
        r = draw(st.sampled_from(same))
        lo, hi = int(r.network.network_address), int(r.network.broadcast_address)
        addr = draw(st.one_of(st.sampled_from([lo, hi]), st.integers(lo, hi)))
        proto = draw(st.sampled_from([r.protocol if r.protocol >= 0 else 6] + PROTOCOLS[1:]))
        port = draw(st.one_of(st.sampled_from([r.port_from, r.port_to, max(r.port_from - 1, 0),
                                               min(r.port_to + 1, 65535)]), ports))
        typ = draw(st.sampled_from([max(r.icmp_type, 0), 0, 8, 255]))
        code = draw(st.sampled_from([max(r.icmp_code, 0), 0, 4, 255]))
    else:
        addr = draw(st.one_of(st.sampled_from([0, 2**bits - 1]), st.integers(0, 2**bits - 1)))
        proto = draw(st.integers(0, 255) | st.sampled_from(PROTOCOLS[1:]))
        port, typ, code = draw(ports), draw(st.integers(0, 255)), draw(st.integers(0, 255))
    return RefPacket(cls(addr), proto, port, typ, code)


@st.composite
def case(draw, max_rules=24):
    rules = draw(st.lists(st.one_of(rule(4), rule(6)), max_size=max_rules))
    packets = draw(st.lists(st.one_of(packet_near(rules, 4), packet_near(rules, 6)), max_size=60))
    return rules, packets


# ---- tests -----------------------------------------------------------------------------------

def test_keys_and_ranges_at_the_edges():
    proto = np.array([6, 17, 1, 58, 47, 6, 17], np.int64)
    pk = np.empty(7, np.uint32)
    bits = l4_keys(None, None, proto, None, np.array([0, 65535, 9, 9, 9, 443, 53]), np.array([0, 0, 8, 128, 5, 0, 0]),
                   np.array([0, 0, 0, 4, 5, 0, 0]), None, None, pk)
    assert bits == ANY_PORTS
    assert pk.tolist() == [6 << 16, 17 << 16 | 65535, 1 << 16 | 8 << 8, 58 << 16 | 128 << 8 | 4, 47 << 16,
                           6 << 16 | 443, 17 << 16 | 53]
    lo, hi = rule_ranges([-1, 6, 17, 1, 1, 1, 58, 47], [0, 0, 53, 0, 0, 0, 0, 0], [0, 65535, 53, 0, 0, 0, 0, 0],
                         [-1, -1, -1, -1, 3, 3, 128, -1], [-1, -1, -1, -1, -1, 4, -1, -1])
    assert list(zip(lo.tolist(), hi.tolist())) == [
        (0, PK_MAX), (6 << 16, 6 << 16 | 65535), (17 << 16 | 53, 17 << 16 | 53), (1 << 16, 1 << 16 | 0xFFFF),
        (1 << 16 | 3 << 8, 1 << 16 | 3 << 8 | 255), (1 << 16 | 3 << 8 | 4, 1 << 16 | 3 << 8 | 4),
        (58 << 16 | 128 << 8, 58 << 16 | 128 << 8 | 255), (47 << 16, 47 << 16 | 0xFFFF)]


@settings(max_examples=300, deadline=None)
@given(case())
def test_first_match_matches_twin(c):
    rules, packets = c
    for version in (4, 6):
        want, linear, cross = run_kernels(rules, packets, version)
        assert linear == want
        assert cross == want


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(60, 260))
def test_large_rule_sets_match_twin(seed, n_rules):
    """Past 64 rules (several bit-set words), with overlapping blocks drawn from a few networks."""
    rng = np.random.default_rng(seed)
    bases = {4: [0x0A000000, 0xC0A80000, 0], 6: [0x20010DB8 << 96, 0x26001F18 << 96, 0]}
    rules = []
    for _ in range(n_rules):
        version = int(rng.choice([4, 6], p=[0.7, 0.3]))
        bits = 32 if version == 4 else 128
        plen = int(rng.choice([0, 8, 16, 24, 28, 32, 48, 64, 120, 128]) if version == 6
                   else rng.choice([0, 8, 16, 20, 24, 28, 30, 32]))
        base = int(rng.choice(bases[version][:2])) if plen >= 16 else int(rng.choice(bases[version]))
        host = base | int(rng.integers(0, 2**63)) % (1 << (bits - 16 if plen >= 16 else bits))
        net = (ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network)((host, plen), strict=False)
        proto = int(rng.choice(PROTOCOLS))
        a = int(rng.choice([0, 22, 80, 443, 1024, 32768, int(rng.integers(0, 65536))]))
        b = int(rng.choice([a, 65535, min(a + int(rng.integers(0, 2000)), 65535)]))
        rules.append(RefRule(net, proto, a, b, int(rng.integers(-1, 12)), int(rng.integers(-1, 5))))
    packets = []
    for _ in range(250):
        r = rules[int(rng.integers(len(rules)))]
        lo, hi = int(r.network.network_address), int(r.network.broadcast_address)
        addr = lo + int(rng.integers(0, 2**62)) % (hi - lo + 1)
        proto = r.protocol if r.protocol >= 0 and rng.random() < 0.8 else int(rng.choice(PROTOCOLS[1:]))
        port = int(rng.choice([r.port_from, r.port_to, int(rng.integers(0, 65536))]))
        packets.append(RefPacket(r.network.network_address.__class__(addr), proto, port,
                                 max(r.icmp_type, 0) if rng.random() < 0.7 else int(rng.integers(0, 256)),
                                 int(rng.integers(0, 5))))
    for version in (4, 6):
        want, linear, cross = run_kernels(rules, packets, version)
        assert linear == want
        assert cross == want


@pytest.mark.parametrize("n_packets", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7])
@pytest.mark.parametrize("n_rules", [0, 1, 3, 4, 5, 9])
def test_chunk_and_block_edges(n_packets, n_rules):
    rng = np.random.default_rng(n_packets * 31 + n_rules)
    plen = rng.integers(0, 33, n_rules)
    mask = masks_v4(plen)
    net = rng.integers(0, 2**32, n_rules, dtype=np.uint32) & mask
    lo, hi = rule_ranges(rng.choice([-1, 6, 17], n_rules), np.zeros(n_rules, int), rng.integers(0, 65536, n_rules),
                         np.full(n_rules, -1), np.full(n_rules, -1))
    span = (hi - lo).astype(np.uint32)
    addr = np.where(rng.random(n_packets) < 0.5, rng.integers(0, 2**32, n_packets),
                    net[rng.integers(0, max(n_rules, 1), n_packets) % max(n_rules, 1)] if n_rules else 0).astype(np.uint32)
    pk = ((rng.choice([6, 17], n_packets).astype(np.uint32) << 16) | rng.integers(0, 65536, n_packets)).astype(np.uint32)
    idx = np.arange(n_rules, dtype=np.int32)
    linear, cross = np.empty(n_packets, np.int32), np.empty(n_packets, np.int32)
    first_match_v4(addr, pk, net, mask, lo, span, idx, NO_RULE, linear)
    classify_v4(addr, pk, *cross_index_v4(net, mask, lo, span), np.append(idx, NO_RULE).astype(np.int32), cross)
    want = np.full(n_packets, NO_RULE)
    for r in range(n_rules - 1, -1, -1):
        hit = ((addr & mask[r]) == net[r]) & (pk >= lo[r]) & (pk <= hi[r])
        want[hit] = r
    assert linear.tolist() == want.tolist() == cross.tolist()


octet_text = st.one_of(st.integers(0, 255).map(str), st.sampled_from(["256", "999", "00", "01", "007", "1000", "", "-1",
                                                                      "+1", " 1", "1 ", "a", "\u0661", "0x1"]))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.lists(octet_text, min_size=1, max_size=6).map(".".join),
                          st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str), st.text(max_size=20)),
                min_size=1, max_size=30))
def test_dotted_quads_match_ipaddress(texts):
    arr = np.array(texts)
    out, ok = np.empty(len(arr), np.uint32), np.empty(len(arr), np.uint8)
    dotted_quads(np.ascontiguousarray(arr).view(np.uint32).reshape(len(arr), -1), out, ok)
    got = [int(v) if k else None for v, k in zip(out, ok)]
    assert got == [dotted_quad_ref(str(t)) for t in arr]  # as numpy holds them (no trailing NULs)


# ---- reading a batch's integer columns: l4_keys ---------------------------------------------

COLUMN_BITS = {"src_ip": BAD_SRC_IP, "dst_ip": BAD_DST_IP, "protocol": BAD_PROTOCOL, "src_port": BAD_SRC_PORT,
               "dst_port": BAD_DST_PORT, "icmp_type": BAD_ICMP_TYPE, "icmp_code": BAD_ICMP_CODE}
# Dtypes per column, as callers give them (each profile and presence pattern is one compiled
# version of the kernel, so there are few): lists (int64), the natural narrow types, signed
# types of other widths, uint32 throughout.
PROFILES = {
    "int64": dict.fromkeys(COLUMN_BITS, np.int64),
    "narrow": {"src_ip": np.uint32, "dst_ip": np.uint32, "protocol": np.uint8, "src_port": np.uint16,
               "dst_port": np.uint16, "icmp_type": np.uint8, "icmp_code": np.uint8},
    "signed": {"src_ip": np.uint64, "dst_ip": np.int32, "protocol": np.int8, "src_port": np.int32,
               "dst_port": np.int32, "icmp_type": np.int16, "icmp_code": np.int16},
    "uint32": dict.fromkeys(COLUMN_BITS, np.uint32),
}
PRESENT = {"all": set(COLUMN_BITS), "no icmp": set(COLUMN_BITS) - {"icmp_type", "icmp_code"},
           "protocol only": {"protocol"}}
EDGES = {"src_ip": [0, 1, 2**32 - 1, 2**32, -1, 0x0A000001, 2**63 - 1],
         "protocol": [0, 1, 6, 17, 58, 47, 127, 255, 256, 262, 273, -1, -128],
         "src_port": [0, 1, 65535, 65536, -1], "dst_port": [0, 80, 443, 65535, 65536, 65536 + 80, -1],
         "icmp_type": [0, 3, 8, 128, 255, 256, -1], "icmp_code": [0, 4, 255, 256, 257, -1]}
EDGES["dst_ip"] = EDGES["src_ip"]


@st.composite
def int_column(draw, name, dtype, n):
    """A column of `dtype`, its values drawn from the edges of its range and at random."""
    info = np.iinfo(dtype)
    fits = [v for v in EDGES[name] if info.min <= v <= info.max]
    values = draw(st.lists(st.one_of(st.sampled_from(fits), st.integers(int(info.min), int(info.max))),
                           min_size=n, max_size=n))
    return np.array(values, dtype)


@st.composite
def columns(draw):
    """A batch's integer columns in one profile, some absent (None); valid or not."""
    n = draw(st.integers(0, 40) | st.sampled_from([CHUNK, 3 * 64 + 5]))
    dtypes = PROFILES[draw(st.sampled_from(sorted(PROFILES)))]
    present = PRESENT[draw(st.sampled_from(sorted(PRESENT)))]
    return n, {name: draw(int_column(name, dtypes[name], n)) if name in present else None for name in COLUMN_BITS}


def run_l4_keys(n, cols):
    out = {name: (None if cols[name] is None else np.empty(n, np.uint32)) for name in ("src_ip", "dst_ip")}
    pk = np.empty(n, np.uint32)
    bits = l4_keys(cols["src_ip"], cols["dst_ip"], cols["protocol"], cols["src_port"], cols["dst_port"],
                   cols["icmp_type"], cols["icmp_code"], out["src_ip"], out["dst_ip"], pk)
    return bits, pk, out


@settings(max_examples=300, deadline=None)
@given(columns())
def test_l4_keys_matches_twin(case):
    n, cols = case
    bits, pk, converted = run_l4_keys(n, cols)
    bad, any_ports, keys, addresses = l4_keys_ref({k: None if v is None else v.tolist() for k, v in cols.items()}, n)
    assert {name for name, bit in COLUMN_BITS.items() if bits & bit} == bad
    assert bits & ~(sum(COLUMN_BITS.values()) | ANY_PORTS) == 0
    if "protocol" not in bad:  # an out-of-range protocol's TCP/UDP reading is not defined
        assert bool(bits & ANY_PORTS) == any_ports
    if not bad:  # pk and the converted addresses are defined for good batches only
        assert pk.tolist() == keys
        for name, values in addresses.items():
            assert converted[name].tolist() == values


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("name", sorted(COLUMN_BITS))
def test_l4_keys_flags_one_bad_value_among_many(profile, name):
    """Each bad value a dtype can hold, alone at the end of a batch longer than the vectorised
    loop's stride, is found; a dtype that cannot hold one needs no check."""
    n = 1000
    dtype = PROFILES[profile][name]
    info = np.iinfo(dtype)
    hi = {"src_ip": 2**32 - 1, "dst_ip": 2**32 - 1, "protocol": 255, "icmp_type": 255,
          "icmp_code": 255}.get(name, 65535)
    bad_values = [v for v in (-1, int(info.min), hi + 1, int(info.max))
                  if info.min <= v <= info.max and not 0 <= v <= hi]
    cols = {k: np.zeros(n, PROFILES[profile][k]) for k in COLUMN_BITS}
    assert run_l4_keys(n, cols)[0] == 0
    for value in bad_values:
        cols[name][-1] = value
        assert run_l4_keys(n, cols)[0] == COLUMN_BITS[name]
    assert bad_values or profile in ("narrow", "uint32")
