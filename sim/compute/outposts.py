"""AWS Outposts racks (`outposts:`): what is placed on each, and the rack's bill.

The placing itself happens where the work runs: EC2 workloads at the start (here, in list
order, by `scenarios.outposts.free_slots`), an ECS service's tasks at their launches
(`kernels.fargate`, SI_OUTPOST_SLOTS: the slots the workloads left in its pool × its
`tasks_per_instance`). This component reports, per Outpost and instance pool, the slots,
the workloads placed and sent away, and the service running there: its tasks on the rack
(mean, and the most at once it could hold), launches that found no slot, and the requests
served in the Region across the service link.

Bill (AWSOutposts): a rack is priced per configuration and term, with no public price per
slot; `monthly_usd` (your quote) is billed as `RackMonth` usage of the months simulated
(duration / billing.month_h), at the price book's pass-through rate of $1 per USD-month.
Without it the rack is not billed (said in the summary: `billed: false`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Dict, List

import numpy as np

from kernels import fargate as F
from scenarios.outposts import free_slots
from sim.engine import Component


class Outposts(Component):
    def __init__(self, sc, services=None):
        super().__init__("outposts")
        self.sc, self.services = sc, services  # the services' component, read when the run is over

    def step(self, t0: float, t1: float) -> None:  # nothing runs here: the services' component places tasks
        pass

    def placements(self) -> Dict[str, List[dict]]:
        """Per Outpost, its workloads: placed on the rack or sent away (in list order)."""
        out: Dict[str, List[dict]] = {}
        for name, op in self.sc.outposts.items():
            free = dict(op.capacity)
            rows = []
            for w in op.workloads:
                placed = min(w.count, free.get(w.instance_type, 0))
                free[w.instance_type] = free.get(w.instance_type, 0) - placed
                rows.append({"name": w.name or w.instance_type, "instance_type": w.instance_type, "placed": placed,
                             "in_region" if w.overflow == "region" else "refused": w.count - placed})
            out[name] = rows
        return out

    def summary(self) -> Dict[str, dict]:
        runs = {r.name: r for r in (self.services.runs if self.services is not None else [])}
        t_end = self.sc.duration_s
        placements = self.placements()
        out: Dict[str, dict] = {}
        for name, op in self.sc.outposts.items():
            left = free_slots(op)
            pools = {}
            for itype, slots in op.capacity.items():
                row = {"slots": slots, "used_by_workloads": slots - left[itype], "free_for_services": left[itype]}
                for sname, sv in self.sc.services.items():
                    pl = sv.outpost
                    if pl is None or pl.name != name or pl.instance_type != itype or sname not in runs:
                        continue
                    pm = runs[sname].pm.sum(axis=0)
                    row.update(service=sname, task_slots=left[itype] * pl.tasks_per_instance,
                               tasks_on_outpost_mean=float(pm[F.PM_OUTPOST_TASK_S] / t_end),
                               launches_unplaced=int(pm[F.PM_UNPLACED]),
                               requests_served_in_region=int(pm[F.PM_IN_REGION]))
                pools[itype] = row
            out[name] = {"pools": pools, "workloads": placements[name],
                         "service_link_rtt_ms": op.service_link.rtt_ms,
                         "monthly_usd": op.monthly_usd, "billed": op.monthly_usd is not None}
        return out

    def summary_sections(self) -> dict:
        return {"outposts": self.summary()} if self.sc.outposts else {}

    def usage(self):
        """(whole run, per period) AWSOutposts RackMonth: each rack's quoted monthly price times the
        months simulated (an hourly meter's milliseconds per period, sim.billing.meters)."""
        from sim.billing.meters import MeterTable, period_ms

        billed = [(n, op) for n, op in self.sc.outposts.items() if op.monthly_usd is not None]
        if not billed:
            return [], []
        period_s, t_end = self.sc.record.period_s, self.sc.duration_s
        n_periods = max(1, int(np.ceil(t_end / period_s - 1e-9)))
        month_ms = Decimal(repr(self.sc.billing.month_h)) * 3_600_000
        table = MeterTable("AWSOutposts", [f"outpost:{n}" for n, _ in billed], n_periods, period_s)
        table.declare("RackMonth", "USD-Months", [Decimal(repr(op.monthly_usd)) / month_ms for _, op in billed])[:] = \
            period_ms(n_periods, period_s, t_end)[:, None]
        return table.usage()
