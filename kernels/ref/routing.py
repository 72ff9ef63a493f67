"""Plain-Python twins of `kernels.routing`, on `ipaddress` objects, written for obviousness."""

import ipaddress

from kernels.routing import NO_ROUTE


def lpm_ref(routes, address):
    """The target of the longest prefix in `routes` (pairs of ip_network, target) holding `address`.

    Only routes of the address's own family can hold it; NO_ROUTE when none does.
    """
    address = ipaddress.ip_address(address)
    best, best_len = NO_ROUTE, -1
    for network, target in routes:
        if network.version == address.version and address in network and network.prefixlen > best_len:
            best, best_len = target, network.prefixlen
    return best


def locate_ref(bounds, x):
    """Index of the elementary interval holding x: the last boundary <= x (bounds sorted, bounds[0] = 0)."""
    return max(i for i, b in enumerate(bounds) if b <= x)
