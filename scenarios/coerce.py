"""Builds the schema's dataclasses from plain data, driven by their type hints; reports unknown keys and wrong types."""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import math
import re
import numbers
import typing
from collections.abc import Mapping
from typing import Any, Dict, Union

from scenarios.errors import Problems
from scenarios.yamlpath import describe, index, key

_FAIL = object()  # a value that could not be converted (the problem is already recorded)

# Extra words for an unknown key, where a common mix-up deserves more than "did you mean".
_KEY_HINTS = {"scenario": "pass the scenario mapping itself (cfg.scenario), not the whole config"}


@functools.lru_cache(maxsize=None)
def hints(cls: type) -> Dict[str, Any]:
    """The resolved type hints of a dataclass's fields."""
    return typing.get_type_hints(cls)


def field_default(f: dataclasses.Field) -> Any:
    """A fresh copy of a dataclass field's default."""
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return copy.deepcopy(f.default)


def build(cls: type, data: Any, path: str, problems: Problems) -> Any:
    """An instance of dataclass `cls` from mapping `data`, omitted keys taking the class defaults."""
    fields = dataclasses.fields(cls)
    names = [f.name for f in fields]
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        problems.broken(path, f"expected a mapping with keys {', '.join(names)}; got {describe(data)}")
        return cls()
    for k in data:
        if k not in names:
            problems.broken(key(path, k), _unknown_key(k, names))
    kwargs = {}
    types = hints(cls)
    for f in fields:
        if f.name not in data:
            continue
        value = convert(types[f.name], data[f.name], key(path, f.name), problems, f.metadata.get("words", ()))
        if value is not _FAIL:
            kwargs[f.name] = value
    return cls(**kwargs)


def _unknown_key(k: Any, names: list) -> str:
    text = f"unknown key {k!r}"
    close = difflib.get_close_matches(str(k), names, n=1, cutoff=0.6) if isinstance(k, str) else []
    if close:
        text += f" (did you mean {close[0]!r}?)"
    elif k in _KEY_HINTS:
        text += f" ({_KEY_HINTS[k]})"
    return f"{text}; allowed keys: {', '.join(names)}"


def convert(tp: Any, value: Any, path: str, problems: Problems, words: tuple = ()) -> Any:
    """`value` converted to type `tp`, or _FAIL after recording why it cannot be; `words`: the
    strings a `Union` of a number and str allows (a field's metadata, e.g. ("auto",))."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return copy.deepcopy(value)
    if origin is Union:
        args = typing.get_args(tp)
        inner = [a for a in args if a is not type(None)]
        if value is None and type(None) in args:
            return None
        if len(inner) > 1:
            return _convert_either(inner, value, path, problems, words)
        return convert(inner[0], value, path, problems)
    if dataclasses.is_dataclass(tp):
        if value is not None and not isinstance(value, Mapping):
            build(tp, value, path, problems)  # reports it
            return _FAIL  # the holder keeps its own default
        return build(tp, value, path, problems)
    if origin in (list, typing.List):
        return _convert_list(typing.get_args(tp)[0], value, path, problems)
    if origin in (dict, typing.Dict):
        return _convert_dict(typing.get_args(tp)[1], value, path, problems)
    return _convert_scalar(tp, value, path, problems)


def _convert_list(item_tp: Any, value: Any, path: str, problems: Problems) -> Any:
    if value is None:
        return []
    if _is_array(value):
        value = value.tolist()  # a 1-d numpy array: its items as plain Python numbers
    if not isinstance(value, (list, tuple)):
        problems.broken(path, f"expected a list, got {describe(value)}")
        return _FAIL
    out = []
    for i, item in enumerate(value):
        converted = convert(item_tp, item, index(path, i), problems)
        if converted is _FAIL:  # keep the indices of later items
            converted = item_tp() if dataclasses.is_dataclass(item_tp) else None
        out.append(converted)
    return out


def _is_array(value: Any) -> bool:
    """A one-dimensional array (numpy's, or anything with ndim 1 and tolist), without importing numpy."""
    return getattr(value, "ndim", None) == 1 and callable(getattr(value, "tolist", None))


def _convert_dict(value_tp: Any, value: Any, path: str, problems: Problems) -> Any:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.broken(path, f"expected a mapping, got {describe(value)}")
        return _FAIL
    out = {}
    for k, item in value.items():
        if not isinstance(k, str):
            problems.broken(key(path, k), f"keys must be strings, got {describe(k)} (quote it in YAML)")
            continue
        converted = convert(value_tp, item, key(path, k), problems)
        if converted is _FAIL:
            converted = value_tp() if dataclasses.is_dataclass(value_tp) else None
            if converted is None:
                continue
        out[k] = converted
    return out


_WITH_UNIT = re.compile(r"\s*([-+]?\d[\d_,]*(?:\.\d+)?)\s*[A-Za-zµ%/]+\s*")  # "1024MB", "30 s", "5%"
_EXPECTED = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _convert_either(types: list, value: Any, path: str, problems: Problems, words: tuple = ()) -> Any:
    """`value` as the first of the scalar `types` it fits (bool, str, int, float), where str,
    when `words` are given, means one of them (`Union[float, int, str]` with words ("auto",):
    a number or 'auto'; int is there only for OmegaConf, whose unions take no int as a float);
    else _FAIL after recording why, with a "did you mean" for a misspelt word. A mapping is the
    union's dataclass, if it has one (`Union[float, Dist]`: a number or a distribution)."""
    if isinstance(value, Mapping):
        for tp in types:
            if dataclasses.is_dataclass(tp):
                return build(tp, value, path, problems)
    for tp in types:
        if tp is str and words:
            if isinstance(value, str) and value in words:
                return value
        elif value is not None:
            ok = _scalar(tp, value)
            if ok is not _FAIL:
                return ok
    kinds = [tp for tp in types if not (tp is str and words) and not (tp is int and float in types)]
    expected = " or ".join([_EXPECTED.get(tp, getattr(tp, "__name__", str(tp))) for tp in kinds]
                           + [repr(w) for w in words])
    if value is None:
        problems.broken(path, f"must not be null; expected {expected}")
        return _FAIL
    close = difflib.get_close_matches(value.strip().lower(), words, n=1, cutoff=0.6) if isinstance(value, str) else []
    if close:
        got = f"{describe(value)} (did you mean {close[0]!r}?)"
    else:
        got = _got(next((tp for tp in kinds if tp in (int, float)), kinds[0] if kinds else str), value)
    problems.broken(path, f"expected {expected}, got {got}")
    return _FAIL


def _convert_scalar(tp: Any, value: Any, path: str, problems: Problems) -> Any:
    expected = _EXPECTED.get(tp, getattr(tp, "__name__", str(tp)))
    if value is None:
        problems.broken(path, f"must not be null; expected {expected}")
        return _FAIL
    ok = _scalar(tp, value)
    if ok is not _FAIL:
        return ok
    problems.broken(path, f"expected {expected}, got {_got(tp, value)}")
    return _FAIL


def _got(tp: Any, value: Any) -> str:
    """`value` described for a message saying it is not a `tp`, with a hint where one helps."""
    value = _plain(value)
    got = describe(value)
    if isinstance(value, str) and tp in (int, float) and _looks_numeric(value):
        got += " (write numbers without quotes)"
    elif isinstance(value, str) and tp in (int, float) and _WITH_UNIT.fullmatch(value):
        got += f" (write the number alone, {_WITH_UNIT.fullmatch(value).group(1)}: the key's name gives the unit)"
    elif tp is int and isinstance(value, float) and math.isfinite(value):
        got = f"{got}, which is not a whole number"
    elif tp is float and isinstance(value, float):
        got = f"{got}; numbers must be finite"
    return got


def _is_bool(value: Any) -> bool:
    """A Python bool or a numpy bool (numpy.bool_), recognised without importing numpy."""
    t = type(value)
    return isinstance(value, bool) or (t.__module__ == "numpy" and t.__name__ in ("bool_", "bool"))


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python bool, int or float it holds (for messages); anything else as is."""
    if _is_bool(value):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            return value
    return value


def _scalar(tp: Any, value: Any) -> Any:
    """`value` as a `tp` (bool, str, int, float), or _FAIL.

    Numbers may be any numbers.Integral or numbers.Real, so numpy scalars (np.int64(256),
    np.float64(0.5), np.float32) count as the plain numbers they are; booleans, Python's or
    numpy's, are never numbers here.
    """
    if tp is bool:
        return bool(value) if _is_bool(value) else _FAIL
    if tp is str:
        return str(value) if isinstance(value, str) else _FAIL
    if _is_bool(value) or not isinstance(value, numbers.Real):
        return _FAIL
    if isinstance(value, numbers.Integral):
        if tp is int:
            return int(value)
        try:
            return float(value) if tp is float else _FAIL
        except OverflowError:  # an integer beyond any float
            return _FAIL
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        return _FAIL
    if not math.isfinite(x):
        return _FAIL
    if tp is int:
        return int(x) if x.is_integer() else _FAIL
    if tp is float:
        return x
    return _FAIL


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
