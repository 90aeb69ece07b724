"""Concord FaxWS v5 GetRealTimeFaxStatusEx client, and the OAuth client-credentials token source.

Wire facts: shared/protocols/concord.md. Choices where the vendor is silent (all [UNCONFIRMED]
there), so the poller and the simulator can rely on them:

- Auth: exactly one of a static bearer token, an `OAuthTokenProvider`, or the deprecated PIN.
  Bearer goes in `Authorization` with an empty `<strPIN/>`; the PIN goes in `strPIN` alone.
  With a token provider, an HTTP 401/403 or an authentication-looking WSError invalidates the
  token and the call is retried once with a fresh one.
- `return=false` with no items raises: `AuthError` when the WSError is about credentials
  (`is_auth_failure`: by its code where the code says it, else by its wording), else
  `ServiceError` carrying the WSError code — except -5019 (next point). `return=false` that still
  carries items is a partial failure: the items are used, the WSError becomes a warning.
- Not found: an item whose FaxJobStatusId or Error.ErrorCode is -5019 becomes a NOT_FOUND job,
  its requested id listed in `PollResult.not_found`. A requested id that gets no item at all is
  left out of `jobs`, unless the call's WSError is -5019 (the server said an id was invalid):
  then it too becomes a NOT_FOUND job and is listed in `not_found`, so callers see the same
  result wherever the server reports it. If such a call returns no items and `return=false` for
  several ids, the batch is split in halves and retried until each invalid id stands alone,
  so one bad watch-list id cannot blind the account.
- Matching (`match_items`): an item whose FaxJobId equals a requested id, letter case aside,
  belongs to it. A `JRI-` look-up may be answered under the job's own `br…` id, so the items left
  over can only be paired by elimination: one left-over item with one unanswered reference (or an
  item with an empty FaxJobId with the one unanswered id). Anything more is ambiguous whatever
  order the server answers in, so it is never guessed: such items are kept under their own
  FaxJobId, unpaired. To keep that from happening, a batch carries at most one reference
  (`plan_batches`) until the server has shown that it answers references under their `JRI-` id.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any
from urllib.parse import urlencode

import httpx
from lxml import etree

from faxtui.clock import utc_now
from faxtui.codes import CONCORD_ERROR_TEXT, CONCORD_INVALID_JOB_ID, concord_state, concord_status_text
from faxtui.errors import AuthError, ProtocolError, ProviderError, RateLimited, ServiceError, one_line
from faxtui.model import ConcordStatus, FaxItemEx, FaxJob, JobState, Service
from faxtui.providers.base import PollResult
from faxtui.providers.caches import BoundedCache
from faxtui.providers.http import (
    DEFAULT_TIMEOUT,
    HttpAnswer,
    HttpPoster,
    RepeatMemo,
    check_endpoint,
    child,
    child_text,
    children,
    make_redactor,
    parse_datetime,
    parse_int,
    retry_after_seconds,
    scrub,
)
from faxtui.soap import (
    MAX_RESPONSE_BYTES,
    SoapVersion,
    build_envelope,
    is_nil,
    parse_response,
    qname,
    request_headers,
)

log = logging.getLogger(__name__)

CONCORD_NS = "urn:FaxWS"
OPERATION = "GetRealTimeFaxStatusEx"
RESPONSE_ELEMENT = "RealTimeFaxStatusExResponse"  # not GetRealTimeFaxStatusExResponse (concord.md §4)
SOAP_ACTION = ""
DEFAULT_ENDPOINT = "https://ws.concordfax.com/fax/v5"
DEFAULT_TOKEN_URL = "https://login.concord.net/v1/connect/token"  # noqa: S105 - a URL, not a secret
DEFAULT_BATCH_SIZE = 100
DEFAULT_OAUTH_SCOPE = "FaxWS"
"""Without `offline_access`: that scope asks for a refresh token, which the client-credentials grant
never gets, and IdentityServer (what `/connect/token` points to, concord.md §1.4) refuses it with
`invalid_scope`. The one public client that sends it (P1) uses the password grant."""
REQUEST_ID_HEADER = "x-ch-request-id"
ACTIVITY_ID_HEADER = "x-ch-activity-id"
EXECUTION_TIME_HEADER = "x-ch-execution-time"
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


def is_reference(lookup_id: str) -> bool:
    """A `JRI-<ReferenceId>` look-up, as opposed to a `br…` job id."""
    return lookup_id[:4].upper() == "JRI-"


def _check_token(token: str, what: str) -> str:
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


@dataclass(slots=True)
class _Tally:
    """What a run of calls for one `status()` brought back."""

    jobs: list[FaxJob] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


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


def _read_status(response: etree._Element) -> StatusAnswer:
    """An answer as the memo keeps it: without tracking headers, which belong to each call."""
    return parse_status_response(response, {})


def _unique(ids: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for raw in ids:
        cleaned = raw.strip()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


class ConcordClient:
    """A client of one Concord FaxWS account (GetRealTimeFaxStatusEx)."""

    service: Service = "concord"

    def __init__(
        self,
        account: str,
        endpoint: str,
        user_id: str,
        *,
        token: str | None = None,
        pin: str | None = None,
        token_provider: OAuthTokenProvider | None = None,
        soap_version: SoapVersion = "1.1",
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_bytes: int = MAX_RESPONSE_BYTES,
        clock: Callable[[], datetime] = utc_now,
        content_type: str | None = None,
    ) -> None:
        """`content_type` replaces the Content-Type header the SOAP version implies (the vendor's
        pages document `application/soap+xml`; generated clients send `text/xml`)."""
        sources = [s for s in (token, pin, token_provider) if s is not None and s != ""]
        if len(sources) != 1:
            raise ValueError("exactly one of token, token_provider or pin must be given")
        if soap_version not in ("1.1", "1.2"):
            raise ValueError("soap_version must be '1.1' or '1.2'")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.account = account
        self.endpoint = check_endpoint(endpoint)
        self.user_id = user_id
        self.soap_version: SoapVersion = soap_version
        self.batch_size = batch_size
        self.token_provider = token_provider
        self._token = _check_token(token, "token") if token else None
        self._pin = pin or None
        self._clock = clock
        self._http = HttpPoster(http=http, timeout=timeout, max_bytes=max_bytes)
        self._answers: RepeatMemo[StatusAnswer] = RepeatMemo()
        """Each batch's last answer, read (its tracking headers are the call's own, set per call)."""
        self.content_type = content_type
        self.references_echoed = False
        """The server has answered a `JRI-` look-up under its `JRI-` id: references can share a batch."""

    @property
    def auth_kind(self) -> str:
        """"oauth", "token" or "pin" (for display; never the secret itself)."""
        if self.token_provider is not None:
            return "oauth"
        return "token" if self._token else "pin"

    def __repr__(self) -> str:
        return (
            f"ConcordClient(account={self.account!r}, endpoint={self.endpoint!r}, "
            f"user_id={self.user_id!r}, auth={self.auth_kind!r}, soap_version={self.soap_version!r})"
        )

    @property
    def http(self) -> httpx.AsyncClient:
        return self._http.client

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it, and the token provider it was given."""
        await self._http.aclose()
        if self.token_provider is not None:
            await self.token_provider.aclose()

    def _secrets(self) -> list[str]:
        found = [s for s in (self._token, self._pin) if s]
        if self.token_provider is not None:
            found += self.token_provider.secrets()
        return found

    def request_body(self, job_ids: Sequence[str]) -> bytes:
        """UserID, strPIN (empty with bearer auth), FaxJobIds/item/JobId — WSDL order."""
        return build_envelope(
            self.soap_version,
            CONCORD_NS,
            OPERATION,
            [
                ("UserID", self.user_id),
                ("strPIN", self._pin or ""),
                ("FaxJobIds", [("item", [("JobId", job_id)]) for job_id in job_ids]),
            ],
        )

    def plan_batches(self, job_ids: Sequence[str]) -> list[list[str]]:
        """The batches `status` sends for these ids: `batch_size` at most, and — until the server has
        shown it names references in its answers — at most one `JRI-` reference per batch, so that
        whatever order the answer comes in, no reference can take another's job (module docstring)."""
        ids = _unique(job_ids)
        size = self.batch_size
        references = [i for i in ids if is_reference(i)]
        if self.references_echoed or len(references) <= 1:
            return [ids[start : start + size] for start in range(0, len(ids), size)]
        batches = [[ref] for ref in references]
        plain = iter(i for i in ids if not is_reference(i))
        for batch in batches:
            batch.extend(itertools.islice(plain, size - 1))
        rest = list(plain)
        batches += [rest[start : start + size] for start in range(0, len(rest), size)]
        return batches

    async def status(self, job_ids: Sequence[str]) -> PollResult:
        """Real-time status of the given `br…` / `JRI-<ref>` ids, in sequential batches."""
        tally = _Tally()
        self._answers.new_round()
        try:
            for batch in self.plan_batches(job_ids):
                await self._status_batch(batch, tally)
        except ProviderError as exc:
            raise scrub(exc, make_redactor(self._secrets())) from None
        latencies = tally.latencies
        redact = make_redactor(self._secrets())
        return PollResult(
            jobs=tally.jobs,
            polled_at=self._clock(),
            latency_ms=sum(latencies) / len(latencies) if latencies else 0.0,
            calls=len(latencies),
            not_found=tally.not_found,
            headers=tally.headers,
            warnings=[redact(w) for w in dict.fromkeys(tally.warnings)],
        )

    async def _status_batch(self, batch: list[str], tally: _Tally) -> None:
        answer = await self._exchange(batch, tally)
        invalid_id_said = answer.ws_code == CONCORD_INVALID_JOB_ID
        if not answer.ok and not answer.items:
            if invalid_id_said and len(batch) > 1:
                middle = len(batch) // 2
                await self._status_batch(batch[:middle], tally)
                await self._status_batch(batch[middle:], tally)
                return
            if invalid_id_said:
                self._not_found(batch, answer, tally)
                return
            raise self._ws_error(answer)
        found = answer_jobs(self.account, batch, answer)
        tally.jobs.extend(found.jobs)
        tally.not_found.extend(found.not_found)
        if found.references_echoed:
            self.references_echoed = True
        if found.ambiguous:
            self.references_echoed = False  # from now on, one reference a batch
            tally.warnings.append(
                "some answers named no id that was asked for and could not be told apart; "
                "they are shown under their own job ids"
            )
        if not answer.ok:  # a partial failure: the items stand, the error is worth a look
            code = answer.ws_code
            text = one_line(answer.ws_text or CONCORD_ERROR_TEXT.get(code or 0, "no error text"), 120)
            tally.warnings.append(f"Concord error {code}: {text}")
        if invalid_id_said:
            self._not_found([r for r in batch if r not in found.answered], answer, tally)

    def _not_found(self, ids: Sequence[str], answer: StatusAnswer, tally: _Tally) -> None:
        """Ids a call-level -5019 covers: NOT_FOUND jobs, as an item-level -5019 would give."""
        for lookup in ids:
            item = StatusItem(
                fax_job_id=lookup, status_id=CONCORD_INVALID_JOB_ID, description=None, recipient_state=None,
                current_pages=None, total_pages=None, delivery_time=None, duration=None, remote_csid=None,
                error_code=CONCORD_INVALID_JOB_ID, error_string=answer.ws_text or None,
            )
            tally.jobs.append(job_from_item(self.account, item, lookup, lookup, answer.headers))
            tally.not_found.append(lookup)

    def _ws_error(self, answer: StatusAnswer) -> ProviderError:
        code = answer.ws_code
        text = answer.ws_text or CONCORD_ERROR_TEXT.get(code or 0, "no error text")
        if is_auth_failure(code, answer.ws_text):
            return AuthError(f"authentication failed for account {self.account} (Concord {code}: {text})")
        return ServiceError(f"Concord error {code}: {text} (account {self.account})", code=code)

    async def _exchange(self, batch: list[str], tally: _Tally) -> StatusAnswer:
        """One call, retried once with a fresh token when the service rejects a provider's token."""
        for attempt in (1, 2):
            token = await self._bearer()  # a rejected token *request* is final: no retry
            retry = self.token_provider is not None and attempt == 1
            try:
                answer = await self._call(batch, token, tally)
            except AuthError:
                if not retry:
                    raise
            else:
                if answer.ok or answer.items or not is_auth_failure(answer.ws_code, answer.ws_text):
                    return answer
                if not retry:
                    raise self._ws_error(answer)
            assert self.token_provider is not None
            log.info("Concord account %s: token rejected, fetching a new one", self.account)
            self.token_provider.invalidate(token)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _bearer(self) -> str | None:
        if self.token_provider is not None:
            return await self.token_provider.token()
        return self._token

    async def _call(self, batch: list[str], token: str | None, tally: _Tally) -> StatusAnswer:
        headers = request_headers(self.soap_version, SOAP_ACTION)  # 1.1: SOAPAction: ""
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        headers[REQUEST_ID_HEADER] = str(uuid.uuid4())
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        http_answer = await self._http.post(self.endpoint, self.request_body(batch), headers)
        tally.latencies.append(http_answer.elapsed_ms)
        tracking = {k.lower(): v for k, v in http_answer.headers.items() if k.lower().startswith("x-ch-")}
        if tracking:
            tally.headers = tracking
        seen = self._answers.read(tuple(batch), http_answer, self.account, CONCORD_NS, RESPONSE_ELEMENT,
                                  _read_status)
        return StatusAnswer(seen.ok, list(seen.items), seen.ws_code, seen.ws_text, tracking)


__all__ = [
    "CONCORD_NS",
    "DEFAULT_ENDPOINT",
    "DEFAULT_OAUTH_SCOPE",
    "DEFAULT_TOKEN_URL",
    "BatchJobs",
    "ConcordClient",
    "OAuthTokenProvider",
    "StatusAnswer",
    "StatusItem",
    "answer_jobs",
    "is_auth_failure",
    "is_reference",
    "job_from_item",
    "looks_like_auth_failure",
    "match_items",
    "parse_status",
    "parse_status_item",
    "parse_status_response",
]
