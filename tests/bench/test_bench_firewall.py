"""Packet filters: the kernels against a pure-Python loop and chunked numpy, in one run.

A network ACL of 20 IPv4 rules (first match wins) and a security group of 60 rules (any match
allows) over 10 M IPv4 packets; the pure-Python loop, on plain ints, runs on a 100 k sample and is
scaled. Then 1,000 rules: the cross-product table against the linear-scan kernel, and the rule
count at which the table starts to win (kernels.firewall.LINEAR_MAX_RULES). Rates are packets per
second of CPU time of this one process, so other work on the machine does not count against them.

The public API (`NetworkAcl.evaluate`, `SecurityGroup.evaluate`) is timed on the same packets
parsed once (`Packets`) and as a dict of typed arrays, which it reads on every call: in their
natural dtypes (uint32 addresses, uint8 protocol and ICMP, uint16 ports) the dict must cost at
most 1.5x the parsed batch; with int64 columns (what lists of ints become) it is recorded only.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from kernels.firewall import (LINEAR_MAX_RULES, classify_v4, cross_index_v4, first_match_v4, masks_v4,
                              rule_ranges)
from sim.network.firewall import NetworkAcl, SecurityGroup
from sim.network.packets import Packets

N = 10_000_000
SAMPLE = 100_000
NUMPY_CHUNK = 1 << 16

# rule: (cidr, protocol, port_from, port_to, icmp_type, icmp_code, allow)
ACL_20 = [("198.51.100.0/24", 6, 0, 65535, -1, -1, 0), ("203.0.113.66/32", -1, 0, 65535, -1, -1, 0),
          ("0.0.0.0/0", 6, 80, 80, -1, -1, 1), ("0.0.0.0/0", 6, 443, 443, -1, -1, 1),
          ("192.0.2.0/24", 6, 22, 22, -1, -1, 1), ("192.0.2.0/24", 6, 3389, 3389, -1, -1, 1),
          ("10.0.0.0/16", 17, 53, 53, -1, -1, 1), ("0.0.0.0/0", 17, 123, 123, -1, -1, 1),
          ("0.0.0.0/0", 1, 0, 65535, 3, 4, 1), ("0.0.0.0/0", 1, 0, 65535, 11, 0, 1),
          ("10.0.0.0/16", 1, 0, 65535, 8, -1, 1), ("10.0.16.0/20", 6, 5432, 5432, -1, -1, 1),
          ("10.0.32.0/20", 6, 6379, 6379, -1, -1, 1), ("10.0.48.0/20", 6, 9092, 9094, -1, -1, 1),
          ("0.0.0.0/0", 6, 0, 1023, -1, -1, 0), ("0.0.0.0/0", 6, 1024, 65535, -1, -1, 1),
          ("0.0.0.0/0", 17, 1024, 65535, -1, -1, 1), ("172.16.0.0/12", 17, 500, 500, -1, -1, 1),
          ("172.16.0.0/12", 50, 0, 65535, -1, -1, 1), ("10.0.0.0/16", -1, 0, 65535, -1, -1, 1)]
SG_PORTS = [(6, 22), (6, 80), (6, 443), (6, 3306), (6, 5432), (6, 6379), (6, 8080), (6, 8443), (6, 9200),
            (17, 53), (17, 123), (17, 514), (6, 2049), (6, 27017), (6, 11211), (6, 5671), (6, 9092), (6, 3389)]
SG_SOURCES = ["10.0.0.0/16", "192.0.2.0/24", "172.16.8.0/22"]
SG_60 = [(c, p, port, port, -1, -1, 1) for p, port in SG_PORTS for c in SG_SOURCES] + [
    ("0.0.0.0/0", 1, 0, 65535, 3, 4, 1), ("0.0.0.0/0", 1, 0, 65535, 8, -1, 1), ("10.0.0.0/16", 1, 0, 65535, -1, -1, 1),
    ("198.51.100.10/32", -1, 0, 65535, -1, -1, 1), ("0.0.0.0/0", 6, 8000, 8100, -1, -1, 1),
    ("203.0.113.0/24", 17, 1024, 65535, -1, -1, 1)]
assert len(ACL_20) == 20 and len(SG_60) == 60


def encode(rules):
    """Kernel arrays (net, mask, lo, span) and allow flags of rules given as tuples."""
    import ipaddress
    nets = [ipaddress.ip_network(r[0]) for r in rules]
    mask = masks_v4([n.prefixlen for n in nets])
    net = np.array([int(n.network_address) for n in nets], np.uint32)
    lo, hi = rule_ranges(*zip(*(r[1:6] for r in rules)))
    return (net, mask, lo, (hi - lo).astype(np.uint32)), np.array([r[6] for r in rules], np.uint8)


def traffic(n, seed=7):
    """IPv4 packets as the kernels see them: remote address and pk (protocol << 16 | key)."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(3, n, p=[0.3, 0.4, 0.3])
    addr = np.where(kind == 0, 0x0A000000 | rng.integers(0, 1 << 16, n),  # the VPC
                    np.where(kind == 1, rng.choice([0xC0000200, 0xC6336400, 0xCB007100, 0xAC100800], n)
                             | rng.integers(0, 256, n), rng.integers(0, 1 << 32, n))).astype(np.uint32)
    proto = rng.choice([6, 17, 1, 50], n, p=[0.8, 0.15, 0.045, 0.005]).astype(np.uint32)
    well_known = rng.choice([22, 53, 80, 123, 443, 3306, 3389, 5432, 6379, 8080, 9092], n)
    port = np.where(rng.random(n) < 0.5, well_known, rng.integers(0, 65536, n))
    icmp = rng.choice([0x0000, 0x0304, 0x0800, 0x0B00], n)
    key = np.where(proto == 1, icmp, np.where(proto == 50, 0, port))
    return addr, ((proto << 16) | key.astype(np.uint32)).astype(np.uint32)


@pytest.fixture(scope="module")
def packets():
    return traffic(N)


@pytest.fixture(scope="module")
def parsed(packets):
    """The same packets for the public API, inbound to 10.0.0.1, parsed once."""
    addr, pk = packets
    proto = pk >> 16
    p = Packets.parse({"src_ip": addr, "dst_ip": np.full(N, 0x0A000001, np.uint32), "protocol": proto,
                       "dst_port": np.where(np.isin(proto, (6, 17)), pk & 0xFFFF, 0),
                       "icmp_type": np.where(proto == 1, (pk >> 8) & 0xFF, 0),
                       "icmp_code": np.where(proto == 1, pk & 0xFF, 0)})
    assert np.array_equal(p.pk, pk)
    return p


@pytest.fixture(scope="module")
def typed(packets):
    """The same packets as a dict of typed arrays in their natural dtypes (uint32 addresses,
    uint8 protocol and ICMP type/code, uint16 ports), and the same with int64 columns (what a
    list of Python ints becomes)."""
    addr, pk = packets
    proto = (pk >> 16).astype(np.uint8)
    narrow = {"src_ip": addr, "dst_ip": np.full(N, 0x0A000001, np.uint32), "protocol": proto,
              "src_port": np.random.default_rng(3).integers(1024, 65536, N).astype(np.uint16),
              "dst_port": np.where(np.isin(proto, (6, 17)), pk & 0xFFFF, 0).astype(np.uint16),
              "icmp_type": np.where(proto == 1, (pk >> 8) & 0xFF, 0).astype(np.uint8),
              "icmp_code": np.where(proto == 1, pk & 0xFF, 0).astype(np.uint8)}
    wide = {k: v if k.endswith("_ip") else v.astype(np.int64) for k, v in narrow.items()}
    return narrow, wide


def dict_vs_parsed(fw, typed, parsed, want, rounds=5):
    """`fw.evaluate` on the typed dicts against the same call on parsed packets, rounds interleaved
    so that a busy spell on the machine hits all of them: the figures, and the verdicts checked."""
    narrow, wide = typed
    for batch in (narrow, wide, parsed):
        assert np.array_equal(fw.evaluate(batch, "inbound"), want)  # and compiled outside the timing
    t_dict = t_wide = t_parsed = float("inf")
    for _ in range(rounds):
        t_dict = min(t_dict, cpu_timed(fw.evaluate, narrow, "inbound", rounds=1)[0])
        t_parsed = min(t_parsed, cpu_timed(fw.evaluate, parsed, "inbound", rounds=1)[0])
        t_wide = min(t_wide, cpu_timed(fw.evaluate, wide, "inbound", rounds=1)[0])
    return {"api_packets_per_s": N / t_parsed, "dict_api_packets_per_s": N / t_dict,
            "dict_over_parsed": t_dict / t_parsed,
            "dict_int64_api_packets_per_s": N / t_wide, "dict_int64_over_parsed": t_wide / t_parsed}


def cpu_timed(fn, *args, rounds=3):
    """Best CPU time (s) of this process over `rounds` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(rounds):
        t0 = time.process_time()
        out = fn(*args)
        best = min(best, time.process_time() - t0)
    return best, out


def with_kernel(addr, pk, arrays, val):
    out = np.empty(len(addr), np.uint8)
    first_match_v4(addr, pk, *arrays, val, 0, out)
    return out


def with_numpy(addr, pk, arrays, val, any_match):
    """Chunked numpy: per chunk, each rule is four whole-chunk operations into reused buffers;
    an ACL applies rules last first so the first match is written last, a group ORs them."""
    net, mask, lo, span = arrays
    out = np.zeros(len(addr), np.uint8)
    t, d = np.empty(NUMPY_CHUNK, np.uint32), np.empty(NUMPY_CHUNK, np.uint32)
    hit, ok = np.empty(NUMPY_CHUNK, bool), np.empty(NUMPY_CHUNK, bool)
    order = range(len(net)) if any_match else range(len(net) - 1, -1, -1)
    for c0 in range(0, len(addr), NUMPY_CHUNK):
        a, p, res = addr[c0:c0 + NUMPY_CHUNK], pk[c0:c0 + NUMPY_CHUNK], out[c0:c0 + NUMPY_CHUNK]
        m = len(a)
        for r in order:
            np.bitwise_and(a, mask[r], out=t[:m])
            np.equal(t[:m], net[r], out=hit[:m])
            np.subtract(p, lo[r], out=d[:m])  # wraps below lo: one unsigned compare checks both ends
            np.less_equal(d[:m], span[r], out=ok[:m])
            hit[:m] &= ok[:m]
            if any_match:
                res |= hit[:m]
            else:
                np.putmask(res, hit[:m], val[r])
    return out


def with_python(addr, pk, arrays, val, any_match):
    """Plain Python on ints: each packet against each rule, stopping at the first match."""
    rules = list(zip(*(a.tolist() for a in arrays), val.tolist()))
    out = []
    for a, p in zip(addr.tolist(), pk.tolist()):
        v = 0
        for net, mask, lo, span, act in rules:
            if a & mask == net and 0 <= p - lo <= span:
                v = 1 if any_match else act
                break
        out.append(v)
    return np.array(out, np.uint8)


def compare(rules, addr, pk, any_match):
    arrays, act = encode(rules)
    val = np.ones(len(act), np.uint8) if any_match else act
    with_kernel(addr[:1000], pk[:1000], arrays, val)  # compile outside the timing
    t_k, k = cpu_timed(with_kernel, addr, pk, arrays, val, rounds=5)
    t_n, n = cpu_timed(with_numpy, addr, pk, arrays, val, any_match, rounds=2)
    t_p, p = cpu_timed(with_python, addr[:SAMPLE], pk[:SAMPLE], arrays, val, any_match, rounds=1)
    assert np.array_equal(k, n) and np.array_equal(k[:SAMPLE], p)
    return {"rules": len(rules), "packets": len(addr), "allowed_share": float(k.mean()),
            "kernel_packets_per_s": len(addr) / t_k, "numpy_packets_per_s": len(addr) / t_n,
            "python_packets_per_s": SAMPLE / t_p, "over_numpy": t_n / t_k, "over_python": (t_p / SAMPLE) / (t_k / len(addr))}


def test_acl_20_rules(benchmark, packets, parsed, typed, bench_figures):
    addr, pk = packets
    fig = compare(ACL_20, addr, pk, any_match=False)
    # the public API on the same packets, parsed once and as a dict of typed arrays: same
    # verdicts, what the wrapper costs, and what reading the dict costs
    acl = NetworkAcl.from_yaml([{"rule": 100 + 10 * i, "direction": "inbound", "protocol": p, "cidr": c,
                                 "action": "allow" if a else "deny", **({"ports": f"{f}-{t}"} if p in (6, 17) else {}),
                                 **({"icmp_type": it, "icmp_code": ic} if p == 1 else {})}
                                for i, (c, p, f, t, it, ic, a) in enumerate(ACL_20)])
    arrays, act = encode(ACL_20)
    fig.update(dict_vs_parsed(acl, typed, parsed, with_kernel(addr, pk, arrays, act).view(bool)))
    benchmark.pedantic(with_kernel, args=(addr, pk, arrays, act), rounds=3, iterations=1)
    bench_figures.setdefault("firewall", {})["acl_20"] = fig
    assert fig["over_python"] >= 100, fig
    assert fig["over_numpy"] >= 3, fig
    assert fig["dict_over_parsed"] <= 1.5, fig


def test_security_group_60_rules(benchmark, packets, parsed, typed, bench_figures):
    addr, pk = packets
    fig = compare(SG_60, addr, pk, any_match=True)
    arrays, _ = encode(SG_60)
    perms = [{"IpProtocol": str(p), "IpRanges": [{"CidrIp": c}],
              **({"FromPort": f, "ToPort": t} if p in (6, 17) else {"FromPort": it, "ToPort": ic} if p == 1 else {})}
             for c, p, f, t, it, ic, _ in SG_60]
    sg = SecurityGroup.from_permissions(perms)
    fig.update(dict_vs_parsed(sg, typed, parsed, with_kernel(addr, pk, arrays, np.ones(60, np.uint8)).view(bool)))
    benchmark.pedantic(with_kernel, args=(addr, pk, arrays, np.ones(60, np.uint8)), rounds=3, iterations=1)
    bench_figures.setdefault("firewall", {})["sg_60"] = fig
    assert fig["over_python"] >= 100, fig
    assert fig["over_numpy"] >= 3, fig
    assert fig["dict_over_parsed"] <= 1.5, fig


# ---- 1,000 rules ------------------------------------------------------------------------------

SITES = [(0x0A000000, 16), (0x0A010000, 16), (0xAC100000, 16), (0xC0A80000, 16), (0xCB007100, 24),
         (0xC6336400, 24), (0x64400000, 16)]
PORTS = [22, 25, 53, 80, 123, 443, 465, 993, 1433, 1521, 2049, 3306, 3389, 5432, 5439, 5671, 6379, 8080, 8443,
         9092, 9200, 11211, 27017]
RANGES = [(1024, 65535), (32768, 61000), (49152, 65535), (8000, 8100), (30000, 32767), (0, 65535)]


def large_rules(n, rng):
    """An allow/deny list of `n` rules: half single hosts, the rest subnets and a few wide blocks,
    in seven sites; mostly single service ports."""
    site = rng.integers(0, len(SITES), n)
    base = np.array([SITES[s][0] for s in site], np.int64)
    site_len = np.array([SITES[s][1] for s in site])
    kind = rng.choice(4, n, p=[0.5, 0.3, 0.15, 0.05])
    plen = np.select([kind == 0, kind == 1, kind == 2],
                     [32, rng.integers(24, 29, n), np.maximum(rng.integers(16, 21, n), site_len)], rng.choice([0, 8], n))
    mask = masks_v4(plen)
    net = ((base + rng.integers(0, 1 << 32, n) % (1 << (32 - site_len))).astype(np.uint32) & mask).astype(np.uint32)
    proto = rng.choice([6, 17, 1, -1], n, p=[0.7, 0.2, 0.05, 0.05])
    single = rng.random(n) < 0.8
    ranges = np.array(RANGES)[rng.integers(0, len(RANGES), n)]
    port = rng.choice(PORTS, n)
    lo, hi = rule_ranges(proto, np.where(single, port, ranges[:, 0]), np.where(single, port, ranges[:, 1]),
                         np.where(rng.random(n) < 0.5, -1, rng.choice([0, 3, 8, 11], n)), np.full(n, -1))
    return (net, mask, lo, (hi - lo).astype(np.uint32)), (rng.random(n) < 0.7).astype(np.uint8)


def random_rules(n, rng):
    """Rules with no structure: any block length anywhere, any port range — the hard case."""
    plen = rng.choice([0, 8, 16, 24, 28, 32], n)
    mask = masks_v4(plen)
    frm = rng.integers(0, 65536, n)
    lo, hi = rule_ranges(rng.choice([-1, 6, 17, 1], n, p=[0.1, 0.6, 0.25, 0.05]), frm,
                         np.minimum(65535, frm + rng.choice([0, 0, 10, 1000, 30000], n)), rng.integers(-1, 20, n),
                         np.full(n, -1))
    return ((rng.integers(0, 1 << 32, n, dtype=np.uint32) & mask).astype(np.uint32), mask, lo,
            (hi - lo).astype(np.uint32)), rng.integers(0, 2, n).astype(np.uint8)


def traffic_for(arrays, n, rng):
    """Packets of which 70 % come from inside a random rule's block and 70 % hit its ports."""
    net, mask, lo, span = arrays
    r = rng.integers(0, len(net), n)
    addr = np.where(rng.random(n) < 0.7, net[r] | (rng.integers(0, 1 << 32, n, dtype=np.uint32) & ~mask[r]),
                    rng.integers(0, 1 << 32, n, dtype=np.uint32)).astype(np.uint32)
    in_rule = lo[r].astype(np.int64) + (rng.random(n) * (span[r].astype(np.int64) + 1)).astype(np.int64)
    other = (rng.choice([6, 17, 1], n, p=[0.8, 0.15, 0.05]) << 16) | rng.integers(1024, 65536, n)
    return addr, np.where(rng.random(n) < 0.7, in_rule, other).astype(np.uint32)


def linear_vs_cross(arrays, act, addr, pk, rounds=7):
    """Both kernels on the same packets, their rounds interleaved so that a busy spell on the
    machine hits both."""
    cross_index_v4(*arrays)  # compile
    t0 = time.process_time()
    tables = cross_index_v4(*arrays)
    build_s = time.process_time() - t0
    val_none = np.append(act, 0).astype(np.uint8)
    lin, crs = np.empty(len(addr), np.uint8), np.empty(len(addr), np.uint8)
    first_match_v4(addr[:100], pk[:100], *arrays, act, 0, lin[:100])
    classify_v4(addr[:100], pk[:100], *tables, val_none, crs[:100])
    t_lin = t_crs = float("inf")
    for _ in range(rounds):
        t_lin = min(t_lin, cpu_timed(first_match_v4, addr, pk, *arrays, act, 0, lin, rounds=1)[0])
        t_crs = min(t_crs, cpu_timed(classify_v4, addr, pk, *tables, val_none, crs, rounds=1)[0])
    assert np.array_equal(lin, crs)
    return {"linear_packets_per_s": len(addr) / t_lin, "cross_packets_per_s": len(addr) / t_crs,
            "over_linear": t_lin / t_crs, "build_s": build_s, "table_cells": int(tables[2].size)}


def test_1000_rules_cross_product_vs_linear_scan(benchmark, bench_figures):
    rng = np.random.default_rng(11)
    n = 2_000_000
    arrays, act = large_rules(1000, rng)
    addr, pk = traffic_for(arrays, n, rng)
    fig = {"rules": 1000, "packets": n, **linear_vs_cross(arrays, act, addr, pk)}
    r_arrays, r_act = random_rules(1000, rng)  # the structure-free case, recorded, not asserted
    r_addr, r_pk = traffic_for(r_arrays, n, rng)
    fig["random_rules"] = linear_vs_cross(r_arrays, r_act, r_addr, r_pk)
    crossover = {}
    for size in (20, 40, 60, 100, 200):  # where the table starts to win (LINEAR_MAX_RULES)
        s_arrays, s_act = large_rules(size, rng)
        s_addr, s_pk = traffic_for(s_arrays, 1_000_000, rng)
        crossover[size] = linear_vs_cross(s_arrays, s_act, s_addr, s_pk)["over_linear"]
    fig["cross_over_linear_by_rules"] = crossover
    fig["linear_max_rules"] = LINEAR_MAX_RULES
    tables = cross_index_v4(*arrays)
    out = np.empty(n, np.uint8)
    benchmark.pedantic(classify_v4, args=(addr, pk, *tables, np.append(act, 0).astype(np.uint8), out), rounds=3,
                       iterations=1)
    bench_figures.setdefault("firewall", {})["rules_1000"] = fig
    assert fig["over_linear"] >= 10, fig
