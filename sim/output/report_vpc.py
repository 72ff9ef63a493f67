"""The report's VPC section: flows per VPC and per generator, where they went, and flows per generator over time.

Where the numbers come from: `summary.vpcs` counts each flow once, in the VPC where its
generator's source is (so a VPC that only receives flows, across a peering or a transit
gateway, shows 0 flows while its rules count them); the report adds, per VPC, the flows that
arrive from elsewhere, from the generators' destinations in the resolved config. Flows over
time come from the flow log records (`Result.flow_logs`, which sim.sweep.rundir.read_run also
loads from `flow_logs.parquet` when a report is rebuilt): a flow counts in the period of its start, as rejected when any of its records is a
REJECT. A flow that meets no interface (no route) has no record, so the plot notes how many
flows it cannot show.
"""

from __future__ import annotations

import html
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from sim.output.diagram import arrivals, generator_rows
from sim.output.report_format import number_text, pct_text
from sim.output.result import Result


def flows_over_time(logs: pl.DataFrame, period_s: float, accepted_total: Optional[Mapping[str, int]] = None
                    ) -> Dict[str, Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per generator: (period start s, accepted flows, rejected flows) per period, from flow log records.

    Flow logs give each interface's verdict, not the flow's: a flow dropped after its last
    interface (no route onwards) has only ACCEPT records. All flows of a generator share one
    path, and an accepted flow reaches every interface on it both ways, so a flow counts as
    accepted when it has no REJECT record and as many records as the generator's fullest flow,
    and the generator accepted some flows at all (`accepted_total`, from the summary).
    """
    if logs is None or logs.height == 0:
        return {}
    per_flow = (logs.group_by("flow", "flow_id")
                .agg(pl.col("start").min(), (pl.col("action") == "REJECT").any().alias("reject"),
                     pl.len().alias("records")))
    full = pl.col("records") == pl.col("records").max().over("flow")
    some = pl.col("flow").replace_strict(dict(accepted_total or {}), default=1, return_dtype=pl.Int64) > 0
    per_flow = per_flow.with_columns(
        (pl.col("start") // period_s * period_s).alias("t"),
        (~pl.col("reject") & full & some).alias("ok"))
    out = {}
    t_all = np.unique(per_flow["t"].to_numpy())
    idx = {float(t): i for i, t in enumerate(t_all)}
    for name in logs["flow"].unique(maintain_order=True).to_list():
        part = per_flow.filter(pl.col("flow") == name)
        g = part.group_by("t").agg(pl.col("ok").sum().alias("acc"), (~pl.col("ok")).sum().alias("rej"))
        acc = np.zeros(len(t_all))
        rej = np.zeros(len(t_all))
        for t, a, r in g.iter_rows():
            acc[idx[float(t)]], rej[idx[float(t)]] = a, r
        out[name] = (t_all.astype(float), acc, rej)
    return out


def flows_figure(result: Result, plotter) -> Optional[Figure]:
    """Accepted and rejected flows per generator per period: two panels sharing the time axis."""
    logs = result.flow_logs
    period = plotter.period_s or 60.0
    accepted = {r["name"]: r["accepted"] for r in generator_rows(result.summary, result.config or {})}
    per = flows_over_time(logs, period, accepted)
    if not per:
        return None
    fig, (top, bottom) = plotter.figure(2, height_in=5.6)
    names = list(per)
    for i, name in enumerate(names):
        t, acc, rej = per[name]
        colour = f"C{i % 10}"
        if acc.any():
            plotter.step(top, t, acc, color=colour, label=name)
        if rej.any():
            plotter.step(bottom, t, rej, color=colour, label=name)
    top.set_title("accepted", fontsize="medium", loc="left")
    bottom.set_title("rejected", fontsize="medium", loc="left")
    for ax in (top, bottom):
        ax.set_ylabel(f"flows {plotter.per_period()}")
        ax.set_ylim(bottom=0)
        plotter.legend(ax)
    bottom.set_xlabel(f"{plotter.t_label}; a flow counts in the period it starts")
    return fig


def _series(metrics: Optional[pl.DataFrame], namespace: str, metric: str) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """dimension value -> (period start s, value) of one metric."""
    if metrics is None or metrics.height == 0:
        return {}
    part = metrics.filter((pl.col("namespace") == namespace) & (pl.col("metric") == metric)).sort("time_s")
    out = {}
    for dim in part["dimension"].unique(maintain_order=True).to_list():
        d = part.filter(pl.col("dimension") == dim)
        out[dim.partition("=")[2]] = (d["time_s"].to_numpy(), d["value"].to_numpy())
    return out


def links_figure(result: Result, plotter) -> Optional[Figure]:
    """Each limiting link's utilisation per period (bits carried over its nominal capacity)."""
    per = _series(result.metrics, "cloudtwin/Links", "Utilization")
    if not per:
        return None
    fig, ax = plotter.figure(1)
    for i, (name, (t, v)) in enumerate(per.items()):
        plotter.step(ax, t, 100 * v, color=f"C{i % 10}", label=name)
    ax.axhline(100, color="0.5", linewidth=0.8, linestyle=":")
    ax.set_ylabel(f"utilisation, % {plotter.per_period()}")
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"{plotter.t_label}; bits carried over the link's nominal capacity")
    plotter.legend(ax)
    return fig


_STATE_COLOURS = {"up": "C2", "blackhole": "C3", "failover": "C1"}


def failover_figure(result: Result, plotter) -> Optional[Figure]:
    """Each DX interface's capacity over time, shaded by state: up on DX, carried nowhere until
    BGP notices, on the backup VPN."""
    ifaces = {(v, n): x for v, vpc in (result.summary.get("vpcs") or {}).items()
              for n, x in (vpc.get("dx_interfaces") or {}).items()}
    if not ifaces:
        return None
    fig, ax = plotter.figure(1)
    t_end = float(result.summary.get("duration_s") or 0.0)
    for i, ((_v, name), x) in enumerate(ifaces.items()):
        ch = x["changes"]
        t = np.array([c[0] for c in ch] + [t_end])
        cap = np.array([c[2] for c in ch] + [ch[-1][2]])
        ax.plot(t / plotter.t_div, cap, drawstyle="steps-post", color=f"C{i % 10}", label=name)
        for (a, state, _c), b in zip(ch, list(t[1:])):
            if state != "up" and b > a:
                ax.axvspan(a / plotter.t_div, b / plotter.t_div, color=_STATE_COLOURS[state], alpha=0.15, lw=0)
    ax.set_ylabel("capacity, Gbit/s")
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"{plotter.t_label}; red: down, before BGP notices; orange: on the backup VPN")
    plotter.legend(ax)
    return fig


def flow_times_figure(result: Result, plotter) -> Optional[Figure]:
    """The distribution of flow completion times per generator, function and service (cumulative,
    log time axis), from the summary's histograms."""
    curves = []
    for v in (result.summary.get("vpcs") or {}).values():
        for kind, noun in (("generators", ""), ("functions", "function "), ("services", "service ")):
            for name, g in (v.get(kind) or {}).items():
                h = (g.get("flow_time_s") or {}).get("histogram")
                if h:
                    curves.append((f"{noun}{name}", h))
    if not curves:
        return None
    fig, ax = plotter.figure(1, time=False)
    for i, (name, h) in enumerate(curves):
        counts = np.asarray(h["counts"], float)
        k = h["first"] + np.arange(len(counts) + 1)
        edges = h["min_s"] * 10 ** (k / h["per_decade"])
        cdf = np.concatenate([[0.0], np.cumsum(counts) / counts.sum()])
        ax.plot(edges, 100 * cdf, drawstyle="steps-post", color=f"C{i % 10}", label=name)
    ax.set_xscale("log")
    ax.set_ylim(0, 100)
    ax.set_ylabel("flows done, %")
    ax.set_xlabel("flow completion time, s (log scale; bins 12 % wide)")
    plotter.legend(ax)
    return fig


def missing_from_logs(result: Result) -> Dict[str, int]:
    """Per generator, the flows the summary counts that have no flow log record (they met no interface)."""
    logs = result.flow_logs
    seen = ({} if logs is None or logs.height == 0 else
            dict(logs.group_by("flow").agg(pl.col("flow_id").n_unique()).iter_rows()))
    out = {}
    for r in generator_rows(result.summary, result.config):
        gap = r["flows"] - int(seen.get(r["name"], 0))
        if gap > 0:
            out[r["name"]] = gap
    return out


def _place(p: str, addr: str) -> str:
    return f"{addr} ({p})" if p in ("internet", "on-premises") else f"{addr} in {p}"


# (summary key, column heading) of the tables of NAT gateways, functions in a VPC and DX interfaces
_NAT_COLUMNS = (("connection_attempts", "connection attempts"), ("connections_established", "established"),
                ("port_allocation_errors", "port allocation errors"), ("rejected_beyond", "rejected beyond"),
                ("idle_timeouts", "idle timeouts"), ("active_connections_max", "most open at once"),
                ("bytes_processed", "bytes processed"), ("peak_gbps", "peak Gbit/s"),
                ("capacity_gbps", "capacity at the end, Gbit/s"), ("packets_dropped", "packets dropped"),
                ("down_s", "seconds down"))
_FN_COLUMNS = (("flows", "flows"), ("accepted", "accepted"), ("rejected", "rejected"),
               ("port_allocation_errors", "port allocation errors"), ("bytes_accepted", "bytes accepted"),
               ("mean_flow_time_s", "mean flow time (s)"), ("max_flow_time_s", "longest (s)"))
_DX_COLUMNS = (("connection", "connection"), ("bytes_over_dx", "bytes over DX"),
               ("bytes_over_backup_vpn", "bytes over the backup VPN"), ("failovers", "failovers"),
               ("blackhole_s", "seconds carried nowhere"))


def _entity_table(vpcs: Mapping[str, Any], section: str, table_id: str, title: str, noun: str, columns, cell,
                  explain: str) -> str:
    """A table of one kind of thing (`noun`) per VPC (vpcs.VPC.SECTION.NAME), one row each, or ''."""
    body = ""
    for vpc, v in vpcs.items():
        for name, c in (v.get(section) or {}).items():
            k = f"vpcs.{vpc}.{section}.{name}"
            body += (f"<tr><th>{html.escape(name)}</th><td>{html.escape(vpc)}</td>"
                     + "".join(cell(f"{k}.{q}", c.get(q)) for q, _h in columns) + "</tr>")
    if not body:
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>" for _q, h in columns)
    return (f'<h3>{html.escape(title)}</h3><p class="explain">{explain}</p><div class="scroll"><table id="{table_id}">'
            f"<tr><th>{html.escape(noun)}</th><th>VPC</th>{head}</tr>{body}</table></div>")


def vpc_html(result: Result, cell: Callable[[str, Any], str], figure_html: Callable[..., str]) -> str:
    """The VPC section (module doc); `cell` writes a table cell with its summary key, `figure_html` a figure."""
    summary, config = result.summary, result.config or {}
    vpcs = summary.get("vpcs")
    if not vpcs:
        return ""
    rows = generator_rows(summary, config)
    parts = ['<section id="vpcs"><h2>VPC flows</h2>',
             '<p class="explain">Each flow is counted once, in the VPC where it starts. Flows that cross into '
             'another VPC (peering, transit gateway) are listed again under that VPC as arriving flows.</p>']
    head = ("<tr><th>VPC</th><th>flows started here</th><th>accepted</th><th>rejected</th><th>bytes accepted</th>"
            "<th>bytes out to the internet</th><th>bytes between AZs (billed each way)</th>"
            "<th>flows arriving from elsewhere</th><th>of which accepted</th><th>flow log records</th></tr>")
    body = ""
    for name, v in vpcs.items():
        n_in, acc_in, names = arrivals(rows, name)
        esc = html.escape(name)
        via = f' title="{html.escape(", ".join(names), quote=True)}"' if names else ""
        body += (f"<tr><th>{esc}</th>{cell(f'vpcs.{name}.flows', v.get('flows'))}"
                 f"{cell(f'vpcs.{name}.accepted', v.get('accepted'))}{cell(f'vpcs.{name}.rejected', v.get('rejected'))}"
                 f"{cell(f'vpcs.{name}.bytes_accepted', v.get('bytes_accepted'))}"
                 f"{cell(f'vpcs.{name}.bytes_out_to_internet', v.get('bytes_out_to_internet'))}"
                 f"{cell(f'vpcs.{name}.bytes_inter_az', v.get('bytes_inter_az'))}"
                 f'<td class="num" data-arriving="{n_in}"{via}>{number_text(n_in)}</td>'
                 f'<td class="num">{number_text(acc_in)}</td>'
                 f"{cell(f'vpcs.{name}.flow_log_records', v.get('flow_log_records'))}</tr>")
    parts.append(f'<div class="scroll"><table id="vpc-totals">{head}{body}</table></div>')
    if rows:
        gen_body = ""
        for r in rows:
            k = f"vpcs.{r['counted_in']}.generators.{r['name']}"
            share = pct_text(r["accepted"] / r["flows"]) if r["flows"] else "–"
            gen_body += (f"<tr><td>{html.escape(r['name'])}</td>"
                         f"<td>{html.escape(_place(r['src_place'], r['src']))}</td>"
                         f"<td>{html.escape(_place(r['dst_place'], r['dst']))}</td>"
                         f"{cell(k + '.flows', r['flows'])}{cell(k + '.accepted', r['accepted'])}"
                         f"{cell(k + '.rejected', r['rejected'])}<td class=\"num\">{share}</td></tr>")
        parts.append('<h3>Flow generators</h3><div class="scroll"><table id="vpc-generators"><tr><th>generator</th>'
                     '<th>from</th><th>to</th><th>flows</th><th>accepted</th><th>rejected</th><th>accepted (%)</th>'
                     f"</tr>{gen_body}</table></div>")
    parts.append(_entity_table(vpcs, "nat_gateways", "vpc-nat-gateways", "NAT gateways", "NAT gateway", _NAT_COLUMNS, cell,
                               "55,000 connections to one destination (address, port, protocol) per address of the "
                               "gateway can be open at once; the next fails with ErrorPortAllocation. Bytes "
                               "processed are billed, both directions. Without max_gbps a gateway starts at 5 Gbit/s "
                               "and 1 M packets/s and doubles (up to 100 Gbit/s and 10 M packets/s) at each "
                               "scale_interval_s its load reached scale_threshold of either: how fast is our "
                               "assumption. Packets dropped: TCP's losses where the gateway holds a flow (Mathis "
                               "et al. 1997), retransmitted, so every byte still arrives."))
    parts.append(_entity_table(vpcs, "functions", "vpc-functions", "Functions in the VPC", "function", _FN_COLUMNS, cell,
                               "Each invocation's <code>egress</code> flows, from the function's network interface "
                               "in a subnet drawn among its own, judged and shared with every other flow on the "
                               "links of their path."))
    parts.append(_entity_table(vpcs, "services", "vpc-services", "ECS services in the VPC", "service", _FN_COLUMNS, cell,
                               "Each request a task serves sends its <code>egress</code> flows (a 504 too: the task "
                               "still served it), from the tasks' network interfaces in a subnet drawn among the "
                               "service's, judged and shared with every other flow on the links of their path."))
    dx = _entity_table(vpcs, "dx_interfaces", "vpc-dx", "Direct Connect interfaces", "interface", _DX_COLUMNS, cell,
                       "When its connection fails, an interface carries nothing until BGP notices (its hold timer, "
                       "or BFD's 0.9 s), then its routes move to the backup VPN until the repair.")
    if dx:
        parts.append(dx)
        parts.append(figure_html("plot-vpc-failover", "Direct Connect failover timeline"))
    if _series(result.metrics, "cloudtwin/Links", "Utilization"):  # (only where some link limits flows)
        parts.append(figure_html("plot-vpc-links", "Link utilisation over time"))
    parts.append(figure_html("plot-vpc-flow-times", "Flow completion times"))
    parts.append(figure_html("plot-vpc-flows", "Flows per generator over time"))
    gaps = missing_from_logs(result)
    if gaps:
        text = ", ".join(f"{k} {number_text(v)}" for k, v in gaps.items())
        parts.append(f'<p class="note">Not in the plot: flows rejected before they met any interface '
                     f'(no route), which leave no flow log record: {html.escape(text)}.</p>')
    for name, v in vpcs.items():
        rules = v.get("rules") or {}
        if not rules:
            continue
        esc = html.escape(name)
        rbody = "".join(
            f"<tr><td>{html.escape(k)}</td>{cell(f'vpcs.{name}.rules.{k}.accepted', c['accepted'])}"
            f"{cell(f'vpcs.{name}.rules.{k}.rejected', c['rejected'])}</tr>" for k, c in rules.items())
        parts.append(f'<details><summary>{esc}: flows by the rule or step that decided them ({len(rules)})</summary>'
                     f'<div class="scroll"><table id="vpc-{esc}-rules"><tr><th>deciding rule or step</th>'
                     f"<th>accepted</th><th>rejected</th></tr>{rbody}</table></div></details>")
    parts.append("</section>")
    return "".join(parts)
