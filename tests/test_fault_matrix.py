"""Every fault a network or a vendor can produce, injected for real, against the running poller.

Each row of the matrix polls four accounts on the simulator — a faulted and a healthy account of
each service — through real loopback sockets. The faulted account goes through a relay
(`hostile_server.HostileServer(relay_to=...)`) that can refuse connections, present a bad TLS
certificate or swallow requests; the simulator's own fault controls produce the HTTP- and
SOAP-level faults. For every row: the faulted account shows the reason in one line, keeps its
last jobs and goes stale, backs off, the other accounts keep updating, and when the fault is
cleared the running poller (`Poller.run`) recovers by itself.

Time: one `SkewClock` drives the simulated world, the poller's timestamps, its scheduling and its
rate budgets. It runs in real time (so `run()` and socket timeouts behave), and `advance()` jumps
it forward, standing in for the waits between polls: the InterFax budget of 6 calls a minute is
honoured throughout and the simulator never has to answer -1011 on its own.

DNS: a faulted account's endpoint is a name under the reserved `.invalid` TLD. The test's
`httpx` transport asks a small hosts table first and the system resolver for anything else
(`HostsBackend`); the fault is the name's removal from the table, so the failure the poller sees
is the system resolver's real answer for a `.invalid` name (it fails at once, no network needed).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostile_server import Answer, HostileServer, HostsBackend, Request, SkewClock, TestCerts, http_client

from faxtui.config import AccountConfig, Config, SecretRef, UIConfig
from faxtui.events import AccountUpdated, PollerEvent
from faxtui.model import FaxJob, Health, JobState
from faxtui.poller import Poller
from faxtui.sim import SimOptions, SimServer, World
from faxtui.store import Store

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
IFX_USER, IFX_PASSWORD = "demo", "demo"
CC_USER, CC_TOKEN = "mbx0000000001", "demo-token"
HEALTHY_IFX, HEALTHY_CC = "healthy", "mbx0000000002"
BAD = {"interfax": "ifx-bad", "concord": "cc-bad"}
USER = {"interfax": IFX_USER, "concord": CC_USER}
BAD_POLL = 0.01
TIMEOUT = 2.0
"""Seconds the bad accounts wait for an answer: the hang and slow faults must outlast it, yet a
healthy answer through the relay on a loaded 2-core machine must not (0.3 s flaked there)."""
TIMED_OUT = rf"^{{host}}: timed out after {TIMEOUT:g} s$"
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> TestCerts:
    return TestCerts(tmp_path_factory.mktemp("certs"))


# --- the faults ----------------------------------------------------------------------------------


@dataclass
class Row:
    """One running set-up: the simulator, a relay per service, the resolver table."""

    sim: SimServer
    gates: dict[str, HostileServer]
    backend: HostsBackend
    certs: TestCerts
    service: str
    fault_ids: list[str] = field(default_factory=list)

    @property
    def gate(self) -> HostileServer:
        return self.gates[self.service]

    def sim_fault(self, kind: str) -> None:
        self.fault_ids.append(self.sim.faults.add(f"{self.service}@{USER[self.service]}:{kind}"))

    def clear_sim_faults(self) -> None:
        for fault_id in self.fault_ids:
            self.sim.faults.remove(fault_id)


@dataclass(frozen=True)
class Fault:
    name: str
    health: Health
    message: str
    """A regex the one-line `last_error` must match (`{acc}` = the account, `{host}` = host:port)."""
    inject: Callable[[Row], None]
    clear: Callable[[Row], None]
    hold: float = 0.0
    """Seconds the service asked us to wait (rate limits): the backoff is at least this."""
    tls: bool = False
    dns: bool = False


def _sim(kind: str) -> tuple[Callable[[Row], None], Callable[[Row], None]]:
    return (lambda row: row.sim_fault(kind)), (lambda row: row.clear_sim_faults())


def _hang(row: Row) -> None:
    row.gate.hang_all = True
    row.gate.cut()  # kept-alive connections too: every request meets the hang


def _unhang(row: Row) -> None:
    row.gate.hang_all = False


def _dns_name(service: str) -> str:
    return f"fax-{service}.faxtui-test.invalid"


def _forget_name(row: Row) -> None:
    row.backend.hosts.pop(_dns_name(row.service))
    row.gate.cut()  # kept-alive connections too: the next request must resolve the name again


COMMON = [
    Fault("connection refused", Health.UNREACHABLE, r"^{host}: connection refused$",
          lambda row: row.gate.close_listener(), lambda row: row.gate.reopen()),
    Fault("DNS failure", Health.UNREACHABLE, r"^{dns}:\d+: DNS failure$",
          lambda row: _forget_name(row),
          lambda row: row.backend.hosts.update({_dns_name(row.service): "127.0.0.1"}), dns=True),
    Fault("TLS error", Health.UNREACHABLE, r"^{host}: TLS error$",
          lambda row: row.gate.set_tls(row.certs.server_context(self_signed=True)),
          lambda row: row.gate.set_tls(row.certs.server_context()), tls=True),
    Fault("timeout (no answer)", Health.UNREACHABLE, TIMED_OUT, _hang, _unhang),
    Fault("slow answer after the timeout", Health.UNREACHABLE, TIMED_OUT, *_sim(f"slow={2 * TIMEOUT:g}")),
    Fault("connection dropped mid-body", Health.UNREACHABLE, r"^{host}: connection dropped$",
          *_sim("drop_mid")),
    Fault("HTTP 500 with a SOAP Fault", Health.ERROR,
          r"^SOAP fault (soap|SOAP-ENV):Server \(HTTP 500\): .*[Ss]imulated server failure",
          *_sim("http500")),
    Fault("HTTP 502", Health.ERROR, r"^HTTP 502 from {host}$", *_sim("http502")),
    Fault("HTTP 503", Health.ERROR, r"^HTTP 503 from {host}$", *_sim("http503")),
    Fault("HTTP 429", Health.RATE_LIMITED,
          r"^rate limited by {host} for account {acc} \(HTTP 429, retry after 1 s\)$", *_sim("http429=1"),
          hold=1.0),
    Fault("truncated body", Health.ERROR, r"^malformed XML in response \(.+\)$", *_sim("truncate")),
    Fault("malformed XML", Health.ERROR, r"^malformed XML in response \(.+\)$", *_sim("malformed")),
    Fault("wrong content type", Health.ERROR, r"^{host} answered with content type 'text/html', not XML$",
          *_sim("html")),
]
INTERFAX_ONLY = [
    Fault("wrong operation", Health.ERROR,
          r"^expected FaxStatusExResponse in the SOAP Body, got FaxQueryResponse$", *_sim("wrong_op")),
    Fault("ResultCode -1003", Health.AUTH_FAILED,
          r"^authentication failed for account {acc} \(InterFax -1003: .+\)$", *_sim("result=-1003")),
    Fault("ResultCode -1011", Health.RATE_LIMITED, r"^rate limited for account {acc} \(InterFax -1011: .+\)$",
          *_sim("result=-1011"), hold=61.0),
    Fault("ResultCode -150", Health.ERROR, r"^InterFax -150: .+ \(account {acc}\)$", *_sim("result=-150")),
]
CONCORD_ONLY = [
    Fault("wrong operation", Health.ERROR,
          r"^expected RealTimeFaxStatusExResponse in the SOAP Body, got FaxStatusResponse$",
          *_sim("wrong_op")),
    Fault("return=false", Health.ERROR, r"^Concord error -2: Simulated failure \(account {acc}\)$",
          *_sim("false")),
]
MATRIX = [("interfax", f) for f in COMMON + INTERFAX_ONLY] + [("concord", f) for f in COMMON + CONCORD_ONLY]


# --- set-up --------------------------------------------------------------------------------------


def make_world(clock: SkewClock, **options: Any) -> World:
    world = World(SimOptions(seed=5, **options), clock)
    world.add_interfax_account(HEALTHY_IFX, "healthy-pass", jobs=20)
    world.add_concord_account(HEALTHY_CC, "pin-2", jobs=10, token="healthy-token")
    return world


def accounts(sim: SimServer, gates: dict[str, HostileServer], fault: Fault | None,
             service: str | None) -> list[AccountConfig]:
    def endpoint(svc: str, path: str) -> tuple[str, bool]:
        gate = gates[svc]
        if fault is not None and svc == service and fault.dns:
            return f"http://{_dns_name(svc)}:{gate.port}{path}", True  # plain http to a name: allowed here
        return gate.url(path), False

    ifx_url, ifx_insecure = endpoint("interfax", "/dfs.asmx")
    cc_url, cc_insecure = endpoint("concord", "/fax/v5")
    return [
        AccountConfig(name="ifx-bad", service="interfax", endpoint=ifx_url, poll_seconds=BAD_POLL,
                      username=IFX_USER, password=SecretRef(value=IFX_PASSWORD), timeout_seconds=TIMEOUT,
                      allow_insecure=ifx_insecure),
        AccountConfig(name="ifx-ok", service="interfax", endpoint=sim.interfax_url, poll_seconds=10,
                      username=HEALTHY_IFX, password=SecretRef(value="healthy-pass")),
        AccountConfig(name="cc-bad", service="concord", endpoint=cc_url, poll_seconds=BAD_POLL,
                      user_id=CC_USER, token=SecretRef(value=CC_TOKEN), timeout_seconds=TIMEOUT,
                      allow_insecure=cc_insecure),
        AccountConfig(name="cc-ok", service="concord", endpoint=sim.concord_url, poll_seconds=10,
                      user_id=HEALTHY_CC, token=SecretRef(value="healthy-token")),
    ]


@pytest.fixture
def clock() -> SkewClock:
    return SkewClock(START)


@pytest.fixture
async def backend_and_http(certs: TestCerts) -> AsyncIterator[tuple[HostsBackend, httpx.AsyncClient]]:
    backend = HostsBackend()
    async with http_client(certs, backend) as client:
        yield backend, client


@pytest.fixture
def sim(clock: SkewClock) -> Iterator[SimServer]:
    with SimServer(world=make_world(clock)) as server:
        yield server


def watch_concord(poller: Poller, sim: SimServer) -> None:
    for job_id in sim.world.concord_job_ids(CC_USER)[:3]:
        poller.add_watch("cc-bad", job_id)
    for job_id in sim.world.concord_job_ids(HEALTHY_CC)[:3]:
        poller.add_watch("cc-ok", job_id)


def jobs_of(poller: Poller, account: str) -> dict[tuple[str, str], FaxJob]:
    return {k: v for k, v in poller.jobs.items() if k[0] == account}


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for `condition`; `timeout` only bounds a hang (it is not what the test measures)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


# --- the matrix ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("service", "fault"), MATRIX, ids=[f"{s}-{f.name}" for s, f in MATRIX])
async def test_fault_is_shown_survived_and_recovered_from(
    service: str, fault: Fault, sim: SimServer, clock: SkewClock, certs: TestCerts, tmp_path: Path,
    backend_and_http: tuple[HostsBackend, httpx.AsyncClient],
) -> None:
    backend, http = backend_and_http
    gates = {svc: HostileServer(relay_to=sim.port, tls=certs.server_context() if fault.tls and svc == service
                                else None).start() for svc in ("interfax", "concord")}
    backend.hosts = {_dns_name(svc): "127.0.0.1" for svc in gates}
    row = Row(sim, gates, backend, certs, service)
    bad = BAD[service]
    events: list[PollerEvent] = []
    config = Config(path=tmp_path / "config.toml", ui=UIConfig(),
                    accounts=tuple(accounts(sim, gates, fault, service)))
    store = Store.open(tmp_path / "data")
    poller = Poller(config, store, emit=events.append, http=http, now=clock.now, monotonic=clock.mono,
                    wall=clock.wall, jitter=lambda: 0.5)
    try:
        watch_concord(poller, sim)
        await poller.poll_once()
        assert {n: s.health for n, s in poller.statuses.items()} == dict.fromkeys(poller.statuses, Health.OK)
        known = jobs_of(poller, bad)
        assert known

        fault.inject(row)
        host = rf"127\.0\.0\.1:{gates[service].port}"
        expected = re.compile(fault.message.format(acc=bad, host=host, dns=re.escape(_dns_name(service))))
        delays: list[float] = []
        for _ in range(3):
            clock.advance(delays[-1] if delays else 0.0)
            before = {n: s.last_good_poll for n, s in poller.statuses.items()}
            await poller.poll_once()
            status = poller.statuses[bad]
            assert status.health is fault.health
            assert status.last_error is not None and expected.search(status.last_error), status.last_error
            assert not CONTROL.search(status.last_error)
            assert jobs_of(poller, bad) == known  # the last known jobs stay
            for name, other in poller.statuses.items():
                if name != bad:  # everyone else keeps updating
                    assert other.health is Health.OK, (name, other.last_error)
                    previous = before[name]
                    assert previous is not None and other.last_good_poll is not None
                    assert other.last_good_poll > previous
            assert status.retry_at is not None
            failed_at = [e.at for e in events if isinstance(e, AccountUpdated) and e.status.name == bad][-1]
            delays.append((status.retry_at - failed_at).total_seconds())
        if fault.hold:
            assert all(d >= fault.hold - 0.05 for d in delays)  # never before the service allows
            assert all(later >= earlier - 0.01 for earlier, later in itertools.pairwise(delays))
        else:
            assert delays[0] < delays[1] < delays[2]
        clock.advance(1)  # past 3 poll intervals of the faulted account, well within the healthy ones'
        assert poller.is_stale(bad)
        assert not any(poller.is_stale(n) for n in ("ifx-ok", "cc-ok"))
        clock.advance(61)  # and any rate window passes

        # The running poller keeps failing while the fault lasts, and recovers by itself once it ends.
        failures = poller.statuses[bad].consecutive_failures
        task = asyncio.create_task(poller.run())
        try:
            await until(lambda: poller.statuses[bad].consecutive_failures > failures)
            assert poller.statuses[bad].health is fault.health
            fault.clear(row)
            if fault.hold > 10:
                # The failure above held the budget for the service's window again. Jump past it, and
                # wake the loop from the real-time sleep it began before the jump.
                clock.advance(fault.hold + 1)
                poller.refresh(bad)
            await until(lambda: poller.statuses[bad].health is Health.OK)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()  # the poller was still running: the fault never made it give up
        status = poller.statuses[bad]
        assert status.last_error is None and status.retry_at is None and not poller.is_stale(bad)
        assert any(isinstance(e, AccountUpdated) and e.recovered and e.status.name == bad for e in events)
        assert set(jobs_of(poller, bad)) >= set(known)
        assert sim.stats.snapshot()["rate_limited"] == 0  # the simulator never had to say -1011 itself
        assert store.load_account_states()[bad] == (status.last_good_poll, None)
    finally:
        await poller.aclose()
        store.close()
        for gate in gates.values():
            gate.stop()


# --- not found: per job, not per account -------------------------------------------------------


@pytest.mark.parametrize("placement", ["item", "item_error", "call"])
async def test_unknown_concord_ids_are_not_found_jobs_and_the_account_stays_ok(
    placement: str, clock: SkewClock, tmp_path: Path
) -> None:
    world = make_world(clock, concord_not_found=placement)
    with SimServer(world=world) as sim:
        config = Config(path=tmp_path / "config.toml", ui=UIConfig(), accounts=(
            AccountConfig(name="cc", service="concord", endpoint=sim.concord_url, poll_seconds=5,
                          user_id=CC_USER, token=SecretRef(value=CC_TOKEN)),
        ))
        with Store.open(tmp_path / "data") as store:
            poller = Poller(config, store, now=clock.now, monotonic=clock.mono, wall=clock.wall)
            real = sim.world.concord_job_ids(CC_USER)[0]
            for lookup in (real, "br001h0000000001", "JRI-NO-SUCH-REFERENCE"):
                poller.add_watch("cc", lookup)
            for _ in range(2):
                await poller.poll_once()
                status = poller.statuses["cc"]
                assert status.health is Health.OK and status.last_error is None
                entries = {w.lookup_id: poller.watched_job(w) for w in poller.watch_list()}
                found = entries[real]
                assert found is not None and found.state is not JobState.NOT_FOUND
                for missing in ("br001h0000000001", "JRI-NO-SUCH-REFERENCE"):
                    job = entries[missing]
                    assert job is not None and job.state is JobState.NOT_FOUND
                    assert job.status_code == -5019 and job.status_text == "Invalid Job ID"
            await poller.aclose()


# --- a look-up that fails -----------------------------------------------------------------------


async def test_a_failed_look_up_never_costs_the_page(tmp_path: Path) -> None:
    """Look-ups of watched ids that fell off the first page are extras: when one fails, the page that
    was already read is still shown and the account stays OK; the id is asked again later."""
    page = (b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
            b'<soap:Body><FaxStatusExResponse xmlns="http://www.interfax.cc"><FaxStatusExResult>'
            + b"".join(
                b"<FaxItemEx><ParentTransactionID>%d</ParentTransactionID><TransactionID>%d</TransactionID>"
                b"<Status>-2</Status><PagesSent>0</PagesSent><Duration>0</Duration><PagesSubmitted>1"
                b"</PagesSubmitted><Priority>1</Priority><Units>0</Units><CostPerUnit>0</CostPerUnit>"
                b"<RetriesToPerform>3</RetriesToPerform><TrialsPerformed>0</TrialsPerformed></FaxItemEx>"
                % (tid, tid) for tid in (300, 301, 302))
            + b"</FaxStatusExResult><TotalCount>4</TotalCount><ListSize>3</ListSize>"
            b"<ResultCode>0</ResultCode></FaxStatusExResponse></soap:Body></soap:Envelope>")
    fault = (b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
             b"<soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>busy</faultstring>"
             b"</soap:Fault></soap:Body></soap:Envelope>")

    def answer(request: Request) -> Answer:
        first_page = b"<LastTransactionID>2147483647</LastTransactionID>" in request.body
        return Answer(200, page) if first_page else Answer(500, fault)

    with HostileServer(answer) as server, Store.open(tmp_path / "data") as store:
        config = Config(path=tmp_path / "config.toml", ui=UIConfig(), accounts=(
            AccountConfig(name="ifx", service="interfax", endpoint=server.url("/dfs.asmx"), poll_seconds=20,
                          username="ops", password=SecretRef(value="pw")),
        ))
        poller = Poller(config, store)
        poller.add_watch("ifx", "17")
        for _ in range(2):
            await poller.poll_once()
            status = poller.statuses["ifx"]
            assert status.health is Health.OK and status.last_error is None
            assert {k[1] for k in poller.jobs} == {"300", "301", "302"}
        await poller.aclose()
    asked = [r for r in server.requests if b"<LastTransactionID>18</LastTransactionID>" in r.body]
    assert len(asked) == 2  # tried at each poll, never given up on
