"""UI benchmark: the monitor with 10,000 jobs, and at scale: 100,000 jobs of 20 accounts.

(a) First paint: a state store pre-filled with 10,000 jobs in a temp data directory; a real app
    process on a 160x48 pseudo-terminal; the time from `App` start (opening the store, which loads
    the jobs) to the first job row written to the terminal. The same in-process (Textual's
    headless driver) for reference.
(b) Resident memory (VmRSS) of that process with the 10,000 jobs loaded and shown.
(c) The longest event-loop stall while a poll that changes 100 of the 10,000 jobs (state and
    pages) is applied through the path a real poll takes: a `JobsUpdated` event -> the app's
    message handler -> the table, the bar, the panes, and the repaint. Repeated; worst and median.
(d) The longest stall while the first full load of 10,000 jobs is applied the same way (a first
    poll answering with 10,000 new jobs, into a monitor already on screen).
Also, for information: the stall of the same 100-job update while sorted by state (every
update re-sorts), of pressing F (failed only) and F again, and of changing the sort column.

At scale (issue 13, item 3), a store of 100,000 jobs over 20 accounts (16 InterFax, 4 Concord):
(e) first paint from the store, on the pty and headless; (f) VmRSS with them shown (< 300 MB);
(g) the stall of a poll changing 1 % of them (1,000 jobs of the polled account, which returned
its 5,000), repeated, a different account each round; (h) the stall of a first poll bringing
all 100,000 (one event, as if one account had them all: the worst case); (i) the same store
with 1,000,000 history rows (the transitions table): `Store.open` as the app does it (< 1 s),
and the reads the main screen makes at start. A poll's event is made before the stall meter
starts: that is the poller's work; the stall is the UI's.

The stall meter is a task on the app's own loop that asks to wake every millisecond and records
how late it wakes: whatever the UI does in one go shows up as lateness. No network is involved:
the accounts point at a closed loopback port and polling is off, so only the UI is measured. Run:

    python -m benchmarks.bench_ui            # both
    python -m benchmarks.bench_ui 10k        # only the 10,000 jobs
    python -m benchmarks.bench_ui scale      # only the 100,000 jobs and the 1,000,000 history rows
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
import os
import random
import select
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from benchmarks.common import Result, exit_code, header, report

if TYPE_CHECKING:
    from faxtui.config import Config
    from faxtui.model import FaxJob
    from faxtui.tui.app import FaxApp

TOTAL_JOBS = 10_000
CHANGED_JOBS = 100
SIZE = (160, 48)
STALL_TARGET_MS = 50.0
FIRST_PAINT_TARGET_S = 1.0
RSS_TARGET_MB = 200.0
UPDATE_ROUNDS = 16
LOAD_ROUNDS = 3
TICK_SECONDS = 0.001
IDLE_SECONDS = 5.0
"""How long the loop is watched with nothing to do: the machine's own jitter, for comparison."""
PTY_TIMEOUT_S = 60.0

SCALE_JOBS = 100_000
SCALE_ACCOUNTS = 20
SCALE_CONCORD_ACCOUNTS = 4
SCALE_CHANGED_JOBS = 1_000
SCALE_RSS_TARGET_MB = 300.0
SCALE_UPDATE_ROUNDS = 8
SCALE_LOAD_ROUNDS = 2
HISTORY_ROWS = 1_000_000
OPEN_TARGET_S = 1.0
OPEN_ROUNDS = 3

INTERFAX_ACCOUNT = "bench-interfax"
CONCORD_ACCOUNT = "bench-concord"
CONCORD_SHARE = 0.2
"""A fifth of the jobs are Concord jobs (watched ids), the rest InterFax transactions."""
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

SUBJECTS = ("Invoice", "Lab results", "Referral", "Purchase order", "Contract", "Prescription",
            "Statement", "Claim", "Booking", "Delivery note")
IN_PROGRESS = (-1, -2, -3, -3, -3)
FAILURES = (263, 3931, 3935, 6017, 8021, 3912, 3220)


# --- the jobs ---------------------------------------------------------------------------------------


def interfax_job(n: int, rng: random.Random, account: str = INTERFAX_ACCOUNT) -> FaxJob:
    from faxtui.model import FaxItemEx, FaxJob
    from faxtui.services.interfax.codes import interfax_state, interfax_status_text

    submitted = NOW - timedelta(seconds=n * 37 + rng.randrange(30))
    roll = rng.random()
    status = 0 if roll < 0.8 else rng.choice(FAILURES) if roll < 0.9 else rng.choice(IN_PROGRESS)
    pages = rng.randrange(1, 30)
    trials = 0 if status in (-1, -2) else rng.randrange(1, 4)
    done = status >= 0
    item = FaxItemEx(
        ParentTransactionID=None, TransactionID=600_000_000 + n, SubmitTime=submitted,
        CompletionTime=submitted + timedelta(seconds=60 + pages * 20) if done else None,
        UserID="bench", Contact=f"Dr. Contact {n % 97}", JobID=f"ref-{n:06d}",
        DestinationFax=f"+1 555 {rng.randrange(10**6, 10**7)}", ReplyEmail="ops@example.com",
        RemoteCSID="REMOTE CSID" if done else None,
        PagesSent=pages if status == 0 else rng.randrange(0, pages + 1), Status=status,
        Duration=30 + pages * 20 if done else 0, Subject=f"{rng.choice(SUBJECTS)} {n:05d}",
        PagesSubmitted=pages, SenderCSID="FAXTUI", Priority=1, Units=Decimal(pages) if done else None,
        CostPerUnit=Decimal("0.0750"), PageSize="A4", PageOrientation="Portrait", PageResolution="Fine",
        RenderingQuality="Greyscale", PageHeader="{To} {From} {Page}", RetriesToPerform=3,
        TrialsPerformed=trials,
    )
    return FaxJob(account, "interfax", str(item.TransactionID), item,
                  interfax_state(status, trials), status, interfax_status_text(status))


def concord_job(n: int, rng: random.Random, account: str = CONCORD_ACCOUNT) -> FaxJob:
    from faxtui.model import ConcordStatus, FaxItemEx, FaxJob
    from faxtui.services.concord.codes import concord_state, concord_status_text

    job_id = f"br{n:010d}"
    status = 1 if rng.random() < 0.8 else rng.choice((2, 3))
    pages = rng.randrange(1, 30)
    sent = pages if status == 1 else rng.randrange(0, pages + 1)
    delivered = NOW - timedelta(seconds=n * 41) if status != 3 else None
    native = ConcordStatus(job_id, status, concord_status_text(status), 2, sent, pages,
                           delivered.strftime("%Y-%m-%dT%H:%M:%S") if delivered else None, 20 * pages,
                           "REMOTE", None, None, "activity-id", "7")
    item = FaxItemEx(TransactionID=job_id, Status=status, PagesSent=sent, PagesSubmitted=pages,
                     CompletionTime=delivered, Duration=20 * pages, RemoteCSID="REMOTE")
    return FaxJob(account, "concord", job_id, item, concord_state(status), status,
                  concord_status_text(status), native, f"JRI-{n:08d}" if n % 3 == 0 else None)


def make_jobs(total: int = TOTAL_JOBS, seed: int = 7) -> list[FaxJob]:
    """`total` jobs of two accounts, the same every run: mostly delivered, some failed or active."""
    rng = random.Random(seed)
    concord = int(total * CONCORD_SHARE)
    interfax = [interfax_job(n, rng) for n in range(total - concord)]
    return interfax + [concord_job(n, rng) for n in range(concord)]


def scale_accounts() -> list[tuple[str, str]]:
    """(name, service) of the scale scenario's accounts: 16 InterFax, then 4 Concord."""
    interfax = SCALE_ACCOUNTS - SCALE_CONCORD_ACCOUNTS
    return ([(f"ifx-{n:02d}", "interfax") for n in range(interfax)]
            + [(f"concord-{n:02d}", "concord") for n in range(SCALE_CONCORD_ACCOUNTS)])


def make_scale_jobs(total: int = SCALE_JOBS, seed: int = 11) -> list[FaxJob]:
    """`total` jobs spread over `scale_accounts()` (a fifth Concord), numbered across accounts so
    submit times interleave: the newest jobs belong to every InterFax account."""
    rng = random.Random(seed)
    accounts = scale_accounts()
    interfax = [name for name, service in accounts if service == "interfax"]
    concord = [name for name, service in accounts if service == "concord"]
    concord_total = int(total * CONCORD_SHARE)
    jobs = [interfax_job(n, rng, interfax[n % len(interfax)]) for n in range(total - concord_total)]
    return jobs + [concord_job(n, rng, concord[n % len(concord)]) for n in range(concord_total)]


def progressed(job: FaxJob) -> FaxJob:
    """The same job one step further on: finished, or (when already final) resent and retrying."""
    from faxtui.model import JobState
    from faxtui.services.interfax.codes import interfax_state, interfax_status_text

    item = job.item
    pages = item.PagesSubmitted or 1
    if job.service == "interfax":
        if job.state.is_final:
            status, trials, sent = -3, (item.TrialsPerformed or 0) + 1, 0
        else:
            status, trials, sent = 0, max(1, item.TrialsPerformed or 0), pages
        new_item = dataclasses.replace(item, Status=status, PagesSent=sent, TrialsPerformed=trials,
                                       CompletionTime=NOW if status == 0 else None)
        return dataclasses.replace(job, item=new_item, state=interfax_state(status, trials),
                                   status_code=status, status_text=interfax_status_text(status))
    state = JobState.SENDING if job.state.is_final else JobState.DELIVERED
    code = 3 if state is JobState.SENDING else 1
    new_item = dataclasses.replace(item, Status=code, PagesSent=(item.PagesSent or 0) % pages + 1)
    return dataclasses.replace(job, item=new_item, state=state, status_code=code,
                               status_text="Job is being processed" if code == 3 else "Job Succeeded")


def top_row_id(jobs: list[FaxJob]) -> str:
    """The id on the first row of the default view (newest submitted first)."""
    dated = [job for job in jobs if job.item.SubmitTime is not None]
    return max(dated, key=lambda job: job.item.SubmitTime or NOW).job_id


# --- the app on a pre-filled store -------------------------------------------------------------------


def bench_config(directory: Path, accounts: list[tuple[str, str]] | None = None) -> Config:
    """The accounts as (name, service); default: one InterFax and one Concord account."""
    from faxtui.config import AccountConfig, Config, SecretRef, UIConfig

    closed = "http://127.0.0.1:9/"  # never called: polling stays off
    accounts = accounts or [(INTERFAX_ACCOUNT, "interfax"), (CONCORD_ACCOUNT, "concord")]
    configs = []
    for n, (name, service) in enumerate(accounts):
        if service == "interfax":
            configs.append(AccountConfig(name=name, service="interfax", endpoint=closed, poll_seconds=20,
                                         username=f"bench{n}", password=SecretRef(value="bench")))
        else:
            configs.append(AccountConfig(name=name, service="concord", endpoint=closed, poll_seconds=5,
                                         user_id=f"mbx{n:010d}", pin=SecretRef(value="0000")))
    return Config(path=directory / "config.toml", ui=UIConfig(timezone="UTC"), accounts=tuple(configs))


def fill_store(data: Path, jobs: list[FaxJob]) -> None:
    """The jobs, a watch list of every 8th one, and every account last polled OK at NOW."""
    from faxtui.store import Store

    with Store.open(data) as store:
        store.save_jobs(jobs, NOW)
        for job in jobs[:: max(1, len(jobs) // 8)]:
            store.add_watch(job.account, job.lookup_id or job.job_id, "bench", at=NOW)
        for account in sorted({job.account for job in jobs}):
            store.save_account_state(account, NOW, None, NOW)


def fill_history(data: Path, rows: int, jobs: list[FaxJob]) -> None:
    """`rows` transitions in the store's history table, written by SQL in one transaction (a few
    seconds for a million, where a million `record_transitions` rows would take minutes): spread
    over `jobs`, ten per job in turn, a second apart, the newest at NOW."""
    import sqlite3

    from faxtui.store.sqlite import DB_FILENAME

    conn = sqlite3.connect(data / DB_FILENAME, isolation_level=None)
    try:
        conn.execute("CREATE TEMP TABLE bench_jobs (n INTEGER PRIMARY KEY, account TEXT, job_id TEXT)")
        conn.executemany("INSERT INTO bench_jobs VALUES (?, ?, ?)",
                         ((n, job.account, job.job_id) for n, job in enumerate(jobs)))
        start = (NOW - timedelta(seconds=rows)).timestamp()
        conn.execute("BEGIN")
        conn.execute(
            """WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?)
               INSERT INTO history (account, job_id, at, old_state, new_state, old_code, new_code,
                                    status_text)
               SELECT j.account, j.job_id,
                      strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', ? + i, 'unixepoch'),
                      CASE WHEN i % 3 = 0 THEN NULL ELSE 'sending' END,
                      CASE WHEN i % 3 = 2 THEN 'delivered' ELSE 'sending' END,
                      CASE WHEN i % 3 = 0 THEN NULL ELSE -3 END,
                      CASE WHEN i % 3 = 2 THEN 0 ELSE -3 END,
                      CASE WHEN i % 3 = 2 THEN 'OK' ELSE 'Sending' END
               FROM seq JOIN bench_jobs AS j ON j.n = (i / 10) % ?""",
            (rows, start, len(jobs)),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


@contextlib.contextmanager
def temp_directory() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="faxtui-bench-ui-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def make_app(directory: Path, store_dir: str = "data", accounts: list[tuple[str, str]] | None = None,
             ) -> FaxApp:
    from faxtui.store import Store
    from faxtui.tui.app import FaxApp

    store = Store.open(directory / store_dir)
    return FaxApp(bench_config(directory, accounts), store, now=lambda: NOW, autostart=False,
                  cursor_blink=False)


class Stall(NamedTuple):
    """The worst stall of a run, in milliseconds: as the 1 ms task saw it (wall clock, so with any
    scheduling hiccup of the machine in it), and the most CPU time one turn of the loop used (the
    app's own work, whatever the machine does)."""

    wall: float
    cpu: float


class StallMeter:
    """A task on the running loop that wakes every millisecond and keeps the worst lateness; while
    it runs, each turn of the loop is also timed in CPU time."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.worst_cpu = 0.0
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(TICK_SECONDS)
            self.worst = max(self.worst, loop.time() - asked - TICK_SECONDS)

    def start(self) -> None:
        self.worst = self.worst_cpu = 0.0
        loop = self._loop = asyncio.get_running_loop()
        turn = loop._run_once  # type: ignore[attr-defined]

        def timed_turn() -> None:
            started = time.thread_time()
            turn()
            self.worst_cpu = max(self.worst_cpu, time.thread_time() - started)

        loop._run_once = timed_turn  # type: ignore[attr-defined]
        self._task = loop.create_task(self._run())

    async def stop(self) -> Stall:
        """The worst stall seen since `start`."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._loop is not None:
            with contextlib.suppress(AttributeError):
                del self._loop._run_once  # type: ignore[attr-defined]
        return Stall(self.worst * 1000, self.worst_cpu * 1000)


NO_STALL = Stall(0.0, 0.0)


async def settled(pilot: Any) -> None:
    """Wait until the app is idle and the job table holds every row it is going to."""
    app = pilot.app
    deadline = time.monotonic() + PTY_TIMEOUT_S
    while time.monotonic() < deadline:
        await pilot.pause(0.01)
        main = app.main_screen
        if main is None or not main.table.filling:
            break
        await asyncio.sleep(0.01)
    for _ in range(3):
        # Not `pause()`: it waits for the process to use no CPU, which the 1 ms meter never lets
        # happen (a second per call, for nothing).
        await pilot.pause(0.02)


async def stall_of(pilot: Any, action: Callable[[], Awaitable[object] | object],
                   prepare: Callable[[], object] | None = None) -> Stall:
    """The worst stall (ms) from doing `action` until the app has applied it all and repainted
    (`prepare`, the poller's share of the work, is done first, before the meter starts)."""
    meter = StallMeter()
    await settled(pilot)
    if prepare is not None:
        prepare()
    meter.start()
    await asyncio.sleep(0.01)
    outcome = action()
    if asyncio.iscoroutine(outcome):
        await outcome
    await settled(pilot)
    await asyncio.sleep(0.05)
    return await meter.stop()


class Poll:
    """A poll's outcome made ahead (`prepare`: the poller's share), then emitted (`emit`: what the
    stall is measured on, the UI's share)."""

    def __init__(self, make: Callable[[], object]) -> None:
        self._make = make
        self._event: object = None

    def prepare(self) -> None:
        self._event = self._make()

    def emit(self, app: FaxApp) -> None:
        app._emit(self._event)  # type: ignore[arg-type]
        self._event = None


def progress_event(app: FaxApp, rng: random.Random, *, on_screen: bool, count: int = CHANGED_JOBS,
                   account: str | None = None) -> object:
    """What the poller does after a poll in which `count` jobs moved on: update its jobs, and make
    the `JobsUpdated` with every job the poll returned and the changes.

    `account`: the poll is of that account, and returned every job of it (at scale: 5,000, of
    which `count` changed); None: it returned every job of every account (all 10,000).
    `on_screen`: the jobs that move on are the newest (every row in view changes, the usual case:
    the active faxes are the recent ones); else they are picked at random (most are off screen).
    """
    from faxtui.events import JobsUpdated, StateChange

    poller = app.poller
    candidates = [job for job in poller.jobs.values() if account is None or job.account == account]
    if on_screen:
        dated = sorted((job for job in candidates if job.item.SubmitTime is not None),
                       key=lambda job: job.item.SubmitTime or NOW, reverse=True)
        chosen = dated[:count]
    else:
        chosen = rng.sample(candidates, count)
    changes: list[StateChange] = []
    for old in chosen:
        new = progressed(old)
        poller.jobs[new.key] = new
        changes.append(StateChange(new, old, NOW))
    returned = tuple(job for job in poller.jobs.values() if account is None or job.account == account)
    return JobsUpdated(account or chosen[0].account, returned, tuple(changes), NOW)


def first_load_event(app: FaxApp, jobs: list[FaxJob]) -> object:
    """A first poll answering with every job, all new to the monitor."""
    from faxtui.events import JobsUpdated, StateChange

    for job in jobs:
        app.poller.jobs[job.key] = job
    changes = tuple(StateChange(job, None, NOW) for job in jobs)
    return JobsUpdated(jobs[0].account, tuple(jobs), changes, NOW)


def poll_stall(pilot: Any, app: FaxApp, make: Callable[[], object]) -> Awaitable[Stall]:
    poll = Poll(make)
    return stall_of(pilot, lambda: poll.emit(app), poll.prepare)


# --- the measurements --------------------------------------------------------------------------------


@dataclasses.dataclass
class Figures:
    paint_in_process_s: float = 0.0
    rows: int = 0
    update_stalls: list[Stall] = dataclasses.field(default_factory=list)
    sorted_update_stalls: list[Stall] = dataclasses.field(default_factory=list)
    filter_stall: Stall = NO_STALL
    unfilter_stall: Stall = NO_STALL
    sort_stall: Stall = NO_STALL
    load_stalls: list[Stall] = dataclasses.field(default_factory=list)
    load_rows: int = 0
    idle_stall: Stall = NO_STALL
    fill_stall: Stall = NO_STALL


@dataclasses.dataclass(frozen=True)
class Scenario:
    """How many jobs of which accounts, and how the polls of the run change them."""

    accounts: list[tuple[str, str]] | None
    changed: int
    update_rounds: int
    load_rounds: int

    def polled(self, round_number: int) -> str | None:
        """The account a round's poll is of (None: one poll returning every job, as at 10,000)."""
        if self.accounts is None:
            return None
        interfax = [name for name, service in self.accounts if service == "interfax"]
        return interfax[round_number % len(interfax)]


TEN_K = Scenario(None, CHANGED_JOBS, UPDATE_ROUNDS, LOAD_ROUNDS)
AT_SCALE = Scenario(scale_accounts(), SCALE_CHANGED_JOBS, SCALE_UPDATE_ROUNDS, SCALE_LOAD_ROUNDS)


async def measure_prefilled(directory: Path, figures: Figures, scenario: Scenario = TEN_K) -> None:
    """First paint in-process, then the 100-job updates, the filter and the sort, on one app."""
    painted = asyncio.Event()
    started = time.perf_counter()
    app = make_app(directory, accounts=scenario.accounts)
    display = app._display

    def timed_display(screen: Any, renderable: Any) -> None:
        at = time.perf_counter()
        display(screen, renderable)
        main = app.main_screen
        if not painted.is_set() and renderable is not None and main is not None and main.table.row_count:
            figures.paint_in_process_s = at - started
            painted.set()

    app._display = timed_display  # type: ignore[method-assign]
    try:
        async with app.run_test(size=SIZE) as pilot:
            meter = StallMeter()
            await asyncio.wait_for(painted.wait(), PTY_TIMEOUT_S)
            meter.start()  # the rest of the load goes on with the first screen shown
            await settled(pilot)
            await asyncio.sleep(0.05)
            figures.fill_stall = await meter.stop()
            main = app.main_screen
            assert main is not None
            figures.rows = main.table.row_count
            figures.idle_stall = await stall_of(pilot, lambda: asyncio.sleep(IDLE_SECONDS))
            rng = random.Random(3)
            for round_number in range(scenario.update_rounds):
                on_screen = round_number % 2 == 0
                figures.update_stalls.append(await poll_stall(pilot, app, functools.partial(
                    progress_event, app, rng, on_screen=on_screen, count=scenario.changed,
                    account=scenario.polled(round_number))))
            figures.filter_stall = await stall_of(pilot, lambda: pilot.press("F"))
            figures.unfilter_stall = await stall_of(pilot, lambda: pilot.press("F"))
            figures.sort_stall = await stall_of(pilot, lambda: main.sort_by("state"))
            for round_number in range(scenario.update_rounds // 2):
                on_screen = round_number % 2 == 0
                figures.sorted_update_stalls.append(await poll_stall(pilot, app, functools.partial(
                    progress_event, app, rng, on_screen=on_screen, count=scenario.changed,
                    account=scenario.polled(round_number))))
    finally:
        app.store.close()


async def measure_first_load(directory: Path, jobs: list[FaxJob], figures: Figures,
                             scenario: Scenario = TEN_K) -> None:
    """A monitor on an empty store, on screen; then a first poll brings all the jobs."""
    app = make_app(directory, "empty", scenario.accounts)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.3)
            gc.collect()
            figures.load_stalls.append(
                await poll_stall(pilot, app, functools.partial(first_load_event, app, jobs)))
            main = app.main_screen
            assert main is not None
            figures.load_rows = main.table.row_count
    finally:
        app.store.close()
    shutil.rmtree(directory / "empty", ignore_errors=True)


# --- first paint in a real terminal ------------------------------------------------------------------


def pty_child(directory: str, stamp: str, scale: bool = False) -> None:
    """In the child: load the code, note the time, open the store, run the app (until `q`)."""
    import faxtui.store
    import faxtui.tui.app  # noqa: F401 - imported before the clock starts: App start is after this

    started = time.monotonic()
    app = make_app(Path(directory), accounts=AT_SCALE.accounts if scale else None)
    Path(stamp).write_text(f"{started!r}\n")
    try:
        app.run()
    finally:
        app.store.close()


@dataclasses.dataclass
class PtyFigures:
    paint_s: float
    from_spawn_s: float
    rss_mb: float


def measure_in_pty(directory: Path, first_id: str, *, scale: bool = False) -> PtyFigures:
    from benchmarks.bench_idle import rss_mb, spawn_in_pty, stop

    stamp = directory / "started"
    code = (f"from benchmarks.bench_ui import pty_child; "
            f"pty_child({str(directory)!r}, {str(stamp)!r}, {scale!r})")
    spawned = time.monotonic()
    child, master = spawn_in_pty([sys.executable, "-c", code], SIZE)
    seen = b""
    painted_at = None
    try:
        deadline = spawned + PTY_TIMEOUT_S
        needle = first_id.encode()
        while painted_at is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if child.poll() is not None:
                    break
                continue
            data = os.read(master, 65536)
            if not data:
                break
            seen = (seen + data)[-4096:]
            if needle in seen:
                painted_at = time.monotonic()
        if painted_at is None:
            raise RuntimeError(f"no row on the terminal after {PTY_TIMEOUT_S:g} s: {seen[-300:]!r}")
        settle = time.monotonic() + 3
        while (left := settle - time.monotonic()) > 0:  # keep reading: a blocked writer would stall
            if select.select([master], [], [], left)[0]:
                os.read(master, 65536)
        rss = rss_mb(child.pid)
        started = float(stamp.read_text())
    finally:
        stop(child, master)
    return PtyFigures(painted_at - started, painted_at - spawned, rss)


# --- the report --------------------------------------------------------------------------------------


def show(stall: Stall) -> str:
    return f"{stall.wall:.0f} ms (CPU {stall.cpu:.0f})"


def stall_result(name: str, stalls: list[Stall]) -> Result:
    """Worst wall-clock stall against the target; the runs, each with its busiest turn in CPU time."""
    worst = max(stall.wall for stall in stalls)
    median = statistics.median(stall.wall for stall in stalls)
    runs = ", ".join(f"{stall.wall:.0f}/{stall.cpu:.0f}" for stall in stalls)
    return Result("ui", name, f"worst {worst:.0f} ms, median {median:.0f} ms (runs, wall/CPU ms: {runs})",
                  f"< {STALL_TARGET_MS:g} ms", worst < STALL_TARGET_MS)


@dataclasses.dataclass
class OpenFigures:
    open_s: list[float] = dataclasses.field(default_factory=list)
    reads_s: list[float] = dataclasses.field(default_factory=list)
    fill_s: float = 0.0
    size_mb: float = 0.0


def measure_open(data: Path, jobs: list[FaxJob]) -> OpenFigures:
    """Fill the history table of the store in `data` to HISTORY_ROWS, then open it the way the app
    does (`Store.open`: lock, quick check, migrations), repeated; and time the reads the main
    screen makes when it starts (the last 100 transitions, the selected job's history)."""
    from faxtui.store import Store
    from faxtui.store.sqlite import DB_FILENAME

    figures = OpenFigures()
    started = time.perf_counter()
    fill_history(data, HISTORY_ROWS, jobs)
    figures.fill_s = time.perf_counter() - started
    figures.size_mb = (data / DB_FILENAME).stat().st_size / 1e6
    job = jobs[len(jobs) // 2]
    for _ in range(OPEN_ROUNDS):
        gc.collect()
        started = time.perf_counter()
        store = Store.open(data)
        opened = time.perf_counter()
        try:
            assert len(store.recent_transitions(100)) == 100
            assert store.history(job.account, job.job_id)
            figures.reads_s.append(time.perf_counter() - opened)
        finally:
            store.close()
        figures.open_s.append(opened - started)
    return figures


def ten_k_results() -> list[Result]:
    figures = Figures()
    with temp_directory() as directory:
        jobs = make_jobs()
        fill_store(directory / "data", jobs)
        first_id = top_row_id(jobs)
        pty = measure_in_pty(directory, first_id)
        for _ in range(LOAD_ROUNDS):
            asyncio.run(measure_first_load(directory, jobs, figures))
        del jobs
        gc.collect()
        asyncio.run(measure_prefilled(directory, figures))
    return [
        Result("ui", "first paint from the store, real terminal (App start -> first row on the pty)",
               f"{pty.paint_s:.2f} s ({pty.from_spawn_s:.2f} s from process start)",
               f"< {FIRST_PAINT_TARGET_S:g} s", pty.paint_s < FIRST_PAINT_TARGET_S),
        Result("ui", "first paint from the store, in-process (headless)",
               f"{figures.paint_in_process_s:.2f} s"),
        Result("ui", f"resident memory with {TOTAL_JOBS:,} jobs shown (VmRSS of the app process)",
               f"{pty.rss_mb:.0f} MB", f"< {RSS_TARGET_MB:g} MB", pty.rss_mb < RSS_TARGET_MB),
        stall_result(f"longest stall, a poll changing {CHANGED_JOBS} of {figures.rows:,} jobs "
                     "(rounds alternate: the newest jobs, in view / random ones)", figures.update_stalls),
        stall_result(f"longest stall, first load of {figures.load_rows:,} jobs by a poll",
                     figures.load_stalls),
        stall_result(f"longest stall, the start-up load of {figures.rows:,} jobs from the store, after the "
                     "first paint", [figures.fill_stall]),
        Result("ui", f"longest stall with the app idle for {IDLE_SECONDS:g} s (this machine's own jitter)",
               show(figures.idle_stall)),
        Result("ui", f"longest stall, the {CHANGED_JOBS}-job poll while sorted by state (re-sorts)",
               "worst " + show(max(figures.sorted_update_stalls))),
        Result("ui", "longest stall, F (failed only) / F again / sort by state",
               " / ".join(show(stall) for stall in (figures.filter_stall, figures.unfilter_stall,
                                                    figures.sort_stall))),
    ]


def scale_results() -> list[Result]:
    figures = Figures()
    with temp_directory() as directory:
        started = time.perf_counter()
        jobs = make_scale_jobs()
        fill_store(directory / "data", jobs)
        print(f"  (made and stored {len(jobs):,} jobs of {SCALE_ACCOUNTS} accounts in "
              f"{time.perf_counter() - started:.1f} s)", flush=True)
        first_id = top_row_id(jobs)
        pty = measure_in_pty(directory, first_id, scale=True)
        for _ in range(AT_SCALE.load_rounds):
            asyncio.run(measure_first_load(directory, jobs, figures, AT_SCALE))
        gc.collect()
        asyncio.run(measure_prefilled(directory, figures, AT_SCALE))
        opened = measure_open(directory / "data", jobs)
        del jobs
    n = f"{SCALE_JOBS:,} jobs of {SCALE_ACCOUNTS} accounts"
    worst_open = max(opened.open_s)
    return [
        Result("ui", f"[{n}] first paint from the store, real terminal (App start -> first row)",
               f"{pty.paint_s:.2f} s ({pty.from_spawn_s:.2f} s from process start)",
               f"< {FIRST_PAINT_TARGET_S:g} s", pty.paint_s < FIRST_PAINT_TARGET_S),
        Result("ui", f"[{n}] first paint from the store, in-process (headless)",
               f"{figures.paint_in_process_s:.2f} s", f"< {FIRST_PAINT_TARGET_S:g} s",
               figures.paint_in_process_s < FIRST_PAINT_TARGET_S),
        Result("ui", f"[{n}] resident memory with them shown (VmRSS of the app process)",
               f"{pty.rss_mb:.0f} MB", f"< {SCALE_RSS_TARGET_MB:g} MB", pty.rss_mb < SCALE_RSS_TARGET_MB),
        stall_result(f"[{n}] longest stall, a poll of one account changing {SCALE_CHANGED_JOBS:,} of "
                     f"{figures.rows:,} jobs (rounds alternate: its newest jobs / random ones)",
                     figures.update_stalls),
        stall_result(f"[{n}] longest stall, first load of {figures.load_rows:,} jobs by a poll",
                     figures.load_stalls),
        stall_result(f"[{n}] longest stall, the start-up load from the store, after the first paint",
                     [figures.fill_stall]),
        Result("ui", f"[{n}] longest stall, the {SCALE_CHANGED_JOBS:,}-job poll while sorted by state",
               "worst " + show(max(figures.sorted_update_stalls))),
        Result("ui", f"[{n}] longest stall, F (failed only) / F again / sort by state",
               " / ".join(show(stall) for stall in (figures.filter_stall, figures.unfilter_stall,
                                                    figures.sort_stall))),
        Result("ui", f"store with {HISTORY_ROWS:,} history rows and {SCALE_JOBS:,} jobs "
                     f"({opened.size_mb:.0f} MB): Store.open, {OPEN_ROUNDS} rounds",
               f"worst {worst_open:.2f} s, median {statistics.median(opened.open_s):.2f} s "
               f"(runs: {', '.join(f'{t:.2f}' for t in opened.open_s)}; "
               f"history filled in {opened.fill_s:.0f} s)",
               f"< {OPEN_TARGET_S:g} s", worst_open < OPEN_TARGET_S),
        Result("ui", "that store: the main screen's start-up reads (last 100 transitions, one job's history)",
               f"worst {max(opened.reads_s) * 1000:.1f} ms"),
    ]


def main(argv: list[str] | None = None) -> list[Result]:
    args = sys.argv[1:] if argv is None else argv
    only = {"10k": "10k", "scale": "scale"}.get(args[0] if args else "", "")
    header(f"faxtui UI benchmark: {TOTAL_JOBS:,} jobs, then {SCALE_JOBS:,} of {SCALE_ACCOUNTS} accounts; "
           f"{SIZE[0]}x{SIZE[1]}, polling off; a stall is the "
           "latest a 1 ms timer on the app's loop woke (wall clock), CPU the busiest turn of the loop")
    results: list[Result] = []
    if only != "scale":
        results += ten_k_results()
        report(results)
    if only != "10k":
        scaled = scale_results()
        report(scaled)
        results += scaled
    return results


if __name__ == "__main__":
    sys.exit(exit_code(main()))
