"""The detail pane: every FaxItemEx field of the selected job, the Concord native fields, history.

Fields are shown in WSDL order with their labels, units and status texts, times in the configured
zone. For Concord jobs the seven mapped fields carry values and the other twenty say plainly that
Concord does not report them. Server strings are inert `Text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from faxtui.model import FaxJob
from faxtui.store import Transition
from faxtui.tui.formatting import (
    STATE_STYLE,
    clean,
    field_value,
    full_time,
    inert,
    money,
    parse_state,
    state_label,
    state_text,
)

TWO_COLUMNS_FROM = 84
"""Content width from which the 27 fields are laid out in two label/value columns."""


def _grid(rows: Sequence[tuple[str, Text]], pairs: int) -> Table:
    grid = Table.grid(padding=(0, 1), expand=True)
    for _ in range(pairs):
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(ratio=1, overflow="fold")
    per_column = -(-len(rows) // pairs)
    columns = [rows[i * per_column:(i + 1) * per_column] for i in range(pairs)]
    for index in range(per_column):
        cells: list[Text | str] = []
        for column in columns:
            if index < len(column):
                label, value = column[index]
                cells.extend((Text(label), value))
            else:
                cells.extend(("", ""))
        grid.add_row(*cells)
    return grid


def _heading(text: str) -> Text:
    return Text(f"── {text} ", style="bold dim")


def field_rows(job: FaxJob, zone: tzinfo | None) -> list[tuple[str, Text]]:
    """The 27 FaxItemEx fields as (label, value) in WSDL order."""
    return [(spec.label, field_value(job, spec, value, zone)) for spec, value in job.item.values()]


def native_rows(job: FaxJob) -> list[tuple[str, Text]]:
    """Concord's own answer: the elements the FaxItemEx mapping does not carry, and tracking ids."""
    native = job.concord
    if native is None:
        return []

    def value(v: object) -> Text:
        return Text("—", style="dim") if v is None or v == "" else inert(v)

    error = Text("—", style="dim")
    if native.ErrorCode is not None or native.ErrorString:
        error = inert(f"{'' if native.ErrorCode is None else native.ErrorCode} {native.ErrorString or ''}")
    return [
        ("FaxJobId", value(native.FaxJobId)),
        ("StatusDescription", value(native.StatusDescription)),
        ("RecipientState", value(native.RecipientState)),
        ("Error", error),
        ("FaxDeliveryDateTime", value(native.FaxDeliveryDateTime)),
        ("x-ch-activity-id", value(native.activity_id)),
        ("x-ch-execution-time", value(native.execution_time_ms)),
        ("Looked up as", value(job.lookup_id or native.FaxJobId)),
    ]


def history_rows(history: Sequence[Transition], zone: tzinfo | None) -> list[Text]:
    lines: list[Text] = []
    for step in history:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(full_time(step.at, zone), style="dim")
        line.append("  ")
        old = parse_state(step.old_state) if step.old_state else None
        new = parse_state(step.new_state)
        if old is None:
            line.append("first seen ", style="dim")
        else:
            line.append(state_label(old), style=STATE_STYLE[old])
            line.append(" → ")
        if new is not None:
            line.append(state_label(new), style=STATE_STYLE[new])
        else:
            line.append(clean(step.new_state, 20))
        code = "" if step.new_code is None else f"{step.new_code} "
        line.append(f"  {code}")
        line.append(clean(step.status_text, 120))
        lines.append(line)
    return lines


def render_detail(job: FaxJob, history: Sequence[Transition], zone: tzinfo | None, width: int,
                  *, watched: bool) -> RenderableType:
    title = Text(no_wrap=False)
    title.append(clean(job.account, 40), style="bold")
    title.append(" · ")
    title.append(clean(job.job_id, 80), style="bold")
    if watched:
        title.append("  ★ watched", style="bold")
    title.append("\n")
    title.append_text(state_text(job.state))
    title.append("  ")
    title.append(clean(job.status_text, 160))
    cost = job.item.cost
    if cost is not None and (job.item.Units or job.state.is_final):
        title.append(f"  · cost {money(cost)}", style="dim")
    parts: list[RenderableType] = [title, _heading(f"{job.service} fields (FaxItemEx, WSDL order)")]
    pairs = 2 if width >= TWO_COLUMNS_FROM else 1
    parts.append(_grid(field_rows(job, zone), pairs))
    if job.service == "concord":
        parts.append(_heading("Concord native (RealTimeFaxStatusEx)"))
        parts.append(_grid(native_rows(job), pairs))
    parts.append(_heading("history"))
    lines = history_rows(history, zone)
    parts.extend(lines or [Text("no state changes recorded yet", style="dim")])
    return Group(*parts)


class DetailPane(VerticalScroll):
    """Scrollable detail of one job; re-rendered when that job changes or the width class changes."""

    DEFAULT_CSS = """
    DetailPane > Static { width: 1fr; height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.job: FaxJob | None = None
        self.history: tuple[Transition, ...] = ()
        self.zone: tzinfo | None = None
        self.watched = False
        self._body = Static(Text("Select a job to see all its fields.", style="dim"), id="detail-body")
        self._pairs = 1

    def compose(self) -> ComposeResult:
        yield self._body

    def show(self, job: FaxJob | None, history: Sequence[Transition] = (), *, watched: bool = False) -> None:
        history = tuple(history)
        if job == self.job and history == self.history and watched == self.watched:
            return
        if job is None or self.job is None or job.key != self.job.key:
            self.scroll_home(animate=False)
        self.job, self.history, self.watched = job, history, watched
        self._render_body()

    def _render_body(self) -> None:
        if self.job is None:
            self._body.update(Text("Select a job to see all its fields.", style="dim"))
            return
        width = self.scrollable_content_region.width or self.size.width
        self._pairs = 2 if width >= TWO_COLUMNS_FROM else 1
        self._body.update(render_detail(self.job, self.history, self.zone, width, watched=self.watched))

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width or self.size.width
        if (2 if width >= TWO_COLUMNS_FROM else 1) != self._pairs:
            self._render_body()
