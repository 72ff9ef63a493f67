"""A NAT gateway's source ports: connections per destination, ErrorPortAllocation, and the
concurrent connections per period.

AWS (FACTS "NAT gateway connections"): a NAT gateway supports 55,000 simultaneous connections
to each unique destination (IP address, port, protocol) per IP address it has, up to 8
addresses; a connection beyond that fails with ErrorPortAllocation. Here a connection holds
its port from its start to its end (no TIME_WAIT), and a port freed at t serves a connection
starting at t. Connections start in (time, index) order; per destination `key`, a
connection is established when fewer than `limit` connections to that key are open, else it
fails. A connection of zero duration is established but never open.

Per period (of `period_s`), `active_max[p]` is the most connections open at once (CloudWatch's
Max of ActiveConnectionCount): the count at the period's start and after each start inside it.

Twin: `kernels/ref/nat.py`.
"""

import numpy as np

from kernels import jit, jit_inline
from kernels.heap import H_COLS, heap_pop, heap_push, heap_time

CONNECTIONS_PER_DESTINATION_PER_IP = 55_000  # FACTS "NAT gateway connections" (vpc-nat-gateway.md)
MAX_IPS = 8


@jit_inline
def _close_until(t, hh, heap_n, count, active):
    """Close the connections that end by t; returns (heap size, open connections)."""
    while heap_n > 0 and heap_time(hh, 0) <= t:
        k = heap_pop(hh, heap_n)
        heap_n -= 1
        count[k] -= 1
        active -= 1
    return heap_n, active


@jit_inline
def _to_period(q, p, period_s, hh, heap_n, count, active, active_max):
    """Step from period p to q: each period passed counts what is open at its start."""
    while p < q:
        p += 1
        heap_n, active = _close_until(p * period_s, hh, heap_n, count, active)
        if active > active_max[p]:
            active_max[p] = active
    return p, heap_n, active


@jit
def allocate_ports(start, end, key, n_keys, limit, period_s, ok, active_max):
    """Connections f (start[f] ascending, end[f] >= start[f], destination key[f] < n_keys):
    ok[f] = True when established; active_max[p] per period (its length is the number of
    periods; the last one takes everything later). Returns the number of failures."""
    n = start.shape[0]
    n_p = active_max.shape[0]
    hh = np.zeros((max(n, 1), H_COLS), np.int64)
    heap_n = 0
    count = np.zeros(n_keys, np.int64)
    active = 0
    failed = 0
    p = 0
    for f in range(n):
        t = start[f]
        p, heap_n, active = _to_period(min(int(t // period_s), n_p - 1), p, period_s, hh, heap_n, count, active,
                                       active_max)
        heap_n, active = _close_until(t, hh, heap_n, count, active)
        k = key[f]
        if count[k] < limit:
            ok[f] = True
            if end[f] > t:
                count[k] += 1
                active += 1
                heap_n = heap_push(hh, heap_n, end[f], f, k)
                if active > active_max[p]:
                    active_max[p] = active
        else:
            ok[f] = False
            failed += 1
    _to_period(n_p - 1, p, period_s, hh, heap_n, count, active, active_max)
    return failed
