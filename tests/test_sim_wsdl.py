"""The WSDLs the simulator serves: well-formed, their schemas accept the simulator's own answers,
and zeep (a third-party SOAP stack) can use them."""

from __future__ import annotations

from copy import deepcopy

import httpx
import pytest
import zeep
from lxml import etree
from sim_fixtures import (
    DEMO_CONCORD,
    body_child,
    concord_headers,
    faxstatusex,
    interfax_headers,
    realtime_status,
    running,
    world,
)

from faxtui.services.soap import parse_xml
from faxtui.sim import SimServer

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"


def _schema(wsdl: bytes) -> etree.XMLSchema:
    root = parse_xml(wsdl)
    schema = root.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    assert schema is not None
    return etree.XMLSchema(deepcopy(schema))


def _fetch(server: SimServer, client: httpx.Client) -> tuple[bytes, bytes]:
    ifx = client.get(server.interfax_url, params="WSDL")
    ccd = client.get(server.concord_url + "/faxws.wsdl")
    for r in (ifx, ccd):
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    return ifx.content, ccd.content


def test_wsdls_are_well_formed_and_name_the_right_bindings() -> None:
    with running() as server, httpx.Client() as client:
        ifx, ccd = _fetch(server, client)
        also = client.get(server.concord_url, params="wsdl").content
    assert also == ccd
    ifx_root, ccd_root = parse_xml(ifx), parse_xml(ccd)
    assert ifx_root.get("targetNamespace") == "http://www.interfax.cc"
    assert {b.get("name") for b in ifx_root.findall(f"{{{WSDL_NS}}}binding")} == {
        "InterFaxSoap",
        "InterFaxSoap12",
    }
    locations = [a.get("location") for a in ifx_root.iter() if etree.QName(a).localname == "address"]
    assert locations == [server.interfax_url, server.interfax_url]
    actions = {
        o.get("soapAction")
        for o in ifx_root.iter()
        if etree.QName(o).localname == "operation" and o.get("soapAction") is not None
    }
    assert actions == {"http://www.interfax.cc/FaxStatusEx"}
    assert [b.get("name") for b in ccd_root.findall(f"{{{WSDL_NS}}}binding")] == ["FaxWS"]
    ccd_actions = {
        o.get("soapAction")
        for o in ccd_root.iter()
        if etree.QName(o).localname == "operation" and o.get("soapAction") is not None
    }
    assert ccd_actions == {""}
    assert [a.get("location") for a in ccd_root.iter() if etree.QName(a).localname == "address"] == [
        server.concord_url
    ]


@pytest.mark.parametrize(
    "options", [{}, {"datetime_style": "Z"}, {"datetime_style": "+00:00", "error_result": "empty"}]
)
def test_interfax_schema_accepts_the_simulators_answers(options: dict[str, str]) -> None:
    w = world(rate_limit_calls=1000, **options)
    w.add_interfax_account("bulk", "pw", jobs=300)
    with running(w) as server, httpx.Client() as client:
        schema = _schema(_fetch(server, client)[0])
        bodies = [
            faxstatusex("bulk", "pw"),
            faxstatusex("demo", "demo"),
            faxstatusex("demo", "wrong"),
            faxstatusex("demo", "demo", last_id=1),
        ]
        for body in bodies:
            r = client.post(server.interfax_url, content=body, headers=interfax_headers())
            _, response = body_child(r.content)
            schema.assertValid(response)


@pytest.mark.parametrize("placement", ["item", "item_error", "call"])
def test_concord_schema_accepts_the_simulators_answers(placement: str) -> None:
    w = world(concord_not_found=placement)
    ids = w.concord_job_ids(DEMO_CONCORD)
    with running(w) as server, httpx.Client() as client:
        schema = _schema(_fetch(server, client)[1])
        for user, pin, wanted in [
            (DEMO_CONCORD, "demo", [*ids, "JRI-INV-2026-0042", "nope"]),
            (DEMO_CONCORD, "wrong", ids[:3]),
            (DEMO_CONCORD, "demo", []),
        ]:
            r = client.post(
                server.concord_url, content=realtime_status(user, pin, wanted), headers=concord_headers()
            )
            _, response = body_child(r.content)
            schema.assertValid(response)


def test_schema_catches_a_broken_answer() -> None:
    with running() as server, httpx.Client() as client:
        schema = _schema(_fetch(server, client)[0])
        r = client.post(
            server.interfax_url, content=faxstatusex("demo", "demo", max_items=1), headers=interfax_headers()
        )
    _, response = body_child(r.content)
    item = response[0][0]
    item.insert(0, item[3])  # PostponeTime first: out of WSDL order
    assert not schema.validate(response)


def test_zeep_loads_the_interfax_wsdl_and_calls_faxstatusex() -> None:
    with running(rate_limit_calls=100) as server:
        client = zeep.Client(server.interfax_url + "?WSDL")
        result = client.service.FaxStatusEx(
            Username="demo",
            Password="demo",
            LastTransactionID=2147483647,
            MaxItems=5,
            TotalCount=0,
            ListSize=0,
            ResultCode=0,
        )
        assert (result.ResultCode, result.TotalCount, result.ListSize) == (0, 60, 5)
        items = result.FaxStatusExResult.FaxItemEx
        assert [i.TransactionID for i in items] == server.world.interfax_transaction_ids("demo")[:5]
        assert items[0].SubmitTime.year == 2026
        soap12 = client.bind("InterFax", "InterFaxSoap12")
        denied = soap12.FaxStatusEx(
            Username="demo",
            Password="nope",
            LastTransactionID=2147483647,
            MaxItems=5,
            TotalCount=0,
            ListSize=0,
            ResultCode=0,
        )
        assert denied.ResultCode == -1003 and denied.FaxStatusExResult is None
        stats = server.stats.snapshot()["services"]["interfax"]
        assert stats["operations"] == {"FaxStatusEx": 2}


def test_zeep_calls_concord_through_its_wsdl() -> None:
    with running() as server:
        client = zeep.Client(server.concord_url + "/faxws.wsdl")
        result = client.service.GetRealTimeFaxStatusEx(
            UserID=DEMO_CONCORD,
            strPIN="demo",
            FaxJobIds={"item": [{"JobId": "JRI-INV-2026-0042"}, {"JobId": "x"}]},
        )
    assert result["return"] is True
    assert [i.FaxJobStatusId for i in result.FaxStatusList.item][1] == -5019
