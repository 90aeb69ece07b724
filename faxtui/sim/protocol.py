"""Wire facts of both services that the simulator needs in more than one module.

From shared/protocols/ (interfax.md §1, §3; concord.md §1.2, §2), defined here rather than
taken from the client (`faxtui.services.soap`, `faxtui.services`), so that the simulator does not agree with
the client by construction.
"""

from __future__ import annotations

from typing import Final, Literal

SoapVersion = Literal["1.1", "1.2"]

SOAP11_NS: Final = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS: Final = "http://www.w3.org/2003/05/soap-envelope"
ENVELOPE_NS: Final[dict[SoapVersion, str]] = {"1.1": SOAP11_NS, "1.2": SOAP12_NS}
MEDIA_TYPE: Final[dict[SoapVersion, str]] = {"1.1": "text/xml", "1.2": "application/soap+xml"}
"""SOAP 1.1 travels as text/xml, SOAP 1.2 as application/soap+xml (interfax.md §1.2-§1.3)."""
CONTENT_TYPE: Final[dict[SoapVersion, str]] = {v: f"{m}; charset=utf-8" for v, m in MEDIA_TYPE.items()}
XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"

INTERFAX_NS: Final = "http://www.interfax.cc"
CONCORD_NS: Final = "urn:FaxWS"

FaxItemType = Literal["int", "short", "decimal", "dateTime", "string"]

FAXITEM_FIELDS: Final[tuple[tuple[str, FaxItemType], ...]] = (
    # interfax.md §3: the 27 FaxItemEx elements in WSDL order with their XSD types [S7].
    ("ParentTransactionID", "int"),
    ("TransactionID", "int"),
    ("SubmitTime", "dateTime"),
    ("PostponeTime", "dateTime"),
    ("CompletionTime", "dateTime"),
    ("UserID", "string"),
    ("Contact", "string"),
    ("JobID", "string"),
    ("DestinationFax", "string"),
    ("ReplyEmail", "string"),
    ("RemoteCSID", "string"),
    ("PagesSent", "short"),
    ("Status", "int"),
    ("Duration", "int"),
    ("Subject", "string"),
    ("PagesSubmitted", "short"),
    ("SenderCSID", "string"),
    ("Priority", "short"),
    ("Units", "decimal"),
    ("CostPerUnit", "decimal"),
    ("PageSize", "string"),
    ("PageOrientation", "string"),
    ("PageResolution", "string"),
    ("RenderingQuality", "string"),
    ("PageHeader", "string"),
    ("RetriesToPerform", "short"),
    ("TrialsPerformed", "short"),
)
FAXITEM_TYPE: Final[dict[str, FaxItemType]] = dict(FAXITEM_FIELDS)
