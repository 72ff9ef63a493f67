"""load_scenario: user input (dict, DictConfig, Scenario or YAML path) to a validated Scenario; to_dict back."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from scenarios.coerce import build
from scenarios.crosscheck import check_references
from scenarios.dists import check_kinds
from scenarios.errors import Problems, ScenarioError
from scenarios.fields import check_fields, document_order
from scenarios.schema import Scenario
from scenarios.vpc_check import check_vpcs
from scenarios.workflows import check_state_machines
from scenarios.yamlfile import read_yaml_file, resolve
from scenarios.yamlpath import describe

Source = Union[Mapping, DictConfig, Scenario, str, os.PathLike]


def load_scenario(src: Source, base_dir: Union[str, os.PathLike, None] = None) -> Scenario:
    """A validated Scenario from `src`, every omitted key at its default; raises ScenarioError listing all mistakes.

    `src` is the scenario mapping itself (a dict or DictConfig; from Hydra pass `cfg.scenario`), a
    Scenario (validated again), or the path of a YAML file (a top-level Hydra `defaults` list in it is
    ignored). Relative data-file paths (`empirical` distributions, `trace` arrivals, state machines'
    `definition_file`) resolve against `base_dir`: by default the YAML file's directory, else the
    current directory; in the returned Scenario they are absolute.
    """
    return check_scenario(src, base_dir)[0]


def check_scenario(src: Source, base_dir: Union[str, os.PathLike, None] = None
                   ) -> Tuple[Scenario, List[Tuple[str, str]]]:
    """As `load_scenario`, with the warnings too: (path, message) pairs for settings allowed but unusual."""
    data, file_dir = _read(src)
    base = Path(base_dir) if base_dir is not None else (file_dir or Path.cwd())
    problems = Problems()
    scenario = build(Scenario, data, "", problems)
    check_kinds(scenario, problems, base.absolute())
    check_fields(scenario, problems)
    check_state_machines(scenario, problems, base.absolute())  # (first: its files' paths become absolute)
    check_references(scenario, problems)
    check_vpcs(scenario, problems)
    problems.sort(document_order(scenario))
    problems.raise_if_any()
    return scenario, list(problems.warnings)


def to_dict(scenario: Scenario) -> Dict[str, Any]:
    """The scenario as plain nested dicts, lists and scalars (YAML-able): the resolved config."""
    return dataclasses.asdict(scenario)


def _read(src: Any) -> Tuple[Any, Optional[Path]]:
    """The scenario as plain data, and the directory of the file it came from (if it did)."""
    if isinstance(src, Scenario):
        return to_dict(src), None
    if isinstance(src, (DictConfig, ListConfig)):
        return _container(src), None
    if isinstance(src, Mapping):
        return _plain(src), None
    if isinstance(src, (str, os.PathLike)):
        return _read_yaml(Path(src)), Path(src).absolute().parent
    raise ScenarioError([("", f"expected a scenario mapping, a DictConfig, a Scenario or a YAML file path;"
                              f" got {describe(src)}")])


def _read_yaml(path: Path) -> Any:
    data = read_yaml_file(path)
    data.pop("defaults", None)  # Hydra's defaults list, meaningful only when Hydra composes the file
    return resolve(data, path)


def _container(cfg: Any) -> Any:
    try:
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as e:
        where = getattr(e, "full_key", None) or ""
        raise ScenarioError([(str(where), str(e).splitlines()[0])]) from e


def _plain(obj: Any) -> Any:
    """`obj` with any DictConfig or ListConfig inside it turned into plain containers."""
    if isinstance(obj, (DictConfig, ListConfig)):
        return _container(obj)
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj
