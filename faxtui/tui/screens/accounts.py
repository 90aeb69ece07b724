"""The accounts screen: list, add, edit, test and remove accounts.

Changes are written with `save_config` (a ConfigError shows as one line here, nothing is lost)
and handed to the poller with `reload`. Secrets are never displayed: the list shows where each
one comes from (`describe_account`).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.widgets.data_table import CellDoesNotExist

from faxtui.config import AccountConfig, ConfigError, describe_account
from faxtui.tui.formatting import clean
from faxtui.tui.host import FaxHost
from faxtui.tui.messages import LeaveAccounts
from faxtui.tui.screens.account_form import AccountForm
from faxtui.tui.screens.dialogs import ConfirmDialog
from faxtui.tui.widgets.account_bar import HEALTH_LOOK

COLUMNS = (("name", "Name", 16), ("service", "Service", 9), ("state", "State", 14), ("user", "User", 16),
           ("auth", "Authentication", 34), ("poll", "Poll", 12), ("endpoint", "Endpoint", 40))


class AccountsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("n", "add", "New"),
        Binding("e", "edit", "Edit"),
        Binding("t", "test", "Test"),
        Binding("x,delete", "remove", "Remove"),
    ]

    def __init__(self, host: FaxHost) -> None:
        super().__init__()
        self.host = host

    def compose(self) -> ComposeResult:
        yield Static(Text(" Accounts ", style="reverse bold"), id="accounts-title")
        yield DataTable(id="account-table", cursor_type="row")
        yield Static(Text("n new · enter edit · t test · x remove · escape back", style="dim"),
                     id="accounts-result", classes="result-line")
        yield Footer(compact=True, show_command_palette=False)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#account-table", DataTable)

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.table.add_column(Text(label), key=key, width=width)
        self.fill()
        self.table.focus()

    def fill(self, select: str | None = None) -> None:
        table = self.table
        selected = select or self.selected_name
        table.clear()
        statuses = self.host.statuses
        for acc in self.host.config.accounts:
            info = describe_account(acc)
            status = statuses.get(acc.name)
            state = Text("")
            if status is not None:
                look = HEALTH_LOOK[status.health]
                state = Text(f"{look.symbol} {look.words}", style=look.style)
            table.add_row(
                Text(clean(info["name"], 40)), Text(info["service"]), state, Text(clean(info["user"], 60)),
                Text(clean(info["auth"], 80)), Text(info["poll"]), Text(clean(info["endpoint"], 200)),
                key=acc.name,
            )
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        if not self.host.config.accounts:
            self.say("No accounts yet: press n to add one.", "yellow")

    @property
    def selected_name(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None

    @property
    def selected(self) -> AccountConfig | None:
        name = self.selected_name
        config = self.host.config
        return config.account(name) if name is not None and config.has_account(name) else None

    def say(self, text: str, style: str = "") -> None:
        self.query_one("#accounts-result", Static).update(Text(clean(text, 300), style=style))

    # --- actions -------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.post_message(LeaveAccounts())

    def action_add(self) -> None:
        self._edit(None)

    def action_edit(self) -> None:
        if (acc := self.selected) is not None:
            self._edit(acc)

    def _edit(self, existing: AccountConfig | None) -> None:
        names = [a.name for a in self.host.config.accounts]

        def done(acc: AccountConfig | None) -> None:
            if acc is None:
                return
            config = self.host.config
            if existing is not None and existing.name != acc.name:
                config = config.without_account(existing.name)
            try:
                self.host.apply_config(config.with_account(acc))
            except ConfigError as exc:
                self.say(f"Not saved: {exc}", "bold red")
                return
            self.fill(select=acc.name)
            self.say(f"Saved {acc.name}.", "green")

        self.app.push_screen(AccountForm(existing, names, self.host.check_account), done)

    def action_test(self) -> None:
        if (acc := self.selected) is not None:
            self.say(f"Testing {acc.name}…", "dim")
            self._test(acc)

    @work(exclusive=True, group="account-test", exit_on_error=False)
    async def _test(self, acc: AccountConfig) -> None:
        ok, message = await self.host.check_account(acc)
        self.say(message, "green" if ok else "bold red")

    def action_remove(self) -> None:
        acc = self.selected
        if acc is None:
            return

        def done(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.host.apply_config(self.host.config.without_account(acc.name))
            except ConfigError as exc:
                self.say(f"Not removed: {exc}", "bold red")
                return
            self.fill()
            self.say(f"Removed {acc.name}.", "green")

        self.app.push_screen(ConfirmDialog(f"Remove the account {clean(acc.name, 40)!r}?"), done)

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_edit()
