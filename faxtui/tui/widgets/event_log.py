"""The event log: state changes and account failures/recoveries, newest first, bounded."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime, tzinfo

from rich.text import Text
from textual.cache import LRUCache
from textual.content import Content
from textual.geometry import Size
from textual.strip import Strip
from textual.visual import Visual

from faxtui.events import AccountUpdated, StateChange
from faxtui.model import JobState
from faxtui.store import Transition
from faxtui.tui.formatting import STATE_STYLE, clean, parse_state, short_time, state_label
from faxtui.tui.textual_internals.steady_scroll import SteadyScrollView

MAX_EVENTS = 500
PLACEHOLDER = Text("No events yet.", style="dim")


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


class EventLog(SteadyScrollView):
    """Newest line on top; at most MAX_EVENTS lines are kept.

    A line-API widget: a repaint renders only the lines in view (each once, then cached), so a poll
    that adds a hundred lines to a full log costs the same as one that adds one. Lines wider than
    the pane are clipped, as in a vertical-only scroll container.
    """

    ALLOW_MAXIMIZE = False
    DEFAULT_CSS = """
    EventLog { overflow-x: hidden; overflow-y: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: deque[Text] = deque(maxlen=MAX_EVENTS)
        self._serials: deque[int] = deque(maxlen=MAX_EVENTS)
        """A number per line, never reused: the key of its rendered strip."""
        self._added = 0
        self._strips: LRUCache[tuple[int, int], Strip] = LRUCache(MAX_EVENTS)

    def add(self, lines: Iterable[Text]) -> None:
        """Add lines that happened in order (oldest first); they show newest first."""
        added = False
        for line in lines:
            line.no_wrap = True
            line.overflow = "ellipsis"
            self.lines.appendleft(line)
            self._added += 1
            self._serials.appendleft(self._added)
            added = True
        if added:
            self._size_to_lines()
            self.refresh()

    def plain_lines(self) -> list[str]:
        return [line.plain for line in self.lines]

    def on_resize(self) -> None:
        self._size_to_lines()

    def _size_to_lines(self) -> None:
        self.virtual_size = Size(0, max(1, len(self.lines)))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        style = self.visual_style
        if not self.lines:
            line, serial = (PLACEHOLDER, 0) if index == 0 else (None, 0)
        elif index < len(self.lines):
            line, serial = self.lines[index], self._serials[index]
        else:
            line, serial = None, 0
        if line is None:
            return Strip.blank(width, style.rich_style)
        key = (serial, width)
        strip = self._strips.get(key)
        if strip is None:
            wide = max(width, line.cell_len)
            strip = Visual.to_strips(self, Content.from_rich_text(line), wide, 1, style)[0]
            strip = strip.crop_extend(0, width, style.rich_style)
            self._strips[key] = strip
        return strip
