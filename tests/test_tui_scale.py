"""The monitor with thousands of jobs: the table's bulk paths, its own cell renderer, and repainting
only what changed (what a slow SSH link pays for)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any, ClassVar

import pytest
from factories import interfax_job as make_job
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.padding import Padding
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.renderables.styled import Styled
from textual.widgets import DataTable
from tui_fixtures import Demo, main_screen, poll, wait_for

from faxtui.model import FaxJob, JobState
from faxtui.tui.filtering import JobFilter
from faxtui.tui.formatting import STATE_ORDER
from faxtui.tui.widgets.account_bar import changed_until
from faxtui.tui.widgets.cell_render import is_plain_cell, render_plain_cell
from faxtui.tui.widgets.event_log import MAX_EVENTS, EventLog
from faxtui.tui.widgets.job_table import EXAMINE_SLICE, LOAD_SLICE, JobTable, row_key

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
MANY = EXAMINE_SLICE + LOAD_SLICE  # more than one slice to look at and several to add


def many_jobs(count: int = MANY) -> dict[tuple[str, str], FaxJob]:
    jobs = (make_job(n, state=JobState.FAILED if n % 10 == 3 else JobState.DELIVERED) for n in range(count))
    return {job.key: job for job in jobs}


class TableApp(App[None]):
    """Just the job table, fed by hand as the main screen feeds it from the poller."""

    CSS: ClassVar[str] = "JobTable { height: 1fr; }"

    def compose(self) -> ComposeResult:
        table = JobTable(id="jobs")
        table.now = lambda: NOW
        table.zone = UTC
        yield table

    @property
    def table(self) -> JobTable:
        return self.query_one(JobTable)


async def filled(pilot: Any, table: JobTable) -> None:
    """Let a big change finish (it goes a slice per frame)."""
    for _ in range(400):
        if not table.filling:
            break
        await pilot.pause(0.01)
    assert not table.filling
    await pilot.pause()


def newest_first(table: JobTable) -> bool:
    stamps = [table.jobs[key].item.SubmitTime for key in table.rows_shown()]
    return all(a is not None and b is not None and a >= b for a, b in pairwise(stamps))


# --- big loads, filters and sorts -----------------------------------------------------------------


async def test_a_big_load_shows_the_top_rows_first_then_every_row_in_order() -> None:
    app = TableApp()
    async with app.run_test(size=(160, 30)) as pilot:
        table = app.table
        jobs = many_jobs()
        table.follow(jobs)
        table.sync()
        assert table.filling  # more than a frame's worth: it goes on after this frame
        await pilot.pause()
        await filled(pilot, table)
        assert table.row_count == len(jobs)
        assert newest_first(table)
        assert table.selected_key == row_key("ops", "700000000")  # the cursor on the newest job


async def test_a_poll_is_applied_from_its_own_jobs_and_drops_what_the_poller_forgot() -> None:
    app = TableApp()
    async with app.run_test(size=(160, 30)) as pilot:
        table = app.table
        jobs = many_jobs(50)
        table.follow(jobs)
        table.sync()
        await filled(pilot, table)
        oldest = list(jobs)[-3:]  # submitted longest ago: the poller's first to forget
        moved = make_job(0, state=JobState.FAILED)
        table.apply([moved], forgotten=oldest)
        table.sync()
        await filled(pilot, table)
        assert table.row_count == 47
        assert not {row_key(*pair) for pair in oldest} & set(table.rows_shown())
        assert table.jobs[row_key("ops", "700000000")].state is JobState.FAILED
        assert table.state_counts[JobState.FAILED] == sum(
            1 for job in table.jobs.values() if job.state is JobState.FAILED)


async def test_filter_and_sort_with_thousands_of_rows_keep_the_cursor_on_its_job() -> None:
    app = TableApp()
    async with app.run_test(size=(160, 30)) as pilot:
        table = app.table
        jobs = many_jobs()
        table.follow(jobs)
        table.sync()
        await filled(pilot, table)
        failed = row_key("ops", str(700_000_000 + 13))
        table.select_key(failed)
        table.job_filter = JobFilter(failed_only=True)
        table.sync()
        await filled(pilot, table)
        assert table.row_count == sum(1 for job in jobs.values() if job.state is JobState.FAILED)
        assert table.selected_key == failed
        table.job_filter = JobFilter()
        table.sync()
        await filled(pilot, table)
        assert table.row_count == len(jobs) and newest_first(table)
        assert table.selected_key == failed
        table.set_sort("state", reverse=False)
        await filled(pilot, table)
        order = [STATE_ORDER[table.jobs[key].state] for key in table.rows_shown()]
        assert order == sorted(order)
        assert table.selected_key == failed


async def test_a_sync_during_a_big_load_takes_it_over_and_loses_nothing() -> None:
    app = TableApp()
    async with app.run_test(size=(160, 30)) as pilot:
        table = app.table
        jobs = many_jobs()
        table.follow(jobs)
        table.sync()
        assert table.filling
        moved = make_job(5, state=JobState.FAILED, pages=2)
        jobs = {**jobs, moved.key: moved}
        table.follow(jobs)
        table.sync()  # a poll arrives before the load is done
        await filled(pilot, table)
        assert table.row_count == len(jobs)
        key = row_key(moved.account, moved.job_id)
        assert str(table.get_cell(key, "state")) == "✗ failed"
        assert str(table.get_cell(key, "pages")) == "2/3"
        assert table.state_counts[JobState.FAILED] == sum(
            1 for job in jobs.values() if job.state is JobState.FAILED)


async def test_times_are_redone_when_the_day_changes() -> None:
    app = TableApp()
    async with app.run_test(size=(160, 30)) as pilot:
        table = app.table
        clock = [NOW]
        table.now = lambda: clock[0]
        job = make_job(1)
        table.follow({job.key: job})
        table.sync()
        await pilot.pause()
        key = row_key(job.account, job.job_id)
        assert str(table.get_cell(key, "submitted")) == "09:59:59"  # today: the time only
        clock[0] = NOW + timedelta(days=1)
        assert table.day_changed()
        table.sync()
        await pilot.pause()
        assert str(table.get_cell(key, "submitted")) == "11-22 09:59"  # another day: with the date


# --- repainting only what changed -------------------------------------------------------------------


@pytest.fixture(name="repaints")
def repaints_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, tuple[Region, ...]]]]:
    """Every repaint asked of a widget: (widget id, regions); no regions means the whole widget."""
    from textual.widget import Widget

    seen: list[tuple[str, tuple[Region, ...]]] = []
    original = Widget.refresh

    def spy(self: Widget, *regions: Region, **kwargs: Any) -> Any:
        if self.is_mounted and self.id in ("jobs", "accounts", "detail"):
            seen.append((self.id or "", regions))
        return original(self, *regions, **kwargs)

    monkeypatch.setattr(Widget, "refresh", spy)
    yield seen


async def test_a_changed_job_repaints_its_row_up_to_the_changed_cell(
        repaints: list[tuple[str, tuple[Region, ...]]]) -> None:
    app = TableApp()
    async with app.run_test(size=(160, 30)) as pilot:
        table = app.table
        jobs = {job.key: job for job in (make_job(n) for n in range(20))}
        table.follow(jobs)
        table.sync()
        await pilot.pause()
        target = make_job(3, pages=3)
        repaints.clear()
        table.follow({**jobs, target.key: target})
        table.sync()
        regions = [r for widget, rs in repaints if widget == "jobs" for r in rs]
        assert [w for w, rs in repaints if w == "jobs" and not rs] == []  # never the whole table
        key = row_key(target.account, target.job_id)
        row = table.get_row_index(key)
        pages = table._get_cell_region(table.get_cell_coordinate(key, "pages"))
        assert regions == [Region(0, row + 1 - int(table.scroll_y), pages.right, 1)]  # + 1: the header
        await pilot.pause()
        assert str(table.get_cell(key, "pages")) == "3/3"


async def test_the_one_second_tick_repaints_only_the_lines_whose_age_changed(
        demo: Demo, repaints: list[tuple[str, tuple[Region, ...]]]) -> None:
    app = demo.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await poll(app, pilot)
        bar = main_screen(app).bar
        bar.tick()
        repaints.clear()
        bar.tick()  # nothing moved: nothing repainted
        assert [w for w, _ in repaints if w == "accounts"] == []
        demo.clock.advance(1)
        bar.tick()
        bar_repaints = [rs for w, rs in repaints if w == "accounts"]
        assert len(bar_repaints) == 1
        lines = {region.y for region in bar_repaints[0]}
        assert lines == {1, 2}  # the two account lines ("polled 1s ago"), not the summary
        assert all(region.width < bar.size.width for region in bar_repaints[0])


async def test_a_poll_that_changes_one_field_of_the_selected_job_repaints_only_that_line(
        demo: Demo, repaints: list[tuple[str, tuple[Region, ...]]]) -> None:
    app = demo.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await poll(app, pilot)
        main = main_screen(app)
        job = main.table.selected_job
        assert job is not None
        await wait_for(pilot, lambda: main.detail.job == job, what="the detail of the selected job")
        await pilot.pause()
        repaints.clear()
        changed = dataclasses.replace(job, item=dataclasses.replace(job.item, ReplyEmail="n@example.org"))
        main.detail.show(changed, main.detail.history, watched=main.detail.watched)
        detail = [rs for w, rs in repaints if w == "detail"]
        assert detail and all(len(rs) == 1 for rs in detail)  # the "Reply e-mail" line alone, never all
        await pilot.pause()
        assert "n@example.org" in "".join(strip.text for strip in main.detail._lines)


def test_the_bar_resends_a_line_only_up_to_its_last_change() -> None:
    assert changed_until(Text("polled 12s ago  42ms"), Text("polled 13s ago  42ms")) == len("polled 13")
    longer = "polled 10s ago  42ms"
    assert changed_until(Text("polled 9s ago  42ms"), Text(longer)) == len(longer)  # the tail moved


# --- the event log ----------------------------------------------------------------------------------


async def test_event_log_shows_newest_first_and_keeps_the_last_500() -> None:
    class LogApp(App[None]):
        def compose(self) -> ComposeResult:
            yield EventLog(id="events")

    app = LogApp()
    async with app.run_test(size=(80, 10)) as pilot:
        log = app.query_one(EventLog)
        assert log.render_line(0).text.startswith("No events yet.")
        log.add(Text(f"event {n}") for n in range(MAX_EVENTS + 100))
        await pilot.pause()
        assert len(log.lines) == MAX_EVENTS
        assert log.render_line(0).text.startswith(f"event {MAX_EVENTS + 99}")
        assert log.plain_lines()[-1] == "event 100"


# --- the table's own cell renderer --------------------------------------------------------------------


def rich_cell(cell: Text, width: int, pre: Style, post: Style, console: Console) -> list[list[Any]]:
    """How `DataTable` renders a one-line cell (`_compute_row_renderables`, then `_render_cell`)."""
    from textual.widgets._data_table import _EMPTY_TEXT, default_cell_formatter

    renderable = default_cell_formatter(cell, wrap=False, height=1) or _EMPTY_TEXT
    options = console.options.update_dimensions(width, 1).update(no_wrap=True)
    return console.render_lines(Styled(Padding(renderable, (0, 1)), pre_style=pre, post_style=post), options)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("ab ✓…★日本語éx-/0"), max_size=30),
    width=st.integers(min_value=3, max_value=24),
    justify=st.sampled_from(["left", "right"]),
    style=st.sampled_from(["", "bold", "bold red dim", "dim", "green"]),
    cursor=st.booleans(),
)
def test_plain_cells_render_exactly_as_rich_renders_them(text: str, width: int, justify: str, style: str,
                                                       cursor: bool) -> None:
    console = Console(width=80, color_system="truecolor", force_terminal=True, legacy_windows=False)
    cell = Text(text, style=style, no_wrap=True, overflow="ellipsis", justify=justify)  # type: ignore[arg-type]
    assert is_plain_cell(cell)
    pre = Style(color="white", bgcolor="black") + Style.from_meta({"row": 3, "column": 1})
    post = Style.from_color(bgcolor=None) if not cursor else Style(bgcolor="blue")
    expected = rich_cell(cell, width, pre, post, console)
    got = render_plain_cell(cell, width, 1, pre, post, console)
    assert [[(s.text, s.style) for s in line] for line in got] == [
        [(s.text, s.style) for s in line] for line in expected]


async def test_the_job_table_draws_every_cell_as_textuals_datatable_would(demo: Demo) -> None:
    app = demo.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await poll(app, pilot)
        table = main_screen(app).table
        table._pseudo_class_state = table.get_pseudo_class_state()
        columns = table.ordered_columns
        for row in range(min(table.row_count, 25)):
            base = table._get_row_style(row, table.rich_style)
            for column in range(len(columns)):
                width = columns[column].get_render_width(table)
                for cursor, hover in ((False, False), (True, False), (False, True)):
                    ours = table._render_cell(row, column, base, width, cursor, hover)
                    theirs = DataTable._render_cell(table, row, column, base, width, cursor, hover)
                    assert [[(s.text, s.style) for s in line] for line in ours] == [
                        [(s.text, s.style) for s in line] for line in theirs], (row, column, cursor, hover)


async def test_the_job_table_draws_every_line_as_textuals_datatable_would(demo: Demo) -> None:
    from textual.coordinate import Coordinate

    app = demo.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await poll(app, pilot)
        table = main_screen(app).table
        table._pseudo_class_state = table.get_pseudo_class_state()
        keys = [table._row_locations.get_key(row) for row in range(min(table.row_count, 25))]
        for cursor, hover in ((Coordinate(0, 0), Coordinate(0, 0)), (Coordinate(3, 2), Coordinate(5, 1))):
            for key in keys:
                assert key is not None
                table._row_render_cache.clear()
                theirs = DataTable._render_line_in_row(table, key, 0, table.rich_style, cursor, hover)
                table._row_render_cache.clear()
                ours = table._render_line_in_row(key, 0, table.rich_style, cursor, hover)
                assert [[(s.text, s.style) for s in cell] for cell in ours[1]] == [
                    [(s.text, s.style) for s in cell] for cell in theirs[1]]
                assert ours[0] == theirs[0] == []
