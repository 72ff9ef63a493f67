"""Command-line overrides of scenario keys (`functions.api.memory_mb=2048`) applied to plain scenario data, every mistake reported.

An override's key is checked against the schema as it is walked: a dataclass field must
exist (else "unknown key", with a "did you mean" and the allowed keys); a named entry of a
mapping of resources (`functions.NAME`, `queues.NAME`, …) must exist in the scenario unless
the override adds it (`+scenario.functions.NAME.memory_mb=256`); a list index must be in
range. Values are not checked here: the scenario's validator checks the result as a whole,
as it checks a file, so a value given on the command line gets the same message it would
get in YAML.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import typing
from dataclasses import dataclass
from typing import Any, List, Optional, Union

from scenarios.coerce import hints
from scenarios.errors import Problems
from scenarios.yamlpath import index, key

SET, ADD, DELETE = "set", "add", "delete"
# Mappings whose keys name resources defined elsewhere (checked there), so an override may
# create an entry without `+`: `slo.functions.api.latency_p99_ms=300`.
KEYED_BY_REFERENCE = frozenset({"slo.functions", "slo.queues"})


@dataclass(frozen=True)
class Override:
    """One override of a scenario key: `op` (set, add or delete), dotted `key` below the scenario, `value`, the text typed and where."""

    op: str
    key: str
    value: Any = None
    text: str = ""
    source: str = "command line"  # or e.g. "sweep preset reserved"


# What one entry of each resource mapping is called in messages.
_ENTRY_NOUN = {
    "functions": "function", "queues": "queue", "worker_fleets": "worker fleet", "topics": "topic",
    "buses": "bus", "vpcs": "VPC", "transit_gateways": "transit gateway", "rules": "rule",
    "subnets": "subnet", "route_tables": "route table", "security_groups": "security group",
    "network_acls": "network ACL", "hosts": "host", "nat_gateways": "NAT gateway",
    "state_machines": "state machine", "services": "service", "outposts": "Outpost",
    "state_machines": "state machine", "swf_workflows": "SWF workflow type", "activities": "activity type",
}


def apply_overrides(data: Any, overrides: List[Override], root: type, problems: Problems) -> Any:
    """A copy of `data` with `overrides` applied in order; mistakes go to `problems` at their YAML path.

    `root` is the dataclass the data describes (Scenario). An override with a mistake in its key
    is reported and skipped; the others still apply, so every mistake is reported in one pass.
    """
    out = copy.deepcopy(data) if isinstance(data, dict) else {}
    for o in overrides:
        _apply(out, o, root, problems)
    return out


def _apply(data: dict, o: Override, root: type, problems: Problems) -> None:
    parts = o.key.split(".")
    where = f" ({o.source}: {o.text})" if o.text else ""
    tp: Any = root
    node: Any = data
    path = ""
    for depth, part in enumerate(parts):
        tp = _unwrap(tp)
        if tp is Any and isinstance(node, list):
            tp = List[Any]  # a list inside free-form data (filter policies, event patterns): by index
        origin = typing.get_origin(tp)
        if origin in (list, typing.List):
            child_tp = typing.get_args(tp)[0]
            items = node if isinstance(node, list) else []
            i = _index(part)
            if i is None or not 0 <= i < len(items):
                problems.broken(index(path, part if i is None else i), _bad_index(path, part, items) + where)
                return
            step = index(path, i)
        elif tp is Any:
            child_tp, step = Any, key(path, part)  # free-form below here: any key goes
        elif dataclasses.is_dataclass(tp):
            names = [f.name for f in dataclasses.fields(tp)]
            if part not in names:
                problems.broken(key(path, part), _unknown(part, names) + where)
                return
            child_tp, step = hints(tp)[part], key(path, part)
        elif origin in (dict, typing.Dict):
            child_tp, step = typing.get_args(tp)[1], key(path, part)
            have = node if isinstance(node, dict) else {}
            if part not in have and o.op != ADD and _is_resource(child_tp) and path not in KEYED_BY_REFERENCE:
                problems.broken(step, _no_entry(path, part, list(have), o) + where)
                return
        else:
            problems.broken(path, f"{path} takes a single value; it has no key {part!r}{where}")
            return
        if depth == len(parts) - 1:
            _put(node, part, o, step, problems, where)
            return
        slot: Any = int(part) if isinstance(node, list) else part
        nxt = node[slot] if isinstance(node, list) else node.get(part)
        if not isinstance(nxt, (dict, list)):
            if nxt is not None and not _container_type(child_tp):
                problems.broken(step, f"{step} takes a single value; it has no key {parts[depth + 1]!r}{where}")
                return
            if o.op == DELETE:
                return  # nothing there to delete below: the default stands
            nxt = [] if _is_list(child_tp) else {}
            node[slot] = nxt
        node, tp, path = nxt, child_tp, step


def _put(node: Any, part: str, o: Override, step: str, problems: Problems, where: str) -> None:
    if isinstance(node, list):
        i = int(part)
        if o.op == DELETE:
            problems.broken(step, f"list items cannot be deleted from the command line{where}")
            return
        node[i] = copy.deepcopy(o.value)
        return
    if o.op == DELETE:
        node.pop(part, None)  # the schema's default applies again
        return
    node[part] = copy.deepcopy(o.value)


def _unwrap(tp: Any) -> Any:
    if typing.get_origin(tp) is Union:
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return inner[0] if inner else Any
    return tp


def _is_resource(tp: Any) -> bool:
    """Whether entries of a mapping with values of `tp` are named resources (not free-form keys)."""
    return dataclasses.is_dataclass(_unwrap(tp))


def _is_list(tp: Any) -> bool:
    return typing.get_origin(_unwrap(tp)) in (list, typing.List)


def _container_type(tp: Any) -> bool:
    t = _unwrap(tp)
    return t is Any or dataclasses.is_dataclass(t) or typing.get_origin(t) in (dict, list, typing.Dict, typing.List)


def _index(part: str) -> Optional[int]:
    try:
        return int(part)
    except ValueError:
        return None


def _unknown(name: str, allowed: List[str]) -> str:
    text = f"unknown key {name!r}"
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if close:
        text += f" (did you mean {close[0]!r}?)"
    return f"{text}; allowed keys: {', '.join(allowed)}"


def _no_entry(path: str, name: str, have: List[str], o: Override) -> str:
    field_name = path.rsplit(".", 1)[-1].split("[")[0] if path else ""
    noun = _ENTRY_NOUN.get(field_name, "entry")
    text = f"the scenario has no {noun} {name!r}"
    close = difflib.get_close_matches(name, have, n=1, cutoff=0.6)
    if close:
        text += f" (did you mean {close[0]!r}?)"
    text += f"; its {field_name or 'entries'}: {', '.join(have)}" if have else f"; it has no {field_name or 'entries'}"
    if o.text and o.source == "command line":
        plain = o.text.lstrip("+~")
        text += f". To add a new {noun}, write +{plain}"
    return text


def _bad_index(path: str, part: str, items: list) -> str:
    n = len(items)
    names = [f"{i}: {it.get('name')}" for i, it in enumerate(items) if isinstance(it, dict) and it.get("name")]
    listing = f" ({', '.join(names)})" if names and len(names) == n else ""
    if _index(part) is None:
        return f"{path or 'this'} is a list; {part!r} is not an index (use 0 to {n - 1})" if n else \
            f"{path or 'this'} is an empty list; {part!r} is not an index"
    if n == 0:
        return f"{path} is empty: there is no item {part}"
    return f"index {part} is out of range: {path} has {n} item{'s' if n != 1 else ''}{listing}, indices 0 to {n - 1}"
