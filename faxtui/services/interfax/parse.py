"""Reading FaxStatusEx answers (interfax.md §2–§4) into typed `FaxJob`s, without I/O.

Each FaxItemEx is read on its own: an unreadable field becomes None with its raw text kept, and an
item without a readable TransactionID or Status is left out with a warning, so one bad item costs
that item, not the page."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import Any

from lxml import etree

from faxtui.errors import AuthError, ProtocolError, ProviderError, RateLimited, ServiceError, one_line
from faxtui.model import FAXITEM_FIELDS, FaxItemEx, FaxJob, FieldValue
from faxtui.services.caches import BoundedCache
from faxtui.services.http import (
    child,
    child_text,
    children,
    parse_datetime,
    parse_decimal,
    parse_int,
)
from faxtui.services.interfax.codes import (
    INTERFAX_AUTH_BLOCKED,
    INTERFAX_AUTH_FAILED,
    INTERFAX_RATE_LIMITED,
    interfax_result_text,
    interfax_state,
    interfax_status_text,
)
from faxtui.services.soap import (
    is_nil,
    parse_response,
    qname,
)

INTERFAX_NS = "http://www.interfax.cc"
RESPONSE_ELEMENT = "FaxStatusExResponse"


def result_code_error(code: int, account: str) -> ProviderError:
    """The error for a FaxStatusEx ResultCode other than 0 (interfax.md §5)."""
    text = interfax_result_text(code)
    if code in (INTERFAX_AUTH_FAILED, INTERFAX_AUTH_BLOCKED):
        return AuthError(f"authentication failed for account {account} (InterFax {code}: {text})")
    if code == INTERFAX_RATE_LIMITED:
        return RateLimited(f"rate limited for account {account} (InterFax {code}: {text})", retry_after=None)
    return ServiceError(f"InterFax {code}: {text} (account {account})", code=code)

_KIND = {"int": "an int", "short": "an int", "decimal": "a decimal", "dateTime": "a dateTime"}


REQUIRED_FIELDS = ("TransactionID", "Status")
"""Without these an item is no job (no key, no state): such an item is left out, and said so."""


def _field_value(spec_xsd: str, text: str | None) -> FieldValue:
    """One FaxItemEx element's typed value, None when absent (missing, nil or blank); ValueError
    when the text is not of the field's type."""
    if spec_xsd == "string":
        return text or None
    if text is None or not text.strip():
        return None
    if spec_xsd in ("int", "short"):
        return parse_int(text)
    if spec_xsd == "decimal":
        return parse_decimal(text)
    return parse_datetime(text)


def _unreadable_text(text: str) -> str:
    """A bad value as kept for the detail pane: one line, bounded (it came from a server)."""
    return one_line(text, 60)


# --- parsing FaxItemEx, fast -------------------------------------------------------------------
#
# A 100-item page is ~2,700 elements, and reading them through lxml's Python API is most of the
# cost. So each item's children are read once, in C (`map` over `tag` and `text`); the tag
# sequence (its "layout": which optional fields are present) picks, from a cache, getters that
# gather the texts by kind; the texts are typed with caches for the values that repeat from item
# to item and from poll to poll (small numbers, unit costs, times). Whatever the fast path does
# not recognise at a glance is read again field by field in WSDL order (`_checked_values`), so
# errors and their wording are exactly those of the plain reading.

_TAG = attrgetter("tag")
_TEXT = attrgetter("text")
_QUALIFIED = tuple(qname(INTERFAX_NS, spec.name) for spec in FAXITEM_FIELDS)
_INT_AT = tuple(n for n, spec in enumerate(FAXITEM_FIELDS) if spec.xsd in ("int", "short"))
_DECIMAL_AT = tuple(n for n, spec in enumerate(FAXITEM_FIELDS) if spec.xsd == "decimal")
_TIME_AT = tuple(n for n, spec in enumerate(FAXITEM_FIELDS) if spec.xsd == "dateTime")
_STRING_AT = tuple(n for n, spec in enumerate(FAXITEM_FIELDS) if spec.xsd == "string")
_GROUPED = _INT_AT + _DECIMAL_AT + _TIME_AT + _STRING_AT
_WSDL_ORDER = itemgetter(*(_GROUPED.index(n) for n in range(len(FAXITEM_FIELDS))))
_EMPTY_IS_NONE: dict[str | None, str | None] = {"": None}
_PLAIN_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?P<zone>Z|[+-](?:0[0-9]|1[0-4]):[0-5][0-9])?"
)
"""dateTimes without fractions whose offset `parse_datetime` accepts: the C parser reads them alike."""
_NOT_CACHED = object()


Texts = tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class _Layout:
    """Getters that pick, from an item's child texts (plus a trailing None), each field's text."""

    fields: Callable[[list[str | None]], Texts]
    ints: Callable[[list[str | None]], Texts]
    decimals: Callable[[list[str | None]], Texts]
    times: Callable[[list[str | None]], Texts]
    strings: Callable[[list[str | None]], Texts]


_LAYOUTS: BoundedCache[tuple[object, ...], _Layout] = BoundedCache()
_INTS: BoundedCache[str | None, int] = BoundedCache()
_DECIMALS: BoundedCache[str | None, Decimal] = BoundedCache()
_TIMES: BoundedCache[str | None, datetime | None] = BoundedCache({None: None, "": None})


def clear_caches() -> None:
    """Forget every cached layout and value (for benchmarks of a first parse; results are the same)."""
    for cache in (_LAYOUTS, _INTS, _DECIMALS, _TIMES):
        cache.reset()



def _layout(tags: tuple[object, ...]) -> _Layout:
    """Where each field's text is, as `child_text` finds it: the first child in the InterFax
    namespace, else the first unqualified one; absent fields point at the trailing None."""
    first: dict[object, int] = {}
    for n, tag in enumerate(tags):
        first.setdefault(tag, n)
    absent = len(tags)
    at = [
        first.get(qualified, first.get(spec.name, absent))
        for qualified, spec in zip(_QUALIFIED, FAXITEM_FIELDS, strict=True)
    ]
    layout = _Layout(
        itemgetter(*at),
        itemgetter(*(at[n] for n in _INT_AT)),
        itemgetter(*(at[n] for n in _DECIMAL_AT)),
        itemgetter(*(at[n] for n in _TIME_AT)),
        itemgetter(*(at[n] for n in _STRING_AT)),
    )
    _LAYOUTS.remember(tags, layout)
    return layout


def _int_or_none(text: str | None) -> int | None:
    """The value of a well-formed xs:int text, else None (the caller then reads the item the slow way)."""
    value = _INTS.get(text)
    if value is not None or text is None:
        return value
    if text.isdecimal() and len(text) <= 12:  # what parse_int accepts, minus sign and spaces
        value = int(text)
    else:
        try:
            value = parse_int(text)
        except ValueError:
            return None
    _INTS.remember(text, value)  # the same counts, codes and transaction ids come back every poll
    return value


def _decimal_or_none(text: str | None) -> Decimal | None:
    value = _DECIMALS.get(text)
    if value is not None or text is None:
        return value
    try:
        value = parse_decimal(text)
    except ValueError:
        return None
    _DECIMALS.remember(text, value)
    return value


def _time_or_miss(text: str | None) -> object:
    """`parse_datetime` of a non-blank text (blank is None), cached; `_NOT_CACHED` if it is malformed."""
    value: object = _TIMES.get(text, _NOT_CACHED)
    if value is not _NOT_CACHED or text is None:
        return value
    plain = _PLAIN_TIME.fullmatch(text)
    if plain and "0001" < text[:4] != "1900":  # year 1 and 1900 may mean "no date": the slow path
        # No offset means UTC (the .NET form); out-of-range values fail as in `parse_datetime`.
        try:
            value = datetime.fromisoformat(text if plain["zone"] else text + "+00:00")
        except ValueError:
            return _NOT_CACHED
    elif not text.strip():
        value = None
    else:
        try:
            value = parse_datetime(text)
        except ValueError:
            return _NOT_CACHED
    _TIMES.remember(text, value)
    return value


def _item_values(el: etree._Element, position: int) -> ItemValues:
    """The 27 typed values in WSDL order, and the fields that were unreadable (see `_checked_values`)."""
    kids = list(el)
    tags = tuple(map(_TAG, kids))
    layout = _LAYOUTS.get(tags) or _layout(tags)
    texts: list[str | None] = list(map(_TEXT, kids))
    texts.append(None)  # what an absent field's getter picks
    # Each kind: cached values first (all of them, on a page seen before), else convert.
    int_texts = layout.ints(texts)
    ints: list[int | None] = list(map(_INTS.get, int_texts))
    if None in ints:
        ints = list(map(_int_or_none, int_texts))
    decimal_texts = layout.decimals(texts)
    decimals: list[Decimal | None] = list(map(_DECIMALS.get, decimal_texts))
    if decimals[0] is None or decimals[1] is None:  # (`None in` would compare Decimals: slow)
        decimals = list(map(_decimal_or_none, decimal_texts))
    time_texts = layout.times(texts)
    times = [_TIMES.get(text, _NOT_CACHED) for text in time_texts]
    if _NOT_CACHED in times:
        times = list(map(_time_or_miss, time_texts))
    if None in ints or decimals[0] is None or decimals[1] is None or _NOT_CACHED in times:
        return _checked_values(layout.fields(texts), position)
    strings = layout.strings(texts)
    typed: list[Any] = ints + decimals + times
    typed += map(_EMPTY_IS_NONE.get, strings, strings)
    values: tuple[FieldValue, ...] = _WSDL_ORDER(typed)
    return values, ()


ItemValues = tuple[tuple[FieldValue, ...], tuple[tuple[str, str], ...]]


def _checked_values(texts: Texts, position: int) -> ItemValues:
    """Field by field in WSDL order, the reading the fast path defers to: a field whose text is not
    of its type is absent, its raw text kept as unreadable; without a TransactionID or a Status the
    item is no job, and `ProtocolError` names it and the field."""
    tid_text = (texts[1] or "").strip()
    label = f"FaxItemEx {tid_text}" if tid_text.isdigit() else f"FaxItemEx #{position}"
    values: list[FieldValue] = []
    unreadable: list[tuple[str, str]] = []
    for n, spec in enumerate(FAXITEM_FIELDS):
        text = texts[n]
        try:
            value = _field_value(spec.xsd, text)
        except ValueError:
            assert text is not None
            if spec.name in REQUIRED_FIELDS:
                raise ProtocolError(f"{label}: {spec.name} is not {_KIND[spec.xsd]}") from None
            value = None
            unreadable.append((spec.name, _unreadable_text(text)))
        if value is None and spec.name in REQUIRED_FIELDS:
            raise ProtocolError(f"{label}: {spec.name} is missing")
        values.append(value)
    return tuple(values), tuple(unreadable)


def parse_fax_item(el: etree._Element, position: int) -> tuple[FaxItemEx, tuple[tuple[str, str], ...]]:
    """A `FaxItemEx` element -> `FaxItemEx`, typed per `FAXITEM_FIELDS`, and the (name, raw text) of
    the fields that were there but unreadable (those are None in the item)."""
    values, unreadable = _item_values(el, position)
    return FaxItemEx(*values), unreadable  # type: ignore[arg-type]


def job_from_item(account: str, item: FaxItemEx, unreadable: tuple[tuple[str, str], ...] = ()) -> FaxJob:
    status = item.Status
    assert status is not None  # parse_fax_item requires it
    return FaxJob(
        account, "interfax", str(item.TransactionID), item,
        interfax_state(status, item.TrialsPerformed), status, interfax_status_text(status),
        unreadable=unreadable,
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


@dataclass(slots=True)
class FaxStatusExAnswer:
    """What one successful FaxStatusEx response says, typed. `items` counts the FaxItemEx elements
    (a page is full when it reaches MaxItems, even if some items could not be read); `warnings`
    says, one line each, which items were left out and why."""

    jobs: list[FaxJob]
    total_count: int
    list_size: int
    items: int = 0
    warnings: tuple[str, ...] = ()


def read_faxstatusex(response: etree._Element, account: str) -> FaxStatusExAnswer:
    """The `FaxStatusExResponse` element -> typed jobs; a ResultCode other than 0 raises its error.

    One bad item costs that item: a field that cannot be read is absent from its job (and kept raw
    in `FaxJob.unreadable`), an item without a readable TransactionID or Status is left out and
    named in `warnings`; the rest of the page stands."""
    code = _required_int(response, "ResultCode")
    if code != 0:
        raise result_code_error(code, account)
    result = child(response, INTERFAX_NS, "FaxStatusExResult")
    items = children(result, INTERFAX_NS, "FaxItemEx") if result is not None else []
    jobs: list[FaxJob] = []
    left_out: list[str] = []
    for n, el in enumerate(items, 1):
        if is_nil(el):
            left_out.append(f"FaxItemEx #{n} is nil")
            continue
        try:
            item, unreadable = parse_fax_item(el, n)
        except ProtocolError as exc:
            left_out.append(str(exc))
            continue
        jobs.append(job_from_item(account, item, unreadable))
    warnings: tuple[str, ...] = ()
    if left_out:
        more = f" (and {len(left_out) - 1} more)" if len(left_out) > 1 else ""
        warnings = (f"{len(left_out)} of {len(items)} items on a page left out: {left_out[0]}{more}",)
    total = _optional_int(response, "TotalCount")
    size = _optional_int(response, "ListSize")
    return FaxStatusExAnswer(
        jobs=jobs,
        total_count=total if total is not None else len(jobs),
        list_size=size if size is not None else len(jobs),
        items=len(items),
        warnings=warnings,
    )


def parse_faxstatusex(body: bytes, account: str, http_status: int | None = None) -> FaxStatusExAnswer:
    """A FaxStatusEx response body -> typed jobs, without I/O: what the client does after the HTTP
    checks. Raises `SoapFault`, `ProtocolError`, or the error of a ResultCode other than 0."""
    _, response = parse_response(body, INTERFAX_NS, RESPONSE_ELEMENT, http_status=http_status)
    return read_faxstatusex(response, account)
