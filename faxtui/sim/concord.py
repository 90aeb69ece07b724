"""Concord FaxWS v5 GetRealTimeFaxStatusEx, answered the way the gSOAP service does (concord.md §1–§4, §7).

Dispatch is on the Body's first element (SOAPAction is "" for every operation). Errors are in
band: `return` false plus `WSError`, with per-item `Error`. Authentication is a bearer token
(`Authorization: Bearer …`, from the token endpoint or a static demo token) with an empty
strPIN, or the deprecated PIN in strPIN. Status texts come from the simulator's own table
(`faxtui.sim.status_tables`, concord.md §3.1).

Content types (concord.md §1.3): the method pages document `application/soap+xml` (and its use
when none is sent); the WSDL's only binding is SOAP 1.1, which generated clients send as
`text/xml`. By default all three are taken and the envelope decides the SOAP version
(`SimOptions.concord_media_types`, `concord_soap12`, `concord_reply_content_type`).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from faxtui.sim.exchange import HttpRequest, Reply, text_reply
from faxtui.sim.jobs import ConcordJob
from faxtui.sim.lives import CcdFrame
from faxtui.sim.options import SimOptions
from faxtui.sim.protocol import CONCORD_NS, CONTENT_TYPE, MEDIA_TYPE, SoapVersion
from faxtui.sim.status_tables import CCD_FAILED, CCD_INVALID_JOB_ID, CCD_SUCCEEDED, concord_text
from faxtui.sim.tokens import TokenService
from faxtui.sim.wire import (
    XSI_XSD,
    FaultStyle,
    SoapParseError,
    esc,
    fault_envelope,
    items_of,
    offset_text,
    parse_soap,
)
from faxtui.sim.world import JRI_PREFIX, World

OPERATION = "GetRealTimeFaxStatusEx"
RESPONSE = "RealTimeFaxStatusExResponse"
WRONG_RESPONSE = "FaxStatusResponse"
INVALID_JOB_TEXT = concord_text(CCD_INVALID_JOB_ID)
SOAP_MEDIA_TYPES = ("text/xml", "application/soap+xml")

_ENC = {"1.1": "http://schemas.xmlsoap.org/soap/encoding/", "1.2": "http://www.w3.org/2003/05/soap-encoding"}
_ENV = {"1.1": "http://schemas.xmlsoap.org/soap/envelope/", "1.2": "http://www.w3.org/2003/05/soap-envelope"}
_ENVELOPE_OPEN: dict[SoapVersion, str] = {
    v: (f'<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="{_ENV[v]}" '
        f'xmlns:SOAP-ENC="{_ENC[v]}" {XSI_XSD} xmlns:FaxWS="{CONCORD_NS}"><SOAP-ENV:Body>')
    for v in ("1.1", "1.2")
}
_ENVELOPE_CLOSE = "</SOAP-ENV:Body></SOAP-ENV:Envelope>\n"


@dataclass(slots=True)
class ConcordCall:
    """A GetRealTimeFaxStatusEx request the service could read."""

    version: SoapVersion
    user_id: str
    pin: str
    job_ids: list[str]
    authorization: str | None
    media_type: str = ""
    """The request's media type ("" when it sent no Content-Type)."""

    def __repr__(self) -> str:  # never show the PIN or the token
        return f"ConcordCall(version={self.version!r}, user_id={self.user_id!r}, jobs={len(self.job_ids)})"


def gsoap_fault(version: SoapVersion, client: bool, text: str, style: FaultStyle = "plain",
                content_type: str | None = None) -> Reply:
    """A gSOAP-style Fault (SOAP-ENV prefix), HTTP 500."""
    code = ("Client" if client else "Server") if version == "1.1" else ("Sender" if client else "Receiver")
    return Reply(500, fault_envelope(version, code, text, style, prefix="SOAP-ENV"),
                 content_type or CONTENT_TYPE[version])


class ConcordService:
    def __init__(self, world: World, tokens: TokenService) -> None:
        self.world = world
        self.tokens = tokens
        self._order_lock = threading.Lock()
        self._order_calls = 0

    @property
    def options(self) -> SimOptions:
        """The world's options now (they can change while the server runs)."""
        return self.world.options

    def content_type(self, version: SoapVersion, request_media: str) -> str:
        """The Content-Type of an answer in `version` to a request sent as `request_media`."""
        if self.options.concord_reply_content_type == "request":
            return f"{request_media or MEDIA_TYPE['1.2']}; charset=utf-8"
        return CONTENT_TYPE[version]

    def fault(self, version: SoapVersion, client: bool, text: str, request_media: str = "") -> Reply:
        return gsoap_fault(version, client, text, self.options.soap_fault_style,
                           self.content_type(version, request_media))

    # --- reading ------------------------------------------------------------------------

    def read(self, request: HttpRequest) -> ConcordCall | Reply:
        options = self.options
        media = request.media_type
        strict = options.concord_media_types == "strict"
        if media not in SOAP_MEDIA_TYPES and (strict or media != ""):
            return text_reply(415, "Unsupported Media Type: send application/soap+xml or text/xml\n")
        declared: SoapVersion = "1.1" if media == "text/xml" else "1.2"
        try:
            soap = parse_soap(request.body)
        except SoapParseError as exc:
            return self.fault(declared if strict else "1.1", True, str(exc), media)
        if strict:
            mismatch = soap.version != declared
        else:
            mismatch = soap.version == "1.2" and not options.concord_soap12
        if mismatch:
            answer_in: SoapVersion = declared if strict else "1.1"
            return Reply(500, fault_envelope(answer_in, "VersionMismatch", "SOAP version mismatch",
                                             options.soap_fault_style, prefix="SOAP-ENV"),
                         self.content_type(answer_in, media))
        if options.concord_strict_soapaction:
            action = (request.headers.get("SOAPAction") if soap.version == "1.1"
                      else request.content_param("action")) or ""
            action = action.strip().strip('"')
            if action:
                return self.fault(soap.version, True, f'SOAPAction "{action[:200]}" not recognized: '
                                                      'FaxWS operations use SOAPAction ""', media)
        if soap.op_name != OPERATION or soap.op_ns != CONCORD_NS:
            return self.fault(soap.version, True,
                              f"Method '{soap.op_name[:100]}' not implemented: method name or namespace "
                              "not recognized", media)
        return ConcordCall(
            version=soap.version,
            user_id=(soap.text("UserID") or "").strip(),
            pin=soap.text("strPIN") or "",
            job_ids=items_of(soap.child("FaxJobIds"), CONCORD_NS, "item", "JobId"),
            authorization=request.headers.get("Authorization"),
            media_type=media,
        )

    # --- answering ------------------------------------------------------------------------

    def _auth_failure(self, call: ConcordCall) -> tuple[int, str] | None:
        """(WSError code, text) when the call may not see the account's jobs, else None."""
        options = self.options
        if not self.world.concord_has_user(call.user_id):
            return (options.concord_auth_error_code if options.concord_unknown_user_error_code is None
                    else options.concord_unknown_user_error_code,
                    options.concord_auth_error_text if options.concord_unknown_user_error_text is None
                    else options.concord_unknown_user_error_text)
        if call.authorization is not None:
            scheme, _, token = call.authorization.strip().partition(" ")
            good = scheme.lower() == "bearer" and bool(token.strip()) and self.tokens.check(token.strip(),
                                                                                             call.user_id)
        else:
            good = self.world.concord_check_pin(call.user_id, call.pin)
        if not good:
            return options.concord_auth_error_code, options.concord_auth_error_text
        if call.user_id in options.concord_disabled_users:
            return options.concord_disabled_error_code, options.concord_disabled_error_text
        return None

    def answer(self, call: ConcordCall) -> Reply:
        options = self.options
        refused = self._auth_failure(call)
        if refused is not None:
            reply = self.false_reply(call, *refused)
            reply.status = options.concord_auth_http_status
            return reply
        items: list[str] = []
        not_found = False
        pending_when, pending_duration = options.concord_pending_datetime, options.concord_pending_duration
        for wanted, job, frame in self.world.concord_lookup(call.user_id, call.job_ids):
            if job is None or frame is None:
                not_found = True
                shown = self._case(wanted)
                if options.concord_not_found in ("item", "call_and_item"):
                    items.append(self._item(shown, CCD_INVALID_JOB_ID, INVALID_JOB_TEXT, 0, 0, 0,
                                            pending_when, pending_duration, "", CCD_INVALID_JOB_ID,
                                            INVALID_JOB_TEXT))
                elif options.concord_not_found == "item_error":
                    items.append(self._item(shown, 0, "", 0, 0, 0, pending_when, pending_duration, "",
                                            CCD_INVALID_JOB_ID, INVALID_JOB_TEXT))
                continue
            # A JRI-<ref> look-up answers under the job's own br… id (concord.md §2.1; the seed's
            # "the most recent job with the given Reference Id will be returned").
            shown = wanted if (options.concord_jri_echo and wanted.startswith(JRI_PREFIX)) else job.job_id
            items.append(self._job_item(self._case(shown), job, frame))
        items = self._ordered(items)
        if not_found and options.concord_not_found.startswith("call"):
            kept = [] if options.concord_not_found == "call_empty" else items
            return self._reply(call, False, kept, options.concord_call_error_code,
                               options.concord_call_error_text)
        return self._reply(call, True, items, 0, "")

    def _case(self, job_id: str) -> str:
        case = self.options.concord_id_case
        return job_id.upper() if case == "upper" else job_id.lower() if case == "lower" else job_id

    def _ordered(self, items: list[str]) -> list[str]:
        order = self.options.concord_order
        if order == "reversed":
            return items[::-1]
        if order == "shuffled" and len(set(items)) > 1:
            with self._order_lock:
                self._order_calls += 1
                rng = random.Random(f"faxtui-sim-concord-order:{self.options.seed}:{self._order_calls}")
            shuffled = items[:]
            while shuffled == items:  # always a different order, or the option tests nothing
                rng.shuffle(shuffled)
            return shuffled
        return items

    def false_reply(self, call: ConcordCall, code: int, text: str) -> Reply:
        """return=false, no items, and the call-level WSError (auth failures, the `false` fault)."""
        return self._reply(call, False, [], code, text)

    def _reply(self, call: ConcordCall, ok: bool, items: list[str], code: int, text: str) -> Reply:
        options = self.options
        other = options.concord_response_ns
        if other and other != CONCORD_NS:
            if options.response_ns_children:  # FaxWS: itself means the other namespace in here
                wrapper, declare = f"FaxWS:{RESPONSE}", f' xmlns:FaxWS="{other}"'
            else:
                wrapper, declare = f"R:{RESPONSE}", f' xmlns:R="{other}"'
        else:
            wrapper, declare = f"FaxWS:{RESPONSE}", ""
        status_list = ("<FaxWS:FaxStatusList>" + "".join(items) + "</FaxWS:FaxStatusList>") if items \
            else "<FaxWS:FaxStatusList></FaxWS:FaxStatusList>"
        body = "".join((
            _ENVELOPE_OPEN[call.version], f"<{wrapper}{declare}><FaxWS:return>", "true" if ok else "false",
            "</FaxWS:return>", status_list,
            "<FaxWS:WSError><FaxWS:ErrorCode>", str(code), "</FaxWS:ErrorCode><FaxWS:ErrorString>", esc(text),
            f"</FaxWS:ErrorString></FaxWS:WSError></{wrapper}>", _ENVELOPE_CLOSE,
        ))
        return Reply(200, body.encode(), self.content_type(call.version, call.media_type))

    def _job_item(self, shown_id: str, job: ConcordJob, frame: CcdFrame) -> str:
        options = self.options
        status = frame.status
        description = concord_text(status)
        if status == CCD_FAILED and options.concord_failure_reasons and frame.reason:
            description = f"{description}: {frame.reason}"
        delivered = status == CCD_SUCCEEDED
        when = (offset_text(job.submit + frame.at, options.concord_utc_offset_minutes) if delivered
                else options.concord_pending_datetime)
        duration = frame.duration if frame.final else options.concord_pending_duration
        csid = job.remote_csid if (frame.final and frame.connected) else ""
        return self._item(shown_id, status, description, status, frame.pages, job.pages_total, when, duration,
                          csid, 0, "")
    @staticmethod
    def _item(job_id: str, status: int, description: str, recipient_state: int, current: int, total: int,
              when: str, duration: int, csid: str, error_code: int, error_text: str) -> str:
        """One RealTimeFaxStatusEx item: all ten minOccurs=1 elements, in WSDL order."""
        return "".join((
            "<FaxWS:item><FaxWS:FaxJobId>", esc(job_id),
            "</FaxWS:FaxJobId><FaxWS:FaxJobStatusId>", str(status),
            "</FaxWS:FaxJobStatusId><FaxWS:StatusDescription>", esc(description),
            "</FaxWS:StatusDescription><FaxWS:RecipientState>", str(recipient_state),
            "</FaxWS:RecipientState><FaxWS:RecipientCurrentPageCount>", str(current),
            "</FaxWS:RecipientCurrentPageCount><FaxWS:RecipientTotalPageCount>", str(total),
            "</FaxWS:RecipientTotalPageCount><FaxWS:FaxDeliveryDateTime>", esc(when),
            "</FaxWS:FaxDeliveryDateTime><FaxWS:FaxDeliveryDuration>", str(duration),
            "</FaxWS:FaxDeliveryDuration><FaxWS:RemoteFaxCSID>", esc(csid),
            "</FaxWS:RemoteFaxCSID><FaxWS:Error><FaxWS:ErrorCode>", str(error_code),
            "</FaxWS:ErrorCode><FaxWS:ErrorString>", esc(error_text),
            "</FaxWS:ErrorString></FaxWS:Error></FaxWS:item>",
        ))
