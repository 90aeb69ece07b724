"""What a state store is, whatever holds it: the value types and the `StateStore` protocol.

`StateStore` is everything the app asks of its store; `CallLedger` is the part a rate budget
(`faxtui.budget`) uses. A backend implements them and raises `StoreError` (and only that) when its
storage cannot be used. Times going in must be timezone-aware; times coming out are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from faxtui.events import StateChange
from faxtui.model import FaxJob

__all__ = ["AccountRecord", "CallKey", "CallLedger", "StateStore", "StoreError", "Transition", "WatchEntry"]

CallKey = tuple[str, str, str]
"""(service, endpoint, user) of a rate budget."""


class StoreError(Exception):
    """The state database cannot be used. `str(err)` is one line naming the file."""


@dataclass(frozen=True, slots=True)
class WatchEntry:
    account: str
    lookup_id: str
    label: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class Transition:
    """One status change of one job, as kept in the history table."""

    account: str
    job_id: str
    at: datetime
    old_state: str | None
    new_state: str
    old_code: int | None
    new_code: int | None
    status_text: str

    @classmethod
    def from_change(cls, change: StateChange) -> Transition:
        job, old = change.job, change.old
        return cls(
            account=job.account,
            job_id=job.job_id,
            at=change.at,
            old_state=old.state.value if old is not None else None,
            new_state=job.state.value,
            old_code=old.status_code if old is not None else None,
            new_code=job.status_code,
            status_text=job.status_text,
        )


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An account as the store knows it, for a process that does not poll it: what its poller
    last wrote, and who holds its lease (None when nobody live does)."""

    account: str
    service: str | None
    health: str | None
    poll_seconds: float | None
    last_good_poll: datetime | None
    last_error: str | None
    updated_at: datetime | None
    holder: str | None
    lease_expires: float | None
    """Wall-clock seconds when the holder's lease runs out unless renewed."""


class CallLedger(Protocol):
    """Where rate-limited calls are recorded, so several budgets (processes) share one window."""

    def take_call(self, key: CallKey, now: float, limit: int, window: float) -> float:
        """Record a call at `now` if fewer than `limit` were made in the last `window` seconds, and
        return 0; else record nothing and return the seconds until one is allowed. Atomic."""
        ...

    def add_calls(self, key: CallKey, stamps: Sequence[float]) -> None:
        """Record calls made without asking first."""
        ...

    def move_call(self, key: CallKey, stamp: float, to: float) -> None:
        """Move one call recorded at `stamp` to `to` (the call ended then); none there: nothing."""
        ...

    def recent_calls(self, key: CallKey, now: float, window: float) -> list[float]:
        """The times of the calls for `key` inside the window ending at `now`, oldest first."""
        ...


class StateStore(CallLedger, Protocol):
    """The app's memory: last known jobs, their history, the watch list, account health, and the
    call ledger. Every method raises `StoreError` when the storage cannot be used."""

    @property
    def recovered_from(self) -> Path | None:
        """Where the damaged database was moved when it was rebuilt on open, else None."""
        ...

    def recovery_notice(self) -> str | None:
        """One line for the user when the store was damaged and rebuilt on open, else None."""
        ...

    def close(self) -> None:
        """Release the storage; idempotent. Any later call raises `StoreError`."""
        ...

    def load_jobs(self, account: str | None = None) -> list[FaxJob]: ...

    def save_jobs(self, jobs: Sequence[FaxJob], at: datetime) -> None: ...

    def prune_jobs(self, keep_per_account: int = 20000) -> int: ...

    def record_transitions(self, transitions: Sequence[Transition]) -> None: ...

    def history(self, account: str, job_id: str) -> list[Transition]: ...

    def recent_transitions(self, limit: int = 200) -> list[Transition]: ...

    def prune_history(self, keep: int = 200_000) -> int: ...

    def watch_list(self, account: str | None = None) -> list[WatchEntry]: ...

    def add_watch(
        self, account: str, lookup_id: str, label: str = "", *, at: datetime | None = None
    ) -> WatchEntry: ...

    def remove_watch(self, account: str, lookup_id: str) -> bool: ...

    def set_watch_label(self, account: str, lookup_id: str, label: str) -> bool: ...

    def forget_account(self, account: str) -> None: ...

    def save_account_state(
        self, account: str, last_good_poll: datetime | None, last_error: str | None, at: datetime
    ) -> None: ...

    def load_account_states(self) -> dict[str, tuple[datetime | None, str | None]]: ...

    def save_poll(
        self, account: str, jobs: Sequence[FaxJob], transitions: Sequence[Transition], *, at: datetime,
        service: str, poll_seconds: float,
    ) -> None:
        """A good poll in one transaction: `save_jobs`, `record_transitions`, the account's state
        (last good poll `at`, no error) and status (health ok)."""
        ...

    def save_account_status(
        self, account: str, *, service: str, health: str, poll_seconds: float, at: datetime
    ) -> None:
        """What a viewer shows of an account besides its last good poll and error."""
        ...

    def account_records(self, now: float) -> list[AccountRecord]:
        """Every account the store knows (by name), with its live lease holder at `now`."""
        ...

    # --- team mode: leases and changes ---

    def claim_lease(self, account: str, holder: str, now: float, ttl: float) -> str | None:
        """Take or renew the account's lease until `now + ttl` if it is free, expired or already
        `holder`'s, and return None; else return who holds it. Atomic across processes."""
        ...

    def release_lease(self, account: str, holder: str) -> None:
        """Give the lease up if `holder` has it."""
        ...

    def jobs_since(self, account: str, seq: int) -> tuple[list[FaxJob], int]:
        """The account's jobs written after change number `seq`, and the latest change number."""
        ...

    def changed(self) -> bool:
        """Whether another process committed anything since the last call (cheap, never blocks
        for long: a viewer asks it several times a second)."""
        ...
