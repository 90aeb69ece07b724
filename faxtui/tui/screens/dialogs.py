"""Small modal dialogs: add a watch, label a watch, confirm."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from faxtui.tui.formatting import clean
from faxtui.tui.widgets.inputs import FaxInput

AddWatch = Callable[[str, str, str], str | None]
"""(account, lookup id, label) -> None on success, else a one-line reason."""


class WatchDialog(ModalScreen[bool]):
    """Watch a job id or JRI reference; validated by the poller before it closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, accounts: Sequence[tuple[str, str]], add: AddWatch, *, account: str | None = None,
                 lookup_id: str = "") -> None:
        super().__init__()
        self.accounts = list(accounts)
        self.add = add
        self.account = account if account in {a for a, _ in self.accounts} else (
            self.accounts[0][0] if self.accounts else None)
        self.lookup_id = lookup_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text("Watch a fax job", style="bold"))
            yield Label("Account")
            yield Select(
                [(f"{clean(name, 40)} ({service})", name) for name, service in self.accounts],
                value=self.account if self.account is not None else Select.BLANK,
                allow_blank=not self.accounts,
                id="watch-account",
                compact=True,
            )
            yield Label("Transaction id, br… job id or JRI-<reference>")
            yield FaxInput(value=self.lookup_id, id="watch-id", compact=True)
            yield Label("Label (optional)")
            yield FaxInput(id="watch-label", compact=True)
            yield Static("", id="watch-error", classes="error-line")
            with Horizontal(classes="buttons"):
                yield Button("Watch", variant="primary", id="watch-ok", compact=True)
                yield Button("Cancel", id="watch-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#watch-id", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#watch-ok")
    def _submit(self) -> None:
        account = self.query_one("#watch-account", Select).value
        if not isinstance(account, str):
            self._error("Choose an account first.")
            return
        lookup_id = self.query_one("#watch-id", Input).value.strip()
        if not lookup_id:
            self._error("Enter a job id or a JRI- reference.")
            return
        label = clean(self.query_one("#watch-label", Input).value, 80)
        problem = self.add(account, lookup_id, label)
        if problem is not None:
            self._error(problem)
            return
        self.dismiss(True)

    def _error(self, reason: str) -> None:
        self.query_one("#watch-error", Static).update(Text(clean(reason, 200), style="bold red"))

    @on(Button.Pressed, "#watch-cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


class TextDialog(ModalScreen[str | None]):
    """One line of text (a watch label); escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.title_text, style="bold"))
            yield FaxInput(value=self.value, placeholder=self.placeholder, id="text-value", compact=True)
            yield Static(Text("enter saves, escape cancels", style="dim"))

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """Yes or no; y / enter confirms, n / escape declines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.question))
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", variant="error", id="yes", compact=True)
                yield Button("No (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
