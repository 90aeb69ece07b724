"""Team mode in the poller: several processes on one store, one of them polling each account.

Each `Poller` here stands for one process (its own store connection, its own `host:pid`); the
world, the pollers' clocks, budgets, leases and waits all run on one `FakeClock`, so "within 30 s"
is measured in the pollers' own time, the same on any machine. What a user would see is checked:
who polls (the simulator counts the calls), what the others show, how soon a dead poller is
replaced, and that a viewer shows what the poller stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fakeclock import FakeClock
from test_rate_limits import START, config_of, interfax, refused

from faxtui.config import Config, UIConfig
from faxtui.events import JobsUpdated, PollerEvent
from faxtui.model import Health
from faxtui.poller import Poller
from faxtui.sim import SimOptions, SimServer, World
from faxtui.store import StateStore, open_store
from faxtui.team import TeamOptions
from faxtui.team.leases import lease_terms

POLL = 10.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[SimServer]:
    world = World(SimOptions(seed=3, arrival_mean_seconds=20), clock)
    world.add_interfax_account("desk", "desk-pass", jobs=40)
    with SimServer(world=world) as server:
        yield server


class Process:
    """One faxtui process: a store connection and a poller running on the fake clock."""

    def __init__(self, config: Config, url: str, clock: FakeClock, team: TeamOptions) -> None:
        self.store: StateStore = open_store(url)
        self.events: list[tuple[float, PollerEvent]] = []
        self.poller = Poller(config, self.store, team=team,
                             emit=lambda e: self.events.append((clock.elapsed, e)), **clock.poller_args())
        self.task = asyncio.create_task(self.poller.run())

    async def stop(self, *, crash: bool = False) -> None:
        """Stop it: gracefully (its leases released), or as kill -9 / a lost machine would (its
        store gone first, so nothing it holds is released)."""
        if crash:
            self.store.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.poller.aclose()
        self.store.close()


@pytest.fixture
async def team(
    sim: SimServer, clock: FakeClock, tmp_path: Path, store_url: str
) -> AsyncIterator[tuple[Process, Process]]:
    config = config_of(tmp_path, interfax(sim, "desk", "desk", "desk-pass", poll=POLL))
    a = Process(config, store_url, clock, TeamOptions("desk-a:101"))
    b = Process(config, store_url, clock, TeamOptions("desk-b:202"))
    try:
        yield a, b
    finally:
        for process in (a, b):
            if not process.task.done():
                await process.stop()


def holder(a: Process, b: Process) -> tuple[Process, Process]:
    """(the one that polls "desk", the other)."""
    return (a, b) if a.poller.holds_lease("desk") else (b, a)


async def test_one_process_polls_an_account_and_the_other_shows_what_it_stored(
    team: tuple[Process, Process], sim: SimServer, clock: FakeClock
) -> None:
    a, b = team
    await clock.run_until(lambda: a.poller.holds_lease("desk") or b.poller.holds_lease("desk"), within=1)
    await clock.advance(300)
    polling, standing_by = holder(a, b)
    assert not standing_by.poller.holds_lease("desk")
    assert polling.poller.statuses["desk"].calls_made > 0
    assert standing_by.poller.statuses["desk"].calls_made == 0  # it never called the service
    assert sim.stats.requests("interfax", "desk") == polling.poller.statuses["desk"].calls_made
    assert refused(sim) == 0
    shown = standing_by.poller.statuses["desk"]
    assert (shown.following, shown.polled_by, shown.health) == (True, polling.poller._team.holder, Health.OK)
    await clock.advance(1)  # the last poll's commit, heard
    mine = {k: j for k, j in polling.poller.jobs.items() if k[0] == "desk"}
    theirs = {k: j for k, j in standing_by.poller.jobs.items() if k[0] == "desk"}
    assert len(mine) >= 40 and theirs == mine


async def test_a_viewer_shows_a_polled_change_within_a_second(
    team: tuple[Process, Process], clock: FakeClock
) -> None:
    a, b = team
    await clock.advance(600)
    polling, viewer = holder(a, b)
    polled = {c.job.key: t for t, e in polling.events if isinstance(e, JobsUpdated) for c in e.changes
              if c.old is not None}
    shown = {c.job.key: t for t, e in viewer.events if isinstance(e, JobsUpdated) for c in e.changes
             if c.old is not None}
    late = {key: shown.get(key, float("inf")) - at for key, at in polled.items() if at < clock.elapsed - 1}
    assert late and max(late.values()) <= 1.0, sorted(late.values())[-5:]


async def test_a_crashed_poller_is_replaced_within_three_intervals_or_30_seconds(
    team: tuple[Process, Process], sim: SimServer, clock: FakeClock
) -> None:
    a, b = team
    await clock.advance(60)
    dead, survivor = holder(a, b)
    await dead.stop(crash=True)
    died_at = clock.elapsed
    took_over = await clock.run_until(lambda: survivor.poller.holds_lease("desk"), within=120)
    bound = max(3 * POLL, 30.0)
    assert took_over - died_at <= bound
    assert lease_terms(POLL).takeover_bound <= bound
    calls = survivor.poller.statuses["desk"].calls_made
    await clock.advance(60)
    assert survivor.poller.statuses["desk"].calls_made > calls  # and it polls
    assert refused(sim) == 0


async def test_a_poller_that_stops_hands_over_at_once(
    team: tuple[Process, Process], clock: FakeClock
) -> None:
    a, b = team
    await clock.advance(30)
    leaving, staying = holder(a, b)
    await leaving.stop()  # SIGTERM: leases released
    stopped_at = clock.elapsed
    took_over = await clock.run_until(lambda: staying.poller.holds_lease("desk"), within=60)
    assert took_over - stopped_at <= lease_terms(POLL).claim_every


async def test_a_follower_needs_no_account_and_never_calls(
    sim: SimServer, clock: FakeClock, tmp_path: Path, store_url: str
) -> None:
    config = config_of(tmp_path, interfax(sim, "desk", "desk", "desk-pass", poll=POLL))
    poller = Process(config, store_url, clock, TeamOptions("ops-1:7"))
    try:
        await clock.advance(120)
        empty = Config(path=tmp_path / "viewer.toml", ui=UIConfig(), accounts=())
        viewer = Process(empty, store_url, clock, TeamOptions("wall:9", poll=False))
        try:
            await clock.advance(30)
            status = viewer.poller.statuses["desk"]
            assert (status.service, status.polled_by, status.following) == ("interfax", "ops-1:7", True)
            assert status.health is Health.OK and status.calls_made == 0
            assert {k for k in viewer.poller.jobs if k[0] == "desk"} == {
                k for k in poller.poller.jobs if k[0] == "desk"}
            # A watch request from the viewer (no secret needed) reaches the poller.
            tid = next(k[1] for k in viewer.poller.jobs if k[0] == "desk")
            viewer.poller.add_watch("desk", tid)
            await clock.advance(1)
            assert any(w.lookup_id == tid for w in poller.poller.watch_list())
        finally:
            await viewer.stop()
    finally:
        await poller.stop()
    assert refused(sim) == 0


async def test_a_standby_taking_over_neither_repeats_nor_loses_a_transition(
    sim: SimServer, clock: FakeClock, tmp_path: Path, store_url: str
) -> None:
    # Headless pollers (`faxtui poll`) do not follow: the standby's picture is what it loaded at
    # start. Taking over, it must start from what the dead poller stored.
    config = config_of(tmp_path, interfax(sim, "desk", "desk", "desk-pass", poll=POLL))
    a = Process(config, store_url, clock, TeamOptions("poll-a:1", follow=False))
    await clock.advance(1)
    b = Process(config, store_url, clock, TeamOptions("poll-b:2", follow=False))
    try:
        await clock.advance(600)
        dead, survivor = holder(a, b)
        await dead.stop(crash=True)
        await clock.run_until(lambda: survivor.poller.holds_lease("desk"), within=120)
        await clock.advance(1200)
    finally:
        for process in (a, b):
            if not process.task.done():
                await process.stop()
    with contextlib.closing(open_store(store_url)) as store:
        jobs = store.load_jobs("desk")
        broken = []
        for job in jobs:
            history = store.history("desk", job.job_id)
            for before, after in itertools.pairwise(history):
                if (after.old_state, after.old_code) != (before.new_state, before.new_code):
                    broken.append((job.job_id, before, after))
            last = history[-1] if history else None
            if last is None or (last.new_state, last.new_code) != (job.state.value, job.status_code):
                broken.append((job.job_id, last, job.state))
    assert len(jobs) > 40 and broken == []
    assert refused(sim) == 0
