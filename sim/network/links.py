"""Flows on links: every flow that passes the firewalls shares bandwidth on the links of its
path (`kernels.bandwidth`, max-min fair), and every flow that reaches a NAT gateway needs one of
its source ports toward its destination, in the same event loop.

Links with a capacity: a NAT gateway (`max_gbps`, 100 Gbit/s by default: the ceiling AWS
scales it to) and a Site-to-Site VPN connection on a virtual private gateway (1.25 Gbit/s: a
Standard tunnel, and a virtual private gateway sends over one tunnel, no ECMP; FACTS
"Site-to-Site VPN"). Internet gateways, peering, transit gateways and Direct Connect
interfaces (no speed in the scenario yet) do not limit a flow here.

A flow carries its request and its response bytes as one transfer; its `duration_s` makes a
rate cap (bytes / duration_s), so alone on its links it lasts exactly that long, and sharing
a saturated link makes it last longer. A flow that the firewalls reject beyond a NAT gateway
takes a port and frees it at once; a flow with no port fails at the gateway with
ErrorPortAllocation (`sim.network.nat`). A port is held from the flow's start to its end.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np

from kernels.bandwidth import BITS_PER_BYTE
from kernels.nat import CONNECTIONS_PER_DESTINATION_PER_IP
from sim.network.bandwidth import share_arrays
from sim.network.nat import NatConnections, count_connections

VPN_TUNNEL_BPS = 1.25e9  # FACTS "Site-to-Site VPN": Standard tunnels 1.25 Gbps each


def capacities(s) -> Dict[str, float]:
    """Link name -> bits/s for the links that limit flows."""
    caps = {}
    for vpc in s.vpcs.values():
        for name, nat in vpc.nat_gateways.items():
            caps[f"nat_gateway:{name}"] = nat.max_gbps * 1e9
        for g in vpc.vpn_gateways.values():
            for c in g.vpn_connections:
                caps[f"vpn:{c}"] = VPN_TUNNEL_BPS
    return caps


def run_links(s, judged: List[tuple], n_periods: int,
              period_s: float) -> Tuple[List[np.ndarray], Dict[str, NatConnections]]:
    """Share the links and hand out NAT ports for every generator's judged flows (`judged`: per
    generator (config, path, outcome, drawn flows, protocol)). Updates the outcomes of flows
    that get no port; returns each generator's flow end times (s) and each NAT gateway's counts."""
    cap_of = capacities(s)
    link_index = {name: k for k, name in enumerate(cap_of)}
    cap_l = np.array(list(cap_of.values()), np.float64)
    nat_names = [n for vpc in s.vpcs.values() for n in vpc.nat_gateways]
    nat_index = {n: k for k, n in enumerate(nat_names)}
    nat_ips = {n: nat.ip_addresses for vpc in s.vpcs.values() for n, nat in vpc.nat_gateways.items()}
    keys: Dict[tuple, int] = {}
    parts = []  # per generator: (nat index or -1, NAT check index, its flows that take part)
    cols = {k: [] for k in ("start", "bits", "cap", "pkey")}
    paths: List[tuple] = []
    for g, (_f, path, out, d, proto) in enumerate(judged):
        nat_at: Optional[int] = next((j for j, c in enumerate(path.forward) if c.link.startswith("nat_gateway:")),
                                     None)
        accepted = out.accepted
        idx = np.flatnonzero(accepted | (out.fail_at >= nat_at if nat_at is not None else False))
        nat = nat_index[path.forward[nat_at].link.partition(":")[2]] if nat_at is not None else -1
        parts.append((nat, nat_at, idx))
        if not len(idx):
            continue
        dur = d.duration_s[idx]
        b = np.where(accepted[idx] & (dur > 0), (d.size_bytes[idx] + d.response_bytes[idx]) * float(BITS_PER_BYTE), 0.0)
        cols["start"].append(d.start_s[idx])
        cols["bits"].append(b)
        cols["cap"].append(np.where(b > 0, b / np.where(dur > 0, dur, 1.0), np.inf))
        paths += [tuple(sorted({link_index[c.link] for c in path.forward if c.link in link_index}))] * len(idx)
        if nat < 0:
            cols["pkey"].append(np.full(len(idx), -1, np.int64))
        else:
            ports = d.dst_port[idx]
            ids = {p: keys.setdefault((nat, path.dst_ip, int(p), proto), len(keys)) for p in np.unique(ports)}
            cols["pkey"].append(np.array([ids[p] for p in ports], np.int64))
    ends = [d.start_s + np.maximum(d.duration_s, 0.0) for (_f, _p, _o, d, _pr) in judged]
    nats = {n: NatConnections(n, v, n_periods) for v, vpc in s.vpcs.items() for n in vpc.nat_gateways}
    if not paths:
        return ends, nats
    start, bits, cap, pkey = (np.concatenate(cols[k]) for k in ("start", "bits", "cap", "pkey"))
    key_list = sorted(keys, key=keys.get)
    limit = np.array([CONNECTIONS_PER_DESTINATION_PER_IP * nat_ips[nat_names[k[0]]] for k in key_list], np.int64)
    key_nat = np.array([k[0] for k in key_list], np.int64)
    r = share_arrays(cap_l, start, bits, paths, cap, period_s=period_s, n_periods=n_periods,
                     ports=(pkey, limit, key_nat, len(nat_names)))
    done, ok, nat_max = r.done_s, r.ok, r.nat_max
    for n, k in nat_index.items():
        nats[n].active_max[:] = nat_max[:, k]
    pos = 0
    for g, (nat, nat_at, idx) in enumerate(parts):
        if not len(idx):
            continue
        _f, path, out, d, _proto = judged[g]
        got, fin = ok[pos:pos + len(idx)], done[pos:pos + len(idx)]
        pos += len(idx)
        if nat_at is not None:  # (every flow of idx reached the gateway)
            out.fail_at[idx[~got]] = nat_at  # ErrorPortAllocation: the flow fails at the gateway
            count_connections(nats[nat_names[nat]], out, idx, got, d, n_periods, period_s)
        shared = got & out.accepted[idx]
        # a flow never slowed ends when it would alone, start + duration_s, to the last bit (the
        # kernel's bits / (bits / duration_s) can miss it by an ulp, and flow logs floor the end)
        alone = ends[g][idx]
        fin = np.where(np.abs(fin - alone) <= 1e-12 * np.maximum(1.0, np.abs(alone)), alone, fin)
        ends[g][idx[shared]] = fin[shared]
    return ends, nats
