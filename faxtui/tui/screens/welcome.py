"""First run: no accounts configured. Offer the built-in demo or the accounts screen."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Static

from faxtui.tui.host import FaxHost
from faxtui.tui.messages import OpenAccounts, StartDemo

WELCOME = (
    "faxtui watches outbound faxes on InterFax and Concord, live.\n\n"
    "No accounts are configured yet. Try the demo (a simulated InterFax and Concord account; "
    "nothing leaves this machine), or add your own account."
)


class WelcomeScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "demo", "Try the demo"),
        Binding("a", "add", "Add an account"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, host: FaxHost) -> None:
        super().__init__()
        self.host = host

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="welcome-box"):
            yield Static(Text("Welcome to faxtui", style="bold"), id="welcome-title")
            yield Static(Text(WELCOME), id="welcome-text")
            with Horizontal(classes="buttons"):
                yield Button("Try the demo (d)", variant="primary", id="demo")
                yield Button("Add an account (a)", id="add")
            yield Static(Text(f"Config file: {self.host.config.path}", style="dim"), id="welcome-path")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#demo", Button).focus()

    @on(Button.Pressed, "#demo")
    def action_demo(self) -> None:
        self.post_message(StartDemo())

    @on(Button.Pressed, "#add")
    def action_add(self) -> None:
        self.post_message(OpenAccounts())
