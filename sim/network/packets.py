"""Packets and addresses as arrays for the firewall and routing kernels, and VPC route tables.

A batch of packets is a polars DataFrame or a dict of equal-length columns: `src_ip`, `dst_ip`
(uint32 or dotted strings for IPv4, strings for IPv6; a string column may mix both), `protocol`
(IANA number, or a name: tcp, udp, icmp, icmpv6), `src_port`, `dst_port` (0–65535), and for
ICMP `icmp_type`, `icmp_code` (0–255). Missing columns: ports and ICMP type/code read as 0 (as
VPC Flow Logs record ICMP), except that `dst_port` is required when any packet is TCP or UDP.
A packet's source and destination must be of one family.

Integer columns are checked (ranges, `dst_port` when TCP/UDP is present) and folded into the
kernels' pk in one pass of `kernels.firewall.l4_keys`, without copies: uint32 addresses and
integer columns are used in their own dtype. Speed of reading (one core, 10 M packets; on the
2-core development machine): uint32 addresses with uint8 protocol and ICMP, uint16 ports about
1,000 M packets/s; with int64 columns about 380 M/s, int64 addresses too 230 M/s; dotted quads in
a numpy unicode array about 24 M addresses/s (the `dotted_quads` kernel); from a list or a
polars column add the conversion to numpy (about 3 M/s); IPv6 strings about 1 M/s (each
distinct one through `ipaddress`). Parse once with `Packets.parse` and pass the result to every
firewall; a firewall given a dict of typed IPv4 arrays reads it as it scans (`sim.network.firewall`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import polars as pl

from kernels.firewall import (ANY_PORTS, BAD_DST_IP, BAD_DST_PORT, BAD_ICMP_CODE, BAD_ICMP_TYPE, BAD_PROTOCOL,
                              BAD_SRC_IP, BAD_SRC_PORT, ICMP, ICMP_MAX, ICMPV6, PORT_MAX, PROTOCOL_MAX, dotted_quads,
                              l4_keys)
from kernels.routing import NO_ROUTE, build_lpm_v4, build_lpm_v6, lpm_v4, lpm_v6
from scenarios.vpc_check import PROTOCOLS

# protocol names users write (the scenario language's table, without "all")
PROTOCOL_NAMES = {name: number for name, number in PROTOCOLS.items() if number >= 0 and not name.isdigit()}
ECHO_REPLY = {(ICMP, 8): 0, (ICMPV6, 128): 129}  # ICMP echo request -> reply, for `reverse`
MTU_BYTES = 1500  # a flow's bytes travel as packets of at most this many (flow logs, NAT packet counts)
_M64 = (1 << 64) - 1


class PacketError(ValueError):
    """A batch of packets that cannot be read; the message names the column."""


@dataclass(frozen=True)
class Addresses:
    """A column of addresses: `is_v4` per row; IPv4 rows in `v4` (uint32), IPv6 rows in `hi`, `lo`.

    `family` is 4 when every row is IPv4 (an empty column too), 6 when every row is IPv6, 0
    when they mix. A column read from integers is IPv4 throughout: its `v4` is the caller's
    uint32 array itself (not a copy), and `is_v4`, `hi` and `lo` are read-only views of one
    value (no memory per row).
    """

    is_v4: np.ndarray
    v4: np.ndarray
    hi: np.ndarray
    lo: np.ndarray
    family: int = 0


def _all_v4(v4: np.ndarray) -> Addresses:
    n = len(v4)
    zero = np.broadcast_to(np.uint64(0), (n,))
    return Addresses(np.broadcast_to(np.True_, (n,)), v4, zero, zero, 4)


def _native(arr: np.ndarray) -> np.ndarray:
    """`arr` itself, unless its bytes are in the other order (the kernels read native order only)."""
    return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))


def _address_range_error(name: str) -> str:
    return f"{name}: IPv4 addresses as integers must be in 0..4294967295"


def _ints_v4(values: np.ndarray, name: str) -> Addresses:
    v = _native(np.asarray(values))
    if v.dtype != np.uint32:
        if v.size and (v.min() < 0 or v.max() > 0xFFFFFFFF):
            raise PacketError(_address_range_error(name))
        v = v.astype(np.uint32)
    return _all_v4(v)


def _parse_one(text: str, name: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise PacketError(f"{name}: {text!r} is not an IPv4 or IPv6 address") from None


def _strings(arr: np.ndarray, name: str) -> Addresses:
    """Dotted quads through the `dotted_quads` kernel; the rest (IPv6, or errors) one distinct
    string at a time through `ipaddress`."""
    n = len(arr)
    v4, ok = np.zeros(n, np.uint32), np.zeros(n, np.uint8)
    if n:
        dotted_quads(np.ascontiguousarray(arr).view(np.uint32).reshape(n, -1), v4, ok)
    is_v4 = ok.astype(bool)
    hi, lo = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
    rest = np.flatnonzero(~is_v4)
    if len(rest):
        uniq, inverse = np.unique(arr[rest], return_inverse=True)
        parsed = [_parse_one(str(text), name) for text in uniq]
        if any(a.version == 4 for a in parsed):  # not expected: the kernel reads what ipaddress reads
            raise PacketError(f"{name}: {str(uniq[[a.version for a in parsed].index(4)])!r} could not be read")
        hi[rest] = np.array([int(a) >> 64 for a in parsed], np.uint64)[inverse]
        lo[rest] = np.array([int(a) & _M64 for a in parsed], np.uint64)[inverse]
    return Addresses(is_v4, v4, hi, lo, 4 if not len(rest) else 6 if len(rest) == n else 0)


def _address_input(values, name: str):
    """An address column as (integers, None) — not yet checked: the caller checks and converts
    them — or (None, Addresses) read from strings."""
    if isinstance(values, pl.Series):
        if values.null_count():
            raise PacketError(f"{name}: missing addresses (null)")
        if values.dtype.is_integer():
            return _native(values.to_numpy()), None
        if values.dtype != pl.String:
            raise PacketError(f"{name}: expected uint32 or strings, got {values.dtype}")
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return _native(arr), None
    if arr.dtype.kind == "O" or arr.size == 0:
        if any(v is None for v in arr.tolist()):
            raise PacketError(f"{name}: missing addresses (None)")
        arr = arr.astype(str)
    if arr.dtype.kind != "U":
        raise PacketError(f"{name}: expected uint32 or strings, got {arr.dtype}")
    return None, _strings(arr, name)


def parse_addresses(values, name: str = "address") -> Addresses:
    """Read a column of addresses: integers (IPv4) or strings (IPv4 and IPv6)."""
    ints, addresses = _address_input(values, name)
    return addresses if ints is None else _ints_v4(ints, name)


def _columns(packets):
    """A dict of scalars (one packet) as a dict of one-element columns; anything else as is."""
    if isinstance(packets, Mapping) and packets and all(np.ndim(v) == 0 for v in packets.values()):
        return {k: [v] for k, v in packets.items()}
    return packets


def _column(packets, name: str):
    if isinstance(packets, pl.DataFrame):
        return packets.get_column(name) if name in packets.columns else None
    return packets.get(name)


def _int_column(packets, name: str, n: int):
    """A column of integers as it is (native byte order; protocol names read as numbers), None
    when absent; PacketError for a wrong length, dtype or protocol name. Ranges are `l4_keys`'."""
    col = _column(packets, name)
    if col is None:
        return None
    arr = col.to_numpy() if isinstance(col, pl.Series) else np.asarray(col)
    if len(arr) != n:
        raise PacketError(f"{name}: {len(arr)} values for {n} packets")
    if arr.size == 0 and arr.dtype.kind not in "iu":  # an empty list reads as float64
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        if name != "protocol":
            raise PacketError(f"{name}: expected integers, got {arr.dtype}")
        names = {str(x).lower() for x in np.unique(arr.astype(str))}
        bad = sorted(x for x in names if x not in PROTOCOL_NAMES and not x.lstrip("-").isdigit())
        if bad:
            raise PacketError(f"protocol: unknown protocol {bad[0]!r} (use a number or tcp, udp, icmp, icmpv6)")
        arr = np.array([PROTOCOL_NAMES.get(str(x).lower(), None) or int(x) for x in arr], np.int64)
    return _native(arr)


def _attempt(fn, *args):
    """(fn(*args), None), or (None, the message of the PacketError it raised)."""
    try:
        return fn(*args), None
    except PacketError as e:
        return None, str(e)


# The integer columns in the order the kernels take them, and in the order their mistakes are
# reported: name, its bit in `l4_keys`' result, its range.
COLUMNS = ("protocol", "src_port", "dst_port", "icmp_type", "icmp_code")
_RANGES = (("protocol", BAD_PROTOCOL, PROTOCOL_MAX), ("dst_port", BAD_DST_PORT, PORT_MAX),
           ("src_port", BAD_SRC_PORT, PORT_MAX), ("icmp_type", BAD_ICMP_TYPE, ICMP_MAX),
           ("icmp_code", BAD_ICMP_CODE, ICMP_MAX))


def check_bits(bits: int, columns: tuple, found: Mapping | None = None) -> None:
    """Raise the PacketError `Packets.parse` raises for `l4_keys`' bits on `columns` (as in
    COLUMNS, None where absent), if any: the first column in its order with a value out of
    range, or `dst_port` absent while some packet is TCP or UDP. `found`: mistakes found before
    the pass, by column name, reported in the same order."""
    found = found or {}
    for name, bit, hi in _RANGES:
        if found.get(name):
            raise PacketError(found[name])
        if name == "dst_port" and columns[COLUMNS.index(name)] is None and bits & ANY_PORTS:
            raise PacketError("packets: missing column 'dst_port'")
        if bits & bit:
            raise PacketError(f"{name}: values must be in 0..{hi}")


def typed_columns(packets):
    """A dict of typed arrays as the kernels read it, without parsing: (src_ip, dst_ip, columns
    as in COLUMNS with None where absent) when the addresses are uint32 and `protocol` and the
    other columns present are integers, all numpy, one-dimensional, of one length, in native
    byte order; None for any other batch (`Packets.parse` reads those). Nothing is checked
    against its range here: the kernel does that as it reads."""
    if not isinstance(packets, Mapping):
        return None
    src, dst = packets.get("src_ip"), packets.get("dst_ip")
    if not all(isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype == np.dtype(np.uint32) for a in (src, dst)):
        return None
    n = len(src)
    columns = tuple(packets.get(name) for name in COLUMNS)
    if columns[0] is None or len(dst) != n:
        return None
    for c in columns:
        if c is not None and not (isinstance(c, np.ndarray) and c.ndim == 1 and c.dtype.kind in "iu"
                                  and c.dtype.isnative and len(c) == n):
            return None
    return src, dst, columns


@dataclass(frozen=True)
class Packets:
    """A parsed batch: addresses by family, protocol, ports, ICMP type/code, and the kernels' pk.

    Integer columns are the caller's arrays (in their own dtype, not copied); an absent port or
    ICMP column is zeros.
    """

    src: Addresses
    dst: Addresses
    protocol: np.ndarray
    src_port: np.ndarray
    dst_port: np.ndarray
    icmp_type: np.ndarray
    icmp_code: np.ndarray
    pk: np.ndarray

    def __len__(self) -> int:
        return len(self.pk)

    @classmethod
    def parse(cls, packets) -> "Packets":
        """Read a DataFrame, a dict of columns or a dict of scalars (one packet); a `Packets` passes.

        Strings (addresses, protocol names) and lists are converted first; then every integer
        column is checked, and pk computed, in one pass of `l4_keys` that copies nothing. Of
        several mistakes the one reported is the first in the order src_ip, dst_ip, families,
        protocol, dst_port, src_port, icmp_type, icmp_code.
        """
        if isinstance(packets, Packets):
            return packets
        if not isinstance(packets, (pl.DataFrame, Mapping)):
            raise PacketError("packets: expected a polars DataFrame or a dict of columns")
        packets = _columns(packets)
        for name in ("src_ip", "dst_ip", "protocol"):
            if _column(packets, name) is None:
                raise PacketError(f"packets: missing column {name!r}")
        # Mistakes found before the kernel pass, to be reported in the order above: any one
        # of them only after the range checks of the columns before it.
        found = {}
        src_ints, src = _address_input(_column(packets, "src_ip"), "src_ip")  # first: may raise now
        dst_in, found["dst_ip"] = _attempt(_address_input, _column(packets, "dst_ip"), "dst_ip")
        dst_ints, dst = dst_in or (None, None)
        n = len(src_ints if src is None else src.is_v4)
        n_dst = len(dst_ints if dst is None else dst.is_v4) if dst_in else n
        if n_dst != n:  # its range is checked first, as a column of its own
            _, found["dst_ip"] = (None, None) if dst_ints is None else _attempt(_ints_v4, dst_ints, "dst_ip")
            found["dst_ip"] = found["dst_ip"] or f"dst_ip: {n_dst} values for {n} packets"
            dst_ints = dst = None
        cols = {}
        for name, _, _ in _RANGES:
            cols[name], found[name] = _attempt(_int_column, packets, name, n)
        src_v4 = None if src_ints is None or src_ints.dtype == np.uint32 else np.empty(n, np.uint32)
        dst_v4 = None if dst_ints is None or dst_ints.dtype == np.uint32 else np.empty(n, np.uint32)
        pk = np.empty(n, np.uint32)
        bits = l4_keys(None if src_v4 is None else src_ints, None if dst_v4 is None else dst_ints,
                       cols["protocol"], cols["src_port"], cols["dst_port"], cols["icmp_type"], cols["icmp_code"],
                       src_v4, dst_v4, pk)
        if bits & BAD_SRC_IP:
            raise PacketError(_address_range_error("src_ip"))
        if bits & BAD_DST_IP:
            raise PacketError(_address_range_error("dst_ip"))
        if found["dst_ip"]:
            raise PacketError(found["dst_ip"])
        if src is None:
            src = _all_v4(src_ints if src_v4 is None else src_v4)
        if dst is None:
            dst = _all_v4(dst_ints if dst_v4 is None else dst_v4)
        if not (src.family and src.family == dst.family) and (src.is_v4 != dst.is_v4).any():
            k = int(np.flatnonzero(src.is_v4 != dst.is_v4)[0])
            raise PacketError(f"packet {k}: src_ip and dst_ip are of different families")
        check_bits(bits, tuple(cols[name] for name in COLUMNS), found)
        zeros = [np.zeros(n, np.int64) if cols[name] is None else cols[name]
                 for name in ("src_port", "dst_port", "icmp_type", "icmp_code")]
        return cls(src, dst, cols["protocol"], *zeros, pk)


def reverse(packets) -> dict:
    """The return traffic of `packets` (a DataFrame or dict): addresses and ports swapped, ICMP
    echo requests turned into echo replies."""
    packets = _columns(packets)
    p = Packets.parse(packets)
    icmp_type = p.icmp_type.copy()
    for (proto, request), reply in ECHO_REPLY.items():
        icmp_type[(p.protocol == proto) & (p.icmp_type == request)] = reply
    return {"src_ip": np.asarray(_column(packets, "dst_ip")), "dst_ip": np.asarray(_column(packets, "src_ip")),
            "protocol": p.protocol, "src_port": p.dst_port, "dst_port": p.src_port,
            "icmp_type": icmp_type, "icmp_code": p.icmp_code}


# ---- route tables ------------------------------------------------------------------------

_DESCRIBE_TARGETS = ("GatewayId", "NatGatewayId", "TransitGatewayId", "VpcPeeringConnectionId",
                     "NetworkInterfaceId", "InstanceId", "EgressOnlyInternetGatewayId", "LocalGatewayId",
                     "CarrierGatewayId", "CoreNetworkArn")


class RouteTable:
    """A VPC route table: destination CIDR -> target name, looked up by longest prefix match.

    `local` is the route of the VPC's own CIDR blocks: given `vpc_cidrs`, a local route is added
    for each one not listed, a local route outside them is an error, and so is a route that would
    replace one (same destination, another target). Routes more specific than `local` are kept
    and win, as AWS allows since 2021 for middlebox routing. IPv4 and IPv6 routes are separate
    tables; an address no route covers has no target (`NO_ROUTE`, None).
    """

    def __init__(self, routes: Mapping[str, str] | Iterable[tuple[str, str]], vpc_cidrs: Iterable[str] = ()):
        items = list(routes.items() if isinstance(routes, Mapping) else routes)
        table: dict = {}
        for i, (cidr, target) in enumerate(items):
            try:
                net = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"routes[{i}]: {cidr!r} is not a CIDR block") from None
            if net in table:
                raise ValueError(f"routes[{i}]: duplicate destination {net}")
            table[net] = str(target)
        vpc = [ipaddress.ip_network(c, strict=False) for c in vpc_cidrs]
        for net in vpc:
            if table.setdefault(net, "local") != "local":
                raise ValueError(f"routes: {net} is the VPC's local route; its target cannot be {table[net]!r}")
        if vpc:
            stray = [n for n, t in table.items() if t == "local" and n not in vpc]
            if stray:
                raise ValueError(f"routes: local route {stray[0]} is not a CIDR block of the VPC")
        self.routes = table
        self.targets = tuple(dict.fromkeys(table.values()))
        index = {t: i for i, t in enumerate(self.targets)}
        v4 = [(n, index[t]) for n, t in table.items() if n.version == 4]
        v6 = [(n, index[t]) for n, t in table.items() if n.version == 6]
        self._v4 = build_lpm_v4(np.array([int(n.network_address) for n, _ in v4], np.uint32),
                                [n.prefixlen for n, _ in v4], [t for _, t in v4]) if v4 else None
        self._v6 = build_lpm_v6([int(n.network_address) for n, _ in v6], [n.prefixlen for n, _ in v6],
                                [t for _, t in v6]) if v6 else None

    @classmethod
    def from_describe(cls, routes: list[dict], vpc_cidrs: Iterable[str] = ()) -> "RouteTable":
        """From `Routes` as `aws ec2 describe-route-tables` prints them (blackhole routes kept as
        target "blackhole")."""
        pairs = []
        for i, r in enumerate(routes):
            cidr = r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock")
            if cidr is None:
                raise ValueError(f"routes[{i}]: no DestinationCidrBlock or DestinationIpv6CidrBlock")
            target = next((r[k] for k in _DESCRIBE_TARGETS if r.get(k)), None)
            if target is None:
                raise ValueError(f"routes[{i}]: no target ({', '.join(_DESCRIBE_TARGETS)})")
            pairs.append((cidr, "blackhole" if r.get("State") == "blackhole" else target))
        return cls(pairs, vpc_cidrs)

    def lookup(self, addresses) -> np.ndarray:
        """Target index (into `targets`) of each address's longest matching route; NO_ROUTE if none."""
        a = addresses if isinstance(addresses, Addresses) else parse_addresses(addresses, "addresses")
        out = np.full(len(a.is_v4), NO_ROUTE, np.int32)
        rows = np.flatnonzero(a.is_v4)
        if len(rows) and self._v4 is not None:
            res = np.empty(len(rows), np.int32)
            lpm_v4(a.v4[rows], *self._v4, res)
            out[rows] = res
        rows = np.flatnonzero(~a.is_v4)
        if len(rows) and self._v6 is not None:
            res = np.empty(len(rows), np.int32)
            lpm_v6(a.hi[rows], a.lo[rows], *self._v6, res)
            out[rows] = res
        return out

    def target(self, address: str) -> str | None:
        """The target of one address (None when no route covers it)."""
        i = int(self.lookup([address])[0])
        return None if i == NO_ROUTE else self.targets[i]
