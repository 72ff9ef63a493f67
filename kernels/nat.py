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

from kernels import jit
from kernels.heap import H_COLS, heap_pop, heap_push, heap_time

CONNECTIONS_PER_DESTINATION_PER_IP = 55_000  # FACTS "NAT gateway connections" (vpc-nat-gateway.md)
MAX_IPS = 8


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
        q = min(int(t // period_s), n_p - 1)
        while p < q:  # periods without a start: their count at their start
            p += 1
            while heap_n > 0 and heap_time(hh, 0) <= p * period_s:
                k = heap_pop(hh, heap_n)
                heap_n -= 1
                count[k] -= 1
                active -= 1
            if active > active_max[p]:
                active_max[p] = active
        while heap_n > 0 and heap_time(hh, 0) <= t:
            k = heap_pop(hh, heap_n)
            heap_n -= 1
            count[k] -= 1
            active -= 1
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
    while p < n_p - 1:
        p += 1
        while heap_n > 0 and heap_time(hh, 0) <= p * period_s:
            k = heap_pop(hh, heap_n)
            heap_n -= 1
            count[k] -= 1
            active -= 1
        if active > active_max[p]:
            active_max[p] = active
    return failed
