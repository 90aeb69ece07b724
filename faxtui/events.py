"""Typed events the poller emits, for the UI, the store and the CLI. No Textual here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from faxtui.model import AccountStatus, FaxJob


@dataclass(frozen=True, slots=True)
class StateChange:
    """A job appeared (`old is None`) or its state or status code changed."""

    job: FaxJob
    old: FaxJob | None
    at: datetime

    @property
    def is_new(self) -> bool:
        return self.old is None


@dataclass(frozen=True, slots=True)
class JobsUpdated:
    """One successful poll of one account: every job it returned (as the poller now keeps them),
    which of them changed, and which old jobs were dropped to stay under the cap."""

    account: str
    jobs: tuple[FaxJob, ...]
    changes: tuple[StateChange, ...]
    at: datetime
    forgotten: tuple[tuple[str, str], ...] = ()
    """(account, job id) of the jobs the poller dropped after this poll (over its cap)."""


@dataclass(frozen=True, slots=True)
class AccountUpdated:
    """An account's health changed or was refreshed (after every poll attempt, pause, resume)."""

    status: AccountStatus
    at: datetime
    recovered: bool = False
    failed: bool = False


@dataclass(frozen=True, slots=True)
class WatchChanged:
    """The watch list changed (added, removed, relabelled)."""

    account: str
    lookup_id: str


PollerEvent = JobsUpdated | AccountUpdated | WatchChanged
