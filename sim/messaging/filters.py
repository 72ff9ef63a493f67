"""Exact plain-Python matchers for SNS filter policies and EventBridge event patterns.

Both follow AWS's documentation (and aws/event-ruler, the engine behind them): a pattern is
an object whose fields hold either a nested object or a list of alternative values; fields
are ANDed, a field's values are ORed, `$or` ORs whole sub-patterns. A field absent from the
pattern matches anything. A field of the message matches when any of its leaf values (array
elements, flattened) satisfies any of the field's conditions; a missing field, or one whose
value is an object rather than a leaf, satisfies only `{"exists": false}`.

The data plane never calls these: `match_table` evaluates every matcher once per message
class at build time and the kernels read the resulting boolean table.
"""

from __future__ import annotations

import json
import math

import numpy as np

from sim.messaging.operators import EVENTBRIDGE, OPERATORS, SNS, Dialect, Exists, parse_values

SCOPES = ("MessageAttributes", "MessageBody")
MAX_COMBINATIONS = 150  # SNS: value combinations per policy
MAX_KEYS = 5            # SNS: attribute names per policy (parent keys for nested policies)
_MAX_BRANCHES = 10_000  # guard against `$or` expansions too large to count
_MISSING = object()


class _Node:
    """A compiled object pattern: field -> conditions or nested node, plus `$or` groups."""

    def __init__(self, fields: dict, ors: list):
        self.fields, self.ors = fields, ors


def _is_or(value) -> bool:
    """True when a `$or` key really means OR (event-ruler's three conditions), else a field."""
    return (isinstance(value, list) and len(value) >= 2
            and all(isinstance(b, dict) for b in value)
            and not any(k in OPERATORS for b in value for k in b))


def _compile(obj, path: str, d: Dialect, nested: bool) -> _Node:
    """Check and compile a pattern object; `ValueError` names the path of the bad part."""
    if not isinstance(obj, dict):
        raise ValueError(f"{path or 'pattern'}: must be a JSON object, got {obj!r}")
    fields, ors = {}, []
    for key, value in obj.items():
        if not isinstance(key, str):
            raise ValueError(f"{path or 'pattern'}: field names are strings, got {key!r}")
        p = f"{path}.{key}" if path else key
        if key == "$or" and _is_or(value):
            ors.append([_compile(b, f"{p}[{i}]", d, nested) for i, b in enumerate(value)])
        elif key == "$or" and isinstance(value, list) and any(
                isinstance(b, dict) and not any(k in OPERATORS for k in b) for b in value):
            raise ValueError(f"{p}: $or takes a list of at least two pattern objects with no "
                             f"operator keywords as field names, got {value!r}")
        elif isinstance(value, dict):
            if not nested:
                raise ValueError(f"{p}: nested policies need scope MessageBody; with "
                                 f"MessageAttributes a key takes a list of values")
            fields[key] = _compile(value, p, d, nested)
        else:
            fields[key] = parse_values(value, p, d)
    return _Node(fields, ors)


def _leaves(v) -> list:
    """The leaf values of a message field: arrays flattened, objects dropped."""
    if v is _MISSING or isinstance(v, dict):
        return []
    if isinstance(v, list):
        return [x for item in v for x in _leaves(item)]
    return [v]


def _objects(v) -> list:
    """The objects a nested pattern descends into: the value itself or its array elements."""
    if isinstance(v, dict):
        return [v]
    if isinstance(v, list):
        return [x for item in v for x in _objects(item)]
    return []


def _match_leaf(conditions: list, leaves: list) -> bool:
    for c in conditions:
        if isinstance(c, Exists):
            if bool(leaves) == c.flag:
                return True
        elif any(c.test(x) for x in leaves):
            return True
    return False


def _match(node: _Node, obj) -> bool:
    """Whether an object satisfies a compiled pattern (array elements tried one at a time)."""
    for key, cond in node.fields.items():
        value = obj.get(key, _MISSING) if isinstance(obj, dict) else _MISSING
        if isinstance(cond, _Node):
            if not any(_match(cond, o) for o in (_objects(value) or [{}])):
                return False
        elif not _match_leaf(cond, _leaves(value)):
            return False
    return all(any(_match(b, obj) for b in group) for group in node.ors)


def _branches(obj: dict, depth: int = 1, top: str | None = None) -> list:
    """The policy with every `$or` expanded: a list of ANDs of (parent key, values, depth)."""
    result = [[]]
    for key, value in obj.items():
        if key == "$or" and _is_or(value):
            alts = [b for sub in value for b in _branches(sub, depth, top)]
        elif isinstance(value, dict):
            alts = _branches(value, depth + 1, top or key)
        else:
            alts = [[(top or key, len(value), depth)]]
        result = [r + a for r in result for a in alts]
        if len(result) > _MAX_BRANCHES:
            raise ValueError(f"{key}: the $or alternatives expand to more than "
                             f"{_MAX_BRANCHES} combinations")
    return result


def policy_combinations(policy: dict) -> int:
    """SNS's value-combination count of a policy (the documented ≤ 150 constraint).

    Per `$or` alternative, the product over keys of (number of values × nesting level);
    the alternatives add up. E.g. 3 × 1 × 2 = 6 flat, 3 × 4 × 2 × 3 = 72 nested.
    """
    _compile(policy, "", SNS, nested=True)
    return sum(math.prod(n * depth for _, n, depth in b) for b in _branches(policy))


def _parse_json(text: str, what: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{what}: not valid JSON ({e})") from None


def _attribute_value(value, name: str):
    """An SNS message attribute as a plain value; wire form {"Type", "Value"} is decoded."""
    if isinstance(value, dict):
        if set(value) != {"Type", "Value"}:
            raise ValueError(f"attribute {name!r}: give a plain value or "
                             f"{{'Type': ..., 'Value': ...}}, got {value!r}")
        kind, raw = value["Type"], value["Value"]
        if kind.startswith("Binary"):
            return _MISSING  # SNS ignores Binary attributes
        if kind.endswith(".Array"):
            items = _parse_json(raw, f"attribute {name!r}") if isinstance(raw, str) else raw
            if not isinstance(items, list):
                raise ValueError(f"attribute {name!r}: {kind} holds a JSON array, got {raw!r}")
            return items
        if kind.startswith("Number"):
            number = _parse_json(raw, f"attribute {name!r}") if isinstance(raw, str) else raw
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise ValueError(f"attribute {name!r}: Number holds a number, got {raw!r}")
            return number
        if kind.startswith("String"):
            return str(raw)
        raise ValueError(f"attribute {name!r}: unknown Type {kind!r}; allowed: String, "
                         f"Number, String.Array, Binary")
    return value


def match_table(matchers: list, classes: list) -> np.ndarray:
    """Bool array [class, matcher]: whether each matcher selects each message class.

    A matcher of None (a subscription or rule without a filter) selects every class.
    """
    table = np.zeros((len(classes), len(matchers)), dtype=bool)
    for j, m in enumerate(matchers):
        for i, c in enumerate(classes):
            table[i, j] = True if m is None else m.matches(c)
    return table


class FilterPolicy:
    """An SNS subscription filter policy on message attributes or on the JSON body."""

    def __init__(self, policy: dict | str, scope: str = "MessageAttributes"):
        if scope not in SCOPES:
            raise ValueError(f"scope: must be one of {SCOPES}, got {scope!r}")
        if isinstance(policy, str):
            policy = _parse_json(policy, "policy")
        self.policy, self.scope = policy, scope
        self._root = _compile(policy, "", SNS, nested=scope == "MessageBody")
        branches = _branches(policy)
        for b in branches:
            keys = sorted({top for top, _, _ in b})
            if len(keys) > MAX_KEYS:
                raise ValueError(f"{', '.join(keys)}: a filter policy has at most {MAX_KEYS} "
                                 f"keys (parent keys when nested), got {len(keys)}")
        self.combinations = sum(math.prod(n * dp for _, n, dp in b) for b in branches)
        if self.combinations > MAX_COMBINATIONS:
            raise ValueError(f"{', '.join(policy)}: the policy has {self.combinations} value "
                             f"combinations; at most {MAX_COMBINATIONS} are allowed")

    def matches(self, message) -> bool:
        """Whether SNS delivers `message` (attributes dict, or body dict or JSON text)."""
        if self.scope == "MessageBody":
            body = _parse_json(message, "message body") if isinstance(message, str) else message
            return isinstance(body, dict) and _match(self._root, body)
        attrs = {}
        for name, value in (message or {}).items():
            v = _attribute_value(value, name)
            if v is not _MISSING:
                attrs[name] = v
        return _match(self._root, attrs)

    match_table = staticmethod(match_table)

    def __repr__(self) -> str:
        return f"FilterPolicy({self.policy!r}, scope={self.scope!r})"


class EventPattern:
    """An EventBridge event pattern."""

    def __init__(self, pattern: dict | str):
        if isinstance(pattern, str):
            pattern = _parse_json(pattern, "pattern")
        self.pattern = pattern
        self._root = _compile(pattern, "", EVENTBRIDGE, nested=True)

    def matches(self, event) -> bool:
        """Whether a rule with this pattern selects `event` (a dict or JSON text)."""
        event = _parse_json(event, "event") if isinstance(event, str) else event
        return isinstance(event, dict) and _match(self._root, event)

    match_table = staticmethod(match_table)

    def __repr__(self) -> str:
        return f"EventPattern({self.pattern!r})"
