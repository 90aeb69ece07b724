"""Textual messages: the poller's events on their way to the UI, and the screens' requests to the app.

The poller calls `emit` synchronously on the app's loop; the app wraps each event in one of these
and posts it, so widgets change only in message handlers, never inside the poller's call stack.

A screen asks the app for something (pause, refresh, a dialog, another screen) by posting one of
the requests below: it bubbles from the screen to the app, which handles it. The screens read
the app's state through `faxtui.tui.host.FaxHost`.
"""

from __future__ import annotations

from textual.message import Message

from faxtui.events import AccountUpdated, JobsUpdated, PollerEvent, WatchChanged
from faxtui.model import FaxJob
from faxtui.store import WatchEntry


class JobsPolled(Message):
    """One account answered: its jobs, and which of them changed state."""

    def __init__(self, event: JobsUpdated) -> None:
        super().__init__()
        self.event = event


class AccountHealth(Message):
    """An account's health was refreshed (after every poll attempt, pause, resume, reload)."""

    def __init__(self, event: AccountUpdated) -> None:
        super().__init__()
        self.event = event


class WatchListChanged(Message):
    """The watch list gained, lost or relabelled an entry."""

    def __init__(self, event: WatchChanged) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        # The list is re-read whole, so a burst of changes needs one redraw.
        return isinstance(message, WatchListChanged)


def to_message(event: PollerEvent) -> Message:
    if isinstance(event, JobsUpdated):
        return JobsPolled(event)
    if isinstance(event, AccountUpdated):
        return AccountHealth(event)
    return WatchListChanged(event)


# --- requests from the screens to the app ---------------------------------------------------------


class TogglePause(Message):
    """Pause polling, or resume it."""


class RefreshNow(Message):
    """Poll every account now (within the rate limits)."""


class AskWatch(Message):
    """Open the watch dialog, filled in from this job if there is one."""

    def __init__(self, job: FaxJob | None) -> None:
        super().__init__()
        self.job = job


class AskLabel(Message):
    """Open the dialog that relabels this watch-list entry."""

    def __init__(self, entry: WatchEntry) -> None:
        super().__init__()
        self.entry = entry


class RemoveWatch(Message):
    """Stop watching this entry."""

    def __init__(self, entry: WatchEntry) -> None:
        super().__init__()
        self.entry = entry


class OpenAccounts(Message):
    """Show the accounts screen."""


class LeaveAccounts(Message):
    """Back from the accounts screen."""


class StartDemo(Message):
    """Swap to the built-in simulator with the demo accounts."""
