"""The NAT benchmark's scenario (issue "Links and bandwidth"): a host in a private subnet sends
flows to the internet through one NAT gateway at 5 Gbit/s (the bandwidth AWS starts one at),
Poisson arrivals; request and response sizes and each flow's duration alone are lognormal, so
every flow has a cap of its own and the gateway saturates at peaks. The SimPy baseline draws
flows from the same distributions."""

from __future__ import annotations

import math

import numpy as np

NAT_GBPS = 5.0
SIZE = {"dist": "lognormal", "median": 20_000, "p99": 2_000_000}
RESPONSE = {"dist": "lognormal", "median": 50_000, "p99": 5_000_000}
DURATION = {"dist": "lognormal", "median": 0.5, "p99": 5.0}
Z_99 = 2.3263478740408408


def nat_scenario(rate_per_s: float, duration_s: float, seed: int = 1) -> dict:
    return {
        "name": "bench_nat", "duration_s": duration_s, "seed": seed, "record": {"period_s": 60},
        "vpcs": {"prod": {
            "cidr": "10.0.0.0/16", "internet_gateway": True, "main_route_table": "main",
            "subnets": {"public": {"cidr": "10.0.1.0/24", "az": "us-east-1a"},
                        "app": {"cidr": "10.0.2.0/24", "az": "us-east-1a", "route_table": "private"}},
            "route_tables": {
                "main": {"routes": [{"destination": "10.0.0.0/16", "target": "local"},
                                    {"destination": "0.0.0.0/0", "target": "igw"}]},
                "private": {"routes": [{"destination": "10.0.0.0/16", "target": "local"},
                                       {"destination": "0.0.0.0/0", "target": "nat:nat1"}]}},
            "nat_gateways": {"nat1": {"subnet": "public", "elastic_ip": "52.0.0.10", "max_gbps": NAT_GBPS}},
            "hosts": {"app1": {"subnet": "app", "private_ip": "10.0.2.10"}},
        }},
        "flows": [{"name": "egress", "src": "app1", "dst": "internet:203.0.113.7", "protocol": "tcp",
                   "dst_ports": [{"port": 443}], "rate_per_s": rate_per_s, "starts": "poisson",
                   "size_bytes": SIZE, "response_bytes": RESPONSE, "duration_s": DURATION}],
    }


def _lognormal(rng, d: dict, n: int) -> np.ndarray:
    mu = math.log(d["median"])
    return rng.lognormal(mu, (math.log(d["p99"]) - mu) / Z_99, n)


def baseline_flows(rate_per_s: float, n: int, seed: int = 1):
    """(start s, bits, cap bits/s) of n flows drawn like the scenario's."""
    rng = np.random.default_rng(seed)
    start = np.cumsum(rng.exponential(1 / rate_per_s, n))
    bits = (np.maximum(np.rint(_lognormal(rng, SIZE, n)), 40) + np.maximum(np.rint(_lognormal(rng, RESPONSE, n)), 40)) * 8
    return start, bits, bits / _lognormal(rng, DURATION, n)
