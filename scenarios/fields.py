"""Walks a built scenario's dataclass tree and applies the per-field table of ranges and choices."""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Callable, Iterator, Optional, Tuple

from scenarios.errors import Problems
from scenarios.rules import CHOICES, RANGES
from scenarios.yamlpath import index, key, parent

Node = Tuple[Any, str, Optional[dataclasses.Field]]  # (dataclass instance, its path, the field holding it)


def nodes(obj: Any, path: str = "", holder: Optional[dataclasses.Field] = None) -> Iterator[Node]:
    """Every dataclass instance in the tree, parents first, with its path and the field that holds it."""
    yield obj, path, holder
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        p = key(path, f.name)
        if dataclasses.is_dataclass(value):
            yield from nodes(value, p, f)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item):
                    yield from nodes(item, index(p, i), f)
        elif isinstance(value, dict):
            for k, item in value.items():
                if dataclasses.is_dataclass(item):
                    yield from nodes(item, key(p, k), f)


def document_order(root: Any) -> Callable[[str], int]:
    """A sort key putting paths in the order the scenario's fields and items come in, depth first."""
    rank: dict = {}
    _rank(root, "", rank)

    def order(path: str) -> int:
        while path not in rank and path:
            path = parent(path)
        return rank.get(path, -1)

    return order


def _rank(value: Any, path: str, rank: dict) -> None:
    rank.setdefault(path, len(rank))
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            _rank(getattr(value, f.name), key(path, f.name), rank)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _rank(item, index(path, i), rank)
    elif isinstance(value, dict):
        for k, item in value.items():
            _rank(item, key(path, k), rank)


def check_fields(root: Any, problems: Problems) -> None:
    """Report every field whose value is outside its range or not one of its choices."""
    for node, path, _ in nodes(root):
        for f in dataclasses.fields(node):
            p = key(path, f.name)
            if problems.is_broken(p) or problems.has(p):
                continue
            message = field_problem(type(node), f.name, getattr(node, f.name))
            if message:
                problems.add(p, message)


def field_problem(cls: type, name: str, value: Any) -> Optional[str]:
    """Why `value` is not allowed in field `name` of `cls` by the table, or None."""
    if value is None:
        return None
    rule = RANGES.get((cls, name))
    if rule is not None and isinstance(value, (int, float)):
        return rule.check(value)
    choices = CHOICES.get((cls, name))
    if choices is not None and value not in choices:
        return not_one_of(value, name, choices)
    return None


def not_one_of(value: Any, what: str, choices: Tuple[str, ...]) -> str:
    """`'arm' is not a valid arch (did you mean 'arm64'?); allowed: x86_64, arm64`."""
    text = f"{value!r} is not a valid {what}"
    close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.6)
    if close:
        text += f" (did you mean {close[0]!r}?)"
    return f"{text}; allowed: {', '.join(choices)}"
