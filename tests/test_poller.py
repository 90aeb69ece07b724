"""The poller against the real simulator over loopback: budgets, backoff, staleness, watch list."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from faxtui.config import AccountConfig, Config, SecretRef, UIConfig
from faxtui.events import AccountUpdated, JobsUpdated, PollerEvent, StateChange
from faxtui.model import Health
from faxtui.poller import Poller
from faxtui.sim import FakeClock, SimOptions, SimServer, World
from faxtui.store import Store

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[SimServer]:
    options = SimOptions(seed=7)
    world = World(options, clock)
    world.add_interfax_account("big", "big-pass", jobs=250)
    with SimServer(world=world, options=options) as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "data") as st:
        yield st


def interfax(sim: SimServer, name: str = "ifx", username: str = "demo", password: str = "demo",
             poll: float = 10.0) -> AccountConfig:
    return AccountConfig(name=name, service="interfax", endpoint=sim.interfax_url, poll_seconds=poll,
                         username=username, password=SecretRef(value=password))


def concord(sim: SimServer, name: str = "cc", poll: float = 5.0) -> AccountConfig:
    return AccountConfig(name=name, service="concord", endpoint=sim.concord_url, poll_seconds=poll,
                         user_id="mbx0000000001", token_url=sim.token_url, client_id="demo",
                         client_secret=SecretRef(value="demo"))


def make_config(tmp_path: Path, *accounts: AccountConfig) -> Config:
    return Config(path=tmp_path / "config.toml", ui=UIConfig(), accounts=tuple(accounts))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def interfax_calls(sim: SimServer, username: str) -> int:
    stats = httpx.get(f"{sim.control_url}/stats").json()
    return int(stats["services"]["interfax"]["accounts"].get(username, 0))


async def test_refresh_spam_never_exceeds_six_interfax_calls_a_minute(
    sim: SimServer, store: Store, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    events: list[PollerEvent] = []
    poller = Poller(make_config(tmp_path, interfax(sim)), store, emit=events.append, http=http)
    task = asyncio.create_task(poller.run())
    try:
        for _ in range(60):
            poller.refresh()
            await asyncio.sleep(0.03)
        await asyncio.sleep(0.5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    calls = interfax_calls(sim, "demo")
    assert 2 <= calls <= 6
    assert poller.statuses["ifx"].health is Health.OK
    assert any(isinstance(e, JobsUpdated) and e.jobs for e in events)


async def test_two_accounts_on_one_username_share_the_budget(
    sim: SimServer, store: Store, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    config = make_config(tmp_path, interfax(sim, "one"), interfax(sim, "two"))
    poller = Poller(config, store, http=http)
    task = asyncio.create_task(poller.run())
    try:
        for _ in range(40):
            poller.refresh()
            await asyncio.sleep(0.03)
        await asyncio.sleep(0.3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert interfax_calls(sim, "demo") <= 6


async def test_fault_backs_off_then_recovers_and_keeps_last_jobs(
    sim: SimServer, store: Store, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    now = [START]
    events: list[PollerEvent] = []
    poller = Poller(make_config(tmp_path, concord(sim)), store, emit=events.append, http=http,
                    now=lambda: now[0], jitter=lambda: 0.5)
    ids = sim.world.concord_job_ids("mbx0000000001")[:5]
    for job_id in ids:
        poller.add_watch("cc", job_id)
    await poller.poll_once()
    assert poller.statuses["cc"].health is Health.OK
    known = {k for k in poller.jobs if k[0] == "cc"}
    assert len(known) == 5

    fault = sim.faults.add("concord:http500")
    delays = []
    for _ in range(3):
        now[0] += timedelta(seconds=30)
        await poller.poll_once()
        status = poller.statuses["cc"]
        assert status.retry_at is not None
        delays.append((status.retry_at - now[0]).total_seconds())
    status = poller.statuses["cc"]
    assert status.health is Health.ERROR
    assert status.last_error is not None and "500" in status.last_error
    assert "\n" not in status.last_error
    assert delays == sorted(delays) and delays[2] >= 4 * delays[0] * 0.99
    assert {k for k in poller.jobs if k[0] == "cc"} == known  # nothing lost
    assert poller.is_stale("cc")
    assert [e for e in events if isinstance(e, AccountUpdated) and e.failed]

    sim.faults.remove(fault)
    now[0] += timedelta(seconds=30)
    await poller.poll_once()
    assert poller.statuses["cc"].health is Health.OK
    assert not poller.is_stale("cc")
    assert any(isinstance(e, AccountUpdated) and e.recovered for e in events)


async def test_wrong_password_is_auth_failed_naming_the_service_code(
    sim: SimServer, store: Store, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    poller = Poller(make_config(tmp_path, interfax(sim, password="wrong")), store, http=http)
    await poller.poll_once()
    status = poller.statuses["ifx"]
    assert status.health is Health.AUTH_FAILED
    assert status.last_error is not None and "-1003" in status.last_error
    assert "wrong" not in status.last_error


async def test_interfax_watch_follows_ids_that_fell_off_the_first_page(
    sim: SimServer, store: Store, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    poller = Poller(make_config(tmp_path, interfax(sim, "big", "big", "big-pass")), store, http=http)
    ids = sim.world.interfax_transaction_ids("big")
    oldest = str(min(ids))
    poller.add_watch("big", oldest, "the oldest one")
    await poller.poll_once()
    jobs = {k[1] for k in poller.jobs if k[0] == "big"}
    assert len(jobs) == 101  # one page of 100, plus the watched one looked up
    assert oldest in jobs
    entry = poller.watch_list()[0]
    found = poller.watched_job(entry)
    assert found is not None and found.job_id == oldest and poller.is_watched(found)


async def test_concord_watch_resolves_jri_and_stops_on_confirmed_final(
    sim: SimServer, clock: FakeClock, store: Store, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    poller = Poller(make_config(tmp_path, concord(sim)), store, http=http)
    ref = sim.world.concord_references("mbx0000000001")[0]
    job_id = sim.world.concord_job_ids("mbx0000000001")[0]
    poller.add_watch("cc", f"JRI-{ref}")
    poller.add_watch("cc", job_id)
    await poller.poll_once()
    by_ref = poller.watched_job(poller.watch_list()[0])
    assert by_ref is not None and by_ref.lookup_id == f"JRI-{ref}" and by_ref.job_id.startswith("br")
    # Let every job finish, then poll until the br id is confirmed final and no longer asked for.
    clock.advance(6 * 3600)
    poller.remove_watch("cc", f"JRI-{ref}")
    await poller.poll_once()
    await poller.poll_once()
    assert poller.jobs[("cc", job_id)].state.is_final
    calls_before = poller.statuses["cc"].calls_made
    await poller.poll_once()
    assert poller.statuses["cc"].calls_made == calls_before
    assert poller.statuses["cc"].health is Health.IDLE


async def test_state_changes_are_emitted_and_recorded(
    sim: SimServer, clock: FakeClock, store: Store, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    events: list[PollerEvent] = []
    poller = Poller(make_config(tmp_path, concord(sim)), store, emit=events.append, http=http)
    for job_id in sim.world.concord_job_ids("mbx0000000001"):
        poller.add_watch("cc", job_id)
    await poller.poll_once()
    before = {k: j.state for k, j in poller.jobs.items()}
    clock.advance(6 * 3600)
    await poller.poll_once()
    changes: list[StateChange] = [c for e in events if isinstance(e, JobsUpdated) for c in e.changes
                                  if not c.is_new]
    assert changes, "jobs should have moved after six simulated hours"
    for change in changes:
        assert change.old is not None and before[change.job.key] == change.old.state
        history = store.history("cc", change.job.job_id)
        assert [t.new_state for t in history][-1] == change.job.state.value


async def test_restart_shows_last_known_state_at_once(
    sim: SimServer, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    data = tmp_path / "data"
    config = make_config(tmp_path, interfax(sim))
    with Store.open(data) as store:
        poller = Poller(config, store, http=http)
        await poller.poll_once()
        seen = dict(poller.jobs)
    with Store.open(data) as store:
        again = Poller(config, store, http=http)
        assert again.jobs == seen
        assert again.statuses["ifx"].last_good_poll is not None
        assert again.statuses["ifx"].health is Health.STALE


async def test_pause_stops_polling(sim: SimServer, store: Store, tmp_path: Path,
                                   http: httpx.AsyncClient) -> None:
    poller = Poller(make_config(tmp_path, concord(sim, poll=0.1)), store, http=http)
    poller.add_watch("cc", sim.world.concord_job_ids("mbx0000000001")[0])
    poller.set_paused(True)
    task = asyncio.create_task(poller.run())
    try:
        await asyncio.sleep(0.4)
        assert poller.statuses["cc"].calls_made == 0
        assert poller.statuses["cc"].paused
        poller.set_paused(False)
        for _ in range(50):
            if poller.statuses["cc"].calls_made:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert poller.statuses["cc"].calls_made >= 1


def test_watch_ids_are_validated_per_service(sim: SimServer, store: Store, tmp_path: Path) -> None:
    poller = Poller(make_config(tmp_path, interfax(sim), concord(sim)), store)
    with pytest.raises(ValueError, match="InterFax transaction id"):
        poller.add_watch("ifx", "br0012")
    with pytest.raises(ValueError, match="Concord job id"):
        poller.add_watch("cc", "812345678")
    assert poller.add_watch("cc", "JRI-INV-2026-0042").lookup_id == "JRI-INV-2026-0042"
    assert poller.add_watch("ifx", " 812345678 ").lookup_id == "812345678"
    assert [w.lookup_id for w in store.watch_list()] == ["JRI-INV-2026-0042", "812345678"]


@pytest.mark.parametrize(("asked", "waited"), [(120, 120.0), (86_400, 900.0)])
async def test_503_with_retry_after_waits_at_least_that_long_at_most_15_minutes(
    sim: SimServer, store: Store, tmp_path: Path, http: httpx.AsyncClient, asked: int, waited: float
) -> None:
    now = [START]
    poller = Poller(make_config(tmp_path, concord(sim)), store, http=http, now=lambda: now[0],
                    jitter=lambda: 0.5)
    poller.add_watch("cc", sim.world.concord_job_ids("mbx0000000001")[0])
    sim.faults.add(f"concord:http503={asked}")
    await poller.poll_once()
    status = poller.statuses["cc"]
    assert status.health is Health.ERROR
    assert status.last_error == f"HTTP 503 from 127.0.0.1:{sim.port}, retry after {asked} s"
    assert status.retry_at is not None
    assert (status.retry_at - now[0]).total_seconds() == pytest.approx(waited)  # not the usual 5 s backoff
