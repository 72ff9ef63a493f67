"""The house rules of docs/DESIGN.md §1, checked on the source: which package may import which.

Every `import` counts, those inside functions too (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from sim.callgraph import strongly_connected

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "scenarios", "kernels")
KERNEL_THIRD_PARTY = {"numpy", "numba", "llvmlite"}
SERVICE_PACKAGES = ("sim.compute", "sim.messaging", "sim.network", "sim.integration", "sim.storage", "sim.engine",
                    "sim.traffic", "sim.billing")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out[_module_name(path)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Absolute names of every module `name` imports (resolved to modules of the project where they are)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.add(sub if sub in MODULES else base)
    return {m for m in found if m != "__future__"}


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _top(m: str) -> str:
    return m.split(".")[0]


def _internal(m: str) -> str | None:
    """The project module `m` names (a module, or the package holding it), or None."""
    while m and m not in MODULES:
        m = m.rpartition(".")[0]
    return m or None


def _stdlib(m: str) -> bool:
    return _top(m) in sys.stdlib_module_names


def test_scenarios_import_nothing_from_sim_or_kernels():
    bad = [(n, m) for n, ms in IMPORTS.items() if n.startswith("scenarios") for m in ms if _top(m) in ("sim", "kernels")]
    assert bad == []


def test_kernels_import_only_numpy_numba_llvmlite_and_each_other():
    bad = [(n, m) for n, ms in IMPORTS.items() if _top(n) == "kernels" and not n.startswith("kernels.ref")
           for m in ms if not (_stdlib(m) or _top(m) in KERNEL_THIRD_PARTY | {"kernels"})]
    assert bad == []


def test_twins_import_kernels_and_never_the_reverse():
    twins = [n for n in MODULES if n.startswith("kernels.ref")]
    assert len(twins) >= 6
    bad = [(n, m) for n, ms in IMPORTS.items() if not n.startswith("kernels.ref")
           for m in ms if m.startswith("kernels.ref")]
    assert bad == [], "production code imports a twin"
    bad = [(n, m) for n in twins for m in IMPORTS[n] if _top(m) in ("sim", "scenarios")]
    assert bad == [], "a twin imports the world"


def test_service_models_import_no_writer_or_report():
    bad = [(n, m) for n, ms in IMPORTS.items() if n.startswith(SERVICE_PACKAGES)
           for m in ms if m.startswith("sim.output") or m.startswith("sim.sweep")]
    assert bad == []


def _graph() -> dict[str, set[str]]:
    g = {}
    for n, ms in IMPORTS.items():
        g[n] = {i for m in ms if (i := _internal(m)) and i != n}
    return g


def _cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module."""
    return [c for c in strongly_connected(g) if len(c) > 1]


def _is_package_init(n: str) -> bool:
    return MODULES[n].name == "__init__.py"


def test_no_import_circles():
    # a package's __init__ re-exporting its own submodules is not a circle of design
    g = {n: {m for m in ms if not (_is_package_init(n) and m.startswith(n + "."))} for n, ms in _graph().items()}
    assert _cycles(g) == []


@pytest.mark.parametrize("rule", ["cycle"])
def test_the_cycle_finder_finds_cycles(rule):
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_protocol_numbers_agree_between_the_language_and_the_kernels():
    """The one constant the layering makes us write twice (scenarios may not import kernels)."""
    from kernels.firewall import ICMP, ICMP_PROTOCOLS, ICMPV6, PORT_PROTOCOLS, PROTO_ALL, TCP, UDP
    from scenarios.vpc_check import PORT_PROTOCOLS as LANGUAGE_PORT_PROTOCOLS, PROTOCOLS
    assert PROTOCOLS == {"all": PROTO_ALL, "-1": PROTO_ALL, "tcp": TCP, "udp": UDP, "icmp": ICMP, "icmpv6": ICMPV6}
    assert LANGUAGE_PORT_PROTOCOLS == PORT_PROTOCOLS and ICMP_PROTOCOLS == (ICMP, ICMPV6)


def test_kernel_caches_are_dropped_when_any_kernel_source_changes(tmp_path, monkeypatch):
    """numba keys a cache on its own file; a loop inlining another module's helper would load
    stale code. A digest of every source drops all caches when one changes, and only then."""
    from kernels import SOURCES_STAMP, drop_stale_caches

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    (tmp_path / "loop.py").write_text("def loop(): pass\n")
    (tmp_path / "helper.py").write_text("def helper(): return 1\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()

    def caches():
        for name in ("loop.loop-1.py311.nbi", "loop.loop-1.py311.1.nbc"):
            (cache / name).write_text("x")

    caches()
    assert drop_stale_caches(tmp_path)  # no digest yet: dropped, digest written
    assert not list(cache.glob("*.nb?")) and (cache / SOURCES_STAMP).is_file()
    caches()
    assert not drop_stale_caches(tmp_path) and len(list(cache.glob("*.nb?"))) == 2  # nothing changed: kept
    (tmp_path / "helper.py").write_text("def helper(): return 2\n")  # only the helper's file changes
    assert drop_stale_caches(tmp_path) and not list(cache.glob("*.nb?"))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "elsewhere"))
    (tmp_path / "helper.py").write_text("def helper(): return 3\n")
    caches()
    assert not drop_stale_caches(tmp_path) and len(list(cache.glob("*.nb?"))) == 2  # not ours to drop
