"""The package's import graph: no cycles, and imports run one way.

commands -> rigs -> device -> parts; nothing under the parts' packages imports device, rigs
or commands. The graph comes from the source (every `import`, also inside functions), so a
lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "firmware_py" / "kindpulse"
PARTS = ("hardware", "dsp", "stress", "ui", "store", "sim")
TOP = ("kindpulse.device", "kindpulse.rigs", "kindpulse.commands", "kindpulse.cli")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        parts = ("kindpulse", *path.relative_to(PKG).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from pkg import sub` names the submodule when there is one
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                           for a in node.names]
            else:
                continue
            deps |= {t for t in targets if t in modules and t != name}
        graph[name] = deps
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_graph_sees_real_imports() -> None:
    graph = _graph()
    assert "kindpulse.device" in graph["kindpulse.rigs.real"]
    assert "kindpulse.hardware.link" in graph["kindpulse.device"]
    assert "kindpulse.dsp.hrv" in graph["kindpulse.stress.baseline"]


def test_no_import_cycles() -> None:
    assert _find_cycle(_graph()) is None


def test_cycle_finder_finds_one() -> None:
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


@pytest.mark.parametrize("part", PARTS)
def test_parts_never_import_the_top(part: str) -> None:
    bad = {(n, d) for n, deps in _graph().items() if _under(n, f"kindpulse.{part}")
           for d in deps if any(_under(d, t) for t in TOP)}
    assert not bad


def test_imports_run_commands_rigs_device() -> None:
    graph = _graph()
    order = ("kindpulse.cli", "kindpulse.commands", "kindpulse.rigs", "kindpulse.device")
    for i, layer in enumerate(order):
        above = order[:i]
        bad = {(n, d) for n, deps in graph.items() if _under(n, layer) for d in deps
               if any(_under(d, a) for a in above)}
        assert not bad, f"{layer} imports a layer above it: {bad}"


def test_analyze_imports_only_what_it_needs() -> None:
    code = ("import sys, kindpulse.cli as c; c.build_parser(['analyze', 'x.csv']); "
            "print(sorted(m for m in sys.modules if m.startswith(('kindpulse.device', 'kindpulse.rigs', "
            "'kindpulse.sim', 'kindpulse.store', 'kindpulse.commands.sim', 'kindpulse.commands.run'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
