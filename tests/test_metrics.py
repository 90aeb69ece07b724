"""`faxtui.metrics`: what a Prometheus server scraping `faxtui poll --metrics` gets, over real HTTP on
loopback, from a fake poller whose state the tests change between scrapes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
from factories import concord_job, interfax_job
from prometheus_client.parser import text_string_to_metric_families

from faxtui import __version__
from faxtui.metrics import MetricsServer, MetricsSource, parse_address, start_metrics
from faxtui.model import AccountStatus, FaxJob, Health, JobState

GOOD = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SECRET = "hunter2-Xq9"


@dataclass
class FakePoller:
    """The members of the Poller the metrics read."""

    statuses: dict[str, AccountStatus] = field(default_factory=dict)
    jobs: dict[tuple[str, str], FaxJob] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)

    def holds_lease(self, account: str) -> bool:
        return account in self.held


@dataclass
class FullPoller(FakePoller):
    """A poller that also counts its polls by result and knows its rate windows."""

    poll_results: dict[str, dict[str, int]] = field(default_factory=dict)

    def window_calls(self, account: str) -> tuple[int, int] | None:
        return (4, 6) if account == "ifx" else None


def team_poller(poller: FakePoller) -> FakePoller:
    """ifx (InterFax) polled well by this process; cc (Concord) failing, polled by another one."""
    poller.statuses["ifx"] = AccountStatus("ifx", "interfax", Health.OK, last_good_poll=GOOD, latency_ms=41.5,
                                           calls_made=17)
    poller.statuses["cc"] = AccountStatus("cc", "concord", Health.AUTH_FAILED,
                                          last_error=f"token rejected (client_secret={SECRET})",
                                          consecutive_failures=3, warning=f"password {SECRET}")
    for job in (interfax_job(1, JobState.SENDING, account="ifx"), interfax_job(2, account="ifx"),
                interfax_job(3, account="ifx"), concord_job(account="cc")):
        poller.jobs[job.account, job.job_id] = job
    poller.held.add("ifx")
    return poller


@pytest.fixture
def server() -> Iterator[tuple[MetricsServer, FakePoller]]:
    poller = team_poller(FakePoller())
    served = start_metrics("127.0.0.1:0", poller)
    try:
        yield served, poller
    finally:
        served.close()


def scrape(server: MetricsServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics: {(sample name, sorted labels): value}, the text parsed as Prometheus does."""
    answer = httpx.get(server.url, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_a_scrape_shows_each_accounts_health_polls_and_jobs(server: tuple[MetricsServer, FakePoller]) -> None:
    served, _ = server
    assert served.port > 0 and served.url == f"http://127.0.0.1:{served.port}/metrics"
    m = scrape(served)
    assert m["faxtui_build_info", (("version", __version__),)] == 1
    assert m["faxtui_account_up", (("account", "ifx"), ("service", "interfax"))] == 1
    assert m["faxtui_account_up", (("account", "cc"), ("service", "concord"))] == 0
    assert m["faxtui_account_health", (("account", "cc"), ("health", "auth_failed"))] == 1
    assert m["faxtui_account_health", (("account", "cc"), ("health", "ok"))] == 0
    assert m["faxtui_account_last_good_poll_timestamp_seconds", (("account", "ifx"),)] == GOOD.timestamp()
    assert ("faxtui_account_last_good_poll_timestamp_seconds", (("account", "cc"),)) not in m  # never
    assert m["faxtui_account_last_poll_duration_seconds", (("account", "ifx"),)] == pytest.approx(0.0415)
    assert m["faxtui_account_consecutive_failures", (("account", "cc"),)] == 3
    assert m["faxtui_account_calls_total", (("account", "ifx"),)] == 17
    assert m["faxtui_account_polling", (("account", "ifx"),)] == 1
    assert m["faxtui_account_polling", (("account", "cc"),)] == 0  # another process holds its lease
    assert m["faxtui_jobs", (("account", "ifx"), ("state", "delivered"))] == 2
    assert m["faxtui_jobs", (("account", "ifx"), ("state", "sending"))] == 1
    assert m["faxtui_jobs", (("account", "ifx"), ("state", "failed"))] == 0  # every state, zeros included
    assert m["faxtui_jobs", (("account", "cc"), ("state", "failed"))] == 1
    assert all(name.startswith("faxtui_") for name, _ in m)
    assert not any(name.startswith("faxtui_account_polls") or "window" in name for name, _ in m)


def test_values_are_read_at_each_scrape(server: tuple[MetricsServer, FakePoller]) -> None:
    served, poller = server
    scrape(served)
    poller.statuses["cc"].health = Health.OK
    poller.statuses["cc"].consecutive_failures = 0
    poller.held = {"cc"}  # this process took cc's lease and lost ifx's
    job = interfax_job(1, JobState.DELIVERED, account="ifx")
    poller.jobs[job.account, job.job_id] = job
    m = scrape(served)
    assert m["faxtui_account_up", (("account", "cc"), ("service", "concord"))] == 1
    assert m["faxtui_account_consecutive_failures", (("account", "cc"),)] == 0
    assert m["faxtui_account_polling", (("account", "cc"),)] == 1
    assert m["faxtui_account_polling", (("account", "ifx"),)] == 0
    assert m["faxtui_jobs", (("account", "ifx"), ("state", "delivered"))] == 3
    assert m["faxtui_jobs", (("account", "ifx"), ("state", "sending"))] == 0


def test_no_secret_and_no_error_text_reaches_the_metrics(server: tuple[MetricsServer, FakePoller]) -> None:
    served, _ = server
    text = httpx.get(served.url, timeout=10).text
    assert SECRET not in text and "token rejected" not in text
    families = text_string_to_metric_families(text)
    labels = {name for family in families for sample in family.samples for name in sample.labels}
    assert labels <= {"account", "service", "state", "health", "version"}


def test_polls_by_result_and_the_rate_window_when_the_poller_tells_them() -> None:
    poller = team_poller(FullPoller())
    assert isinstance(poller, FullPoller)
    poller.poll_results = {"ifx": {"ok": 40, "rate_limited": 1}, "cc": {"auth_failed": 3}}
    with start_metrics("127.0.0.1:0", poller) as served:
        m = scrape(served)
    assert m["faxtui_account_polls_total", (("account", "ifx"), ("result", "ok"))] == 40
    assert m["faxtui_account_polls_total", (("account", "ifx"), ("result", "rate_limited"))] == 1
    assert m["faxtui_account_polls_total", (("account", "cc"), ("result", "auth_failed"))] == 3
    assert m["faxtui_account_window_calls", (("account", "ifx"),)] == 4
    assert m["faxtui_account_window_calls_limit", (("account", "ifx"),)] == 6
    assert ("faxtui_account_window_calls", (("account", "cc"),)) not in m  # Concord has no such window


def test_only_the_metrics_path_is_served(server: tuple[MetricsServer, FakePoller]) -> None:
    served, _ = server
    answer = httpx.get(f"http://127.0.0.1:{served.port}/", timeout=10)
    assert answer.status_code == 404 and "/metrics" in answer.text


def test_scrapes_while_the_poller_changes_its_dicts(server: tuple[MetricsServer, FakePoller]) -> None:
    """The poller's loop writes its dicts while the metrics thread reads them: every scrape answers."""
    served, poller = server
    stop = threading.Event()

    def churn() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            if n % 50 == 0:
                time.sleep(0)  # let the scrapes run too
            job = interfax_job(1000 + n % 500, account="ifx")
            poller.jobs[job.account, job.job_id] = job
            if n % 7 == 0:
                poller.jobs.pop(("ifx", str(700_001_000 + (n - 3) % 500)), None)
                poller.statuses[f"extra{n % 5}"] = AccountStatus(f"extra{n % 5}", "interfax")
                poller.statuses.pop(f"extra{(n + 2) % 5}", None)

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        for _ in range(20):
            scrape(served)
    finally:
        stop.set()
        worker.join()


def test_close_stops_the_server_and_its_threads() -> None:
    before = set(threading.enumerate())
    served = start_metrics("127.0.0.1:0", team_poller(FakePoller()))
    scrape(served)
    served.close()
    served.close()  # idempotent
    assert set(threading.enumerate()) <= before  # nothing of ours still runs
    with pytest.raises(httpx.ConnectError):
        httpx.get(served.url, timeout=5)
    with socket.socket() as again:  # the port is free again (its last connection may be in TIME_WAIT)
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", served.port))


@pytest.mark.parametrize(("address", "wanted"), [
    ("nonsense", "bad metrics address 'nonsense': give HOST:PORT, e.g. 127.0.0.1:9464"),
    ("127.0.0.1", "bad metrics address '127.0.0.1': give HOST:PORT"),
    (":9464", "give HOST:PORT"),
    ("127.0.0.1:http", "the port must be a number from 0 to 65535"),
    ("127.0.0.1:70000", "the port must be a number from 0 to 65535"),
    ("::1:9464", "an IPv6 host goes in brackets"),
])
def test_a_bad_address_is_one_clear_line(address: str, wanted: str) -> None:
    with pytest.raises(ValueError, match=r"^bad metrics address") as caught:
        start_metrics(address, FakePoller())
    assert wanted in str(caught.value) and "\n" not in str(caught.value)


def test_an_address_that_cannot_be_bound_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=rf"^cannot serve metrics on 127\.0\.0\.1:{port}: ") as caught:
            start_metrics(f"127.0.0.1:{port}", FakePoller())
    assert "in use" in str(caught.value).lower() and "\n" not in str(caught.value)
    with pytest.raises(OSError, match=r"^cannot serve metrics on no-such-host\.invalid:9464: "):
        start_metrics("no-such-host.invalid:9464", FakePoller())
    with pytest.raises(OSError, match=r"^cannot serve metrics on 192\.0\.2\.1:0: "):  # not this machine's
        start_metrics("192.0.2.1:0", FakePoller())


def test_ipv6_hosts_in_brackets() -> None:
    assert parse_address("[::1]:9464") == ("::1", 9464)
    assert parse_address(" 0.0.0.0:0 ") == ("0.0.0.0", 0)
    try:
        served = start_metrics("[::1]:0", FakePoller())
    except OSError as err:  # a machine without IPv6 loopback: still one line naming the address
        assert str(err).startswith("cannot serve metrics on [::1]:0: ") and "\n" not in str(err)
        return
    with served:
        assert served.url == f"http://[::1]:{served.port}/metrics"
        assert httpx.get(served.url, timeout=10).status_code == 200


def test_the_fake_is_a_metrics_source() -> None:
    source: MetricsSource = FakePoller()  # what mypy checks of the Poller too
    assert source.holds_lease("ifx") is False
