"""InterFax as real servers may answer differently from the documents (issue 11): nil, missing,
empty and malformed FaxItemEx values, "not set" zero dates, errors that still carry items, SOAP
Faults of other shapes (both services) and the response wrapper in another namespace."""

from __future__ import annotations

import httpx
import pytest
from lxml import etree
from sim_fixtures import (
    IFX,
    SOAP11,
    SOAP12,
    body_child,
    concord_headers,
    faxstatusex,
    interfax_headers,
    post_options,
    read_interfax,
    running,
    world,
)

from faxtui.sim import SimOptions, SimServer
from faxtui.sim.interfax import InterfaxService
from faxtui.sim.protocol import FAXITEM_FIELDS
from faxtui.sim.stats import Stats

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def _raw(client: httpx.Client, server: SimServer, last: int = 2147483647, max_items: int = 100,
         version: str = "1.1") -> httpx.Response:
    return client.post(server.interfax_url, content=faxstatusex("demo", "demo", last, max_items, version),
                       headers=interfax_headers(version))


def _items(content: bytes) -> list[etree._Element]:
    _, resp = body_child(content)
    return resp.findall(f"{{{IFX}}}FaxStatusExResult/{{{IFX}}}FaxItemEx")


def _names(item: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in item]


# --- nil / missing / empty / malformed ---------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field", "check"),
    [
        ("nil:PagesSent", "PagesSent", "nil"),
        ("nil:Subject", "Subject", "nil"),
        ("missing:Units", "Units", "missing"),
        ("missing:TransactionID", "TransactionID", "missing"),
        ("empty:Duration", "Duration", "empty"),
        ("malformed:CompletionTime", "CompletionTime", "22/11/2026 10:00:00"),
        ("malformed:CostPerUnit", "CostPerUnit", "0,0600"),
        ("malformed:PagesSent", "PagesSent", "12.0"),
        ("malformed:Status", "Status", "12.0"),
    ],
)
def test_one_item_per_page_carries_a_bad_value(spec: str, field: str, check: str) -> None:
    w = world(rate_limit_calls=1000)
    with running(w) as server, httpx.Client() as client:
        clean = _items(_raw(client, server, max_items=20).content)
        post_options(client, server, interfax_bad_fields=[spec])
        first = _items(_raw(client, server, max_items=20).content)
        second = _items(_raw(client, server, w.interfax_transaction_ids("demo")[19], 20).content)
    for page in (first, second):
        bad, rest = page[0], page[1:]
        element = bad.find(f"{{{IFX}}}{field}")
        if check == "missing":
            assert element is None and len(bad) == len(clean[0]) - 1
        elif check == "nil":
            assert element is not None and element.get(XSI_NIL) == "true" and not element.text
        elif check == "empty":
            assert element is not None and element.text is None and element.get(XSI_NIL) is None
        else:
            assert element is not None and element.text == check
        assert all(r.find(f"{{{IFX}}}{field}") is not None or field in ("Subject",) for r in rest)
    assert [etree.tostring(i) for i in first[1:]] == [etree.tostring(i) for i in clean[1:]]
    wsdl_order = [name for name, _ in FAXITEM_FIELDS]
    assert _names(first[0]) == [n for n in wsdl_order if n in _names(first[0])]  # order kept


def test_several_bad_fields_and_item_positions() -> None:
    with running(world(rate_limit_calls=1000)) as server, httpx.Client() as client:
        post_options(client, server, interfax_bad_fields="nil:Units@2,missing:Units@2,malformed:SubmitTime@4")
        items = _items(_raw(client, server, max_items=6).content)
        short = _items(_raw(client, server, max_items=2).content)  # no item 2 or 4: nothing spoilt
    units = items[2].find(f"{{{IFX}}}Units")
    assert units is None  # the last spec for a field wins ("missing")
    assert items[4].findtext(f"{{{IFX}}}SubmitTime") == "22/11/2026 10:00:00"
    assert all(i.find(f"{{{IFX}}}Units") is not None for i in (*items[:2], items[3], items[5], *short))


@pytest.mark.parametrize(
    ("specs", "complaint"),
    [
        (["nil:Nope"], "not a FaxItemEx field"),
        (["bogus:Units"], "kind must be one of"),
        (["malformed:Subject"], "string field cannot be malformed"),
        (["Units"], "kind:Field"),
    ],
)
def test_bad_field_specs_are_checked(specs: list[str], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        SimOptions(interfax_bad_fields=tuple(specs))
    with running() as server, httpx.Client() as client:
        r = client.post(server.control_url + "/options", json={"interfax_bad_fields": specs})
    assert r.status_code == 400 and complaint in r.json()["error"]


def test_the_fast_item_writer_and_the_field_list_agree() -> None:
    w = world()
    service = InterfaxService(w, Stats())
    for job, frame in w.interfax_jobs("demo"):
        assert service._item(job, frame) == service._spoilt_item(job, frame, [])


# --- "not set" dates ---------------------------------------------------------------------------


@pytest.mark.parametrize("zero", ["1900-01-01T00:00:00", "0001-01-01T00:00:00"])
def test_zero_dates_for_jobs_not_yet_completed_or_not_postponed(zero: str) -> None:
    w = world(rate_limit_calls=1000, not_completed=zero, not_postponed=zero)
    with running(w) as server, httpx.Client() as client:
        items = read_interfax(_raw(client, server).content).items
    pending = [i for i in items if int(i["Status"]) < 0]
    done = [i for i in items if int(i["Status"]) >= 0]
    assert pending and all(i["CompletionTime"] == zero for i in pending)
    assert done and all(i["CompletionTime"] != zero for i in done)
    assert any(i["PostponeTime"] == zero for i in items) and any(i["PostponeTime"] != zero for i in items)


# --- errors that still carry items -------------------------------------------------------------


def test_a_negative_result_code_can_still_carry_the_page() -> None:
    w = world(error_result="items", rate_limit_calls=2)
    ids = w.interfax_transaction_ids("demo")
    with running(w, faults="interfax:result=-150:n=1") as server, httpx.Client() as client:
        failed = read_interfax(_raw(client, server, max_items=5).content)
        ok = read_interfax(_raw(client, server, max_items=5).content)
        limited = read_interfax(_raw(client, server, max_items=5).content)
        wrong = read_interfax(client.post(server.interfax_url, content=faxstatusex("demo", "nope"),
                                          headers=interfax_headers()).content)
    assert (failed.result_code, failed.total, failed.ids) == (-150, 60, ids[:5])
    assert (ok.result_code, ok.ids) == (0, ids[:5])
    assert (limited.result_code, limited.total, limited.ids) == (-1011, 60, ids[:5])
    # never for bad credentials:
    assert (wrong.result_code, wrong.has_result, wrong.total) == (-1003, False, 0)


# --- SOAP Fault shapes -------------------------------------------------------------------------


def _fault_parts(content: bytes) -> dict[str, str | None]:
    """Every element under the Fault, as '{ns}name' -> text (namespace '' when unqualified)."""
    _, fault = body_child(content)
    assert etree.QName(fault).localname == "Fault"
    out: dict[str, str | None] = {"Fault": etree.QName(fault).namespace}
    for el in fault.iter():
        if el is not fault:
            out[f"{{{etree.QName(el).namespace or ''}}}{etree.QName(el).localname}"] = el.text
    return out


@pytest.mark.parametrize("service", ["interfax", "concord"])
@pytest.mark.parametrize("version", ["1.1", "1.2"])
@pytest.mark.parametrize("style", ["plain", "qualified", "default_ns", "unqualified", "mixed"])
def test_fault_children_in_every_style(service: str, version: str, style: str) -> None:
    env = SOAP11 if version == "1.1" else SOAP12
    with running(faults=f"{service}:http500", soap_fault_style=style) as server, httpx.Client() as client:
        if service == "interfax":
            r = _raw(client, server, version=version)
        else:
            body = (f'<e:Envelope xmlns:e="{env}"><e:Body><GetRealTimeFaxStatusEx xmlns="urn:FaxWS">'
                    "<UserID>mbx0000000001</UserID><strPIN>demo</strPIN><FaxJobIds />"
                    "</GetRealTimeFaxStatusEx></e:Body></e:Envelope>").encode()
            r = client.post(server.concord_url, content=body, headers=concord_headers(version))
    assert r.status_code == 500
    parts = _fault_parts(r.content)
    assert parts.pop("Fault") == env
    names_11 = (version == "1.1") != (style == "mixed")  # "mixed": the other version's names
    if style == "default_ns":
        ns = env
    elif names_11:
        ns = env if style == "qualified" else ""
    else:
        ns = "" if style == "unqualified" else env
    if names_11:
        assert set(parts) == {f"{{{ns}}}faultcode", f"{{{ns}}}faultstring", f"{{{ns}}}detail"}
        code = parts[f"{{{ns}}}faultcode"]
    else:
        assert set(parts) == {f"{{{ns}}}{n}" for n in ("Code", "Value", "Reason", "Text", "Detail")}
        code = parts[f"{{{ns}}}Value"]
    assert code is not None and code.endswith((":Server", ":Receiver"))


def test_fault_style_applies_to_faults_the_service_itself_gives() -> None:
    with running(soap_fault_style="qualified") as server, httpx.Client() as client:
        r = client.post(server.interfax_url, content=b"<not xml", headers=interfax_headers())
    _, fault = body_child(r.content)
    assert fault.findtext(f"{{{SOAP11}}}faultcode") == "soap:Client"
    assert (fault.findtext(f"{{{SOAP11}}}faultstring") or "").startswith("Server was unable to read request.")


# --- the wrapper in another namespace ----------------------------------------------------------


@pytest.mark.parametrize("children", [False, True])
def test_interfax_wrapper_in_an_unexpected_namespace(children: bool) -> None:
    other = "http://www.interfax.net"
    with running(interfax_response_ns=other, response_ns_children=children) as server, \
            httpx.Client() as client:
        ok = _raw(client, server, max_items=3)
        refused = client.post(server.interfax_url, content=faxstatusex("demo", "x"),
                              headers=interfax_headers())
    for r in (ok, refused):
        _, wrapper = body_child(r.content)
        assert wrapper.tag == f"{{{other}}}FaxStatusExResponse"
        child_ns = other if children else IFX
        assert wrapper.find(f"{{{child_ns}}}ResultCode") is not None
    _, wrapper = body_child(ok.content)
    assert len(wrapper.findall(f"{{{other if children else IFX}}}FaxStatusExResult/*")) == 3
