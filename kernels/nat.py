"""A NAT gateway's source ports: the rule, and its numbers.

AWS (FACTS "NAT gateway connections"): a NAT gateway supports 55,000 simultaneous connections
to each unique destination (IP address, port, protocol) per IP address it has, up to 8
addresses; a connection beyond that fails with ErrorPortAllocation. Here a connection holds
its port from its start to its end (no TIME_WAIT) and, if it stays open idle after its bytes,
for that long too (at most IDLE_TIMEOUT_S, when the gateway drops it); a port freed at t serves
a connection starting at t. Connections start in (time, index) order; per destination key, a connection
is established when fewer than the limit of connections to that key are open, else it fails.
A connection of no bytes is established but never open. The most connections open at once
in a period (CloudWatch's Max of ActiveConnectionCount) counts those open at the period's
start and after each start inside it.

The rule runs inside the links' event loop (`kernels.bandwidth.share_window`: ports are taken
at a flow's start and freed at its completion, which bandwidth decides, or after its idle hold). Twin: `kernels/ref/nat.py`.
"""

CONNECTIONS_PER_DESTINATION_PER_IP = 55_000  # FACTS "NAT gateway connections" (vpc-nat-gateway.md)
MAX_IPS = 8
# A NAT gateway drops a connection idle for 350 s (then answers RST); FACTS "NAT gateway
# timeouts" (nat-gateway-troubleshooting.md).
IDLE_TIMEOUT_S = 350.0
