"""Per-account polling loops: rate budgets, backoff, staleness, the watch list, typed events.

The poller owns the live picture (`jobs`, `statuses`) and keeps the store in step with it.
It runs on one asyncio loop (the TUI's, or `asyncio.run` for the CLI) and reports through
`emit`, called synchronously on that loop. It never imports Textual.

Nothing a server does, and no bug in a client, ends an account's loop: every failure becomes the
account's health and one-line `last_error` (with the account's secrets replaced by `***`), the
last known jobs stay, and the account retries with exponential backoff. Rate budgets are kept in
the store's call ledger, so they hold across restarts and across processes sharing a data
directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from faxtui.budget import MAX_HOLD, CallBudget, Sleep
from faxtui.clock import utc_now
from faxtui.codes import (
    INTERFAX_ALL_TRANSACTIONS,
    INTERFAX_MAX_ITEMS,
    INTERFAX_STATUS_CALLS_PER_MINUTE,
)
from faxtui.config import AccountConfig, Config, ConfigError, resolve_secret
from faxtui.errors import AuthError, ProviderError, RateLimited, ServiceError, TransportError, one_line
from faxtui.events import AccountUpdated, JobsUpdated, PollerEvent, StateChange, WatchChanged
from faxtui.ids import validate_lookup_id
from faxtui.model import AccountStatus, FaxJob, Health, JobState
from faxtui.providers.concord import DEFAULT_OAUTH_SCOPE, ConcordClient, OAuthTokenProvider
from faxtui.providers.http import Redactor, insecure_endpoint_problem, make_redactor
from faxtui.providers.interfax import InterFaxClient
from faxtui.store import Store, StoreError, Transition, WatchEntry

log = logging.getLogger(__name__)

Emit = Callable[[PollerEvent], None]
Client = InterFaxClient | ConcordClient

INTERFAX_WINDOW = 61.0
"""One second more than the documented minute, so clock skew never tips us over the limit."""
CONCORD_CALLS_PER_MINUTE = 120
"""Concord documents no limit; this keeps faxtui a polite client all the same."""
MAX_BACKOFF = 300.0
STALE_AFTER_POLLS = 3
"""An account whose last good poll is older than this many intervals is shown as stale."""
MAX_JOBS_PER_ACCOUNT = 20_000
"""Most jobs kept per account, in memory and in the store: the oldest finished, unwatched ones go
first, so a monitor left running for weeks stays the same size."""
STORE_PRUNE_SECONDS = 3600.0
"""How often the store's jobs and history tables are trimmed."""


def check_transport_security(acc: AccountConfig) -> None:
    """Refuse a plain-http endpoint or token URL off this machine unless the account allows it.

    `load_config` checks this for files; this repeats it for accounts built in code (the TUI's
    account form, tests), so no path sends credentials unencrypted over a network by accident.
    """
    if acc.allow_insecure:
        return
    for what, url in (("endpoint", acc.endpoint), ("token_url", acc.token_url)):
        problem = insecure_endpoint_problem(url) if url else None
        if problem is not None:
            raise ConfigError(
                f"account {acc.name!r}: {what}: {problem}; use https, or set allow_insecure = true"
            )


async def make_client_with_secrets(acc: AccountConfig, http: httpx.AsyncClient) -> tuple[Client, list[str]]:
    """Build the client of one account, resolving its secrets (which may run a command).

    Also returns the resolved secrets, so whoever reports this account's errors can redact them.
    """
    check_transport_security(acc)
    secrets: list[str] = []

    async def secret(ref: object, what: str) -> str:
        value = await asyncio.to_thread(resolve_secret, ref, what=what, account=acc.name)  # type: ignore[arg-type]
        secrets.append(value)
        return value

    if acc.service == "interfax":
        if acc.username is None or acc.password is None:
            raise ConfigError(f"account {acc.name!r}: username and password are required")
        return InterFaxClient(
            acc.name, acc.endpoint, acc.username, await secret(acc.password, "password"),
            soap_version=acc.soap_version, http=http, timeout=acc.timeout_seconds,
        ), secrets
    if acc.user_id is None:
        raise ConfigError(f"account {acc.name!r}: user_id is required")
    common = {"soap_version": acc.soap_version, "http": http, "timeout": acc.timeout_seconds,
              "batch_size": acc.batch_size, "content_type": acc.content_type}
    if acc.token is not None:
        return ConcordClient(acc.name, acc.endpoint, acc.user_id, token=await secret(acc.token, "token"),
                             **common), secrets  # type: ignore[arg-type]
    if acc.client_secret is not None and acc.token_url and acc.client_id:
        provider = OAuthTokenProvider(
            acc.token_url, acc.client_id, await secret(acc.client_secret, "client_secret"), http=http,
            timeout=acc.timeout_seconds, scope=acc.oauth_scope or DEFAULT_OAUTH_SCOPE,
        )
        return ConcordClient(acc.name, acc.endpoint, acc.user_id, token_provider=provider,
                             **common), secrets  # type: ignore[arg-type]
    if acc.pin is not None:
        return ConcordClient(acc.name, acc.endpoint, acc.user_id, pin=await secret(acc.pin, "pin"),
                             **common), secrets  # type: ignore[arg-type]
    raise ConfigError(f"account {acc.name!r}: no Concord credentials (token, client credentials or pin)")


async def make_client(acc: AccountConfig, http: httpx.AsyncClient) -> Client:
    """Build the client of one account, resolving its secrets (which may run a command)."""
    client, _ = await make_client_with_secrets(acc, http)
    return client


def _secrets_of(client: Client | None) -> list[str]:
    """What a client was built with and must never show (its token provider's tokens included)."""
    if isinstance(client, ConcordClient) and client.token_provider is not None:
        return client.token_provider.secrets()
    return []


def _health_for(error: Exception) -> Health:
    if isinstance(error, AuthError):
        return Health.AUTH_FAILED
    if isinstance(error, RateLimited):
        return Health.RATE_LIMITED
    if isinstance(error, TransportError):
        return Health.UNREACHABLE
    return Health.ERROR


@dataclass(slots=True)
class _Polled:
    """One poll step's result: the jobs read, the calls it made, what it left out (one line each)."""

    jobs: list[FaxJob]
    calls: int
    warnings: list[str]


@dataclass(slots=True)
class _AccountLoop:
    config: AccountConfig
    status: AccountStatus
    budget: CallBudget
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    client: Client | None = None
    secrets: list[str] = field(default_factory=list, repr=False)
    task: asyncio.Task[None] | None = None
    next_due: float = 0.0
    lookups: int = 0
    looked_up: dict[str, float] = field(default_factory=dict)
    """When (in look-ups made) each off-page id was last asked about: the longest ago goes first."""
    confirmed_final: set[str] = field(default_factory=set)

    def redactor(self) -> Redactor:
        return make_redactor([*self.secrets, *_secrets_of(self.client)])


class Poller:
    """The live state of every configured account, kept current by one loop per account."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        emit: Emit | None = None,
        now: Callable[[], datetime] = utc_now,
        http: httpx.AsyncClient | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        wall: Callable[[], float] = time.time,
        clock_speed: float = 1.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """`now` stamps what the user sees, `monotonic` schedules polls, `wall` times the rate
        budgets (it must agree between processes: the budgets are shared through the store).
        Every wait (between polls, for a rate window, while running) goes through `sleep`, so with
        `monotonic`, `wall` and `now` a test can run the whole poller on a fake clock.
        `clock_speed` > 1 shrinks the rate windows for a simulator running faster than real time
        (the soak benchmark); it is 1 for real services."""
        if not clock_speed > 0:
            raise ValueError("clock_speed must be > 0")
        self.config = config
        self.store = store
        self._emit = emit or (lambda event: None)
        self._now = now
        self._monotonic = monotonic
        self._jitter = jitter
        self._wall = wall
        self._sleep = sleep
        self._clock_speed = clock_speed
        self._shared_http = http
        # Without a given client, each account gets its own connection pool (httpcore scans the whole
        # pool on every request), all sharing one TLS context so certificates are loaded once.
        self._account_http: dict[str, httpx.AsyncClient] = {}
        self._tls = httpx.create_ssl_context()
        self._budgets: dict[tuple[str, str, str], CallBudget] = {}
        self._lookup_budgets: dict[int, CallBudget] = {}
        self._loops: dict[str, _AccountLoop] = {}
        self._resume = asyncio.Event()
        self._resume.set()
        self._running = False
        self.paused = False
        self.statuses: dict[str, AccountStatus] = {}
        self.jobs: dict[tuple[str, str], FaxJob] = {}
        self.store_error: str | None = None
        """Why the last write to the state database failed (one line), or None: polling goes on
        without it, but history is not being kept, and the user should be told."""
        self._store_pruned_at: float | None = None
        self._watch: list[WatchEntry] = []
        self._resolved: dict[tuple[str, str], str] = {}
        self._setup(config)
        self._load_state()

    # --- set-up -------------------------------------------------------------------------------

    def budget_for(self, acc: AccountConfig) -> CallBudget:
        """The rate budget an account's calls come out of (shared by accounts of one user, and
        through the store's ledger by every process on this data directory)."""
        user = acc.username if acc.service == "interfax" else acc.user_id
        key = (acc.service, acc.endpoint, user or acc.name)
        if key not in self._budgets:
            if acc.service == "interfax":
                limit, window = INTERFAX_STATUS_CALLS_PER_MINUTE, INTERFAX_WINDOW
            else:
                limit, window = CONCORD_CALLS_PER_MINUTE, 60.0
            self._budgets[key] = CallBudget(
                limit, window / self._clock_speed, clock=self._wall, ledger=self.store, key=key,
                sleep=self._sleep,
            )
        return self._budgets[key]

    def _lookup_budget(self, loop: _AccountLoop) -> CallBudget:
        """The part of an InterFax user's budget that look-ups of watched ids may use.

        The pages every account of that user is scheduled to fetch in one window come first, so
        look-ups never delay the main view; look-ups get what is left, and at least one a window.
        """
        budget = loop.budget
        pages = sum(
            math.ceil(budget.window / max(0.001, other.config.poll_seconds))
            * max(1, other.config.page_depth)
            for other in self._loops.values()
            if other.budget is budget
        )
        share = max(1, budget.limit - pages)
        current = self._lookup_budgets.get(id(budget))
        if current is None or current.limit != share:
            current = CallBudget(share, budget.window, clock=self._wall, sleep=self._sleep)
            self._lookup_budgets[id(budget)] = current
        return current

    def _setup(self, config: Config) -> None:
        self.config = config
        for acc in config.accounts:
            status = self.statuses.get(acc.name) or AccountStatus(acc.name, acc.service)
            status.service = acc.service
            status.paused = self.paused
            self.statuses[acc.name] = status
            self._loops[acc.name] = _AccountLoop(acc, status, self.budget_for(acc))
        # Keep the bar in config order.
        self.statuses = {acc.name: self.statuses[acc.name] for acc in config.accounts}

    def _load_state(self) -> None:
        names = set(self.statuses)
        for job in self.store.load_jobs():
            if job.account in names:
                self.jobs[job.key] = job
                if job.lookup_id:
                    self._resolved[(job.account, job.lookup_id)] = job.job_id
        for name, (last_good, last_error) in self.store.load_account_states().items():
            if name in self.statuses:
                status = self.statuses[name]
                status.last_good_poll = last_good
                status.last_error = last_error
                if last_good is not None:
                    status.health = Health.STALE
        self._watch = self.store.watch_list()
        for acc_name, status in self.statuses.items():
            status.jobs = sum(1 for key in self.jobs if key[0] == acc_name)

    # --- watch list ---------------------------------------------------------------------------

    def watch_list(self) -> list[WatchEntry]:
        return list(self._watch)

    def _watched_ids(self, account: str) -> list[str]:
        return [w.lookup_id for w in self._watch if w.account == account]

    def is_watched(self, job: FaxJob) -> bool:
        ids = set(self._watched_ids(job.account))
        return job.job_id in ids or (job.lookup_id is not None and job.lookup_id in ids)

    def watched_job(self, entry: WatchEntry) -> FaxJob | None:
        job_id = self._resolved.get((entry.account, entry.lookup_id), entry.lookup_id)
        return self.jobs.get((entry.account, job_id))

    def add_watch(self, account: str, lookup_id: str, label: str = "") -> WatchEntry:
        loop = self._loops.get(account)
        if loop is None:
            raise ValueError(f"no account named {one_line(account, 40)!r}")
        value = validate_lookup_id(loop.config.service, lookup_id)
        entry = self.store.add_watch(account, value, label)
        self._watch = self.store.watch_list()
        loop.confirmed_final.discard(value)
        self._emit(WatchChanged(account, value))
        self.refresh(account)
        return entry

    def remove_watch(self, account: str, lookup_id: str) -> bool:
        removed = self.store.remove_watch(account, lookup_id)
        self._watch = self.store.watch_list()
        if removed:
            self._emit(WatchChanged(account, lookup_id))
        return removed

    def set_watch_label(self, account: str, lookup_id: str, label: str) -> bool:
        changed = self.store.set_watch_label(account, lookup_id, label)
        self._watch = self.store.watch_list()
        if changed:
            self._emit(WatchChanged(account, lookup_id))
        return changed

    # --- control ------------------------------------------------------------------------------

    def refresh(self, account: str | None = None) -> None:
        """Poll now, as far as the rate budget allows; repeated presses coalesce into one poll."""
        for name, loop in self._loops.items():
            if account is None or name == account:
                loop.next_due = 0.0
                loop.wake.set()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if paused:
            self._resume.clear()
        else:
            self._resume.set()
        at = self._now()
        for status in self.statuses.values():
            status.paused = paused
            self._emit(AccountUpdated(status, at))

    def reload(self, config: Config) -> None:
        """Apply an edited configuration: removed accounts stop, new or changed ones restart."""
        old = {name: loop.config for name, loop in self._loops.items()}
        for name, loop in list(self._loops.items()):
            new = next((a for a in config.accounts if a.name == name), None)
            if new is None or new != old[name]:
                if loop.task is not None:
                    loop.task.cancel()
                del self._loops[name]
                if new is None:
                    self.statuses.pop(name, None)
                    self.jobs = {k: v for k, v in self.jobs.items() if k[0] != name}
        kept = dict(self._loops)
        self._setup(config)
        for name, loop in kept.items():
            self._loops[name] = loop
        if self._running:
            for loop in self._loops.values():
                if loop.task is None or loop.task.done():
                    loop.task = asyncio.create_task(self._run_account(loop), name=f"poll {loop.config.name}")
        at = self._now()
        for status in self.statuses.values():
            self._emit(AccountUpdated(status, at))

    # --- running ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll every account on its schedule until cancelled."""
        self._running = True
        for loop in self._loops.values():
            loop.task = asyncio.create_task(self._run_account(loop), name=f"poll {loop.config.name}")
        try:
            while True:
                await self._sleep(3600)
        finally:
            self._running = False
            tasks = [loop.task for loop in self._loops.values() if loop.task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def poll_once(self, accounts: Iterable[str] | None = None) -> dict[str, AccountStatus]:
        """One poll of each named (or every) account, concurrently; for `faxtui status`."""
        names = list(accounts) if accounts is not None else list(self._loops)
        unknown = [n for n in names if n not in self._loops]
        if unknown:
            raise ConfigError(f"no account named {unknown[0]!r}")
        await asyncio.gather(*(self._poll(self._loops[n]) for n in names))
        return {n: self.statuses[n] for n in names}

    async def aclose(self) -> None:
        for loop in self._loops.values():
            if loop.task is not None:
                loop.task.cancel()
        clients, self._account_http = list(self._account_http.values()), {}
        for client in clients:
            await client.aclose()

    def _http_for(self, account: str) -> httpx.AsyncClient:
        if self._shared_http is not None:
            return self._shared_http
        client = self._account_http.get(account)
        if client is None:
            client = httpx.AsyncClient(verify=self._tls, follow_redirects=False)
            self._account_http[account] = client
        return client

    async def _run_account(self, loop: _AccountLoop) -> None:
        while True:
            await self._resume.wait()
            delay = loop.next_due - self._monotonic()
            if delay > 0:
                await self._sleep_or_wake(loop, delay)
                continue
            try:
                await self._poll(loop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._survive(loop, exc)

    async def _sleep_or_wake(self, loop: _AccountLoop, delay: float) -> None:
        """Wait `delay` seconds (through `sleep`), or less if `refresh` wakes the loop."""
        loop.wake.clear()
        sleeper = asyncio.ensure_future(self._sleep(delay))
        woken = asyncio.ensure_future(loop.wake.wait())
        try:
            await asyncio.wait((sleeper, woken), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            woken.cancel()

    def _survive(self, loop: _AccountLoop, exc: Exception) -> None:
        """Something outside the call failed (the store, an event handler): record it and back off."""
        message = loop.redactor()(one_line(f"internal error: {type(exc).__name__}: {exc}"))
        log.error("account %s: %s", loop.config.name, message)
        status = loop.status
        status.consecutive_failures += 1
        status.health = Health.ERROR
        status.last_error = message
        self._schedule(loop, ok=False)
        with contextlib.suppress(Exception):
            self._emit(AccountUpdated(status, self._now(), failed=status.consecutive_failures == 1))

    def _schedule(self, loop: _AccountLoop, ok: bool, min_delay: float = 0.0) -> None:
        interval = loop.config.poll_seconds
        if ok:
            delay = interval
        else:
            failures = max(1, loop.status.consecutive_failures)
            delay = min(MAX_BACKOFF, interval * 2 ** (failures - 1))
            delay *= 0.8 + 0.4 * self._jitter()
        delay = max(delay, min_delay)
        loop.next_due = self._monotonic() + delay
        loop.status.retry_at = None if ok else self._now() + timedelta(seconds=delay)

    # --- one poll -----------------------------------------------------------------------------

    async def _poll(self, loop: _AccountLoop) -> None:
        status = loop.status
        status.last_attempt = self._now()
        started = self._monotonic()
        try:
            if loop.client is None:
                http = self._http_for(loop.config.name)
                loop.client, loop.secrets = await make_client_with_secrets(loop.config, http)
            if isinstance(loop.client, InterFaxClient):
                polled = await self._poll_interfax(loop, loop.client)
            else:
                polled = await self._poll_concord(loop, loop.client)
        except (ProviderError, ConfigError) as exc:
            self._failed(loop, exc)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must show, not kill the loop
            self._failed(loop, ProviderError(f"unexpected {type(exc).__name__}: {exc}"))
            return
        if polled.calls == 0:
            status.health = Health.IDLE if not self.paused else status.health
            status.last_error = None
            status.warning = None
            self._schedule(loop, ok=True)
            self._emit(AccountUpdated(status, self._now()))
            return
        latency_ms = (self._monotonic() - started) * 1000 / max(1, polled.calls)
        self._succeeded(loop, polled, latency_ms)

    async def _poll_interfax(self, loop: _AccountLoop, client: InterFaxClient) -> _Polled:
        jobs: dict[str, FaxJob] = {}
        warnings: list[str] = []
        calls = 0
        last_id = INTERFAX_ALL_TRANSACTIONS
        listed = 0
        total: int | None = None
        listed_all = False
        for _ in range(max(1, loop.config.page_depth)):
            await loop.budget.acquire()
            calls += 1
            page = await client.status_page(last_id, INTERFAX_MAX_ITEMS)
            for job in page.jobs:
                jobs[job.job_id] = job
            warnings.extend(page.warnings)
            size = max(page.items, len(page.jobs))  # items held, readable or not
            listed += size
            # The first page's count: a fax sent while paging is in a later count, not in any page.
            total = page.total_count if total is None else total
            if size < INTERFAX_MAX_ITEMS:
                listed_all = True  # the short page is the last: everything below the start is listed
                break
            if not page.jobs:
                break  # a full page of unreadable items: nothing to page on
            lowest = min(int(j.job_id) for j in page.jobs)
            if lowest >= last_id:
                # The page did not move below the id asked for: the server ignores LastTransactionID
                # and would answer the same page again. Stop rather than spend the budget on repeats.
                log.debug("account %s: page below %d began at %d; paging stopped", loop.config.name,
                          last_id, lowest)
                warnings.append(f"paging stopped: the page below id {last_id} began at {lowest}")
                break
            last_id = lowest
        if listed_all and total is not None and total > listed:
            warnings.append(f"InterFax counts {total} faxes for this user, its pages listed {listed}: "
                            f"{total - listed} cannot be shown")
        # Jobs that fell off the pages, one call each, only while the look-up share of the budget has
        # room: watched ids first, then jobs last seen in progress (else they would show as sending
        # for ever); within each, the one asked about longest ago (or never) first, so none starves.
        # Look-ups are extras: one that fails ends the look-ups, never the page already read.
        name = loop.config.name
        watched = [i for i in self._watched_ids(name) if i not in jobs and i not in loop.confirmed_final]
        stale = sorted(
            (key[1] for key, job in self.jobs.items()
             if key[0] == name and job.state.is_active and key[1] not in jobs
             and key[1] not in loop.confirmed_final and key[1] not in watched),
            key=int, reverse=True,
        )
        asked = loop.looked_up
        for gone in set(asked) - set(watched) - set(stale):
            del asked[gone]
        if watched or stale:
            share = self._lookup_budget(loop)
            order = [(tid, True) for tid in sorted(watched, key=lambda t: asked.get(t, -1.0))]
            order += [(tid, False) for tid in sorted(stale, key=lambda t: asked.get(t, -1.0))]
            done: set[str] = set()
            for tid, is_watched in order:
                if share.available() <= 0 or not loop.budget.try_acquire():
                    break
                share.try_acquire()
                calls += 1
                loop.lookups += 1
                asked[tid] = float(loop.lookups)
                try:
                    found = await client.lookup(int(tid))
                except RateLimited as exc:
                    loop.budget.exhaust(exc.retry_after)
                    break
                except ProviderError as exc:
                    log.debug("account %s: look-up of %s failed: %s", name, tid, exc)
                    break
                if found is not None:
                    jobs[found.job_id] = found
                    if found.state.is_final:
                        done.add(tid)
                elif not is_watched:
                    done.add(tid)  # gone from the service: stop asking
            loop.confirmed_final |= done
        return _Polled(list(jobs.values()), calls, warnings)

    async def _poll_concord(self, loop: _AccountLoop, client: ConcordClient) -> _Polled:
        name = loop.config.name
        ids: list[str] = []
        for lookup in self._watched_ids(name):
            if lookup in loop.confirmed_final:
                continue
            ids.append(lookup)
        if not ids:
            return _Polled([], 0, [])
        batches = len(client.plan_batches(ids))
        for _ in range(batches):
            await loop.budget.acquire()
        result = await client.status(ids)
        # Splitting a batch around an invalid id, or a token retry, costs calls nobody asked for.
        loop.budget.charge(result.calls - batches)
        jobs = list(result.jobs)
        for job in jobs:
            previous = self.jobs.get(job.key)
            # A br id whose final state was already seen once is confirmed: stop asking for it.
            if (
                job.lookup_id is None
                and not job.job_id.upper().startswith("JRI-")  # a reference may yet be used: keep asking
                and (job.state.is_final or job.state is JobState.NOT_FOUND)
                and previous is not None
                and previous.state == job.state
            ):
                loop.confirmed_final.add(job.job_id)
        return _Polled(jobs, result.calls, list(result.warnings))

    def _succeeded(self, loop: _AccountLoop, polled: _Polled, latency_ms: float) -> None:
        jobs, calls = polled.jobs, polled.calls
        status = loop.status
        now = self._now()
        recovered = status.consecutive_failures > 0
        changes: list[StateChange] = []
        changed_jobs: list[FaxJob] = []
        new_jobs = 0
        for job in jobs:
            old = self.jobs.get(job.key)
            if job.lookup_id:
                self._resolved[(job.account, job.lookup_id)] = job.job_id
            if old is not None and job.lookup_id is None and old.lookup_id is not None:
                job = job.with_lookup(old.lookup_id)
            if old == job:
                # Only the tracking headers differ: keep the newest answer's, but nothing to save.
                self.jobs[job.key] = job
                continue
            changed_jobs.append(job)
            self.jobs[job.key] = job
            new_jobs += old is None
            if old is None or not old.same_status(job):
                changes.append(StateChange(job, old, now))
        self._remember(loop, changed_jobs, changes, now)
        status.health = Health.OK
        status.last_good_poll = now
        status.latency_ms = latency_ms
        status.last_error = None
        # What the answers left out or reported without failing: one line, redacted, shown as the
        # account's warning until a poll without one.
        status.warning = loop.redactor()(one_line("; ".join(dict.fromkeys(polled.warnings)))) or None
        status.consecutive_failures = 0
        status.calls_made += calls
        if new_jobs or not status.jobs:  # jobs are only added here: no new one, the same count
            status.jobs = sum(1 for key in self.jobs if key[0] == loop.config.name)
        if status.jobs > MAX_JOBS_PER_ACCOUNT:
            status.jobs = self._forget_old_jobs(loop.config.name, {job.job_id for job in jobs})
        self._schedule(loop, ok=True)
        self._emit(JobsUpdated(loop.config.name, tuple(jobs), tuple(changes), now))
        self._emit(AccountUpdated(status, now, recovered=recovered))

    def _forget_old_jobs(self, account: str, current: set[str]) -> int:
        """Drop the account's oldest jobs from memory (finished ones first), down to 90% of the cap,
        keeping the watched ones and those the service just reported (`current`); returns how many
        are kept. (The store is trimmed on its own schedule.)"""
        keys = [key for key in self.jobs if key[0] == account]  # oldest first: the order they were seen
        keep = current | set(self._watched_ids(account)) | {
            self._resolved.get((account, lookup), lookup) for lookup in self._watched_ids(account)
        }
        excess = len(keys) - int(MAX_JOBS_PER_ACCOUNT * 0.9)
        for finished_only in (True, False):  # finished ones first; then those not heard of for longest
            for key in keys:
                if excess <= 0:
                    break
                job = self.jobs.get(key)
                if job is not None and key[1] not in keep and (job.state.is_final or not finished_only):
                    del self.jobs[key]
                    excess -= 1
        return sum(1 for key in self.jobs if key[0] == account)

    def _remember(
        self, loop: _AccountLoop, jobs: Sequence[FaxJob], changes: Sequence[StateChange], now: datetime
    ) -> None:
        """Write a good poll to the store. The screen must not freeze because the disk is full or the
        database is locked: a failure here is logged and kept in `store_error`, and polling goes on."""
        try:
            if jobs:
                self.store.save_jobs(jobs, now)
            if changes:
                self.store.record_transitions([Transition.from_change(c) for c in changes])
            self.store.save_account_state(loop.config.name, now, None, now)
            clock = self._monotonic()
            if self._store_pruned_at is None or clock - self._store_pruned_at > STORE_PRUNE_SECONDS:
                self._store_pruned_at = clock
                self.store.prune_jobs(MAX_JOBS_PER_ACCOUNT)
                self.store.prune_history()
        except StoreError as err:
            if self.store_error is None:
                log.warning("state not saved: %s", err)
            self.store_error = one_line(f"state not saved: {err}")
        else:
            self.store_error = None

    def _failed(self, loop: _AccountLoop, error: Exception) -> None:
        status = loop.status
        now = self._now()
        first = status.consecutive_failures == 0
        status.consecutive_failures += 1
        status.health = _health_for(error)
        status.last_error = loop.redactor()(one_line(str(error)))
        status.warning = None  # the error says more; the next good poll says what still holds
        min_delay = 0.0
        if isinstance(error, RateLimited):
            # The server counts differently from us: treat its window as full until it ends.
            min_delay = loop.budget.exhaust(error.retry_after)
        elif isinstance(error, ServiceError) and error.retry_after is not None:
            min_delay = min(error.retry_after, MAX_HOLD)  # a 503 said when to come back (capped)
        if isinstance(error, ConfigError):
            loop.client = None
        self._schedule(loop, ok=False, min_delay=min_delay)
        try:
            self.store.save_account_state(loop.config.name, status.last_good_poll, status.last_error, now)
        except StoreError as err:  # the failure is shown either way; the store is only its memory
            log.warning("account %s: could not record its state: %s", loop.config.name, err)
        self._emit(AccountUpdated(status, now, failed=first))

    def staleness(self, account: str) -> float | None:
        """Seconds since the account's last good poll, or None if it never had one."""
        status = self.statuses.get(account)
        if status is None or status.last_good_poll is None:
            return None
        return (self._now() - status.last_good_poll).total_seconds()

    def is_stale(self, account: str) -> bool:
        loop = self._loops.get(account)
        age = self.staleness(account)
        if loop is None or age is None:
            return False
        return age > STALE_AFTER_POLLS * loop.config.poll_seconds


def budget_for_test(acc: AccountConfig, store: Store | None) -> CallBudget | None:
    """The budget a one-off test call of `acc` must come out of (None without a store)."""
    if store is None:
        return None
    user = acc.user or acc.name
    if acc.service == "interfax":
        limit, window = INTERFAX_STATUS_CALLS_PER_MINUTE, INTERFAX_WINDOW
    else:
        limit, window = CONCORD_CALLS_PER_MINUTE, 60.0
    return CallBudget(limit, window, clock=time.time, ledger=store, key=(acc.service, acc.endpoint, user))


async def test_account(
    acc: AccountConfig, http: httpx.AsyncClient | None = None, *, budget: CallBudget | None = None
) -> tuple[bool, str]:
    """One real call with the account's credentials; a one-line verdict for `accounts test` and the UI.

    With a `budget` (`Poller.budget_for(acc)`, or `budget_for_test(acc, store)`), the call is taken
    from it, and refused with a one-line reason when the window is full rather than overspending.
    """
    own = http is None
    client_http = http or httpx.AsyncClient()
    started = time.monotonic()
    secrets: list[str] = []
    try:
        client, secrets = await make_client_with_secrets(acc, client_http)
        if budget is not None and not budget.try_acquire():
            wait = budget.wait_time()
            return False, (f"{acc.name}: not tested: {budget.limit} calls were made for this user in the "
                           f"last minute; try again in {max(1, round(wait))} s")
        if isinstance(client, InterFaxClient):
            page = await client.status_page(INTERFAX_ALL_TRANSACTIONS, 1)
            detail = f"{page.total_count} faxes on the account"
        else:
            result = await client.status(["JRI-faxtui-connection-test"])
            if budget is not None:
                budget.charge(result.calls - 1)
            detail = "credentials accepted" if result.calls else "no answer"
        ms = (time.monotonic() - started) * 1000
        return True, f"{acc.name}: OK, {detail} ({ms:.0f} ms)"
    except (ProviderError, ConfigError) as exc:
        return False, make_redactor(secrets)(f"{acc.name}: {exc}")
    finally:
        if own:
            await client_http.aclose()
