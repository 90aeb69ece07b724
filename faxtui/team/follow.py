"""Following an account another process polls: its jobs and health, read back from the store.

A viewer keeps, per followed account, the change number of the last jobs it read
(`StateStore.jobs_since`), so each sync reads only the rows a poller wrote since. The changes it
finds are reconciled against what the viewer already shows, exactly as a poll's answer would be:
the viewer's events pane and table see the same `StateChange`s the poller saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from faxtui.model import AccountStatus, FaxJob, Health
from faxtui.reconcile import Reconciliation, reconcile
from faxtui.store.interface import AccountRecord, StateStore

__all__ = ["FollowedJobs", "JobFollower", "apply_record"]


@dataclass(frozen=True, slots=True)
class FollowedJobs:
    account: str
    result: Reconciliation


class JobFollower:
    """The change numbers a viewer has read up to, per account."""

    def __init__(self) -> None:
        self._seq: dict[str, int] = {}

    def forget(self, account: str) -> None:
        """Read the account from the start next time (it is polled here now, or was removed)."""
        self._seq.pop(account, None)

    def sync(
        self, store: StateStore, account: str, known: Mapping[tuple[str, str], FaxJob], at: datetime
    ) -> FollowedJobs | None:
        """What changed in the account's stored jobs since the last sync, reconciled against
        `known`; None when nothing did."""
        seen = self._seq.get(account, 0)
        jobs, latest = store.jobs_since(account, seen)
        if latest < seen:  # the account was forgotten and started again: read it all
            jobs, latest = store.jobs_since(account, 0)
        self._seq[account] = latest
        if not jobs:
            return None
        return FollowedJobs(account, reconcile(known, jobs, at))


def apply_record(status: AccountStatus, record: AccountRecord, holder: str | None) -> bool:
    """Show in `status` what the store says of a followed account; True when anything changed."""
    before = (status.health, status.last_good_poll, status.last_error, status.polled_by)
    try:
        health = Health(record.health) if record.health else status.health
    except ValueError:
        health = Health.ERROR
    status.health = health
    status.last_good_poll = record.last_good_poll
    status.last_error = record.last_error
    status.polled_by = holder
    return before != (status.health, status.last_good_poll, status.last_error, status.polled_by)
