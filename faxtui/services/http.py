"""The HTTP side shared by both SOAP clients: posting, a hard size cap, error mapping, values.

Everything that can go wrong between "send the request" and "here is the operation's response
element" becomes one `ProviderError` with a one-line message. Messages name the host and what
happened; they never quote request bodies or headers, and `scrub` removes the account's
secrets from anything a server sent back (a fault string may echo the request).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import re
import socket
import ssl
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from typing import Generic, TypeVar

import httpx
from lxml import etree

from faxtui.errors import (
    AuthError,
    ProtocolError,
    ProviderError,
    RateLimited,
    ServiceError,
    SoapFault,
    TransportError,
)
from faxtui.services.soap import MAX_RESPONSE_BYTES, parse_response, qname

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20.0
XML_MEDIA_TYPES = frozenset({"text/xml", "application/soap+xml", "application/xml"})
MIB = 1024 * 1024
REDACTED = "***"

Redactor = Callable[[str], str]


def _user_agent() -> str:
    try:
        return f"faxtui/{version('faxtui')}"
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "faxtui"


USER_AGENT = _user_agent()


def host_label(url: str | httpx.URL) -> str:
    """`host` or `host:port` of a URL (userinfo, path and query left out)."""
    parsed = httpx.URL(url)
    host = str(parsed.host)
    return f"{host}:{parsed.port}" if parsed.port is not None else host


def check_endpoint(url: str, what: str = "endpoint") -> str:
    """Reject a URL we could never post to, at construction time rather than on the first poll."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValueError(f"{what} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"{what} must be an http:// or https:// URL with a host")
    if parsed.userinfo:
        raise ValueError(f"{what} must not carry a user name or password")
    return url


def _is_loopback_host(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plain_http_problem(url: str) -> str | None:
    """Why posting credentials to `url` would be unsafe (plain http off this machine), or None: the
    one place this policy is decided (config files and accounts built in code alike)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "not a valid URL"
    if parsed.scheme == "http" and not _is_loopback_host(str(parsed.host)):
        return f"plain http to {parsed.host} would send credentials unencrypted"
    return None


def size_text(limit: int) -> str:
    if limit >= MIB and limit % MIB == 0:
        return f"{limit // MIB} MiB"
    if limit >= MIB:
        return f"{limit / MIB:.1f} MiB"
    return f"{limit} bytes"


SUBSTRING_SECRET = 8


def make_redactor(secrets: Iterable[str | None]) -> Redactor:
    """A function that replaces every given secret (longest first) with `***`.

    A secret of 8 characters or more is replaced wherever it appears. A shorter one only where
    it stands as a word of its own, so it does not mangle the text around it (password "demo"
    must not turn account "demo-interfax" into "***-interfax").
    """
    found = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not found:
        return lambda text: text
    alternatives = "|".join(
        re.escape(s) if len(s) >= SUBSTRING_SECRET else rf"(?<![\w-]){re.escape(s)}(?![\w-])" for s in found
    )
    pattern = re.compile(alternatives)
    return lambda text: pattern.sub(REDACTED, text)


def scrub(exc: ProviderError, redact: Redactor) -> ProviderError:
    """Remove secrets from an error's message (and a fault's parts) in place; returns it."""
    if isinstance(exc, SoapFault):
        exc.faultcode = redact(exc.faultcode)
        exc.faultstring = redact(exc.faultstring)
        exc.code = exc.faultcode
    exc.message = redact(exc.message)
    exc.args = (exc.message,)
    return exc


# --- transport errors ---------------------------------------------------------------------------

def _causes(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def transport_kind(exc: BaseException) -> str:
    """What kind of transport failure an httpx exception (and its causes) is, in a few words."""
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timed out"
    chain = list(_causes(exc))
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain):
        return "TLS error"
    if any(isinstance(e, socket.gaierror) for e in chain):
        return "DNS failure"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    if isinstance(exc, httpx.ProxyError):
        return "proxy error"
    if isinstance(exc, httpx.ConnectError):
        return "cannot connect"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError | httpx.CloseError):
        return "connection dropped"
    if any(isinstance(e, ConnectionError) for e in chain):
        return "connection dropped"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "unsupported URL scheme"
    return f"transport error ({type(exc).__name__})"


def transport_error(exc: BaseException, host: str, timeout: float | None = None) -> TransportError:
    kind = transport_kind(exc)
    if kind == "timed out" and timeout is not None:
        kind = f"timed out after {timeout:g} s"
    return TransportError(f"{host}: {kind}")


# --- posting ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """A complete HTTP response, read within the size cap."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes
    elapsed_ms: float

    @property
    def host(self) -> str:
        return host_label(self.url)

    @property
    def media_type(self) -> str:
        content_type = str(self.headers.get("content-type", ""))
        return content_type.split(";", 1)[0].strip().lower()


class HttpPoster:
    """Posts bodies over one `httpx.AsyncClient` (kept for connection reuse), reading with a cap.

    The client is either injected (the caller closes it) or created here (closed by `aclose`).
    TLS verification is never turned off by this code. `timeout` bounds each whole exchange,
    connect to last byte, not just each socket operation.
    """

    def __init__(
        self,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.owns_client = http is None
        self.client = http if http is not None else httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    @property
    def closed(self) -> bool:
        return self.client.is_closed

    async def aclose(self) -> None:
        if self.owns_client:
            await self.client.aclose()

    async def post(self, url: str, content: bytes, headers: Mapping[str, str]) -> HttpAnswer:
        """POST and read the whole answer; transport failures raise `TransportError`."""
        host = host_label(url)
        all_headers = {"User-Agent": USER_AGENT, **headers}
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                async with self.client.stream(
                    "POST", url, content=content, headers=all_headers, timeout=self.timeout
                ) as response:
                    body = await self._read_capped(response)
        except ProviderError:
            raise
        except (httpx.TransportError, OSError, TimeoutError) as exc:
            log.debug("POST %s failed: %s", host, transport_kind(exc))
            raise transport_error(exc, host, self.timeout) from None
        except httpx.DecodingError:
            raise ProtocolError(f"{host}: response body could not be decoded") from None
        except httpx.HTTPError as exc:
            raise transport_error(exc, host) from None
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        log.debug("POST %s -> HTTP %d, %d bytes, %.0f ms", host, response.status_code, len(body), elapsed_ms)
        return HttpAnswer(url, response.status_code, response.headers, body, elapsed_ms)

    async def _read_capped(self, response: httpx.Response) -> bytes:
        too_big = ProtocolError(f"response larger than {size_text(self.max_bytes)}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        # Counted after content decoding, so a small gzip body cannot expand past the cap unseen.
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)


# --- SOAP answers -------------------------------------------------------------------------------

def retry_after_seconds(value: str | None) -> float | None:
    """A numeric Retry-After in seconds; an HTTP-date or garbage gives None (the caller decides)."""
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    return None


def _fault_in(answer: HttpAnswer) -> SoapFault | None:
    """The SOAP Fault carried by an error response, if its body is an envelope with one."""
    try:
        parse_response(answer.body, "urn:faxtui:none", "none", http_status=answer.status)
    except SoapFault as fault:
        return fault
    except ProtocolError:
        return None
    return None  # pragma: no cover - no real response uses the probe name


def check_http_status(answer: HttpAnswer, account: str) -> None:
    """Map a non-200 SOAP answer to the error taxonomy (200 passes)."""
    status = answer.status
    if status == 200:
        return
    host = answer.host
    if status == 429:
        delay = retry_after_seconds(answer.headers.get("retry-after"))
        hint = f", retry after {delay:g} s" if delay is not None else ""
        raise RateLimited(f"rate limited by {host} for account {account} (HTTP 429{hint})", retry_after=delay)
    if status in (401, 403):
        raise AuthError(f"authentication failed for account {account} (HTTP {status} from {host})")
    # A 503's Retry-After says how long the service expects to be down (RFC 9110 §10.2.3).
    delay = retry_after_seconds(answer.headers.get("retry-after")) if status == 503 else None
    fault = _fault_in(answer)
    if fault is not None:
        fault.retry_after = delay
        raise fault
    hint = f", retry after {delay:g} s" if delay is not None else ""
    raise ServiceError(f"HTTP {status} from {host}{hint}", code=status, retry_after=delay)


def check_xml_content_type(answer: HttpAnswer) -> None:
    media = answer.media_type
    if media not in XML_MEDIA_TYPES:
        shown = repr(media[:60]) if media else "none"
        raise ProtocolError(f"{answer.host} answered with content type {shown}, not XML")


Parsed = TypeVar("Parsed")
REPEAT_MEMO_LIMIT = 512
"""Requests whose last answer a client remembers (a Concord account with 51,200 watched ids)."""


class RepeatMemo(Generic[Parsed]):
    """What the last answer to each request was read as, by a digest of the answer's bytes.

    A quiet account answers poll after poll with the very same bytes; those are not parsed again
    (a 100-item page: ~1.5 ms of XML and typing saved, against ~30 µs for the digest). Only an
    answer that was read without error is kept, and any changed byte means a full read. Values
    are shared between calls, so they must be immutable. What is kept is bounded twice: by the
    requests of the last two polls (`new_round`) and by `limit`, the oldest forgotten first.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._seen: dict[Hashable, tuple[bytes, Parsed]] = {}
        self._limit = REPEAT_MEMO_LIMIT if limit is None else limit
        """Requests remembered at most; 0 remembers none (every answer is read in full)."""
        self._asked: set[Hashable] = set()
        """Requests read since the current round (poll) began."""

    def new_round(self) -> None:
        """A poll begins: forget the answers to requests the previous poll did not make (a watch
        list that changed, pages that moved on), so what is kept stays what is polled."""
        if self._asked:
            for request in [r for r in self._seen if r not in self._asked]:
                del self._seen[request]
        self._asked = set()

    def read(self, request: Hashable, answer: HttpAnswer, account: str, operation_ns: str, element: str,
             reader: Callable[[etree._Element], Parsed]) -> Parsed:
        """`reader` applied to the `{operation_ns}element` of a SOAP answer (or the matching error),
        unless this request got these very bytes last time: then what they were read as then."""
        check_http_status(answer, account)
        check_xml_content_type(answer)
        self._asked.add(request)
        digest = hashlib.blake2b(answer.body, digest_size=16).digest()
        seen = self._seen.pop(request, None)
        if seen is not None and seen[0] == digest:
            self._seen[request] = seen
            return seen[1]
        _, result = parse_response(answer.body, operation_ns, element, http_status=answer.status)
        value = reader(result)
        if self._limit > 0:
            if len(self._seen) >= self._limit:
                del self._seen[next(iter(self._seen))]
            self._seen[request] = (digest, value)
        return value

    def __len__(self) -> int:
        return len(self._seen)


# --- values inside a SOAP answer ----------------------------------------------------------------

def child(parent: etree._Element, ns: str, name: str) -> etree._Element | None:
    """A child element by namespace URI (whatever its prefix); an unqualified one is accepted too."""
    found = parent.find(qname(ns, name))
    return found if found is not None else parent.find(name)


def children(parent: etree._Element, ns: str, name: str) -> list[etree._Element]:
    return parent.findall(qname(ns, name)) + parent.findall(name)


def child_text(parent: etree._Element, ns: str, name: str) -> str | None:
    """The text of a child: None when the element is missing, "" when it is empty."""
    el = child(parent, ns, name)
    if el is None:
        return None
    return el.text or ""


_INT = re.compile(r"[+-]?\d{1,12}")
_DECIMAL = re.compile(r"[+-]?(\d{1,30}(\.\d{0,30})?|\.\d{1,30})")
_DATETIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"T(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?"
)


def parse_int(text: str) -> int:
    """An xs:int / xs:short lexical value; ValueError otherwise (no `_`, no spaces inside)."""
    cleaned = text.strip()
    if not _INT.fullmatch(cleaned):
        raise ValueError(text)
    return int(cleaned)


def parse_decimal(text: str) -> Decimal:
    cleaned = text.strip()
    if not _DECIMAL.fullmatch(cleaned):
        raise ValueError(text)
    return Decimal(cleaned)


_SQL_ZERO_DATE = re.compile(r"1900-01-01T00:00:00(?:\.0+)?(?:Z|[+-]00:00)?")


def is_zero_date(text: str) -> bool:
    """SQL Server's "no date" (its datetime 0), in any of the forms a server writes it."""
    return _SQL_ZERO_DATE.fullmatch(text.strip()) is not None


def parse_datetime(text: str) -> datetime | None:
    """An xs:dateTime as an aware datetime; None for the "no date" values; ValueError if malformed.

    Accepts fractional seconds of any length (.NET writes seven digits; kept to microseconds),
    `Z` or `±hh:mm`; a value without an offset is GMT (interfax.md §3). .NET `DateTime.MinValue`
    (`0001-01-01T00:00:00`, indeed anything in year 1), the documented `0000-00-00…` form and SQL
    Server's zero date (`1900-01-01T00:00:00`, what a NOT NULL datetime column holds when nothing
    was set) mean "not postponed" / "not completed".
    """
    cleaned = text.strip()
    if cleaned.startswith("0000-00-00"):
        return None
    match = _DATETIME.fullmatch(cleaned)
    if match is None:
        raise ValueError(text)
    year = int(match["year"])
    if year <= 1 or is_zero_date(cleaned):
        return None
    zone = match["zone"]
    if zone is None or zone == "Z":
        tz: timezone = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 14 or minutes > 59:
            raise ValueError(text)
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    micro = int((match["fraction"] or "0")[:6].ljust(6, "0"))
    return datetime(
        year, int(match["month"]), int(match["day"]),
        int(match["hour"]), int(match["minute"]), int(match["second"]), micro, tzinfo=tz,
    )
