"""How problems name places and values: dotted YAML paths (`traffic[0].target`) and plain numbers."""

from __future__ import annotations

import math
import re
from typing import Any

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
_LAST = re.compile(r"(\.[A-Za-z0-9_-]+|\[[^\]]*\])$|^[A-Za-z0-9_-]+$")
ROOT = "(top level)"


def key(path: str, name: Any) -> str:
    """The path of mapping key `name` under `path`; odd keys are quoted: `functions['my fn']`."""
    text = str(name)
    if _PLAIN_KEY.fullmatch(text):
        return f"{path}.{text}" if path else text
    return f"{path}[{text!r}]"


def index(path: str, i: int) -> str:
    """The path of list item `i` under `path`."""
    return f"{path}[{i}]"


def show(path: str) -> str:
    """A path as printed in a message; the empty path is the top level."""
    return path or ROOT


def is_within(path: str, outer: str) -> bool:
    """Whether `path` is `outer` or lies inside it."""
    if not outer:
        return True
    return path == outer or path.startswith(outer + ".") or path.startswith(outer + "[")


def parent(path: str) -> str:
    """The path one level up: `traffic[0].target` -> `traffic[0]` -> `traffic` -> ``."""
    match = _LAST.search(path)
    return path[: match.start()] if match else ""


def num(value: Any) -> str:
    """A number as a person writes it: 1024 not 1024.0, 0.5, 1e-12."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def describe(value: Any) -> str:
    """A user's value in a type-error message: `the string '1024'`, `true (a boolean)`, `a list`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (int, float)):
        return num(value)
    if isinstance(value, dict) or hasattr(value, "keys"):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"
