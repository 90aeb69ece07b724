"""InterFax dfs.asmx FaxStatusEx over real HTTP, with hand-written request XML."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sim_fixtures import (
    IFX,
    SOAP11,
    SOAP12,
    body_child,
    fault_of,
    faxstatusex,
    interfax_headers,
    read_interfax,
    running,
    world,
)

from faxtui.model import FAXITEM_NAMES
from faxtui.sim import FakeClock

NUMERIC = (
    "ParentTransactionID",
    "TransactionID",
    "SubmitTime",
    "PostponeTime",
    "CompletionTime",
    "PagesSent",
    "Status",
    "Duration",
    "PagesSubmitted",
    "Priority",
    "Units",
    "CostPerUnit",
    "RetriesToPerform",
    "TrialsPerformed",
)
DOTNET_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


def _post(
    client: httpx.Client, url: str, body: bytes, version: str = "1.1", **kw: str | None
) -> httpx.Response:
    return client.post(url, content=body, headers=interfax_headers(version, **kw))  # type: ignore[arg-type]


def test_paging_through_1000_jobs_matches_the_world() -> None:
    w = world(rate_limit_calls=1000, demo_accounts=False)
    w.add_interfax_account("bulk", "secret", jobs=1000)
    seen: list[int] = []
    pages = 0
    with running(w) as server, httpx.Client() as client:
        last = 2147483647
        while True:
            answer = read_interfax(
                _post(client, server.interfax_url, faxstatusex("bulk", "secret", last)).content
            )
            assert answer.result_code == 0 and answer.total == 1000
            assert answer.list_size == len(answer.items) <= 100
            if not answer.items:
                break
            pages += 1
            assert all(i < last for i in answer.ids)
            seen += answer.ids
            last = answer.ids[-1]
    assert pages == 10
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == len(seen)
    assert seen == w.interfax_transaction_ids("bulk")


def test_one_transaction_by_asking_for_id_plus_one() -> None:
    w = world(rate_limit_calls=1000)
    target = w.interfax_transaction_ids("demo")[7]
    with running(w) as server, httpx.Client() as client:
        answer = read_interfax(
            _post(client, server.interfax_url, faxstatusex("demo", "demo", target + 1, 1)).content
        )
    assert answer.ids == [target] and answer.list_size == 1 and answer.total == 60


@pytest.mark.parametrize(
    ("policy", "expected_items", "expected_code"), [("cap", 100, 0), ("uncapped", 150, 0), ("error", 0, -150)]
)
def test_max_items_over_100(policy: str, expected_items: int, expected_code: int) -> None:
    w = world(rate_limit_calls=1000, demo_accounts=False, max_items_over_cap=policy)
    w.add_interfax_account("bulk", "pw", jobs=200)
    with running(w) as server, httpx.Client() as client:
        answer = read_interfax(
            _post(client, server.interfax_url, faxstatusex("bulk", "pw", max_items=150)).content
        )
    assert (len(answer.items), answer.result_code) == (expected_items, expected_code)


@pytest.mark.parametrize(("username", "password"), [("demo", "wrong"), ("nobody", "demo"), ("", "")])
def test_bad_credentials_give_minus_1003_with_no_result(username: str, password: str) -> None:
    with running() as server, httpx.Client() as client:
        r = _post(client, server.interfax_url, faxstatusex(username, password))
    assert r.status_code == 200
    answer = read_interfax(r.content)
    assert answer.result_code == -1003
    assert not answer.has_result and answer.total == 0 and answer.list_size == 0


def test_seventh_call_within_a_minute_is_rate_limited_then_ok_after_the_window() -> None:
    clock = FakeClock()
    w = world(clock)
    with running(w) as server, httpx.Client() as client:

        def call() -> int:
            r = _post(client, server.interfax_url, faxstatusex("demo", "demo", max_items=5))
            assert r.status_code == 200
            return read_interfax(r.content).result_code

        codes = []
        for _ in range(7):
            codes.append(call())
            clock.advance(5)
        assert codes == [0] * 6 + [-1011]
        assert server.stats.snapshot()["rate_limited"] == 1
        assert call() == -1011  # limited calls count too: still 7 in the window
        assert server.stats.snapshot()["rate_limited"] == 2
        clock.advance(60)
        assert call() == 0
        other = _post(client, server.interfax_url, faxstatusex("demo", "wrong"))
        assert read_interfax(other.content).result_code == -1003


def test_rate_window_and_limit_are_options() -> None:
    clock = FakeClock()
    with running(world(clock, rate_limit_calls=2, rate_limit_window=10)) as server, httpx.Client() as client:
        codes = [
            read_interfax(
                _post(client, server.interfax_url, faxstatusex("demo", "demo", max_items=1)).content
            ).result_code
            for _ in range(3)
        ]
        assert codes == [0, 0, -1011]
        clock.advance(10)
        assert (
            read_interfax(
                _post(client, server.interfax_url, faxstatusex("demo", "demo", max_items=1)).content
            ).result_code
            == 0
        )


def test_soap_11_and_12_are_answered_in_the_version_asked() -> None:
    with running(rate_limit_calls=1000) as server, httpx.Client() as client:
        r11 = _post(client, server.interfax_url, faxstatusex("demo", "demo", max_items=10))
        r12 = _post(
            client, server.interfax_url, faxstatusex("demo", "demo", max_items=10, version="1.2"), "1.2"
        )
        r12_bare = _post(
            client,
            server.interfax_url,
            faxstatusex("demo", "demo", max_items=10, version="1.2"),
            "1.2",
            action=None,
        )
        unquoted = _post(
            client,
            server.interfax_url,
            faxstatusex("demo", "demo", max_items=10),
            action="http://www.interfax.cc/FaxStatusEx",
        )
    assert r11.headers["content-type"].startswith("text/xml")
    assert r12.headers["content-type"].startswith("application/soap+xml")
    assert r11.content.count(SOAP11.encode()) == 1 and SOAP12.encode() not in r11.content
    assert SOAP12.encode() in r12.content and SOAP11.encode() not in r12.content
    a11, a12 = read_interfax(r11.content), read_interfax(r12.content)
    assert (a11.version, a12.version) == ("1.1", "1.2")
    assert (
        a11.items
        == a12.items
        == read_interfax(r12_bare.content).items
        == read_interfax(unquoted.content).items
    )
    assert len(a11.items) == 10


@pytest.mark.parametrize("action", ['"http://www.interfax.cc/FaxQuery"', "", None, "urn:other"])
def test_wrong_soapaction_gets_an_asmx_fault(action: str | None) -> None:
    with running() as server, httpx.Client() as client:
        r = _post(client, server.interfax_url, faxstatusex("demo", "demo"), action=action)
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/xml")
    code, text = fault_of(r.content)
    assert code == "soap:Client"
    shown = (action or "").strip('"')
    assert text == f"Server did not recognize the value of HTTP Header SOAPAction: {shown}."


def test_wrong_soap12_action_parameter_gets_a_sender_fault() -> None:
    with running() as server, httpx.Client() as client:
        r = _post(
            client,
            server.interfax_url,
            faxstatusex("demo", "demo", version="1.2"),
            "1.2",
            action='"http://www.interfax.cc/FaxQuery"',
        )
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/soap+xml")
    code, text = fault_of(r.content)
    assert code.endswith(":Sender") and "http://www.interfax.cc/FaxQuery" in text


@pytest.mark.parametrize(
    "body",
    [
        b"<not xml",
        b"",
        b'<?xml version="1.0"?><Envelope/>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<FaxStatusEx xmlns="http://www.interfax.cc"><Username>&b;</Username></FaxStatusEx></soap:Body>'
        b"</soap:Envelope>",
    ],
)
def test_unreadable_requests_get_a_client_fault(body: bytes) -> None:
    with running() as server, httpx.Client() as client:
        r = _post(client, server.interfax_url, body)
    assert r.status_code == 500
    code, text = fault_of(r.content)
    assert code == "soap:Client" and text.startswith("Server was unable to read request.")
    assert b"aaaaaaaaaa" not in r.content


def test_other_content_types_are_refused() -> None:
    with running() as server, httpx.Client() as client:
        r = client.post(
            server.interfax_url,
            content=faxstatusex("demo", "demo"),
            headers={"Content-Type": "application/json", "SOAPAction": "http://www.interfax.cc/FaxStatusEx"},
        )
    assert r.status_code == 415


def test_item_fields_follow_the_vendor_formats() -> None:
    with running(rate_limit_calls=1000) as server, httpx.Client() as client:
        r = _post(client, server.interfax_url, faxstatusex("demo", "demo"))
    _, response = body_child(r.content)
    items = response.findall(f"{{{IFX}}}FaxStatusExResult/{{{IFX}}}FaxItemEx")
    assert len(items) == 60
    for item in items:
        names = [el.tag.split("}")[1] for el in item]
        assert all(n in names for n in NUMERIC)  # numbers and times always present
        assert "JobID" not in names  # "reserved for future use": None, so omitted
        assert [n for n in FAXITEM_NAMES if n in names] == names  # WSDL order
        fields = {el.tag.split("}")[1]: el.text or "" for el in item}
        for name in ("SubmitTime", "PostponeTime", "CompletionTime"):
            assert DOTNET_TIME.match(fields[name]), fields[name]
        if int(fields["Status"]) < 0:
            assert fields["CompletionTime"] == "0001-01-01T00:00:00"
        else:
            assert fields["CompletionTime"] >= fields["SubmitTime"]
        assert re.fullmatch(r"\d+\.\d{4}", fields["Units"]) and re.fullmatch(
            r"\d+\.\d{4}", fields["CostPerUnit"]
        )
    fields_list = [{el.tag.split("}")[1]: el.text for el in item} for item in items]
    assert any("ReplyEmail" not in f for f in fields_list) and any("ReplyEmail" in f for f in fields_list)
    assert any(f["PostponeTime"] == "0001-01-01T00:00:00" for f in fields_list)
    assert any(f["PostponeTime"] != "0001-01-01T00:00:00" for f in fields_list)  # the postponed demo job


@pytest.mark.parametrize(
    ("style", "pattern"), [("Z", r"T\d\d:\d\d:\d\dZ$"), ("+00:00", r"T\d\d:\d\d:\d\d\+00:00$")]
)
def test_datetime_style_and_not_postponed_value_are_options(style: str, pattern: str) -> None:
    options = {"datetime_style": style, "not_postponed": "1900-01-01T00:00:00", "rate_limit_calls": 100}
    with running(**options) as server, httpx.Client() as client:
        answer = read_interfax(_post(client, server.interfax_url, faxstatusex("demo", "demo")).content)
    assert all(re.search(pattern, i["SubmitTime"]) for i in answer.items)
    assert {i["PostponeTime"] for i in answer.items} >= {"1900-01-01T00:00:00"}


def test_keep_alive_reuses_one_connection() -> None:
    with running(rate_limit_calls=1000) as server, httpx.Client() as client:
        for _ in range(20):
            assert (
                _post(client, server.interfax_url, faxstatusex("demo", "demo", max_items=5)).status_code
                == 200
            )
        stats = server.stats.snapshot()
    assert stats["connections"] == 1
    assert stats["services"]["interfax"]["requests"] == 20
    assert stats["services"]["interfax"]["accounts"] == {"demo": 20}
    assert stats["services"]["interfax"]["operations"] == {"FaxStatusEx": 20}


def test_100_concurrent_status_requests_all_succeed() -> None:
    w = world(rate_limit_calls=1000)
    barrier = threading.Barrier(100)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    with running(w) as server, httpx.Client(limits=limits, timeout=30) as client:

        def one(_: int) -> httpx.Response:
            barrier.wait()
            return client.post(
                server.interfax_url, content=faxstatusex("demo", "demo"), headers=interfax_headers()
            )

        with ThreadPoolExecutor(100) as pool:
            responses = list(pool.map(one, range(100)))
        stats = server.stats.snapshot()
    assert all(r.status_code == 200 for r in responses)
    answers = [read_interfax(r.content) for r in responses]
    assert all(a.result_code == 0 and len(a.items) == 60 for a in answers)
    assert stats["services"]["interfax"]["requests"] == 100
    assert 1 <= stats["connections"] <= 100
