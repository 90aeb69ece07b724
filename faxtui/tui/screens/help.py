"""The help screen: every key, by where it works."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Everywhere", (
        ("?", "this help"),
        ("q", "quit"),
        ("ctrl+p", "command palette (pause, refresh, filters, sort, accounts, watch, theme)"),
        ("tab / shift+tab", "next / previous pane"),
        ("ctrl+l", "redraw the whole screen (if something else wrote on it)"),
    )),
    ("Jobs", (
        ("↑ ↓ pgup pgdn home end", "move; the detail pane follows"),
        ("/", "filter: words match id, destination, subject, account, status; state:failed, account:ops"),
        ("escape", "clear the filter"),
        ("A", "toggle active only (queued, sending, retrying)"),
        ("F", "toggle failed only"),
        ("s / S", "sort by the next column / reverse the order"),
        ("p", "pause or resume polling"),
        ("r", "refresh now (within each service's rate limit)"),
        ("w", "watch the selected job (or any id / JRI- reference)"),
        ("a", "accounts: add, edit, test, remove"),
        ("v", "narrow terminals: show the next pane (detail, watch list, events)"),
    )),
    ("Watch list", (
        ("enter", "show the job in the table"),
        ("l", "label the entry"),
        ("x / delete", "stop watching"),
    )),
    ("Accounts", (
        ("n", "new account"),
        ("enter / e", "edit"),
        ("t", "test (one real call)"),
        ("x / delete", "remove"),
        ("escape", "back"),
    )),
)

LEGEND = ("✓ delivered  ✗ failed  ↻ retrying  ▶ sending  … queued  ⊘ cancelled  ? not found / unknown  "
          "★ watched; dim rows: their account is failing (stale)")


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for section, keys in KEYS:
        table.add_row(Text(section, style="bold underline"), "")
        for key, what in keys:
            table.add_row(Text(key), Text(what))
        table.add_row("", "")
    table.add_row(Text("States", style="bold underline"), Text(LEGEND))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text("faxtui keys", style="bold"), id="help-title")
            yield Static(help_table())
            yield Static(Text("escape closes", style="dim"))
