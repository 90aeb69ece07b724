"""The job table: one row per (account, job id), updated in place, fast at 10,000 jobs.

A poll never rebuilds the table. `sync` looks only at the jobs that changed since the last one
(every job only when the filter, the zone or the day changed). A few changed rows get just their
changed cells rewritten and only those rows repainted; rows come and go in bulk; the order is
re-sorted only when a row came, went or changed in the sorted column; the cursor stays on the job
it was on. A row's cells are made the first time it is drawn (`JobRow`), so the 9,950 rows off
screen cost no text, and a big load (the first poll, a filter cleared) is added a thousand rows
per frame, the rows that sort first going in first, so the screen never waits for the rest.
The `DataTable` machinery this relies on is in `faxtui.tui.textual_internals.fast_table`.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from itertools import compress, islice
from operator import attrgetter, is_not
from typing import NamedTuple

from rich.text import Text
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey

from faxtui.model import FaxJob, JobState
from faxtui.tui import memory
from faxtui.tui.filtering import JobFilter
from faxtui.tui.formatting import (
    SORT_VALUES,
    STATE_STYLE,
    clean,
    duration,
    fraction,
    money,
    short_time,
    state_label,
    status_line,
    subject_of,
    to_zone,
)
from faxtui.tui.textual_internals.fast_table import FastTable, VersionedRow

SEP = "\x1f"
_ACCOUNT = attrgetter("account")
_JOB_ID = attrgetter("job_id")
_STATE = attrgetter("state")
_KEY = attrgetter("account", "job_id")
SMALL_CHANGE = 200
"""Up to this many changed rows are rewritten cell by cell; more are reset whole (one repaint)."""
LOAD_SLICE = 1_000
"""Rows added in the first frame of a big load (a first load, a filter cleared): the top rows."""
LOAD_SLICE_MAX = 8_000
"""The most rows added in one later frame (below the window, they cost no painting)."""
EXAMINE_SLICE = 2_500
"""Jobs looked at in one turn of the loop when a sync has many to look at."""
SLICE_SECONDS = 0.012
"""How long one slice of a big change may hold the loop before the rest waits for the next turn."""


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
_COLUMN_KEYS = tuple(ColumnKey(c.key) for c in COLUMNS)
_COLUMN_INDEX: dict[ColumnKey, int] = {key: index for index, key in enumerate(_COLUMN_KEYS)}

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
    """One table cell: inert text, one line, cut with an ellipsis."""

    def __init__(self, spec: CellSpec, column: JobColumn) -> None:
        text, style = spec
        super().__init__(text, style=style, no_wrap=True, overflow="ellipsis",
                         justify="right" if column.right else "left")


@dataclass(frozen=True, slots=True)
class CellContext:
    """What every row's cells are made with besides the job: the zone and the clock of the last sync."""

    zone: tzinfo | None
    now: datetime


class RowLook(NamedTuple):
    """Everything one row's cells depend on besides the context: the row shows exactly this."""

    job: FaxJob
    stale: bool
    watched: bool


class JobRow(VersionedRow):
    """A row's cells, each made the first time anything reads it (rendering, `get_cell`).

    This is the mapping `DataTable` keeps per row; most of 10,000 rows never reach the screen,
    so most never cost any text. Whatever cells it holds are those of `look`.
    """

    __slots__ = ("_specs", "context", "look")

    def __init__(self, look: RowLook, context: Callable[[], CellContext]) -> None:
        super().__init__()
        self.look = look
        self.context = context
        self._specs: tuple[CellSpec, ...] | None = None

    def specs(self) -> tuple[CellSpec, ...]:
        """The text and style of every cell of the row (made once per look)."""
        if self._specs is None:
            context, look = self.context(), self.look
            self._specs = job_cells(look.job, context.zone, context.now, stale=look.stale,
                                    watched=look.watched)
        return self._specs

    def show(self, look: RowLook, specs: tuple[CellSpec, ...] | None = None) -> None:
        """Show another look from now on (`specs`: its cells, if already made)."""
        self.look = look
        self._specs = specs
        self.version += 1
        self.clear()

    def __missing__(self, key: ColumnKey) -> Text:
        index = _COLUMN_INDEX.get(key)
        if index is None:
            raise KeyError(key)
        cell = Cell(self.specs()[index], COLUMNS[index])
        self[_COLUMN_KEYS[index]] = cell
        return cell


SortKey = tuple[object, ...]
Placed = tuple[SortKey, str, RowLook]
"""A row about to be added: where it sorts, its key, what it shows."""


@dataclass(slots=True)
class SyncWork:
    """One `sync`: the jobs to look at, and what looking at them found so far."""

    number: int
    keys: list[str]
    resort: bool
    redo_cells: bool
    examined: int = 0
    added: list[Placed] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[tuple[str, RowLook]] = field(default_factory=list)
    applied: bool = False
    """True once what the looking found has been applied (the first rows added)."""
    runs: list[list[Placed]] = field(default_factory=list)
    """A big change's rows to add, in runs each sorted as the table is (one per slice looked at)."""
    pending: Iterator[Placed] | None = None
    """Once looked at: the runs merged, the rows that sort first coming first."""
    to_add: int = 0
    """How many rows `pending` still holds."""

    def unapplied(self) -> Iterator[str]:
        """The keys of every job this work found to add, remove or change, or has not looked at
        (some may already be in: looking at them again finds nothing to do)."""
        yield from self.keys[self.examined:]
        yield from (key for _, key, _ in self.added)
        yield from (key for run in self.runs for _, key, _ in run)
        yield from self.removed
        yield from (key for key, _ in self.changed)


class JobTable(FastTable):
    """Every job of every account, filtered and sorted; the cursor follows its job."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=1)
        self.jobs: dict[str, FaxJob] = {}
        """Every known job (shown or not) by row key."""
        self.stale_accounts: frozenset[str] = frozenset()
        self.watch_ids: dict[str, frozenset[str]] = {}
        """Watched ids (job ids and looked-up ids) per account."""
        self.job_filter = JobFilter()
        self.sort_column = "submitted"
        self.sort_reverse = True
        self.zone: tzinfo | None = None
        self.now: Callable[[], datetime] = datetime.now
        self.state_counts: Counter[JobState] = Counter()
        """How many of `jobs` are in each state (kept as jobs come and change, for the bar)."""
        self._known: dict[tuple[str, str], FaxJob] = {}
        self._order: list[str] = []
        """The shown rows' keys in display order (as `_row_locations` has them)."""
        self._unordered: list[str] = []
        """Keys of rows added since the order was last set."""
        self._shown: dict[str, JobRow] = {}
        self._dirty: set[str] = set()
        self._work: SyncWork | None = None
        """A big change being applied a slice per frame (see `sync`)."""
        self._syncs = 0
        self._sort_keys: dict[str, SortKey] = {}
        self._row_keys: dict[str, RowKey] = {}
        self._haystacks: dict[str, tuple[FaxJob, str]] = {}
        self._cells_at = CellContext(None, datetime.now())
        self._synced: tuple[JobFilter, tzinfo | None, date | None] | None = None

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

    def follow(self, jobs: Mapping[tuple[str, str], FaxJob]) -> None:
        """Take all of the poller's jobs (keyed by (account, job id)), dropping those it no longer
        has: for start-up and reloads. Only jobs whose object changed since they were last taken
        are looked at again by the next `sync`."""
        self._take(jobs.values())
        if len(self._known) > len(jobs):
            self.forget(pair for pair in list(self._known) if pair not in jobs)

    def apply(self, jobs: Iterable[FaxJob], forgotten: Iterable[tuple[str, str]] = ()) -> None:
        """Take what one poll changed (its jobs, and the keys the poller forgot): a poll of one
        account costs its own jobs here, not a look at every job of every account."""
        self._take(jobs)
        self.forget(forgotten)

    def _take(self, jobs: Iterable[FaxJob]) -> None:
        """Note the jobs whose object is not the one taken last time: a poll's unchanged jobs (most
        of them) are passed over in C, and jobs new to the table (a first load: all of them) are
        taken in bulk; only changed jobs are looked at one by one."""
        jobs = jobs if isinstance(jobs, Sequence) else list(jobs)
        # row_key(account, job_id) of each: strings, which the collector does not track (a tuple
        # per job would be a collection every few hundred jobs)
        keys = list(map(SEP.join, zip(map(_ACCOUNT, jobs), map(_JOB_ID, jobs), strict=True)))
        olds = list(map(self.jobs.get, keys))  # as `_known`, by row key
        changed = list(compress(range(len(jobs)), map(is_not, olds, jobs)))
        if not changed:
            return
        new = [index for index in changed if olds[index] is None]
        new_keys = [keys[index] for index in new]
        if len(new) == len(changed) and len(set(new_keys)) == len(new_keys):
            new_jobs = [jobs[index] for index in new]
            self._known.update(zip(map(_KEY, new_jobs), new_jobs, strict=True))
            self.jobs.update(zip(new_keys, new_jobs, strict=True))
            self._dirty.update(new_keys)
            self.state_counts.update(map(_STATE, new_jobs))
            return
        self._take_each(jobs[index] for index in changed)

    def _take_each(self, jobs: Iterable[FaxJob]) -> None:
        known, all_jobs, dirty, counts = self._known, self.jobs, self._dirty, self.state_counts
        for job in jobs:
            pair = job.key
            old = known.get(pair)
            if old is job:  # twice in `jobs`
                continue
            known[pair] = job
            key = row_key(*pair)
            all_jobs[key] = job
            if old is not None:
                if old.state is job.state and old.status_code == job.status_code and old == job:
                    continue  # the same job again (a state that differs needs no field by field look)
                counts[old.state] -= 1
            counts[job.state] += 1
            dirty.add(key)

    def forget(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Drop jobs (by (account, job id)) the poller no longer has."""
        known, all_jobs, dirty, counts = self._known, self.jobs, self._dirty, self.state_counts
        for pair in pairs:
            old = known.pop(pair, None)
            if old is None:
                continue
            key = row_key(*pair)
            counts[old.state] -= 1
            del all_jobs[key]
            self._haystacks.pop(key, None)
            dirty.add(key)

    def set_flags(self, *, stale: frozenset[str], watch_ids: Mapping[str, frozenset[str]]) -> bool:
        """Which accounts are stale, and the watched ids per account; True (and the rows concerned
        marked for the next `sync`) if either changed."""
        accounts = stale ^ self.stale_accounts
        accounts |= {name for name in watch_ids.keys() | self.watch_ids.keys()
                     if watch_ids.get(name) != self.watch_ids.get(name)}
        if accounts:
            self._dirty.update(key for key, job in self.jobs.items() if job.account in accounts)
        self.stale_accounts, self.watch_ids = stale, dict(watch_ids)
        return bool(accounts)

    def is_watched(self, job: FaxJob) -> bool:
        """As `Poller.is_watched`: the job's id or looked-up id is on its account's watch list."""
        ids = self.watch_ids.get(job.account)
        return ids is not None and (job.job_id in ids or job.lookup_id in ids)

    def set_sort(self, column: str, reverse: bool) -> None:
        self.sort_column = column
        self.sort_reverse = reverse
        for col in COLUMNS:
            self.columns[ColumnKey(col.key)].label = self._header(col)
        self._sort_keys = {key: self._sort_key(key, self.jobs[key]) for key in self._shown}
        self.sync(resort=True)
        self.refresh()  # the header's arrow moved, whether or not the rows in view did

    def day_changed(self) -> bool:
        """True when the date in the display zone moved on since the last sync (times need redoing)."""
        return self._synced is not None and self._synced[2] != to_zone(self.now(), self.zone).date()

    # --- bringing the rows in line ----------------------------------------------------------------

    def sync(self, *, resort: bool = False) -> bool:
        """Make the rows match `jobs` under the filter; True when rows came, went or moved.

        Small changes are applied at once. A big one (thousands of jobs to look at, or to add) is
        done a slice per frame: looking at the jobs, then adding the rows that sort first, then
        the rest after each repaint; `filling` is True until it is done. A sync that comes while
        one is under way takes its jobs over.
        """
        now = self.now()
        self._cells_at = CellContext(self.zone, now)
        self._syncs += 1
        work, self._work = self._work, None
        self.rows_to_come = 0
        if work is not None:  # unfinished: its jobs are looked at again with the rest
            self._dirty.update(work.unapplied())
            resort = resort or work.resort
        state = (self.job_filter, self.zone, to_zone(now, self.zone).date())
        everything = state != self._synced
        redo_cells = self._synced is None or state[1:] != self._synced[1:] or (
            work is not None and work.redo_cells)
        self._synced = state
        if everything:
            keys = list(self.jobs.keys() | self._shown.keys())
            self._dirty.clear()
        else:
            keys, self._dirty = list(self._dirty), set()
        work = SyncWork(self._syncs, keys, resort=resort, redo_cells=redo_cells)
        if len(keys) <= EXAMINE_SLICE:
            self._examine(work, len(keys))
            return self._apply(work)
        self._work = work
        self._next_turn(work.number)  # not in this turn: the caller's own work is in it already
        return True

    def _next_turn(self, number: int) -> None:
        """Go on with a big change in a later turn of the loop (`call_later` alone would not wait:
        the table's queue is read on without going back to the loop while it holds messages)."""
        asyncio.get_running_loop().call_soon(self.call_later, self._continue, number)

    @property
    def filling(self) -> bool:
        """True while a big change is still being applied a slice per frame."""
        return self._work is not None

    def _continue(self, number: int) -> None:
        """The next slice of a big change (unless a sync came in between and took it over).

        Looking at the jobs takes slices of `SLICE_SECONDS`, each in a turn of the loop of its own
        (nothing to paint in between); the rows found to add are kept in sorted runs, merged
        lazily, so the rows that sort first are added first without sorting them all in one go.
        Then each frame adds the next rows, as many as fit in a slice.
        """
        work = self._work
        if work is None or work.number != number:
            return
        if work.examined < len(work.keys):
            deadline = time.perf_counter() + SLICE_SECONDS
            while work.examined < len(work.keys) and time.perf_counter() < deadline:
                self._examine(work, EXAMINE_SLICE)
                if len(work.added) >= LOAD_SLICE:  # a sorted run of its own
                    work.added.sort(reverse=self.sort_reverse)
                    work.runs.append(work.added)
                    work.added = []
            memory.settle()  # what it made is long-lived: later collections need not walk it again
            if work.examined < len(work.keys):
                self._next_turn(number)
                return
        if not work.applied:
            work.applied = True
            self._apply(work)
        elif work.pending is not None:
            deadline, added = time.perf_counter() + SLICE_SECONDS, 0
            with self._cursor_kept():
                while work.to_add and added < LOAD_SLICE_MAX and (
                        not added or time.perf_counter() < deadline):
                    rows = list(islice(work.pending, min(LOAD_SLICE, work.to_add)))
                    work.to_add -= len(rows)
                    added += len(rows)
                    self._add_rows(rows)
                self.rows_to_come = work.to_add
                self._apply_order(resized=True, extend=True)
            memory.settle()
        if work.to_add:
            self.call_after_refresh(self._continue, number)
        else:
            self._work = None
            self.call_after_refresh(memory.settle)  # once painted: the new rows are long-lived

    def _examine(self, work: SyncWork, count: int) -> None:
        """Look at the next `count` jobs of the work: which rows come, go or change."""
        job_filter, jobs, shown = self.job_filter, self.jobs, self._shown
        stale, watch_ids, sort_key = self.stale_accounts, self.watch_ids, self._sort_key
        everything = job_filter == JobFilter()  # (the common case: no call per job to find it out)
        redo_cells = work.redo_cells
        added, removed, changed = work.added, work.removed, work.changed
        for key in work.keys[work.examined:work.examined + count]:
            job = jobs.get(key)
            row = shown.get(key)
            if job is None or not (everything or self._matches(key, job, job_filter)):
                if row is not None:
                    removed.append(key)
                continue
            account = job.account
            ids = watch_ids.get(account)  # as `is_watched`
            watched = ids is not None and (job.job_id in ids or job.lookup_id in ids)
            look = RowLook(job, account in stale, watched)
            if row is None:
                added.append((sort_key(key, job), key, look))
            elif redo_cells or row.look.job is not job or row.look != look:
                # (another job object is a changed job: `_take` compared it with the one before)
                changed.append((key, look))
        work.examined = min(len(work.keys), work.examined + count)

    def _apply(self, work: SyncWork) -> bool:
        """Apply what was found: removals, changes, and the first `LOAD_SLICE` new rows (those that
        sort first; `work.added` keeps the rest). True when rows came, went or moved."""
        added, removed, changed = work.added, work.removed, work.changed
        if work.runs or len(added) > LOAD_SLICE:
            added.sort(reverse=self.sort_reverse)
            work.runs.append(added)
            added = []
        if not (added or removed or changed or work.resort or work.runs):
            return False
        if work.runs:  # the rows that will be on top go in first, the rest a slice per frame
            work.to_add = sum(map(len, work.runs))
            work.pending = heapq.merge(*work.runs, reverse=self.sort_reverse)
            added = list(islice(work.pending, LOAD_SLICE))
            work.to_add -= len(added)
            self.rows_to_come = work.to_add
            if work.to_add and self._work is None:
                self._work = work
                self.call_after_refresh(self._continue, work.number)
        work.added = []
        work.removed, work.changed = [], []
        if len(added) + len(changed) + len(removed) > SMALL_CHANGE:
            self.call_after_refresh(memory.settle)  # as after a load: the new rows and jobs stay
        reorder = work.resort or bool(added or removed)
        with self._cursor_kept():
            if removed:
                self._remove_rows(removed)
            if added:
                self._add_rows(added)
            moved = False
            if changed:
                moved = self._change_rows(changed, one_by_one=not work.redo_cells)
            if reorder or moved:
                self._apply_order(resized=bool(added or removed),
                                  extend=not (removed or moved or work.resort))
        return reorder or moved

    @contextmanager
    def _cursor_kept(self) -> Iterator[None]:
        """Rows come, go or move inside: keep the cursor on its job (and say so if there was none)."""
        selected, was_empty = self.selected_key, not self._shown
        with self.app.batch_update():
            yield
            if selected is not None and selected in self._shown:
                place = self.get_row_index(selected)
                if place != self.cursor_row:
                    self.move_cursor(row=place, scroll=False)
            elif was_empty and self._shown and self.show_cursor:
                self.highlight_cursor()  # as add_row does for a first row: the detail follows

    def _matches(self, key: str, job: FaxJob, job_filter: JobFilter) -> bool:
        if not job_filter.words:
            return job_filter.matches(job)
        cached = self._haystacks.get(key)
        if cached is None or cached[0] is not job:
            cached = (job, job_filter.haystack(job))
            self._haystacks[key] = cached
        return job_filter.matches(job, haystack=cached[1])

    def _add_rows(self, rows: list[Placed]) -> None:
        """Put rows in (unordered: `_apply_order` follows); no measuring, no cells made yet."""
        context, row_keys, shown, sort_keys = self._cell_context, self._row_keys, self._shown, self._sort_keys
        new: list[tuple[RowKey, JobRow]] = []
        for sort_key, key, look in rows:
            row_id = row_keys.get(key)
            if row_id is None:
                row_id = row_keys[key] = RowKey(key)
            row = shown[key] = JobRow(look, context)
            sort_keys[key] = sort_key
            new.append((row_id, row))
            self._unordered.append(key)
        self._put_rows(new)

    def _remove_rows(self, keys: list[str]) -> None:
        self._drop_rows(self._row_keys[key] for key in keys)
        for key in keys:
            del self._shown[key]
            self._sort_keys.pop(key, None)
            if key not in self.jobs:
                self._row_keys.pop(key, None)
                self._haystacks.pop(key, None)

    def _change_rows(self, rows: list[tuple[str, RowLook]], *, one_by_one: bool) -> bool:
        """Show new looks; True if a row's place in the order may have changed.

        A few rows that have been drawn get only their changed cells rewritten and only those rows
        repainted; the others (never drawn, or too many, or new times for all) are reset whole,
        their cells made again when next drawn.
        """
        reorder = False
        shown, sort_keys = self._shown, self._sort_keys
        few = one_by_one and len(rows) <= SMALL_CHANGE
        zone, now = self._cells_at.zone, self._cells_at.now
        repaint: list[tuple[RowKey, int]] = []
        with self._repaints_held():
            for key, look in rows:
                row = shown[key]
                sort_key = self._sort_key(key, look.job)
                if sort_key != sort_keys[key]:
                    sort_keys[key] = sort_key
                    reorder = True
                if not few or not row:  # an empty row: no cell of it was made, none to rewrite
                    row.show(look)
                    continue
                before = row.specs()
                after = job_cells(look.job, zone, now, stale=look.stale, watched=look.watched)
                row.show(look, after)
                last = -1
                for index, (new, old) in enumerate(zip(after, before, strict=True)):
                    if new != old:
                        column = COLUMNS[index]
                        self.update_cell(key, column.key, Cell(new, column))
                        last = index
                if last >= 0:
                    repaint.append((self._row_keys[key], last))
        # Repaint only the rows whose cells changed, up to the last changed cell.
        self.cells_changed(None if reorder or not few else repaint)
        return reorder

    def _apply_order(self, *, resized: bool, extend: bool = False) -> None:
        """Order the rows by the sort column (missing values last, then newest, then key).

        `extend`: the rows in the order kept their places, and only rows were added since. When
        those sort, in the order they came, after every row in place (each slice of a load), they
        are put below without renumbering the others; else all are sorted, from the last order
        (nearly sorted, so that is a merge more than a sort).
        """
        sort_key, reverse = self._sort_keys.__getitem__, self.sort_reverse
        row_keys, shown = self._row_keys, self._shown
        order, new = self._order, self._unordered
        self._unordered = []
        if extend and len(order) + len(new) == len(shown) and new:
            keys = list(map(sort_key, new))
            if order:
                keys.insert(0, sort_key(order[-1]))
            follows = keys == sorted(keys, reverse=reverse)
            if follows:
                order.extend(new)
                self._extend_order(list(map(row_keys.__getitem__, new)), resized=resized)
                return
        if len(order) + len(new) != len(shown):  # rows went
            order = [key for key in order if key in shown]
        order = sorted(order + new, key=sort_key, reverse=reverse)
        self._order = order
        self._set_order(list(map(row_keys.__getitem__, order)), resized=resized)

    def _cell_context(self) -> CellContext:
        return self._cells_at

    def _sort_key(self, key: str, job: FaxJob) -> SortKey:
        submitted = job.item.SubmitTime
        value: object
        if self.sort_column == "submitted" and submitted is not None and submitted.tzinfo is not None:
            value = stamp = submitted.timestamp()  # the default sort: the value is the stamp
        else:
            value = SORT_VALUES[self.sort_column](job)
            stamp = 0.0 if submitted is None else submitted.timestamp()
        missing = value is None
        # Missing values go last in both directions; ties show the newest first, then key order.
        flag = -missing if self.sort_reverse else int(missing)
        return (flag, 0 if value is None else value, stamp if self.sort_reverse else -stamp, key)
