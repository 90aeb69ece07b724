"""The OAuth 2.0 client-credentials token endpoint (`POST /v1/connect/token`) and its tokens.

Shape after the only public client (concord.md §1.4, P1): a form POST with grant_type,
client_id, client_secret and scope (HTTP Basic client authentication is accepted too); the
answer is JSON access_token / expires_in / token_type "Bearer". Tokens expire on the world's
clock, so a test with a FakeClock can watch one expire. With
`SimOptions.oauth_refuse_offline_access` the endpoint refuses a client_credentials request whose
scope names `offline_access` with HTTP 400 `{"error": "invalid_scope"}`, as IdentityServer does.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from faxtui.sim.exchange import HttpRequest, Reply, json_reply
from faxtui.sim.world import World

NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
DEFAULT_SCOPE = "FaxWS"
OFFLINE_ACCESS = "offline_access"


@dataclass(frozen=True, slots=True)
class _Issued:
    users: frozenset[str]
    expires_at: float


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """A token request the endpoint could read."""

    client_id: str
    client_secret: str = field(repr=False)
    grant_type: str = ""
    scope: str = ""


class TokenService:
    def __init__(self, world: World) -> None:
        self.world = world
        self._tokens: dict[str, _Issued] = {}
        self._lock = threading.Lock()

    def read(self, request: HttpRequest) -> TokenRequest | Reply:
        if request.media_type != "application/x-www-form-urlencoded":
            return json_reply(400, {"error": "invalid_request",
                                    "error_description": "expected application/x-www-form-urlencoded"})
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            return json_reply(400, {"error": "invalid_request", "error_description": "unreadable form"})

        def one(name: str) -> str:
            values = form.get(name)
            return values[0] if values else ""

        client_id, secret = one("client_id"), one("client_secret")
        basic = _basic_credentials(request.headers.get("Authorization"))
        if basic is not None:
            client_id, secret = basic
        return TokenRequest(client_id, secret, one("grant_type"), one("scope"))

    def answer(self, call: TokenRequest) -> Reply:
        if not call.grant_type:
            return json_reply(400, {"error": "invalid_request", "error_description": "grant_type is missing"})
        if call.grant_type != "client_credentials":
            return json_reply(400, {"error": "unsupported_grant_type"})
        users = self.world.oauth_client_users(call.client_id, call.client_secret)
        if users is None:
            return json_reply(401, {"error": "invalid_client"})
        if self.world.options.oauth_refuse_offline_access and OFFLINE_ACCESS in call.scope.split():
            # IdentityServer: a refresh token needs a user, so client_credentials may not ask for one.
            return json_reply(400, {"error": "invalid_scope"}, NO_STORE)
        lifetime = self.world.options.token_expires_in
        now = self.world.advance_to_now().timestamp()
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens = {t: i for t, i in self._tokens.items() if i.expires_at > now}
            self._tokens[token] = _Issued(users, now + lifetime)
        return json_reply(200, {
            "access_token": token,
            "expires_in": lifetime,
            "token_type": "Bearer",
            "scope": call.scope or DEFAULT_SCOPE,
        }, NO_STORE)

    def check(self, token: str, user_id: str) -> bool:
        """True when `token` is a live issued token, or a static one, for `user_id`."""
        if self.world.static_token_user(token) == user_id:
            return True
        now = self.world.advance_to_now().timestamp()
        wanted = token.encode()
        with self._lock:
            matches = [i for t, i in self._tokens.items() if hmac.compare_digest(t.encode(), wanted)]
        issued = matches[0] if matches else None
        return issued is not None and issued.expires_at > now and user_id in issued.users


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None
