"""Nothing the operator gave faxtui is lost: kills mid-write, a damaged database, a store that fails.

(The config file's own kill test is in test_config.py; two processes polling from one data
directory are in test_rate_limits.py.)
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakeclock import FakeClock as StepClock

from faxtui import poller as poller_module
from faxtui.config import AccountConfig, Config, SecretRef, UIConfig, save_config
from faxtui.events import JobsUpdated, PollerEvent
from faxtui.model import FaxItemEx, FaxJob, Health, JobState
from faxtui.poller import Poller
from faxtui.sim import FakeClock, SimOptions, SimServer, World
from faxtui.store import DB_FILENAME, Store

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
CONCORD_USER = "mbx0000000001"

WRITER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from faxtui.model import FaxItemEx, FaxJob, JobState
from faxtui.store import Store

directory, start = Path(sys.argv[1]), int(sys.argv[2])
with Store.open(directory) as store:
    n = start
    while True:
        tid = str(n)
        store.add_watch("ops", tid, f"label {n}")
        print("add", tid, flush=True)
        item = FaxItemEx(TransactionID=n, Status=-2)
        job = FaxJob("ops", "interfax", tid, item, JobState.QUEUED, -2, "Queued")
        store.save_jobs([job], datetime.now(UTC))
        if n % 3 == 0:
            store.remove_watch("ops", str(n - 2))
            print("remove", n - 2, flush=True)
        if n % 5 == 0:
            store.set_watch_label("ops", str(n - 1), "relabelled")
            print("label", n - 1, flush=True)
        n += 1
"""


def writer_ops(start: int) -> Iterator[tuple[str, int]]:
    """The watch-list writes WRITER makes, in order, from `start`."""
    n = start
    while True:
        yield "add", n
        if n % 3 == 0:
            yield "remove", n - 2
        if n % 5 == 0:
            yield "label", n - 1
        n += 1


def apply(state: dict[str, str], op: tuple[str, int]) -> dict[str, str]:
    kind, n = op
    state = dict(state)
    if kind == "add":
        state.setdefault(str(n), f"label {n}")
    elif kind == "remove":
        state.pop(str(n), None)
    elif str(n) in state:
        state[str(n)] = "relabelled"
    return state


def test_the_watch_list_survives_kills_at_any_moment(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(7)
    state: dict[str, str] = {}
    start = 1
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, str(script), str(data), str(start)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        wait_for = rng.randrange(5, 120)
        for _ in range(wait_for):  # then kill it, in the middle of whatever it does next
            proc.stdout.readline()
        proc.send_signal(signal.SIGKILL)
        reported = wait_for + len(proc.stdout.read().splitlines())  # through the reader's buffer
        proc.wait(timeout=30)
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()
        # Each line is printed once its write committed. The write the kill cut short left no trace,
        # or, killed between commit and print, all of it. Nothing else may differ.
        ops = writer_ops(start)
        for _ in range(reported):
            state = apply(state, next(ops))
        with Store.open(data) as store:
            assert store.recovered_from is None and store.integrity_ok()
            kept = {w.lookup_id: w.label for w in store.watch_list("ops")}
        assert kept in (state, apply(state, next(ops)))
        state = kept
        start = max(map(int, kept), default=0) + 10


# --- a damaged database ----------------------------------------------------------------------------


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAXTUI_")}
    env.update({"FAXTUI_CONFIG": str(tmp_path / "cfg" / "config.toml"),
                "FAXTUI_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1"})
    return env


def faxtui(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "faxtui", *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def damage_table(db: Path, table: str) -> None:
    """Overwrite the pages of one table's data, leaving the file header and the other tables intact."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [row[0] for row in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf'", (table,))]
    finally:
        conn.close()
    assert len(pages) > 3
    with db.open("r+b") as fh:
        for page in pages[1:]:
            fh.seek((page - 1) * page_size)
            fh.write(b"\xa5" * page_size)


@pytest.fixture
def sim() -> Iterator[SimServer]:
    options = SimOptions(seed=21)
    with SimServer(world=World(options, FakeClock(START))) as server:
        yield server


def write_config(tmp_path: Path, sim: SimServer) -> Path:
    config = Config(path=tmp_path / "cfg" / "config.toml", ui=UIConfig(), accounts=(
        AccountConfig(name="cc", service="concord", endpoint=sim.concord_url, poll_seconds=15,
                      user_id=CONCORD_USER, token=SecretRef(value="demo-token")),
    ))
    save_config(config)
    return config.path


def test_a_damaged_database_is_rebuilt_with_a_one_line_notice_keeping_the_watch_list(
    sim: SimServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, sim)
    config_bytes = config.read_bytes()
    ids = sim.world.concord_job_ids(CONCORD_USER)[:8]
    with Store.open(tmp_path / "data") as store:
        for n, job_id in enumerate(ids):
            store.add_watch("cc", job_id, f"watch {n}")
        filler = FaxItemEx(Subject="x" * 400)
        store.save_jobs([FaxJob("cc", "concord", f"br{n:08d}", filler, JobState.QUEUED, 3, "Sending")
                         for n in range(400)], START)
    damage_table(tmp_path / "data" / DB_FILENAME, "jobs")
    env = cli_env(tmp_path)

    listed = faxtui(env, "watch", "list")
    assert listed.returncode == 0, listed.stderr
    notice = listed.stderr.splitlines()
    assert len(notice) == 1
    assert notice[0].startswith(f"faxtui: the state database {tmp_path / 'data' / DB_FILENAME} was damaged: "
                                f"moved it to {tmp_path / 'data' / DB_FILENAME}.corrupt-")
    assert "8 watched id(s)" in notice[0] and "the configuration was not touched" in notice[0]
    assert [line.split()[1] for line in listed.stdout.splitlines()] == ids  # the watch list came through
    assert config.read_bytes() == config_bytes
    aside = [p for p in (tmp_path / "data").glob(f"{DB_FILENAME}.corrupt-*")
             if not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1

    again = faxtui(env, "watch", "list")  # the notice is said once, when it happens
    assert again.returncode == 0 and again.stderr == ""

    (tmp_path / "data" / DB_FILENAME).write_bytes(b"not a database\n" * 300)
    status = faxtui(env, "status")
    assert status.returncode == 0, status.stderr
    assert len(status.stderr.splitlines()) == 1 and "was damaged" in status.stderr
    assert "0 watched id(s)" in status.stderr
    assert config.read_bytes() == config_bytes


# --- a store that fails under a running poller -----------------------------------------------------


async def test_the_screen_keeps_updating_when_the_state_cannot_be_saved(
    sim: SimServer, fake_clock: StepClock, tmp_path: Path
) -> None:
    config = Config(path=tmp_path / "config.toml", ui=UIConfig(), accounts=(
        AccountConfig(name="cc", service="concord", endpoint=sim.concord_url, poll_seconds=0.05,
                      user_id=CONCORD_USER, token=SecretRef(value="demo-token")),
    ))
    events: list[PollerEvent] = []
    clock = fake_clock  # the poller's time: the simulator's stands still
    store = Store.open(tmp_path / "data")
    poller = Poller(config, store, emit=events.append, **clock.poller_args())
    for job_id in sim.world.concord_job_ids(CONCORD_USER)[:4]:
        poller.add_watch("cc", job_id)

    def updates(since: int = 0) -> int:
        return sum(isinstance(e, JobsUpdated) for e in events[since:])

    task = asyncio.create_task(poller.run())
    try:
        await clock.settle()
        assert updates() == 1  # the first poll, at once
        store.close()  # from here on every write fails, as with a full disk or a vanished directory
        seen = len(events)
        await clock.advance(0.15)
        assert updates(seen) == 3  # the next three polls, 0.05 s apart, each shown
        assert not task.done()  # still running: nothing the store did ended it
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await poller.aclose()
    assert task.cancelled()  # it ended because it was told to, not of an error
    assert poller.statuses["cc"].health is Health.OK
    assert poller.store_error is not None and poller.store_error.startswith("state not saved: ")
    assert "\n" not in poller.store_error


# --- weeks on a wall ---------------------------------------------------------------------------------


async def test_a_long_run_keeps_a_bounded_number_of_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poller_module, "MAX_JOBS_PER_ACCOUNT", 150)
    clock = FakeClock(START)
    world = World(SimOptions(seed=22, arrival_mean_seconds=6), clock)
    with SimServer(world=world) as server:
        config = Config(path=tmp_path / "config.toml", ui=UIConfig(), accounts=(
            AccountConfig(name="ifx", service="interfax", endpoint=server.interfax_url, poll_seconds=20,
                          username="demo", password=SecretRef(value="demo")),
        ))
        with Store.open(tmp_path / "data") as store:
            poller = Poller(config, store, now=clock.now, wall=lambda: clock.now().timestamp())
            oldest = str(min(world.interfax_transaction_ids("demo")))
            poller.add_watch("ifx", oldest)
            counts = []
            for _ in range(12):  # two simulated hours, ~1,200 new faxes
                await poller.poll_once()
                counts.append(poller.statuses["ifx"].jobs)
                clock.advance(600)
            await poller.aclose()
    assert max(counts) <= 150 + 100  # the cap, plus the page that was just reported
    assert poller.statuses["ifx"].health is Health.OK
    assert ("ifx", oldest) in poller.jobs  # watched: never dropped
    newest = max(world.interfax_transaction_ids("demo"))
    assert ("ifx", str(newest)) in poller.jobs or newest > max(int(k[1]) for k in poller.jobs)
