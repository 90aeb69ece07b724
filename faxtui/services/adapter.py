"""The seam between faxtui and a fax service: what the poller, the config and the UI may ask of one.

A `ServiceAdapter` is everything a service is: its config keys and their rules, its rate limit,
its id forms, how to connect an account (resolving its secrets) and, through the `ServiceSession`
that connecting gives, one poll step returning a plain `PollOutcome`. The poller schedules, budgets
and reconciles; it never asks which service it holds. A new service is a folder beside
`interfax/` and `concord/` with an adapter, and one line in `registry.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from faxtui.budget import CallBudget
from faxtui.model import FaxJob

if TYPE_CHECKING:
    from faxtui.config.fields import Section
    from faxtui.config.model import AccountConfig, SecretRef

ResolveSecret = Callable[["SecretRef", str], Awaitable[str]]
"""Turns an account's secret reference into the secret (`what` names it in errors); may run a command."""


@dataclass(slots=True)
class PollOutcome:
    """What one poll step of one account brought back: the jobs seen, the ids the service says it
    does not know, the calls made, and what went wrong without failing the poll (one line each)."""

    jobs: list[FaxJob]
    calls: int
    not_found: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class PollContext(Protocol):
    """What the poller tells a session about its account for one poll step."""

    @property
    def budget(self) -> CallBudget:
        """The account's rate budget: every call comes out of it."""
        ...

    def spare_calls(self) -> int:
        """How many calls beyond the newest pages may be made now: what the budget has left, less
        one for each other account of the same user (their next page comes first)."""
        ...

    def watched_ids(self) -> list[str]:
        """The account's watched ids (job ids or references), in watch-list order."""
        ...

    def known_jobs(self) -> Iterable[FaxJob]:
        """The account's jobs as last seen."""
        ...

    def known_job(self, job_id: str) -> FaxJob | None: ...


class ServiceSession(Protocol):
    """A connected account: its client, and what its poll steps remember between polls."""

    def secrets(self) -> list[str]:
        """Every secret this session holds or fetched (tokens included): never to be shown."""
        ...

    def watch_added(self, lookup_id: str) -> None:
        """An id was (re)added to the watch list: ask about it again even if it was final."""
        ...

    async def poll(self, context: PollContext) -> PollOutcome: ...

    async def check(self, budget: CallBudget | None) -> str:
        """One real call proving the credentials work; a few words on what it saw. The call is
        taken from `budget` (already acquired by the caller); extra calls are charged to it."""
        ...

    async def aclose(self) -> None: ...


class ServiceAdapter(Protocol):
    """One fax service. Instances are stateless; per-account state lives in sessions."""

    service: str
    """The name in the config file and in JSON (`"interfax"`)."""
    label: str
    """The name shown to people (`"InterFax"`)."""
    default_endpoint: str
    default_poll_seconds: float
    calls_per_minute: int
    rate_window: float
    """Seconds over which `calls_per_minute` is counted."""
    config_keys: tuple[str, ...]
    """The account keys this service reads beside the common ones."""
    reported_fields: frozenset[str] | None
    """The FaxItemEx fields this service fills (None: all 27); the others are not reported."""

    def parse_settings(
        self, section: Section, raw: Mapping[str, Any], common: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The service's AccountConfig fields from an `[[accounts]]` table (ConfigError via `section`).
        `common` holds the common fields already read (poll_seconds, page_depth, allow_insecure…)."""
        ...

    def settings_table(self, acc: AccountConfig) -> dict[str, Any]:
        """The service's keys of `acc` as TOML values (only those that are set)."""
        ...

    def user(self, acc: AccountConfig) -> str | None:
        """Who the account logs in as: calls by one user share one rate budget."""
        ...

    def describe_auth(self, acc: AccountConfig) -> str:
        """How the account authenticates, in words, never showing a secret."""
        ...

    def secret_refs(self, acc: AccountConfig) -> Sequence[SecretRef]:
        """Every secret reference the account holds."""
        ...

    def urls(self, acc: AccountConfig) -> Sequence[tuple[str, str]]:
        """(key, URL) of every address the account sends credentials to."""
        ...

    def validate_id(self, lookup_id: str) -> str:
        """The id as it will be sent, or ValueError saying what form the service expects."""
        ...

    def status_text(self, status: int | None, description: str | None = None) -> str:
        """The words for a status code (the server's own description first, where it sends one)."""
        ...

    async def connect(
        self, acc: AccountConfig, http: httpx.AsyncClient, secret: ResolveSecret
    ) -> ServiceSession:
        """A session of the account (ConfigError when its credentials are incomplete)."""
        ...
