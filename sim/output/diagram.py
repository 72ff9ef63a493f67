"""Architecture diagrams of a resolved scenario, drawn as inline SVG by hand (no graphviz).

Two pictures:
- `services_svg`: traffic sources, functions, queues, topics, buses and their rules, worker
  fleets and HTTPS/email endpoints, in layers from left (traffic) to right, with an arrow per
  connection (traffic -> target, subscription, rule target, queue -> function mapping,
  queue -> fleet, dead-letter queues and on-failure destinations dashed).
- `network_svg`: one column per VPC with its subnets and hosts, the internet and on-premises
  networks, the VPC's gateways written in its header, peerings and transit gateways as brackets
  above the VPCs they join, and an arrow per source and destination of the flow generators
  (green when every flow was accepted, orange when some, red when none).
The <svg> elements carry no xmlns: inline in HTML they need none, and the page holds no URL.
Simplifications: the layout is a longest-path layering with a few barycentre sweeps, not a
crossing-minimising one; labels longer than a box are cut (the full name is in the tooltip).
"""

from __future__ import annotations

import html
import ipaddress
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from scenarios.addresses import KINDS, SUBSCRIPTION_PROTOCOLS, AddressError, parse

# Fill and stroke per kind of node (AWS's console colours, lightened).
KIND_STYLE = {
    "traffic": ("#eceff1", "#607d8b", "traffic source"),
    "function": ("#ffe0b2", "#e65100", "Lambda function"),
    "queue": ("#f8bbd0", "#ad1457", "SQS queue"),
    "topic": ("#ffcdd2", "#c62828", "SNS topic"),
    "bus": ("#e1bee7", "#6a1b9a", "EventBridge bus"),
    "rule": ("#f3e5f5", "#8e24aa", "EventBridge rule"),
    "fleet": ("#c8e6c9", "#2e7d32", "worker fleet"),
    "api": ("#fff9c4", "#f9a825", "API Gateway route"),
    "table": ("#d1c4e9", "#4527a0", "DynamoDB table"),
    "bucket": ("#dcedc8", "#558b2f", "S3 bucket"),
    "state_machine": ("#fce4ec", "#c2185b", "Step Functions state machine"),
    "service": ("#b2dfdb", "#00695c", "ECS service on Fargate"),
    "swf_workflow": ("#e0f2f1", "#00695c", "SWF workflow type"),
    "broker": ("#ffecb3", "#ff6f00", "Amazon MQ queue"),
    "https": ("#e3f2fd", "#1565c0", "HTTPS endpoint"),
    "email": ("#e3f2fd", "#1565c0", "email address"),
}
NODE_W, NODE_H, COL_GAP, ROW_GAP, MARGIN = 190, 44, 90, 18, 20
CHAR_W = 6.6  # average width of a 11 px sans-serif character, for cutting labels


@dataclass
class Node:
    id: str  # kind:name
    kind: str
    label: str
    detail: str = ""


@dataclass
class Edge:
    src: str
    dst: str
    label: str = ""
    dashed: bool = False
    colour: str = "#555"


@dataclass
class Graph:
    nodes: Dict[str, Node] = field(default_factory=dict)
    edges: List[Edge] = field(default_factory=list)

    def add(self, kind: str, name: str, label: Optional[str] = None, detail: str = "") -> str:
        nid = f"{kind}:{name}"
        if nid not in self.nodes:
            self.nodes[nid] = Node(nid, kind, label or name, detail)
        return nid

    def link(self, src: str, dst: str, label: str = "", dashed: bool = False, colour: str = "#555") -> None:
        self.edges.append(Edge(src, dst, label, dashed, colour))


def _rate(arrivals: Mapping[str, Any]) -> str:
    kind = arrivals.get("kind", "poisson")
    rate = arrivals.get("rate_per_s")
    if kind == "trace":
        return "trace"
    if kind == "steps":
        return "steps"
    return f"{kind} {rate:g}/s" if isinstance(rate, (int, float)) else str(kind)


def _endpoint(g: Graph, target: str) -> Optional[str]:
    """The node of an address (scenarios.addresses: a kind the simulator resolves, or an https URL)."""
    try:
        a = parse(str(target))
    except AddressError:
        return None
    if a.kind in ("http", "https"):
        url = str(target)
        return g.add("https", url, url.split("//", 1)[-1])
    if a.kind in KINDS and KINDS[a.kind].simulated:
        return g.add(a.kind, a.name)
    return None


def _tasks(config: Mapping[str, Any]) -> List[Tuple[str, str, str]]:
    """(machine, Task state, target) of the scenario's state machines, from its resolved config
    (their definitions compiled as the simulator compiles them: scenarios.workflows)."""
    if not config.get("state_machines"):
        return []
    from scenarios.errors import ScenarioError
    from scenarios.load import load_scenario
    from scenarios.workflows import task_references

    try:
        scenario = load_scenario(dict(config))
    except ScenarioError:
        return []
    out = []
    for ref in task_references(scenario):  # path: state_machines.NAME.definition….States.STATE.Resource
        parts = ref.path.split(".")
        out.append((parts[1], parts[-2], str(ref.address)))
    return out


def services_graph(config: Mapping[str, Any]) -> Graph:
    """Nodes and edges of the scenario's services (module doc), from the resolved config."""
    g = Graph()
    functions = config.get("functions") or {}
    queues = config.get("queues") or {}
    for name, f in functions.items():
        extra = [f"{f.get('memory_mb', 128)} MB"]
        if f.get("reserved_concurrency") is not None:
            extra.append(f"reserved {f['reserved_concurrency']}")
        if f.get("provisioned_concurrency"):
            extra.append(f"provisioned {f['provisioned_concurrency']}")
        g.add("function", name, detail=", ".join(extra))
    dlqs = {q.get("dead_letter_queue") for q in queues.values()} - {None}
    for name, q in queues.items():
        parts = ["FIFO"] if q.get("type") == "fifo" else []
        if name in dlqs:
            parts.append("dead-letter queue")
        if q.get("max_receive_count"):
            parts.append(f"to DLQ after {q['max_receive_count']} receives")
        g.add("queue", name, detail=" · ".join(parts) or "standard")
    for name in config.get("topics") or {}:
        g.add("topic", name, detail=(config["topics"][name] or {}).get("type", "standard"))
    for name in config.get("buses") or {}:
        g.add("bus", name)
    for aname, api in (config.get("apis") or {}).items():  # each route, to its integration
        for rname, route in ((api or {}).get("routes") or {}).items():
            rid = g.add("api", f"{aname}/{rname}", f"{aname} {rname}", detail=(api or {}).get("type", "http").upper())
            dst = _endpoint(g, (route or {}).get("integration", ""))
            if dst:
                g.link(rid, dst, "sync" if dst.startswith("function:") else "")
    for name, f in functions.items():  # what functions read and write (tables, buckets)
        for c in f.get("calls") or []:
            target = str(c.get("target", ""))
            if target.startswith(("table:", "bucket:")):
                dst = _endpoint(g, target)
                if dst:
                    g.link(f"function:{name}", dst, str(c.get("operation") or ""))
    for name, sm in (config.get("state_machines") or {}).items():
        g.add("state_machine", name, detail=str((sm or {}).get("type", "STANDARD")).lower())
    for name, state, target in _tasks(config):  # what each machine's Task states reach
        dst = _endpoint(g, target)
        if dst:
            g.link(f"state_machine:{name}", dst, state)
    for bname, b in (config.get("brokers") or {}).items():  # each queue of an Amazon MQ broker
        b = b or {}
        for qname in b.get("queues") or {}:
            g.add("broker", f"{bname}/{qname}", f"{bname} {qname}",
                  detail=f"{b.get('instance_type', '')} {str(b.get('deployment', '')).replace('_', ' ')}")
    for bname, b in (config.get("buckets") or {}).items():
        for nt in (b or {}).get("notifications") or []:
            dst = _endpoint(g, nt.get("target", ""))
            if dst:
                g.link(f"bucket:{bname}", dst, "ObjectCreated")
    for t in config.get("traffic") or []:
        src = g.add("traffic", t.get("name") or "traffic", detail=_rate(t.get("arrivals") or {}))
        dst = _endpoint(g, t.get("target", ""))
        if dst:
            inv = t.get("invocation", "sync") if dst.startswith("function:") else ""
            g.link(src, dst, inv)
    for name, q in queues.items():
        if q.get("dead_letter_queue"):
            g.link(f"queue:{name}", g.add("queue", q["dead_letter_queue"]), "DLQ", dashed=True)
    for m in config.get("event_source_mappings") or []:
        g.link(g.add("queue", m.get("source", "")), g.add("function", m.get("function", "")),
               f"batch {m.get('batch_size', 10)}")
    for name, w in (config.get("worker_fleets") or {}).items():
        fleet = g.add("fleet", name, detail=f"{w.get('workers', 1)} workers")
        g.link(g.add("queue", w.get("queue", "")), fleet, "polls")
    for name, f in functions.items():
        dest = ((f.get("async_invoke") or {}).get("on_failure"))
        if dest:
            node = _endpoint(g, dest)
            if node:
                g.link(f"function:{name}", node, "on failure", dashed=True)
    for tname, topic in (config.get("topics") or {}).items():
        for s in (topic or {}).get("subscriptions") or []:
            kind, endpoint = SUBSCRIPTION_PROTOCOLS.get(s.get("protocol", "sqs"), "https"), str(s.get("endpoint", ""))
            dst = g.add("https", endpoint, endpoint.split("//", 1)[-1]) if kind == "https" else g.add(kind, endpoint)
            g.link(f"topic:{tname}", dst, "filtered" if s.get("filter_policy") else "")
            if s.get("dead_letter_queue"):
                g.link(dst, g.add("queue", s["dead_letter_queue"]), "DLQ", dashed=True)
    for bname, bus in (config.get("buses") or {}).items():
        for rname, rule in ((bus or {}).get("rules") or {}).items():
            rid = g.add("rule", f"{bname}/{rname}", rname, detail=f"rule of {bname}")
            g.link(f"bus:{bname}", rid)
            for t in (rule or {}).get("targets") or []:
                dst = _endpoint(g, t.get("target", ""))
                if dst:
                    g.link(rid, dst)
                    if t.get("dead_letter_queue"):
                        g.link(dst, g.add("queue", t["dead_letter_queue"]), "DLQ", dashed=True)
    return g


# ---------------------------------------------------------------- layout

def layers(g: Graph) -> Dict[str, Tuple[int, int]]:
    """(column, row) per node: longest path from the sources, back edges ignored; rows by barycentre."""
    ids = list(g.nodes)
    succ: Dict[str, List[str]] = {n: [] for n in ids}
    for e in g.edges:
        if e.src in succ and e.dst in succ and e.src != e.dst:
            succ[e.src].append(e.dst)
    # Depth-first search from every node without a predecessor (then from any left), to find
    # the back edges that close a cycle.
    state: Dict[str, int] = {}
    back = set()
    has_pred = {d for s in succ for d in succ[s]}
    for root in [n for n in ids if n not in has_pred] + ids:
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    col = {n: 0 for n in ids}
    for _ in range(len(ids)):
        changed = False
        for s in ids:
            for d in succ[s]:
                if (s, d) not in back and col[d] < col[s] + 1:
                    col[d] = col[s] + 1
                    changed = True
        if not changed:
            break
    columns: Dict[int, List[str]] = {}
    for n in ids:
        columns.setdefault(col[n], []).append(n)
    pred: Dict[str, List[str]] = {n: [] for n in ids}
    for s in ids:
        for d in succ[s]:
            pred[d].append(s)
    row = {n: i for c in columns.values() for i, n in enumerate(c)}
    for sweep in range(4):  # barycentre ordering, down then up
        order = sorted(columns) if sweep % 2 == 0 else sorted(columns, reverse=True)
        for c in order:
            nb = pred if sweep % 2 == 0 else succ
            def key(n: str) -> float:
                near = [row[m] for m in nb[n] if col[m] != c]
                return sum(near) / len(near) if near else row[n]
            columns[c].sort(key=key)
            for i, n in enumerate(columns[c]):
                row[n] = i
    return {n: (col[n], row[n]) for n in ids}


def _cut(text: str, width_px: float) -> str:
    n = max(4, int(width_px / CHAR_W))
    return text if len(text) <= n else text[: n - 1] + "…"


def _esc(text: str) -> str:
    return html.escape(str(text), quote=True)


_DEFS = ('<defs><marker id="{m}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
         'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>')


def grid(pos: Dict[str, Tuple[int, int]]) -> Tuple[int, int, Dict[int, int]]:
    """(columns, rows of the fullest column, nodes per column) of a layout from `layers`."""
    per_col: Dict[int, int] = {}
    for c, _ in pos.values():
        per_col[c] = per_col.get(c, 0) + 1
    return max(per_col) + 1, max(per_col.values()), per_col


def services_svg(config: Mapping[str, Any]) -> Optional[str]:
    """The services diagram as an <svg> element, or None when the scenario has no services."""
    g = services_graph(config)
    if not g.nodes:
        return None
    pos = layers(g)
    ncols, nrows, per_col = grid(pos)
    legend_h = 28
    width = 2 * MARGIN + ncols * NODE_W + (ncols - 1) * COL_GAP
    height = legend_h + 2 * MARGIN + nrows * NODE_H + (nrows - 1) * ROW_GAP + 30

    def xy(nid: str) -> Tuple[float, float]:
        c, r = pos[nid]
        col_h = per_col[c] * NODE_H + (per_col[c] - 1) * ROW_GAP
        top = legend_h + MARGIN + (height - legend_h - 2 * MARGIN - 30 - col_h) / 2
        return MARGIN + c * (NODE_W + COL_GAP), top + r * (NODE_H + ROW_GAP)

    out = [f'<svg class="diagram" id="diagram-services" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'data-nodes="{len(g.nodes)}" data-edges="{len(g.edges)}" font-family="system-ui,sans-serif">',
           _DEFS.format(m="arrow-s")]
    kinds = [k for k in KIND_STYLE if any(n.kind == k for n in g.nodes.values())]
    x = MARGIN
    for k in kinds:  # the legend of node kinds
        fill, stroke, words = KIND_STYLE[k]
        out.append(f'<rect x="{x}" y="{MARGIN - 8}" width="14" height="14" rx="3" fill="{fill}" stroke="{stroke}"/>'
                   f'<text x="{x + 19}" y="{MARGIN + 3}" font-size="12" fill="#333">{_esc(words)}</text>')
        x += 19 + len(words) * 7 + 18
    out.append(f'<text x="{x}" y="{MARGIN + 3}" font-size="12" fill="#666">dashed: dead-letter or on-failure</text>')
    for e in g.edges:
        if e.src not in pos or e.dst not in pos:
            continue
        (x1, y1), (x2, y2) = xy(e.src), xy(e.dst)
        if pos[e.dst][0] > pos[e.src][0]:
            sx, sy, ex, ey = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
            bend = max(30.0, (ex - sx) / 2)
            d = f"M{sx:.1f},{sy:.1f} C{sx + bend:.1f},{sy:.1f} {ex - bend:.1f},{ey:.1f} {ex:.1f},{ey:.1f}"
            lx, ly = (sx + ex) / 2, (sy + ey) / 2
        else:  # same column or backwards: below the boxes
            sx, sy, ex, ey = x1 + NODE_W / 2, y1 + NODE_H, x2 + NODE_W / 2, y2 + NODE_H
            drop = 26 + abs(sx - ex) / 6
            d = (f"M{sx:.1f},{sy:.1f} C{sx:.1f},{sy + drop:.1f} {ex:.1f},{ey + drop:.1f} {ex:.1f},{ey:.1f}")
            lx, ly = (sx + ex) / 2, max(sy, ey) + drop * 0.75
        dash = ' stroke-dasharray="5,4"' if e.dashed else ""
        out.append(f'<path class="edge" data-src="{_esc(e.src)}" data-dst="{_esc(e.dst)}" d="{d}" fill="none" '
                   f'stroke="{e.colour}" stroke-width="1.4"{dash} marker-end="url(#arrow-s)"/>')
        if e.label:
            w = len(e.label) * 6.0 + 6
            out.append(f'<rect x="{lx - w / 2:.1f}" y="{ly - 8:.1f}" width="{w:.1f}" height="14" fill="white" '
                       f'fill-opacity="0.85"/><text x="{lx:.1f}" y="{ly + 3:.1f}" font-size="10.5" fill="#444" '
                       f'text-anchor="middle">{_esc(e.label)}</text>')
    for nid, n in g.nodes.items():
        x0, y0 = xy(nid)
        fill, stroke, words = KIND_STYLE[n.kind]
        out.append(f'<g class="node" data-id="{_esc(nid)}" data-kind="{n.kind}"><title>{_esc(words)}: '
                   f'{_esc(n.label)}{(" (" + _esc(n.detail) + ")") if n.detail else ""}</title>'
                   f'<rect x="{x0}" y="{y0:.1f}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" '
                   f'stroke="{stroke}" stroke-width="1.5"/>'
                   f'<text x="{x0 + 8}" y="{y0 + 18:.1f}" font-size="12.5" font-weight="600" fill="#222">'
                   f'{_esc(_cut(n.label, NODE_W - 16))}</text>'
                   f'<text x="{x0 + 8}" y="{y0 + 35:.1f}" font-size="11" fill="#555">'
                   f'{_esc(_cut(n.detail or words, NODE_W - 16))}</text></g>')
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------- network

def host_vpcs(config: Mapping[str, Any]) -> Dict[str, str]:
    """Host name -> its VPC, and each host's private IP -> its VPC (flows may name either)."""
    out: Dict[str, str] = {}
    for vname, v in (config.get("vpcs") or {}).items():
        for hname, h in ((v or {}).get("hosts") or {}).items():
            out[hname] = vname
            if (h or {}).get("private_ip"):
                out[str(h["private_ip"])] = vname
    return out


def endpoint_place(config: Mapping[str, Any], text: str) -> Tuple[str, str]:
    """(VPC name or 'internet' / 'on-premises', host or address) of a flow's src or dst."""
    text = str(text).strip()
    where = host_vpcs(config)
    if text in where:
        return where[text], text
    kind, sep, ip = text.partition(":")
    if sep and kind == "internet":
        return "internet", ip
    if sep and kind == "onprem":
        return "on-premises", ip
    try:
        a = ipaddress.ip_address(text)
    except ValueError:
        return "internet", text
    for vname, v in (config.get("vpcs") or {}).items():
        for c in [v.get("cidr"), *(v.get("secondary_cidrs") or [])]:
            if c and a in ipaddress.ip_network(c, strict=False):
                return vname, text
    return "internet", text


def generator_rows(summary: Mapping[str, Any], config: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """One row per flow generator: name, source and destination (VPC or outside), flows, accepted, rejected."""
    flows_cfg = {f.get("name"): f for f in config.get("flows") or []}
    rows = []
    for vname, v in (summary.get("vpcs") or {}).items():
        for gname, g in (v.get("generators") or {}).items():
            f = flows_cfg.get(gname, {})
            src_place, src = endpoint_place(config, f.get("src", "")) if f else (vname, "?")
            dst_place, dst = endpoint_place(config, f.get("dst", "")) if f else ("?", "?")
            rows.append({"name": gname, "counted_in": vname, "src": src, "src_place": src_place,
                         "dst": dst, "dst_place": dst_place, "flows": int(g.get("flows", 0)),
                         "accepted": int(g.get("accepted", 0)), "rejected": int(g.get("rejected", 0))})
    return rows


def arrivals(rows: List[Dict[str, Any]], vpc: str) -> Tuple[int, int, List[str]]:
    """(flows, accepted, generator names) of the generators counted elsewhere whose destination is in `vpc`."""
    mine = [r for r in rows if r["dst_place"] == vpc and r["counted_in"] != vpc]
    return sum(r["flows"] for r in mine), sum(r["accepted"] for r in mine), [r["name"] for r in mine]


def _vpc_links(v: Mapping[str, Any]) -> List[str]:
    out = []
    if v.get("internet_gateway"):
        out.append("internet gateway")
    out += [f"NAT {n}" for n in (v.get("nat_gateways") or {})]
    for n, g in (v.get("vpn_gateways") or {}).items():
        out.append(f"VPN gateway {n}")
    return out


def _between_vpcs(config: Mapping[str, Any]) -> List[Tuple[str, List[str]]]:
    """(label, VPCs) of each connection between VPCs: a peering joins two, a transit gateway its attachments."""
    out: List[Tuple[str, List[str]]] = []
    for vname, v in (config.get("vpcs") or {}).items():
        for pname, peer in ((v or {}).get("peering_connections") or {}).items():
            out.append((f"peering {pname}", [vname, (peer or {}).get("peer_vpc", "")]))
    for tname, tgw in (config.get("transit_gateways") or {}).items():
        members = [a.get("vpc") for a in ((tgw or {}).get("attachments") or {}).values()
                   if (a or {}).get("kind", "vpc") == "vpc" and a.get("vpc")]
        out.append((f"transit gateway {tname}", members))
    return out


def network_svg(config: Mapping[str, Any], summary: Optional[Mapping[str, Any]] = None) -> Optional[str]:
    """The network diagram (module doc) as an <svg>, or None when the scenario has no VPCs."""
    vpcs = config.get("vpcs") or {}
    if not vpcs:
        return None
    generators: Dict[str, Mapping[str, Any]] = {}
    for v in ((summary or {}).get("vpcs") or {}).values():
        generators.update(v.get("generators") or {})
    flows = config.get("flows") or []
    places = [(endpoint_place(config, f.get("src", "")), endpoint_place(config, f.get("dst", ""))) for f in flows]
    external = [p for p in ("internet", "on-premises") if any(p in (s[0], d[0]) for s, d in places)]
    # Columns: the external networks, then each VPC; a column lists its boxes (subnets with hosts).
    columns: List[Tuple[str, List[Tuple[str, List[str]]]]] = []
    if external:
        boxes = []
        for p in external:
            addrs = sorted({a for (s, d) in places for (w, a) in (s, d) if w == p})
            boxes.append((p, addrs))
        columns.append(("outside", boxes))
    for vname, v in vpcs.items():
        subnets: Dict[str, List[str]] = {s: [] for s in (v.get("subnets") or {})}
        for hname, h in (v.get("hosts") or {}).items():
            subnets.setdefault((h or {}).get("subnet", "?"), []).append(hname)
        columns.append((vname, [(s, hs) for s, hs in subnets.items()]))
    HOST_W, HOST_H, PAD, COL_W, GAP = 170, 26, 10, 210, 130
    head = 30 + 12 * max([min(4, len(_vpc_links(v or {}))) for v in vpcs.values()] + [0])
    links = _between_vpcs(config)
    strip = 26 + 12 * len(links) if links else 0  # room above the columns for peerings and transit gateways
    pos: Dict[Tuple[str, str], Tuple[float, float]] = {}  # (column place, host/address) -> left, top
    shapes: List[str] = []
    col_heights = []
    for ci, (cname, boxes) in enumerate(columns):
        x = MARGIN + ci * (COL_W + GAP)
        y = MARGIN + strip + head
        for bname, items in boxes:
            box_top = y
            y += 22
            for item in items:
                place = bname if cname == "outside" else cname
                pos[(place, item)] = (x + PAD + 10, y)
                y += HOST_H + 8
            y += 6
            shapes.append(f'<rect x="{x + PAD}" y="{box_top}" width="{COL_W - 2 * PAD}" height="{y - box_top}" '
                          f'rx="5" fill="{"#f1f8e9" if cname != "outside" else "#eceff1"}" stroke="#9e9e9e"/>'
                          f'<text x="{x + PAD + 6}" y="{box_top + 15}" font-size="11" fill="#555">'
                          f'{_esc(_cut(("subnet " if cname != "outside" else "") + bname, COL_W - 2 * PAD - 12))}'
                          f'</text>')
            y += 10
        col_heights.append(y)
    height = max(col_heights) + MARGIN + 24
    width = MARGIN * 2 + len(columns) * COL_W + (len(columns) - 1) * GAP
    out = [f'<svg class="diagram" id="diagram-network" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" data-flows="{len(flows)}" '
           f'font-family="system-ui,sans-serif">', _DEFS.format(m="arrow-n"),
           f'<text x="{width - MARGIN}" y="{height - 8}" font-size="11" fill="#555" text-anchor="end">'
           'arrows: flow generators; green all accepted, orange some rejected, red all rejected</text>']
    for ci, (cname, boxes) in enumerate(columns):
        x = MARGIN + ci * (COL_W + GAP)
        v = vpcs.get(cname) or {}
        title = "outside the VPCs" if cname == "outside" else f"VPC {cname} {v.get('cidr', '')}"
        top = MARGIN + strip
        out.append(f'<rect x="{x}" y="{top}" width="{COL_W}" height="{col_heights[ci] - top}" rx="8" '
                   f'fill="none" stroke="{"#2e7d32" if cname != "outside" else "#90a4ae"}" stroke-width="1.6"/>'
                   f'<text x="{x + 8}" y="{top + 17}" font-size="12.5" font-weight="600">'
                   f'{_esc(_cut(title, COL_W - 16))}</text>')
        for i, link in enumerate(_vpc_links(v)[:4]):  # the VPC's gateways and connections, one a line
            out.append(f'<text x="{x + 8}" y="{top + 32 + 12 * i}" font-size="10" fill="#555">'
                       f'{_esc(_cut(link, COL_W - 16))}</text>')
    centre = {cname: MARGIN + ci * (COL_W + GAP) + COL_W / 2 for ci, (cname, _) in enumerate(columns)}
    for i, (label_text, members) in enumerate(links):  # one bracket above the columns it joins
        xs = sorted(centre[m] for m in members if m in centre)
        if len(xs) < 2:
            continue
        y = MARGIN + 14 + 12 * i
        path = " ".join(f"M{x:.1f},{MARGIN + strip} L{x:.1f},{y}" for x in xs) + f" M{xs[0]:.1f},{y} L{xs[-1]:.1f},{y}"
        out.append(f'<path class="vpc-link" d="{path}" fill="none" stroke="#2e7d32" stroke-width="1.4" '
                   f'stroke-dasharray="4,3"/><text x="{(xs[0] + xs[-1]) / 2:.1f}" y="{y - 3}" font-size="10.5" '
                   f'fill="#2e7d32" text-anchor="middle">{_esc(label_text)}</text>')
    out += shapes
    for (place, item), (x0, y0) in pos.items():
        out.append(f'<g class="host" data-id="{_esc(place)}/{_esc(item)}"><rect x="{x0}" y="{y0}" '
                   f'width="{HOST_W - 20}" height="{HOST_H}" rx="4" fill="white" stroke="#1565c0"/>'
                   f'<text x="{x0 + 6}" y="{y0 + 17}" font-size="11.5">{_esc(_cut(item, HOST_W - 32))}</text></g>')
    col_of = {}
    for ci, (cname, boxes) in enumerate(columns):
        for bname, _ in boxes:
            col_of[bname if cname == "outside" else cname] = ci
    pairs: Dict[Tuple[Tuple[str, str], Tuple[str, str]], List[Mapping[str, Any]]] = {}
    for f, (src, dst) in zip(flows, places):  # one arrow per (source, destination)
        pairs.setdefault((src, dst), []).append(f)
    for ((sp, sa), (dp, da)), group in pairs.items():
        if (sp, sa) not in pos or (dp, da) not in pos:
            continue
        (x1, y1), (x2, y2) = pos[(sp, sa)], pos[(dp, da)]
        gens = [generators[f.get("name", "")] for f in group if f.get("name", "") in generators]
        n_flows = sum(int(g.get("flows", 0)) for g in gens)
        n_ok = sum(int(g.get("accepted", 0)) for g in gens)
        colour = ("#555" if not gens or n_flows == 0 else "#2e7d32" if n_ok == n_flows
                  else "#c62828" if n_ok == 0 else "#ef6c00")
        w = HOST_W - 20
        if col_of[dp] > col_of[sp]:
            sx, sy, ex, ey = x1 + w, y1 + HOST_H / 2, x2, y2 + HOST_H / 2
            bend = (ex - sx) / 2
            d = f"M{sx},{sy} C{sx + bend},{sy} {ex - bend},{ey} {ex},{ey}"
        elif col_of[dp] < col_of[sp]:
            sx, sy, ex, ey = x1, y1 + HOST_H / 2, x2 + w, y2 + HOST_H / 2
            bend = (sx - ex) / 2
            d = f"M{sx},{sy} C{sx - bend},{sy} {ex + bend},{ey} {ex},{ey}"
        else:  # within one column: a loop out to the right
            sx, sy, ex, ey = x1 + w, y1 + HOST_H / 2, x2 + w, y2 + HOST_H / 2
            out_x = sx + 28 + abs(ey - sy) / 8
            d = f"M{sx},{sy} C{out_x},{sy} {out_x},{ey} {ex},{ey}"
        names = ", ".join(str(f.get("name", "")) for f in group)
        tip = f"{names}: {sa} → {da}"
        if gens:
            tip += f", {n_ok:,} of {n_flows:,} flows accepted"
        out.append(f'<path class="flow" data-flow="{_esc(names)}" d="{d}" fill="none" '
                   f'stroke="{colour}" stroke-width="1.4" stroke-opacity="0.8" marker-end="url(#arrow-n)">'
                   f'<title>{_esc(tip)}</title></path>')
    out.append("</svg>")
    return "".join(out)
