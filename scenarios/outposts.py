"""Typed schema of AWS Outposts racks (`outposts:`), and their cross-field checks.

An Outpost rack has a fixed installed capacity split into pools of instance slots per
instance type (FACTS "Outposts": "fixed installed capacity split into pools per instance
type; a capacity task re-splits them" — we keep one split for the whole run). What runs
there:
- EC2 workloads (`workloads`): instances placed on the rack at the start, in list order,
  while their type's pool has slots; the rest go to the Region (`overflow: region`) or are
  refused (`overflow: refuse`) — counted, not simulated further (no EC2 model here);
- the tasks of an ECS service placed on it (`services.NAME.outpost`: the ECS capacity of an
  Outpost is EC2 instances; `tasks_per_instance` of the service's tasks fit on one), which
  take the slots the workloads left, in launch order; a task that finds no slot is launched
  in the Region on Fargate (`overflow: region`, billed as Fargate) or waits for one
  (`overflow: refuse`: ECS cannot place it; it is launched when a slot frees).
A request served by a task in the Region travels the service link: its answer comes
`service_link.rtt_ms` later (the clients are on premises, beside the rack).

Our simplifications: one service per instance pool (two services sharing a pool would place
their tasks against each other's, which the services' separate runs do not model; refused);
no Fargate Spot on an Outpost service; the service link's bandwidth is not modelled (only its
round trip); the rack is billed at the monthly price of its configuration (`monthly_usd`, from
your quote: AWS prices Outposts racks per configuration and term, with no public list price
per slot), and the Region's share of EC2 workloads is not billed (no EC2 price book).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from scenarios.errors import Problems
from scenarios.yamlpath import index, key, num

OVERFLOWS = ("region", "refuse")
# the instance families an Outposts rack offers (Outposts rack user guide, "Instance types"):
# general purpose, compute, memory, storage and GPU
INSTANCE_TYPE_PREFIXES = ("m5", "m5d", "c5", "c5d", "r5", "r5d", "g4dn", "i3en", "m6i", "c6i", "r6i")
INSTANCE_SIZES = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "metal")


@dataclass
class ServiceLink:
    rtt_ms: float = 20.0  # round trip between the rack and its Region: our assumption, set your own


@dataclass
class Workload:
    """EC2 instances of one type placed on the rack at the start."""

    name: str = ""
    instance_type: str = ""
    count: int = 1
    overflow: str = "region"  # region | refuse


@dataclass
class Outpost:
    capacity: Dict[str, int] = field(default_factory=dict)  # instance type -> slots
    service_link: ServiceLink = field(default_factory=ServiceLink)
    workloads: List[Workload] = field(default_factory=list)
    monthly_usd: Optional[float] = None  # the rack's price per month (your quote); None: not billed


@dataclass
class Placement:
    """An ECS service's tasks on an Outpost (`services.NAME.outpost`)."""

    name: str = ""  # the Outpost
    instance_type: str = ""
    tasks_per_instance: int = 1
    overflow: str = "region"  # region: launched on Fargate in the Region | refuse: waits for a slot


def instance_type_problem(t: str) -> Optional[str]:
    family, _, size = t.partition(".")
    if family not in INSTANCE_TYPE_PREFIXES or size not in INSTANCE_SIZES:
        return (f"{t!r} is not an Outposts rack instance type; families {', '.join(INSTANCE_TYPE_PREFIXES)},"
                f" sizes {', '.join(INSTANCE_SIZES)} (e.g. m5.xlarge)")
    return None


def free_slots(outpost: Outpost) -> Dict[str, int]:
    """Each pool's slots left after the workloads (placed at the start, in list order)."""
    free = dict(outpost.capacity)
    for w in outpost.workloads:
        if w.instance_type in free:
            free[w.instance_type] -= min(w.count, free[w.instance_type])
    return free


def check_outposts(s, problems: Problems) -> None:
    """Every cross-field problem of the Outposts and of the services placed on them."""
    for name, op in s.outposts.items():
        path = key("outposts", name)
        if not op.capacity:
            problems.add(key(path, "capacity"), "an Outpost needs its instance slots, e.g. capacity: {m5.xlarge: 8}")
        for t, n in op.capacity.items():
            problem = instance_type_problem(t)
            if problem:
                problems.add(key(key(path, "capacity"), t), problem)
            elif not 1 <= n <= 1000:
                problems.add(key(key(path, "capacity"), t), f"{n} must be 1-1000 slots")
        if not 0 <= op.service_link.rtt_ms <= 10_000:
            problems.add(key(key(path, "service_link"), "rtt_ms"), f"{num(op.service_link.rtt_ms)} must be 0-10,000 ms")
        if op.monthly_usd is not None and not op.monthly_usd >= 0:
            problems.add(key(path, "monthly_usd"), f"{num(op.monthly_usd)} must be 0 or more")
        for i, w in enumerate(op.workloads):
            wpath = index(key(path, "workloads"), i)
            if w.instance_type not in op.capacity:
                problems.add(key(wpath, "instance_type"), f"{w.instance_type!r} has no pool on this Outpost; pools:"
                                                          f" {', '.join(op.capacity) or 'none'}")
            if not w.count >= 1:
                problems.add(key(wpath, "count"), f"{w.count} must be 1 or more")
            if w.overflow not in OVERFLOWS:
                problems.add(key(wpath, "overflow"), f"{w.overflow!r}; allowed: {', '.join(OVERFLOWS)}")
    pools: Dict[tuple, str] = {}
    for sname, sv in s.services.items():
        pl = sv.outpost
        if pl is None:
            continue
        path = key(key("services", sname), "outpost")
        op = s.outposts.get(pl.name)
        if op is None:
            problems.add(key(path, "name"), f"outpost {pl.name!r} is not defined; defined outposts:"
                                            f" {', '.join(s.outposts) or 'none'}")
            continue
        if pl.instance_type not in op.capacity:
            problems.add(key(path, "instance_type"), f"{pl.instance_type!r} has no pool on outpost {pl.name!r};"
                                                     f" pools: {', '.join(op.capacity)}")
        elif (pl.name, pl.instance_type) in pools:
            problems.add(key(path, "instance_type"), f"the {pl.instance_type} pool of outpost {pl.name!r} already"
                         f" runs service {pools[(pl.name, pl.instance_type)]!r}; one service per pool is simulated")
        else:
            pools[(pl.name, pl.instance_type)] = sname
        if not 1 <= pl.tasks_per_instance <= 100:
            problems.add(key(path, "tasks_per_instance"), f"{pl.tasks_per_instance} must be 1-100")
        if pl.overflow not in OVERFLOWS:
            problems.add(key(path, "overflow"), f"{pl.overflow!r}; allowed: {', '.join(OVERFLOWS)}")
        if sv.spot is not None and sv.spot.spot_weight > 0:
            problems.add(key(key(key("services", sname), "spot"), "spot_weight"),
                         "a service on an Outpost runs no Fargate Spot tasks (spot_weight: 0)")
