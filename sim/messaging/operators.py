"""The value conditions of SNS filter policies and EventBridge patterns, parsed and checked.

A pattern's value list (`["a", {"prefix": "b"}, {"exists": false}]`) becomes a list of
conditions. Each tests one leaf value of a message; `Exists` instead tests whether the field
has any leaf value at all. Parsing raises `ValueError` naming the path of the bad part and
what is allowed there.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

OPERATORS = ("prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but",
             "numeric", "exists", "cidr")
_STRING_OPS = ("prefix", "suffix", "equals-ignore-case", "wildcard")
_COMPARE = ("=", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class Dialect:
    """Where SNS and EventBridge differ: numeric precision and range, and exact numbers."""

    name: str
    decimals: int          # digits kept to the right of the decimal point
    limit: float           # numbers in numeric conditions lie within ±limit
    numbers_by_text: bool  # exact numbers compare by JSON text (EventBridge), else by value


SNS = Dialect("SNS", decimals=5, limit=1e9, numbers_by_text=False)
EVENTBRIDGE = Dialect("EventBridge", decimals=6, limit=5e9, numbers_by_text=True)


def is_number(v) -> bool:
    """True for JSON numbers (int or float, not bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def quantize(v, d: Dialect) -> Decimal | None:
    """`v` rounded to the dialect's decimals, or None when it lies outside ±limit."""
    try:
        q = Decimal(repr(v) if isinstance(v, float) else v)
    except (InvalidOperation, ValueError):
        return None
    if not q.is_finite() or abs(q) > Decimal(repr(d.limit)):
        return None
    return q.quantize(Decimal(1).scaleb(-d.decimals), rounding=ROUND_HALF_EVEN)


class Exact:
    """Equal to a string, number, boolean or null (strings case-sensitive)."""

    def __init__(self, value, d: Dialect):
        self.value, self.d = value, d
        self.q = quantize(value, d) if is_number(value) else None

    def test(self, v) -> bool:
        if is_number(self.value):
            if not is_number(v):
                return False
            if self.d.numbers_by_text:  # 300 and 300.0 differ; 3.0e2 and 300.0 parse alike
                return type(v) is type(self.value) and v == self.value
            return self.q is not None and quantize(v, self.d) == self.q
        if self.value is None or isinstance(self.value, bool):
            return v is self.value
        return isinstance(v, str) and v == self.value


class NumberEquals(Exact):
    """Numerically equal to a number (`anything-but` numbers), in either dialect."""

    def test(self, v) -> bool:
        return is_number(v) and self.q is not None and quantize(v, self.d) == self.q


class Text:
    """A string test: prefix, suffix, equals-ignore-case or wildcard (optionally caseless)."""

    def __init__(self, kind: str, text: str, ignore_case: bool = False):
        self.kind, self.text, self.ignore_case = kind, text, ignore_case
        self.regex = compile_wildcard(text) if kind == "wildcard" else None

    def test(self, v) -> bool:
        if not isinstance(v, str):
            return False
        if self.regex is not None:
            return self.regex.fullmatch(v) is not None
        a, b = (v.lower(), self.text.lower()) if self.ignore_case else (v, self.text)
        if self.kind == "prefix":
            return a.startswith(b)
        if self.kind == "suffix":
            return a.endswith(b)
        return a == b


class Numeric:
    """Within a numeric range given as (op, bound) pairs, compared at the dialect's precision."""

    def __init__(self, pairs: list, d: Dialect):
        self.pairs = [(op, quantize(x, d)) for op, x in pairs]
        self.d = d

    def test(self, v) -> bool:
        q = quantize(v, self.d) if is_number(v) else None
        if q is None:
            return False
        for op, b in self.pairs:
            ok = {"=": q == b, "<": q < b, "<=": q <= b, ">": q > b, ">=": q >= b}[op]
            if not ok:
                return False
        return True


class Cidr:
    """An IPv4 or IPv6 address string inside a network."""

    def __init__(self, net):
        self.net = net

    def test(self, v) -> bool:
        if not isinstance(v, str):
            return False
        try:
            return ipaddress.ip_address(v.strip()) in self.net
        except ValueError:
            return False


class AnythingBut:
    """Present and not matched by any of the inner conditions."""

    def __init__(self, inner: list):
        self.inner = inner

    def test(self, v) -> bool:
        return not any(c.test(v) for c in self.inner)


class Exists:
    """The field has (True) or has no (False) leaf value."""

    def __init__(self, flag: bool):
        self.flag = flag


def compile_wildcard(text: str, path: str = "wildcard") -> re.Pattern:
    """A full-match regex for a wildcard: `*` any run, `\\*` a star, `\\\\` a backslash."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt not in ("*", "\\"):
                raise ValueError(f"{path}: a backslash may only escape '*' or '\\' in {text!r}")
            out.append(re.escape(nxt))
            i += 2
            continue
        if ch == "*":
            if out and out[-1] == ".*":
                raise ValueError(f"{path}: consecutive '*' are not allowed in {text!r}")
            out.append(".*")
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def parse_values(values, path: str, d: Dialect) -> list:
    """The conditions of one field's value list; `ValueError` on anything malformed."""
    if not isinstance(values, list):
        raise ValueError(f"{path}: must be a list of values or an object, got {values!r}")
    if not values:
        raise ValueError(f"{path}: an empty list matches nothing; give at least one value")
    return [parse_value(v, f"{path}[{i}]", d) for i, v in enumerate(values)]


def parse_value(v, path: str, d: Dialect):
    """One condition: a literal, or an object with exactly one operator."""
    if v is None or isinstance(v, (bool, str)):
        return Exact(v, d)
    if is_number(v):  # exact numbers by text (EventBridge) have no numeric range
        return Exact(v if d.numbers_by_text else _number(v, path, d), d)
    if not isinstance(v, dict):
        raise ValueError(f"{path}: a value must be a string, number, true, false, null or "
                         f"an operator object, got {v!r}")
    if len(v) != 1:
        raise ValueError(f"{path}: an operator object has exactly one key of {OPERATORS}, "
                         f"got {sorted(v)}")
    (op, arg), = v.items()
    sub = f"{path}.{op}"
    if op in ("prefix", "suffix"):
        if isinstance(arg, dict) and list(arg) == ["equals-ignore-case"]:
            return Text(op, _string(arg["equals-ignore-case"], f"{sub}.equals-ignore-case"), True)
        return Text(op, _string(arg, sub, "a string or {\"equals-ignore-case\": string}"))
    if op == "equals-ignore-case":
        return Text(op, _string(arg, sub), True)
    if op == "wildcard":
        compile_wildcard(_string(arg, sub), sub)
        return Text(op, arg)
    if op == "exists":
        if not isinstance(arg, bool):
            raise ValueError(f"{sub}: must be true or false, got {arg!r}")
        return Exists(arg)
    if op == "cidr":
        try:
            return Cidr(ipaddress.ip_network(_string(arg, sub).strip(), strict=False))
        except ValueError as e:
            raise ValueError(f"{sub}: not an IPv4 or IPv6 network ({e})") from None
    if op == "numeric":
        return Numeric(_numeric_pairs(arg, sub, d), d)
    if op == "anything-but":
        return AnythingBut(_anything_but(arg, sub, d))
    raise ValueError(f"{path}: unknown operator {op!r}; allowed: {', '.join(OPERATORS)}")


def _string(arg, path: str, allowed: str = "a string") -> str:
    if not isinstance(arg, str):
        raise ValueError(f"{path}: must be {allowed}, got {arg!r}")
    return arg


def _number(x, path: str, d: Dialect):
    if not is_number(x):
        raise ValueError(f"{path}: must be a number, got {x!r}")
    if quantize(x, d) is None:
        raise ValueError(f"{path}: {d.name} numbers lie within ±{d.limit:g}, got {x!r}")
    return x


def _numeric_pairs(arg, path: str, d: Dialect) -> list:
    allowed = '["=", n], [op, n] or [">"|">=", low, "<"|"<=", high]'
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise ValueError(f"{path}: must be {allowed}, got {arg!r}")
    pairs = []
    for k in range(0, len(arg), 2):
        op = arg[k]
        if op not in _COMPARE:
            raise ValueError(f"{path}[{k}]: unknown comparison {op!r}; allowed: {_COMPARE}")
        pairs.append((op, _number(arg[k + 1], f"{path}[{k + 1}]", d)))
    if len(pairs) == 2:
        (lo_op, lo), (hi_op, hi) = pairs
        if lo_op not in (">", ">=") or hi_op not in ("<", "<="):
            raise ValueError(f"{path}: a range is [\">\"|\">=\", low, \"<\"|\"<=\", high], "
                             f"got {arg!r}")
        if lo > hi or (lo == hi and (lo_op, hi_op) != (">=", "<=")):
            raise ValueError(f"{path}: the lower bound {lo!r} must be below the upper "
                             f"bound {hi!r}")
    return pairs


def _anything_but(arg, path: str, d: Dialect) -> list:
    if isinstance(arg, dict):
        if len(arg) != 1 or next(iter(arg)) not in _STRING_OPS:
            raise ValueError(f"{path}: an object here has one key of {_STRING_OPS}, "
                             f"got {sorted(arg)}")
        (op, text), = arg.items()
        texts = text if isinstance(text, list) and text else [text]
        for i, t in enumerate(texts):
            _string(t, f"{path}.{op}" + (f"[{i}]" if isinstance(text, list) else ""))
            if op == "wildcard":
                compile_wildcard(t, f"{path}.{op}")
        return [Text(op, t, op == "equals-ignore-case") for t in texts]
    items = arg if isinstance(arg, list) else [arg]
    if not items:
        raise ValueError(f"{path}: an empty list excludes nothing; give at least one value")
    if all(isinstance(x, str) for x in items):
        return [Exact(x, d) for x in items]
    if all(is_number(x) for x in items):
        return [NumberEquals(_number(x, path, d), d) for x in items]
    raise ValueError(f"{path}: must be a string, a number, a list of only strings or only "
                     f"numbers, or an object with one of {_STRING_OPS}; got {arg!r}")
