"""The main screen: account bar, job table, and the detail / watch / event panes.

Wide terminals (>= 120 columns) show the three panes side by side under the table; narrow ones
show one at a time with a one-line tab strip (`v` switches). Everything here changes only in
response to poller messages (routed by the app), key bindings and the 1 s tick of the bar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Click
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input

from faxtui.events import AccountUpdated, JobsUpdated
from faxtui.store import Transition, WatchEntry
from faxtui.tui.filtering import JobFilter
from faxtui.tui.formatting import clean, short_time, zone_label
from faxtui.tui.host import FaxHost
from faxtui.tui.memory import settle
from faxtui.tui.messages import AskLabel, AskWatch, OpenAccounts, RefreshNow, RemoveWatch, TogglePause
from faxtui.tui.widgets.account_bar import FAILING, AccountBar
from faxtui.tui.widgets.detail_pane import DetailPane
from faxtui.tui.widgets.event_log import MAX_EVENTS, EventLog, account_line, change_line, transition_line
from faxtui.tui.widgets.inputs import FaxInput
from faxtui.tui.widgets.job_table import COLUMN_KEYS, COLUMN_LABEL, JobTable, row_key
from faxtui.tui.widgets.watch_list import WatchList

FOLLOW_UP_SECONDS = 0.01
"""After a poll, the detail pane follows the table this much later, and the event log twice as
late: the loop is free in between (keys, the next frame), so no poll holds the screen for all
three in one go."""
LOG_SLICE = 100
"""Event-log lines made in one turn of the loop; a poll's further lines follow a moment later."""
PANES: tuple[tuple[str, str], ...] = (("detail", "Detail"), ("watch", "Watch list"), ("events", "Events"))


class PaneTabs(Widget):
    """One line naming the panes; the shown one is highlighted (narrow layout only)."""

    DEFAULT_CSS = "PaneTabs { height: 1; }"

    current: reactive[str] = reactive("detail")

    def render(self) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        for key, label in PANES:
            style = "reverse bold" if key == self.current else "dim"
            line.append(f" {label} ", style=style)
            line.append(" ")
        line.append(" v switches", style="dim italic")
        if self.current == "watch":
            line.append(f" · {WatchList.KEYS_HINT}", style="dim italic")
        return line

    def on_click(self, event: Click) -> None:
        x = 0
        for key, label in PANES:
            width = len(label) + 3
            if x <= event.x < x + width:
                if isinstance(self.screen, MainScreen):
                    self.screen.pane = key
                return
            x += width


class MainScreen(Screen[None]):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("s", "sort", "Sort"),
        Binding("S", "sort_reverse", "Reverse sort", show=False),
        Binding("p", "pause", "Pause"),
        Binding("r", "refresh", "Poll", tooltip="Refresh now"),
        Binding("w", "watch", "Watch"),
        Binding("A", "toggle_active", "Active"),
        Binding("F", "toggle_failed", "Failed"),
        Binding("a", "accounts", "Accts"),
        Binding("v", "next_pane", "Next pane", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    pane: reactive[str] = reactive("detail")

    def __init__(self, host: FaxHost) -> None:
        super().__init__()
        self.host = host
        self.job_filter = JobFilter()
        self._accounts_seen: set[str] = set()
        self._log_queue: list[Callable[[], Iterable[Text]]] = []
        self._log_lines: Iterator[Text] | None = None
        """The lines of the queued events still to add to the log (while it is being flushed)."""

    def compose(self) -> ComposeResult:
        yield AccountBar(id="accounts")
        yield FaxInput(placeholder="filter: words, state:failed, account:ops — enter keeps, escape clears",
                       id="filter", compact=True)
        yield JobTable(id="jobs")
        yield PaneTabs(id="pane-tabs")
        with Horizontal(id="panes"):
            yield DetailPane(id="detail")
            with Vertical(id="side"):
                yield WatchList(id="watch")
                yield EventLog(id="events")
        yield Footer(compact=True, show_command_palette=False)

    # --- parts -------------------------------------------------------------------------------

    @property
    def table(self) -> JobTable:
        return self.query_one(JobTable)

    @property
    def bar(self) -> AccountBar:
        return self.query_one(AccountBar)

    @property
    def detail(self) -> DetailPane:
        return self.query_one(DetailPane)

    @property
    def watchlist(self) -> WatchList:
        return self.query_one(WatchList)

    @property
    def events(self) -> EventLog:
        return self.query_one(EventLog)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#filter", Input)

    # --- start-up ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        settle()  # the app, its widgets and the jobs loaded from the store are here to stay
        app = self.host
        table = self.table
        table.zone = app.zone
        table.now = app.now
        self.bar.now = app.now
        self.detail.zone = app.zone
        self.filter_input.display = False
        self.detail.border_title = "Detail"
        self.watchlist.border_title = "Watch list"
        self.watchlist.border_subtitle = WatchList.KEYS_HINT
        self.events.border_title = "Events"
        self.reload_all()
        history = app.recent_transitions(100)
        now = app.now()
        self.events.add(transition_line(step, app.zone, now) for step in reversed(history)
                        if step.old_state is not None)
        self._accounts_seen = {name for name, s in app.statuses.items() if s.last_good_poll}
        self.set_interval(1.0, self._tick, name="ages")
        table.focus()
        self.show_selected()

    def _tick(self) -> None:
        """Once a second: the bar's ages; the table's times only when the date has moved on."""
        self.bar.tick()
        if self.table.day_changed():
            self.table.sync()

    def reload_all(self) -> None:
        """Fill every widget from the poller (start-up, demo switch, accounts reloaded)."""
        table = self.table
        table.follow(self.host.jobs)
        self._update_flags()
        table.sync(resort=True)
        self.refresh_watch()
        self.refresh_bar()

    # --- poller events (called by the app) ---------------------------------------------------

    def jobs_polled(self, event: JobsUpdated) -> None:
        table = self.table
        before = table.selected_key
        shown_before = table.selected_job
        table.apply(event.jobs, event.forgotten)
        self._update_flags()
        table.sync()
        self.refresh_watch()
        self.refresh_bar()
        # An account's first answer this session introduces every job: summarise it in one line.
        zone, now = self.host.zone, self.host.now()
        first = event.account not in self._accounts_seen
        self._accounts_seen.add(event.account)
        logged = [c for c in event.changes if not first or c.old is not None][-MAX_EVENTS:]  # all it keeps

        def lines() -> Iterator[Text]:
            yield from (change_line(c, zone, now) for c in logged)
            if first and event.changes:
                loaded = Text(short_time(event.at, zone, now) + " ", style="dim")
                loaded.append(f"{clean(event.account, 40)}: {len(event.jobs)} jobs loaded")
                yield loaded

        self._queue_log(lines)
        if table.selected_key != before or table.selected_job is not shown_before:
            self.set_timer(FOLLOW_UP_SECONDS, self.show_selected)

    def account_updated(self, event: AccountUpdated) -> None:
        if self._update_flags():
            self.table.sync()
        self.refresh_bar()
        if event.failed or event.recovered:
            zone, now = self.host.zone, self.host.now()
            self._queue_log(lambda: [account_line(event, zone, now)])

    def _queue_log(self, lines: Callable[[], Iterable[Text]]) -> None:
        """Add to the event log a moment later (the table and the bar go first), in order."""
        self._log_queue.append(lines)
        if len(self._log_queue) == 1 and self._log_lines is None:
            self.set_timer(2 * FOLLOW_UP_SECONDS, self._flush_log)

    def _flush_log(self) -> None:
        """Add the queued lines, `LOG_SLICE` a turn (a poll that changed 1,000 jobs logs 500)."""
        if self._log_lines is None:
            queue, self._log_queue = self._log_queue, []
            self._log_lines = (line for lines in queue for line in lines())
        chunk = list(islice(self._log_lines, LOG_SLICE))
        self.events.add(chunk)
        if len(chunk) == LOG_SLICE:
            self.set_timer(FOLLOW_UP_SECONDS, self._flush_log)
            return
        self._log_lines = None
        if self._log_queue:
            self.set_timer(FOLLOW_UP_SECONDS, self._flush_log)

    def refresh_watch(self) -> None:
        host = self.host
        self.watchlist.show(host.watch_entries(), host.watched_job)

    def refresh_bar(self) -> None:
        app = self.host
        table = self.table
        self.bar.show(
            app.statuses.values(),
            stale=table.stale_accounts,
            counts=table.state_counts,
            paused=app.paused,
            zone_name=zone_label(app.config.ui.timezone, app.now()),
            filter_text=self.job_filter.describe(),
            sort_text=f"{COLUMN_LABEL[table.sort_column].lower()} {'↓' if table.sort_reverse else '↑'}",
        )

    def _update_flags(self) -> bool:
        """Recompute which accounts are stale and which jobs are watched; True if either changed."""
        host = self.host
        stale = frozenset(
            name for name, status in host.statuses.items()
            if status.health in FAILING or host.is_stale(name)
        )
        watch_ids: dict[str, set[str]] = {}
        for entry in host.watch_entries():
            watch_ids.setdefault(entry.account, set()).add(entry.lookup_id)
        return self.table.set_flags(stale=stale,
                                    watch_ids={name: frozenset(ids) for name, ids in watch_ids.items()})

    # --- selection and detail ----------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#jobs")
    def _row_highlighted(self) -> None:
        self.show_selected()

    def show_selected(self) -> None:
        job = self.table.selected_job
        history: Sequence[Transition] = ()
        if job is not None:
            history = self.host.history(job.account, job.job_id)
        watched = job is not None and self.host.is_watched(job)
        self.detail.show(job, history, watched=watched)

    @on(DataTable.RowSelected, "#jobs")
    def _row_selected(self) -> None:
        if self.has_class("-narrow"):
            self.pane = "detail"

    @on(DataTable.HeaderSelected, "#jobs")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        table = self.table
        reverse = not table.sort_reverse if column == table.sort_column else column in (
            "submitted", "completed")
        table.set_sort(column, reverse)
        self.refresh_bar()

    # --- watch list --------------------------------------------------------------------------

    @on(WatchList.Remove)
    def _unwatch(self, message: WatchList.Remove) -> None:
        self.post_message(RemoveWatch(message.entry))

    @on(WatchList.Relabel)
    def _relabel(self, message: WatchList.Relabel) -> None:
        self.post_message(AskLabel(message.entry))

    @on(WatchList.Open)
    def _open_watched(self, message: WatchList.Open) -> None:
        self.show_watched(message.entry)

    def show_watched(self, entry: WatchEntry) -> None:
        job = self.host.watched_job(entry)
        if job is None:
            self.notify("That job has not been polled yet.", markup=False)
            return
        table = self.table
        if not table.select_key(row_key(job.account, job.job_id)):
            self.set_filter("")
            self.set_toggles(active=False, failed=False)
            table.select_key(row_key(job.account, job.job_id))
        table.focus()

    # --- filter and sort ---------------------------------------------------------------------

    def set_filter(self, text: str) -> None:
        self.job_filter = JobFilter.parse(text, active_only=self.job_filter.active_only,
                                          failed_only=self.job_filter.failed_only)
        self._apply_filter()

    def set_toggles(self, *, active: bool, failed: bool) -> None:
        self.job_filter = self.job_filter.with_toggles(active_only=active, failed_only=failed)
        self._apply_filter()

    def _apply_filter(self) -> None:
        table = self.table
        table.job_filter = self.job_filter
        table.sync()
        self.refresh_bar()
        self.show_selected()

    def action_filter(self) -> None:
        field = self.filter_input
        field.display = True
        field.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.set_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.filter_input.display = bool(event.value.strip())
        problems = self.job_filter.problems
        if problems:
            self.notify("; ".join(problems), severity="warning", markup=False)
        self.table.focus()

    def action_clear_filter(self) -> None:
        field = self.filter_input
        if field.value or field.display:
            field.value = ""
            field.display = False
            self.set_filter("")
            self.table.focus()

    def action_sort(self) -> None:
        table = self.table
        index = (COLUMN_KEYS.index(table.sort_column) + 1) % len(COLUMN_KEYS)
        column = COLUMN_KEYS[index]
        table.set_sort(column, column in ("submitted", "completed"))
        self.refresh_bar()

    def action_sort_reverse(self) -> None:
        table = self.table
        table.set_sort(table.sort_column, not table.sort_reverse)
        self.refresh_bar()

    def sort_by(self, column: str) -> None:
        self.table.set_sort(column, column in ("submitted", "completed"))
        self.refresh_bar()

    def action_toggle_active(self) -> None:
        self.set_toggles(active=not self.job_filter.active_only, failed=False)

    def action_toggle_failed(self) -> None:
        self.set_toggles(active=False, failed=not self.job_filter.failed_only)

    # --- app-level actions routed here ----------------------------------------------------------

    def action_pause(self) -> None:
        self.post_message(TogglePause())

    def action_refresh(self) -> None:
        self.post_message(RefreshNow())

    def action_watch(self) -> None:
        self.post_message(AskWatch(self.table.selected_job))

    def action_accounts(self) -> None:
        self.post_message(OpenAccounts())

    # --- panes ---------------------------------------------------------------------------------

    def action_next_pane(self) -> None:
        keys = [key for key, _ in PANES]
        self.pane = keys[(keys.index(self.pane) + 1) % len(keys)]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_pane":
            return self.has_class("-narrow")
        return True

    def watch_pane(self, old: str, new: str) -> None:
        for key, _ in PANES:
            self.set_class(key == new, f"-pane-{key}")
        self.query_one(PaneTabs).current = new
        focused = self.focused
        if focused is not None and focused.id == old:
            self.query_one(f"#{new}").focus()

    def on_screen_resume(self) -> None:
        self.set_class(True, f"-pane-{self.pane}")
        self.refresh_bindings()
