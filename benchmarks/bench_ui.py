"""UI benchmark: the monitor with 10,000 jobs.

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

The stall meter is a task on the app's own loop that asks to wake every millisecond and records
how late it wakes: whatever the UI does in one go shows up as lateness. No network is involved:
the accounts point at a closed loopback port and polling is off, so only the UI is measured. Run:

    python -m benchmarks.bench_ui
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


def interfax_job(n: int, rng: random.Random) -> FaxJob:
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
    return FaxJob(INTERFAX_ACCOUNT, "interfax", str(item.TransactionID), item,
                  interfax_state(status, trials), status, interfax_status_text(status))


def concord_job(n: int, rng: random.Random) -> FaxJob:
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
    return FaxJob(CONCORD_ACCOUNT, "concord", job_id, item, concord_state(status), status,
                  concord_status_text(status), native, f"JRI-{n:08d}" if n % 3 == 0 else None)


def make_jobs(total: int = TOTAL_JOBS, seed: int = 7) -> list[FaxJob]:
    """`total` jobs of two accounts, the same every run: mostly delivered, some failed or active."""
    rng = random.Random(seed)
    concord = int(total * CONCORD_SHARE)
    interfax = [interfax_job(n, rng) for n in range(total - concord)]
    return interfax + [concord_job(n, rng) for n in range(concord)]


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


def bench_config(directory: Path) -> Config:
    from faxtui.config import AccountConfig, Config, SecretRef, UIConfig

    closed = "http://127.0.0.1:9/"  # never called: polling stays off
    return Config(
        path=directory / "config.toml",
        ui=UIConfig(timezone="UTC"),
        accounts=(
            AccountConfig(name=INTERFAX_ACCOUNT, service="interfax", endpoint=closed, poll_seconds=20,
                          username="bench", password=SecretRef(value="bench")),
            AccountConfig(name=CONCORD_ACCOUNT, service="concord", endpoint=closed, poll_seconds=5,
                          user_id="mbx0000000001", pin=SecretRef(value="0000")),
        ),
    )


def fill_store(data: Path, jobs: list[FaxJob]) -> None:
    """The jobs, a watch list of every 8th one, and both accounts last polled OK at NOW."""
    from faxtui.store import Store

    with Store.open(data) as store:
        store.save_jobs(jobs, NOW)
        for job in jobs[:: max(1, len(jobs) // 8)]:
            store.add_watch(job.account, job.lookup_id or job.job_id, "bench", at=NOW)
        store.save_account_state(INTERFAX_ACCOUNT, NOW, None, NOW)
        store.save_account_state(CONCORD_ACCOUNT, NOW, None, NOW)


@contextlib.contextmanager
def temp_directory() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="faxtui-bench-ui-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def make_app(directory: Path, store_dir: str = "data") -> FaxApp:
    from faxtui.store import Store
    from faxtui.tui.app import FaxApp

    store = Store.open(directory / store_dir)
    return FaxApp(bench_config(directory), store, now=lambda: NOW, autostart=False, cursor_blink=False)


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
        await pilot.pause()
        main = app.main_screen
        if main is None or not main.table.filling:
            break
        await asyncio.sleep(0.01)
    for _ in range(3):
        await pilot.pause()


async def stall_of(pilot: Any, action: Callable[[], Awaitable[object] | object]) -> Stall:
    """The worst stall (ms) from doing `action` until the app has applied it all and repainted."""
    meter = StallMeter()
    await settled(pilot)
    meter.start()
    await asyncio.sleep(0.01)
    outcome = action()
    if asyncio.iscoroutine(outcome):
        await outcome
    await settled(pilot)
    await asyncio.sleep(0.05)
    return await meter.stop()


def emit_progress(app: FaxApp, rng: random.Random, *, on_screen: bool, count: int = CHANGED_JOBS) -> None:
    """What the poller does after a poll in which `count` jobs moved on: update its jobs, then emit
    `JobsUpdated` with every job the poll returned (all of them here) and the changes.

    `on_screen`: the jobs that move on are the newest (every row in view changes, the usual case:
    the active faxes are the recent ones); else they are picked at random (most are off screen).
    """
    from faxtui.events import JobsUpdated, StateChange

    poller = app.poller
    if on_screen:
        dated = sorted((job for job in poller.jobs.values() if job.item.SubmitTime is not None),
                       key=lambda job: job.item.SubmitTime or NOW, reverse=True)
        chosen = dated[:count]
    else:
        chosen = rng.sample(list(poller.jobs.values()), count)
    changes: list[StateChange] = []
    for old in chosen:
        new = progressed(old)
        poller.jobs[new.key] = new
        changes.append(StateChange(new, old, NOW))
    app._emit(JobsUpdated(INTERFAX_ACCOUNT, tuple(poller.jobs.values()), tuple(changes), NOW))


def emit_first_load(app: FaxApp, jobs: list[FaxJob]) -> None:
    """A first poll answering with every job, all new to the monitor."""
    from faxtui.events import JobsUpdated, StateChange

    for job in jobs:
        app.poller.jobs[job.key] = job
    changes = tuple(StateChange(job, None, NOW) for job in jobs)
    app._emit(JobsUpdated(INTERFAX_ACCOUNT, tuple(jobs), changes, NOW))


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


async def measure_prefilled(directory: Path, figures: Figures) -> None:
    """First paint in-process, then the 100-job updates, the filter and the sort, on one app."""
    painted = asyncio.Event()
    started = time.perf_counter()
    app = make_app(directory)
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
            for round_number in range(UPDATE_ROUNDS):
                on_screen = round_number % 2 == 0
                figures.update_stalls.append(
                    await stall_of(pilot, functools.partial(emit_progress, app, rng, on_screen=on_screen)))
            figures.filter_stall = await stall_of(pilot, lambda: pilot.press("F"))
            figures.unfilter_stall = await stall_of(pilot, lambda: pilot.press("F"))
            figures.sort_stall = await stall_of(pilot, lambda: main.sort_by("state"))
            for round_number in range(UPDATE_ROUNDS // 2):
                on_screen = round_number % 2 == 0
                figures.sorted_update_stalls.append(
                    await stall_of(pilot, functools.partial(emit_progress, app, rng, on_screen=on_screen)))
    finally:
        app.store.close()


async def measure_first_load(directory: Path, jobs: list[FaxJob], figures: Figures) -> None:
    """A monitor on an empty store, on screen; then a first poll brings all the jobs."""
    app = make_app(directory, "empty")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.3)
            gc.collect()
            figures.load_stalls.append(await stall_of(pilot, lambda: emit_first_load(app, jobs)))
            main = app.main_screen
            assert main is not None
            figures.load_rows = main.table.row_count
    finally:
        app.store.close()
    shutil.rmtree(directory / "empty", ignore_errors=True)


# --- first paint in a real terminal ------------------------------------------------------------------


def pty_child(directory: str, stamp: str) -> None:
    """In the child: load the code, note the time, open the store, run the app (until `q`)."""
    import faxtui.store
    import faxtui.tui.app  # noqa: F401 - imported before the clock starts: App start is after this

    started = time.monotonic()
    app = make_app(Path(directory))
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


def measure_in_pty(directory: Path, first_id: str) -> PtyFigures:
    from benchmarks.bench_idle import rss_mb, spawn_in_pty, stop

    stamp = directory / "started"
    code = f"from benchmarks.bench_ui import pty_child; pty_child({str(directory)!r}, {str(stamp)!r})"
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


def main() -> list[Result]:
    header(f"faxtui UI benchmark: {TOTAL_JOBS:,} jobs, {SIZE[0]}x{SIZE[1]}, polling off; a stall is the "
           "latest a 1 ms timer on the app's loop woke (wall clock), CPU the busiest turn of the loop")
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
    results = [
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
    report(results)
    return results


if __name__ == "__main__":
    sys.exit(exit_code(main()))
