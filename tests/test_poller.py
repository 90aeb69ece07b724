"""The poller against the real simulator over loopback: budgets, backoff, staleness, watch list.

Time: the simulated world and (where a test runs `Poller.run`) the poller itself run on one
`FakeClock` (tests/fakeclock.py), which moves only when the test moves it and only while every
task is parked; so "6 calls in a window" is counted in the poller's own time, never in how much a
loaded machine gets done in some real seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fakeclock import FakeClock
from loopback import LoopbackServer, Recorded, Reply
from sim_fixtures import interfax_call_times

from faxtui.config import AccountConfig, Config, SecretRef, UIConfig
from faxtui.events import AccountUpdated, JobsUpdated, PollerEvent, StateChange
from faxtui.model import Health
from faxtui.poller import Poller
from faxtui.services.interfax.adapter import RATE_WINDOW as INTERFAX_WINDOW
from faxtui.sim import SimOptions, SimServer, World
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


def assert_never_more_than_six_a_window(times: list[float]) -> None:
    """No 61 s window (the poller's, a second wider than the service's minute) holds 7 calls."""
    assert len(times) > 6
    for earlier, later in zip(times, times[6:], strict=False):
        assert later - earlier >= INTERFAX_WINDOW - 1e-3


async def spam_refresh(poller: Poller, clock: FakeClock, seconds: float, every: float) -> None:
    for _ in range(round(seconds / every)):
        poller.refresh()
        await clock.advance(every)


async def test_refresh_spam_never_exceeds_six_interfax_calls_a_minute(
    sim: SimServer, clock: FakeClock, store: Store, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    events: list[PollerEvent] = []
    times = interfax_call_times(sim, clock)
    poller = Poller(make_config(tmp_path, interfax(sim)), store, emit=events.append, http=http,
                    **clock.poller_args())
    task = asyncio.create_task(poller.run())
    try:
        await spam_refresh(poller, clock, 1.8, every=0.03)  # 60 presses
        assert times == pytest.approx([0.0, 0.03, 0.06, 0.09, 0.12, 0.15])  # 6 at once, then none
        await spam_refresh(poller, clock, 59.1, every=0.3)
        assert len(times) == 6  # 60.9 s of pressing: the window is still full
        await spam_refresh(poller, clock, 120, every=0.3)
        assert not task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert times[6] == pytest.approx(INTERFAX_WINDOW, abs=1e-3)  # the 7th waited for the 1st to leave
    assert_never_more_than_six_a_window(times)
    assert interfax_calls(sim, "demo") == len(times)
    assert sim.stats.snapshot()["rate_limited"] == 0
    assert poller.statuses["ifx"].health is Health.OK
    assert any(isinstance(e, JobsUpdated) and e.jobs for e in events)


async def test_two_accounts_on_one_username_share_the_budget(
    sim: SimServer, clock: FakeClock, store: Store, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    times = interfax_call_times(sim, clock)
    config = make_config(tmp_path, interfax(sim, "one"), interfax(sim, "two"))
    poller = Poller(config, store, http=http, **clock.poller_args())
    task = asyncio.create_task(poller.run())
    try:
        await spam_refresh(poller, clock, 1.2, every=0.03)
        assert len(times) == 6
        assert {n: s.calls_made for n, s in poller.statuses.items()} == {"one": 3, "two": 3}
        await spam_refresh(poller, clock, 150, every=0.5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert_never_more_than_six_a_window(times)
    assert sum(s.calls_made for s in poller.statuses.values()) == len(times)
    assert sim.stats.snapshot()["rate_limited"] == 0


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
    newest = sorted(ids, reverse=True)[:100]
    assert set(map(str, newest)) <= jobs  # the first page
    assert oldest in jobs  # the watched one, at the bottom of the history: its window comes first
    assert poller.statuses["big"].calls_made <= 6  # within one minute's budget
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
    await clock.advance(6 * 3600)
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
    await clock.advance(6 * 3600)
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


async def test_pause_stops_polling(sim: SimServer, clock: FakeClock, store: Store, tmp_path: Path,
                                   http: httpx.AsyncClient) -> None:
    poller = Poller(make_config(tmp_path, concord(sim, poll=0.1)), store, http=http, **clock.poller_args())
    poller.add_watch("cc", sim.world.concord_job_ids("mbx0000000001")[0])
    poller.set_paused(True)
    task = asyncio.create_task(poller.run())
    try:
        await clock.advance(30)  # 300 poll intervals
        assert poller.statuses["cc"].calls_made == 0
        assert poller.statuses["cc"].paused
        poller.refresh("cc")  # pressing refresh while paused does not poll either
        await clock.advance(1)
        assert poller.statuses["cc"].calls_made == 0
        poller.set_paused(False)
        await clock.settle()
        assert poller.statuses["cc"].calls_made == 1  # at once, not an interval later
        await clock.advance(1)
        assert poller.statuses["cc"].calls_made == 11  # and every 0.1 s from then on
        poller.set_paused(True)
        await clock.advance(30)
        assert poller.statuses["cc"].calls_made == 11
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()


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


# --- paging a server that ignores LastTransactionID ----------------------------------------------


def faxstatusex_page(ids: list[int], total: int) -> bytes:
    items = b"".join(
        b"<FaxItemEx><ParentTransactionID>%d</ParentTransactionID><TransactionID>%d</TransactionID>"
        b"<Status>0</Status><PagesSent>1</PagesSent><Duration>30</Duration><PagesSubmitted>1"
        b"</PagesSubmitted><Priority>1</Priority><Units>1</Units><CostPerUnit>0</CostPerUnit>"
        b"<RetriesToPerform>3</RetriesToPerform><TrialsPerformed>1</TrialsPerformed></FaxItemEx>"
        % (tid, tid) for tid in ids)
    return (b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
            b'<soap:Body><FaxStatusExResponse xmlns="http://www.interfax.cc"><FaxStatusExResult>' + items
            + b"</FaxStatusExResult><TotalCount>%d</TotalCount><ListSize>%d</ListSize>"
              b"<ResultCode>0</ResultCode></FaxStatusExResponse></soap:Body></soap:Envelope>"
            % (total, len(ids)))


def last_transaction_id(request: Recorded) -> int:
    value = request.body.split(b"<LastTransactionID>")[1].split(b"</LastTransactionID>")[0]
    return int(value)


@pytest.mark.parametrize("honours", [True, False], ids=["honours", "ignores"])
async def test_interfax_paging_stops_when_a_page_does_not_move_below_the_last_id(
    honours: bool, loopback: LoopbackServer, fake_clock: FakeClock, store: Store, tmp_path: Path
) -> None:
    """A server that ignores LastTransactionID answers the first page again and again: paging stops
    at the first page that does not move below the id asked for, instead of spending the account's
    page depth (and the user's six calls a minute) on repeats."""
    newest, total = 5000, 1000

    def answer(request: Recorded) -> Reply:
        below = min(last_transaction_id(request), newest + 1) if honours else newest + 1
        return Reply(body=faxstatusex_page(list(range(below - 1, below - 101, -1)), total))

    loopback.handle(answer)
    clock = fake_clock
    account = AccountConfig(name="ifx", service="interfax", endpoint=loopback.url("/dfs.asmx"),
                            poll_seconds=60, page_depth=5, username="ops", password=SecretRef(value="pw"))
    poller = Poller(make_config(tmp_path, account), store, **clock.poller_args())
    await clock.run(poller.poll_once(), within=0)  # and no call had to wait for the window
    await poller.aclose()
    asked = [last_transaction_id(r) for r in loopback.requests]
    status = poller.statuses["ifx"]
    assert status.health is Health.OK and status.last_error is None
    if honours:
        # The whole page depth; then the history below, once, with what the minute has left.
        assert asked == [2_147_483_647, 4901, 4801, 4701, 4601, 4501]
        assert status.calls_made == 6 and len(poller.jobs) == 600
        assert status.warning is None  # the depth is the user's choice: nothing to say
    else:
        assert asked == [2_147_483_647, 4901]  # the second page was the first again: stop there
        assert status.calls_made == 2 and len(poller.jobs) == 100
        assert status.warning == "paging stopped: the page below id 4901 began at 4901"
    assert poller.budget_for(account).available() == 6 - len(asked)


async def test_a_total_count_above_what_the_pages_list_is_the_accounts_warning(
    loopback: LoopbackServer, fake_clock: FakeClock, store: Store, tmp_path: Path
) -> None:
    """The pages ended (a short page) yet TotalCount counts more faxes: some cannot be listed (ids
    at or above where listing starts), and the account says so instead of looking complete."""
    pages = iter([faxstatusex_page([7003, 7002, 7001], 250), faxstatusex_page([7003, 7002, 7001], 3)])
    loopback.handle(lambda request: Reply(body=next(pages)))
    account = AccountConfig(name="ifx", service="interfax", endpoint=loopback.url("/dfs.asmx"),
                            poll_seconds=60, username="ops", password=SecretRef(value="pw"))
    poller = Poller(make_config(tmp_path, account), store, **fake_clock.poller_args())
    await fake_clock.run(poller.poll_once(), within=0)
    status = poller.statuses["ifx"]
    assert status.health is Health.OK and len(poller.jobs) == 3
    assert status.warning == ("InterFax counts 250 faxes for this user, its pages listed 3: "
                              "247 cannot be shown")
    await fake_clock.run(poller.poll_once(), within=0)  # the counts agree again: the warning goes
    assert poller.statuses["ifx"].warning is None
    await poller.aclose()


async def test_an_unreadable_item_costs_that_item_and_says_so(
    clock: FakeClock, store: Store, tmp_path: Path
) -> None:
    """One FaxItemEx without its TransactionID cannot be shown; the other 99 of the page are, and
    the account's warning says what was left out (`status --json`, the account bar)."""
    options = SimOptions(seed=7, interfax_bad_fields=("missing:TransactionID@3", "malformed:PagesSent@4"))
    world = World(options, clock)
    world.add_interfax_account("ops", "pw", jobs=150)
    with SimServer(world=world, options=options) as server:
        account = dataclasses.replace(interfax(server, username="ops", password="pw"), page_depth=2)
        poller = Poller(make_config(tmp_path, account), store, now=clock.now)
        await poller.poll_once()
        await poller.aclose()
    status = poller.statuses["ifx"]
    assert status.health is Health.OK and status.last_error is None
    assert len(poller.jobs) == 148  # one item of each of the two pages
    assert status.warning is not None
    assert status.warning.startswith("1 of 100 items on a page left out: ")
    assert "TransactionID" in status.warning
    spoilt = [job for job in poller.jobs.values() if job.unreadable]
    assert len(spoilt) == 2 and all(job.item.PagesSent is None for job in spoilt)
    assert all(dict(job.unreadable).keys() == {"PagesSent"} for job in spoilt)
