"""A gathered sweep table's override columns: a job's overrides parsed, and the column each key went to."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

import polars as pl

# A column naming an override whose key is also a summary field (`scenario=NAME`).
OVERRIDE_PREFIX = "override."


def parse_overrides(overrides: List[str]) -> Dict[str, Any]:
    """Override key -> value: numbers, booleans and strings as parsed, anything else as typed."""
    return dict(_parsed(tuple(overrides)))  # a copy: the caller may change it


@lru_cache(maxsize=4096)
def _parsed(overrides: Tuple[str, ...]) -> Dict[str, Any]:
    """`parse_overrides`, once per list: gathering and every column lookup of the report parse each job's list,
    and Hydra's parser takes a few milliseconds to build and run."""
    out: Dict[str, Any] = {}
    for o in _parser().parse_overrides(list(overrides)):
        if o.is_delete():
            continue
        value = o.value()
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        elif not isinstance(value, (bool, int, float, str)):
            value = o.get_value_element_as_str()  # lists, dicts, null: as typed
        out[o.key_or_group] = value
    return out


@lru_cache(maxsize=1)
def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def override_columns(df: pl.DataFrame) -> Dict[str, str]:
    """Override key -> its column in a gathered table, in order of first appearance."""
    keys: Dict[str, str] = {}
    if "overrides" not in df.columns:
        return keys
    for text in df["overrides"].to_list():
        for key in parse_overrides(_split(text)):
            prefixed = f"{OVERRIDE_PREFIX}{key}"
            keys.setdefault(key, prefixed if prefixed in df.columns else key)
    return keys


def _split(text: Optional[str]) -> List[str]:
    """The `overrides` column's text back into the list Hydra parsed (JSON list)."""
    return list(json.loads(text)) if text else []
