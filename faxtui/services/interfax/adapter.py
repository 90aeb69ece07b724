"""InterFax behind the `ServiceAdapter` seam: its account keys, its 6-calls-a-minute limit, and the
poll step (the newest pages, then look-ups of the jobs that fell off them)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from faxtui.budget import CallBudget
from faxtui.config.fields import secret_keys, secret_phrase
from faxtui.config.model import ConfigError
from faxtui.errors import ProviderError, RateLimited
from faxtui.model import FaxJob
from faxtui.services.adapter import PollContext, PollOutcome, ResolveSecret
from faxtui.services.interfax.client import DEFAULT_ENDPOINT, InterFaxClient
from faxtui.services.interfax.codes import (
    INTERFAX_ALL_TRANSACTIONS,
    INTERFAX_MAX_ITEMS,
    INTERFAX_STATUS_CALLS_PER_MINUTE,
    interfax_status_text,
)
from faxtui.services.interfax.ids import validate_transaction_id

if TYPE_CHECKING:
    from faxtui.config.fields import Section
    from faxtui.config.model import AccountConfig, SecretRef

log = logging.getLogger(__name__)

RATE_WINDOW = 61.0
"""One second more than the documented minute, so clock skew never tips us over the limit."""
CONFIG_KEYS = ("username", "password", "password_env", "password_command")


class InterFaxSession:
    """One InterFax account, connected: its client, and which off-page jobs it has asked about."""

    def __init__(self, client: InterFaxClient, page_depth: int) -> None:
        self.client = client
        self.page_depth = max(1, page_depth)
        self._lookups = 0
        self._looked_up: dict[str, float] = {}
        """When (in look-ups made) each off-page id was last asked about: the longest ago goes first."""
        self._confirmed: set[str] = set()
        """Ids not to ask about again: final when last looked up, or (unwatched) gone from the service."""

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
        pages = await self.client.recent(
            self.page_depth, INTERFAX_MAX_ITEMS, before_call=context.budget.acquire
        )
        jobs = {job.job_id: job for job in pages.jobs}
        calls = pages.calls + await self._look_up_off_page(context, jobs)
        return PollOutcome(list(jobs.values()), calls, warnings=pages.warnings)

    async def _look_up_off_page(self, context: PollContext, jobs: dict[str, FaxJob]) -> int:
        """Jobs that fell off the pages, one call each, only while the spare budget has room: watched
        ids first, then jobs last seen in progress (else they would show as sending for ever); within
        each, the one asked about longest ago (or never) first, so none starves. Look-ups are extras:
        one that fails ends the look-ups, never the pages already read. Returns the calls made."""
        confirmed = self._confirmed
        watched = [i for i in context.watched_ids() if i not in jobs and i not in confirmed]
        stale = sorted(
            (
                job.job_id
                for job in context.known_jobs()
                if job.state.is_active
                and job.job_id not in jobs
                and job.job_id not in confirmed
                and job.job_id not in watched
            ),
            key=int,
            reverse=True,
        )
        asked = self._looked_up
        for gone in set(asked) - set(watched) - set(stale):
            del asked[gone]
        if not watched and not stale:
            return 0
        spare = context.spare_budget()
        budget = context.budget
        order = [(tid, True) for tid in sorted(watched, key=lambda t: asked.get(t, -1.0))]
        order += [(tid, False) for tid in sorted(stale, key=lambda t: asked.get(t, -1.0))]
        calls = 0
        for tid, is_watched in order:
            if spare.available() <= 0 or not budget.try_acquire():
                break
            spare.try_acquire()
            calls += 1
            self._lookups += 1
            asked[tid] = float(self._lookups)
            try:
                found = await self.client.lookup(int(tid))
            except RateLimited as exc:
                budget.exhaust(exc.retry_after)
                break
            except ProviderError as exc:
                log.debug("account %s: look-up of %s failed: %s", self.client.account, tid, exc)
                break
            if found is not None:
                jobs[found.job_id] = found
                if found.state.is_final:
                    confirmed.add(tid)
            elif not is_watched:
                confirmed.add(tid)  # gone from the service: stop asking
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
