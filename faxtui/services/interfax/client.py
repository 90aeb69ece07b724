"""InterFax `dfs.asmx` FaxStatusEx client: one page, paging backwards, single look-ups.

Wire facts: shared/protocols/interfax.md. Pages run newest first over `TransactionID <
LastTransactionID`; a call costs one of the 6 status calls a minute InterFax allows per user,
so the poller (not this client) decides how often and how deep to page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx
from lxml import etree

from faxtui.clock import utc_now
from faxtui.errors import ProviderError
from faxtui.model import FaxJob, Service
from faxtui.services.http import (
    DEFAULT_TIMEOUT,
    RepeatMemo,
    make_redactor,
    scrub,
)
from faxtui.services.interfax.codes import (
    INTERFAX_ALL_TRANSACTIONS,
    INTERFAX_MAX_ITEMS,
)
from faxtui.services.interfax.parse import (
    INTERFAX_NS,
    RESPONSE_ELEMENT,
    FaxStatusExAnswer,
    read_faxstatusex,
)
from faxtui.services.soap import (
    MAX_RESPONSE_BYTES,
    SoapVersion,
    build_envelope,
    request_headers,
)
from faxtui.services.soap_client import SoapClient

log = logging.getLogger(__name__)

OPERATION = "FaxStatusEx"
SOAP_ACTION = f"{INTERFAX_NS}/{OPERATION}"
DEFAULT_ENDPOINT = "https://ws.interfax.net/dfs.asmx"


@dataclass(slots=True)
class InterFaxPage:
    """One FaxStatusEx answer. `items`: FaxItemEx elements it held (readable or not); `warnings`:
    what was left out of `jobs`, one line each (see `read_faxstatusex`)."""

    jobs: list[FaxJob]
    total_count: int
    list_size: int
    latency_ms: float
    polled_at: datetime
    items: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """How many items the answer held, readable or not: a page shorter than asked is the last."""
        return max(self.items, len(self.jobs))


@dataclass(slots=True)
class InterFaxPages:
    """A run of pages from the newest down: the jobs (unique by TransactionID, newest first), the
    calls made, the first page's TotalCount, and what the pages left out (one line each)."""

    jobs: list[FaxJob]
    calls: int
    total_count: int | None
    warnings: list[str]
    stuck: bool = False
    """A page did not move below the id asked for: this server ignores LastTransactionID."""


def clamp_max_items(max_items: int) -> int:
    """InterFax returns at most 100 items a call; fewer than 1 is meaningless."""
    return max(1, min(INTERFAX_MAX_ITEMS, max_items))


class CallGate(Protocol):
    """Where each call is taken from and handed back when over: a rate budget (`faxtui.budget`)."""

    def acquire(self) -> Awaitable[float]: ...

    def settle(self, stamp: float) -> None: ...


class InterFaxClient(SoapClient):
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
        super().__init__(account, endpoint, soap_version=soap_version, http=http, timeout=timeout,
                         max_bytes=max_bytes, clock=clock)
        self.username = username
        self._password = password
        self._redact = make_redactor([password])
        self._pages: RepeatMemo[FaxStatusExAnswer] = RepeatMemo()
        """Each page's last answer, read: an unchanged page is not parsed again."""

    def _read_page(self, response: etree._Element) -> FaxStatusExAnswer:
        return read_faxstatusex(response, self.account)

    def __repr__(self) -> str:
        return (
            f"InterFaxClient(account={self.account!r}, endpoint={self.endpoint!r}, "
            f"username={self.username!r}, soap_version={self.soap_version!r})"
        )

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
        if last_transaction_id == INTERFAX_ALL_TRANSACTIONS:  # the first page: a poll begins
            self._pages.new_round()
        answer = await self._http.post(
            self.endpoint,
            self.request_body(last_transaction_id, max_items),
            request_headers(self.soap_version, SOAP_ACTION),
        )
        polled_at = self._clock()
        parsed = self._pages.read((last_transaction_id, max_items), answer, self.account, INTERFAX_NS,
                                  RESPONSE_ELEMENT, self._read_page)
        return InterFaxPage(
            jobs=list(parsed.jobs),  # a copy: the memo keeps its own
            total_count=parsed.total_count,
            list_size=parsed.list_size,
            latency_ms=answer.elapsed_ms,
            polled_at=polled_at,
            items=parsed.items,
            warnings=parsed.warnings,
        )

    async def recent(
        self,
        depth: int = 1,
        max_items: int = INTERFAX_MAX_ITEMS,
        *,
        gate: CallGate | None = None,
    ) -> InterFaxPages:
        """The newest jobs, paging backwards up to `depth` calls (each taken from `gate`, the
        caller's rate budget, and settled with it when it is over, whatever its outcome).

        Stops early when a page comes back short (the history is exhausted), when a page holds no
        readable item to page on, or when the server does not move below the last id asked (it
        would hand back the same page again: said as a warning). When the pages end but the
        first page's TotalCount is higher than what they listed, that is a warning too.
        """
        if depth < 1:
            raise ValueError("depth must be at least 1")
        page_size = clamp_max_items(max_items)
        last_id = INTERFAX_ALL_TRANSACTIONS
        by_id: dict[str, FaxJob] = {}
        warnings: list[str] = []
        calls = listed = 0
        total: int | None = None
        listed_all = stuck = False
        for _ in range(depth):
            stamp = await gate.acquire() if gate is not None else None
            try:
                page = await self.status_page(last_id, page_size)
            finally:
                if gate is not None and stamp is not None:
                    gate.settle(stamp)
            calls += 1
            for job in page.jobs:
                by_id[job.job_id] = job  # a job on two pages: the later answer is the newer
            warnings.extend(page.warnings)
            size = page.size
            listed += size
            # The first page's count: a fax sent while paging is in a later count, not in any page.
            total = page.total_count if total is None else total
            if size < page_size:
                listed_all = True  # the short page is the last: everything below the start is listed
                break
            if not page.jobs:
                break  # a full page of unreadable items: nothing to page on
            lowest = min(_transaction_id(job) for job in page.jobs)
            if lowest >= last_id:
                log.debug("account %s: page below %d began at %d; paging stopped", self.account, last_id,
                          lowest)
                warnings.append(f"paging stopped: the page below id {last_id} began at {lowest}")
                stuck = True
                break
            last_id = lowest
        if listed_all and total is not None and total > listed:
            warnings.append(f"InterFax counts {total} faxes for this user, its pages listed {listed}: "
                            f"{total - listed} cannot be shown")
        jobs = sorted(by_id.values(), key=_transaction_id, reverse=True)
        return InterFaxPages(jobs=jobs, calls=calls, total_count=total, warnings=warnings, stuck=stuck)

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
