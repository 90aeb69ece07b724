"""The job table: one row per (account, job id), updated in place.

A poll never rebuilds the table: rows are diffed by key, only changed cells are rewritten, the
order is re-sorted only when something that affects it changed, and the cursor stays on the
job it was on (by row key), inside one `batch_update` so nothing flickers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey

from faxtui.model import FaxJob
from faxtui.tui.filtering import JobFilter
from faxtui.tui.formatting import (
    STATE_STYLE,
    clean,
    duration,
    fraction,
    money,
    short_time,
    sort_value,
    state_label,
    status_line,
    subject_of,
)

SEP = "\x1f"


def row_key(account: str, job_id: str) -> str:
    """The table's key of a job: account and id joined by a unit separator (in neither)."""
    return f"{account}{SEP}{job_id}"


def split_key(key: str) -> tuple[str, str]:
    account, _, job_id = key.partition(SEP)
    return account, job_id


@dataclass(frozen=True, slots=True)
class JobColumn:
    key: str
    label: str
    width: int
    right: bool = False


COLUMNS: tuple[JobColumn, ...] = (
    # Ordered so that 80 columns show whole columns: who, which, state, why, progress, attempts.
    JobColumn("account", "Account", 13),
    JobColumn("id", "ID", 17),
    JobColumn("state", "State", 11),
    JobColumn("status", "Status", 16),
    JobColumn("pages", "Pages", 5, right=True),
    JobColumn("attempts", "Tries", 5, right=True),
    JobColumn("destination", "Destination", 14),
    JobColumn("subject", "Subject / ref", 18),
    JobColumn("submitted", "Submitted", 11),
    JobColumn("completed", "Completed", 11),
    JobColumn("duration", "Dur", 6, right=True),
    JobColumn("cost", "Cost", 6, right=True),
)
COLUMN_KEYS: tuple[str, ...] = tuple(c.key for c in COLUMNS)
COLUMN_LABEL: dict[str, str] = {c.key: c.label for c in COLUMNS}

CellSpec = tuple[str, str]
"""(text, style): what a cell shows; compared to decide whether the cell needs rewriting."""


def job_cells(job: FaxJob, zone: tzinfo | None, now: datetime, *, stale: bool, watched: bool) -> tuple[
        CellSpec, ...]:
    """The table cells of one job, as (text, style) pairs in COLUMNS order."""
    item = job.item
    dim = " dim" if stale else ""
    state_style = STATE_STYLE[job.state]
    values: dict[str, CellSpec] = {
        "account": (clean(job.account, 40), ""),
        "id": (("★" if watched else "") + clean(job.job_id, 60), "bold" if watched else ""),
        "state": (state_label(job.state), state_style),
        "status": (status_line(job), ""),
        "destination": (clean(item.DestinationFax or "", 40), ""),
        "subject": (subject_of(job), ""),
        "pages": (fraction(item.PagesSent, item.PagesSubmitted), ""),
        "attempts": (fraction(item.TrialsPerformed, item.RetriesToPerform), ""),
        "submitted": (short_time(item.SubmitTime, zone, now), ""),
        "completed": (short_time(item.CompletionTime, zone, now), ""),
        "duration": (duration(item.Duration) if item.Duration or job.state.is_final else "", ""),
        "cost": (money(item.cost) if item.Units or job.state.is_final else "", ""),
    }
    return tuple((values[c.key][0], (values[c.key][1] + dim).strip()) for c in COLUMNS)


class Cell(Text):
    """A table cell that knows its row, so `DataTable.sort` (which sees only cells) can find the job."""

    __slots__ = ("row_key",)

    def __init__(self, spec: CellSpec, column: JobColumn, key: str) -> None:
        text, style = spec
        super().__init__(text, style=style, no_wrap=True, overflow="ellipsis",
                         justify="right" if column.right else "left")
        self.row_key = key


class JobTable(DataTable[Text]):
    """Every job of every account, filtered and sorted; the cursor follows its job."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=1)
        self.jobs: dict[str, FaxJob] = {}
        self.stale_accounts: frozenset[str] = frozenset()
        self.watched: frozenset[str] = frozenset()
        self.job_filter = JobFilter()
        self.sort_column = "submitted"
        self.sort_reverse = True
        self.zone: tzinfo | None = None
        self.now: Callable[[], datetime] = datetime.now
        self._shown: dict[str, tuple[CellSpec, ...]] = {}

    def on_mount(self) -> None:
        for column in COLUMNS:
            self.add_column(self._header(column), width=column.width, key=column.key)

    def _header(self, column: JobColumn) -> Text:
        arrow = ""
        if column.key == self.sort_column:
            arrow = "↓" if self.sort_reverse else "↑"
        return Text(column.label + arrow, justify="right" if column.right else "left")

    # --- what is selected ---------------------------------------------------------------------

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return None if key.value is None else key.value

    @property
    def selected_job(self) -> FaxJob | None:
        key = self.selected_key
        return None if key is None else self.jobs.get(key)

    def rows_shown(self) -> list[str]:
        """Row keys in display order (after filter and sort)."""
        return [str(row.key.value) for row in self.ordered_rows]

    def select_key(self, key: str) -> bool:
        """Put the cursor on a job's row, if the filter shows it."""
        if key not in self._shown:
            return False
        self.move_cursor(row=self.get_row_index(key))
        return True

    # --- feeding it -----------------------------------------------------------------------------

    def put_jobs(self, jobs: Iterable[FaxJob]) -> None:
        for job in jobs:
            self.jobs[row_key(job.account, job.job_id)] = job

    def drop_accounts(self, keep: Iterable[str]) -> None:
        names = set(keep)
        self.jobs = {k: j for k, j in self.jobs.items() if j.account in names}

    def set_sort(self, column: str, reverse: bool) -> None:
        self.sort_column = column
        self.sort_reverse = reverse
        for col in COLUMNS:
            self.columns[ColumnKey(col.key)].label = self._header(col)
        self.sync(resort=True)

    def sync(self, *, resort: bool = False) -> bool:
        """Make the rows match `jobs` under the filter; returns True when anything changed."""
        zone, now = self.zone, self.now()
        wanted: dict[str, tuple[CellSpec, ...]] = {}
        for key, job in self.jobs.items():
            if self.job_filter.matches(job):
                wanted[key] = job_cells(job, zone, now, stale=job.account in self.stale_accounts,
                                        watched=key in self.watched)
        selected = self.selected_key
        reorder = resort
        with self.app.batch_update():
            for key in [k for k in self._shown if k not in wanted]:
                self.remove_row(key)
                del self._shown[key]
                reorder = True
            for key, cells in wanted.items():
                old = self._shown.get(key)
                if old is None:
                    self.add_row(*(Cell(spec, col, key) for spec, col in zip(cells, COLUMNS, strict=True)),
                                 key=key)
                    reorder = True
                elif old != cells:
                    for index, (new, before) in enumerate(zip(cells, old, strict=True)):
                        if new != before:
                            column = COLUMNS[index]
                            self.update_cell(key, column.key, Cell(new, column, key))
                            if column.key == self.sort_column:
                                reorder = True
                else:
                    continue
                self._shown[key] = cells
            if reorder:
                self.sort(key=self._row_sort_key, reverse=self.sort_reverse)
                if selected is not None and selected in self._shown:
                    self.move_cursor(row=self.get_row_index(selected), scroll=False)
        return reorder

    def _row_sort_key(self, cells: tuple[Cell, ...]) -> tuple[object, ...]:
        key = cells[0].row_key
        job = self.jobs[key]
        missing, value = sort_value(job, self.sort_column)
        # Missing values go last in both directions; ties show the newest first, then key order.
        flag = -missing if self.sort_reverse else missing
        submitted = job.item.SubmitTime.timestamp() if job.item.SubmitTime is not None else 0.0
        newest_first = submitted if self.sort_reverse else -submitted
        return (flag, value, newest_first, key)
