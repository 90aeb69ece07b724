"""Prometheus metrics of a polling process (`faxtui poll --metrics HOST:PORT`, DESIGN §8).

`start_metrics(address, source)` serves Prometheus text at `http://HOST:PORT/metrics` from a thread
of its own; every value is read from `source` when a scrape asks (a custom collector), so nothing
has to be updated as the poller runs. `source` is anything with the `MetricsSource` members (the
`Poller`); two more members are read when it has them (`poll_results`, `window_calls`).

Every name starts with `faxtui_`, units are in the names, counters end in `_total`. Labels are
account names, service names, job states, health and poll results: never an error text, an
endpoint or anything else a server or a config could put a secret into.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from socketserver import ThreadingMixIn
from typing import Any, Protocol, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from faxtui import __version__
from faxtui.errors import one_line
from faxtui.model import AccountStatus, FaxJob, Health, JobState

__all__ = ["METRICS_PATH", "MetricsServer", "MetricsSource", "collect", "parse_address", "start_metrics"]

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
UP_HEALTH = frozenset({Health.OK, Health.IDLE})
REQUEST_TIMEOUT_SECONDS = 5.0
"""A scraper that connects and says nothing holds a request thread (and `close`) this long at most."""


class MetricsSource(Protocol):
    """What the metrics are read from, at each scrape (from the server's thread).

    Optional, read when present:
    - `poll_results: Mapping[str, Mapping[str, int]]`: per account, the polls this process made, by
      result (`ok`, `rate_limited`, `auth_failed`, `unreachable`, `error`, ...), since it started;
    - `window_calls(account) -> tuple[int, int] | None`: the calls made in the account's current
      rate window and the window's limit (None: the service has no such window). It must not
      block (no store query): it runs on the metrics thread.
    """

    @property
    def statuses(self) -> Mapping[str, AccountStatus]: ...

    @property
    def jobs(self) -> Mapping[tuple[str, str], FaxJob]: ...

    def holds_lease(self, account: str) -> bool: ...


_T = TypeVar("_T")


def _snapshot(read: Callable[[], Mapping[Any, _T]]) -> list[_T]:
    """The values of a dict another thread may be changing: copied whole (one C-level copy under
    the GIL), tried again in the rare case it changed size meanwhile."""
    for _ in range(10):
        try:
            return list(dict(read()).values())
        except RuntimeError:
            continue
    return []


def collect(source: MetricsSource) -> Iterator[Metric]:
    """Every metric family, read from `source` now."""
    build = GaugeMetricFamily("faxtui_build_info", "The faxtui version serving these metrics (always 1).",
                              labels=["version"])
    build.add_metric([__version__], 1)
    yield build

    statuses = sorted(_snapshot(lambda: source.statuses), key=lambda s: s.name)
    jobs = _snapshot(lambda: source.jobs)

    up = GaugeMetricFamily("faxtui_account_up",
                           "1 when the account's last poll succeeded (health ok or idle).",
                           labels=["account", "service"])
    health = GaugeMetricFamily("faxtui_account_health",
                               "1 for the account's current health, 0 for the others.",
                               labels=["account", "health"])
    good = GaugeMetricFamily("faxtui_account_last_good_poll_timestamp_seconds",
                             "When the account was last polled without error (Unix time).",
                             labels=["account"])
    latency = GaugeMetricFamily("faxtui_account_last_poll_duration_seconds",
                                "How long the account's last good poll took.", labels=["account"])
    failures = GaugeMetricFamily("faxtui_account_consecutive_failures",
                                 "Polls of the account that failed in a row (0 after a good one).",
                                 labels=["account"])
    calls = CounterMetricFamily("faxtui_account_calls", "Service calls this process made for the account.",
                                labels=["account"])
    polling = GaugeMetricFamily("faxtui_account_polling",
                                "1 when this process holds the account's lease and polls it, "
                                "0 when it stands by.",
                                labels=["account"])
    for s in statuses:
        up.add_metric([s.name, str(s.service)], 1 if s.health in UP_HEALTH else 0)
        for h in Health:
            health.add_metric([s.name, h.value], 1 if s.health is h else 0)
        if s.last_good_poll is not None:
            good.add_metric([s.name], s.last_good_poll.timestamp())
        if s.latency_ms is not None:
            latency.add_metric([s.name], s.latency_ms / 1000)
        failures.add_metric([s.name], s.consecutive_failures)
        calls.add_metric([s.name], s.calls_made)
        polling.add_metric([s.name], 1 if source.holds_lease(s.name) else 0)
    yield from (up, health, good, latency, failures, calls, polling)

    counts: dict[tuple[str, JobState], int] = {}
    for job in jobs:
        counts[job.account, job.state] = counts.get((job.account, job.state), 0) + 1
    by_state = GaugeMetricFamily("faxtui_jobs", "Jobs known to this process, by account and state.",
                                 labels=["account", "state"])
    accounts = sorted({s.name for s in statuses} | {account for account, _ in counts})
    for account in accounts:
        for state in JobState:
            by_state.add_metric([account, state.value], counts.get((account, state), 0))
    yield by_state

    yield from _optional(source, [s.name for s in statuses])


def _optional(source: MetricsSource, accounts: Iterable[str]) -> Iterator[Metric]:
    results: Any = getattr(source, "poll_results", None)
    if results is not None:
        polls = CounterMetricFamily("faxtui_account_polls", "Polls this process made, by account and result.",
                                    labels=["account", "result"])
        for account, by_result in sorted(dict(results).items()):
            for result, count in sorted(dict(by_result).items()):
                polls.add_metric([str(account), str(result)], count)
        yield polls
    window_calls: Any = getattr(source, "window_calls", None)
    if callable(window_calls):
        used = GaugeMetricFamily("faxtui_account_window_calls",
                                 "Calls made in the account's current rate-limit window "
                                 "(InterFax: 6 a minute).",
                                 labels=["account"])
        limit = GaugeMetricFamily("faxtui_account_window_calls_limit",
                                  "The calls the account's rate-limit window allows.", labels=["account"])
        for account in accounts:
            answer = window_calls(account)
            if answer is not None:
                made, allowed = answer
                used.add_metric([account], made)
                limit.add_metric([account], allowed)
        yield used
        yield limit


class _Collector(Collector):
    def __init__(self, source: MetricsSource) -> None:
        self._source = source

    def collect(self) -> Iterable[Metric]:
        return list(collect(self._source))

    def describe(self) -> Iterable[Metric]:
        return []  # no scrape at registration: the source may not be ready yet


class _QuietHandler(WSGIRequestHandler):
    """No line on stderr per scrape (the poller's stderr is for notable events)."""

    timeout = REQUEST_TIMEOUT_SECONDS

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics: " + format, *args)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = False
    block_on_close = True  # server_close() waits for the requests being answered: no thread left
    allow_reuse_address = True


def parse_address(address: str) -> tuple[str, int]:
    """"HOST:PORT" (an IPv6 host in brackets: "[::1]:9464"; port 0: any free port) into its parts;
    ValueError, one line, when it is not one."""
    text = address.strip()
    example = "give HOST:PORT, e.g. 127.0.0.1:9464"
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text:
        raise ValueError(one_line(f"bad metrics address {text!r}: {example}"))
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(one_line(f"bad metrics address {text!r}: an IPv6 host goes in brackets, "
                                  "e.g. [::1]:9464"))
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(one_line(f"bad metrics address {text!r}: the port must be a number from 0 to 65535"))
    if not host:
        raise ValueError(one_line(f"bad metrics address {text!r}: {example}"))
    return host, int(port_text)


class MetricsServer:
    """A running metrics endpoint. `close()` stops it and waits for its threads; idempotent."""

    def __init__(self, server: WSGIServer, thread: threading.Thread, host: str) -> None:
        self._server = server
        self._thread = thread
        self._closed = False
        self.host = host
        self.port: int = int(server.server_address[1])
        """The bound port (the one asked for, or the one given for port 0)."""

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{METRICS_PATH}"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _app(registry: CollectorRegistry) -> Callable[..., Iterable[bytes]]:
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in (METRICS_PATH, METRICS_PATH + "/"):
            result: Iterable[bytes] = metrics(environ, start_response)
            return result
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [f"faxtui serves its metrics at {METRICS_PATH}\n".encode()]

    return app


def start_metrics(address: str, source: MetricsSource) -> MetricsServer:
    """Serve `source`'s metrics at http://`address`/metrics (address "HOST:PORT") from a thread.

    A bad address raises ValueError; one that cannot be bound (in use, not this machine's, a
    name that does not resolve) raises OSError; both with a one-line message naming it."""
    host, port = parse_address(address)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as err:
        raise OSError(one_line(f"cannot serve metrics on {address}: {err.strerror or err}")) from None

    class Server(_ThreadingServer):
        address_family = infos[0][0]

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(source))
    try:
        server = make_server(str(infos[0][4][0]), port, _app(registry), Server, handler_class=_QuietHandler)
    except OSError as err:
        raise OSError(one_line(f"cannot serve metrics on {address}: {err.strerror or err}")) from None
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name=f"faxtui-metrics-{server.server_address[1]}", daemon=True)
    thread.start()
    return MetricsServer(server, thread, host)
