"""Reading GetRealTimeFaxStatusEx answers (concord.md §2–§4) into typed items and `FaxJob`s, and
pairing the items with the ids asked for (`match_items`), without I/O."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any

from lxml import etree

from faxtui.errors import ProtocolError
from faxtui.model import ConcordStatus, FaxItemEx, FaxJob, JobState
from faxtui.services.caches import BoundedCache
from faxtui.services.concord.codes import (
    CONCORD_ERROR_TEXT,
    CONCORD_INVALID_JOB_ID,
    concord_state,
    concord_status_text,
)
from faxtui.services.concord.ids import is_reference
from faxtui.services.http import (
    child,
    child_text,
    children,
    parse_datetime,
    parse_int,
)
from faxtui.services.soap import (
    is_nil,
    parse_response,
    qname,
)

CONCORD_NS = "urn:FaxWS"
RESPONSE_ELEMENT = "RealTimeFaxStatusExResponse"  # not GetRealTimeFaxStatusExResponse (concord.md §4)
ACTIVITY_ID_HEADER = "x-ch-activity-id"
EXECUTION_TIME_HEADER = "x-ch-execution-time"


# --- the status call ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StatusItem:
    """One non-nil FaxStatusList item, typed; `fax_job_id` is the FaxJobId as sent. Immutable: an
    item read before is handed out again when the same texts come back."""

    fax_job_id: str
    status_id: int | None
    description: str | None
    recipient_state: int | None
    current_pages: int | None
    total_pages: int | None
    delivery_time: str | None
    duration: int | None
    remote_csid: str | None
    error_code: int | None
    error_string: str | None

    @property
    def not_found(self) -> bool:
        return CONCORD_INVALID_JOB_ID in (self.status_id, self.error_code)


@dataclass(slots=True)
class StatusAnswer:
    """One GetRealTimeFaxStatusEx response: `return`, the items, the call's WSError, tracking headers."""

    ok: bool
    items: list[StatusItem]
    ws_code: int | None
    ws_text: str | None
    headers: dict[str, str]


@dataclass(slots=True)
class BatchJobs:
    """The jobs one answer gives for a batch of requested ids."""

    jobs: list[FaxJob]
    not_found: list[str]
    answered: set[str]
    ambiguous: bool = False
    """Items were left over that could not be told apart (see `match_items`): kept unpaired."""
    references_echoed: bool = False
    """A `JRI-` request was answered by an item carrying that very `JRI-` id."""


def _int(parent: etree._Element, name: str, label: str) -> int | None:
    return _int_text(child_text(parent, CONCORD_NS, name), name, label)


def _int_text(text: str | None, name: str, label: str) -> int | None:
    """An optional xsd:int: None when absent or blank."""
    if text is None or not text.strip():
        return None
    try:
        value = parse_int(text)
    except ValueError:
        raise ProtocolError(f"{label}: {name} is not an int") from None
    _INTS.remember(text, value)  # the same codes and page counts come back item after item
    return value


# Reading items fast: each item's children are read once, in C (`map` over `tag` and `text`);
# the tag sequence picks, from a cache, a getter of each field's text (the first child in the
# FaxWS namespace, else the first unqualified one, as `child_text` finds it). Numbers come from a
# cache of texts seen before; anything else is converted in the order the fields are declared,
# so the first bad field raises the same error as a plain reading would.

_TAG = attrgetter("tag")
_TEXT = attrgetter("text")
_ITEM_FIELDS = (
    "FaxJobId", "FaxJobStatusId", "StatusDescription", "RecipientState", "RecipientCurrentPageCount",
    "RecipientTotalPageCount", "FaxDeliveryDateTime", "FaxDeliveryDuration", "RemoteFaxCSID", "Error",
)
_ERROR_FIELDS = ("ErrorCode", "ErrorString")
_ERROR_CODE_TAG, _ERROR_STRING_TAG = (qname(CONCORD_NS, name) for name in _ERROR_FIELDS)
_NONE_IS_EMPTY: dict[str | None, str | None] = {None: ""}
_PLAIN_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-](?:0[0-9]|1[0-4]):[0-5][0-9]"
)
"""Concord's own form (D6), with an offset `parse_datetime` accepts: the C parser reads it alike."""
_NOT_CACHED = object()

_Layout = tuple[Callable[[list[Any]], tuple[Any, ...]], tuple[int, ...]]
_LAYOUTS: BoundedCache[tuple[tuple[object, ...], tuple[str, ...]], _Layout] = BoundedCache()
_ITEMS: BoundedCache[tuple[tuple[Any, ...], tuple[Any, ...]], StatusItem] = BoundedCache()
"""Items read before, by their texts: most of a poll's answer is what the previous poll said."""
_FIELDS: BoundedCache[tuple[Any, ...], FaxItemEx] = BoundedCache()
"""The FaxItemEx of a job, by the values it is made of (shared: it is immutable)."""
_INTS: BoundedCache[str | None, int | None] = BoundedCache({None: None, "": None})
_TIMES: BoundedCache[str, datetime | None] = BoundedCache()
_STATES: BoundedCache[int | None, JobState] = BoundedCache()
_INT_FIELDS = (
    "FaxJobStatusId", "RecipientState", "RecipientCurrentPageCount", "RecipientTotalPageCount",
    "FaxDeliveryDuration", "ErrorCode",
)
_MISSES = (_NOT_CACHED,) * len(_INT_FIELDS)


def clear_caches() -> None:
    """Forget every cached layout and value (for benchmarks of a first parse; results are the same)."""
    for cache in (_LAYOUTS, _ITEMS, _FIELDS, _INTS, _TIMES, _STATES):
        cache.reset()



def _layout(tags: tuple[object, ...], names: tuple[str, ...]) -> _Layout:
    """Where each of `names` is among the children: the first qualified one, else the first
    unqualified one, else the position just past the last child. With a getter of those positions."""
    layout = _LAYOUTS.get((tags, names))
    if layout is None:
        first: dict[object, int] = {}
        for n, tag in enumerate(tags):
            first.setdefault(tag, n)
        absent = len(tags)
        at = tuple(first.get(qname(CONCORD_NS, name), first.get(name, absent)) for name in names)
        layout = (itemgetter(*at), at)
        _LAYOUTS.remember((tags, names), layout)
    return layout


def _child_texts(
    el: etree._Element, names: tuple[str, ...]
) -> tuple[tuple[Any, ...], list[Any], tuple[int, ...]]:
    """`child_text` of each of `names` (None when absent, "" when empty), the children, and where each is."""
    kids: list[Any] = list(el)
    texts: list[Any] = list(map(_TEXT, kids))
    texts = list(map(_NONE_IS_EMPTY.get, texts, texts))
    texts.append(None)
    getter, at = _layout(tuple(map(_TAG, kids)), names)
    return getter(texts), kids, at


def parse_status_item(el: etree._Element) -> StatusItem:
    """A RealTimeFaxStatusEx item -> `StatusItem` (blank numbers are None; a malformed one raises)."""
    found, kids, at = _child_texts(el, _ITEM_FIELDS)
    error_texts: tuple[Any, ...] = (None, None)
    if at[-1] < len(kids):  # the Error element: ErrorCode, ErrorString, as Concord sends it
        error = list(kids[at[-1]])
        if len(error) == 2 and error[0].tag == _ERROR_CODE_TAG and error[1].tag == _ERROR_STRING_TAG:
            error_texts = (error[0].text or "", error[1].text or "")
        else:
            error_texts, _, _ = _child_texts(kids[at[-1]], _ERROR_FIELDS)
    key = (found, error_texts)
    seen = _ITEMS.get(key)
    if seen is not None:
        return seen
    job_id, status, description, state, current, total, when, duration, csid, _ = found
    error_code, error_string = error_texts
    int_texts = (status, state, current, total, duration, error_code)
    ints: list[Any] = list(map(_INTS.get, int_texts, _MISSES))
    fax_job_id = (job_id or "").strip()
    if _NOT_CACHED in ints:
        label = f"RealTimeFaxStatusEx {fax_job_id}" if fax_job_id else "RealTimeFaxStatusEx"
        ints = [_int_text(text, name, label) for text, name in zip(int_texts, _INT_FIELDS, strict=True)]
    item = StatusItem(
        fax_job_id, ints[0], description, ints[1], ints[2], ints[3], when, ints[4], csid, ints[5],
        error_string,
    )
    _ITEMS.remember(key, item)
    return item


def parse_status_response(response: etree._Element, headers: dict[str, str]) -> StatusAnswer:
    flag = (child_text(response, CONCORD_NS, "return") or "").strip().lower()
    if flag not in ("true", "1", "false", "0"):
        raise ProtocolError(f"{RESPONSE_ELEMENT}: return is missing or not a boolean")
    status_list = child(response, CONCORD_NS, "FaxStatusList")
    elements = children(status_list, CONCORD_NS, "item") if status_list is not None else []
    items = [parse_status_item(el) for el in elements if not is_nil(el)]
    ws_error = child(response, CONCORD_NS, "WSError")
    ws_code = _int(ws_error, "ErrorCode", "WSError") if ws_error is not None else None
    ws_text = child_text(ws_error, CONCORD_NS, "ErrorString") if ws_error is not None else None
    return StatusAnswer(flag in ("true", "1"), items, ws_code, ws_text, headers)


def _delivery_time(text: str | None) -> datetime | None:
    """FaxDeliveryDateTime is an xsd:string: an unreadable one is kept raw, not fatal."""
    if not text or not text.strip():
        return None
    value: object = _TIMES.get(text, _NOT_CACHED)
    if value is _NOT_CACHED:
        try:
            if _PLAIN_TIME.fullmatch(text) and "0001" < text[:4] != "1900":  # 1900: maybe "no date"
                value = datetime.fromisoformat(text)  # the same value `parse_datetime` gives, in C
            else:
                value = parse_datetime(text)
        except ValueError:
            value = None
        _TIMES.remember(text, value)
    return value if isinstance(value, datetime) else None


def _state(status: int | None) -> JobState:
    state = _STATES.get(status)
    if state is None:
        state = concord_state(status)
        _STATES.remember(status, state)
    return state


def job_from_item(
    account: str, item: StatusItem, job_id: str, lookup_id: str | None, headers: Mapping[str, str]
) -> FaxJob:
    """A FaxJob from one RealTimeFaxStatusEx item (FaxItemEx filled per `CONCORD_MAPPED`)."""
    native = ConcordStatus(
        item.fax_job_id, item.status_id, item.description, item.recipient_state, item.current_pages,
        item.total_pages, item.delivery_time, item.duration, item.remote_csid, item.error_code,
        item.error_string, headers.get(ACTIVITY_ID_HEADER), headers.get(EXECUTION_TIME_HEADER),
    )
    parts = (item.fax_job_id or job_id, item.status_id, item.current_pages, item.total_pages,
             item.delivery_time, item.duration, item.remote_csid)
    fields = _FIELDS.get(parts)
    if fields is None:
        tid, status, current, total, when, duration, csid = parts
        fields = FaxItemEx(
            TransactionID=tid, Status=status, PagesSent=current, PagesSubmitted=total,
            CompletionTime=_delivery_time(when), Duration=duration, RemoteCSID=csid or None,
        )
        _FIELDS.remember(parts, fields)
    if item.not_found:
        state = JobState.NOT_FOUND
        code: int | None = CONCORD_INVALID_JOB_ID
        text = item.description or item.error_string or CONCORD_ERROR_TEXT[CONCORD_INVALID_JOB_ID]
    else:
        state = _state(item.status_id)
        code = item.status_id
        text = concord_status_text(item.status_id, item.description)
        if item.status_id is None and item.error_code:
            text = item.error_string or CONCORD_ERROR_TEXT.get(item.error_code, f"Error {item.error_code}")
    return FaxJob(
        account, "concord", job_id, fields, state, code, text, native,
        lookup_id if lookup_id != job_id else None,
    )


def match_items(requested: Sequence[str], items: Sequence[StatusItem]) -> list[tuple[StatusItem, str | None]]:
    """Pair each item with the requested id it answers (None for an item nobody asked for), whatever
    order the items come in (the rule is in the module docstring). Items with an empty FaxJobId
    that cannot be paired are left out. Counted in dicts: a 100-id batch is paired in one pass."""
    waiting: dict[str, list[str]] = {}
    for job_id in requested:  # by folded id: the requests, as spelt, in order
        waiting.setdefault(job_id.casefold(), []).append(job_id)
    paired: list[str | None] = [None] * len(items)
    left_over: list[int] = []
    for n, item in enumerate(items):
        job_id = item.fax_job_id
        spellings = waiting.get(job_id.casefold()) if job_id else None
        if spellings:
            paired[n] = spellings.pop(0)
        else:
            left_over.append(n)
    if left_over:
        unanswered = [r for spellings in waiting.values() for r in spellings]
        references = [r for r in unanswered if is_reference(r)]
        with_id = [n for n in left_over if items[n].fax_job_id]
        without_id = [n for n in left_over if not items[n].fax_job_id]
        if len(with_id) == 1 and len(references) == 1:
            paired[with_id[0]] = references[0]
            unanswered.remove(references[0])
        if len(without_id) == 1 and len(unanswered) == 1:
            paired[without_id[0]] = unanswered[0]
    pairs = zip(items, paired, strict=True)
    return [(item, req) for item, req in pairs if req is not None or item.fax_job_id]


def answer_jobs(account: str, requested: Sequence[str], answer: StatusAnswer) -> BatchJobs:
    """The jobs of one answer to a batch of `requested` ids (see the module docstring for matching)."""
    jobs: list[FaxJob] = []
    not_found: list[str] = []
    answered: set[str] = set()
    unpaired = 0
    echoed = False
    pairs = match_items(requested, answer.items)
    for item, lookup in pairs:
        same = lookup is not None and item.fax_job_id.casefold() == lookup.casefold()
        # Keyed by the id as the user wrote it when the item names it in another letter case.
        job_id = lookup if same or not item.fax_job_id else item.fax_job_id
        assert job_id is not None  # match_items keeps no item without either
        jobs.append(job_from_item(account, item, job_id, lookup, answer.headers))
        if lookup is None:
            unpaired += 1
        else:
            answered.add(lookup)
            echoed = echoed or (same and is_reference(lookup))
        if item.not_found:
            not_found.append(lookup or job_id)
    dropped = len(answer.items) - len(pairs)
    missing_references = any(is_reference(r) and r not in answered for r in requested)
    ambiguous = bool(dropped or (unpaired and missing_references))
    return BatchJobs(jobs, not_found, answered, ambiguous, echoed)


def parse_status(body: bytes, headers: Mapping[str, str] | None = None, http_status: int | None = None
                 ) -> StatusAnswer:
    """A GetRealTimeFaxStatusEx response body -> `StatusAnswer`, without I/O: what the client does
    after the HTTP checks (`answer_jobs` then makes the jobs). Raises `SoapFault` or `ProtocolError`."""
    _, response = parse_response(body, CONCORD_NS, RESPONSE_ELEMENT, http_status=http_status)
    return parse_status_response(response, dict(headers or {}))


def read_status(response: etree._Element) -> StatusAnswer:
    """An answer as the memo keeps it: without tracking headers, which belong to each call."""
    return parse_status_response(response, {})
