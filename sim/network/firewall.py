"""Network ACLs and security groups in the formats AWS prints them, evaluated in bulk.

`NetworkAcl` is stateless: per direction its rules are read lowest rule number first, the first
rule that matches a packet allows or denies it, and a packet no rule matches is denied (the
`*` rule). `SecurityGroup` holds allow rules only: a packet passes when any rule of its
direction matches. Both match the remote side's address (the source of inbound traffic, the
destination of outbound) against a rule's CIDR, and the destination port against its port
range, in both directions. IPv4 rules never match IPv6 packets, nor the reverse.

Security groups are stateful: the return traffic of a flow allowed in the other direction
passes whatever the rules say. `evaluate(..., tracked=mask)` takes that mask (the packets that
answer an allowed flow; see `sim.network.packets.reverse`). AWS leaves some flows untracked
(security-group-connection-tracking.md): TCP and UDP allowed by a rule for 0.0.0.0/0 (or ::/0)
when the other direction has a rule allowing 0.0.0.0/0 (::/0) on all ports; ICMP is always
tracked. Their return traffic is allowed by that rule rather than by tracking, so the verdict is
the same; what differs is that a rule change cuts them at once and that they do not count
against tracking limits. `untracked()` says which packets start such flows.

Inputs. `NetworkAcl.from_entries` takes `Entries` of `aws ec2 describe-network-acls` (the
RuleNumber 32767 entries are the `*` rule and are read as the implicit deny);
`SecurityGroup.from_permissions` takes `IpPermissions` / `IpPermissionsEgress` of
`aws ec2 describe-security-groups`, the members of referenced groups given as
`group_members={"sg-123": ["10.0.1.5", ...]}` (each member becomes a /32 or /128 of the rule).
`NetworkAcl.from_yaml` reads the scenario form, a list of rules:

    - {rule: 100, direction: inbound, protocol: tcp, ports: "1024-65535", cidr: 0.0.0.0/0, action: allow}
    - {rule: 110, direction: outbound, protocol: icmp, icmp_type: 3, icmp_code: 4, cidr: ::/0, action: deny}

`rule` 1–32766; `direction` inbound | outbound; `protocol` tcp | udp | icmp | icmpv6 | all |
an IANA number (-1 = all); `ports` (TCP and UDP only) a port, "from-to" or all (the default);
`icmp_type`, `icmp_code` (ICMP only) -1 (all, the default) or 0–255; `cidr` an IPv4 or IPv6
CIDR block; `action` allow | deny. Every mistake raises `FirewallConfigError` naming the field.

Packets are a polars DataFrame or a dict of columns (`sim.network.packets`). Batches are
filtered by `kernels.firewall`: a branch-free linear scan up to LINEAR_MAX_RULES rules, a
cross-product table above. A dict of typed numpy arrays (uint32 addresses, integer protocol,
ports, ICMP type and code) is not parsed first: the kernel checks and keys each chunk of its
columns as it scans it, so evaluating it costs about what evaluating parsed `Packets` does
(20-rule ACL 1.2x, 60-rule group 1.1x, with uint8/uint16 columns; about 1.9x and 1.4x with
int64 columns: tests/bench/test_bench_firewall.py). Its mistakes are reported as
`Packets.parse` reports them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np

from kernels.firewall import (ICMP_PROTOCOLS, LINEAR_MAX_RULES, NO_RULE, PORT_PROTOCOLS, TableTooLarge, classify_v4,
                              classify_v6, cross_index_v4, cross_index_v6, first_match_v4, first_match_v6, masks_v4,
                              masks_v6, rule_ranges)
from scenarios.vpc_check import protocol_number
from sim.network.packets import Packets, check_bits, typed_columns

__all__ = ["AclRule", "SgRule", "Tracked", "TRACKED", "NetworkAcl", "SecurityGroup", "FirewallConfigError"]

DIRECTIONS = ("inbound", "outbound")
_M64 = (1 << 64) - 1


class FirewallConfigError(ValueError):
    """A rule that cannot be read; the message starts with the path of the bad field."""


@dataclass(frozen=True)
class AclRule:
    """One network ACL rule; `entry` is the dict it was read from."""

    number: int
    direction: str  # inbound | outbound
    action: str  # allow | deny
    protocol: int  # IANA number, -1 for all
    cidr: str
    port_from: int | None = None  # TCP and UDP
    port_to: int | None = None
    icmp_type: int | None = None  # ICMP and ICMPv6; -1 all
    icmp_code: int | None = None
    entry: dict | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class SgRule:
    """One security group rule (one source of an IpPermission); `entry` is that IpPermission."""

    direction: str
    protocol: int
    port_from: int | None  # TCP/UDP ports; for ICMP the type (FromPort), -1 all
    port_to: int | None  # for ICMP the code (ToPort), -1 all
    cidr: str | None = None
    group_id: str | None = None
    description: str | None = None
    entry: dict | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Tracked:
    """What `SecurityGroup.explain` names for return traffic that passes by connection tracking."""

    reason: str = "return traffic of a tracked connection"


TRACKED = Tracked()


# ---- reading fields ----------------------------------------------------------------------

def _fail(path: str, msg: str):
    raise FirewallConfigError(f"{path}: {msg}")


def _int(value, path: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or value is None:
        _fail(path, f"expected an integer in {lo}..{hi}, got {value!r}")
    try:
        v = int(value)
    except (TypeError, ValueError):
        _fail(path, f"expected an integer in {lo}..{hi}, got {value!r}")
    if str(v) != str(value).strip() and not isinstance(value, int):
        _fail(path, f"expected an integer in {lo}..{hi}, got {value!r}")
    if not lo <= v <= hi:
        _fail(path, f"{v} is out of {lo}..{hi}")
    return v


def _protocol(value, path: str) -> int:
    n = protocol_number(value)
    if n is None:
        _fail(path, f"unknown protocol {value!r} (use -1/all, tcp, udp, icmp, icmpv6 or a number 0..255)")
    return n


def _network(value, path: str, version: int | None = None):
    try:
        net = ipaddress.ip_network(str(value).strip(), strict=False)  # AWS canonicalises host bits
    except ValueError:
        _fail(path, f"{value!r} is not a CIDR block")
    if version and net.version != version:
        _fail(path, f"{value!r} is not an IPv{version} CIDR block")
    return net


def _ports(frm, to, path_from: str, path_to: str) -> tuple[int, int]:
    a, b = _int(frm, path_from, 0, 65535), _int(to, path_to, 0, 65535)
    if a > b:
        _fail(path_from, f"port range {a}-{b} runs backwards (From must be <= To)")
    return a, b


def _icmp(typ, code, path_type: str, path_code: str) -> tuple[int, int]:
    return _int(typ, path_type, -1, 255), _int(code, path_code, -1, 255)


# ---- compiled rule tables ------------------------------------------------------------------

class _Table:
    """The rules of one direction as kernel arrays, per address family; row -> rule index."""

    def __init__(self, rows: list):
        # rows: (network, protocol, port_from, port_to, icmp_type, icmp_code, rule index)
        self.families = {}
        for version in (4, 6):
            rs = [r for r in rows if r[0].version == version]
            if not rs:
                continue
            cols = list(zip(*rs))
            lo, hi = rule_ranges(cols[1], cols[2], cols[3], cols[4], cols[5])
            span = (hi - lo).astype(np.uint32)
            plen = [n.prefixlen for n in cols[0]]
            nets = [int(n.network_address) for n in cols[0]]
            if version == 4:
                arrays = (np.array(nets, np.uint32), masks_v4(plen), lo, span)
            else:
                mask_hi, mask_lo = masks_v6(plen)
                arrays = (np.array([x >> 64 for x in nets], np.uint64), np.array([x & _M64 for x in nets], np.uint64),
                          mask_hi, mask_lo, lo, span)
            self.families[version] = {"arrays": arrays, "rule": np.array(cols[6], np.int32), "cross": None}

    def _cross(self, version: int):
        fam = self.families[version]
        if fam["cross"] is None:
            try:
                fam["cross"] = (cross_index_v4 if version == 4 else cross_index_v6)(*fam["arrays"])
            except TableTooLarge:
                fam["cross"] = False
        return fam["cross"]

    def select(self, remote, pk: np.ndarray, rule_values: np.ndarray, default, dtype) -> np.ndarray:
        """Per packet, rule_values[first matching rule] or `default` (see kernels.firewall)."""
        n = len(pk)
        only = remote.family or None  # one family: no gather, no scatter
        out = np.empty(n, dtype) if only in self.families else np.full(n, default, dtype)
        for version, fam in self.families.items():
            if only is not None and version != only:
                continue
            idx = None if only else np.flatnonzero(remote.is_v4 if version == 4 else ~remote.is_v4)
            take = (lambda a: a) if only else (lambda a: a[idx])
            addr = (take(remote.v4),) if version == 4 else (take(remote.hi), take(remote.lo))
            res = out if only else np.empty(len(idx), dtype)
            self._scan(version, addr, take(pk), None, rule_values, default, dtype, res)
            if not only:
                out[idx] = res
        return out

    def select_columns(self, addr: np.ndarray, columns: tuple, rule_values: np.ndarray, default, dtype):
        """`select` on IPv4 packets given by their remote address (uint32) and integer columns
        (`sim.network.packets.typed_columns`), checked and keyed as they are scanned: the verdicts
        and `l4_keys`' bits. None without IPv4 rules (nothing to scan the columns with)."""
        if 4 not in self.families:
            return None
        out = np.empty(len(addr), dtype)
        return out, self._scan(4, (addr,), None, columns, rule_values, default, dtype, out)

    def _scan(self, version: int, addr: tuple, pk, columns, rule_values, default, dtype, out) -> int:
        fam = self.families[version]
        val = rule_values[fam["rule"]].astype(dtype)
        cross = self._cross(version) if len(fam["rule"]) > LINEAR_MAX_RULES else False
        if cross:
            args = (*addr, pk, *cross, np.append(val, np.array(default, dtype)), out)
            kernel = classify_v4 if version == 4 else classify_v6
        else:
            args = (*addr, pk, *fam["arrays"], val, default, out)
            kernel = first_match_v4 if version == 4 else first_match_v6
        return kernel(*args) if columns is None else kernel(*args, columns)


def _remote(p: Packets, direction: str):
    _check_direction(direction)
    return p.src if direction == "inbound" else p.dst


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction: expected inbound or outbound, got {direction!r}")


def _select(fw, packets, direction: str, rule_values: np.ndarray, default, dtype) -> np.ndarray:
    """Per packet, rule_values[first rule of `direction` matching it] or `default`.

    A dict of typed IPv4 columns (`typed_columns`) is scanned as it is read, pk computed and
    every column checked chunk by chunk in the same kernel call (`kernels.firewall`), so
    that it costs about what parsed `Packets` do; a mistake found is reported as
    `Packets.parse` reports it. Anything else is parsed first. (`direction` checked by the caller.)
    """
    table = fw._tables[direction]
    typed = typed_columns(packets)
    if typed is not None:
        src_ip, dst_ip, columns = typed
        done = table.select_columns(src_ip if direction == "inbound" else dst_ip, columns, rule_values, default, dtype)
        if done is not None:
            out, bits = done
            check_bits(bits, columns)
            return out
    p = Packets.parse(packets)
    return table.select(_remote(p, direction), p.pk, rule_values, default, dtype)


# ---- network ACL ---------------------------------------------------------------------------

def _acl_rule(e: Mapping, path: str) -> AclRule | None:
    if not isinstance(e, Mapping):
        _fail(path, f"expected a mapping, got {type(e).__name__}")
    number = _int(e.get("RuleNumber"), f"{path}.RuleNumber", 1, 32767)
    egress = e.get("Egress")
    if not isinstance(egress, bool):
        _fail(f"{path}.Egress", f"expected true or false, got {egress!r}")
    action = str(e.get("RuleAction", "")).lower()
    if action not in ("allow", "deny"):
        _fail(f"{path}.RuleAction", f"expected allow or deny, got {e.get('RuleAction')!r}")
    protocol = _protocol(e.get("Protocol"), f"{path}.Protocol")
    if ("CidrBlock" in e) == ("Ipv6CidrBlock" in e):
        _fail(path, "needs exactly one of CidrBlock and Ipv6CidrBlock")
    key = "CidrBlock" if "CidrBlock" in e else "Ipv6CidrBlock"
    net = _network(e[key], f"{path}.{key}", 4 if key == "CidrBlock" else 6)
    if number == 32767:  # the `*` rule as describe-network-acls prints it
        if action != "deny" or protocol != -1 or net.prefixlen != 0:
            _fail(f"{path}.RuleNumber", "32767 is the default `*` rule (deny all); use 1..32766")
        return None
    kw = {}
    if protocol in PORT_PROTOCOLS:
        pr = e.get("PortRange")
        if not isinstance(pr, Mapping):
            _fail(f"{path}.PortRange", f"required for protocol {protocol} ({{From, To}})")
        kw["port_from"], kw["port_to"] = _ports(pr.get("From"), pr.get("To"), f"{path}.PortRange.From",
                                                f"{path}.PortRange.To")
    elif protocol in ICMP_PROTOCOLS:
        tc = e.get("IcmpTypeCode") or {}
        kw["icmp_type"], kw["icmp_code"] = _icmp(tc.get("Type", -1), tc.get("Code", -1), f"{path}.IcmpTypeCode.Type",
                                                 f"{path}.IcmpTypeCode.Code")
    return AclRule(number, "outbound" if egress else "inbound", action, protocol, str(net), entry=dict(e), **kw)


_YAML_KEYS = {"rule", "direction", "protocol", "ports", "cidr", "action", "icmp_type", "icmp_code", "description"}


def _yaml_rule(r: Mapping, path: str) -> AclRule:
    if not isinstance(r, Mapping):
        _fail(path, f"expected a mapping, got {type(r).__name__}")
    unknown = sorted(set(r) - _YAML_KEYS)
    if unknown:
        _fail(f"{path}.{unknown[0]}", f"unknown key (expected one of {', '.join(sorted(_YAML_KEYS))})")
    for key in ("rule", "direction", "cidr", "action"):
        if key not in r:
            _fail(f"{path}.{key}", "missing")
    number = _int(r["rule"], f"{path}.rule", 1, 32766)
    direction = str(r["direction"]).lower()
    if direction not in DIRECTIONS:
        _fail(f"{path}.direction", f"expected inbound or outbound, got {r['direction']!r}")
    action = str(r["action"]).lower()
    if action not in ("allow", "deny"):
        _fail(f"{path}.action", f"expected allow or deny, got {r['action']!r}")
    protocol = _protocol(r.get("protocol", "all"), f"{path}.protocol")
    net = _network(r["cidr"], f"{path}.cidr")
    kw = {}
    if protocol in PORT_PROTOCOLS:
        ports = str(r.get("ports", "all")).strip().lower()
        frm, _, to = ports.partition("-")
        kw["port_from"], kw["port_to"] = (0, 65535) if ports == "all" else \
            _ports(frm, to or frm, f"{path}.ports", f"{path}.ports")
    elif "ports" in r and str(r["ports"]).lower() != "all":
        _fail(f"{path}.ports", f"ports apply to tcp and udp only (protocol is {r.get('protocol')!r})")
    if protocol in ICMP_PROTOCOLS:
        kw["icmp_type"], kw["icmp_code"] = _icmp(r.get("icmp_type", -1), r.get("icmp_code", -1),
                                                 f"{path}.icmp_type", f"{path}.icmp_code")
    return AclRule(number, direction, action, protocol, str(net), entry=dict(r), **kw)


def _row(net, rule, index: int):
    is_icmp = rule.protocol in ICMP_PROTOCOLS
    frm = rule.port_from if rule.protocol in PORT_PROTOCOLS else 0
    to = rule.port_to if rule.protocol in PORT_PROTOCOLS else 65535
    typ = (rule.icmp_type if isinstance(rule, AclRule) else rule.port_from) if is_icmp else -1
    code = (rule.icmp_code if isinstance(rule, AclRule) else rule.port_to) if is_icmp else -1
    return net, rule.protocol, frm, to, typ, code, index


class NetworkAcl:
    """A network ACL: numbered allow/deny rules per direction, first match wins, then deny."""

    def __init__(self, rules: Iterable[AclRule]):
        rules = list(rules)
        self._rules, self._tables, self._actions = {}, {}, {}
        for direction in DIRECTIONS:
            mine = sorted((r for r in rules if r.direction == direction), key=lambda r: r.number)
            seen = set()
            for r in mine:
                if r.number in seen:
                    raise FirewallConfigError(f"{direction} rule {r.number}: duplicate rule number")
                seen.add(r.number)
            self._rules[direction] = tuple(mine)
            self._tables[direction] = _Table([_row(ipaddress.ip_network(r.cidr), r, i) for i, r in enumerate(mine)])
            self._actions[direction] = np.array([r.action == "allow" for r in mine], np.uint8)

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping]) -> "NetworkAcl":
        """From `Entries` as `aws ec2 describe-network-acls` prints them."""
        rules = [_acl_rule(e, f"entries[{i}]") for i, e in enumerate(entries)]
        return cls([r for r in rules if r is not None])

    @classmethod
    def from_yaml(cls, rules: Iterable[Mapping]) -> "NetworkAcl":
        """From the scenario form (module doc)."""
        return cls([_yaml_rule(r, f"rules[{i}]") for i, r in enumerate(rules)])

    def rules(self, direction: str = "inbound") -> tuple[AclRule, ...]:
        """The rules of one direction, lowest rule number first."""
        return self._rules[direction]

    def deciding_rule(self, packets, direction: str = "inbound") -> np.ndarray:
        """Per packet, the index into `rules(direction)` of the rule that decides; -1 for the `*` rule."""
        return _first_rule_index(self, packets, direction)

    def evaluate(self, packets, direction: str = "inbound") -> np.ndarray:
        """Per packet, True when the ACL lets it cross the subnet boundary in `direction`."""
        _check_direction(direction)
        return _select(self, packets, direction, self._actions[direction], 0, np.uint8).view(bool)

    def explain(self, packet: Mapping, direction: str = "inbound") -> AclRule | None:
        """The rule that decides one packet (a dict of scalars); None for the implicit deny."""
        i = int(self.deciding_rule(packet, direction)[0])
        return None if i == NO_RULE else self._rules[direction][i]


# ---- security group ------------------------------------------------------------------------

def _sg_rules(perms, direction: str, members: Mapping, path: str) -> list[tuple[SgRule, list]]:
    """(rule, its networks) for each source of each IpPermission."""
    out = []
    for i, p in enumerate(perms or ()):
        where = f"{path}[{i}]"
        if not isinstance(p, Mapping):
            _fail(where, f"expected a mapping, got {type(p).__name__}")
        protocol = _protocol(p.get("IpProtocol"), f"{where}.IpProtocol")
        frm = to = None
        if protocol in PORT_PROTOCOLS:
            frm, to = _ports(p.get("FromPort"), p.get("ToPort"), f"{where}.FromPort", f"{where}.ToPort")
        elif protocol in ICMP_PROTOCOLS:
            frm, to = _icmp(p.get("FromPort", -1), p.get("ToPort", -1), f"{where}.FromPort", f"{where}.ToPort")
        if p.get("PrefixListIds"):
            _fail(f"{where}.PrefixListIds", "prefix lists are not supported; list their CIDRs in IpRanges")

        def rule(**kw):
            return SgRule(direction, protocol, frm, to, entry=dict(p), **kw)

        for j, r in enumerate(p.get("IpRanges") or ()):
            net = _network(r.get("CidrIp"), f"{where}.IpRanges[{j}].CidrIp", 4)
            out.append((rule(cidr=str(net), description=r.get("Description")), [net]))
        for j, r in enumerate(p.get("Ipv6Ranges") or ()):
            net = _network(r.get("CidrIpv6"), f"{where}.Ipv6Ranges[{j}].CidrIpv6", 6)
            out.append((rule(cidr=str(net), description=r.get("Description")), [net]))
        for j, g in enumerate(p.get("UserIdGroupPairs") or ()):
            gid = g.get("GroupId")
            if gid not in members:
                _fail(f"{where}.UserIdGroupPairs[{j}].GroupId",
                      f"members of {gid!r} unknown: pass group_members={{{gid!r}: [addresses]}}")
            nets = [_network(a, f"group_members[{gid!r}][{k}]") for k, a in enumerate(members[gid])]
            out.append((rule(group_id=gid, description=g.get("Description")), nets))
        if not (p.get("IpRanges") or p.get("Ipv6Ranges") or p.get("UserIdGroupPairs")):
            _fail(where, "no source or destination (IpRanges, Ipv6Ranges or UserIdGroupPairs)")
    return out


class SecurityGroup:
    """A security group: allow rules per direction, any match allows; stateful (module doc).

    Built from (rule, its networks) pairs, usually by `from_permissions`: a rule naming a
    referenced group holds one network per member address.
    """

    def __init__(self, rules: Iterable[tuple[SgRule, list]], group_id: str | None = None):
        self.group_id = group_id
        self._sources = list(rules)
        self._rules, self._tables = {}, {}
        for direction in DIRECTIONS:
            mine = [(r, nets) for r, nets in self._sources if r.direction == direction]
            self._rules[direction] = tuple(r for r, _ in mine)
            self._tables[direction] = _Table([_row(net, r, i) for i, (r, nets) in enumerate(mine) for net in nets])

    @classmethod
    def from_permissions(cls, ingress: Iterable[Mapping] = (), egress: Iterable[Mapping] = (),
                         group_members: Mapping[str, Iterable[str]] | None = None,
                         group_id: str | None = None) -> "SecurityGroup":
        """From `IpPermissions` and `IpPermissionsEgress` as `aws ec2 describe-security-groups`
        prints them; `group_members` gives the addresses of each referenced group."""
        members = dict(group_members or {})
        rules = _sg_rules(ingress, "inbound", members, "IpPermissions")
        rules += _sg_rules(egress, "outbound", members, "IpPermissionsEgress")
        return cls(rules, group_id)

    @classmethod
    def combine(cls, groups: Iterable["SecurityGroup"]) -> "SecurityGroup":
        """The groups of one network interface as one: a packet passes if any group allows it."""
        return cls([s for g in groups for s in g._sources])

    def rules(self, direction: str = "inbound") -> tuple[SgRule, ...]:
        """The rules of one direction, one per source of each IpPermission, in the given order."""
        return self._rules[direction]

    def matching_rule(self, packets, direction: str = "inbound") -> np.ndarray:
        """Per packet, the index into `rules(direction)` of the first rule allowing it; -1 if none."""
        return _first_rule_index(self, packets, direction)

    def evaluate(self, packets, direction: str = "inbound", tracked=None) -> np.ndarray:
        """Per packet, True when the group lets it in (inbound) or out (outbound); `tracked` marks
        packets answering a flow allowed the other way, which pass whatever the rules."""
        _check_direction(direction)
        n = len(self._rules[direction])
        allowed = _select(self, packets, direction, np.ones(n, np.uint8), 0, np.uint8).view(bool)
        if tracked is not None:
            allowed |= np.asarray(tracked, bool)
        return allowed

    def untracked(self, packets, direction: str = "inbound") -> np.ndarray:
        """Per packet, True when it starts a flow AWS does not track (module doc)."""
        p = Packets.parse(packets)
        other = DIRECTIONS[1 - DIRECTIONS.index(direction)]
        open_here = SecurityGroup([(r, [n for n in nets if n.prefixlen == 0]) for r, nets in self._sources
                                   if r.direction == direction])
        result = open_here.evaluate(p, direction) & np.isin(p.protocol, PORT_PROTOCOLS)
        for version in (4, 6):
            for proto in PORT_PROTOCOLS:
                answered = any(r.direction == other and any(n.prefixlen == 0 and n.version == version for n in nets)
                               and (r.protocol == -1 or (r.protocol == proto and (r.port_from, r.port_to) == (0, 65535)))
                               for r, nets in self._sources)
                if not answered:
                    rows = (p.src.is_v4 if version == 4 else ~p.src.is_v4) & (p.protocol == proto)
                    result &= ~rows
        return result

    def explain(self, packet: Mapping, direction: str = "inbound", tracked: bool = False) -> SgRule | Tracked | None:
        """The first rule allowing one packet (a dict of scalars); TRACKED for tracked return
        traffic no rule allows; None when the group drops it."""
        i = int(self.matching_rule(packet, direction)[0])
        if i != NO_RULE:
            return self._rules[direction][i]
        return TRACKED if tracked else None


def _first_rule_index(fw, packets, direction: str) -> np.ndarray:
    """Per packet, the index into `fw.rules(direction)` of the first matching rule; -1 if none
    (the ACL's deciding rule and the security group's allowing rule are the same lookup)."""
    _check_direction(direction)
    n = len(fw._rules[direction])
    return _select(fw, packets, direction, np.arange(n, dtype=np.int32), NO_RULE, np.int32)
