"""Textual messages that carry the poller's events to the UI.

The poller calls `emit` synchronously on the app's loop; the app wraps each event in one of these
and posts it, so widgets change only in message handlers, never inside the poller's call stack.
"""

from __future__ import annotations

from textual.message import Message

from faxtui.events import AccountUpdated, JobsUpdated, PollerEvent, WatchChanged


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
