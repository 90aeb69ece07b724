"""The watch list: watched job ids and JRI references per account, with their live state."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Self

from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from faxtui.model import FaxJob
from faxtui.store import WatchEntry
from faxtui.tui.formatting import STATE_STYLE, clean, state_label
from faxtui.tui.textual_internals.steady_scroll import SteadyScrollView
from faxtui.tui.widgets.job_table import SEP

WATCH_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("account", "Account", 13),
    ("lookup", "Watching", 18),
    ("state", "State", 11),
    ("label", "Label", 14),
    ("status", "Status", 18),
)

WatchCells = tuple[tuple[str, str], ...]


def watch_key(account: str, lookup_id: str) -> str:
    return f"{account}{SEP}{lookup_id}"


def watch_cells(entry: WatchEntry, job: FaxJob | None) -> WatchCells:
    lookup = clean(entry.lookup_id, 80)
    if job is not None and job.job_id != entry.lookup_id:
        lookup = f"{lookup} → {clean(job.job_id, 40)}"
    if job is None:
        state, state_style, status = "… pending", "dim", "not polled yet"
    else:
        state, state_style = state_label(job.state), STATE_STYLE[job.state]
        status = clean(job.status_text, 80)
    return (
        (clean(entry.account, 40), ""),
        (lookup, ""),
        (state, state_style),
        (clean(entry.label, 60), "italic"),
        (status, ""),
    )


def _cell(spec: tuple[str, str]) -> Text:
    return Text(spec[0], style=spec[1], no_wrap=True, overflow="ellipsis")


class WatchList(DataTable[Text], SteadyScrollView):
    """Keyboard: x/delete removes, l labels, enter shows the job in the table."""

    # Not in the footer (it would overflow 80 columns): the pane's border and the tab strip say them.
    BINDINGS = [
        Binding("x,delete", "remove", "Unwatch", show=False),
        Binding("l", "label", "Label", show=False),
        Binding("enter", "open", "Show job", show=False),
    ]
    KEYS_HINT = "x unwatch · l label · enter show"

    class Remove(Message):
        def __init__(self, entry: WatchEntry) -> None:
            super().__init__()
            self.entry = entry

    class Relabel(Message):
        def __init__(self, entry: WatchEntry) -> None:
            super().__init__()
            self.entry = entry

    class Open(Message):
        def __init__(self, entry: WatchEntry) -> None:
            super().__init__()
            self.entry = entry

    def __init__(self, *, id: str | None = None) -> None:
        self._holding_refreshes = False
        super().__init__(id=id, cursor_type="row", cell_padding=1)
        self.entries: dict[str, WatchEntry] = {}
        self._shown: dict[str, WatchCells] = {}

    def on_mount(self) -> None:
        for key, label, width in WATCH_COLUMNS:
            self.add_column(Text(label), width=width, key=key)

    def show(self, entries: Sequence[WatchEntry], resolve: Callable[[WatchEntry], FaxJob | None]) -> None:
        """Diff the rows against the watch list; entries keep the order they were added in."""
        wanted = {watch_key(e.account, e.lookup_id): (e, watch_cells(e, resolve(e))) for e in entries}
        self.entries = {key: entry for key, (entry, _) in wanted.items()}
        changed: list[str] = []
        with self.app.batch_update():
            for key in [k for k in self._shown if k not in wanted]:
                self.remove_row(key)
                del self._shown[key]
            for key, (_, cells) in wanted.items():
                old = self._shown.get(key)
                if old is None:
                    self.add_row(*(_cell(spec) for spec in cells), key=key)
                elif old != cells:
                    self._holding_refreshes = True  # update_cell repaints the whole list; see below
                    try:
                        for (column, _, _), new, before in zip(WATCH_COLUMNS, cells, old, strict=True):
                            if new != before:
                                self.update_cell(key, column, _cell(new))
                    finally:
                        self._holding_refreshes = False
                    changed.append(key)
                else:
                    continue
                self._shown[key] = cells
        for key in changed:  # only the rows that changed go to the terminal again
            self.refresh_row(self.get_row_index(key))

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Self:
        if self._holding_refreshes and not (regions or layout or recompose):
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    @property
    def selected(self) -> WatchEntry | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return self.entries.get(key.value or "")

    def action_remove(self) -> None:
        if (entry := self.selected) is not None:
            self.post_message(self.Remove(entry))

    def action_label(self) -> None:
        if (entry := self.selected) is not None:
            self.post_message(self.Relabel(entry))

    def action_open(self) -> None:
        if (entry := self.selected) is not None:
            self.post_message(self.Open(entry))
