"""Whether a resource's name is one AWS allows: one check for every kind, its pattern and limit given by the caller."""

from __future__ import annotations

import re
from typing import Optional


def name_problem(what: str, name: str, pattern: re.Pattern, allowed: str, limit: int) -> Optional[str]:
    """Why `name` is not a valid `what` name (`pattern`, described in words as `allowed`, at most `limit` characters), or None."""
    if not name:
        return f"{what} name must not be empty"
    if not pattern.fullmatch(name):
        return f"{what} name {name!r} may contain only {allowed}, at most {limit} characters"
    if len(name) > limit:
        return f"{what} name {name!r} is {len(name)} characters long; the limit is {limit}"
    return None
