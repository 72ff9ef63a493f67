"""Every mistake in tests/mistakes.py gets the promised error: exit 2, no traceback, its path and its words — through the CLI (files with and without the schema defaults, and overrides) and through simulate()."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra.core.global_hydra import GlobalHydra

import sim
import sim.cli as cli
from scenarios.errors import ScenarioError
from tests.mistakes import CASES, ROOT, Case, scenario_of

FILE_CASES = [c for c in CASES if not c.cli_only]
ARG_CASES = [c for c in CASES if c.args]


@pytest.fixture(autouse=True)
def fresh_hydra():
    GlobalHydra.instance().clear()
    yield
    GlobalHydra.instance().clear()


def _write(case: Case, folder: Path, schema_line: bool) -> Path:
    """The case's scenario file in `folder`/scenario/case.yaml (and its data files beside it)."""
    d = folder / "scenario"
    d.mkdir(parents=True, exist_ok=True)
    for name, content in case.files.items():
        (d / name).write_bytes(content)
    path = d / "case.yaml"
    if case.text is not None:
        path.write_text(case.text)
    else:
        head = "defaults: [schema, _self_]\n" if schema_line else ""
        path.write_text(head + yaml.safe_dump(scenario_of(case), sort_keys=False))
    return path


def _cli(args, capsys):
    """Run `cloudtwin ARGS` in this process: (exit status, stdout, stderr)."""
    argv = sys.argv
    sys.argv = ["cloudtwin", *args]
    try:
        try:
            cli.main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    finally:
        sys.argv = argv
    out = capsys.readouterr()
    return code, out.out, out.err


def _expect(case: Case, text: str, file: Path | None = None) -> None:
    where = case.path.replace("FILE", str(file)) if file is not None else case.path
    assert where in text, f"{case.id}: path {where!r} not in:\n{text}"
    for w in case.words:
        assert w in text, f"{case.id}: {w!r} not in:\n{text}"
    assert "Traceback" not in text


def _no_run_dirs(results: Path) -> None:
    left = [p for p in results.rglob("*") if p.is_file()] if results.exists() else []
    assert left == [], f"a refused run left files behind: {left}"


@pytest.mark.parametrize("schema_line", [True, False], ids=["with schema defaults", "without"])
@pytest.mark.parametrize("case", FILE_CASES, ids=[c.id for c in FILE_CASES])
def test_cli_file(case, schema_line, tmp_path, capsys):
    if case.api_only or (case.text is not None and not schema_line):
        pytest.skip("the file's text is the case itself")
    path = _write(case, tmp_path / "conf", schema_line)
    results = tmp_path / "results"
    code, out, err = _cli(["-cd", str(tmp_path / "conf"), "scenario=case", f"results_dir={results}", *case.args], capsys)
    assert code == 2, f"{case.id}: exit {code}\n{out}\n{err}"
    _expect(case, err, path)
    _no_run_dirs(results)


@pytest.mark.parametrize("case", ARG_CASES, ids=[c.id for c in ARG_CASES])
def test_cli_overrides(case, tmp_path, capsys):
    results = tmp_path / "results"
    chosen = any(a.split("=", 1)[0] == "scenario" for a in case.args)
    code, out, err = _cli([*([] if chosen else [f"scenario={case.base}"]), f"results_dir={results}", *case.args], capsys)
    assert code == 2, f"{case.id}: exit {code}\n{out}\n{err}"
    _expect(case, err)
    _no_run_dirs(results)


@pytest.mark.parametrize("case", FILE_CASES, ids=[c.id for c in FILE_CASES])
def test_simulate(case, tmp_path):
    if case.text is not None or case.files:
        src = _write(case, tmp_path, schema_line=True)  # simulate() takes a YAML path too
    else:
        src = scenario_of(case)
    with pytest.raises(ScenarioError) as info:
        sim.simulate(src, out_dir=tmp_path / "out")
    _expect(case, str(info.value), src if isinstance(src, Path) else None)
    assert not (tmp_path / "out").exists()


def test_the_table_is_large():
    assert len(CASES) >= 80


# ---------------------------------------------------------------- beyond the table


def test_a_subprocess_prints_no_traceback(tmp_path):
    p = subprocess.run([sys.executable, "-c", "from sim.cli import main; main()", "scenario.functions.api.memroy_mb=1",
                        "scenario.duration_s=abc", f"results_dir={tmp_path}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and "Error executing job" not in p.stderr
    assert "functions.api.memroy_mb" in p.stderr and "duration_s" in p.stderr


def test_any_schema_key_is_overridable_without_the_schema_line(tmp_path, capsys):
    case = Case("plain", "", ())
    _write(case, tmp_path / "conf", schema_line=False)
    code, out, err = _cli(["-cd", str(tmp_path / "conf"), "scenario=case", "--cfg", "job",
                           "scenario.sim.window_s=60", "scenario.billing.free_tier=true"], capsys)
    assert code == 0, err
    job = yaml.safe_load(out)
    assert job["scenario"]["sim"]["window_s"] == 60
    assert job["scenario"]["billing"]["free_tier"] is True


def test_adding_a_function_with_plus_works(capsys):
    code, out, err = _cli(["--cfg", "job", "+scenario.functions.extra.memory_mb=256"], capsys)
    assert code == 0, err
    assert yaml.safe_load(out)["scenario"]["functions"]["extra"] == {"memory_mb": 256}


def test_unwritable_results_dir_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, out, err = _cli(["scenario=erlang_b", f"results_dir={blocker}"], capsys)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cannot write results under" in lines[0] and "results_dir=" in lines[0]


def test_help_offers_only_real_choices(capsys):
    code, out, err = _cli(["--help"], capsys)
    assert code == 0
    groups = out.split("== Config ==")[0]
    assert "schema" not in groups and "optimize" not in groups
    assert "erlang_b" in groups and "eu-west-1" in groups and "memory" in groups


def test_relative_data_files_resolve_against_the_scenario_folder(tmp_path, capsys, monkeypatch):
    """From the CLI as from the API: a trace named `calls.csv` is the one beside the scenario file."""
    conf = tmp_path / "conf"
    (conf / "scenario").mkdir(parents=True)
    (conf / "scenario" / "calls.csv").write_text("t_s\n" + "".join(f"{0.5 * i}\n" for i in range(20)))
    data = {"name": "traced", "duration_s": 10, "functions": {"f": {}},
            "traffic": [{"name": "t", "target": "function:f", "arrivals": {"kind": "trace", "file": "calls.csv"}}]}
    (conf / "scenario" / "traced.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.chdir(tmp_path)  # not the scenario's folder
    code, out, err = _cli(["-cd", str(conf), "scenario=traced", f"results_dir={tmp_path / 'r'}"], capsys)
    assert code == 0, err
    assert "requests 20" in out
    result = sim.simulate(conf / "scenario" / "traced.yaml")
    assert result.summary["requests_simulated"] == 20
