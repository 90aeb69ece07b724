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
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.visual import Visual, visualize

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
from faxtui.tui.textual_internals.steady_scroll import SteadyScrollView

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
    if job.concord is not None:
        parts.append(_heading("Concord native (RealTimeFaxStatusEx)"))
        parts.append(_grid(native_rows(job), pairs))
    parts.append(_heading("history"))
    lines = history_rows(history, zone)
    parts.extend(lines or [Text("no state changes recorded yet", style="dim")])
    return Group(*parts)


PLACEHOLDER = Text("Select a job to see all its fields.", style="dim")


class DetailPane(SteadyScrollView):
    """Scrollable detail of one job; re-rendered when that job changes or the width changes.

    A line-API widget: the detail is rendered to lines once per change and compared with what is
    on screen, and only the lines that differ are repainted. A poll that changes one field of the
    selected job (a page sent, Concord's per-request tracking id) sends the terminal that line,
    not the whole pane.
    """

    ALLOW_MAXIMIZE = False
    DEFAULT_CSS = """
    DetailPane { overflow-x: hidden; overflow-y: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.job: FaxJob | None = None
        self.history: tuple[Transition, ...] = ()
        self.zone: tzinfo | None = None
        self.watched = False
        self._lines: list[Strip] = []
        self._width = 0

    def show(self, job: FaxJob | None, history: Sequence[Transition] = (), *, watched: bool = False) -> None:
        history = tuple(history)
        if job == self.job and history == self.history and watched == self.watched:
            return
        if job is None or self.job is None or job.key != self.job.key:
            self.scroll_home(animate=False)
        self.job, self.history, self.watched = job, history, watched
        self._render_body()

    def _content(self, width: int) -> RenderableType:
        if self.job is None:
            return PLACEHOLDER
        return render_detail(self.job, self.history, self.zone, width, watched=self.watched)

    def _render_lines(self, width: int) -> list[Strip]:
        style = self.visual_style
        strips = Visual.to_strips(self, visualize(self, self._content(width)), width, None, style)
        return [strip.extend_cell_length(width, style.rich_style).simplify() for strip in strips]

    def _render_body(self) -> None:
        """Render at the width there is (less a scrollbar's if the lines need one), then repaint
        only the lines that changed."""
        if not self.is_mounted or not self.size:
            return
        region = self.scrollable_content_region
        full = self.size.width  # the content width, a vertical scrollbar's included
        width = max(1, full)
        lines = self._render_lines(width)
        if len(lines) > region.height and self.styles.scrollbar_size_vertical:
            width = max(1, full - self.styles.scrollbar_size_vertical)
            lines = self._render_lines(width)
        old, self._lines = self._lines, lines
        if width != self._width or len(lines) != len(old):
            self._width = width
            self.virtual_size = Size(width, len(lines))
            self.refresh()
            return
        top = self.scroll_offset.y
        changed = [Region(0, y - top, width, 1) for y, (a, b) in enumerate(zip(old, lines, strict=True))
                   if a != b and 0 <= y - top < region.height]
        if changed:
            self.refresh(*changed)

    def on_mount(self) -> None:
        self._render_body()

    def on_resize(self) -> None:
        self._render_body()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self.is_mounted:
            self._render_body()

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        style = self.visual_style.rich_style
        if index >= len(self._lines):
            return Strip.blank(width, style)
        return self._lines[index].crop_extend(0, width, style)
