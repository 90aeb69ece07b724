"""The provider error taxonomy.

Every error carries a one-line message fit to show a user. Messages are built from what the
code knows (the account, the host, a code and its documented text), never from request bodies
or headers, so no password, PIN or token can end up in one. Strings that came from a server
are cut to one line and a bounded length by `one_line`.
"""

from __future__ import annotations

MAX_MESSAGE = 200


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """Collapse whitespace and control characters to single spaces, and bound the length."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return cleaned


class ProviderError(Exception):
    """Base of every error a provider raises. `str(err)` is the one-line user message."""

    kind = "error"

    def __init__(self, message: str) -> None:
        self.message = one_line(message)
        super().__init__(self.message)


class AuthError(ProviderError):
    """The service rejected the credentials (InterFax -1003/-1876, Concord auth failures)."""

    kind = "auth"


class RateLimited(ProviderError):
    """The service said to slow down (InterFax -1011, HTTP 429). `retry_after` in seconds."""

    kind = "rate_limited"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceError(ProviderError):
    """The service answered with an error of its own (ResultCode, WSError, a SOAP Fault, 5xx).
    `retry_after`: seconds a 503's Retry-After asked for, when it gave a number."""

    kind = "service"

    def __init__(self, message: str, code: int | str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class SoapFault(ServiceError):
    """A SOAP 1.1 or 1.2 Fault, keeping its faultcode and faultstring."""

    def __init__(self, faultcode: str, faultstring: str, http_status: int | None = None) -> None:
        self.faultcode = one_line(faultcode, 80)
        self.faultstring = one_line(faultstring)
        self.http_status = http_status
        where = f" (HTTP {http_status})" if http_status else ""
        super().__init__(f"SOAP fault {self.faultcode}{where}: {self.faultstring}", code=self.faultcode)


class ProtocolError(ProviderError):
    """The answer was not what the protocol promises: malformed, truncated, wrong type or shape."""

    kind = "protocol"


class TransportError(ProviderError):
    """The request did not get an answer: refused, DNS, TLS, timeout, dropped connection."""

    kind = "transport"
