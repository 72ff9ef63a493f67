"""The `cloudtwin` command: compose a scenario with Hydra, run it, print a summary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from sim.console import format_summary

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "configs"

# `${cloudtwin_root:}` in configs/config.yaml: the repository root, so output paths are
# absolute whatever the working directory.
if not OmegaConf.has_resolver("cloudtwin_root"):
    OmegaConf.register_new_resolver("cloudtwin_root", lambda: str(ROOT))
from scenarios.store import register as _register_schema  # noqa: E402

_register_schema()  # scenario files may start from the typed schema: defaults [schema, _self_]


def scenario_dict(cfg: DictConfig) -> Dict[str, Any]:
    """The composed `scenario` node as plain, fully resolved data."""
    return OmegaConf.to_container(cfg.scenario, resolve=True)


def run(cfg: DictConfig, out_dir: Path):
    """Simulate `cfg.scenario`, writing its outputs into `out_dir`; return the Result."""
    from sim import simulate  # the engine is imported only when a run starts

    book = cfg.get("pricing")
    book = OmegaConf.to_container(book, resolve=True) if book is not None else None
    return simulate(scenario_dict(cfg), out_dir=Path(out_dir), price_book=book)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    """Entry point: `cloudtwin scenario=NAME key=value …` (or `-m` for a sweep)."""
    from scenarios.errors import ScenarioError

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        result = run(cfg, out_dir)
    except ScenarioError as err:
        lines = str(err).splitlines() or ["(no details)"]
        print("cloudtwin: the scenario has mistakes:", file=sys.stderr)
        print("\n".join(f"  {line}" for line in lines), file=sys.stderr)
        sys.exit(2)
    print(format_summary(result.summary))
    print(f"\nreport: {out_dir / 'report.html'}")
