"""The `cloudtwin` command: check the scenario and every override, then let Hydra compose it, run it and print a summary.

Before Hydra sees the command line, `prepare` composes the scenario once itself, applies the
scenario overrides with `scenarios.overrides` (unknown keys, missing resources and list
indices out of range reported with a "did you mean"), validates the result as a file is
validated, and reports every mistake at once with exit status 2 — so a typo is never
OmegaConf's first-mistake-only error, and nothing is written for a scenario that cannot run.
Scenario overrides then reach Hydra as `++scenario.KEY=VALUE`, so any schema key can be set
whatever the file spells out. The run directory is claimed here too, unique even for runs
started in the same second.
"""

from __future__ import annotations

import copy
import difflib
import logging
import shutil
import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim.output.console import format_summary
from sim.sweep import prewarm

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "configs"
PROG = "cloudtwin"
# Config groups a user chooses with GROUP=NAME, and the top-level keys of configs/config.yaml.
GROUPS = ("scenario", "pricing", "sweep")
TOP_KEYS = ("results_dir", "seeds")
SCHEMA_NAME = "schema"  # scenario/schema: the defaults a file may start from, not a scenario to run
EXIT_MISTAKE = 2
EXIT_INTERRUPTED = 130

log = logging.getLogger("cloudtwin")

# `${cloudtwin_root:}` in configs/config.yaml: the repository root, so output paths are
# absolute whatever the working directory.
if not OmegaConf.has_resolver("cloudtwin_root"):
    OmegaConf.register_new_resolver("cloudtwin_root", lambda: str(ROOT))
from scenarios.errors import Problems, ScenarioError  # noqa: E402
from scenarios.load import load_scenario  # noqa: E402
from scenarios.overrides import ADD, DELETE, SET, Override, apply_overrides  # noqa: E402
from scenarios.schema import Scenario  # noqa: E402
from scenarios.store import register as _register_schema  # noqa: E402
from scenarios.yamlfile import dotted_to_yaml, interpolation_error, locate, read_yaml_file  # noqa: E402
from scenarios.yamlpath import is_within, show  # noqa: E402

_register_schema()  # scenario files may start from the defaults: defaults [schema, _self_]


def choices(group: str, config_dirs: Sequence[Path] = (CONFIG_DIR,)) -> List[str]:
    """The options of config group `group` (file stems), `scenario/schema` left out."""
    names = set()
    for d in config_dirs:
        names.update(p.stem for p in (Path(d) / group).glob("*.yaml"))
    names.discard(SCHEMA_NAME)
    return sorted(names)


def _groups_help() -> str:
    lines = []
    for group, what in (("scenario", "an architecture and its traffic"), ("pricing", "a Region's price book"),
                        ("sweep", "a multirun preset, with -m")):
        lines.append(f"{group}: {', '.join(choices(group))}    ({what})")
    return "\n".join(lines)


if not OmegaConf.has_resolver("cloudtwin_groups"):
    OmegaConf.register_new_resolver("cloudtwin_groups", _groups_help)


def scenario_dict(cfg: DictConfig) -> Dict[str, Any]:
    """The composed `scenario` node as plain, fully resolved data."""
    return OmegaConf.to_container(cfg.scenario, resolve=True)


def run(cfg: DictConfig, out_dir: Path, base_dir: Optional[Path] = None, in_sweep: bool = False):
    """Simulate `cfg.scenario`, writing its outputs into `out_dir`; return the Result.

    Relative data-file paths in the scenario resolve against `base_dir`: the folder of the
    scenario's file, as when the file is given to `simulate()` directly. `record.report:
    auto` is decided here: a single run draws report.html, a sweep's job (`in_sweep`) does not.
    """
    import sim  # the engine is imported only when a run starts

    data = scenario_dict(cfg)
    record = data.get("record")
    if isinstance(record, dict) and record.get("report", "auto") == "auto":
        data["record"] = {**record, "report": not in_sweep}
    elif record is None:
        data["record"] = {"report": not in_sweep}
    book = cfg.get("pricing")
    if book is not None:
        book = OmegaConf.to_container(book, resolve=True)
    else:
        from sim.billing.region_books import region_book

        book = region_book(data)
    kwargs = {"base_dir": base_dir} if base_dir is not None else {}
    return sim.simulate(data, out_dir=Path(out_dir), price_book=book, **kwargs)


def _job_scenario_dir() -> Optional[Path]:
    """The folder of the scenario file this Hydra job composed, if it came from a file."""
    hc = HydraConfig.get()
    name = OmegaConf.select(hc, "runtime.choices.scenario")
    dirs = [Path(src.path) for src in hc.runtime.config_sources if src.schema == "file"]
    file = _scenario_file(str(name), dirs) if name else None
    return file.parent if file is not None else None


# ------------------------------------------------------------------ before Hydra


class Refused(Exception):
    """The command line cannot run: `lines` say why (printed under one heading, exit 2)."""

    def __init__(self, lines: List[str], heading: str = "the scenario has mistakes:"):
        super().__init__("\n".join(lines))
        self.lines = lines
        self.heading = heading


@dataclass
class Plan:
    """What `prepare` hands to Hydra: the rewritten arguments, and the directory it claimed (if any)."""

    argv: List[str]
    claimed: Optional[Path] = None


def prepare(args: Sequence[str]) -> Plan:
    """Check `args` (the command line after the program name); the arguments to give Hydra, or Refused."""
    from hydra._internal.utils import get_args_parser

    args = list(args)
    try:
        ns, unknown = get_args_parser().parse_known_intermixed_args(args)
    except SystemExit:  # argparse already printed its usage line; let Hydra print its own
        return Plan(args)
    if unknown:
        return Plan(args)  # not Hydra's flags: Hydra says so
    modes = [flag for flag, on in (("--run", ns.run), ("--multirun (-m)", ns.multirun), ("--cfg", ns.cfg),
                                   ("--info", ns.info), ("--shell-completion", ns.shell_completion)) if on]
    if len(modes) > 1:
        raise Refused([f"{' and '.join(modes)} cannot be given together: choose one of --run, --multirun (-m), "
                       f"--cfg, --info and --shell-completion"], "the command line has mistakes:")
    passthrough = ("help", "hydra_help", "info", "shell_completion", "experimental_rerun", "config_path")
    if any(getattr(ns, k, None) for k in passthrough) or getattr(ns, "config_name", None) not in (None, "config"):
        return Plan(args)
    if ns.multirun and not ns.cfg:  # the workers' forkserver, when the command line names joblib
        prewarm.early(list(ns.overrides))
    flags, pending = [], list(ns.overrides)
    for a in args:  # the flags, in order; Hydra gets them before the overrides (it parses no mix)
        if pending and a == pending[0]:
            pending.pop(0)
        else:
            flags.append(a)
    parsed = _parse(ns.overrides)
    config_dirs = [CONFIG_DIR] + ([Path(ns.config_dir).absolute()] if ns.config_dir else [])
    scen = [o for o in parsed if _is_scenario_key(o)]
    rest = [o for o in parsed if not _is_scenario_key(o)]
    if not ns.multirun:
        sweeps = [o for o in scen if o.is_sweep_override()]
        if sweeps:
            raise Refused([f"{o.input_line}: several values make a sweep; add -m to run one job per value "
                           f"(cloudtwin -m {o.input_line})" for o in sweeps], "the command line has mistakes:")
    _check_rest(rest, config_dirs, bool(ns.multirun))
    extra = ([f"hydra.searchpath=[file://{Path(ns.config_dir).absolute()}]"] if ns.config_dir else [])
    variants = _variants(rest, scen, bool(ns.multirun))
    final_data: Optional[Dict[str, Any]] = None
    problems: List[Tuple[str, str]] = []
    seen = set()  # (place, message): a mistake in a swept key is reported once, not once per value
    base_cfg = None
    composed: Dict[Tuple[str, ...], Any] = {}  # one composition per combination of the non-scenario values
    for group_values, scen_values in variants:
        where = tuple(group_values + extra)
        if where not in composed:
            composed[where] = _compose_base(list(where), config_dirs)
        cfg, data, file = composed[where]
        if base_cfg is None:
            base_cfg = cfg
            if ns.multirun and not ns.cfg:  # joblib's workers start now, while the rest is checked
                prewarm.start(OmegaConf.to_container(cfg.hydra.launcher, resolve=True), data)
            if ns.multirun:  # a sweep preset's scenario keys are checked like the command line's
                preset = _preset_overrides(cfg)
                scen_values = scen_values + preset
                for more in _preset_variants(preset):
                    variants.append((group_values, scen_values[: len(scen_values) - len(preset)] + more))
        for p in _check_scenario(data, scen_values, file):
            if p not in seen:
                seen.add(p)
                problems.append(p)
        if final_data is None:
            final_data = data
    if problems:
        raise Refused([f"{path}: {message}" for path, message in problems])
    swept = {str(k).lstrip("+") for k in (OmegaConf.select(base_cfg, "hydra.sweeper.params") or {})} \
        if ns.multirun else set()
    argv = flags + [o.input_line if o.key_or_group in swept else _rewrite(o, final_data)  # the preset's key: it replaces
                    for o in parsed if not _dropped(o, final_data)]
    plan = Plan(argv)
    if ns.cfg:  # --cfg job / hydra / all: print the composed config, run nothing
        return plan
    if not any(o.key_or_group in ("hydra.run.dir", "hydra.sweep.dir") for o in rest):
        plan.claimed = _claim_dir(base_cfg, _final_name(final_data, scen), bool(ns.multirun))
        key = "hydra.sweep.dir" if ns.multirun else "hydra.run.dir"
        plan.argv.append(f"{key}={_quote(str(plan.claimed))}")
    return plan


def _parse(overrides: List[str]):
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    out = []
    bad = []
    parser = OverridesParser.create()
    for text in overrides:
        try:
            out.extend(parser.parse_overrides([text]))
        except OverrideParseException as e:
            first = str(e).splitlines()[0] if str(e) else "cannot be parsed"
            bad.append(f"{text!r}: {first} (overrides are KEY=VALUE, e.g. scenario.duration_s=600)")
    if bad:
        raise Refused(bad, "the command line has mistakes:")
    return out


def _is_scenario_key(o) -> bool:
    return o.key_or_group.startswith("scenario.") and not o.is_hydra_override()


def _check_rest(rest, config_dirs: Sequence[Path], multirun: bool) -> None:
    """Group choices and top-level keys that are not scenario keys: each must exist."""
    lines = []
    top = list(GROUPS) + list(TOP_KEYS) + ["hydra"]
    for o in rest:
        k = o.key_or_group
        if o.is_hydra_override() or k.startswith("hydra.") or k.startswith("hydra/"):
            continue
        if o.is_sweep_override() and not multirun:
            lines.append(f"{o.input_line}: several values make a sweep; add -m to run one job per value "
                         f"(cloudtwin -m {o.input_line})")
            continue
        if k in GROUPS:
            if o.is_delete():
                continue
            for value in _values(o):
                values = value if isinstance(value, list) else [value]
                for v in values:
                    if v is None and k != "scenario":
                        continue
                    opts = choices(k, config_dirs)
                    if str(v) not in opts:
                        lines.append(f"{o.input_line}: no {k} named {v!r}{_close(str(v), opts)}; available: "
                                     f"{', '.join(opts)} (files in configs/{k}/)")
            continue
        if k.split(".")[0] in TOP_KEYS:
            continue
        if k.split(".")[0] == "optimize":
            lines.append(f"{o.input_line}: optimisation studies run with cloudtwin-optimize (cloudtwin-optimize "
                         f"optimize=NAME …); cloudtwin runs one scenario or, with -m, a sweep")
            continue
        head = k.split(".")[0].split("/")[0]
        close = difflib.get_close_matches(head, top, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        lines.append(f"{o.input_line}: unknown key {k!r}{hint}; the command line takes scenario.KEY=VALUE (any key "
                     f"of the scenario), scenario=NAME, pricing=REGION, sweep=PRESET, results_dir=DIR, seeds=N, "
                     f"and Hydra's own hydra.* settings")
    if lines:
        raise Refused(lines, "the command line has mistakes:")


def _values(o) -> List[Any]:
    """The values an override takes: one, or each of a sweep's (an `interval(…)` sweep has none to list)."""
    if not o.is_sweep_override():
        return [o.value()]
    try:
        return list(o.sweep_iterator())
    except Exception:  # noqa: BLE001 - interval sweeps are for optimisers: checked when a job runs
        return []


def _close(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _variants(rest, scen, multirun: bool):
    """The combinations to check: every override at its first value, then each sweep value on its own."""
    def text(o, v):
        return f"{o.get_key_element()}={_value_text(v)}"

    first_rest = [text(o, _values(o)[0]) if o.is_sweep_override() and _values(o) else o.input_line for o in rest]
    first_scen = [(o, _values(o)[0]) for o in scen if _values(o)]
    variants = [(first_rest, first_scen)]
    if not multirun:
        return variants
    for i, o in enumerate(rest):
        if o.is_sweep_override():
            for v in _values(o)[1:]:
                variants.append((first_rest[:i] + [text(o, v)] + first_rest[i + 1:], first_scen))
    for i, (o, _) in enumerate(first_scen):
        if o.is_sweep_override():
            for v in _values(o)[1:]:
                variants.append((first_rest, first_scen[:i] + [(o, v)] + first_scen[i + 1:]))
    return variants


def _value_text(v: Any) -> str:
    if isinstance(v, str):
        return _quote(v)
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (list, dict)):
        import json

        return json.dumps(v)
    return str(v)


def _quote(text: str) -> str:
    """`text` as a quoted Hydra override value."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _compose_base(overrides: List[str], config_dirs: Sequence[Path]):
    """The config Hydra composes from the non-scenario overrides, its scenario as plain data, and the scenario's file."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra


    name = next((o.split("=", 1)[1] for o in overrides if o.split("=", 1)[0].lstrip("+") == "scenario"), None)
    name = name if name is not None else "default"
    file = _scenario_file(name.strip("'\""), config_dirs)
    if file is not None:
        try:
            read_yaml_file(file)  # syntax, tabs, duplicate keys, empty, not a mapping: FILE:LINE:COL
        except ScenarioError as e:
            raise Refused([str(e)], "the scenario file is not a scenario:") from None
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose("config", overrides=list(overrides), return_hydra_config=True)
    except Exception as e:  # anything Hydra cannot compose
        if file is not None:  # often the file fights the schema defaults (a mapping where a list goes): say where
            _refuse_file_problems(file)
        raise Refused([_first_lines(e)], "the configuration cannot be composed:") from None
    finally:
        GlobalHydra.instance().clear()
    try:
        data = OmegaConf.to_container(cfg.scenario, resolve=True)
    except OmegaConfBaseException as e:
        raise Refused([str(interpolation_error(e, file, prefix="scenario"))]) from None
    except Exception as e:
        raise Refused([_first_lines(e)]) from None
    if not isinstance(data, dict):
        raise Refused([f"{file or 'the scenario'}: the top level is not a mapping"])
    data.pop("defaults", None)
    return cfg, data, file


def _refuse_file_problems(file: Path) -> None:
    """Refused with the problems the validator finds in `file` read on its own, if it finds any."""

    try:
        load_scenario(file)
    except ScenarioError as e:
        raise Refused([f"{show(p)}: {m}" for p, m in e.problems]) from None
    except Exception:  # noqa: BLE001 - fall back to Hydra's own message
        return


def _first_lines(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return " ".join(lines[:3])


def _scenario_file(name: str, config_dirs: Sequence[Path]) -> Optional[Path]:
    for d in reversed(list(config_dirs)):
        p = Path(d) / "scenario" / f"{name}.yaml"
        if p.is_file():
            return p
    return None


def _check_scenario(data: Dict[str, Any], scen_values, file: Optional[Path]) -> List[Tuple[str, str]]:
    """Every problem of `data` with the scenario overrides applied: (place, message) pairs."""

    ops = []
    for o, v in scen_values:
        op = DELETE if o.is_delete() else ADD if o.is_add() else SET
        source = getattr(o, "_cloudtwin_source", "command line")
        ops.append(Override(op, o.key_or_group[len("scenario."):], v, o.input_line, source))
    problems = Problems()
    applied = apply_overrides(data, ops, Scenario, problems)
    found = [(p, m) for p, m in problems.items]
    try:
        scenario = load_scenario(applied, base_dir=file.parent if file is not None else None)
        # a runaway call graph and a run too large for memory are refused
        # here too, before any directory exists: once per scenario, not once per job of a sweep
        if not found:
            from sim.callgraph import check_call_graph
            from sim.engine.budget import check_memory

            check_call_graph(scenario)
            check_memory(scenario, file.parent if file is not None else None, writes=True)
    except ScenarioError as e:
        cli_paths = [(dotted_to_yaml(o.key), f"{o.source}: {o.text}") for o in ops]
        for path, message in e.problems:
            if any(p == path for p, _ in found):
                continue
            note = next((t for p, t in cli_paths if _within(path, p) or _within(p, path)), None)
            if note is not None:
                message = f"{message} ({note})"
            elif file is not None and path:
                place = locate(file, path)
                if place is not None:
                    message = f"{message} ({file.name} line {place[0]})"
            found.append((path, message))

    return [(show(p), m) for p, m in found]


def _within(path: str, outer: str) -> bool:
    return bool(outer) and is_within(path, outer)


def _preset_overrides(cfg) -> List[Tuple[Any, Any]]:
    """A sweep preset's `hydra.sweeper.params` on scenario keys, as (override, first value) pairs."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    texts = [f"{k}={v}" for k, v in params.items() if str(k).lstrip("+").startswith("scenario.")]
    preset = OmegaConf.select(cfg, "hydra.runtime.choices.sweep")
    out = []
    for o in OverridesParser.create().parse_overrides(texts) if texts else []:
        o._cloudtwin_source = f"sweep preset {preset} (configs/sweep/{preset}.yaml)" if preset else "sweep preset"
        if _values(o):
            out.append((o, _values(o)[0]))
    return out


def _preset_variants(preset):
    variants = []
    for i, (o, _) in enumerate(preset):
        for v in _values(o)[1:]:
            variants.append(preset[:i] + [(o, v)] + preset[i + 1:])
    return variants


def _rewrite(o, data: Optional[Dict[str, Any]]) -> str:
    """A scenario override as Hydra must see it: `++` sets a key whether or not the file spells it out."""
    if not _is_scenario_key(o) or o.is_delete():
        return o.input_line
    line = o.input_line.lstrip("+")
    if o.is_add() and not _exists(data, o.key_or_group[len("scenario."):]):
        return "+" + line
    return "++" + line


def _dropped(o, data: Optional[Dict[str, Any]]) -> bool:
    """A `~scenario.KEY` of a key the file does not set: its default stands, Hydra need not see it."""
    return _is_scenario_key(o) and o.is_delete() and not _exists(data, o.key_or_group[len("scenario."):])


def _exists(data: Any, dotted: str) -> bool:
    node = data
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _final_name(data: Optional[Dict[str, Any]], scen) -> str:
    name = (data or {}).get("name", "scenario")
    for o in scen:
        if o.key_or_group == "scenario.name" and not o.is_sweep_override() and not o.is_delete():
            name = o.value()
    return str(name)


def _claim_dir(cfg, name: str, multirun: bool) -> Path:
    """Create and return a new run (or sweep) directory: `TIMESTAMP`, or `TIMESTAMP-2`, … if that one is taken."""
    root = Path(str(OmegaConf.select(cfg, "results_dir"))).expanduser().absolute()
    parent = root / "sweeps" if multirun else root / "runs" / name
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for n in range(1, 10_000):
            candidate = parent / (stamp if n == 1 else f"{stamp}-{n}")
            try:
                candidate.mkdir()  # atomic: exactly one run gets each name
                return candidate
            except FileExistsError:
                continue
    except OSError as e:
        raise Refused([f"cannot write results under {root}: {e.strerror or e} (set results_dir=DIR to write "
                       f"elsewhere)"], "") from None
    raise Refused([f"cannot start: {parent} holds 10,000 runs started in the same second"], "")


# ------------------------------------------------------------------ inside Hydra


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def _job(cfg: DictConfig) -> None:
    """One run (or one job of a sweep), in the directory Hydra made for it.

    A single run that fails exits at once (2 for a mistake, 1 for a bug) and, for a mistake,
    leaves no directory. A sweep's job that fails is marked unfinished with the reason and
    the sweep goes on; the gathering at its end names it and the multirun exits 1. Ctrl-C
    stops either.
    """
    from hydra.types import RunMode


    hc = HydraConfig.get()
    out_dir = Path(hc.runtime.output_dir)
    in_sweep = hc.mode == RunMode.MULTIRUN
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    log.info("run of scenario %s starting in %s", OmegaConf.select(cfg, "scenario.name"), out_dir)
    try:
        result = run(cfg, out_dir, _job_scenario_dir(), in_sweep)
    except ScenarioError as err:
        _print_refusal(Refused(str(err).splitlines() or ["(no details)"]))
        if in_sweep:
            _mark(out_dir, f"the scenario has mistakes: {' / '.join(str(err).splitlines())}")
            return
        _discard(out_dir)
        sys.exit(EXIT_MISTAKE)
    except KeyboardInterrupt:
        _stopped(out_dir)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as err:  # noqa: BLE001 - a bug, not the user's mistake: one line here, the traceback in the log
        _crashed(out_dir, err)
        if in_sweep:
            return
        sys.exit(1)
    finally:
        signal.signal(signal.SIGTERM, previous)
    prewarm.freeze_heap()  # once per process: later jobs' collections skip what lives on
    text = format_summary(result.summary, result.config)
    log.info("run finished\n%s", text)
    print(text)
    if (out_dir / "report.html").is_file():
        print(f"\nreport: {out_dir / 'report.html'}")
    else:
        why = "a sweep's job, record.report: auto" if in_sweep else "record.report: false"
        print(f"\nreport: not drawn ({why}); cloudtwin-report {out_dir} draws it")


BASIC_LAUNCHER = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"
# At most this many jobs' configs are kept between Hydra's check of a batch and its launch.
COMPOSED_KEPT = 256


@contextmanager
def _compose_jobs_once(limit: int = COMPOSED_KEPT):
    """While Hydra runs a multirun, each job's config is composed once, not twice (and with
    joblib or Ray the sweeper checks only a batch's first job: `_check_batch`).

    Hydra 1.3's basic sweeper composes every job of a batch before launching any
    (`Sweeper.validate_batch_is_legal`, so that a job that cannot be composed stops the sweep
    before it starts), and the basic launcher then composes each job again, in the same
    process, with the same `load_sweep_config(master_config, overrides)` call: about 0.1 s
    of CPU a job, twice. Here the config of the check is kept (a deep copy, about a tenth of
    that) and handed to the launcher's call for the same master config and overrides; the
    check still composes every job first and fails as before. Only the first `limit` jobs
    of a batch are kept (memory); the others are composed twice as before. Other launchers
    compose their jobs in other processes: their calls pass through untouched.
    """
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.plugins.sweeper import Sweeper

    original = ConfigLoaderImpl.load_sweep_config
    kept: Dict[Tuple[int, Tuple[str, ...]], Tuple[Any, Any]] = {}

    def load_sweep_config(self, master_config, sweep_overrides):
        key = (id(self), tuple(sweep_overrides))
        hit = kept.pop(key, None)
        if hit is not None and hit[0] is master_config:
            return hit[1]
        config = original(self, master_config, sweep_overrides)
        if len(kept) < limit and OmegaConf.select(master_config, "hydra.launcher._target_") == BASIC_LAUNCHER:
            kept[key] = (master_config, copy.deepcopy(config))
        return config

    ConfigLoaderImpl.load_sweep_config = load_sweep_config
    validate = Sweeper.validate_batch_is_legal
    Sweeper.validate_batch_is_legal = _check_batch(validate)
    try:
        yield kept
    finally:
        ConfigLoaderImpl.load_sweep_config = original
        Sweeper.validate_batch_is_legal = validate


def _check_batch(validate):
    """The sweeper's check of a batch, for a launcher that composes its jobs elsewhere
    (joblib's workers, Ray's): the first job only.

    Hydra composes every job of a batch in the parent before launching any (about 0.12 s of
    CPU a job, timed around `load_sweep_config`; 0.37 s under cProfile), one after another,
    and each worker composes its job again: without the parent's compositions the 16-job
    sweep on 2 joblib workers went from 22.7 to 20.8 s. The CLI has by then checked every swept value
    (each group value composed, each scenario value validated: `prepare`), so the first job
    still stops a broken config tree before anything runs and the others are composed where
    they run. With the basic launcher every job is checked here, its config kept for the
    launch (`_compose_jobs_once`). With another launcher it then starts the gathering's
    imports in the background (while the workers warm up and the jobs run elsewhere) and
    waits for joblib's workers to be warm (started in `prepare`: `sim.sweep.prewarm`)."""
    def check(self, batch):
        if OmegaConf.select(self.config, "hydra.launcher._target_") == BASIC_LAUNCHER:
            return validate(self, batch)
        out = validate(self, list(batch)[:1])
        prewarm.prefetch_gathering()  # while the workers warm up and the jobs run elsewhere
        prewarm.join()  # the workers' warm-up (`prepare`) is over before the launcher's own call
        return out

    check.__wrapped__ = validate
    return check


def _mark(out_dir: Path, reason: str) -> None:
    try:
        from sim.output.writers import mark_unfinished

        mark_unfinished(out_dir, reason)
    except Exception:  # noqa: BLE001 - without summary.json the run reads as unfinished anyway
        pass


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _stopped(out_dir: Path) -> None:
    """Ctrl-C (or SIGTERM) during a run: the directory is marked unfinished, one line says so."""
    _mark(out_dir, "interrupted (Ctrl-C or SIGTERM) before the run finished")
    print(f"{PROG}: interrupted; {out_dir} is incomplete and marked unfinished", file=sys.stderr)


def _crashed(out_dir: Path, err: BaseException) -> None:
    """An unexpected error: its traceback goes to cloudtwin.log, the run is marked unfinished, one line says where."""
    import traceback

    try:
        with open(out_dir / "cloudtwin.log", "a", encoding="utf-8") as f:
            f.write(traceback.format_exc())
    except OSError:  # the message below still goes out
        pass
    _mark(out_dir, f"stopped by an internal error: {type(err).__name__}: {err}")
    print(f"{PROG}: internal error ({type(err).__name__}: {err}); this is a bug in cloudtwin, not in the scenario: "
          f"the traceback is in {out_dir / 'cloudtwin.log'}", file=sys.stderr)


def _discard(out_dir: Path) -> None:
    """Remove a run directory whose build failed (it holds nothing but Hydra's own record)."""
    if (out_dir / "summary.json").exists():
        return
    logging.shutdown()  # close the run's log file before its directory goes
    shutil.rmtree(out_dir, ignore_errors=True)


def _print_refusal(err: Refused) -> None:
    """The heading and one indented line per mistake; a refusal with no heading is one line."""
    if not err.heading:
        print(f"{PROG}: {' '.join(err.lines)}", file=sys.stderr)
        return
    print(f"{PROG}: {err.heading}", file=sys.stderr)
    print("\n".join(f"  {line}" for line in err.lines), file=sys.stderr)


def main() -> None:
    """Entry point: `cloudtwin scenario=NAME key=value …` (or `-m` for a sweep)."""
    claimed = None
    try:
        try:
            plan = prepare(sys.argv[1:])
        except Refused as err:
            _print_refusal(err)
            sys.exit(EXIT_MISTAKE)
        claimed = plan.claimed
        argv0 = sys.argv[0]
        sys.argv = [argv0, *plan.argv]
        try:
            with _compose_jobs_once():
                _job()
        finally:
            sys.argv = [argv0, *sys.argv[1:]]
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        if claimed is not None and claimed.is_dir() and not any(claimed.iterdir()):
            claimed.rmdir()  # nothing ran in it
            try:
                claimed.parent.rmdir()  # and nothing else is beside it
            except OSError:
                pass


if __name__ == "__main__":
    main()
