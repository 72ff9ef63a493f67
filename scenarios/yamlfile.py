"""Reading a scenario YAML file strictly: every way a file can fail to be a scenario mapping becomes one message with file, line and column."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import yaml
from omegaconf import OmegaConf
from omegaconf._utils import get_yaml_loader  # the loader Hydra and OmegaConf read files with
from omegaconf.errors import OmegaConfBaseException

from scenarios.errors import ScenarioError
from scenarios.yamlpath import index, key

_INTERPOLATION = re.compile(r"\$\{")


def where(file: Path | str, line: int, column: int) -> str:
    """`FILE:LINE:COLUMN` (1-based), as compilers and editors print a place in a file."""
    return f"{file}:{line}:{column}"


def read_yaml_file(path: Path | str) -> Dict[str, Any]:
    """The mapping a scenario file holds, with `${…}` interpolations resolved; ScenarioError with FILE:LINE:COL otherwise.

    Caught here: a missing or unreadable file, YAML syntax errors, tab indentation,
    duplicate keys, an empty file, and a top level that is a list or a single value.
    Unknown interpolations are reported by `resolve`.
    """
    path = Path(path)
    text = _text(path)
    try:
        data = yaml.load(text, Loader=get_yaml_loader())
    except yaml.MarkedYAMLError as e:
        raise ScenarioError([(_mark(path, e.problem_mark or e.context_mark), _yaml_message(e))]) from None
    except yaml.YAMLError as e:  # no position known
        raise ScenarioError([(where(path, 1, 1), f"not valid YAML: {e}")]) from None
    if data is None:
        raise ScenarioError([(where(path, 1, 1), "the file is empty (or only comments); a scenario is a mapping "
                                                 "of keys such as name, duration_s, functions and traffic")])
    if not isinstance(data, dict):
        what = "a list" if isinstance(data, list) else f"a single value ({data!r})"
        raise ScenarioError([(where(path, 1, 1), f"the top level is {what}; a scenario is a mapping of keys "
                                                 "such as name, duration_s, functions and traffic")])
    return data


def resolve(data: Dict[str, Any], file: Optional[Path] = None, prefix: str = "") -> Dict[str, Any]:
    """`data` with every `${…}` interpolation resolved; an unknown one is a ScenarioError at its line in `file`.

    `prefix` is where the data sits in a larger config whose keys interpolations may name
    (Hydra puts a scenario under `scenario`); standalone, interpolations see the scenario only.
    """
    cfg = OmegaConf.create(data)
    try:
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as e:
        raise interpolation_error(e, file, prefix) from None


def interpolation_error(e: OmegaConfBaseException, file: Optional[Path], prefix: str = "") -> ScenarioError:
    """A ScenarioError for OmegaConf's failure to resolve a value, placed at its line in `file` when known."""
    full_key = str(getattr(e, "full_key", "") or "")
    if prefix and full_key.startswith(prefix + "."):
        full_key = full_key[len(prefix) + 1:]
    ypath = dotted_to_yaml(full_key)
    message = str(e).splitlines()[0] if str(e) else type(e).__name__
    message = f"cannot resolve this interpolation: {message}"
    if file is not None:
        place = locate(file, ypath)
        if place is not None:
            return ScenarioError([(where(file, *place), f"{ypath}: {message}")])
    return ScenarioError([(ypath, message)])


def dotted_to_yaml(dotted: str) -> str:
    """OmegaConf's `traffic[0].arrivals` or `traffic.0.arrivals` as a YAML path `traffic[0].arrivals`."""
    out = ""
    for part in re.split(r"\.(?![^\[]*\])", dotted) if dotted else []:
        m = re.fullmatch(r"([^\[]*)((?:\[\d+\])*)", part)
        name, idx = (m.group(1), m.group(2)) if m else (part, "")
        if name.isdigit() and out:
            out = index(out, int(name))
        elif name:
            out = key(out, name)
        for i in re.findall(r"\[(\d+)\]", idx):
            out = index(out, int(i))
    return out


def locate(file: Path | str, ypath: str) -> Optional[Tuple[int, int]]:
    """The 1-based (line, column) of the value at YAML path `ypath` in `file`, or of its nearest ancestor found; None if unreadable."""
    try:
        node = yaml.compose(_text(Path(file)), Loader=get_yaml_loader())
    except (yaml.YAMLError, ScenarioError):
        return None
    if node is None:
        return None
    best = node.start_mark
    for part in re.findall(r"\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|([^.\[\]]+)", ypath):
        i, quoted, plain = part
        if isinstance(node, yaml.SequenceNode) and i:
            k = int(i)
            if k >= len(node.value):
                break
            node = node.value[k]
        elif isinstance(node, yaml.MappingNode) and (quoted or plain):
            name = quoted or plain
            found = [v for kn, v in node.value if str(kn.value) == name]
            if not found:
                break
            node = found[0]
        else:
            break
        best = node.start_mark
    return best.line + 1, best.column + 1


def _text(path: Path) -> str:
    if not path.exists():
        raise ScenarioError([("", f"scenario file {str(path)!r} does not exist")])
    if path.is_dir():
        raise ScenarioError([("", f"{str(path)!r} is a directory, not a scenario file")])
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError([(where(path, 1, 1), f"not a text file (UTF-8): {e.reason} at byte {e.start}")]) from None
    except OSError as e:
        raise ScenarioError([("", f"cannot read {str(path)!r}: {e.strerror or e}")]) from None


def _mark(path: Path, mark: Any) -> str:
    if mark is None:
        return where(path, 1, 1)
    return where(path, mark.line + 1, mark.column + 1)


def _yaml_message(e: yaml.MarkedYAMLError) -> str:
    problem = e.problem or "not valid YAML"
    if "'\\t'" in problem or "\\t" in problem:
        return "a tab character: YAML indents with spaces, never tabs"
    if "duplicate key" in problem:
        return f"{problem}: each key may appear only once in a mapping"
    context = f" ({e.context})" if e.context else ""
    return f"{problem}{context}"
