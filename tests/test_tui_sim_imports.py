"""The UI's and the simulator's modules import one another one way only, and `faxtui.sim` is lazy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCOPE = ("faxtui.tui", "faxtui.sim")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """The faxtui modules `path` imports when it runs (anywhere in it, functions included), with the
    packages an import runs on the way; imports under `if TYPE_CHECKING:` left out."""
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {id(node) for top in ast.walk(tree)
                   if isinstance(top, ast.If) and "TYPE_CHECKING" in ast.unparse(top.test)
                   for stmt in top.body for node in ast.walk(stmt)}
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    named: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            named.add(base)
            named |= {f"{base}.{alias.name}" for alias in node.names}
    found: set[str] = set()
    for target in named:
        parts = target.split(".")
        found |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return (found & modules) - {name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_among_the_ui_and_simulator_modules() -> None:
    paths = {module_name(p): p for p in (ROOT / "faxtui").rglob("*.py")}
    modules = {name for name in paths if name.startswith(SCOPE)}
    graph = {name: runtime_imports(paths[name], modules) for name in modules}
    assert graph["faxtui.tui.demo"] >= {"faxtui.tui.app", "faxtui.tui.demo_session"}  # the graph is read
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_importing_the_simulator_package_loads_none_of_its_modules() -> None:
    code = ("import sys, faxtui.sim; print(sorted(m for m in sys.modules if m.startswith('faxtui.sim.')));"
            "from faxtui.sim import SimServer, World, main; print(SimServer.__module__, World.__module__,"
            " main.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout.splitlines()
    assert out == ["[]", "faxtui.sim.server faxtui.sim.world faxtui.sim.cli"]
