"""The builder: wires a validated Scenario into components (declare → connect → check).

It names no service: every host of `sim.registry.HOSTS` declares its components and the
addresses they take, then connects what they send to through one `AddressBook`; an address
no component takes is a WiringError here. Today's topology (docs/DESIGN.md §2): traffic
sources feed functions and queues directly, or SNS topics and EventBridge buses, which
deliver to queues and functions of the account; all functions, queues, event source
mappings and worker fleets form the account's coupled group (one kernel), and topics and
buses are feed-forward components stepped before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from scenarios.errors import ScenarioError
from scenarios.schema import Scenario
from sim.callgraph import check_call_graph
from sim.engine import Component
from sim.registry import HOSTS, AddressBook, BuildContext, outputs


@dataclass
class World:
    """Everything a run is made of: each host's components, in build order, and the address book."""

    scenario: Scenario
    built: Dict[str, List[Component]]
    book: AddressBook = field(default_factory=AddressBook)

    @property
    def sources(self) -> List[Component]:
        """The traffic sources (what counts requests)."""
        return self.built.get("traffic", [])

    @property
    def components(self) -> List[Component]:
        """Every component, the hosts' in their rank (feeders first)."""
        return [c for h in sorted(HOSTS, key=lambda h: h.rank) for c in self.built.get(h.name, [])]

    def outputs(self) -> Dict[str, Any]:
        """Result fields beyond the summary (sampled requests, flow logs), from the hosts that give some."""
        return outputs(self.built)


def build(scenario: Scenario, base_dir: Optional[Path] = None, sample_all: bool = False) -> World:
    """Components for `scenario`; `sample_all` records every attempt (tests).

    Raises ScenarioError for a filter policy
    or event pattern AWS would refuse (they are compiled here, where their matchers live), for
    a call graph whose expected descendants per request are infinite (`sim.callgraph`), and
    WiringError for an address no component takes (a bug: the scenario checks refuse such
    addresses first).
    """
    check_call_graph(scenario)  # a runaway call graph, then calls not simulated yet: ScenarioError
    ctx = BuildContext(scenario, Path.cwd() if base_dir is None else Path(base_dir), sample_all)
    built = {h.name: h.declare(ctx) for h in HOSTS}
    for h in HOSTS:
        if h.connect is not None:
            h.connect(ctx, built[h.name])
    for components in built.values():
        for c in components:
            c.check()
    return World(scenario, built, ctx.book)
