"""The faxtui Textual app: wires the poller to the screens.

The poller runs in an async worker on the app's loop and reports through `emit`, which posts a
message; the handlers below hand each event to the main screen and raise the alerts (toast, bell)
for watched jobs. Nothing here waits on the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import httpx
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from faxtui.clock import utc_now
from faxtui.config import AccountConfig, Config, ConfigError, load_config, save_config
from faxtui.config import config_path as resolve_config_path
from faxtui.events import PollerEvent
from faxtui.model import AccountStatus, FaxJob, JobState
from faxtui.poller import Poller, check_account
from faxtui.store import StateStore, Transition, WatchEntry
from faxtui.team import TeamOptions
from faxtui.team.leases import holder_name
from faxtui.tui.formatting import clean, resolve_zone, state_label
from faxtui.tui.messages import (
    AccountHealth,
    AskLabel,
    AskWatch,
    JobsPolled,
    LeaveAccounts,
    OpenAccounts,
    RefreshNow,
    RemoveWatch,
    StartDemo,
    TogglePause,
    WatchListChanged,
    to_message,
)
from faxtui.tui.screens.accounts import AccountsScreen
from faxtui.tui.screens.dialogs import TextDialog, WatchDialog
from faxtui.tui.screens.help import HelpScreen
from faxtui.tui.screens.main import MainScreen
from faxtui.tui.screens.welcome import WelcomeScreen
from faxtui.tui.textual_internals.drivers import compact_driver, driver_ending, forget_screen, terminal_driver
from faxtui.tui.widgets.job_table import COLUMN_LABEL, COLUMNS
from faxtui.tui.wire import PLAIN_OUTPUT_ENV

if TYPE_CHECKING:
    from faxtui.tui.demo_session import DemoSession

FALLBACK_THEME = "textual-dark"
HANGUP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    sig for sig in (getattr(signal, "SIGHUP", None), signal.SIGTERM) if sig is not None
)



class FaxApp(App[int]):
    """The monitor. `now` drives every age shown (inject a fixed clock for snapshots), `wall` times
    the rate budgets (shared with every faxtui on the store, as `Poller`'s);
    `autostart=False` leaves polling to the caller (`await app.poller.poll_once()`)."""

    CSS_PATH = "faxtui.tcss"
    TITLE = "faxtui"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+l", "redraw", "Redraw the screen", show=False),
        Binding("ctrl+z", "suspend_process", "Suspend (fg resumes)", show=False),
    ]

    def __init__(
        self,
        config: Config,
        store: StateStore,
        *,
        now: Callable[[], datetime] = utc_now,
        wall: Callable[[], float] = time.time,
        autostart: bool = True,
        cursor_blink: bool = True,
        http: httpx.AsyncClient | None = None,
        demo: DemoSession | None = None,
        team: TeamOptions | None = None,
    ) -> None:
        """`team`: poll only the accounts this process wins the lease of and follow the others
        (`faxtui`), or (`poll=False`) follow every account the store knows (`faxtui --follow`)."""
        super().__init__()
        self.config = config
        self.store = store
        self.now = now
        self.wall = wall
        self.autostart = autostart
        self.cursor_blink = cursor_blink
        self.demo = demo
        self._own_demo = False
        self._http = http
        self.team = team
        self.poller = self._make_poller(config, store)
        self.zone: tzinfo | None = resolve_zone(config.ui.timezone)
        self.main_screen: MainScreen | None = None
        self.bells = 0
        """How many times the terminal bell was rung (failures of watched jobs)."""
        self._poll_worker: Worker[None] | None = None
        self._signals: list[signal.Signals] = []

    def get_driver_class(self) -> type[Driver]:
        """The terminal driver, sending only the cells that changed (`faxtui.tui.wire`): a monitor
        left open over SSH costs a few kbit/s, not the width of every repainted line. Only Textual's
        Linux driver (macOS too), and not with FAXTUI_PLAIN_OUTPUT=1. With either output, a terminal
        that goes away (the SSH connection dropped, the tmux pane killed) ends the app
        (`terminal_driver`)."""
        base = super().get_driver_class()
        if base.__name__ != "LinuxDriver":
            return base
        base = terminal_driver(base)
        if os.environ.get(PLAIN_OUTPUT_ENV, "") not in ("", "0"):
            return base
        return compact_driver(base, lambda: self.size if self.is_running else None)

    def action_redraw(self) -> None:
        """ctrl+l: send the whole screen again (after something else wrote to the terminal)."""
        forget_screen(self)
        self.screen.refresh()

    def _make_poller(self, config: Config, store: StateStore) -> Poller:
        team = self.team if self.demo is None else None
        return Poller(config, store, emit=self._emit, now=self.now, wall=self.wall, http=self._http,
                      team=team)

    # --- start and stop -----------------------------------------------------------------------

    def on_mount(self) -> None:
        theme = self.config.ui.theme
        self.theme = theme if theme in self.available_themes else FALLBACK_THEME
        if self.store.recovered_from is not None:
            self.notify(f"The state database was damaged and has been rebuilt; the old one is "
                        f"{self.store.recovered_from}", severity="warning", markup=False, timeout=15)
        for warning in self.config.warnings:
            self.notify(clean(warning, 300), severity="warning", markup=False, timeout=10)
        if self.config.accounts or self.poller.statuses or not self.poller.polls:
            self.show_monitor()  # following: the accounts are the store's, however few
        else:
            self.push_screen(WelcomeScreen(self))
        if self.autostart:
            self.start_polling()
        self._exit_on_hangup()

    def _exit_on_hangup(self) -> None:
        """A dropped SSH session or a kill ends the app cleanly (store closed, demo files removed)."""
        loop = asyncio.get_running_loop()
        for sig in HANGUP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._hang_up)
                self._signals.append(sig)

    def _hang_up(self) -> None:
        """SIGHUP or SIGTERM: exit, and tell the driver, so a terminal that takes no more output
        (a stalled SSH link) cannot hold the exit up (`textual_internals.drivers.terminal_driver`)."""
        driver_ending(self)
        self.exit()

    def show_monitor(self) -> None:
        self.main_screen = MainScreen(self)
        if len(self.screen_stack) > 1:
            self.switch_screen(self.main_screen)
        else:
            self.push_screen(self.main_screen)

    def start_polling(self) -> None:
        self._poll_worker = self.run_worker(self.poller.run(), name="poller", group="poller",
                                            exit_on_error=False)

    async def on_unmount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._signals:
            loop.remove_signal_handler(sig)
        await self.poller.aclose()
        if self.demo is not None and self._own_demo:
            self.demo.close()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._poll_worker and event.state is WorkerState.ERROR:
            error = event.worker.error
            self.notify(f"Polling stopped: {clean(type(error).__name__ + ': ' + str(error), 200)}",
                        severity="error", markup=False, timeout=30)

    async def start_demo(self) -> None:
        """Welcome screen: swap to the in-process simulator with the demo accounts."""
        from faxtui.tui.demo_session import build_demo

        if self.demo is not None:
            return
        demo = build_demo()
        old = self.poller
        if self._poll_worker is not None:
            self._poll_worker.cancel()
        await old.aclose()
        self.demo, self._own_demo = demo, True
        self.config, self.store = demo.config, demo.store
        self.zone = resolve_zone(self.config.ui.timezone)
        self.poller = self._make_poller(self.config, self.store)
        self.show_monitor()
        if self.autostart:
            self.start_polling()

    # --- poller events --------------------------------------------------------------------------

    def _emit(self, event: PollerEvent) -> None:
        self.post_message(to_message(event))

    @property
    def monitor(self) -> MainScreen | None:
        main = self.main_screen
        return main if main is not None and main.is_mounted else None

    def on_jobs_polled(self, message: JobsPolled) -> None:
        if (main := self.monitor) is not None:
            main.jobs_polled(message.event)
        for change in message.event.changes:
            old, job = change.old, change.job
            if old is None or old.state.is_final or not job.state.is_final:
                continue
            if not self.poller.is_watched(job):
                continue
            severity = {JobState.DELIVERED: "information", JobState.FAILED: "error"}.get(job.state, "warning")
            self.notify(
                f"{clean(job.account, 40)} {clean(job.job_id, 60)}: {state_label(job.state)} — "
                f"{clean(job.status_text, 160)}",
                title="Watched fax finished", severity=severity, markup=False,  # type: ignore[arg-type]
                timeout=15 if job.state is JobState.FAILED else 8,
            )
            if job.state is JobState.FAILED and self.config.ui.bell_on_failure:
                self.bells += 1
                self.bell()

    def on_account_health(self, message: AccountHealth) -> None:
        event = message.event
        if (main := self.monitor) is not None:
            main.account_updated(event)
        if event.failed:
            self.notify(f"{clean(event.status.name, 40)}: {clean(event.status.last_error or 'failed', 200)}",
                        title="Account failing", severity="warning", markup=False, timeout=10)
        elif event.recovered:
            self.notify(f"{clean(event.status.name, 40)} answers again.", title="Account recovered",
                        markup=False)

    def on_watch_list_changed(self, message: WatchListChanged) -> None:
        if (main := self.monitor) is not None:
            main.reload_all()

    # --- what the screens read (`faxtui.tui.host.FaxHost`) ----------------------------------------

    @property
    def statuses(self) -> Mapping[str, AccountStatus]:
        return self.poller.statuses

    @property
    def jobs(self) -> Mapping[tuple[str, str], FaxJob]:
        return self.poller.jobs

    @property
    def paused(self) -> bool:
        return self.poller.paused

    def watch_entries(self) -> list[WatchEntry]:
        return self.poller.watch_list()

    def watched_job(self, entry: WatchEntry) -> FaxJob | None:
        return self.poller.watched_job(entry)

    def is_watched(self, job: FaxJob) -> bool:
        return self.poller.is_watched(job)

    def is_stale(self, account: str) -> bool:
        return self.poller.is_stale(account)

    def history(self, account: str, job_id: str) -> Sequence[Transition]:
        return self.store.history(account, job_id)

    def recent_transitions(self, limit: int) -> Sequence[Transition]:
        return self.store.recent_transitions(limit)

    # --- what the screens ask for (`faxtui.tui.messages`) ----------------------------------------

    def on_toggle_pause(self, _: TogglePause) -> None:
        self.toggle_pause()

    def on_refresh_now(self, _: RefreshNow) -> None:
        self.refresh_now()

    def on_ask_watch(self, message: AskWatch) -> None:
        self.ask_watch(message.job)

    def on_ask_label(self, message: AskLabel) -> None:
        self.ask_label(message.entry)

    def on_remove_watch(self, message: RemoveWatch) -> None:
        entry = message.entry
        self.poller.remove_watch(entry.account, entry.lookup_id)
        self.notify(f"No longer watching {entry.lookup_id} ({entry.account})", markup=False)

    def on_open_accounts(self, _: OpenAccounts) -> None:
        self.open_accounts()

    def on_leave_accounts(self, _: LeaveAccounts) -> None:
        self.leave_accounts()

    async def on_start_demo(self, _: StartDemo) -> None:
        await self.start_demo()

    # --- actions used by screens and the palette ------------------------------------------------

    def toggle_pause(self) -> None:
        paused = not self.poller.paused
        self.poller.set_paused(paused)
        self.notify("Polling paused — p resumes." if paused else "Polling resumed.", markup=False)

    def refresh_now(self) -> None:
        if self.poller.paused:
            self.notify("Polling is paused — p resumes.", severity="warning", markup=False)
            return
        self.poller.refresh()
        self.notify("Refreshing (within each service's rate limit)…", markup=False, timeout=2)

    def ask_watch(self, job: FaxJob | None = None) -> None:
        account, lookup = None, ""
        if job is not None:
            account, lookup = job.account, job.lookup_id or job.job_id
        accounts = [(acc.name, acc.service) for acc in self.config.accounts]
        if not accounts:
            self.notify("Add an account first (a).", severity="warning", markup=False)
            return
        self.push_screen(WatchDialog(accounts, self.add_watch, account=account, lookup_id=lookup))

    def add_watch(self, account: str, lookup_id: str, label: str) -> str | None:
        """Dialog callback: None when added, else the one-line reason it was refused."""
        try:
            entry = self.poller.add_watch(account, lookup_id, label)
        except ValueError as exc:
            return str(exc)
        self.notify(f"Watching {clean(entry.lookup_id, 80)} on {clean(entry.account, 40)}.", markup=False)
        return None

    def ask_label(self, entry: WatchEntry) -> None:
        def done(label: str | None) -> None:
            if label is not None:
                self.poller.set_watch_label(entry.account, entry.lookup_id, clean(label, 80))

        self.push_screen(TextDialog(f"Label for {clean(entry.lookup_id, 60)}", entry.label), done)

    def open_accounts(self) -> None:
        if not isinstance(self.screen, AccountsScreen):
            self.push_screen(AccountsScreen(self))

    def leave_accounts(self) -> None:
        """Back from the accounts screen: to the monitor, or the welcome screen if still empty."""
        if len(self.screen_stack) > 2:
            self.pop_screen()
            if self.config.accounts and isinstance(self.screen, WelcomeScreen):
                self.show_monitor()
        elif self.config.accounts:
            self.show_monitor()
        else:
            self.switch_screen(WelcomeScreen(self))

    def apply_config(self, config: Config) -> None:
        """Write the edited config (ConfigError propagates, nothing changed) and reload the poller."""
        save_config(config)
        self.config = config
        self.poller.reload(config)
        if (main := self.monitor) is not None:
            main.reload_all()

    def check_account(self, acc: AccountConfig) -> Awaitable[tuple[bool, str]]:
        """One test call, out of the same budget as polling (InterFax: 6 calls a minute per user,
        shared with every faxtui on this store): a full window says when to try again."""
        return check_account(acc, self._http, budget=self.poller.budget_for(acc))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # --- command palette ------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        main = self.monitor
        if main is not None:
            paused = self.poller.paused
            yield SystemCommand("Resume polling" if paused else "Pause polling",
                                "Stop or restart polling every account (p)", self.toggle_pause)
            yield SystemCommand("Refresh now", "Poll every account now, within rate limits (r)",
                                self.refresh_now)
            yield SystemCommand("Filter jobs", "Type words, state:failed, account:NAME (/)",
                                main.action_filter)
            yield SystemCommand("Show active jobs only", "Queued, sending, retrying (A)",
                                main.action_toggle_active)
            yield SystemCommand("Show failed jobs only", "Failed jobs (F)", main.action_toggle_failed)
            yield SystemCommand("Clear filter", "Show every job (escape)", main.action_clear_filter)
            for column in COLUMNS:
                yield SystemCommand(f"Sort by {COLUMN_LABEL[column.key].lower()}",
                                    "Sort the job table (s cycles, S reverses)",
                                    lambda key=column.key: main.sort_by(key), discover=False)
            yield SystemCommand("Watch a job", "Add a job id or JRI- reference to the watch list (w)",
                                lambda: self.ask_watch(main.table.selected_job))
        yield SystemCommand("Accounts", "Add, edit, test or remove accounts (a)", self.open_accounts)
        yield SystemCommand("Help", "Every key (?)", self.action_help)
        yield from super().get_system_commands(screen)


def run_app(
    config_path: Path | None, *, mouse: bool = True, store_url: str | None = None, follow: bool = False
) -> int:
    """`faxtui [--config PATH] [--store URL] [--follow] [--no-mouse]`: load the config and run the
    monitor, in team mode: it polls the accounts no live process polls and follows the rest;
    `follow`: it never polls and needs no account (every account the store knows is shown).

    A config that does not load prints one line to stderr and returns 2; nothing is written.
    `store_url` is `--store` (DESIGN §8: before $FAXTUI_STORE and the config's [store] url).
    """
    from faxtui.store.url import open_store, resolve_store_url

    try:
        path = resolve_config_path(None if config_path is None else str(config_path))
        config = load_config(path)
    except ConfigError as exc:
        print(f"faxtui: {exc}", file=sys.stderr)
        return 2
    try:
        store = open_store(resolve_store_url(store_url, config.store.url))
    except Exception as exc:  # the store's own errors are one line; anything else must not be a traceback
        print(f"faxtui: cannot open the state store: {clean(str(exc), 300)}", file=sys.stderr)
        return 2
    try:
        app = FaxApp(config, store, team=TeamOptions(holder_name(), poll=not follow))
        result = app.run(mouse=mouse)
    finally:
        store.close()
    return result or 0
