"""Per-account polling loops: rate budgets, backoff, staleness, the watch list, typed events.

The poller owns the live picture (`jobs`, `statuses`) and keeps the store in step with it.
It runs on one asyncio loop (the TUI's, or `asyncio.run` for the CLI) and reports through
`emit`, called synchronously on that loop. It never imports Textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from faxtui.budget import CallBudget
from faxtui.codes import INTERFAX_ALL_TRANSACTIONS, INTERFAX_MAX_ITEMS, INTERFAX_STATUS_CALLS_PER_MINUTE
from faxtui.config import AccountConfig, Config, ConfigError, resolve_secret
from faxtui.errors import AuthError, ProviderError, RateLimited, TransportError, one_line
from faxtui.events import AccountUpdated, JobsUpdated, PollerEvent, StateChange, WatchChanged
from faxtui.ids import validate_lookup_id
from faxtui.model import AccountStatus, FaxJob, Health, JobState
from faxtui.providers.concord import ConcordClient, OAuthTokenProvider
from faxtui.providers.interfax import InterFaxClient
from faxtui.store import Store, Transition, WatchEntry

Emit = Callable[[PollerEvent], None]
Client = InterFaxClient | ConcordClient

INTERFAX_WINDOW = 61.0
"""One second more than the documented minute, so clock skew never tips us over the limit."""
CONCORD_CALLS_PER_MINUTE = 120
"""Concord documents no limit; this keeps faxtui a polite client all the same."""
MAX_BACKOFF = 300.0
STALE_AFTER_POLLS = 3
"""An account whose last good poll is older than this many intervals is shown as stale."""

def utc_now() -> datetime:
    return datetime.now(UTC)


async def make_client(acc: AccountConfig, http: httpx.AsyncClient) -> Client:
    """Build the client of one account, resolving its secrets (which may run a command)."""

    async def secret(ref: object, what: str) -> str:
        return await asyncio.to_thread(resolve_secret, ref, what=what, account=acc.name)  # type: ignore[arg-type]

    if acc.service == "interfax":
        if acc.username is None or acc.password is None:
            raise ConfigError(f"account {acc.name!r}: username and password are required")
        return InterFaxClient(
            acc.name, acc.endpoint, acc.username, await secret(acc.password, "password"),
            soap_version=acc.soap_version, http=http, timeout=acc.timeout_seconds,
        )
    if acc.user_id is None:
        raise ConfigError(f"account {acc.name!r}: user_id is required")
    common = {"soap_version": acc.soap_version, "http": http, "timeout": acc.timeout_seconds,
              "batch_size": acc.batch_size}
    if acc.token is not None:
        return ConcordClient(acc.name, acc.endpoint, acc.user_id, token=await secret(acc.token, "token"),
                             **common)  # type: ignore[arg-type]
    if acc.client_secret is not None and acc.token_url and acc.client_id:
        provider = OAuthTokenProvider(
            acc.token_url, acc.client_id, await secret(acc.client_secret, "client_secret"), http=http
        )
        return ConcordClient(acc.name, acc.endpoint, acc.user_id, token_provider=provider,
                             **common)  # type: ignore[arg-type]
    if acc.pin is not None:
        return ConcordClient(acc.name, acc.endpoint, acc.user_id, pin=await secret(acc.pin, "pin"),
                             **common)  # type: ignore[arg-type]
    raise ConfigError(f"account {acc.name!r}: no Concord credentials (token, client credentials or pin)")


def _health_for(error: Exception) -> Health:
    if isinstance(error, AuthError):
        return Health.AUTH_FAILED
    if isinstance(error, RateLimited):
        return Health.RATE_LIMITED
    if isinstance(error, TransportError):
        return Health.UNREACHABLE
    return Health.ERROR


@dataclass(slots=True)
class _AccountLoop:
    config: AccountConfig
    status: AccountStatus
    budget: CallBudget
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    client: Client | None = None
    task: asyncio.Task[None] | None = None
    next_due: float = 0.0
    lookup_cursor: int = 0
    confirmed_final: set[str] = field(default_factory=set)


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
    ) -> None:
        self.config = config
        self.store = store
        self._emit = emit or (lambda event: None)
        self._now = now
        self._monotonic = monotonic
        self._jitter = jitter
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(http2=False, follow_redirects=False)
        self._budgets: dict[tuple[str, str, str], CallBudget] = {}
        self._loops: dict[str, _AccountLoop] = {}
        self._resume = asyncio.Event()
        self._resume.set()
        self._running = False
        self.paused = False
        self.statuses: dict[str, AccountStatus] = {}
        self.jobs: dict[tuple[str, str], FaxJob] = {}
        self._watch: list[WatchEntry] = []
        self._resolved: dict[tuple[str, str], str] = {}
        self._setup(config)
        self._load_state()

    # --- set-up -------------------------------------------------------------------------------

    def _budget_for(self, acc: AccountConfig) -> CallBudget:
        user = acc.username if acc.service == "interfax" else acc.user_id
        key = (acc.service, acc.endpoint, user or acc.name)
        if key not in self._budgets:
            if acc.service == "interfax":
                budget = CallBudget(INTERFAX_STATUS_CALLS_PER_MINUTE, INTERFAX_WINDOW, clock=self._monotonic)
            else:
                budget = CallBudget(CONCORD_CALLS_PER_MINUTE, 60.0, clock=self._monotonic)
            self._budgets[key] = budget
        return self._budgets[key]

    def _setup(self, config: Config) -> None:
        self.config = config
        for acc in config.accounts:
            status = self.statuses.get(acc.name) or AccountStatus(acc.name, acc.service)
            status.service = acc.service
            status.paused = self.paused
            self.statuses[acc.name] = status
            self._loops[acc.name] = _AccountLoop(acc, status, self._budget_for(acc))
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
                await asyncio.sleep(3600)
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
        if self._own_http:
            await self._http.aclose()

    async def _run_account(self, loop: _AccountLoop) -> None:
        while True:
            await self._resume.wait()
            delay = loop.next_due - self._monotonic()
            if delay > 0:
                loop.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(loop.wake.wait(), timeout=delay)
                continue
            await self._poll(loop)

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
                loop.client = await make_client(loop.config, self._http)
            if isinstance(loop.client, InterFaxClient):
                jobs, calls = await self._poll_interfax(loop, loop.client)
            else:
                jobs, calls = await self._poll_concord(loop, loop.client)
        except (ProviderError, ConfigError) as exc:
            self._failed(loop, exc)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must show, not kill the loop
            self._failed(loop, ProviderError(f"unexpected {type(exc).__name__}: {exc}"))
            return
        if calls == 0:
            status.health = Health.IDLE if not self.paused else status.health
            status.last_error = None
            self._schedule(loop, ok=True)
            self._emit(AccountUpdated(status, self._now()))
            return
        self._succeeded(loop, jobs, calls, (self._monotonic() - started) * 1000 / max(1, calls))

    async def _poll_interfax(self, loop: _AccountLoop, client: InterFaxClient) -> tuple[list[FaxJob], int]:
        jobs: dict[str, FaxJob] = {}
        calls = 0
        last_id = INTERFAX_ALL_TRANSACTIONS
        for _ in range(max(1, loop.config.page_depth)):
            await loop.budget.acquire()
            calls += 1
            page = await client.status_page(last_id, INTERFAX_MAX_ITEMS)
            for job in page.jobs:
                jobs[job.job_id] = job
            if len(page.jobs) < INTERFAX_MAX_ITEMS or not page.jobs:
                break
            last_id = min(int(j.job_id) for j in page.jobs)
        # Watched transactions that fell off the pages: one call each, only while the budget has room.
        missing = [
            i for i in self._watched_ids(loop.config.name)
            if i not in jobs and i not in loop.confirmed_final
        ]
        if missing:
            start = loop.lookup_cursor % len(missing)
            for tid in missing[start:] + missing[:start]:
                if not loop.budget.try_acquire():
                    break
                calls += 1
                loop.lookup_cursor += 1
                found = await client.lookup(int(tid))
                if found is not None:
                    jobs[found.job_id] = found
                    if found.state.is_final:
                        loop.confirmed_final.add(tid)
        return list(jobs.values()), calls

    async def _poll_concord(self, loop: _AccountLoop, client: ConcordClient) -> tuple[list[FaxJob], int]:
        name = loop.config.name
        ids: list[str] = []
        for lookup in self._watched_ids(name):
            if lookup in loop.confirmed_final:
                continue
            ids.append(lookup)
        if not ids:
            return [], 0
        batches = -(-len(ids) // max(1, loop.config.batch_size))
        for _ in range(batches):
            await loop.budget.acquire()
        result = await client.status(ids)
        for job in result.jobs:
            previous = self.jobs.get(job.key)
            # A br id whose final state was already seen once is confirmed: stop asking for it.
            if (
                job.lookup_id is None
                and (job.state.is_final or job.state is JobState.NOT_FOUND)
                and previous is not None
                and previous.state == job.state
            ):
                loop.confirmed_final.add(job.job_id)
        return result.jobs, result.calls

    def _succeeded(self, loop: _AccountLoop, jobs: Sequence[FaxJob], calls: int, latency_ms: float) -> None:
        status = loop.status
        now = self._now()
        recovered = status.consecutive_failures > 0
        changes: list[StateChange] = []
        changed_jobs: list[FaxJob] = []
        for job in jobs:
            old = self.jobs.get(job.key)
            if job.lookup_id:
                self._resolved[(job.account, job.lookup_id)] = job.job_id
            if old is not None and job.lookup_id is None and old.lookup_id is not None:
                job = job.with_lookup(old.lookup_id)
            if old == job:
                continue
            changed_jobs.append(job)
            self.jobs[job.key] = job
            if old is None or not old.same_status(job):
                changes.append(StateChange(job, old, now))
        if changed_jobs:
            self.store.save_jobs(changed_jobs, now)
        if changes:
            self.store.record_transitions([
                Transition(
                    account=c.job.account, job_id=c.job.job_id, at=now,
                    old_state=c.old.state.value if c.old else None, new_state=c.job.state.value,
                    old_code=c.old.status_code if c.old else None, new_code=c.job.status_code,
                    status_text=c.job.status_text,
                )
                for c in changes
            ])
        status.health = Health.OK
        status.last_good_poll = now
        status.latency_ms = latency_ms
        status.last_error = None
        status.consecutive_failures = 0
        status.calls_made += calls
        status.jobs = sum(1 for key in self.jobs if key[0] == loop.config.name)
        self._schedule(loop, ok=True)
        self.store.save_account_state(loop.config.name, now, None, now)
        self._emit(JobsUpdated(loop.config.name, tuple(jobs), tuple(changes), now))
        self._emit(AccountUpdated(status, now, recovered=recovered))

    def _failed(self, loop: _AccountLoop, error: Exception) -> None:
        status = loop.status
        now = self._now()
        first = status.consecutive_failures == 0
        status.consecutive_failures += 1
        status.health = _health_for(error)
        status.last_error = str(error)
        min_delay = 0.0
        if isinstance(error, RateLimited):
            # The server counts differently from us: treat its window as full until it ends.
            min_delay = loop.budget.exhaust(error.retry_after)
        if isinstance(error, ConfigError):
            loop.client = None
        self._schedule(loop, ok=False, min_delay=min_delay)
        self.store.save_account_state(loop.config.name, status.last_good_poll, status.last_error, now)
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


async def test_account(acc: AccountConfig, http: httpx.AsyncClient | None = None) -> tuple[bool, str]:
    """One real call with the account's credentials; a one-line verdict for `accounts test` and the UI."""
    own = http is None
    client_http = http or httpx.AsyncClient()
    started = time.monotonic()
    try:
        client = await make_client(acc, client_http)
        if isinstance(client, InterFaxClient):
            page = await client.status_page(INTERFAX_ALL_TRANSACTIONS, 1)
            detail = f"{page.total_count} faxes on the account"
        else:
            result = await client.status(["JRI-faxtui-connection-test"])
            detail = "credentials accepted" if result.calls else "no answer"
        ms = (time.monotonic() - started) * 1000
        return True, f"{acc.name}: OK, {detail} ({ms:.0f} ms)"
    except (ProviderError, ConfigError) as exc:
        return False, f"{acc.name}: {exc}"
    finally:
        if own:
            await client_http.aclose()
