"""The builder: wires a validated Scenario into components (declare → connect → check)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from scenarios.schema import Scenario
from sim.compute.lambda_account import LambdaAccount
from sim.engine import Component
from sim.sources import TrafficSource


@dataclass
class World:
    """Everything a run is made of."""

    scenario: Scenario
    account: LambdaAccount
    sources: List[TrafficSource]

    @property
    def components(self) -> List[Component]:
        return [*self.sources, self.account]


def build(scenario: Scenario, base_dir: Optional[Path] = None, sample_all: bool = False) -> World:
    """Components for `scenario`; `sample_all` records every attempt (tests)."""
    sc = scenario
    base_dir = Path.cwd() if base_dir is None else Path(base_dir)
    req = sc.record.requests
    account = LambdaAccount("lambda", sc.account, sc.region, sc.functions, sc.seed, sc.duration_s,
                            sc.record.period_s, sample=req.sample, first_n=req.first_n,
                            sample_all=sample_all, base_dir=base_dir)
    sources = []
    for i, tr in enumerate(sc.traffic):
        src = TrafficSource(i, tr, sc.duration_s, sc.seed, base_dir)
        kind, _, name = tr.target.partition(":")
        if kind != "function":
            raise NotImplementedError(f"target kind {kind!r}")
        port = account.add_source(tr.name, name, tr.invocation, tr.retries)
        src.wire(account, account.inbox, port)
        sources.append(src)
    return World(sc, account, sources)
