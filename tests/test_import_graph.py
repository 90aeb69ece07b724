"""faxtui's modules import one another one way: no import cycle, type-only imports aside.

Two graphs are checked. The eager graph (module-level imports, each submodule also depending on
its package's `__init__`, which Python runs first) is what decides whether every module can be
imported on its own; the full graph adds the imports made inside functions, which must not close
a circle either: a lazy import is a way to load less at start-up, not to hide a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "faxtui"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, *, lazy: bool) -> Iterator[tuple[str, list[str]]]:
    """(module, names) of each import, skipping `if TYPE_CHECKING:` blocks, and function bodies
    unless `lazy`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from _imports(ast.Module([child], []), lazy=lazy)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and not lazy:
            continue
        else:
            yield from _imports(node, lazy=lazy)


def graph(*, lazy: bool) -> dict[str, set[str]]:
    """Module -> the faxtui modules it imports (`from pkg import mod` counts as importing `pkg.mod`)."""
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for module, names in _imports(ast.parse(path.read_text()), lazy=lazy):
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES] or [module]
            edges[name].update(target for target in targets if target in MODULES and target != name)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_the_graph_sees_the_modules_and_their_imports() -> None:
    edges = graph(lazy=False)
    assert "faxtui.services.interfax.adapter" in edges["faxtui.services.registry"]
    assert "faxtui.config.load" not in edges["faxtui.config"]  # loaded on first use only
    assert "faxtui.poller" in graph(lazy=True)["faxtui.cli"]  # inside a function


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("lazy", [False, True], ids=["eager", "with-lazy"])
def test_no_import_cycle(lazy: bool) -> None:
    assert find_cycle(graph(lazy=lazy)) is None


def test_every_core_module_imports_on_its_own() -> None:
    """Each module imported first, in a fresh set of faxtui modules: a package `__init__` that
    imports back into a module being imported fails here even where the graph has no cycle."""
    core = sorted(name for name in MODULES if not name.startswith(("faxtui.tui", "faxtui.__main__")))
    script = (
        "import importlib, sys\n"
        f"for name in {core!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'faxtui' or m.startswith('faxtui.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        print(f'{name}: {type(exc).__name__}: {exc}')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_core_never_imports_textual() -> None:
    # The command line starts the TUI (`faxtui`, `faxtui demo`): it is the one way in from above.
    core = [name for name in MODULES if not name.startswith(("faxtui.tui", "faxtui.cli", "faxtui.__main__"))]
    full = graph(lazy=True)
    offenders = {
        name: sorted(m for m, _ in _imports(ast.parse(MODULES[name].read_text()), lazy=True)
                     if m.split(".")[0] in ("textual", "rich"))
        for name in core
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert all(not target.startswith("faxtui.tui") for name in core for target in full[name])
