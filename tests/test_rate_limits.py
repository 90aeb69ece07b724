"""InterFax's 6 status calls a minute per user, whatever the user does, counted at the simulator.

The simulator enforces the limit itself (a sliding 60 s window of its world's time, per username)
and counts every call it had to refuse with -1011 (`stats.snapshot()["rate_limited"]`), so "zero
refused" below is the service's own verdict, not the poller's opinion of itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostile_server import SkewClock

from faxtui.config import AccountConfig, Config, SecretRef, UIConfig, save_config
from faxtui.model import Health
from faxtui.poller import INTERFAX_WINDOW, Poller, budget_for_test
from faxtui.sim import FakeClock, SimOptions, SimServer, World
from faxtui.store import Store

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def interfax(sim: SimServer, name: str = "ifx", username: str = "demo", password: str = "demo",
             poll: float = 10.0) -> AccountConfig:
    return AccountConfig(name=name, service="interfax", endpoint=sim.interfax_url, poll_seconds=poll,
                         username=username, password=SecretRef(value=password))


def config_of(tmp_path: Path, *accounts: AccountConfig) -> Config:
    return Config(path=tmp_path / "config.toml", ui=UIConfig(), accounts=accounts)


def refused(sim: SimServer) -> int:
    return int(sim.stats.snapshot()["rate_limited"])


@pytest.fixture
def clock() -> SkewClock:
    return SkewClock(START)


@pytest.fixture
def sim(clock: SkewClock) -> Iterator[SimServer]:
    world = World(SimOptions(seed=11), clock)
    world.add_interfax_account("big", "big-pass", jobs=250)
    with SimServer(world=world) as server:
        yield server


def skewed(config: Config, store: Store, clock: SkewClock) -> Poller:
    """A poller whose timestamps, scheduling and rate budgets all run on `clock`."""
    return Poller(config, store, now=clock.now, monotonic=clock.mono, wall=clock.wall)


async def test_watched_ids_off_the_first_page_are_looked_up_only_within_the_budget(
    sim: SimServer, clock: SkewClock, tmp_path: Path
) -> None:
    ids = sorted(sim.world.interfax_transaction_ids("big"))
    old = [str(i) for i in ids[:40]]  # far below the newest 100
    with Store.open(tmp_path / "data") as store:
        account = interfax(sim, "big", "big", "big-pass", poll=20)
        poller = skewed(config_of(tmp_path, account), store, clock)
        for tid in old:
            poller.add_watch("big", tid)
        for _ in range(40):  # 40 polls, 20 s apart (the default interval): about 13 minutes
            # Look-ups never hold up the page everyone sees: no poll waits for the window.
            await asyncio.wait_for(poller.poll_once(), timeout=5)
            assert poller.statuses["big"].health is Health.OK
            clock.advance(20)
        found = {w.lookup_id for w in poller.watch_list() if poller.watched_job(w) is not None}
        await poller.aclose()
    calls = sim.stats.requests("interfax", "big")
    assert refused(sim) == 0
    assert calls <= 6 * (800 / 60 + 1)
    # 4 pages fall in any 61 s at this interval; the other 2 calls went to look-ups, round robin.
    assert len(found) >= 20


async def test_a_restarted_poller_knows_the_calls_of_the_previous_one(
    sim: SimServer, clock: SkewClock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    config = config_of(tmp_path, interfax(sim))
    for _ in range(6):  # six short-lived processes in a row, each polling once
        with Store.open(data) as store:
            poller = skewed(config, store, clock)
            await poller.poll_once()
            await poller.aclose()
        clock.advance(1)
    assert sim.stats.requests("interfax", "demo") == 6

    with Store.open(data) as store:
        poller = skewed(config, store, clock)
        budget = poller.budget_for(config.accounts[0])
        assert budget.available() == 0
        assert INTERFAX_WINDOW - 10 < budget.wait_time() <= INTERFAX_WINDOW
        task = asyncio.create_task(poller.poll_once())
        await asyncio.sleep(0.3)
        assert not task.done()  # waiting for the window, not calling
        assert sim.stats.requests("interfax", "demo") == 6
        clock.advance(INTERFAX_WINDOW)
        await asyncio.wait_for(task, timeout=5)
        await poller.aclose()
    assert poller.statuses["ifx"].health is Health.OK
    assert sim.stats.requests("interfax", "demo") == 7
    assert refused(sim) == 0


async def test_two_accounts_of_one_user_and_refresh_spam_share_one_window(
    sim: SimServer, clock: SkewClock, tmp_path: Path
) -> None:
    config = config_of(tmp_path, interfax(sim, "one", poll=0.05), interfax(sim, "two", poll=0.05))
    with Store.open(tmp_path / "data") as store:
        poller = skewed(config, store, clock)
        task = asyncio.create_task(poller.run())
        try:
            for _ in range(30):
                poller.refresh()
                await asyncio.sleep(0.02)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await poller.aclose()
    assert sim.stats.requests("interfax", "demo") == 6
    assert refused(sim) == 0


async def test_minus_1011_holds_until_the_window_ends_even_across_a_restart(
    sim: SimServer, clock: SkewClock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    config = config_of(tmp_path, interfax(sim))
    sim.faults.add("interfax@demo:result=-1011:n=1")
    with Store.open(data) as store:
        poller = skewed(config, store, clock)
        await poller.poll_once()
        status = poller.statuses["ifx"]
        assert status.health is Health.RATE_LIMITED and status.retry_at is not None
        assert (status.retry_at - clock.now()).total_seconds() >= INTERFAX_WINDOW - 1
        await poller.aclose()
    with Store.open(data) as store:  # a restart does not forget that the service said "slow down"
        again = skewed(config, store, clock)
        assert again.budget_for(config.accounts[0]).wait_time() >= INTERFAX_WINDOW - 1
        clock.advance(INTERFAX_WINDOW)
        await again.poll_once()
        await again.aclose()
    assert again.statuses["ifx"].health is Health.OK
    assert sim.stats.requests("interfax", "demo") == 2


# --- two processes -----------------------------------------------------------------------------

POLLER_PROCESS = """
import asyncio, json, sys, time
from pathlib import Path
from faxtui.config import load_config
from faxtui.poller import Poller
from faxtui.store import Store

async def main() -> None:
    config = load_config(Path(sys.argv[1]))
    go = Path(sys.argv[2])
    while not go.exists():
        await asyncio.sleep(0.005)
    with Store.open() as store:
        poller = Poller(config, store)
        task = asyncio.create_task(poller.run())
        end = time.monotonic() + float(sys.argv[3])
        while time.monotonic() < end:
            poller.refresh()
            await asyncio.sleep(0.02)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await poller.aclose()
        print(json.dumps({n: s.calls_made for n, s in poller.statuses.items()}))

asyncio.run(main())
"""


def test_two_processes_on_one_data_dir_share_the_budget_and_the_database(tmp_path: Path) -> None:
    world = World(SimOptions(seed=12), FakeClock(START))  # frozen: every call falls in one window
    with SimServer(world=world) as sim:
        config = config_of(tmp_path, interfax(sim, "a"), interfax(sim, "b"))  # refresh spam, below
        save_config(config)
        script = tmp_path / "poll.py"
        script.write_text(POLLER_PROCESS)
        go = tmp_path / "go"
        env = {**os.environ, "FAXTUI_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
        procs = [
            subprocess.Popen([sys.executable, str(script), str(config.path), str(go), "2.0"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        time.sleep(0.05)
        go.touch()
        made = []
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            made.append(json.loads(out))
        assert sim.stats.requests("interfax", "demo") == sum(sum(m.values()) for m in made) == 6
        assert refused(sim) == 0
    with Store.open(tmp_path / "data") as store:
        assert store.recovered_from is None and store.integrity_ok()
        assert {j.account for j in store.load_jobs()} == {"a", "b"}


def test_accounts_test_takes_its_call_from_the_shared_budget(sim: SimServer, tmp_path: Path) -> None:
    config = config_of(tmp_path, interfax(sim))
    save_config(config)
    data = tmp_path / "data"

    async def spend() -> None:
        with Store.open(data) as store:  # real wall time: the CLI process below reads the same ledger
            poller = Poller(config, store)
            for _ in range(6):
                poller.refresh()
                await poller.poll_once()
            await poller.aclose()

    asyncio.run(spend())
    assert sim.stats.requests("interfax", "demo") == 6
    env = {**os.environ, "FAXTUI_CONFIG": str(config.path), "FAXTUI_DATA_DIR": str(data), "NO_COLOR": "1"}
    result = subprocess.run([sys.executable, "-m", "faxtui", "accounts", "test"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stdout.startswith("ifx: not tested: 6 calls were made for this user in the last minute")
    assert sim.stats.requests("interfax", "demo") == 6
    assert refused(sim) == 0


async def test_jobs_that_fell_off_the_page_in_progress_are_followed_up_within_the_budget(
    clock: SkewClock, tmp_path: Path
) -> None:
    world = World(SimOptions(seed=13, arrival_mean_seconds=30), clock)
    world.add_interfax_account("busy", "busy-pass", jobs=150)
    with SimServer(world=world) as sim, Store.open(tmp_path / "data") as store:
        account = interfax(sim, "busy", "busy", "busy-pass", poll=20)
        poller = skewed(config_of(tmp_path, account), store, clock)
        await poller.poll_once()
        in_progress = {k[1] for k, job in poller.jobs.items() if job.state.is_active}
        assert in_progress
        clock.advance(3 * 3600)  # ~360 newer faxes push all of them off the first page
        for _ in range(60):  # 20 minutes of polling at the default interval
            await asyncio.wait_for(poller.poll_once(), timeout=5)
            clock.advance(20)
        await poller.aclose()
        truth = {str(job.transaction_id): job.state_of(job.index_at(clock.now().timestamp()))
                 for job, _ in world.interfax_jobs("busy")}
    assert refused(sim) == 0
    shown = {tid: poller.jobs[("busy", tid)].state.value for tid in in_progress}
    # None of them still claims to be in progress when the service has long finished it.
    assert {tid: state for tid, state in shown.items() if state != truth[tid]} == {}


def test_status_says_when_it_waits_for_a_window_another_run_filled(sim: SimServer, tmp_path: Path) -> None:
    config = config_of(tmp_path, interfax(sim))
    save_config(config)
    data = tmp_path / "data"
    with Store.open(data) as store:  # as if the service had just said -1011 with a 2 s hold
        budget = budget_for_test(config.accounts[0], store)
        assert budget is not None
        budget.exhaust(2.0)
    env = {**os.environ, "FAXTUI_CONFIG": str(config.path), "FAXTUI_DATA_DIR": str(data), "NO_COLOR": "1"}
    result = subprocess.run([sys.executable, "-m", "faxtui", "status"], env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("faxtui: ifx: waiting 2 s for the service's rate limit")
    assert sim.stats.requests("interfax", "demo") == 1
