"""What the screens know of the app that shows them: attributes down, messages up.

A screen is handed a `FaxHost` when it is made, and reads through it only what it shows (the
config, the time zone and clock, the poller's accounts, jobs and watch list, the store's
history). What it asks the app to do goes up as a message (`faxtui.tui.messages`), bubbling
from the screen to the app; the two calls whose answer the screen waits for (saving an edited
config, testing an account) are in the protocol. `faxtui.tui.app.FaxApp` is the host; no screen
imports it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Protocol

from faxtui.config import AccountConfig, Config
from faxtui.model import AccountStatus, FaxJob
from faxtui.store import Transition, WatchEntry


class FaxHost(Protocol):
    """The app as the screens see it."""

    @property
    def config(self) -> Config: ...

    @property
    def zone(self) -> tzinfo | None:
        """The zone times are shown in (None: the machine's)."""

    @property
    def now(self) -> Callable[[], datetime]:
        """The clock every age is measured by."""

    @property
    def statuses(self) -> Mapping[str, AccountStatus]:
        """Each account's health, by name, in config order."""

    @property
    def jobs(self) -> Mapping[tuple[str, str], FaxJob]:
        """Every job the poller knows, by (account, job id)."""

    @property
    def paused(self) -> bool: ...

    def watch_entries(self) -> list[WatchEntry]: ...

    def watched_job(self, entry: WatchEntry) -> FaxJob | None: ...

    def is_watched(self, job: FaxJob) -> bool: ...

    def is_stale(self, account: str) -> bool: ...

    def history(self, account: str, job_id: str) -> Sequence[Transition]: ...

    def recent_transitions(self, limit: int) -> Sequence[Transition]: ...

    def apply_config(self, config: Config) -> None:
        """Save the edited config and poll by it (`ConfigError`: not saved, nothing changed)."""

    def check_account(self, acc: AccountConfig) -> Awaitable[tuple[bool, str]]:
        """One test call: (worked, the one-line answer)."""
