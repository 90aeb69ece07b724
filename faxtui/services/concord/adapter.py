"""Concord behind the `ServiceAdapter` seam: its account keys (three ways to authenticate), a
polite call limit, and the poll step (the watched ids, in batches)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from faxtui.budget import CallBudget
from faxtui.config.fields import secret_keys, secret_phrase
from faxtui.config.model import ConfigError
from faxtui.model import CONCORD_MAPPED, JobState
from faxtui.services.adapter import PollContext, PollOutcome, ResolveSecret
from faxtui.services.concord.auth import DEFAULT_OAUTH_SCOPE, OAuthTokenProvider
from faxtui.services.concord.client import DEFAULT_ENDPOINT, ConcordClient
from faxtui.services.concord.codes import concord_status_text
from faxtui.services.concord.ids import is_reference, validate_lookup_id

if TYPE_CHECKING:
    from faxtui.config.fields import Section
    from faxtui.config.model import AccountConfig, SecretRef

CALLS_PER_MINUTE = 120
"""Concord documents no limit; this keeps faxtui a polite client all the same."""
CONFIG_KEYS = (
    "user_id",
    "token",
    "token_env",
    "token_command",
    "token_url",
    "client_id",
    "client_secret",
    "client_secret_env",
    "client_secret_command",
    "pin",
    "pin_env",
    "pin_command",
    "content_type",
    "oauth_scope",
)
CONTENT_TYPE = re.compile(
    r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+(?:\s*;\s*[a-z0-9_-]+=[A-Za-z0-9_.\"-]+)*", re.IGNORECASE
)
SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")
"""RFC 6749 §3.3: space-separated scope tokens of printable ASCII but `"` and `\\`."""
CONNECTION_TEST_ID = "JRI-faxtui-connection-test"
"""What `accounts test` asks about: any answer, even "invalid job id", proves the credentials."""


def auth_method(acc: AccountConfig) -> str:
    """`token`, `client_credentials`, `pin`, or `none`: which of the three ways the account logs in."""
    if acc.token is not None:
        return "token"
    if acc.client_secret is not None:
        return "client_credentials"
    return "pin" if acc.pin is not None else "none"


class ConcordSession:
    """One Concord account, connected: its client, and which ids need not be asked about again."""

    def __init__(self, client: ConcordClient) -> None:
        self.client = client
        self._confirmed: set[str] = set()
        """br ids whose final state (or not-found) was seen twice: asking again would change nothing."""

    def secrets(self) -> list[str]:
        provider = self.client.token_provider
        return provider.secrets() if provider is not None else []

    def watch_added(self, lookup_id: str) -> None:
        self._confirmed.discard(lookup_id)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def check(self, budget: CallBudget | None) -> str:
        result = await self.client.status([CONNECTION_TEST_ID])
        if budget is not None:
            budget.charge(result.calls - 1)
        return "credentials accepted" if result.calls else "no answer"

    async def poll(self, context: PollContext) -> PollOutcome:
        ids = [lookup for lookup in context.watched_ids() if lookup not in self._confirmed]
        if not ids:
            return PollOutcome([], 0)
        budget = context.budget
        batches = len(self.client.plan_batches(ids))
        for _ in range(batches):
            await budget.acquire()
        result = await self.client.status(ids)
        # Splitting a batch around an invalid id, or a token retry, costs calls nobody asked for.
        budget.charge(result.calls - batches)
        for job in result.jobs:
            previous = context.known_job(job.job_id)
            # A br id whose final state was already seen once is confirmed: stop asking for it.
            if (
                job.lookup_id is None
                and not is_reference(job.job_id)  # a reference may yet be used: keep asking
                and (job.state.is_final or job.state is JobState.NOT_FOUND)
                and previous is not None
                and previous.state == job.state
            ):
                self._confirmed.add(job.job_id)
        return PollOutcome(list(result.jobs), result.calls, list(result.not_found), list(result.warnings))


class ConcordAdapter:
    service = "concord"
    label = "Concord"
    default_endpoint = DEFAULT_ENDPOINT
    default_poll_seconds = 15.0
    calls_per_minute = CALLS_PER_MINUTE
    rate_window = 60.0
    config_keys: tuple[str, ...] = CONFIG_KEYS
    reported_fields: frozenset[str] | None = frozenset(CONCORD_MAPPED)

    def parse_settings(
        self, section: Section, raw: Mapping[str, Any], common: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Exactly one of: a bearer token, OAuth client credentials, or the deprecated PIN."""
        allow_insecure = common["allow_insecure"]
        user_id = section.string(raw, "user_id", required=True)
        token = section.secret(raw, "token")
        pin = section.secret(raw, "pin")
        client_keys = [
            k
            for k in ("token_url", "client_id", "client_secret", "client_secret_env", "client_secret_command")
            if k in raw
        ]
        methods = [
            (label, key)
            for label, key in (
                ("bearer token", next((k for k in raw if k.startswith("token") and k != "token_url"), None)),
                ("OAuth client credentials", client_keys[0] if client_keys else None),
                ("PIN", next((k for k in raw if k.startswith("pin")), None)),
            )
            if key is not None
        ]
        if len(methods) > 1:
            (first, first_key), (second, second_key) = methods[:2]
            raise section.fail(
                second_key,
                f"conflicts with '{first_key}': use one auth method per account "
                f"({second} or {first}, not both)",
            )
        if not methods:
            raise section.fail(
                "token",
                "missing credentials: set token, token_env or token_command; or token_url, client_id "
                "and client_secret (or client_secret_env / client_secret_command); "
                "or pin, pin_env or pin_command",
            )
        auth: dict[str, Any] = {"user_id": user_id, "token": token, "pin": pin}
        content_type = section.string(raw, "content_type")
        if content_type is not None:
            if not CONTENT_TYPE.fullmatch(content_type.strip()):
                raise section.fail(
                    "content_type", 'must be a media type such as "application/soap+xml; charset=utf-8"'
                )
            auth["content_type"] = content_type.strip()
        scope = section.string(raw, "oauth_scope")
        if scope is not None:
            if not client_keys:
                raise section.fail(
                    "oauth_scope", "is only used with OAuth client credentials (token_url, client_id)"
                )
            if not SCOPE.fullmatch(scope):
                raise section.fail(
                    "oauth_scope", 'must be scope names separated by single spaces, e.g. "FaxWS"'
                )
            auth["oauth_scope"] = scope
        if client_keys:
            need = (
                "OAuth client credentials need token_url, client_id and one of client_secret, "
                "client_secret_env, client_secret_command"
            )
            if "token_url" not in raw:
                raise section.fail("token_url", f"missing: {need}")
            if "client_id" not in raw:
                raise section.fail("client_id", f"missing: {need}")
            auth["token_url"] = section.url(raw, "token_url", None, allow_insecure)
            auth["client_id"] = section.string(raw, "client_id", required=True)
            auth["client_secret"] = section.secret(raw, "client_secret")
            if auth["client_secret"] is None:
                raise section.fail("client_secret", f"missing: {need}")
        return auth

    def settings_table(self, acc: AccountConfig) -> dict[str, Any]:
        table: dict[str, Any] = {} if acc.user_id is None else {"user_id": acc.user_id}
        table |= secret_keys("token", acc.token)
        if acc.token_url is not None:
            table["token_url"] = acc.token_url
        if acc.client_id is not None:
            table["client_id"] = acc.client_id
        table |= secret_keys("client_secret", acc.client_secret)
        table |= secret_keys("pin", acc.pin)
        if acc.content_type is not None:
            table["content_type"] = acc.content_type
        if acc.oauth_scope is not None:
            table["oauth_scope"] = acc.oauth_scope
        return table

    def user(self, acc: AccountConfig) -> str | None:
        return acc.user_id

    def describe_auth(self, acc: AccountConfig) -> str:
        if acc.token is not None:
            return f"bearer token {secret_phrase(acc.token)}"
        if acc.client_secret is not None:
            return f"OAuth client {acc.client_id}, secret {secret_phrase(acc.client_secret)}"
        if acc.pin is not None:
            return f"PIN (deprecated) {secret_phrase(acc.pin)}"
        return "none"

    def secret_refs(self, acc: AccountConfig) -> Sequence[SecretRef]:
        return [ref for ref in (acc.token, acc.client_secret, acc.pin) if ref is not None]

    def urls(self, acc: AccountConfig) -> Sequence[tuple[str, str]]:
        pairs = [("endpoint", acc.endpoint)]
        return [*pairs, ("token_url", acc.token_url)] if acc.token_url else pairs

    def validate_id(self, lookup_id: str) -> str:
        return validate_lookup_id(lookup_id)

    def status_text(self, status: int | None, description: str | None = None) -> str:
        return concord_status_text(status, description)

    async def connect(
        self, acc: AccountConfig, http: httpx.AsyncClient, secret: ResolveSecret
    ) -> ConcordSession:
        if acc.user_id is None:
            raise ConfigError(f"account {acc.name!r}: user_id is required")
        options: dict[str, Any] = {
            "soap_version": acc.soap_version,
            "http": http,
            "timeout": acc.timeout_seconds,
            "batch_size": acc.batch_size,
            "content_type": acc.content_type,
        }
        if acc.token is not None:
            options["token"] = await secret(acc.token, "token")
        elif acc.client_secret is not None and acc.token_url and acc.client_id:
            options["token_provider"] = OAuthTokenProvider(
                acc.token_url,
                acc.client_id,
                await secret(acc.client_secret, "client_secret"),
                http=http,
                timeout=acc.timeout_seconds,
                scope=acc.oauth_scope or DEFAULT_OAUTH_SCOPE,
            )
        elif acc.pin is not None:
            options["pin"] = await secret(acc.pin, "pin")
        else:
            raise ConfigError(
                f"account {acc.name!r}: no Concord credentials (token, client credentials or pin)"
            )
        return ConcordSession(ConcordClient(acc.name, acc.endpoint, acc.user_id, **options))


CONCORD = ConcordAdapter()
