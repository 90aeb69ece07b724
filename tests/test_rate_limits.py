"""InterFax's 6 status calls a minute per user, whatever the user does, counted at the simulator.

The simulator enforces the limit itself (a sliding 60 s window of its world's time, per username)
and counts every call it had to refuse with -1011 (`stats.snapshot()["rate_limited"]`), so "zero
refused" below is the service's own verdict, not the poller's opinion of itself.

Time: in one process, the world, the poller's scheduling, its rate budgets and every wait it makes
run on one `FakeClock` (tests/fakeclock.py), so a count of calls in a window is a count in the
poller's own time and the same on any machine however loaded. The tests with two processes share
the budget through the store on real wall time, and assert only what holds however slow they run.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakeclock import FakeClock
from sim_fixtures import interfax_call_times

from faxtui import cli
from faxtui import poller as poller_module
from faxtui.budget import RECHECK_SECONDS, CallBudget
from faxtui.config import AccountConfig, Config, SecretRef, UIConfig, save_config
from faxtui.model import Health
from faxtui.poller import Poller
from faxtui.services.interfax.adapter import RATE_WINDOW as INTERFAX_WINDOW
from faxtui.sim import FakeClock as FrozenClock
from faxtui.sim import SimOptions, SimServer, World
from faxtui.sim.demo import Script
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
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[SimServer]:
    world = World(SimOptions(seed=11), clock)
    world.add_interfax_account("big", "big-pass", jobs=250)
    with SimServer(world=world) as server:
        yield server


def on_clock(config: Config, store: Store, clock: FakeClock) -> Poller:
    """A poller whose timestamps, scheduling, rate budgets and waits all run on `clock`."""
    return Poller(config, store, **clock.poller_args())


async def test_a_full_budget_waits_through_its_sleep_until_the_window_frees(clock: FakeClock) -> None:
    budget = CallBudget(2, 10.0, clock=clock.monotonic, sleep=clock.sleep)
    await clock.run(budget.acquire(), within=0)
    await clock.advance(3)
    await clock.run(budget.acquire(), within=0)
    assert clock.sleeps == []  # room in the window: no waiting at all
    waiting = asyncio.create_task(budget.acquire())
    await clock.advance(7 - 0.01)
    assert not waiting.done() and budget.available() == 0  # the two calls, at 0 and 3
    await clock.advance(0.02)  # the first call, made at 0, leaves the window at 10
    assert waiting.done() and budget.available() == 0  # the waiting acquire took its place
    # It looked again at least every RECHECK_SECONDS (another process may have freed a slot).
    assert clock.sleeps and all(0 < s <= RECHECK_SECONDS for s in clock.sleeps)
    assert sum(clock.sleeps) == pytest.approx(7.0, abs=1e-3)
    assert budget.wait_time() == pytest.approx(3.0 - 0.01, abs=1e-3)  # the next frees at 13


async def test_watched_ids_off_the_first_page_are_seen_in_one_window_within_the_budget(
    sim: SimServer, clock: FakeClock, tmp_path: Path
) -> None:
    ids = sorted(sim.world.interfax_transaction_ids("big"))
    old = [str(i) for i in ids[:40]]  # far below the newest 100
    with Store.open(tmp_path / "data") as store:
        account = interfax(sim, "big", "big", "big-pass", poll=20)
        poller = on_clock(config_of(tmp_path, account), store, clock)
        for tid in old:
            poller.add_watch("big", tid)
        await clock.run(poller.poll_once(), within=0)  # the first poll: no call waits
        first = {w.lookup_id for w in poller.watch_list() if poller.watched_job(w) is not None}
        for _ in range(40):  # 40 more polls, 20 s apart (the default interval): about 13 minutes
            # The windows take what the budget has; a page waits for the window at most.
            await clock.run(poller.poll_once(), within=INTERFAX_WINDOW)
            assert poller.statuses["big"].health is Health.OK
            await clock.advance(20)
        await poller.aclose()
    calls = sim.stats.requests("interfax", "big")
    assert refused(sim) == 0
    assert calls <= 6 * (clock.elapsed / 60 + 1)
    # The 40 oldest ids are 40 consecutive transactions of the account: one window lists them all,
    # in the first poll, where one look-up each would have taken 40 calls (seven minutes).
    assert first == set(old)


def _retrying(frame: object) -> bool:
    return getattr(frame, "status", None) == -3 and getattr(frame, "trials", 0) > 0


async def test_a_broadcast_retrying_below_the_first_page_is_found_and_followed_to_its_end(
    clock: FakeClock, tmp_path: Path
) -> None:
    """A 500-fax broadcast sent before faxtui first looked at the account, every recipient missed
    and retrying, most of it below the first page: a fresh poller finds the broadcast by paging the history
    once, then covers its unfinished faxes with windows of 100 (not one look-up each), and when the
    world has finished them all, none is still shown unfinished."""
    world = World(SimOptions(seed=5, arrival_mean_seconds=0, interfax_retry_wait_min=300,
                             interfax_retry_wait_max=900), clock)
    scripts = [Script("delivered_after_retry", _retrying, size=500, every=True)]
    world.add_interfax_account("bulk", "bulk-pass", jobs=900, scripts=scripts)
    groups: dict[int, set[str]] = {}
    for job, _ in world.interfax_jobs("bulk"):
        groups.setdefault(job.parent_id, set()).add(str(job.transaction_id))
    (broadcast,) = [ids for ids in groups.values() if len(ids) == 500]
    with SimServer(world=world) as sim, Store.open(tmp_path / "data") as store:
        poller = on_clock(config_of(tmp_path, interfax(sim, "bulk", "bulk", "bulk-pass", poll=20)),
                          store, clock)
        newest = sorted(world.interfax_transaction_ids("bulk"), reverse=True)[:100]
        assert len(broadcast - set(map(str, newest))) >= 400  # most of it below the first page
        for _ in range(3 * 60):  # an hour at the default interval
            await clock.run(poller.poll_once(), within=INTERFAX_WINDOW)
            await clock.advance(20)
        await poller.aclose()
        truth = {str(job.transaction_id): job.state_of(job.index_at(clock.now().timestamp()))
                 for job, _ in world.interfax_jobs("bulk")}
    assert refused(sim) == 0
    assert all(truth[tid] in ("delivered", "failed") for tid in broadcast)  # the world is done
    shown = {tid: poller.jobs[("bulk", tid)].state.value for tid in broadcast if ("bulk", tid) in poller.jobs}
    assert len(shown) == 500
    assert {tid: state for tid, state in shown.items() if state != truth[tid]} == {}
    # An hour at 6 calls a minute is 360 calls: the pages, ten for the history and the windows.
    assert sim.stats.requests("interfax", "bulk") <= 6 * (clock.elapsed / 60 + 1)


async def test_a_restarted_poller_knows_the_calls_of_the_previous_one(
    sim: SimServer, clock: FakeClock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    config = config_of(tmp_path, interfax(sim))
    for _ in range(6):  # six short-lived processes in a row, one a second, each polling once
        with Store.open(data) as store:
            poller = on_clock(config, store, clock)
            await clock.run(poller.poll_once(), within=0)
            await poller.aclose()
        await clock.advance(1)
    assert sim.stats.requests("interfax", "demo") == 6

    with Store.open(data) as store:  # at +6 s: the first call leaves the window at +61 s
        poller = on_clock(config, store, clock)
        budget = poller.budget_for(config.accounts[0])
        assert budget.available() == 0
        assert budget.wait_time() == pytest.approx(INTERFAX_WINDOW - 6)
        task = asyncio.create_task(poller.poll_once())
        await clock.advance(INTERFAX_WINDOW - 6 - 0.01)
        assert not task.done()  # waiting for the window, not calling
        assert sim.stats.requests("interfax", "demo") == 6
        await clock.advance(0.02)
        assert task.done()
        await task
        await poller.aclose()
    status = poller.statuses["ifx"]
    assert status.health is Health.OK
    assert status.last_good_poll is not None
    assert status.last_good_poll - START == pytest.approx(timedelta(seconds=INTERFAX_WINDOW), abs=1e-3)
    assert sim.stats.requests("interfax", "demo") == 7
    assert refused(sim) == 0


async def test_two_accounts_of_one_user_and_refresh_spam_share_one_window(
    sim: SimServer, clock: FakeClock, tmp_path: Path
) -> None:
    times = interfax_call_times(sim, clock)
    config = config_of(tmp_path, interfax(sim, "one", poll=0.05), interfax(sim, "two", poll=0.05))
    with Store.open(tmp_path / "data") as store:
        poller = on_clock(config, store, clock)
        task = asyncio.create_task(poller.run())
        try:
            for _ in range(30):  # 0.6 s of refresh spam on top of polling every 0.05 s
                poller.refresh()
                await clock.advance(0.02)
            assert len(times) == 6
            for _ in range(600):  # five more minutes of it
                poller.refresh()
                await clock.advance(0.5)
            assert not task.done()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await poller.aclose()
    assert task.cancelled()
    # No 61 s window ever holds 7 calls; and as demand never stops, a new burst of 6 begins the
    # moment the first call of the last one leaves the window (the budget is not left unused).
    for earlier, later in zip(times, times[6:], strict=False):
        assert later - earlier >= INTERFAX_WINDOW - 1e-3
    assert times[::6] == pytest.approx([0, 61, 122, 183, 244], abs=1e-3)
    assert len(times) == 6 * 5  # the 300.6 s hold those five windows' calls and no more
    assert sum(s.calls_made for s in poller.statuses.values()) == len(times)
    assert refused(sim) == 0


async def test_minus_1011_holds_until_the_window_ends_even_across_a_restart(
    sim: SimServer, clock: FakeClock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    config = config_of(tmp_path, interfax(sim))
    sim.faults.add("interfax@demo:result=-1011:n=1")
    with Store.open(data) as store:
        poller = on_clock(config, store, clock)
        await clock.run(poller.poll_once(), within=0)
        status = poller.statuses["ifx"]
        assert status.health is Health.RATE_LIMITED and status.retry_at is not None
        assert (status.retry_at - clock.now()).total_seconds() == pytest.approx(INTERFAX_WINDOW)
        await poller.aclose()
    await clock.advance(5)
    with Store.open(data) as store:  # a restart does not forget that the service said "slow down"
        again = on_clock(config, store, clock)
        budget = again.budget_for(config.accounts[0])
        assert budget.wait_time() == pytest.approx(INTERFAX_WINDOW - 5)
        task = asyncio.create_task(again.poll_once())
        await clock.advance(INTERFAX_WINDOW - 5 - 0.01)
        assert not task.done() and sim.stats.requests("interfax", "demo") == 1
        await clock.advance(0.02)
        await task
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
    give_up = time.monotonic() + 50  # a hang guard only: the loops below end on what happened
    while not go.exists():
        assert time.monotonic() < give_up, "never told to go"
        await asyncio.sleep(0.005)
    with Store.open() as store:
        poller = Poller(config, store)
        budget = poller.budget_for(config.accounts[0])  # both accounts' (one user), both processes'
        taken = [0]  # the calls this process took from the budget, through its public methods
        acquire, try_acquire, charge = budget.acquire, budget.try_acquire, budget.charge

        async def counted_acquire() -> None:
            await acquire()
            taken[0] += 1

        def counted_try_acquire() -> bool:
            took = try_acquire()
            taken[0] += took
            return took

        def counted_charge(calls: int) -> None:
            charge(calls)
            taken[0] += max(0, calls)

        budget.acquire, budget.try_acquire = counted_acquire, counted_try_acquire
        budget.charge = counted_charge
        task = asyncio.create_task(poller.run())

        def settled() -> bool:  # this process's calls are all answered (none half-way)
            return sum(s.calls_made for s in poller.statuses.values()) == taken[0]

        # Refresh spam until the shared window is full and every call this process took is done,
        # then some more: nothing more may be called, however slowly the machine got here.
        while not (budget.available() == 0 and settled()):
            assert time.monotonic() < give_up, "the window never filled"
            poller.refresh()
            await asyncio.sleep(0.02)
        for _ in range(10):
            poller.refresh()
            await asyncio.sleep(0.02)
        assert settled()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await poller.aclose()
        print(json.dumps({n: s.calls_made for n, s in poller.statuses.items()}))

asyncio.run(main())
"""


def test_two_processes_on_one_data_dir_share_the_budget_and_the_database(tmp_path: Path) -> None:
    world = World(SimOptions(seed=12), FrozenClock(START))  # frozen: every call falls in one window
    with SimServer(world=world) as sim:
        config = config_of(tmp_path, interfax(sim, "a"), interfax(sim, "b"))  # refresh spam, below
        save_config(config)
        script = tmp_path / "poll.py"
        script.write_text(POLLER_PROCESS)
        go = tmp_path / "go"
        env = {**os.environ, "FAXTUI_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
        procs = [
            subprocess.Popen([sys.executable, str(script), str(config.path), str(go)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
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
    clock: FakeClock, tmp_path: Path
) -> None:
    world = World(SimOptions(seed=13, arrival_mean_seconds=30), clock)
    world.add_interfax_account("busy", "busy-pass", jobs=150)
    with SimServer(world=world) as sim, Store.open(tmp_path / "data") as store:
        account = interfax(sim, "busy", "busy", "busy-pass", poll=20)
        poller = on_clock(config_of(tmp_path, account), store, clock)
        await clock.run(poller.poll_once(), within=0)
        in_progress = {k[1] for k, job in poller.jobs.items() if job.state.is_active}
        assert in_progress
        await clock.advance(3 * 3600)  # ~360 newer faxes push all of them off the first page
        for _ in range(60):  # 20 minutes of polling at the default interval
            # The windows take what the budget has; the next page waits for the window at most.
            await clock.run(poller.poll_once(), within=INTERFAX_WINDOW)
            await clock.advance(20)
        await poller.aclose()
        truth = {str(job.transaction_id): job.state_of(job.index_at(clock.now().timestamp()))
                 for job, _ in world.interfax_jobs("busy")}
    assert refused(sim) == 0
    shown = {tid: poller.jobs[("busy", tid)].state.value for tid in in_progress}
    # None of them still claims to be in progress when the service has long finished it.
    assert {tid: state for tid, state in shown.items() if state != truth[tid]} == {}


def test_status_says_when_it_waits_for_a_window_another_run_filled(
    sim: SimServer, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`faxtui status` itself, in this process (`cli.main`), with its poller on the fake clock: the
    wait it announces is the one the earlier run left, to the second, on a machine of any speed.
    (`faxtui status` as a process of its own, reading a window another process filled, is the
    `accounts test` test above.)"""
    config = config_of(tmp_path, interfax(sim))
    save_config(config)
    data = tmp_path / "data"
    with Store.open(data) as store:  # an earlier run, told -1011 with a 30 s hold
        on_clock(config, store, clock).budget_for(config.accounts[0]).exhaust(30.0)
    monkeypatch.setenv("FAXTUI_CONFIG", str(config.path))
    monkeypatch.setenv("FAXTUI_DATA_DIR", str(data))
    monkeypatch.setenv("NO_COLOR", "1")
    # `faxtui status` runs alone inside `asyncio.run`: its waits move the clock and return at once.
    args = {**clock.poller_args(), "sleep": clock.instant_sleep}
    monkeypatch.setattr(poller_module, "Poller", functools.partial(Poller, **args))
    assert cli.main(["status"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("faxtui: ifx: waiting 30 s for the service's rate limit"), err
    assert sim.stats.requests("interfax", "demo") == 1
    assert clock.elapsed == pytest.approx(30.0, abs=1e-3)  # it called when the hold ended, not later


async def test_a_short_retry_after_does_not_forget_the_calls_already_made(clock: FakeClock) -> None:
    # Six calls, then the server says "slow down for 1 s": after that second the window still
    # holds the six real calls, so the next call waits for the first of them to leave it.
    budget = CallBudget(6, 61.0, clock=clock.monotonic, sleep=clock.sleep)
    for _ in range(6):
        await clock.run(budget.acquire(), within=0)
        await clock.advance(1)
    assert budget.exhaust(1.0) == 1.0
    await clock.advance(2)
    assert budget.available() == 0
    assert budget.wait_time() == pytest.approx(61 - 8, abs=1e-3)  # the first call, at 0, leaves at 61
