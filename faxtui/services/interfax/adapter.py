"""InterFax behind the `ServiceAdapter` seam: its account keys, its 6-calls-a-minute limit, and the
poll step (the newest pages, the history once, then windows over the unfinished jobs)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from faxtui.budget import CallBudget
from faxtui.config.fields import secret_keys, secret_phrase
from faxtui.config.model import ConfigError
from faxtui.errors import ProviderError, RateLimited
from faxtui.model import FaxJob
from faxtui.services.adapter import PollContext, PollOutcome, ResolveSecret
from faxtui.services.interfax.client import DEFAULT_ENDPOINT, InterFaxClient, InterFaxPage
from faxtui.services.interfax.codes import (
    INTERFAX_ALL_TRANSACTIONS,
    INTERFAX_MAX_ITEMS,
    INTERFAX_STATUS_CALLS_PER_MINUTE,
    interfax_status_text,
)
from faxtui.services.interfax.ids import validate_transaction_id
from faxtui.services.interfax.windows import plan_windows, settled

if TYPE_CHECKING:
    from faxtui.config.fields import Section
    from faxtui.config.model import AccountConfig, SecretRef

log = logging.getLogger(__name__)

RATE_WINDOW = 61.0
"""One second more than the documented minute, so clock skew never tips us over the limit."""
CONFIG_KEYS = ("username", "password", "password_env", "password_command")
DISCOVERY_HORIZON = timedelta(hours=26)
"""How far below the newest fax a session looks for unfinished ones it has not seen: a fax held for
credit waits 24 hours (interfax.md §4.2, -22), and retries end well within two more."""


class InterFaxSession:
    """One InterFax account, connected: its client, and when each of its jobs was last seen.

    A poll reads the newest page(s) (new submissions), then, as far as the budget has room right
    now, windows that cover every job still unfinished and every watched id (`windows.py`): the
    fewest calls that see them all, most urgent first (watched, then longest unseen, then oldest).
    What one poll cannot cover waits for the next, where it is the longest unseen.
    """

    def __init__(self, client: InterFaxClient, page_depth: int) -> None:
        self.client = client
        self.page_depth = max(1, page_depth)
        self._round = 0
        self._seen_in: dict[str, int] = {}
        """The poll (counted from 1) in which each target id was last listed."""
        self._confirmed: set[str] = set()
        """Ids not to ask about again: final when last listed, or (unwatched) gone from the service."""
        self._below: int | None = None
        """Where the history not yet listed this session begins (`_discover`)."""
        self._newest_submit: datetime | None = None
        self._discovered = False

    def secrets(self) -> list[str]:
        return []  # the password is the account's own secret, redacted by whoever resolved it

    def watch_added(self, lookup_id: str) -> None:
        self._confirmed.discard(lookup_id)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def check(self, budget: CallBudget | None) -> str:
        page = await self.client.status_page(INTERFAX_ALL_TRANSACTIONS, 1)
        return f"{page.total_count} faxes on the account"

    async def poll(self, context: PollContext) -> PollOutcome:
        self._round += 1
        pages = await self.client.recent(self.page_depth, INTERFAX_MAX_ITEMS, gate=context.budget)
        jobs = {job.job_id: job for job in pages.jobs}
        calls = pages.calls
        if self._discovered:
            calls += await self._cover_unfinished(context, jobs)
        else:
            # Watched ids first; then the history not yet listed, whose pages list every job they
            # pass (unfinished or not), before windows go over ground already covered.
            calls += await self._cover_unfinished(context, jobs, watched_only=True)
            if pages.stuck:  # a server that ignores LastTransactionID shows no history to page
                self._discovered = True
            calls += await self._discover(context, jobs, pages.jobs)
        return PollOutcome(list(jobs.values()), calls, warnings=pages.warnings)

    async def _discover(self, context: PollContext, jobs: dict[str, FaxJob], newest: list[FaxJob]) -> int:
        """With what the budget still has: page on below what this session has listed, once, until
        the history ends or a page holds only faxes finished more than `DISCOVERY_HORIZON` before
        the newest. Jobs sent before faxtui watched the account (or while it was closed) are found
        so, and their unfinished ones become targets of the windows. Returns the calls made."""
        if self._discovered:
            return 0
        if self._newest_submit is None:
            self._newest_submit = max((j.item.SubmitTime for j in newest if j.item.SubmitTime), default=None)
        if self._below is None:
            self._below = min((int(j.job_id) for j in newest), default=None)
            if self._below is None or len(newest) < INTERFAX_MAX_ITEMS:
                self._discovered = True  # the newest page is the whole history
                return 0
        calls = 0
        while not self._discovered and context.spare_calls() > 0:
            stamp = context.budget.try_take()
            if stamp is None:
                break
            calls += 1
            page = await self._extra_page(context, stamp, self._below, INTERFAX_MAX_ITEMS, jobs)
            if page is None:
                break
            lowest = min((int(j.job_id) for j in page.jobs), default=self._below)
            horizon = self._newest_submit - DISCOVERY_HORIZON if self._newest_submit else None
            old = horizon is not None and all(
                j.state.is_final and j.item.SubmitTime is not None and j.item.SubmitTime < horizon
                for j in page.jobs
            )
            if page.size < INTERFAX_MAX_ITEMS or lowest >= self._below or old:
                self._discovered = True
            self._below = lowest
        return calls

    async def _extra_page(
        self, context: PollContext, stamp: float, last_id: int, max_items: int, jobs: dict[str, FaxJob]
    ) -> InterFaxPage | None:
        """One call beyond the newest pages (taken from the budget at `stamp`, settled here), its
        jobs added to `jobs`; None when it failed: extras end for this poll, the pages already
        read stand."""
        try:
            page = await self.client.status_page(last_id, max_items)
        except RateLimited as exc:
            context.budget.exhaust(exc.retry_after)
            return None
        except ProviderError as exc:
            log.debug("account %s: the page below %d failed: %s", self.client.account, last_id, exc)
            return None
        finally:
            context.budget.settle(stamp)
        for job in page.jobs:
            jobs[job.job_id] = job
        return page

    def _targets(
        self, context: PollContext, jobs: dict[str, FaxJob]
    ) -> tuple[list[int], set[str], list[int]]:
        """(targets most urgent first, the watched ones among them, every id the account has shown)."""
        confirmed = self._confirmed
        watched = {i for i in context.watched_ids() if i not in jobs and i not in confirmed}
        known = list(context.known_jobs())
        targets = watched | {
            job.job_id
            for job in known
            if job.state.is_active and job.job_id not in jobs and job.job_id not in confirmed
        }
        seen_in = self._seen_in
        for tid in jobs:
            seen_in[tid] = self._round
        for gone in set(seen_in) - targets - jobs.keys():
            del seen_in[gone]
        ordered = sorted(targets, key=lambda tid: (tid not in watched, seen_in.get(tid, 0), int(tid)))
        known_ids = [int(job.job_id) for job in known]
        known_ids += [int(tid) for tid in jobs]
        return [int(tid) for tid in ordered], watched, known_ids

    async def _cover_unfinished(
        self, context: PollContext, jobs: dict[str, FaxJob], *, watched_only: bool = False
    ) -> int:
        """The windows' calls, while the budget has room without waiting; returns the calls made.
        A window that fails ends them for this poll, never the pages already read."""
        targets, watched, known_ids = self._targets(context, jobs)
        if watched_only:
            targets = [tid for tid in targets if str(tid) in watched]
        if not targets:
            return 0
        budget = context.budget
        calls = 0
        for window in plan_windows(known_ids, targets):
            stamp = budget.try_take() if context.spare_calls() > 0 else None
            if stamp is None:
                break
            calls += 1
            page = await self._extra_page(context, stamp, window.last_id, window.max_items, jobs)
            if page is None:
                break
            listed = [int(job.job_id) for job in page.jobs]
            found, gone = settled(window, listed, page.size)
            for tid in found:
                self._seen_in[str(tid)] = self._round
                if jobs[str(tid)].state.is_final:
                    self._confirmed.add(str(tid))
            for tid in gone:
                if str(tid) not in watched:
                    self._confirmed.add(str(tid))  # gone from the service: stop asking
        return calls


class InterFaxAdapter:
    service = "interfax"
    label = "InterFax"
    default_endpoint = DEFAULT_ENDPOINT
    default_poll_seconds = 20.0
    calls_per_minute = INTERFAX_STATUS_CALLS_PER_MINUTE
    rate_window = RATE_WINDOW
    config_keys: tuple[str, ...] = CONFIG_KEYS
    reported_fields: frozenset[str] | None = None

    def parse_settings(
        self, section: Section, raw: Mapping[str, Any], common: Mapping[str, Any]
    ) -> dict[str, Any]:
        poll_seconds, page_depth = common["poll_seconds"], common["page_depth"]
        calls_per_minute = 60.0 / poll_seconds * page_depth
        if calls_per_minute > self.calls_per_minute:
            raise section.fail(
                "poll_seconds",
                f"polling every {poll_seconds:g} s with page_depth {page_depth} makes "
                f"{calls_per_minute:g} status calls a minute; InterFax allows "
                f"{self.calls_per_minute}, so poll_seconds must be at least {10 * page_depth}",
            )
        username = section.string(raw, "username", required=True)
        password = section.secret(raw, "password")
        if password is None:
            raise section.fail(
                "password", "missing credentials: set one of password, password_env, password_command"
            )
        return {"username": username, "password": password}

    def settings_table(self, acc: AccountConfig) -> dict[str, Any]:
        table: dict[str, Any] = {} if acc.username is None else {"username": acc.username}
        return table | secret_keys("password", acc.password)

    def user(self, acc: AccountConfig) -> str | None:
        return acc.username

    def describe_auth(self, acc: AccountConfig) -> str:
        return "none" if acc.password is None else f"password {secret_phrase(acc.password)}"

    def secret_refs(self, acc: AccountConfig) -> Sequence[SecretRef]:
        return [] if acc.password is None else [acc.password]

    def urls(self, acc: AccountConfig) -> Sequence[tuple[str, str]]:
        return [("endpoint", acc.endpoint)]

    def validate_id(self, lookup_id: str) -> str:
        return validate_transaction_id(lookup_id)

    def status_text(self, status: int | None, description: str | None = None) -> str:
        return interfax_status_text(status) if status is not None else "No status"

    async def connect(
        self, acc: AccountConfig, http: httpx.AsyncClient, secret: ResolveSecret
    ) -> InterFaxSession:
        if acc.username is None or acc.password is None:
            raise ConfigError(f"account {acc.name!r}: username and password are required")
        client = InterFaxClient(
            acc.name,
            acc.endpoint,
            acc.username,
            await secret(acc.password, "password"),
            soap_version=acc.soap_version,
            http=http,
            timeout=acc.timeout_seconds,
        )
        return InterFaxSession(client, acc.page_depth)


INTERFAX = InterFaxAdapter()
