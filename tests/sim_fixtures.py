"""Helpers for the simulator tests: hand-written request XML, response readers, running servers.

Requests are written out by hand (not with faxtui.services) so the simulator
is checked against the wire format the protocol docs give, not against our own client code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from fakeclock import FakeClock as TestClock
from lxml import etree

from faxtui.sim import FakeClock, SimOptions, SimServer, World

START = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
IFX = "http://www.interfax.cc"
FAXWS = "urn:FaxWS"
IFX_ACTION = "http://www.interfax.cc/FaxStatusEx"
DEMO_CONCORD = "mbx0000000001"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def world(clock: FakeClock | None = None, **options: Any) -> World:
    """A world on a fake clock (10:00 UTC, 22 Nov 2026) with the given SimOptions."""
    return World(SimOptions(**options), clock or FakeClock(START))


@contextmanager
def running(w: World | None = None, faults: str = "", **options: Any) -> Iterator[SimServer]:
    server = SimServer(world=w if w is not None else world(**options), faults=faults)
    with server:
        yield server


# --- InterFax ----------------------------------------------------------------------------------


def faxstatusex(
    username: str, password: str, last_id: int = 2147483647, max_items: int = 100, version: str = "1.1"
) -> bytes:
    prefix, ns = ("soap", SOAP11) if version == "1.1" else ("soap12", SOAP12)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<{prefix}:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:{prefix}="{ns}">'
        f"<{prefix}:Body>"
        '<FaxStatusEx xmlns="http://www.interfax.cc">'
        f"<Username>{escape(username)}</Username><Password>{escape(password)}</Password>"
        f"<LastTransactionID>{last_id}</LastTransactionID><MaxItems>{max_items}</MaxItems>"
        "<TotalCount>0</TotalCount><ListSize>0</ListSize><ResultCode>0</ResultCode>"
        f"</FaxStatusEx></{prefix}:Body></{prefix}:Envelope>"
    ).encode()


def interfax_headers(version: str = "1.1", action: str | None = f'"{IFX_ACTION}"') -> dict[str, str]:
    if version == "1.1":
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        if action is not None:
            headers["SOAPAction"] = action
        return headers
    ctype = "application/soap+xml; charset=utf-8"
    if action is not None:
        ctype += f"; action={action}"
    return {"Content-Type": ctype}


@dataclass
class InterfaxAnswer:
    version: str
    result_code: int
    total: int
    list_size: int
    has_result: bool
    items: list[dict[str, str]]

    @property
    def ids(self) -> list[int]:
        return [int(i["TransactionID"]) for i in self.items]


def body_child(content: bytes) -> tuple[str, etree._Element]:
    """The SOAP version and the first element of the Body."""
    root = etree.fromstring(content, parser=_PARSER)
    version = {f"{{{SOAP11}}}Envelope": "1.1", f"{{{SOAP12}}}Envelope": "1.2"}[root.tag]
    ns = SOAP11 if version == "1.1" else SOAP12
    body = root.find(f"{{{ns}}}Body")
    assert body is not None
    return version, body[0]


def read_interfax(content: bytes) -> InterfaxAnswer:
    version, resp = body_child(content)
    assert resp.tag == f"{{{IFX}}}FaxStatusExResponse", resp.tag
    result = resp.find(f"{{{IFX}}}FaxStatusExResult")
    items = []
    if result is not None:
        for item in result.findall(f"{{{IFX}}}FaxItemEx"):
            items.append({etree.QName(c).localname: c.text or "" for c in item})
    return InterfaxAnswer(
        version=version,
        result_code=int(resp.findtext(f"{{{IFX}}}ResultCode") or "x"),
        total=int(resp.findtext(f"{{{IFX}}}TotalCount") or "x"),
        list_size=int(resp.findtext(f"{{{IFX}}}ListSize") or "x"),
        has_result=result is not None,
        items=items,
    )


def fault_of(content: bytes) -> tuple[str, str]:
    """(faultcode, faultstring) of a SOAP 1.1 or 1.2 Fault."""
    version, fault = body_child(content)
    assert etree.QName(fault).localname == "Fault"
    if version == "1.1":
        return fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""
    return (
        fault.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value") or "",
        fault.findtext(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text") or "",
    )


# --- Concord -----------------------------------------------------------------------------------


def realtime_status(
    user_id: str,
    pin: str,
    job_ids: list[str],
    version: str = "1.1",
    operation: str = "GetRealTimeFaxStatusEx",
) -> bytes:
    prefix, ns = ("soap", SOAP11) if version == "1.1" else ("soap12", SOAP12)
    items = "".join(f"<item><JobId>{escape(j)}</JobId></item>" for j in job_ids)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><{prefix}:Envelope xmlns:{prefix}="{ns}"><{prefix}:Body>'
        f'<{operation} xmlns="urn:FaxWS"><UserID>{escape(user_id)}</UserID><strPIN>{escape(pin)}</strPIN>'
        f"<FaxJobIds>{items}</FaxJobIds></{operation}></{prefix}:Body></{prefix}:Envelope>"
    ).encode()


def concord_headers(version: str = "1.1", token: str | None = None) -> dict[str, str]:
    headers = (
        {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
        if version == "1.1"
        else {"Content-Type": "application/soap+xml; charset=utf-8"}
    )
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


@dataclass
class ConcordAnswer:
    version: str
    ok: bool
    items: list[dict[str, str]]
    error_code: int
    error_text: str


def read_concord(content: bytes) -> ConcordAnswer:
    version, resp = body_child(content)
    assert resp.tag == f"{{{FAXWS}}}RealTimeFaxStatusExResponse", resp.tag
    items = []
    status_list = resp.find(f"{{{FAXWS}}}FaxStatusList")
    assert status_list is not None
    for item in status_list.findall(f"{{{FAXWS}}}item"):
        fields = {etree.QName(c).localname: c.text or "" for c in item if etree.QName(c).localname != "Error"}
        fields["ErrorCode"] = item.findtext(f"{{{FAXWS}}}Error/{{{FAXWS}}}ErrorCode") or ""
        fields["ErrorString"] = item.findtext(f"{{{FAXWS}}}Error/{{{FAXWS}}}ErrorString") or ""
        items.append(fields)
    return ConcordAnswer(
        version=version,
        ok=resp.findtext(f"{{{FAXWS}}}return") == "true",
        items=items,
        error_code=int(resp.findtext(f"{{{FAXWS}}}WSError/{{{FAXWS}}}ErrorCode") or "x"),
        error_text=resp.findtext(f"{{{FAXWS}}}WSError/{{{FAXWS}}}ErrorString") or "",
    )


# --- options over the control endpoint ---------------------------------------------------------


def post_options(client: Any, server: SimServer, **changes: Any) -> dict[str, Any]:
    """POST /_sim/options with `changes` (as a test would over HTTP); the answer's JSON."""
    r = client.post(server.control_url + "/options", json=changes)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def interfax_call_times(sim: SimServer, clock: TestClock) -> list[float]:
    """The test clock's elapsed time at each InterFax request the simulator receives, from now on
    (the clock stands still while a woken poller calls, so each call is stamped when it was made)."""
    times: list[float] = []
    count = sim.stats.request

    def request(service: str, account: str | None, operation: str) -> None:
        if service == "interfax":
            times.append(clock.elapsed)
        count(service, account, operation)

    sim.stats.request = request  # type: ignore[method-assign]
    return times
