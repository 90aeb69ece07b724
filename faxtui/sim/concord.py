"""Concord FaxWS v5 GetRealTimeFaxStatusEx, answered the way the gSOAP service does (concord.md §1–§4, §7).

Dispatch is on the Body's first element (SOAPAction is "" for every operation). Errors are in
band: `return` false plus `WSError`, with per-item `Error`. Authentication is a bearer token
(`Authorization: Bearer …`, from the token endpoint or a static demo token) with an empty
strPIN, or the deprecated PIN in strPIN.
"""

from __future__ import annotations

from dataclasses import dataclass

from faxtui.codes import CONCORD_FAILED, CONCORD_INVALID_JOB_ID, CONCORD_STATUS_TEXT
from faxtui.sim.exchange import HttpRequest, Reply, text_reply
from faxtui.sim.jobs import ConcordJob
from faxtui.sim.lives import CcdFrame
from faxtui.sim.options import SimOptions
from faxtui.sim.tokens import TokenService
from faxtui.sim.wire import XSI_XSD, SoapParseError, esc, items_of, offset_text, parse_soap
from faxtui.sim.world import JRI_PREFIX, World
from faxtui.soap import CONTENT_TYPE, SoapVersion, fault_envelope

CONCORD_NS = "urn:FaxWS"
OPERATION = "GetRealTimeFaxStatusEx"
RESPONSE = "RealTimeFaxStatusExResponse"
WRONG_RESPONSE = "FaxStatusResponse"
INVALID_JOB_TEXT = CONCORD_STATUS_TEXT[CONCORD_INVALID_JOB_ID]

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

    def __repr__(self) -> str:  # never show the PIN or the token
        return f"ConcordCall(version={self.version!r}, user_id={self.user_id!r}, jobs={len(self.job_ids)})"


def gsoap_fault(version: SoapVersion, client: bool, text: str) -> Reply:
    code = ("Client" if client else "Server") if version == "1.1" else ("Sender" if client else "Receiver")
    return Reply(500, fault_envelope(version, code, text), CONTENT_TYPE[version])


class ConcordService:
    def __init__(self, world: World, tokens: TokenService) -> None:
        self.world = world
        self.options: SimOptions = world.options
        self.tokens = tokens

    # --- reading ------------------------------------------------------------------------

    def read(self, request: HttpRequest) -> ConcordCall | Reply:
        media = request.media_type
        if media not in ("text/xml", "application/soap+xml"):
            return text_reply(415, "Unsupported Media Type: send text/xml (SOAP 1.1) or application/soap+xml "
                                   "(SOAP 1.2)\n")
        declared: SoapVersion = "1.2" if media == "application/soap+xml" else "1.1"
        try:
            soap = parse_soap(request.body)
        except SoapParseError as exc:
            return gsoap_fault(declared, True, str(exc))
        if soap.version != declared:
            return Reply(500, fault_envelope(declared, "VersionMismatch", "SOAP version mismatch"),
                         CONTENT_TYPE[declared])
        if self.options.concord_strict_soapaction:
            action = (request.headers.get("SOAPAction") if soap.version == "1.1"
                      else request.content_param("action")) or ""
            action = action.strip().strip('"')
            if action:
                return gsoap_fault(soap.version, True, f'SOAPAction "{action[:200]}" not recognized: '
                                                       'FaxWS operations use SOAPAction ""')
        if soap.op_name != OPERATION or soap.op_ns != CONCORD_NS:
            return gsoap_fault(soap.version, True,
                               f"Method '{soap.op_name[:100]}' not implemented: method name or namespace "
                               "not recognized")
        return ConcordCall(
            version=soap.version,
            user_id=(soap.text("UserID") or "").strip(),
            pin=soap.text("strPIN") or "",
            job_ids=items_of(soap.child("FaxJobIds"), CONCORD_NS, "item", "JobId"),
            authorization=request.headers.get("Authorization"),
        )

    # --- answering ----------------------------------------------------------------------

    def _authenticated(self, call: ConcordCall) -> bool:
        if not self.world.concord_has_user(call.user_id):
            return False
        if call.authorization is not None:
            scheme, _, token = call.authorization.strip().partition(" ")
            return scheme.lower() == "bearer" and bool(token.strip()) and self.tokens.check(token.strip(),
                                                                                           call.user_id)
        return self.world.concord_check_pin(call.user_id, call.pin)

    def answer(self, call: ConcordCall) -> Reply:
        options = self.options
        if not self._authenticated(call):
            reply = self.false_reply(call, options.concord_auth_error_code, options.concord_auth_error_text)
            reply.status = options.concord_auth_http_status
            return reply
        items: list[str] = []
        not_found = False
        pending_when, pending_duration = options.concord_pending_datetime, options.concord_pending_duration
        for wanted, job, frame in self.world.concord_lookup(call.user_id, call.job_ids):
            if job is None or frame is None:
                not_found = True
                if options.concord_not_found == "item":
                    items.append(self._item(wanted, CONCORD_INVALID_JOB_ID, INVALID_JOB_TEXT, 0, 0, 0,
                                            pending_when, pending_duration, "", CONCORD_INVALID_JOB_ID,
                                            INVALID_JOB_TEXT))
                elif options.concord_not_found == "item_error":
                    items.append(self._item(wanted, 0, "", 0, 0, 0, pending_when, pending_duration, "",
                                            CONCORD_INVALID_JOB_ID, INVALID_JOB_TEXT))
                continue
            shown = wanted if (options.concord_jri_echo and wanted.startswith(JRI_PREFIX)) else job.job_id
            items.append(self._job_item(shown, job, frame))
        if not_found and options.concord_not_found == "call":
            return self._reply(call.version, False, items, CONCORD_INVALID_JOB_ID, INVALID_JOB_TEXT)
        return self._reply(call.version, True, items, 0, "")

    def false_reply(self, call: ConcordCall, code: int, text: str) -> Reply:
        """return=false, no items, and the call-level WSError (auth failures, the `false` fault)."""
        return self._reply(call.version, False, [], code, text)

    def _reply(self, version: SoapVersion, ok: bool, items: list[str], code: int, text: str) -> Reply:
        status_list = ("<FaxWS:FaxStatusList>" + "".join(items) + "</FaxWS:FaxStatusList>") if items \
            else "<FaxWS:FaxStatusList></FaxWS:FaxStatusList>"
        body = "".join((
            _ENVELOPE_OPEN[version], f"<FaxWS:{RESPONSE}><FaxWS:return>", "true" if ok else "false",
            "</FaxWS:return>", status_list,
            "<FaxWS:WSError><FaxWS:ErrorCode>", str(code), "</FaxWS:ErrorCode><FaxWS:ErrorString>", esc(text),
            f"</FaxWS:ErrorString></FaxWS:WSError></FaxWS:{RESPONSE}>", _ENVELOPE_CLOSE,
        ))
        return Reply(200, body.encode(), CONTENT_TYPE[version])

    def _job_item(self, shown_id: str, job: ConcordJob, frame: CcdFrame) -> str:
        options = self.options
        status = frame.status
        description = CONCORD_STATUS_TEXT.get(status, f"Status {status}")
        if status == CONCORD_FAILED and options.concord_failure_reasons and frame.reason:
            description = f"{description}: {frame.reason}"
        delivered = status == 1
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
