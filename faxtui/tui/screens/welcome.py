"""First run: no accounts configured. Offer the built-in demo or the accounts screen."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Static

if TYPE_CHECKING:
    from faxtui.tui.app import FaxApp

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

    @property
    def fax(self) -> FaxApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="welcome-box"):
            yield Static(Text("Welcome to faxtui", style="bold"), id="welcome-title")
            yield Static(Text(WELCOME), id="welcome-text")
            with Horizontal(classes="buttons"):
                yield Button("Try the demo (d)", variant="primary", id="demo")
                yield Button("Add an account (a)", id="add")
            yield Static(Text(f"Config file: {self.fax.config.path}", style="dim"), id="welcome-path")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#demo", Button).focus()

    @on(Button.Pressed, "#demo")
    async def action_demo(self) -> None:
        await self.fax.start_demo()

    @on(Button.Pressed, "#add")
    def action_add(self) -> None:
        self.fax.open_accounts()
