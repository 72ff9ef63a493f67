"""The firewall API on dicts of typed numpy arrays: the same verdicts and the same mistakes as
parsed `Packets` and as lists, typed columns used as they are (no copies), every dtype and
every path (linear scan, cross-product table, no IPv4 rule)."""

from __future__ import annotations

import ipaddress

import numpy as np
import polars as pl
import pytest

from kernels.firewall import CHUNK, LINEAR_MAX_RULES
from kernels.ref.firewall import RefPacket, RefRule, acl_allows_ref
from sim.network.firewall import NetworkAcl, SecurityGroup
from sim.network.packets import PacketError, Packets, typed_columns

N = 3 * CHUNK + 17  # several chunks of the kernels, the last one partial

ACL = NetworkAcl.from_yaml([
    {"rule": 100, "direction": "inbound", "protocol": "tcp", "ports": "443", "cidr": "0.0.0.0/0", "action": "allow"},
    {"rule": 110, "direction": "inbound", "protocol": "tcp", "ports": "0-1023", "cidr": "10.0.0.0/8", "action": "deny"},
    {"rule": 120, "direction": "inbound", "protocol": "udp", "ports": "53", "cidr": "10.0.0.0/8", "action": "allow"},
    {"rule": 130, "direction": "inbound", "protocol": "icmp", "icmp_type": 8, "cidr": "0.0.0.0/0", "action": "allow"},
    {"rule": 140, "direction": "inbound", "protocol": 50, "cidr": "192.0.2.0/24", "action": "allow"},
    {"rule": 150, "direction": "inbound", "protocol": "all", "cidr": "10.1.0.0/16", "action": "allow"},
    {"rule": 100, "direction": "outbound", "protocol": "tcp", "ports": "1024-65535", "cidr": "0.0.0.0/0",
     "action": "allow"},
    {"rule": 110, "direction": "outbound", "protocol": "all", "cidr": "::/0", "action": "allow"},
])
SG = SecurityGroup.from_permissions(
    [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
     {"IpProtocol": "icmp", "FromPort": 3, "ToPort": 4, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
     {"IpProtocol": "udp", "FromPort": 1024, "ToPort": 65535, "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}],
    [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
# More rules than the linear scan takes: the cross-product table reads the columns instead.
BIG_ACL = NetworkAcl.from_yaml(
    [{"rule": 1 + i, "direction": "inbound", "protocol": "tcp", "ports": str(1000 + i), "cidr": f"10.{i}.0.0/16",
      "action": "allow" if i % 3 else "deny"} for i in range(LINEAR_MAX_RULES + 20)]
    + [{"rule": 1000, "direction": "inbound", "protocol": "icmp", "icmp_type": 3, "icmp_code": 4, "cidr": "0.0.0.0/0",
        "action": "allow"}])
V6_ONLY = NetworkAcl.from_yaml([{"rule": 100, "direction": "inbound", "protocol": "all", "cidr": "::/0",
                                 "action": "allow"}])
FIREWALLS = {"acl": ACL, "sg": SG, "big_acl": BIG_ACL, "v6_only": V6_ONLY}


def batch(seed=1, n=N, dtypes=None, with_icmp=True):
    """Random IPv4 packets near the rules, as a dict of arrays of the given dtypes."""
    rng = np.random.default_rng(seed)
    dtypes = {"protocol": np.uint8, "src_port": np.uint16, "dst_port": np.uint16, "icmp_type": np.uint8,
              "icmp_code": np.uint8, **(dtypes or {})}
    addr = np.where(rng.random(n) < 0.5, 0x0A000000 | rng.integers(0, 1 << 24, n),
                    rng.choice([0xC0000200, 0x0A010000, 0x08080808], n) | rng.integers(0, 256, n)).astype(np.uint32)
    proto = rng.choice([6, 17, 1, 50, 0], n, p=[0.5, 0.2, 0.2, 0.05, 0.05])
    out = {"src_ip": addr, "dst_ip": rng.permutation(addr), "protocol": proto,
           "src_port": rng.integers(0, 65536, n),
           "dst_port": np.where(rng.random(n) < 0.5, rng.choice([22, 53, 443, 1000, 1005, 1050, 80], n),
                                rng.integers(0, 65536, n))}
    if with_icmp:
        out["icmp_type"] = rng.choice([0, 3, 8, 11], n)
        out["icmp_code"] = rng.choice([0, 4], n)
    return {k: v if k.endswith("_ip") else v.astype(dtypes[k]) for k, v in out.items()}


def verdicts(fw, packets, direction):
    if isinstance(fw, SecurityGroup):
        return fw.evaluate(packets, direction), fw.matching_rule(packets, direction)
    return fw.evaluate(packets, direction), fw.deciding_rule(packets, direction)


@pytest.mark.parametrize("name", sorted(FIREWALLS))
@pytest.mark.parametrize("dtypes", [None, dict.fromkeys(["protocol", "src_port", "dst_port", "icmp_type", "icmp_code"],
                                                        np.int64),
                                    {"protocol": np.int16, "dst_port": np.uint32, "icmp_type": np.int8}])
def test_typed_dict_gives_the_verdicts_of_parsed_packets(name, dtypes):
    fw = FIREWALLS[name]
    packets = batch(dtypes=dtypes)
    assert typed_columns(packets) is not None
    as_lists = {k: v.tolist() for k, v in packets.items()}  # the slow road: lists, parsed
    for direction in ("inbound", "outbound"):
        want = verdicts(fw, Packets.parse(as_lists), direction)
        got = verdicts(fw, packets, direction)
        assert got[0].dtype == bool and got[0].tolist() == want[0].tolist()
        assert got[1].tolist() == want[1].tolist()
    allowed = verdicts(fw, packets, "inbound")[0]
    if name == "v6_only":  # no IPv4 rule: nothing to scan the columns with, parsed instead
        assert not allowed.any()
    else:  # the batch reaches the rules
        assert allowed.any() and not allowed.all()


def test_typed_dict_against_the_twin():
    """The verdicts of one ACL on a typed dict, packet by packet against the `ipaddress` twin."""
    packets = batch(seed=5, n=600)
    rules = [RefRule(ipaddress.ip_network(r.cidr), r.protocol, r.port_from if r.port_from is not None else 0,
                     r.port_to if r.port_to is not None else 65535,
                     r.icmp_type if r.icmp_type is not None else -1, r.icmp_code if r.icmp_code is not None else -1)
             for r in ACL.rules("inbound")]
    actions = [r.action for r in ACL.rules("inbound")]
    want = [acl_allows_ref(rules, actions, RefPacket(ipaddress.IPv4Address(int(packets["src_ip"][k])),
                                                     int(packets["protocol"][k]), int(packets["dst_port"][k]),
                                                     int(packets["icmp_type"][k]), int(packets["icmp_code"][k])))
            for k in range(600)]
    assert ACL.evaluate(packets).tolist() == want


def test_absent_columns_and_tracked_return_traffic():
    packets = batch(seed=2, with_icmp=False)
    no_ports = {k: v for k, v in batch(seed=3).items() if k not in ("src_port", "dst_port")}
    no_ports["protocol"] = np.where(no_ports["protocol"] == 1, 1, 50).astype(np.uint8)  # ICMP and ESP: no ports
    for p in (packets, no_ports):
        assert typed_columns(p) is not None
        assert ACL.evaluate(p).tolist() == ACL.evaluate(Packets.parse(p)).tolist()
    tracked = np.arange(N) % 2 == 0
    want = SG.evaluate(Packets.parse(packets), tracked=tracked)
    assert SG.evaluate(packets, tracked=tracked).tolist() == want.tolist()


def test_typed_columns_are_not_copied():
    packets = batch(seed=4, dtypes={"protocol": np.int32})
    p = Packets.parse(packets)
    assert p.src.v4 is packets["src_ip"] and p.dst.v4 is packets["dst_ip"]
    for name in ("protocol", "src_port", "dst_port", "icmp_type", "icmp_code"):
        assert getattr(p, name) is packets[name]
    assert p.src.family == p.dst.family == 4 and p.src.is_v4.all() and not p.src.hi.any()
    ints = dict(packets, src_ip=packets["src_ip"].astype(np.int64))  # does not fit: converted, checked
    q = Packets.parse(ints)
    assert q.src.v4.dtype == np.uint32 and q.src.v4.tolist() == packets["src_ip"].tolist()
    assert typed_columns(ints) is None


@pytest.mark.parametrize("variant", ["big-endian", "strided", "polars"])
def test_other_layouts_still_read(variant):
    packets = batch(seed=6)
    if variant == "big-endian":
        other = {k: v.astype(v.dtype.newbyteorder(">")) for k, v in packets.items()}
    elif variant == "strided":
        other = {k: np.repeat(v, 2)[::2] for k, v in packets.items()}
    else:
        other = pl.DataFrame(packets)
    assert ACL.evaluate(other).tolist() == ACL.evaluate(packets).tolist()
    assert SG.evaluate(other, "outbound").tolist() == SG.evaluate(packets, "outbound").tolist()


def set_at(packets, name, k, value, dtype=None):
    out = dict(packets)
    out[name] = packets[name].astype(dtype or packets[name].dtype)
    out[name][k] = value
    return out


GOOD = batch(seed=7)
NO_DST_PORT = {k: v for k, v in GOOD.items() if k != "dst_port"}


@pytest.mark.parametrize("packets, message", [
    (set_at(GOOD, "protocol", N - 1, 256, np.uint16), "protocol: values must be in 0..255"),
    (set_at(GOOD, "protocol", 0, -1, np.int8), "protocol: values must be in 0..255"),
    (set_at(GOOD, "dst_port", N // 2, 70000, np.uint32), "dst_port: values must be in 0..65535"),
    (set_at(GOOD, "src_port", N - 1, -5, np.int64), "src_port: values must be in 0..65535"),
    (set_at(GOOD, "icmp_type", CHUNK, 300, np.int16), "icmp_type: values must be in 0..255"),
    (set_at(GOOD, "icmp_code", N - 1, -1, np.int8), "icmp_code: values must be in 0..255"),
    (NO_DST_PORT, "packets: missing column 'dst_port'"),
    # two mistakes in different chunks: the one Packets.parse names first (protocol, then dst_port, src_port, ...)
    (set_at(set_at(GOOD, "src_port", 0, 70000, np.uint32), "protocol", N - 1, 999, np.int32),
     "protocol: values must be in 0..255"),
    (set_at(set_at(GOOD, "icmp_code", 0, 256, np.uint16), "dst_port", N - 1, 65536, np.int64),
     "dst_port: values must be in 0..65535"),
    (dict(GOOD, dst_port=GOOD["dst_port"][:-1]), f"dst_port: {N - 1} values for {N} packets"),
    (dict(GOOD, icmp_type=GOOD["icmp_type"].astype(float)), "icmp_type: expected integers, got float64"),
    (set_at(GOOD, "dst_ip", 3, -1, np.int64), "dst_ip: IPv4 addresses as integers must be in 0..4294967295"),
])
@pytest.mark.parametrize("name", ["acl", "sg", "big_acl", "v6_only"])
def test_mistakes_in_typed_dicts_read_as_packets_parse_reads_them(packets, message, name):
    with pytest.raises(PacketError) as parsed:
        Packets.parse(packets)
    assert str(parsed.value).startswith(message)
    for direction in ("inbound", "outbound"):
        with pytest.raises(PacketError) as raised:
            FIREWALLS[name].evaluate(packets, direction)
        assert str(raised.value) == str(parsed.value)


def test_no_tcp_or_udp_needs_no_dst_port_and_bad_direction_is_named():
    icmp = {k: v for k, v in GOOD.items() if k != "dst_port"}
    icmp["protocol"] = np.ones(N, np.uint8)
    assert ACL.evaluate(icmp).tolist() == ACL.evaluate({k: v.tolist() for k, v in icmp.items()}).tolist()
    with pytest.raises(ValueError, match="direction: expected inbound or outbound, got 'sideways'"):
        ACL.evaluate(GOOD, "sideways")


@pytest.mark.parametrize("n", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1])
def test_batch_sizes_at_the_chunk_edges(n):
    packets = batch(seed=n, n=n)
    for fw in (ACL, SG, BIG_ACL):
        want = fw.evaluate({k: v.tolist() for k, v in packets.items()})  # empty lists too
        assert fw.evaluate(packets).tolist() == want.tolist() == fw.evaluate(Packets.parse(packets)).tolist()
