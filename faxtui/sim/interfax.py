"""InterFax `dfs.asmx` FaxStatusEx, answered the way an ASMX service does (interfax.md §1–§5, §9).

SOAP 1.1 is routed by the SOAPAction header (quoted or not); SOAP 1.2 by the Content-Type
`action` parameter, or by the Body element when there is none. Business errors travel in
ResultCode with HTTP 200 (-1003 bad credentials, -1011 rate limited); requests the service
cannot read get an ASMX-style SOAP Fault with HTTP 500.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from faxtui.sim.exchange import HttpRequest, Reply, html_page
from faxtui.sim.jobs import InterfaxJob
from faxtui.sim.lives import IfxFrame
from faxtui.sim.options import BadField, SimOptions
from faxtui.sim.protocol import CONTENT_TYPE, FAXITEM_TYPE, INTERFAX_NS, SoapVersion
from faxtui.sim.stats import Stats
from faxtui.sim.status_tables import IFX_AUTH_FAILED, IFX_RATE_LIMITED
from faxtui.sim.wire import (
    XML_DECL,
    XSI_XSD,
    FaultStyle,
    SoapParseError,
    SoapRequest,
    esc,
    fault_envelope,
    parse_soap,
    utc_text,
)
from faxtui.sim.world import World

OPERATION = "FaxStatusEx"
SOAP_ACTION = f"{INTERFAX_NS}/{OPERATION}"
RESPONSE = "FaxStatusExResponse"
WRONG_RESPONSE = "FaxQueryResponse"

_ENVELOPE_OPEN: dict[SoapVersion, str] = {
    "1.1": f'{XML_DECL}<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" {XSI_XSD}>'
           "<soap:Body>",
    "1.2": f'{XML_DECL}<soap12:Envelope xmlns:soap12="http://www.w3.org/2003/05/soap-envelope" {XSI_XSD}>'
           "<soap12:Body>",
}
_ENVELOPE_CLOSE: dict[SoapVersion, str] = {
    "1.1": "</soap:Body></soap:Envelope>",
    "1.2": "</soap12:Body></soap12:Envelope>",
}


class RateLimiter:
    """A sliding window per key: at most `limit` calls within `window` seconds; every call counts."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float) -> bool:
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            while calls and calls[0] <= now - self.window:
                calls.popleft()
            allowed = len(calls) < self.limit
            calls.append(now)
            return allowed


@dataclass(slots=True)
class InterfaxCall:
    """A FaxStatusEx request the service could read."""

    version: SoapVersion
    username: str
    password: str = field(repr=False)
    last_transaction_id: int = 0
    max_items: int = 0


MALFORMED: dict[str, str] = {
    # What `interfax_bad_fields` "malformed:<Field>" writes, by XSD type: a float in an integer,
    # a comma decimal separator, and the dd/mm/yyyy hh:mm:ss of InterFax's HTTP POST callbacks
    # (interfax.md §7) in place of an xs:dateTime.
    "int": "12.0",
    "short": "12.0",
    "decimal": "0,0600",
    "dateTime": "22/11/2026 10:00:00",
}


def _fault(version: SoapVersion, client: bool, text: str, style: FaultStyle = "plain") -> Reply:
    code = ("Client" if client else "Server") if version == "1.1" else ("Sender" if client else "Receiver")
    return Reply(500, fault_envelope(version, code, text, style), CONTENT_TYPE[version])


def unreadable(version: SoapVersion, detail: str, style: FaultStyle = "plain") -> Reply:
    return _fault(version, True, f"Server was unable to read request. ---> {detail}", style)


def server_fault(version: SoapVersion, detail: str = "Simulated server failure.",
                 style: FaultStyle = "plain") -> Reply:
    return _fault(version, False, f"Server was unable to process request. ---> {detail}", style)


def _int_field(call: SoapRequest, name: str) -> int:
    """An xs:int input; a missing element reads as 0, as XmlSerializer leaves value types."""
    text = call.text(name)
    if text is None:
        return 0
    try:
        value = int(text.strip())
    except ValueError:
        raise SoapParseError(
            f"There is an error in XML document. ---> Input string was not in a correct format ({name})."
        ) from None
    if not -(2**31) <= value < 2**31:
        raise SoapParseError("There is an error in XML document. ---> Value was either too large or too "
                             f"small for an Int32 ({name}).")
    return value


class InterfaxService:
    def __init__(self, world: World, stats: Stats) -> None:
        self.world = world
        self.stats = stats
        self.limiter = RateLimiter(self.options.rate_limit_calls, self.options.rate_limit_window)

    @property
    def options(self) -> SimOptions:
        """The world's options now (they can change while the server runs)."""
        return self.world.options

    # --- reading ------------------------------------------------------------------------

    def read(self, request: HttpRequest) -> InterfaxCall | Reply:
        """The request as an `InterfaxCall`, or the Reply an ASMX service gives to what it cannot read."""
        media = request.media_type
        if media not in ("text/xml", "application/soap+xml"):
            return html_page(415, "Unsupported Media Type",
                             "The request must be text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2).")
        declared: SoapVersion = "1.2" if media == "application/soap+xml" else "1.1"
        style = self.options.soap_fault_style
        try:
            soap = parse_soap(request.body)
        except SoapParseError as exc:
            return unreadable(declared, str(exc), style)
        if soap.version != declared:
            text = "Possible SOAP version mismatch: Envelope namespace does not match the Content-Type."
            return Reply(500, fault_envelope(declared, "VersionMismatch", text, style),
                         CONTENT_TYPE[declared])
        action = self._action(request, soap.version)
        if action is not None and action != SOAP_ACTION:
            return _fault(soap.version, True,
                          f"Server did not recognize the value of HTTP Header SOAPAction: {action[:200]}.",
                          style)
        if soap.op_name != OPERATION or soap.op_ns != INTERFAX_NS:
            if action is None and soap.version == "1.2":
                return _fault(soap.version, True,
                              "Unable to handle request without a valid action parameter. "
                              "Please supply a valid soap action.", style)
            return unreadable(soap.version, f"There is an error in XML document. ---> <{soap.op_name[:100]} "
                                            f"xmlns='{soap.op_ns[:100]}'> was not expected.", style)
        try:
            return InterfaxCall(
                version=soap.version,
                username=soap.text("Username") or "",
                password=soap.text("Password") or "",
                last_transaction_id=_int_field(soap, "LastTransactionID"),
                max_items=_int_field(soap, "MaxItems"),
            )
        except SoapParseError as exc:
            return unreadable(soap.version, str(exc), style)

    @staticmethod
    def _action(request: HttpRequest, version: SoapVersion) -> str | None:
        """The SOAP action the client named: SOAPAction (1.1, "" when missing) or the 1.2 parameter."""
        if version == "1.1":
            return (request.headers.get("SOAPAction") or "").strip().strip('"')
        action = request.content_param("action")
        return action.strip().strip('"') if action is not None else None

    # --- answering ----------------------------------------------------------------------

    def answer(self, call: InterfaxCall) -> Reply:
        if not self.world.interfax_authenticate(call.username, call.password):
            return self.result_only(call, IFX_AUTH_FAILED)
        now = self.world.advance_to_now().timestamp()
        options = self.options
        self.limiter.limit, self.limiter.window = options.rate_limit_calls, options.rate_limit_window
        if not self.limiter.allow(call.username, now):
            self.stats.rate_limited()
            return self.result_only(call, IFX_RATE_LIMITED)
        limit = self._limit(call)
        if limit is None:
            return self.result_only(call, options.max_items_error_code)
        items, total = self.world.interfax_page(call.username, call.last_transaction_id, limit,
                                                options.interfax_last_id_mode)
        return self._reply(call.version, self.render(items, total))

    def _limit(self, call: InterfaxCall) -> int | None:
        """How many items the call gets; None when MaxItems over the cap is an error."""
        options = self.options
        limit = call.max_items
        if limit > options.max_items_cap:
            if options.max_items_over_cap == "error":
                return None
            if options.max_items_over_cap == "cap":
                limit = options.max_items_cap
        return limit

    def result_only(self, call: InterfaxCall, code: int) -> Reply:
        """A well-formed answer carrying a ResultCode (errors, and the `result` fault): with
        `error_result="items"` and a negative code, the page of items too (never for -1003)."""
        options = self.options
        shape = options.error_result if code < 0 else options.empty_result
        if (shape == "items" and code != IFX_AUTH_FAILED
                and self.world.interfax_authenticate(call.username, call.password)):
            limit = self._limit(call)
            items, total = self.world.interfax_page(call.username, call.last_transaction_id,
                                                    options.max_items_cap if limit is None else limit,
                                                    options.interfax_last_id_mode)
            return self._reply(call.version, self.render(items, total, code))
        result = "<FaxStatusExResult />" if shape == "empty" else ""
        body = (f"{self._open()}{result}<TotalCount>0</TotalCount>"
                f"<ListSize>0</ListSize><ResultCode>{code}</ResultCode></{self._close()}>")
        return self._reply(call.version, body)

    def _open(self) -> str:
        """The wrapper's start tag: in the documented namespace, or `interfax_response_ns`."""
        other = self.options.interfax_response_ns
        if not other or other == INTERFAX_NS:
            return f'<{RESPONSE} xmlns="{INTERFAX_NS}">'
        if self.options.response_ns_children:
            return f'<{RESPONSE} xmlns="{other}">'
        return f'<r:{RESPONSE} xmlns:r="{other}" xmlns="{INTERFAX_NS}">'

    def _close(self) -> str:
        other = self.options.interfax_response_ns
        if other and other != INTERFAX_NS and not self.options.response_ns_children:
            return f"r:{RESPONSE}"
        return RESPONSE

    def _reply(self, version: SoapVersion, payload: str) -> Reply:
        body = _ENVELOPE_OPEN[version] + payload + _ENVELOPE_CLOSE[version]
        return Reply(200, body.encode(), CONTENT_TYPE[version])

    def render(self, items: list[tuple[InterfaxJob, IfxFrame]], total: int, code: int = 0) -> str:
        """The FaxStatusExResponse element (ResultCode `code`, 0 for a successful call)."""
        if items:
            bad: dict[int, list[BadField]] = {}
            for spoil in self.options.bad_fields():
                bad.setdefault(spoil.position, []).append(spoil)
            rendered = "".join(
                self._item(j, f) if i not in bad else self._spoilt_item(j, f, bad[i])
                for i, (j, f) in enumerate(items)
            )
            result = f"<FaxStatusExResult>{rendered}</FaxStatusExResult>"
        else:
            result = "<FaxStatusExResult />" if self.options.empty_result == "empty" else ""
        return (f"{self._open()}{result}<TotalCount>{total}</TotalCount>"
                f"<ListSize>{len(items)}</ListSize><ResultCode>{code}</ResultCode></{self._close()}>")

    def _time(self, ts: float) -> str:
        style = self.options.datetime_style
        text = utc_text(ts)
        return text if style == "dotnet" else text + style

    def fields(self, job: InterfaxJob, frame: IfxFrame) -> list[tuple[str, str | None]]:
        """The 27 FaxItemEx (name, escaped text) pairs in WSDL order; None = left out (a null
        string: minOccurs=0, interfax.md §9). Numbers and times are always there."""
        options = self.options
        postpone = self._time(job.postpone) if job.postpone is not None else options.not_postponed
        remote = job.remote_csid if frame.connected else None
        return [
            ("ParentTransactionID", str(job.parent_id)),
            ("TransactionID", str(job.transaction_id)),
            ("SubmitTime", self._time(job.submit)),
            ("PostponeTime", postpone),
            ("CompletionTime", self._time(job.submit + frame.at) if frame.final else options.not_completed),
            ("UserID", esc(job.account)),
            ("Contact", esc(job.contact)),
            ("JobID", None),
            ("DestinationFax", job.destination.canonical),
            ("ReplyEmail", esc(job.reply_email) if job.reply_email is not None else None),
            ("RemoteCSID", esc(remote) if remote is not None else None),
            ("PagesSent", str(frame.pages)),
            ("Status", str(frame.status)),
            ("Duration", str(frame.duration)),
            ("Subject", esc(job.subject)),
            ("PagesSubmitted", str(job.pages_submitted)),
            ("SenderCSID", esc(job.sender_csid)),
            ("Priority", str(job.priority)),
            ("Units", f"{frame.pages}.0000"),
            ("CostPerUnit", str(job.cost_per_unit)),
            ("PageSize", job.destination.page_size),
            ("PageOrientation", job.orientation),
            ("PageResolution", job.resolution),
            ("RenderingQuality", job.rendering),
            ("PageHeader", esc(job.page_header) if job.page_header is not None else None),
            ("RetriesToPerform", str(job.retries)),
            ("TrialsPerformed", str(frame.trials)),
        ]

    def _spoilt_item(self, job: InterfaxJob, frame: IfxFrame, spoils: list[BadField]) -> str:
        """One FaxItemEx with `interfax_bad_fields` applied."""
        how = {s.field: s.kind for s in spoils}
        parts = ["<FaxItemEx>"]
        for name, value in self.fields(job, frame):
            kind = how.get(name)
            if kind == "missing":
                continue
            if kind == "nil":
                parts.append(f'<{name} xsi:nil="true" />')
            elif kind == "empty":
                parts.append(f"<{name} />")
            elif kind == "malformed":
                parts.append(f"<{name}>{MALFORMED[FAXITEM_TYPE[name]]}</{name}>")
            elif value is not None:
                parts.append(f"<{name}>{value}</{name}>")
        parts.append("</FaxItemEx>")
        return "".join(parts)

    def _item(self, job: InterfaxJob, frame: IfxFrame) -> str:
        """One FaxItemEx: 27 elements in WSDL order; numbers and times always, strings when set.
        (Written out in one join rather than from `fields`: a 100-item page is the hot path.)"""
        options = self.options
        postpone = self._time(job.postpone) if job.postpone is not None else options.not_postponed
        remote = job.remote_csid if frame.connected else None
        return "".join((
            "<FaxItemEx><ParentTransactionID>", str(job.parent_id),
            "</ParentTransactionID><TransactionID>", str(job.transaction_id),
            "</TransactionID><SubmitTime>", self._time(job.submit),
            "</SubmitTime><PostponeTime>", postpone,
            "</PostponeTime><CompletionTime>",
            self._time(job.submit + frame.at) if frame.final else options.not_completed,
            "</CompletionTime><UserID>", esc(job.account),
            "</UserID><Contact>", esc(job.contact),
            "</Contact><DestinationFax>", job.destination.canonical, "</DestinationFax>",
            f"<ReplyEmail>{esc(job.reply_email)}</ReplyEmail>" if job.reply_email is not None else "",
            f"<RemoteCSID>{esc(remote)}</RemoteCSID>" if remote is not None else "",
            "<PagesSent>", str(frame.pages),
            "</PagesSent><Status>", str(frame.status),
            "</Status><Duration>", str(frame.duration),
            "</Duration><Subject>", esc(job.subject),
            "</Subject><PagesSubmitted>", str(job.pages_submitted),
            "</PagesSubmitted><SenderCSID>", esc(job.sender_csid),
            "</SenderCSID><Priority>", str(job.priority),
            "</Priority><Units>", str(frame.pages), ".0000</Units><CostPerUnit>", str(job.cost_per_unit),
            "</CostPerUnit><PageSize>", job.destination.page_size,
            "</PageSize><PageOrientation>", job.orientation,
            "</PageOrientation><PageResolution>", job.resolution,
            "</PageResolution><RenderingQuality>", job.rendering, "</RenderingQuality>",
            f"<PageHeader>{esc(job.page_header)}</PageHeader>" if job.page_header is not None else "",
            "<RetriesToPerform>", str(job.retries),
            "</RetriesToPerform><TrialsPerformed>", str(frame.trials), "</TrialsPerformed></FaxItemEx>",
        ))
