"""The event log: state changes and account failures/recoveries, newest first, bounded."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime, tzinfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from faxtui.events import AccountUpdated, StateChange
from faxtui.model import JobState
from faxtui.store import Transition
from faxtui.tui.formatting import STATE_STYLE, clean, parse_state, short_time, state_label

MAX_EVENTS = 500


def _stamp(at: datetime, zone: tzinfo | None, now: datetime) -> Text:
    return Text(short_time(at, zone, now) + " ", style="dim")


def change_line(change: StateChange, zone: tzinfo | None, now: datetime) -> Text:
    job = change.job
    line = _stamp(change.at, zone, now)
    line.append(clean(job.account, 30), style="bold")
    line.append(f" {clean(job.job_id, 40)} ")
    if change.old is not None:
        line.append(state_label(change.old.state), style=STATE_STYLE[change.old.state])
        line.append(" → ")
    else:
        line.append("new ", style="dim")
    line.append(state_label(job.state), style=STATE_STYLE[job.state])
    line.append("  ")
    line.append(clean(job.status_text, 120))
    return line


def transition_line(step: Transition, zone: tzinfo | None, now: datetime) -> Text:
    line = _stamp(step.at, zone, now)
    line.append(clean(step.account, 30), style="bold")
    line.append(f" {clean(step.job_id, 40)} ")
    old = parse_state(step.old_state) if step.old_state else None
    new = parse_state(step.new_state) or JobState.UNKNOWN
    if old is not None:
        line.append(state_label(old), style=STATE_STYLE[old])
        line.append(" → ")
    else:
        line.append("new ", style="dim")
    line.append(state_label(new), style=STATE_STYLE[new])
    line.append("  ")
    line.append(clean(step.status_text, 120))
    return line


def account_line(event: AccountUpdated, zone: tzinfo | None, now: datetime) -> Text:
    status = event.status
    line = _stamp(event.at, zone, now)
    line.append(clean(status.name, 30), style="bold")
    if event.recovered:
        line.append(" ✓ recovered", style="green")
    else:
        line.append(f" ✗ {status.health.value.replace('_', ' ')}", style="bold red")
        if status.last_error:
            line.append(" — ")
            line.append(clean(status.last_error, 200), style="red")
    return line


class EventLog(VerticalScroll):
    """Newest line on top; at most MAX_EVENTS lines are kept."""

    DEFAULT_CSS = """
    EventLog > Static { width: auto; min-width: 100%; height: auto; text-wrap: nowrap; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: deque[Text] = deque(maxlen=MAX_EVENTS)
        self._body = Static(Text("No events yet.", style="dim"))

    def compose(self) -> ComposeResult:
        yield self._body

    def add(self, lines: Iterable[Text]) -> None:
        """Add lines that happened in order (oldest first); they show newest first."""
        added = False
        for line in lines:
            line.no_wrap = True
            line.overflow = "ellipsis"
            self.lines.appendleft(line)
            added = True
        if added:
            self._body.update(Text("\n").join(self.lines))

    def plain_lines(self) -> list[str]:
        return [line.plain for line in self.lines]
