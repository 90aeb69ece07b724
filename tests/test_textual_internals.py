"""Textual's private names stay in faxtui/tui/textual_internals/, and each hook there still engages.

(a) No module of faxtui outside that folder imports a `textual._*` module, or reads, writes or
    overrides a member that is private to a Textual class faxtui builds on (checked by name, in the
    modules that import Textual at all).
(b) On the pinned Textual, what the folder relies on is there and its overrides are called: the
    private members its modules reach for exist, `FastTable`'s overrides are what the base class
    calls when rows are added and drawn, `SteadyScrollView` keeps layouts that change nothing from
    reaching the base class, and the app reaches its driver. That the compact output and the
    terminal-gone driver engage on a real terminal is checked on a pseudo-terminal by
    tests/test_tui_terminal.py (`COMPACT_STYLE` only in the compact output; the app ending within 2 s
    when its terminal goes, which Textual's own driver does not do).
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import textual.app
import textual.driver
import textual.screen
import textual.scroll_view
import textual.widget
from rich.text import Text
from textual.app import App, ComposeResult
from textual.drivers._writer_thread import WriterThread
from textual.drivers.linux_driver import LinuxDriver
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Button, DataTable, Input, Label, RichLog, Static
from textual.widgets.data_table import RowKey

from faxtui.tui.textual_internals import drivers, fast_table, steady_scroll
from faxtui.tui.textual_internals.drivers import driver_of
from faxtui.tui.textual_internals.fast_table import FastTable, VersionedRow
from faxtui.tui.textual_internals.steady_scroll import SteadyScrollView

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "faxtui"
INTERNALS = PACKAGE / "tui" / "textual_internals"
TEXTUAL_CLASSES: list[type[Any]] = [
    textual.app.App, textual.screen.Screen, textual.screen.ModalScreen, textual.widget.Widget,
    textual.scroll_view.ScrollView, DataTable, RichLog, Static, Input, Button, Label,
    textual.driver.Driver, LinuxDriver, WriterThread,
]
"""The Textual classes faxtui subclasses or holds: their private members are Textual's business."""
SELF_ASSIGNED = re.compile(r"self\.(_[A-Za-z]\w*)\s*[:=]")


@functools.cache
def textual_private_names() -> frozenset[str]:
    """Single-underscore members of `TEXTUAL_CLASSES` and their Textual bases: those defined on the
    class, and those its methods assign on `self`."""
    names: set[str] = set()
    for cls in TEXTUAL_CLASSES:
        for klass in cls.__mro__:
            if not klass.__module__.startswith("textual"):
                continue
            names |= {name for name in vars(klass) if name.startswith("_") and not name.startswith("__")}
            names |= set(SELF_ASSIGNED.findall(inspect.getsource(klass)))
    return frozenset(names)


def modules_outside() -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if INTERNALS not in path.parents:
            yield path


def private_textual_imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if is_private_textual(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            if is_private_textual(node.module):
                found.append((node.lineno, node.module))
            elif node.module.split(".")[0] == "textual":
                found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                          if alias.name.startswith("_")]
    return found


def is_private_textual(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "textual" and any(part.startswith("_") for part in parts[1:])


def imports_textual(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "textual" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "textual":
            return True
    return False


def private_member_uses(tree: ast.AST, private: frozenset[str]) -> list[tuple[int, str]]:
    """`x._name`, `def _name` and `getattr(x, "_name")` for the Textual-private names."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in private:
            found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in private:
            found.append((node.lineno, f"def {node.name}"))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "hasattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and node.args[1].value in private):
            found.append((node.lineno, f"{node.func.id}(..., {node.args[1].value!r})"))
    return found


# --- (a) the private names stay in the folder ------------------------------------------------------


def test_no_module_outside_the_folder_imports_a_private_textual_module() -> None:
    offences = [f"{path.relative_to(ROOT)}:{line}: {name}" for path in modules_outside()
                for line, name in private_textual_imports(ast.parse(path.read_text(), str(path)))]
    assert offences == []


def test_no_module_outside_the_folder_touches_a_private_textual_member() -> None:
    private = textual_private_names()
    assert {"_driver", "_file", "_writer_thread", "_data", "_row_locations", "_render_cell",
            "_size_updated", "_running"} <= private
    offences: list[str] = []
    for path in modules_outside():
        tree = ast.parse(path.read_text(), str(path))
        if imports_textual(tree):
            offences += [f"{path.relative_to(ROOT)}:{line}: {use}"
                         for line, use in private_member_uses(tree, private)]
    assert offences == []


@pytest.mark.parametrize("source", [
    "import textual._xterm_parser",
    "from textual._two_way_dict import TwoWayDict",
    "from textual.drivers._writer_thread import WriterThread",
    "from textual import _parser",
])
def test_the_import_check_catches_private_imports(source: str) -> None:
    assert private_textual_imports(ast.parse(source)) != []


@pytest.mark.parametrize("source", [
    "app._driver.write('x')",
    "getattr(app, '_driver', None)",
    "class T(DataTable):\n    def _render_cell(self): ...",
    "self._file = None",
])
def test_the_member_check_catches_private_members(source: str) -> None:
    assert private_member_uses(ast.parse(source), textual_private_names()) != []


def test_every_module_in_the_folder_names_the_textual_version_it_was_written_for() -> None:
    for path in sorted(INTERNALS.glob("*.py")):
        head = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert "Textual 8.2.8" in head.splitlines()[0] or (path.name == "__init__.py"
                                                           and "Textual 8.2.8" in head), path.name
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'"textual~=8\.2\.8"', pyproject)


# --- (b) what the folder relies on is there, and its hooks engage ----------------------------------


def self_members_read(module: object, class_name: str) -> set[str]:
    """The `self._name` members a class of the module uses, less its own: its methods, its class
    attributes and what its `__init__` sets up."""
    tree = ast.parse(inspect.getsource(module))  # type: ignore[arg-type]
    cls = next(node for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.name == class_name)
    used, own = set(), set()
    for node in cls.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name != "__init__":
            own.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            own.add(node.target.id)
        elif isinstance(node, ast.FunctionDef):  # __init__
            own |= {n.attr for n in ast.walk(node)
                    if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)}
    for node in ast.walk(cls):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "self" and node.attr.startswith("_") and not node.attr.startswith("__")):
            used.add(node.attr)
    return used - own


def test_the_private_members_the_fast_table_uses_are_on_textuals_data_table() -> None:
    table: DataTable[Text] = DataTable()
    used = self_members_read(fast_table, "FastTable")
    assert {"_data", "_row_locations", "_update_count", "_row_render_cache"} <= used
    assert [name for name in sorted(used) if not hasattr(table, name)] == []
    overridden = {"_render_line_in_row", "_render_cell", "_clear_caches", "_update_dimensions",
                  "_y_offsets", "_total_row_height", "_get_row_region", "_get_cell_region"}
    assert [name for name in sorted(overridden) if not hasattr(DataTable, name)] == []
    assert inspect.signature(FastTable._render_cell).parameters.keys() == \
        inspect.signature(DataTable._render_cell).parameters.keys()
    assert inspect.signature(FastTable._render_line_in_row).parameters.keys() == \
        inspect.signature(DataTable._render_line_in_row).parameters.keys()


def test_the_private_members_the_drivers_use_are_on_textuals_linux_driver() -> None:
    source = inspect.getsource(drivers)
    for name in ("_file", "_writer_thread", "_app", "_debug"):
        assert f"self.{name}" in source
        assert name in SELF_ASSIGNED.findall(inspect.getsource(LinuxDriver)) + \
            SELF_ASSIGNED.findall(inspect.getsource(textual.driver.Driver)), name
    for name in ("_sigtstp_application", "_sigcont_application", "run_input_thread", "write", "close"):
        assert callable(getattr(LinuxDriver, name)), name
    assert "_queue" in SELF_ASSIGNED.findall(inspect.getsource(WriterThread))
    assert "self._driver" in inspect.getsource(App)
    from textual._parser import ParseError
    from textual._xterm_parser import XTermParser

    assert issubclass(ParseError, Exception) and callable(XTermParser.feed)


def test_the_scroll_hook_matches_textuals_signature() -> None:
    assert inspect.signature(SteadyScrollView._size_updated) == inspect.signature(ScrollView._size_updated)
    assert "ScrollView._size_updated" in (steady_scroll.__doc__ or "")


class Counted:
    """Counts calls of methods of a class, calling them as they were."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cls: type[Any], *names: str) -> None:
        self.calls = dict.fromkeys(names, 0)
        for name in names:
            monkeypatch.setattr(cls, name, self._wrap(name, vars(cls)[name]))

    def _wrap(self, name: str, original: Any) -> Any:
        if isinstance(original, property):
            def getter(obj: Any) -> Any:
                self.calls[name] += 1
                return original.fget(obj)  # type: ignore[misc]
            return property(getter)

        def method(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return original(*args, **kwargs)
        return method


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        table = FastTable(cursor_type="row")
        for label in ("one", "two", "three"):
            table.add_column(label, width=8, key=label)
        yield table


async def test_the_fast_tables_overrides_are_what_textual_calls_to_add_and_draw_rows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    counted = Counted(monkeypatch, FastTable, "_update_dimensions", "_render_line_in_row", "_render_cell",
                      "_y_offsets", "_total_row_height", "_get_cell_region")
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(FastTable)
        rows: list[tuple[RowKey, VersionedRow]] = []
        for index in range(30):
            row = VersionedRow()
            row.update({column: Text(f"{column}{index}") for column in table.columns})
            rows.append((RowKey(str(index)), row))
        table._put_rows(rows)
        table._set_order([key for key, _ in rows], resized=True)
        await pilot.pause()
        assert table.row_count == 30
        drawn = dict(counted.calls)
        # The bulk add is measured by our `_update_dimensions` (which measures nothing), and every
        # line and cell on screen is drawn through our overrides.
        assert drawn["_update_dimensions"] >= 1
        assert drawn["_render_line_in_row"] >= 10
        assert drawn["_render_cell"] >= 30
        assert drawn["_y_offsets"] >= 1 and drawn["_total_row_height"] >= 1
        # A changed cell: the row's version moves, and only that row is repainted.
        key = rows[2][0]
        with table._repaints_held():
            table.update_cell(key, next(iter(table.columns)), Text("changed"))
        table.cells_changed([(key, 0)])
        assert rows[2][1].version == 1
        assert counted.calls["_get_cell_region"] > drawn["_get_cell_region"]
        await pilot.pause()
        assert counted.calls["_render_cell"] > drawn["_render_cell"]


class Lines(ScrollView):
    """A line-API scroll view, as the event log, the watch list and the detail pane are."""

    scroll_updates = 0

    def on_mount(self) -> None:
        self.virtual_size = Size(20, 50)

    def render_line(self, y: int) -> Strip:
        return Strip.blank(self.size.width)

    def _scroll_update(self, virtual_size: Size) -> None:
        type(self).scroll_updates += 1
        super()._scroll_update(virtual_size)


class PlainLines(Lines):
    scroll_updates = 0


class SteadyLines(Lines, SteadyScrollView):
    scroll_updates = 0


class ScrollApp(App[None]):
    def compose(self) -> ComposeResult:
        yield PlainLines()
        yield SteadyLines()
        yield Static("0", id="counter")


async def test_the_steady_scroll_view_keeps_layouts_that_change_nothing_from_its_scrollbars() -> None:
    app = ScrollApp()
    async with app.run_test(size=(40, 20)) as pilot:
        await pilot.pause()
        plain, steady = PlainLines.scroll_updates, SteadyLines.scroll_updates
        counter = app.query_one("#counter", Static)
        for count in range(5):  # a layout elsewhere on the screen, sizes unchanged
            counter.update(str(count) * (count + 1))
            counter.refresh(layout=True)
            await pilot.pause()
        # Textual's own scroll view updates its scrollbars on every layout; ours on none of these.
        assert PlainLines.scroll_updates - plain >= 5
        assert SteadyLines.scroll_updates - steady == 0
        # A real change of size still goes through.
        await pilot.resize_terminal(50, 24)
        await pilot.pause()
        assert SteadyLines.scroll_updates > steady


async def test_the_app_reaches_its_driver_and_the_driver_hooks_are_optional() -> None:
    seen: list[object] = []

    class Probe(App[None]):
        def on_mount(self) -> None:
            seen.append(driver_of(self))
            drivers.forget_screen(self)  # the headless driver has neither hook: nothing happens
            drivers.driver_ending(self)

    app = Probe()
    async with app.run_test() as pilot:
        await pilot.pause()
    assert len(seen) == 1 and isinstance(seen[0], textual.driver.Driver)
    assert driver_of(app) is None or isinstance(driver_of(app), textual.driver.Driver)


def test_the_compact_driver_hooks_the_linux_driver() -> None:
    made: Callable[..., object] = drivers.compact_driver(drivers.terminal_driver(LinuxDriver), lambda: None)
    assert issubclass(made, LinuxDriver)  # type: ignore[arg-type]
    assert made.__name__ == "CompactLinuxDriver"
    assert "forget_screen" in vars(made) and "ending" in vars(made.__mro__[1])
