"""`SimOptions`: every simulator behaviour the protocol docs leave open, as a named, documented choice.

Each field that settles something `shared/protocols/` marks UNCONFIRMED says so in its comment;
the default is the choice the simulator makes when nobody asks otherwise. Other fields make the
simulator behave the way some real server (or the stack in front of it) does differently from
the documents, so that a client can be tested against it.

Setting options
---------------
- Python: `SimOptions(concord_order="reversed", ...)` for a new world/server, or on a running one
  `server.set_options(concord_order="reversed")` / `world.set_options(concord_order="reversed")`.
- Control endpoint: `POST /_sim/options {"concord_order": "reversed"}`; `GET /_sim/options`;
  `DELETE /_sim/options` goes back to the options the server started with.
- `faxtui sim --option concord_order=reversed --option interfax_bad_fields=nil:PagesSent`
  (repeatable; `faxtui sim --list-options` prints every option, its default and its meaning).
Text values are read as the field's type: booleans true/false/yes/no/1/0, tuples as a
comma-separated list, "" for None. `seed`, `speed`, `demo_accounts` and `interfax_id_base`
are fixed once a world exists (409 over the control endpoint).
"""

from __future__ import annotations

import ast
import inspect
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import cache
from typing import Any, Literal, NamedTuple, Union, get_args, get_origin, get_type_hints

from faxtui.sim.protocol import FAXITEM_TYPE
from faxtui.sim.status_tables import CCD_INVALID_JOB_ID, CONCORD_ERROR_TEXT, IFX_INT_MAX
from faxtui.sim.wire import FAULT_STYLES, FaultStyle

DateTimeStyle = Literal["dotnet", "Z", "+00:00"]
EmptyResult = Literal["absent", "empty"]
ErrorResult = Literal["absent", "empty", "items"]
OverCap = Literal["cap", "uncapped", "error"]
NotFoundPlacement = Literal["item", "item_error", "call", "call_and_item", "call_empty"]
LastIdMode = Literal["strict", "inclusive", "ignore"]
ConcordOrder = Literal["request", "reversed", "shuffled"]
IdCase = Literal["as_stored", "upper", "lower"]
MediaTypes = Literal["documented", "strict"]
ReplyContentType = Literal["envelope", "request"]

DATETIME_STYLES: tuple[str, ...] = get_args(DateTimeStyle)
EMPTY_RESULTS: tuple[str, ...] = get_args(EmptyResult)
ERROR_RESULTS: tuple[str, ...] = get_args(ErrorResult)
OVER_CAP: tuple[str, ...] = get_args(OverCap)
NOT_FOUND_PLACEMENTS: tuple[str, ...] = get_args(NotFoundPlacement)

FIXED_AFTER_START: frozenset[str] = frozenset({"seed", "speed", "demo_accounts", "interfax_id_base"})
"""Options a running world cannot change (they shaped it when it was made)."""

BAD_FIELD_KINDS: tuple[str, ...] = ("nil", "missing", "empty", "malformed")
_BAD_FIELD = re.compile(r"^(?P<kind>[a-z]+):(?P<field>[A-Za-z]+)(?:@(?P<index>\d{1,3}))?$")


class BadField(NamedTuple):
    """One `interfax_bad_fields` spec: spoil `field` of the item at `position` of every page."""

    kind: str
    field: str
    position: int


def parse_bad_field(spec: str) -> BadField:
    """`kind:Field[@index]`, e.g. "nil:PagesSent", "missing:Units", "malformed:CompletionTime@2"."""
    match = _BAD_FIELD.match(spec.strip())
    if match is None:
        raise ValueError(f"interfax_bad_fields: {spec!r} is not kind:Field[@index]")
    kind, name = match["kind"], match["field"]
    if kind not in BAD_FIELD_KINDS:
        raise ValueError(f"interfax_bad_fields: {spec!r}: kind must be one of {', '.join(BAD_FIELD_KINDS)}")
    xsd = FAXITEM_TYPE.get(name)
    if xsd is None:
        raise ValueError(f"interfax_bad_fields: {spec!r}: {name!r} is not a FaxItemEx field")
    if kind == "malformed" and xsd == "string":
        raise ValueError(f"interfax_bad_fields: {spec!r}: a string field cannot be malformed")
    return BadField(kind, name, int(match["index"] or 0))


@dataclass(frozen=True, slots=True)
class SimOptions:
    """The simulator's knobs. Frozen: a world and its server read them without locking."""

    seed: int = 1
    """Seeds every random choice: same seed + same clock steps -> the same world, byte for byte."""
    speed: float = 1.0
    """How much faster than real time a `RealClock` world runs (ignored by a `FakeClock`)."""
    demo_accounts: bool = True
    """Create the contract demo accounts (InterFax demo/demo, Concord mbx0000000001/demo)."""
    arrival_mean_seconds: float = 30.0
    """Mean simulated seconds between new jobs of one account (0 = no new jobs arrive)."""
    interfax_retry_wait_min: int = 120
    interfax_retry_wait_max: int = 420
    """UNCONFIRMED seconds InterFax waits before retrying a busy or unanswered number (drawn per
    retry between min and max; interfax.md §4.1 names retries, not their spacing). A large range
    spreads a broadcast's retries over hours."""
    truth_limit: int = 200_000
    """Most ground-truth records kept (oldest dropped first)."""
    retention_days: float = 35.0
    """Finished jobs older than this leave the world, as InterFax keeps fax records ~30-35 days
    (interfax.md §7); keeps long, fast runs bounded. 0 = keep every job."""

    # --- InterFax -------------------------------------------------------------------------
    datetime_style: DateTimeStyle = "dotnet"
    """UNCONFIRMED lexical form of xs:dateTime: "dotnet" = no offset (.NET style, meaning UTC),
    e.g. 2026-11-22T10:00:00; "Z" = 2026-11-22T10:00:00Z; "+00:00" = 2026-11-22T10:00:00+00:00."""
    not_postponed: str = "0001-01-01T00:00:00"
    """UNCONFIRMED PostponeTime of a fax that was not postponed (.NET DateTime.MinValue by default;
    the docs' '0000-00-00' is not a valid xs:dateTime). Sent verbatim: "1900-01-01T00:00:00" is
    SQL Server's zero date, which servers backed by it send for "not set"."""
    not_completed: str = "0001-01-01T00:00:00"
    """UNCONFIRMED CompletionTime of a fax still in progress. Sent verbatim: "1900-01-01T00:00:00"
    (SQL Server's zero date) and "0001-01-01T00:00:00" (.NET's DateTime.MinValue) are the "not set"
    values servers built on those send."""
    interfax_id_base: int = 1_512_345_678
    """TransactionID of an account's newest job when it is created: older jobs count down from it,
    arrivals count up (ids are global, as InterFax's are). Real ids passed 999,999,999 around
    2020, so the default is well above that (the vendor's "999999999 = all" would miss them)."""
    interfax_id_max: int = IFX_INT_MAX - 1
    """Largest TransactionID handed out (xs:int; at most 2147483647). One below the xs:int maximum
    by default, so LastTransactionID=2147483647 ("all") lists every job; when an arrival would
    pass it, no more InterFax jobs arrive."""
    interfax_last_id_mode: LastIdMode = "strict"
    """How FaxStatusEx reads LastTransactionID: "strict" = TransactionID < LastTransactionID, as
    documented (interfax.md §2.2); "inclusive" = <= (an off-by-one server); "ignore" = a server
    that ignores it and always answers the newest page (a client's paging guard must stop)."""
    interfax_bad_fields: tuple[str, ...] = ()
    """Spoil one FaxItemEx per page, one spec each, "kind:Field[@index]" (index in the page,
    default 0 = the first item): "nil:PagesSent" = <PagesSent xsi:nil="true" />; "missing:Units"
    = the element left out; "empty:Duration" = <Duration />; "malformed:CompletionTime" = a
    value of the wrong lexical form (int/short "12.0", decimal "0,0600", dateTime
    "22/11/2026 10:00:00", InterFax's callback format). The WSDL says nillable=false and
    minOccurs=1 for numbers and dates (interfax.md §9): this is what a client must survive anyway."""
    rate_limit_calls: int = 6
    """Status calls allowed per user within `rate_limit_window` seconds; the next one gets -1011."""
    rate_limit_window: float = 60.0
    """UNCONFIRMED window semantics: a sliding window of this many simulated seconds per username.
    Limited calls are counted too, so a client that keeps hammering stays limited."""
    max_items_cap: int = 100
    """Most FaxItemEx items per call (documented limit)."""
    max_items_over_cap: OverCap = "cap"
    """UNCONFIRMED MaxItems > cap: "cap" = silently return at most the cap; "uncapped" = return
    MaxItems items; "error" = ResultCode `max_items_error_code` and no items."""
    max_items_error_code: int = -150
    """ResultCode of `max_items_over_cap="error"` (-150, "Internal System Error", interfax.md §5)."""
    error_result: ErrorResult = "absent"
    """UNCONFIRMED shape of FaxStatusExResult when ResultCode < 0 (interfax.md §11.5): "absent"
    (element left out, TotalCount and ListSize 0), "empty" (`<FaxStatusExResult />`), or "items"
    (a partial failure: the negative ResultCode AND the page of items with TotalCount/ListSize,
    for rate limits and the `result` fault; never for a failed authentication). FaxStatusEx names
    no job ids, so there is no "invalid id" partial failure on InterFax."""
    empty_result: EmptyResult = "empty"
    """UNCONFIRMED shape of FaxStatusExResult for a successful call that returns no items."""

    # --- Concord --------------------------------------------------------------------------
    concord_not_found: NotFoundPlacement = "item"
    """UNCONFIRMED placement of -5019 for an unknown job id (concord.md §3.1):
    "item" = an item with FaxJobStatusId=-5019, StatusDescription "Invalid Job ID" and
    Error.ErrorCode=-5019; "item_error" = an item whose FaxJobStatusId is 0 and only Error
    carries -5019; "call" = a partial failure: return=false with the call-level WSError
    `concord_call_error_code` / `_text`, AND the items of the valid ids (none for unknown ones);
    "call_and_item" = return=false and that WSError, plus the "item" for each unknown id;
    "call_empty" = return=false and that WSError with no items at all."""
    concord_call_error_code: int = CCD_INVALID_JOB_ID
    """Call-level WSError.ErrorCode of the "call*" placements; -5019 is the only documented id error
    (concord.md §3.2)."""
    concord_call_error_text: str = CONCORD_ERROR_TEXT[CCD_INVALID_JOB_ID]
    """Call-level WSError.ErrorString of the "call*" placements. The real wording is UNCONFIRMED:
    the documented text is "Invalid Job ID"; a server may say e.g. "One or more job ids are invalid"."""
    concord_order: ConcordOrder = "request"
    """UNCONFIRMED order of FaxStatusList items (concord.md §4, §10.4): "request" = as requested;
    "reversed"; "shuffled" (seeded by `seed`, a new order each call). Clients match by FaxJobId."""
    concord_id_case: IdCase = "as_stored"
    """Letter case of the FaxJobId echoed in items: "as_stored" (br… ids as the world made them,
    unknown ids as requested), "upper" or "lower", whatever case the request used."""
    concord_jri_echo: bool = False
    """UNCONFIRMED FaxJobId of a `JRI-<ref>` answer: False = the real br… id (the project seed
    text: the item carries the job's br… id); True = "JRI-<ref>" as requested."""
    concord_auth_error_code: int = -1
    """UNCONFIRMED WSError.ErrorCode of a failed authentication (bad PIN or token); concord.md §3.2
    documents no authentication codes at all."""
    concord_auth_error_text: str = "Authentication failed"
    """UNCONFIRMED WSError.ErrorString of a failed authentication."""
    concord_unknown_user_error_code: int | None = None
    """WSError.ErrorCode when the UserID is unknown; None = the same as `concord_auth_error_code`."""
    concord_unknown_user_error_text: str | None = None
    """WSError.ErrorString when the UserID is unknown (e.g. "Invalid UserID"); None = the same as
    `concord_auth_error_text`."""
    concord_disabled_users: tuple[str, ...] = ()
    """UserIDs whose account is disabled: right credentials, yet refused with
    `concord_disabled_error_code` / `_text` (return=false, `concord_auth_http_status`)."""
    concord_disabled_error_code: int = -1
    """WSError.ErrorCode for a disabled account (UNCONFIRMED, like every authentication code)."""
    concord_disabled_error_text: str = "Account is disabled"
    """WSError.ErrorString for a disabled account."""
    concord_auth_http_status: int = 200
    """UNCONFIRMED HTTP status of a failed authentication (200 with return=false, or e.g. 401)."""
    concord_pending_datetime: str = ""
    """UNCONFIRMED FaxDeliveryDateTime before delivery."""
    concord_pending_duration: int = 0
    """UNCONFIRMED FaxDeliveryDuration before delivery."""
    concord_utc_offset_minutes: int = 0
    """Offset the Concord date strings are written in (D6 format YYYY-MM-DDTHH:MM:SS±HH:MM)."""
    concord_failure_reasons: bool = True
    """UNCONFIRMED StatusDescription vocabulary: True = a failed job says "Job Failed: Busy" (the
    documented text plus the reason); False = exactly the documented "Job Failed"."""
    concord_strict_soapaction: bool = True
    """The WSDL gives SOAPAction "" to every operation: True = any other SOAPAction gets a Fault."""
    concord_media_types: MediaTypes = "documented"
    """Which request Content-Types Concord takes. "documented": what concord.md §1.3 says -
    application/soap+xml (the method pages' default, also sent with a SOAP 1.1 envelope as P1
    does), text/xml (the WSDL's SOAP 1.1 binding, what generated clients send) or none at all
    (the docs: "If a value is not supplied then the default of application/soap+xml is used"),
    the SOAP version taken from the envelope; "strict": text/xml only with a 1.1 envelope,
    application/soap+xml only with 1.2 (else a VersionMismatch Fault), none -> 415.
    application/json (the docs' JSON mode, unverified) -> 415 either way."""
    concord_soap12: bool = True
    """UNCONFIRMED whether Concord accepts a SOAP 1.2 envelope (the WSDL has only a 1.1 binding):
    False = a 1.2 envelope gets a SOAP 1.1 VersionMismatch Fault, as a 1.1-only gSOAP build does."""
    concord_reply_content_type: ReplyContentType = "envelope"
    """UNCONFIRMED Content-Type of Concord's answers: "envelope" = text/xml for a 1.1 envelope,
    application/soap+xml for 1.2; "request" = the request's own media type (application/soap+xml
    when it sent none), so a SOAP 1.1 answer may come as application/soap+xml."""

    # --- both SOAP services ---------------------------------------------------------------
    soap_fault_style: FaultStyle = "plain"
    """How SOAP Faults are written (every Fault of both services, including the http500 fault):
    "plain" = as the specs say; "qualified" = SOAP 1.1 <soap:faultcode>/<soap:faultstring>;
    "default_ns" = <Fault xmlns="envelope ns"> with unprefixed children; "unqualified" = SOAP 1.2
    Code/Reason in no namespace; "mixed" = the other SOAP version's element names."""
    interfax_response_ns: str = ""
    """Namespace of the FaxStatusExResponse wrapper; "" = the documented http://www.interfax.cc.
    Set it (e.g. "http://www.interfax.net", the inbound service's) to answer in an unexpected one."""
    concord_response_ns: str = ""
    """Namespace of the RealTimeFaxStatusExResponse wrapper; "" = the documented urn:FaxWS (e.g.
    "https://ws.concordfax.com/fax/v5/FaxWS.wsdl", the WSDL's targetNamespace, is a plausible slip)."""
    response_ns_children: bool = False
    """With a response namespace set: False = only the wrapper moves, its children stay in the
    documented namespace; True = the children move with it."""

    # --- OAuth token endpoint -------------------------------------------------------------
    token_expires_in: int = 3600
    """Lifetime in simulated seconds of tokens issued by the token endpoint."""
    oauth_refuse_offline_access: bool = False
    """UNCONFIRMED (concord.md §1.4: the token endpoint looks like IdentityServer): True = answer a
    client_credentials request whose scope names offline_access as IdentityServer does, HTTP 400
    {"error": "invalid_scope"} (a refresh token needs a user); False = ignore it and issue a token."""

    def __post_init__(self) -> None:
        for name in ("interfax_bad_fields", "concord_disabled_users"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = tuple(v.strip() for v in value.split(",") if v.strip())
            elif isinstance(value, list):
                value = tuple(value)
            object.__setattr__(self, name, value)
        problems: list[str] = []
        if not self.speed > 0:
            problems.append("speed must be > 0")
        if self.retention_days < 0:
            problems.append("retention_days must be >= 0")
        if self.arrival_mean_seconds < 0:
            problems.append("arrival_mean_seconds must be >= 0")
        if not 1 <= self.interfax_retry_wait_min <= self.interfax_retry_wait_max:
            problems.append("need 1 <= interfax_retry_wait_min <= interfax_retry_wait_max")
        if self.rate_limit_calls < 1 or self.rate_limit_window <= 0:
            problems.append("rate_limit_calls must be >= 1 and rate_limit_window > 0")
        if self.max_items_cap < 1:
            problems.append("max_items_cap must be >= 1")
        if self.token_expires_in < 1:
            problems.append("token_expires_in must be >= 1")
        if not 100 <= self.concord_auth_http_status <= 599:
            problems.append("concord_auth_http_status must be an HTTP status")
        if not 1 <= self.interfax_id_base <= self.interfax_id_max <= IFX_INT_MAX:
            problems.append(f"need 1 <= interfax_id_base <= interfax_id_max <= {IFX_INT_MAX} (xs:int)")
        for name, allowed in (
            ("datetime_style", DATETIME_STYLES),
            ("max_items_over_cap", OVER_CAP),
            ("error_result", ERROR_RESULTS),
            ("empty_result", EMPTY_RESULTS),
            ("concord_not_found", NOT_FOUND_PLACEMENTS),
            ("interfax_last_id_mode", get_args(LastIdMode)),
            ("concord_order", get_args(ConcordOrder)),
            ("concord_id_case", get_args(IdCase)),
            ("concord_media_types", get_args(MediaTypes)),
            ("concord_reply_content_type", get_args(ReplyContentType)),
            ("soap_fault_style", FAULT_STYLES),
        ):
            if getattr(self, name) not in allowed:
                problems.append(f"{name} must be one of {', '.join(allowed)}")
        for name in ("interfax_bad_fields", "concord_disabled_users"):
            if not all(isinstance(v, str) for v in getattr(self, name)):
                problems.append(f"{name} must be a list of strings")
        try:
            self.bad_fields()
        except ValueError as exc:
            problems.append(str(exc))
        for name in ("interfax_response_ns", "concord_response_ns"):
            if any(ch in getattr(self, name) for ch in '"<>&\'') or len(getattr(self, name)) > 200:
                problems.append(f"{name} must be a namespace URI (no quotes, <, > or &)")
        if problems:
            raise ValueError("; ".join(problems))

    def bad_fields(self) -> tuple[BadField, ...]:
        return _bad_fields(self.interfax_bad_fields)

    def to_json(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: list(v) if isinstance(v, tuple) else v for name, v in values.items()}

    def with_changes(self, changes: Mapping[str, Any]) -> SimOptions:
        """A copy with `changes` applied; values may be JSON values or text (as from the command line).
        `ValueError` (one line) for an unknown name or a bad value."""
        hints = _hints()
        coerced: dict[str, Any] = {}
        for name, value in changes.items():
            hint = hints.get(name)
            if hint is None:
                raise ValueError(f"unknown option {name!r}")
            coerced[name] = _coerce(name, hint, value)
        return replace(self, **coerced)

    @staticmethod
    def parse_assignments(assignments: list[str], base: SimOptions | None = None) -> SimOptions:
        """`["name=value", ...]` (the `--option` arguments) applied to `base` (default SimOptions())."""
        changes: dict[str, str] = {}
        for text in assignments:
            name, eq, value = text.partition("=")
            if not eq or not name.strip():
                raise ValueError(f"--option {text!r}: expected NAME=VALUE")
            changes[name.strip()] = value
        return (base if base is not None else SimOptions()).with_changes(changes)


@cache
def _bad_fields(specs: tuple[str, ...]) -> tuple[BadField, ...]:
    return tuple(parse_bad_field(spec) for spec in specs)


@cache
def _hints() -> dict[str, Any]:
    return get_type_hints(SimOptions)


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _coerce(name: str, hint: Any, value: Any) -> Any:
    """`value` (a JSON value, or text) as the type `hint` of option `name`."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None or value == "":
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(name, inner, value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"{name} must be true or false, not {value!r}")
    if hint is int or hint is float:
        if isinstance(value, bool):
            raise ValueError(f"{name} must be a number, not {value!r}")
        if isinstance(value, str):
            try:
                value = float(value) if hint is float else int(value.strip().replace("_", ""))
            except ValueError:
                raise ValueError(f"{name} must be {'a number' if hint is float else 'an integer'}, "
                                 f"not {value!r}") from None
        if hint is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int | float) or (hint is int and not isinstance(value, int)):
            raise ValueError(f"{name} must be {'a number' if hint is float else 'an integer'}, not {value!r}")
        return hint(value)
    if hint is str or origin is Literal:
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, not {value!r}")
        return value
    if origin is tuple:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ValueError(f"{name} must be a list of strings")
    raise ValueError(f"{name} cannot be set")  # pragma: no cover - every field has a type above


@cache
def option_docs() -> dict[str, str]:
    """Each option's documentation: the string literal written under its field above."""
    tree = ast.parse(inspect.getsource(SimOptions))
    cls = tree.body[0]
    assert isinstance(cls, ast.ClassDef)
    docs: dict[str, str] = {}
    body = cls.body
    for node, after in zip(body, [*body[1:], None], strict=True):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            text = ""
            if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
                text = str(after.value.value)
            docs[node.target.id] = " ".join(text.split())
    return docs
