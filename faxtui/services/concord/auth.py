"""Concord credentials: telling an authentication failure from other errors, and bearer tokens from
an OAuth 2.0 client-credentials grant (concord.md §1.4)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from faxtui.errors import AuthError, ProtocolError, ProviderError, RateLimited, ServiceError
from faxtui.services.concord.codes import (
    CONCORD_INVALID_JOB_ID,
)
from faxtui.services.http import (
    DEFAULT_TIMEOUT,
    HttpAnswer,
    HttpPoster,
    check_endpoint,
    make_redactor,
    retry_after_seconds,
    scrub,
)

log = logging.getLogger(__name__)

DEFAULT_OAUTH_SCOPE = "FaxWS"
"""Without `offline_access`: that scope asks for a refresh token, which the client-credentials grant
never gets, and IdentityServer (what `/connect/token` points to, concord.md §1.4) refuses it with
`invalid_scope`. The one public client that sends it (P1) uses the password grant."""
TOKEN_RESPONSE_MAX_BYTES = 1024 * 1024
DEFAULT_EXPIRES_IN = 300.0
"""Lifetime assumed when a token answer has no `expires_in`: short, so a wrong guess costs little."""

_AUTH_WORDS = re.compile(
    r"\b(auth\w*|unauthori[sz]ed|not authori[sz]ed|credentials?|log-?in|password|pin|token|access denied"
    r"|forbidden|permission denied|user\s?id|user ?name|invalid user|mailbox"
    r"|account\s+(?:is\s+|has\s+been\s+)?(?:disabled|locked|suspended|inactive|expired|closed|blocked"
    r"|not\s+found|unknown|not\s+active))\b",
    re.IGNORECASE,
)
JOB_ERROR_CODES = frozenset({CONCORD_INVALID_JOB_ID, -5040})
"""WSError codes documented as being about jobs, not credentials (concord.md §3.2)."""
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")



def looks_like_auth_failure(text: str | None) -> bool:
    """True when a WSError text is about credentials: it names authentication, a login, password,
    PIN or token, the user id or user name, or an account that is disabled, locked, unknown…"""
    return bool(text and _AUTH_WORDS.search(text))


def is_auth_failure(code: int | None, text: str | None) -> bool:
    """Whether a WSError means the credentials were refused.

    By code where the code says it: Concord documents no credential error codes (concord.md §3.2),
    only codes about jobs (-5019, -5040), and those are never an authentication failure whatever
    the text. Every other code (unknown ones, 0, none) is decided by the wording."""
    if code in JOB_ERROR_CODES:
        return False
    return looks_like_auth_failure(text)


def check_token(token: str, what: str) -> str:
    if not _TOKEN_CHARS.fullmatch(token):
        raise ValueError(f"{what} must be printable ASCII without spaces")
    return token


# --- OAuth ----------------------------------------------------------------------------------------

class OAuthTokenProvider:
    """Bearer tokens from an OAuth 2.0 client-credentials grant, cached until shortly before expiry.

    Concurrent callers share one fetch. `invalidate()` forgets the cached token (optionally only
    if it is still the one given, so two clients that both saw a 401 cause one refetch, not two).
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        http: httpx.AsyncClient | None = None,
        scope: str = DEFAULT_OAUTH_SCOPE,
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.token_url = check_endpoint(token_url, "token_url")
        self.client_id = client_id
        self.scope = scope
        self.refresh_margin = refresh_margin
        self.fetches = 0
        self._client_secret = client_secret
        self._clock = clock
        self._http = HttpPoster(http=http, timeout=timeout, max_bytes=TOKEN_RESPONSE_MAX_BYTES)
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def __repr__(self) -> str:
        return f"OAuthTokenProvider(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def secrets(self) -> list[str]:
        """What must never appear in a message: the client secret and the current token."""
        return [s for s in (self._client_secret, self._token) if s]

    async def aclose(self) -> None:
        await self._http.aclose()

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (only if it is still `token`, when one is given)."""
        if token is None or token == self._token:
            self._token = None

    def _fresh(self) -> str | None:
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token
        return None

    async def token(self) -> str:
        cached = self._fresh()
        if cached is not None:
            return cached
        async with self._lock:
            cached = self._fresh()
            if cached is not None:
                return cached
            try:
                token, expires_in = await self._fetch()
            except ProviderError as exc:
                raise scrub(exc, make_redactor(self.secrets())) from None
            margin = min(self.refresh_margin, expires_in / 2)
            self._token = token
            self._refresh_at = self._clock() + expires_in - margin
            return token

    async def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "scope": self.scope,
        }
        self.fetches += 1
        answer = await self._http.post(
            self.token_url,
            urlencode(form).encode("ascii"),
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        self._check_status(answer)
        data = self._json(answer)
        token = data.get("access_token")
        if not isinstance(token, str) or not _TOKEN_CHARS.fullmatch(token):
            raise ProtocolError(f"token endpoint {answer.host} sent no usable access_token")
        token_type = data.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise ProtocolError(f"token endpoint {answer.host} sent a token that is not a Bearer token")
        return token, self._expires_in(data.get("expires_in"), answer.host)

    def _check_status(self, answer: HttpAnswer) -> None:
        if answer.status == 200:
            return
        if answer.status in (400, 401):
            reason = ""
            try:
                error = json.loads(answer.body).get("error")
                if isinstance(error, str) and re.fullmatch(r"[a-z_]{1,40}", error):
                    reason = f": {error}"
            except (ValueError, AttributeError):
                pass
            raise AuthError(
                f"token request rejected for client {self.client_id} (HTTP {answer.status}{reason})"
            )
        if answer.status == 429:
            delay = retry_after_seconds(answer.headers.get("retry-after"))
            raise RateLimited(f"token endpoint {answer.host} rate limited (HTTP 429)", retry_after=delay)
        raise ServiceError(f"HTTP {answer.status} from {answer.host}", code=answer.status)

    @staticmethod
    def _json(answer: HttpAnswer) -> dict[str, Any]:
        try:
            data = json.loads(answer.body)
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError(f"token endpoint {answer.host} sent malformed JSON") from None
        if not isinstance(data, dict):
            raise ProtocolError(f"token endpoint {answer.host} sent JSON that is not an object")
        return data

    @staticmethod
    def _expires_in(value: object, host: str) -> float:
        if value is None:
            return DEFAULT_EXPIRES_IN
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ProtocolError(f"token endpoint {host} sent a malformed expires_in")
        try:
            seconds = float(value)
        except ValueError:
            raise ProtocolError(f"token endpoint {host} sent a malformed expires_in") from None
        if not seconds == seconds or seconds < 0:  # NaN or negative
            raise ProtocolError(f"token endpoint {host} sent a malformed expires_in")
        return seconds
