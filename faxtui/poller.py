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
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from faxtui.budget import MAX_HOLD, CallBudget, Sleep
from faxtui.clock import utc_now
from faxtui.config import AccountConfig, Config, ConfigError
from faxtui.errors import AuthError, ProviderError, RateLimited, ServiceError, TransportError, one_line
from faxtui.events import AccountUpdated, JobsUpdated, PollerEvent, StateChange, WatchChanged
from faxtui.model import AccountStatus, FaxJob, Health
from faxtui.reconcile import jobs_to_forget, reconcile
from faxtui.secrets import resolve_secret
from faxtui.services.adapter import PollOutcome, ServiceSession
from faxtui.services.http import Redactor, make_redactor, plain_http_problem
from faxtui.services.registry import adapter_for
from faxtui.store.interface import CallLedger, StateStore, StoreError, Transition, WatchEntry
from faxtui.team import TeamOptions
from faxtui.team.follow import JobFollower, apply_record
from faxtui.team.leases import lease_terms

log = logging.getLogger(__name__)

Emit = Callable[[PollerEvent], None]

MAX_BACKOFF = 300.0
STALE_AFTER_POLLS = 3
"""An account whose last good poll is older than this many intervals is shown as stale."""
MAX_JOBS_PER_ACCOUNT = 20_000
"""Most jobs kept per account, in memory and in the store: the oldest finished, unwatched ones go
first, so a monitor left running for weeks stays the same size."""
STORE_PRUNE_SECONDS = 3600.0
"""How often the store's jobs and history tables are trimmed."""


async def connect(acc: AccountConfig, http: httpx.AsyncClient) -> tuple[ServiceSession, list[str]]:
    """A session of one account, its secrets resolved (which may run a command); also the resolved
    secrets, so whoever reports this account's errors can redact them.

    Refuses a plain-http address off this machine unless the account allows it: `load_config`
    checks files the same way, this covers accounts built in code (the TUI's form, tests).
    """
    adapter = adapter_for(acc.service)
    if not acc.allow_insecure:
        for what, url in adapter.urls(acc):
            problem = plain_http_problem(url)
            if problem is not None:
                raise ConfigError(
                    f"account {acc.name!r}: {what}: {problem}; use https, or set allow_insecure = true"
                )
    secrets: list[str] = []

    async def secret(ref: object, what: str) -> str:
        value = await asyncio.to_thread(resolve_secret, ref, what=what, account=acc.name)  # type: ignore[arg-type]
        secrets.append(value)
        return value

    return await adapter.connect(acc, http, secret), secrets


def _health_for(error: Exception) -> Health:
    if isinstance(error, AuthError):
        return Health.AUTH_FAILED
    if isinstance(error, RateLimited):
        return Health.RATE_LIMITED
    if isinstance(error, TransportError):
        return Health.UNREACHABLE
    return Health.ERROR


def rate_budget(acc: AccountConfig, *, clock: Callable[[], float], ledger: CallLedger | None,
                clock_speed: float = 1.0, sleep: Sleep = asyncio.sleep) -> CallBudget:
    """A budget at the service's limit for the account's user (shared through `ledger`, if any)."""
    adapter = adapter_for(acc.service)
    key = budget_key(acc)
    return CallBudget(adapter.calls_per_minute, adapter.rate_window / clock_speed, clock=clock,
                      ledger=ledger, key=key if ledger is not None else None, sleep=sleep)


def budget_key(acc: AccountConfig) -> tuple[str, str, str]:
    """Whose calls share a budget: one user on one endpoint of one service."""
    return (acc.service, acc.endpoint, adapter_for(acc.service).user(acc) or acc.name)


@dataclass(slots=True)
class _AccountLoop:
    config: AccountConfig
    status: AccountStatus
    budget: CallBudget
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    session: ServiceSession | None = None
    secrets: list[str] = field(default_factory=list, repr=False)
    task: asyncio.Task[None] | None = None
    next_due: float = 0.0

    def redactor(self) -> Redactor:
        return make_redactor([*self.secrets, *(self.session.secrets() if self.session else [])])


@dataclass(slots=True)
class _Context:
    """One account's picture as a session's poll step sees it (`PollContext`)."""

    poller: Poller
    loop: _AccountLoop

    @property
    def budget(self) -> CallBudget:
        return self.loop.budget

    def spare_calls(self) -> int:
        return self.poller._spare_calls(self.loop)

    def watched_ids(self) -> list[str]:
        return self.poller._watched_ids(self.loop.config.name)

    def known_jobs(self) -> Iterable[FaxJob]:
        name = self.loop.config.name
        return [job for key, job in self.poller.jobs.items() if key[0] == name]

    def known_job(self, job_id: str) -> FaxJob | None:
        return self.poller.jobs.get((self.loop.config.name, job_id))


class Poller:
    """The live state of every configured account, kept current by one loop per account."""

    def __init__(
        self,
        config: Config,
        store: StateStore,
        *,
        emit: Emit | None = None,
        now: Callable[[], datetime] = utc_now,
        http: httpx.AsyncClient | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        wall: Callable[[], float] = time.time,
        clock_speed: float = 1.0,
        sleep: Sleep = asyncio.sleep,
        team: TeamOptions | None = None,
    ) -> None:
        """`now` stamps what the user sees, `monotonic` schedules polls, `wall` times the rate
        budgets (it must agree between processes: the budgets are shared through the store).
        Every wait (between polls, for a rate window, while running) goes through `sleep`, so with
        `monotonic`, `wall` and `now` a test can run the whole poller on a fake clock.
        `clock_speed` > 1 shrinks the rate windows for a simulator running faster than real time
        (the soak benchmark); it is 1 for real services.

        With `team`, the poller polls an account only while it holds the account's lease in the
        store (`faxtui.team.leases`), stands by for the others, and (`team.follow`) shows what
        their pollers store; without it, it polls every configured account (one process alone)."""
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
        self._watch_ids: dict[str, dict[str, None]] = {}
        """Watched ids by account, in watch-list order (a dict for order and fast look-up)."""
        self._resolved: dict[tuple[str, str], str] = {}
        self._team = team
        self._held: dict[str, float] = {}
        """Team mode: the accounts whose lease this process holds, and when it last renewed each."""
        self._follower = JobFollower()
        self.poll_results: dict[str, dict[str, int]] = {}
        """Per account, the polls this process made by result (`ok` or the health it failed
        with), since it started: for the metrics."""
        self._setup(config)
        self._load_state()

    # --- set-up -------------------------------------------------------------------------------

    @property
    def polls(self) -> bool:
        """Whether this poller polls at all (False: it only follows what others store)."""
        return self._team is None or self._team.poll

    def holds_lease(self, account: str) -> bool:
        """Whether this process polls `account` now (always, outside team mode)."""
        if self._team is None:
            return account in self._loops
        return account in self._held

    def budget_for(self, acc: AccountConfig) -> CallBudget:
        """The rate budget an account's calls come out of (shared by accounts of one user, and
        through the store's ledger by every process on this data directory)."""
        key = budget_key(acc)
        if key not in self._budgets:
            self._budgets[key] = rate_budget(acc, clock=self._wall, ledger=self.store,
                                             clock_speed=self._clock_speed, sleep=self._sleep)
        return self._budgets[key]

    def _spare_calls(self, loop: _AccountLoop) -> int:
        budget = loop.budget
        others = sum(1 for other in self._loops.values() if other is not loop and other.budget is budget)
        return budget.available() - others

    def _setup(self, config: Config) -> None:
        self.config = config
        for acc in config.accounts:
            status = self.statuses.get(acc.name) or AccountStatus(acc.name, acc.service)
            status.service = acc.service
            status.paused = self.paused
            self.statuses[acc.name] = status
            if self.polls:
                self._loops[acc.name] = _AccountLoop(acc, status, self.budget_for(acc))
        # Keep the bar in config order (then, following every account, the store's others by name).
        configured = {acc.name for acc in config.accounts}
        others = {name: st for name, st in self.statuses.items() if name not in configured}
        self.statuses = {acc.name: self.statuses[acc.name] for acc in config.accounts}
        if not self.polls:
            self.statuses.update(others)

    def _load_state(self) -> None:
        if not self.polls:  # following everything: every account the store knows
            for record in self.store.account_records(self._wall()):
                if record.account not in self.statuses and record.service:
                    status = AccountStatus(record.account, record.service)
                    status.following = True
                    self.statuses[record.account] = status
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
        self._set_watch(self.store.watch_list())
        for acc_name, status in self.statuses.items():
            status.jobs = sum(1 for key in self.jobs if key[0] == acc_name)

    # --- watch list ---------------------------------------------------------------------------

    def watch_list(self) -> list[WatchEntry]:
        return list(self._watch)

    def _set_watch(self, entries: list[WatchEntry]) -> None:
        self._watch = entries
        self._watch_ids = {}
        for entry in entries:
            self._watch_ids.setdefault(entry.account, {})[entry.lookup_id] = None

    def _watched_ids(self, account: str) -> list[str]:
        return list(self._watch_ids.get(account, ()))

    def is_watched(self, job: FaxJob) -> bool:
        ids = self._watch_ids.get(job.account, {})
        return job.job_id in ids or (job.lookup_id is not None and job.lookup_id in ids)

    def watched_job(self, entry: WatchEntry) -> FaxJob | None:
        job_id = self._resolved.get((entry.account, entry.lookup_id), entry.lookup_id)
        return self.jobs.get((entry.account, job_id))

    def add_watch(self, account: str, lookup_id: str, label: str = "") -> WatchEntry:
        loop = self._loops.get(account)
        status = self.statuses.get(account)
        if status is None:
            raise ValueError(f"no account named {one_line(account, 40)!r}")
        value = adapter_for(status.service).validate_id(lookup_id)
        entry = self.store.add_watch(account, value, label)
        ids = self._watch_ids.setdefault(account, {})
        if value in ids:  # re-added: it keeps its place (and the store its first time)
            self._watch = [entry if (w.account, w.lookup_id) == (account, value) else w for w in self._watch]
        else:  # the newest entry: last in the store's order too
            self._watch.append(entry)
            ids[value] = None
        if loop is not None and loop.session is not None:
            loop.session.watch_added(value)
        self._emit(WatchChanged(account, value))
        self.refresh(account)
        return entry

    def remove_watch(self, account: str, lookup_id: str) -> bool:
        removed = self.store.remove_watch(account, lookup_id)
        self._set_watch(self.store.watch_list())
        if removed:
            self._emit(WatchChanged(account, lookup_id))
        return removed

    def set_watch_label(self, account: str, lookup_id: str, label: str) -> bool:
        changed = self.store.set_watch_label(account, lookup_id, label)
        self._set_watch(self.store.watch_list())
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
            if self._team is not None:
                await self._keep_team(self._team)
            while True:
                await self._sleep(3600)
        finally:
            self._running = False
            tasks = [loop.task for loop in self._loops.values() if loop.task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.release_leases()

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
            team = self._team
            if team is not None and loop.config.name not in self._held and not self._claim(loop, team):
                await self._sleep_or_wake(loop, lease_terms(loop.config.poll_seconds).claim_every)
                continue
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

    # --- team mode: leases and following --------------------------------------------------------

    def _claim(self, loop: _AccountLoop, team: TeamOptions) -> bool:
        """Try to take the account's lease; True when this process now polls it."""
        name = loop.config.name
        now = self._wall()
        try:
            other = self.store.claim_lease(name, team.holder, now, lease_terms(loop.config.poll_seconds).ttl)
        except StoreError as err:
            log.warning("account %s: could not ask who polls it: %s", name, err)
            return False
        status = loop.status
        if other is None:
            self._held[name] = now
            self._follower.forget(name)
            self._reload_account(name)
            loop.next_due = 0.0
            status.polled_by, status.following = team.holder, False
            log.info("account %s: lease taken: this process polls it", name)
            self._emit(AccountUpdated(status, self._now()))
            return True
        if status.polled_by != other or not status.following:
            status.polled_by, status.following = other, True
            log.info("account %s: polled by %s; standing by", name, other)
            self._emit(AccountUpdated(status, self._now()))
        return False

    def _reload_account(self, account: str) -> None:
        """Taking an account over: start from what its last poller stored, so the first poll
        neither repeats the transitions it recorded nor misses the ones it did not see."""
        try:
            stored = self.store.load_jobs(account)
        except StoreError as err:
            log.warning("account %s: could not read what its last poller stored: %s", account, err)
            return
        for key in [key for key in self.jobs if key[0] == account]:
            del self.jobs[key]
        for job in stored:
            self.jobs[job.key] = job
            if job.lookup_id:
                self._resolved[(account, job.lookup_id)] = job.job_id
        self.statuses[account].jobs = len(stored)

    def _renew_leases(self, team: TeamOptions) -> None:
        """Renew each held lease that is due; one another process took (this one was too late or
        frozen) is let go: the account is followed from now on."""
        now = self._wall()
        for name, renewed in list(self._held.items()):
            loop = self._loops.get(name)
            if loop is None:  # removed from the config: let another process have it
                del self._held[name]
                self.store.release_lease(name, team.holder)
                continue
            terms = lease_terms(loop.config.poll_seconds)
            if now - renewed < terms.renew_every:
                continue
            try:
                other = self.store.claim_lease(name, team.holder, now, terms.ttl)
            except StoreError as err:
                log.warning("account %s: could not renew its lease: %s", name, err)
                continue
            if other is None:
                self._held[name] = now
                continue
            del self._held[name]
            loop.status.polled_by, loop.status.following = other, True
            log.warning("account %s: lease lost to %s; standing by", name, other)
            self._emit(AccountUpdated(loop.status, self._now()))

    def release_leases(self) -> None:
        """Give up every lease this process holds (on the way out), so another takes over at once."""
        if self._team is None:
            return
        for name in list(self._held):
            with contextlib.suppress(StoreError):
                self.store.release_lease(name, self._team.holder)
            del self._held[name]

    async def _keep_team(self, team: TeamOptions) -> None:
        """Renew leases, and bring in what other processes stored, until cancelled."""
        first = True
        while True:
            try:
                self._renew_leases(team)
                changed = self.store.changed()
                if changed or first:
                    self._sync_watch_list()
                    if team.follow:
                        self._sync_followed()
                    first = False
            except StoreError as err:
                log.warning("team sync: %s", err)
            except Exception:  # a bug must show, not end the sync
                log.exception("team sync failed")
            await self._sleep(team.sync_seconds)

    def _followed(self) -> list[str]:
        return [name for name in self.statuses if name not in self._held]

    def _sync_followed(self) -> None:
        now = self._now()
        followed = self._followed()
        if not followed:
            return
        records = {r.account: r for r in self.store.account_records(self._wall())}
        for name in followed:
            status = self.statuses[name]
            synced = self._follower.sync(self.store, name, self.jobs, now)
            if synced is not None:
                result = synced.result
                self._resolved.update(result.resolved)
                for job in result.seen:
                    self.jobs[job.key] = job
                status.jobs += result.new_jobs
                self._emit(JobsUpdated(name, result.seen, result.changes, now))
            record = records.get(name)
            if record is not None and name not in self._held:
                status.following = record.holder is not None or not self.polls
                if apply_record(status, record, record.holder) or synced is not None:
                    self._emit(AccountUpdated(status, now))

    def _sync_watch_list(self) -> None:
        """Watch requests made elsewhere (`faxtui watch add --store`, another viewer): this
        process's polls ask for them from the next one on."""
        entries = self.store.watch_list()
        if entries == self._watch:
            return
        before = {(w.account, w.lookup_id) for w in self._watch}
        after = {(w.account, w.lookup_id) for w in entries}
        self._set_watch(entries)
        for account, lookup_id in sorted(after - before):
            loop = self._loops.get(account)
            if loop is not None and loop.session is not None:
                loop.session.watch_added(lookup_id)
        for account, lookup_id in sorted(after ^ before):
            self._emit(WatchChanged(account, lookup_id))

    # --- one poll -----------------------------------------------------------------------------

    async def _poll(self, loop: _AccountLoop) -> None:
        status = loop.status
        status.last_attempt = self._now()
        started = self._monotonic()
        try:
            if loop.session is None:
                http = self._http_for(loop.config.name)
                loop.session, loop.secrets = await connect(loop.config, http)
            outcome = await loop.session.poll(_Context(self, loop))
        except (ProviderError, ConfigError) as exc:
            self._failed(loop, exc)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must show, not kill the loop
            self._failed(loop, ProviderError(f"unexpected {type(exc).__name__}: {exc}"))
            return
        if outcome.calls == 0:
            status.health = Health.IDLE if not self.paused else status.health
            status.last_error = None
            status.warning = None
            self._schedule(loop, ok=True)
            self._emit(AccountUpdated(status, self._now()))
            return
        latency_ms = (self._monotonic() - started) * 1000 / max(1, outcome.calls)
        self._succeeded(loop, outcome, latency_ms)

    def _count(self, account: str, result: str) -> None:
        results = self.poll_results.setdefault(account, {})
        results[result] = results.get(result, 0) + 1

    def _succeeded(self, loop: _AccountLoop, outcome: PollOutcome, latency_ms: float) -> None:
        self._count(loop.config.name, "ok")
        status = loop.status
        now = self._now()
        recovered = status.consecutive_failures > 0
        result = reconcile(self.jobs, outcome.jobs, now)
        self._resolved.update(result.resolved)
        for job in result.seen:
            self.jobs[job.key] = job
        self._remember(loop, result.changed, result.changes, now)
        status.health = Health.OK
        status.last_good_poll = now
        status.latency_ms = latency_ms
        status.last_error = None
        # What the answers left out or reported without failing: one line, redacted, shown as the
        # account's warning until a poll without one.
        status.warning = loop.redactor()(one_line("; ".join(dict.fromkeys(outcome.warnings)))) or None
        status.consecutive_failures = 0
        status.calls_made += outcome.calls
        name = loop.config.name
        status.jobs += result.new_jobs  # jobs are only added here (and counted when loaded)
        forgotten: list[tuple[str, str]] = []
        if status.jobs > MAX_JOBS_PER_ACCOUNT:
            # What the poll saw unfinished stays; what it saw finished may go, oldest first.
            unfinished = {job.job_id for job in result.seen if not job.state.is_final}
            forgotten = self._forget_old_jobs(name, unfinished)
            status.jobs -= len(forgotten)
        self._schedule(loop, ok=True)
        self._emit(JobsUpdated(name, result.seen, result.changes, now, tuple(forgotten)))
        self._emit(AccountUpdated(status, now, recovered=recovered))

    def _forget_old_jobs(self, account: str, current: set[str]) -> list[tuple[str, str]]:
        """Drop the account's oldest jobs from memory, keeping the watched ones and those `current`
        names (the unfinished ones the service just reported); returns the keys dropped. (The store
        is trimmed on its own schedule.)"""
        watched = self._watched_ids(account)
        keep = current | set(watched) | {self._resolved.get((account, lookup), lookup) for lookup in watched}
        mine = [job for key, job in self.jobs.items() if key[0] == account]  # oldest first: as seen
        dropped = jobs_to_forget(mine, keep, MAX_JOBS_PER_ACCOUNT)
        for key in dropped:
            del self.jobs[key]
        return dropped

    def _remember(
        self, loop: _AccountLoop, jobs: Sequence[FaxJob], changes: Sequence[StateChange], now: datetime
    ) -> None:
        """Write a good poll to the store. The screen must not freeze because the disk is full or the
        database is locked: a failure here is logged and kept in `store_error`, and polling goes on."""
        try:
            acc = loop.config
            self.store.save_poll(acc.name, jobs, [Transition.from_change(c) for c in changes], at=now,
                                 service=acc.service, poll_seconds=acc.poll_seconds)
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

    def _publish_status(self, loop: _AccountLoop, health: Health, now: datetime) -> None:
        """What viewers show of the account besides its last good poll and error."""
        acc = loop.config
        self.store.save_account_status(acc.name, service=acc.service, health=health.value,
                                       poll_seconds=acc.poll_seconds, at=now)

    def _failed(self, loop: _AccountLoop, error: Exception) -> None:
        status = loop.status
        now = self._now()
        first = status.consecutive_failures == 0
        status.consecutive_failures += 1
        status.health = _health_for(error)
        self._count(loop.config.name, status.health.value)
        status.last_error = loop.redactor()(one_line(str(error)))
        status.warning = None  # the error says more; the next good poll says what still holds
        min_delay = 0.0
        if isinstance(error, RateLimited):
            # The server counts differently from us: treat its window as full until it ends.
            min_delay = loop.budget.exhaust(error.retry_after)
        elif isinstance(error, ServiceError) and error.retry_after is not None:
            min_delay = min(error.retry_after, MAX_HOLD)  # a 503 said when to come back (capped)
        if isinstance(error, ConfigError):
            loop.session = None
        self._schedule(loop, ok=False, min_delay=min_delay)
        try:
            self.store.save_account_state(loop.config.name, status.last_good_poll, status.last_error, now)
            self._publish_status(loop, status.health, now)
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


def budget_for_check(acc: AccountConfig, store: CallLedger | None) -> CallBudget | None:
    """The budget a one-off check call of `acc` must come out of (None without a store)."""
    return None if store is None else rate_budget(acc, clock=time.time, ledger=store)


async def check_account(
    acc: AccountConfig, http: httpx.AsyncClient | None = None, *, budget: CallBudget | None = None
) -> tuple[bool, str]:
    """One real call with the account's credentials; a one-line verdict for `accounts test` and the UI.

    With a `budget` (`Poller.budget_for(acc)`, or `budget_for_check(acc, store)`), the call is taken
    from it, and refused with a one-line reason when the window is full rather than overspending.
    """
    own = http is None
    client_http = http or httpx.AsyncClient()
    started = time.monotonic()
    secrets: list[str] = []
    session: ServiceSession | None = None
    try:
        session, secrets = await connect(acc, client_http)
        if budget is not None and not budget.try_acquire():
            wait = budget.wait_time()
            return False, (f"{acc.name}: not tested: {budget.limit} calls were made for this user in the "
                           f"last minute; try again in {max(1, round(wait))} s")
        detail = await session.check(budget)
        ms = (time.monotonic() - started) * 1000
        return True, f"{acc.name}: OK, {detail} ({ms:.0f} ms)"
    except (ProviderError, ConfigError) as exc:
        return False, make_redactor([*secrets, *(session.secrets() if session else [])])(f"{acc.name}: {exc}")
    finally:
        if own:
            await client_http.aclose()
