"""InterFax `dfs.asmx` FaxStatusEx client: one page, paging backwards, single look-ups.

Wire facts: shared/protocols/interfax.md. Pages run newest first over `TransactionID <
LastTransactionID`; a call costs one of the 6 status calls a minute InterFax allows per user,
so the poller (not this client) decides how often and how deep to page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from lxml import etree

from faxtui.codes import (
    INTERFAX_ALL_TRANSACTIONS,
    INTERFAX_AUTH_BLOCKED,
    INTERFAX_AUTH_FAILED,
    INTERFAX_MAX_ITEMS,
    INTERFAX_RATE_LIMITED,
    interfax_result_text,
    interfax_state,
    interfax_status_text,
)
from faxtui.errors import AuthError, ProtocolError, ProviderError, RateLimited, ServiceError
from faxtui.model import FAXITEM_FIELDS, FaxItemEx, FaxJob, FieldValue, Service
from faxtui.providers.base import PollResult
from faxtui.providers.http import (
    DEFAULT_TIMEOUT,
    HttpPoster,
    check_endpoint,
    child,
    child_text,
    children,
    make_redactor,
    parse_datetime,
    parse_decimal,
    parse_int,
    scrub,
    soap_result,
)
from faxtui.soap import MAX_RESPONSE_BYTES, SoapVersion, build_envelope, request_headers

INTERFAX_NS = "http://www.interfax.cc"
OPERATION = "FaxStatusEx"
SOAP_ACTION = f"{INTERFAX_NS}/{OPERATION}"
RESPONSE_ELEMENT = "FaxStatusExResponse"
DEFAULT_ENDPOINT = "https://ws.interfax.net/dfs.asmx"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class InterFaxPage:
    """One FaxStatusEx answer."""

    jobs: list[FaxJob]
    total_count: int
    list_size: int
    latency_ms: float
    polled_at: datetime


def clamp_max_items(max_items: int) -> int:
    """InterFax returns at most 100 items a call; fewer than 1 is meaningless."""
    return max(1, min(INTERFAX_MAX_ITEMS, max_items))


def result_code_error(code: int, account: str) -> ProviderError:
    """The error for a FaxStatusEx ResultCode other than 0 (interfax.md §5)."""
    text = interfax_result_text(code)
    if code in (INTERFAX_AUTH_FAILED, INTERFAX_AUTH_BLOCKED):
        return AuthError(f"authentication failed for account {account} (InterFax {code}: {text})")
    if code == INTERFAX_RATE_LIMITED:
        return RateLimited(f"rate limited for account {account} (InterFax {code}: {text})", retry_after=None)
    return ServiceError(f"InterFax {code}: {text} (account {account})", code=code)


_KIND = {"int": "an int", "short": "an int", "decimal": "a decimal", "dateTime": "a dateTime"}


def _field_value(spec_xsd: str, text: str | None, label: str, name: str) -> FieldValue:
    """One FaxItemEx element's typed value; numbers are required, strings and times may be absent."""
    try:
        if spec_xsd in ("int", "short"):
            if text is None or not text.strip():
                raise ProtocolError(f"{label}: {name} is missing")
            return parse_int(text)
        if spec_xsd == "decimal":
            if text is None or not text.strip():
                raise ProtocolError(f"{label}: {name} is missing")
            return parse_decimal(text)
        if spec_xsd == "dateTime":
            return parse_datetime(text) if text and text.strip() else None
    except ValueError:
        raise ProtocolError(f"{label}: {name} is not {_KIND[spec_xsd]}") from None
    return text or None


def parse_fax_item(el: etree._Element, position: int) -> FaxItemEx:
    """A `FaxItemEx` element -> `FaxItemEx`, typed per `FAXITEM_FIELDS`."""
    tid_text = (child_text(el, INTERFAX_NS, "TransactionID") or "").strip()
    label = f"FaxItemEx {tid_text}" if tid_text.isdigit() else f"FaxItemEx #{position}"
    values: dict[str, Any] = {
        spec.name: _field_value(spec.xsd, child_text(el, INTERFAX_NS, spec.name), label, spec.name)
        for spec in FAXITEM_FIELDS
    }
    return FaxItemEx(**values)


def job_from_item(account: str, item: FaxItemEx) -> FaxJob:
    status = item.Status
    assert status is not None  # parse_fax_item requires it
    return FaxJob(
        account=account,
        service="interfax",
        job_id=str(item.TransactionID),
        item=item,
        state=interfax_state(status, item.TrialsPerformed),
        status_code=status,
        status_text=interfax_status_text(status),
    )


def _required_int(parent: etree._Element, name: str) -> int:
    text = child_text(parent, INTERFAX_NS, name)
    if text is None or not text.strip():
        raise ProtocolError(f"{RESPONSE_ELEMENT}: {name} is missing")
    try:
        return parse_int(text)
    except ValueError:
        raise ProtocolError(f"{RESPONSE_ELEMENT}: {name} is not an int") from None


def _optional_int(parent: etree._Element, name: str) -> int | None:
    text = child_text(parent, INTERFAX_NS, name)
    if text is None or not text.strip():
        return None
    try:
        return parse_int(text)
    except ValueError:
        raise ProtocolError(f"{RESPONSE_ELEMENT}: {name} is not an int") from None


class InterFaxClient:
    """A client of one InterFax account (`dfs.asmx`, FaxStatusEx)."""

    service: Service = "interfax"

    def __init__(
        self,
        account: str,
        endpoint: str,
        username: str,
        password: str,
        *,
        soap_version: SoapVersion = "1.1",
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = MAX_RESPONSE_BYTES,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if soap_version not in ("1.1", "1.2"):
            raise ValueError("soap_version must be '1.1' or '1.2'")
        self.account = account
        self.endpoint = check_endpoint(endpoint)
        self.username = username
        self.soap_version: SoapVersion = soap_version
        self._password = password
        self._clock = clock
        self._redact = make_redactor([password])
        self._http = HttpPoster(http=http, timeout=timeout, max_bytes=max_bytes)

    def __repr__(self) -> str:
        return (
            f"InterFaxClient(account={self.account!r}, endpoint={self.endpoint!r}, "
            f"username={self.username!r}, soap_version={self.soap_version!r})"
        )

    @property
    def http(self) -> httpx.AsyncClient:
        """The AsyncClient this client posts with (kept for its whole life)."""
        return self._http.client

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it."""
        await self._http.aclose()

    def request_body(self, last_transaction_id: int, max_items: int) -> bytes:
        """The FaxStatusEx envelope: all seven elements in WSDL order (by-ref ones as 0)."""
        return build_envelope(
            self.soap_version,
            INTERFAX_NS,
            OPERATION,
            [
                ("Username", self.username),
                ("Password", self._password),
                ("LastTransactionID", str(last_transaction_id)),
                ("MaxItems", str(clamp_max_items(max_items))),
                ("TotalCount", "0"),
                ("ListSize", "0"),
                ("ResultCode", "0"),
            ],
        )

    async def status_page(
        self, last_transaction_id: int = INTERFAX_ALL_TRANSACTIONS, max_items: int = INTERFAX_MAX_ITEMS
    ) -> InterFaxPage:
        """One FaxStatusEx call: up to `max_items` (1..100) jobs below `last_transaction_id`, newest first."""
        try:
            return await self._status_page(last_transaction_id, max_items)
        except ProviderError as exc:
            raise scrub(exc, self._redact) from None

    async def _status_page(self, last_transaction_id: int, max_items: int) -> InterFaxPage:
        answer = await self._http.post(
            self.endpoint,
            self.request_body(last_transaction_id, max_items),
            request_headers(self.soap_version, SOAP_ACTION),
        )
        polled_at = self._clock()
        response = soap_result(answer, self.account, INTERFAX_NS, RESPONSE_ELEMENT)
        code = _required_int(response, "ResultCode")
        if code != 0:
            raise result_code_error(code, self.account)
        result = child(response, INTERFAX_NS, "FaxStatusExResult")
        items = children(result, INTERFAX_NS, "FaxItemEx") if result is not None else []
        jobs = [job_from_item(self.account, parse_fax_item(el, n)) for n, el in enumerate(items, 1)]
        total = _optional_int(response, "TotalCount")
        size = _optional_int(response, "ListSize")
        return InterFaxPage(
            jobs=jobs,
            total_count=total if total is not None else len(jobs),
            list_size=size if size is not None else len(jobs),
            latency_ms=answer.elapsed_ms,
            polled_at=polled_at,
        )

    async def recent(self, depth: int = 1, max_items: int = INTERFAX_MAX_ITEMS) -> PollResult:
        """The newest jobs, paging backwards up to `depth` calls.

        Stops early when a page comes back short (the history is exhausted) or when the server
        does not move below the last id asked (it would hand back the same page again).
        Jobs are unique by TransactionID and ordered newest first.
        """
        if depth < 1:
            raise ValueError("depth must be at least 1")
        page_size = clamp_max_items(max_items)
        last_id = INTERFAX_ALL_TRANSACTIONS
        by_id: dict[str, FaxJob] = {}
        total_count: int | None = None
        latencies: list[float] = []
        for _ in range(depth):
            page = await self.status_page(last_id, page_size)
            latencies.append(page.latency_ms)
            if total_count is None:
                total_count = page.total_count
            for job in page.jobs:
                by_id.setdefault(job.job_id, job)
            if len(page.jobs) < page_size:
                break
            lowest = min(_transaction_id(job) for job in page.jobs)
            if lowest >= last_id:
                break
            last_id = lowest
        jobs = sorted(by_id.values(), key=_transaction_id, reverse=True)
        return PollResult(
            jobs=jobs,
            polled_at=self._clock(),
            latency_ms=sum(latencies) / len(latencies),
            calls=len(latencies),
            total_count=total_count,
        )

    async def lookup(self, transaction_id: int) -> FaxJob | None:
        """One job by TransactionID (LastTransactionID = id + 1, MaxItems = 1), or None."""
        page = await self.status_page(transaction_id + 1, 1)
        for job in page.jobs:
            if job.item.TransactionID == transaction_id:
                return job
        return None


def _transaction_id(job: FaxJob) -> int:
    tid = job.item.TransactionID
    return tid if isinstance(tid, int) else int(str(tid))


__all__ = [
    "DEFAULT_ENDPOINT",
    "INTERFAX_NS",
    "SOAP_ACTION",
    "InterFaxClient",
    "InterFaxPage",
    "clamp_max_items",
    "job_from_item",
    "parse_fax_item",
    "result_code_error",
]
