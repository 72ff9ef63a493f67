"""Scenario pieces for the VPC tests, from the seed's tables (../shared/seeds/): route tables, SG rules, default ACL."""

from __future__ import annotations

import copy

# The seed's main and private route tables.
MAIN_ROUTES = [{"destination": "10.0.0.0/16", "target": "local"}, {"destination": "0.0.0.0/0", "target": "igw"}]
PRIVATE_ROUTES = [{"destination": "10.0.0.0/16", "target": "local"}]
# The seed's security-group inbound rules (outbound: the default, all traffic).
SEED_SG = {"inbound": [
    {"protocol": "tcp", "ports": 22, "cidr": "0.0.0.0/0"},
    {"protocol": "tcp", "ports": 3389, "cidr": "0.0.0.0/0"},
    {"protocol": "tcp", "ports": 3389, "cidr": "::/0"},
    {"protocol": "tcp", "ports": 443, "cidr": "0.0.0.0/0"},
    {"protocol": "tcp", "ports": 443, "cidr": "::/0"},
    {"protocol": "icmp", "cidr": "0.0.0.0/0"},
]}
# The seed's default network ACL, written out (the same as the implicit default).
SEED_DEFAULT_ACL = {"rules": [
    {"rule": 100, "direction": d, "protocol": "all", "cidr": c, "action": "allow"}
    for d in ("inbound", "outbound") for c in ("0.0.0.0/0",)] + [
    {"rule": 101, "direction": d, "protocol": "all", "cidr": "::/0", "action": "allow"} for d in ("inbound", "outbound")]}


def base() -> dict:
    """One VPC: a public subnet (main table) and a private one, the seed's tables, web and app hosts."""
    return copy.deepcopy({
        "name": "vpc_test", "duration_s": 60, "seed": 1,
        "vpcs": {"main": {
            "cidr": "10.0.0.0/16", "internet_gateway": True, "main_route_table": "main",
            "subnets": {"public": {"cidr": "10.0.1.0/24", "az": "us-east-1a"},
                        "private": {"cidr": "10.0.2.0/24", "az": "us-east-1a", "route_table": "private"}},
            "route_tables": {"main": {"routes": MAIN_ROUTES}, "private": {"routes": PRIVATE_ROUTES}},
            "network_acls": {"default": SEED_DEFAULT_ACL},
            "security_groups": {"web": SEED_SG, "app": {"inbound": [{"protocol": "tcp", "ports": 8080, "group": "web"}]}},
            "hosts": {"web": {"subnet": "public", "private_ip": "10.0.1.10", "public_ip": "54.0.0.1",
                              "security_groups": ["web"]},
                      "app": {"subnet": "private", "private_ip": "10.0.2.10", "security_groups": ["app"]}},
        }},
    })


def vpc(s: dict, name: str = "main") -> dict:
    return s["vpcs"][name]
