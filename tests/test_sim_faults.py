"""Faults on demand: the spec grammar, every fault kind as a client sees it, targeting, switching
off, and the control endpoint."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import Message

import httpx
import pytest
from lxml import etree
from sim_fixtures import (
    DEMO_CONCORD,
    START,
    concord_headers,
    fault_of,
    faxstatusex,
    interfax_headers,
    read_concord,
    read_interfax,
    realtime_status,
    running,
    world,
)

from faxtui.sim import FakeClock, FaultSpecError, SimServer, parse_faults
from faxtui.sim.control import Control
from faxtui.sim.exchange import HttpRequest
from faxtui.sim.faults import FaultSet
from faxtui.sim.stats import Stats

# --- grammar -----------------------------------------------------------------------------------


def test_spec_grammar_parses_every_part() -> None:
    rules = parse_faults(
        "interfax:http500, concord@mbx0000000001:slow=3 ,interfax:malformed:p=0.05,"
        "interfax:result=-150:n=2,token:http429=7:p=0.5:n=3,concord:false"
    )
    assert [(r.service, r.account, r.kind, r.value, r.probability, r.count) for r in rules] == [
        ("interfax", None, "http500", None, None, None),
        ("concord", "mbx0000000001", "slow", 3.0, None, None),
        ("interfax", None, "malformed", None, 0.05, None),
        ("interfax", None, "result", -150, None, 2),
        ("token", None, "http429", 7, 0.5, 3),
        ("concord", None, "false", -2, None, None),
    ]
    assert [r.spec for r in rules][:2] == ["interfax:http500", "concord@mbx0000000001:slow=3"]


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("", "empty"),
        ("http500", "expected service"),
        ("fax:http500", "unknown service"),
        ("interfax:explode", "unknown fault"),
        ("interfax:slow", "needs a value"),
        ("interfax:slow=fast", "must be a number"),
        ("interfax:drop=3", "takes no value"),
        ("interfax:http500:p=2", "between 0 and 1"),
        ("interfax:http500:n=0", ">= 1"),
        ("interfax:http500:q=1", "unknown option"),
        ("concord:result=-150", "does not apply"),
        ("interfax:false", "does not apply"),
        ("token:wrong_op", "does not apply"),
        ("interfax@:http500", "empty account"),
        ("interfax:status=42", "HTTP status"),
    ],
)
def test_bad_specs_get_a_one_line_reason(spec: str, complaint: str) -> None:
    with pytest.raises(FaultSpecError) as err:
        parse_faults(spec)
    assert complaint in str(err.value) and "\n" not in str(err.value)


# --- every kind, as the client sees it ----------------------------------------------------------


def _interfax(
    client: httpx.Client, server: SimServer, user: str = "demo", password: str = "demo", timeout: float = 10
) -> httpx.Response:
    return client.post(
        server.interfax_url,
        content=faxstatusex(user, password, max_items=5),
        headers=interfax_headers(),
        timeout=timeout,
    )


def _concord(
    client: httpx.Client, server: SimServer, user: str = DEMO_CONCORD, pin: str = "demo"
) -> httpx.Response:
    return client.post(
        server.concord_url,
        content=realtime_status(user, pin, ["JRI-INV-2026-0042"]),
        headers=concord_headers(),
    )


def _token(client: httpx.Client, server: SimServer) -> httpx.Response:
    return client.post(
        server.token_url,
        data={"grant_type": "client_credentials", "client_id": "demo", "client_secret": "demo"},
    )


def _unparseable(content: bytes) -> bool:
    try:
        etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return True
    return False


def test_http_status_faults() -> None:
    with running(rate_limit_calls=100) as server, httpx.Client() as client:
        server.faults.add("interfax:http500:n=1,concord:http500:n=1,token:http500:n=1")
        r = _interfax(client, server)
        assert r.status_code == 500 and fault_of(r.content)[0] == "soap:Server"
        assert fault_of(r.content)[1].startswith("Server was unable to process request.")
        r = _concord(client, server)
        assert (
            r.status_code == 500
            and fault_of(r.content)[0].endswith(":Server")
            and "x-ch-activity-id" in r.headers
        )
        r = _token(client, server)
        assert r.status_code == 500 and r.json() == {"error": "server_error"}
        server.faults.add(
            "interfax:http502:n=1,interfax:http503=9:n=1,interfax:http429:n=1,interfax:status=504:n=1"
        )
        r = _interfax(client, server)
        assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
        r = _interfax(client, server)
        assert r.status_code == 503 and r.headers["retry-after"] == "9"
        r = _interfax(client, server)
        assert r.status_code == 429 and r.headers["retry-after"] == "30"
        assert _interfax(client, server).status_code == 504
        assert read_interfax(_interfax(client, server).content).result_code == 0  # all counts used up


@pytest.mark.parametrize("kind", ["drop", "drop_mid"])
@pytest.mark.parametrize("service", ["interfax", "concord", "token"])
def test_dropped_connections_are_transport_errors(kind: str, service: str) -> None:
    call = {"interfax": _interfax, "concord": _concord, "token": _token}[service]
    with running(faults=f"{service}:{kind}:n=1") as server, httpx.Client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            call(client, server)
        assert call(client, server).status_code == 200


@pytest.mark.parametrize("service", ["interfax", "concord"])
def test_truncated_and_malformed_bodies_do_not_parse(service: str) -> None:
    call = {"interfax": _interfax, "concord": _concord}[service]
    with (
        running(faults=f"{service}:truncate:n=1,{service}:malformed:n=1") as server,
        httpx.Client() as client,
    ):
        truncated = call(client, server)
        malformed = call(client, server)
        good = call(client, server)
    for r in (truncated, malformed):
        assert r.status_code == 200 and int(r.headers["content-length"]) == len(r.content)
        assert _unparseable(r.content)
    assert len(truncated.content) < len(good.content) and not _unparseable(good.content)


def test_token_malformed_json() -> None:
    with running(faults="token:malformed:n=1") as server, httpx.Client() as client:
        r = _token(client, server)
        with pytest.raises(json.JSONDecodeError):
            r.json()
        assert "access_token" in _token(client, server).json()


@pytest.mark.parametrize("service", ["interfax", "concord", "token"])
def test_wrong_content_type(service: str) -> None:
    call = {"interfax": _interfax, "concord": _concord, "token": _token}[service]
    with running(faults=f"{service}:html") as server, httpx.Client() as client:
        r = call(client, server)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text.lstrip().startswith("<!DOCTYPE html>")


def test_wrong_operation_element() -> None:
    with running(faults="interfax:wrong_op,concord:wrong_op") as server, httpx.Client() as client:
        ifx, ccd = _interfax(client, server), _concord(client, server)
    for r, expected in ((ifx, "FaxQueryResponse"), (ccd, "FaxStatusResponse")):
        root = etree.fromstring(r.content)
        assert etree.QName(root[-1][0]).localname == expected


def test_result_code_override_and_concord_false() -> None:
    with (
        running(
            faults="interfax:result=-150:n=1,interfax:result=-1011:n=1,concord:false:n=1,concord:false=-7:n=1"
        ) as server,
        httpx.Client() as client,
    ):
        assert [read_interfax(_interfax(client, server).content).result_code for _ in range(3)] == [
            -150,
            -1011,
            0,
        ]
        first, second, third = (read_concord(_concord(client, server).content) for _ in range(3))
    assert (first.ok, first.error_code, first.items) == (False, -2, [])
    assert (second.ok, second.error_code) == (False, -7)
    assert third.ok and third.items


def test_slow_answers_arrive_late_but_whole() -> None:
    with (
        running(faults="interfax:slow=0.6:n=1") as server,
        httpx.Client() as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        _interfax(client, server, timeout=0.15)
    with running(faults="interfax:slow=0.3:n=1") as server, httpx.Client() as client:
        assert read_interfax(_interfax(client, server).content).result_code == 0


def test_a_slow_answer_counts_against_the_rate_limit_when_the_call_arrived() -> None:
    # One call a minute. A slow call taken at 10:00 and a call at 10:02, sent while the first
    # one's answer is still on its way: both are within the limit, as they would be at a service
    # that counts calls on arrival (counting the slow one when it is answered would refuse it).
    clock = FakeClock(START)
    with (
        running(world(clock, rate_limit_calls=1), faults="interfax:slow=1.0:n=1") as server,
        httpx.Client() as client,
        ThreadPoolExecutor(1) as pool,
    ):
        slow = pool.submit(_interfax, client, server)
        deadline = time.monotonic() + 10
        while server.stats.snapshot()["requests"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # the call is taken microseconds after it is counted as a request
        clock.advance(120)
        assert read_interfax(_interfax(client, server).content).result_code == 0
        assert read_interfax(slow.result(timeout=10).content).result_code == 0
    assert server.stats.snapshot()["rate_limited"] == 0


# --- targeting, counts, probability, switching off ---------------------------------------------


def test_fault_targets_one_account_only() -> None:
    w = world(rate_limit_calls=100)
    w.add_interfax_account("alice", "a", jobs=3)
    w.add_concord_account("mbx0000000002", "2", jobs=3)
    with (
        running(w, faults="interfax@alice:http503,concord@mbx0000000002:false") as server,
        httpx.Client() as client,
    ):
        assert _interfax(client, server, "alice", "a").status_code == 503
        assert read_interfax(_interfax(client, server).content).result_code == 0
        assert not read_concord(_concord(client, server, "mbx0000000002", "2").content).ok
        assert read_concord(_concord(client, server).content).ok


def test_probability_is_seeded_and_faults_switch_off() -> None:
    def pattern(seed: int) -> list[int]:
        with running(seed=seed, rate_limit_calls=1000) as server, httpx.Client() as client:
            fault_id = server.faults.add("interfax:http503:p=0.5")
            codes = [_interfax(client, server).status_code for _ in range(30)]
            assert server.faults.remove(fault_id)
            assert {_interfax(client, server).status_code for _ in range(5)} == {200}
            return codes

    first = pattern(1)
    assert set(first) == {200, 503}
    assert pattern(1) == first
    assert pattern(5) != first


def test_p0_never_and_p1_always() -> None:
    with (
        running(faults="interfax:http503:p=0,concord:http503:p=1", rate_limit_calls=100) as server,
        httpx.Client() as client,
    ):
        assert {_interfax(client, server).status_code for _ in range(10)} == {200}
        assert {_concord(client, server).status_code for _ in range(10)} == {503}
        assert server.faults.clear() == 1
        assert _concord(client, server).status_code == 200


def test_front_faults_keep_requests_from_the_rate_limit() -> None:
    with running(faults="interfax:http503:n=10") as server, httpx.Client() as client:
        assert {_interfax(client, server).status_code for _ in range(10)} == {503}
        assert [read_interfax(_interfax(client, server).content).result_code for _ in range(7)] == [0] * 6 + [
            -1011
        ]
    assert server.stats.snapshot()["faults_fired"] == 10


# --- the control endpoint ----------------------------------------------------------------------


def test_control_endpoint_faults_over_http() -> None:
    with running() as server, httpx.Client() as client:
        r = client.post(server.control_url + "/faults", json={"spec": "interfax:http503"})
        assert r.status_code == 201
        fault_id = r.json()["id"]
        assert r.json()["rules"][0]["spec"] == "interfax:http503"
        assert _interfax(client, server).status_code == 503
        assert client.get(server.control_url + "/faults").json()["faults"][0]["id"] == fault_id
        assert client.delete(f"{server.control_url}/faults/{fault_id}").status_code == 200
        assert _interfax(client, server).status_code == 200
        assert client.delete(f"{server.control_url}/faults/{fault_id}").status_code == 404
        client.post(server.control_url + "/faults", json={"spec": "interfax:http502"})
        client.post(server.control_url + "/faults", json={"spec": "concord:http502"})
        assert client.delete(server.control_url + "/faults").json() == {"removed": 2}
        assert _interfax(client, server).status_code == 200
        bad = client.post(server.control_url + "/faults", json={"spec": "interfax:explode"})
        assert bad.status_code == 400 and "unknown fault" in bad.json()["error"]
        assert client.post(server.control_url + "/faults", content=b"{nope").status_code == 400


def test_control_stats_count_requests_per_service_account_and_operation() -> None:
    with running(rate_limit_calls=100) as server, httpx.Client() as client:
        for _ in range(3):
            _interfax(client, server)
        _interfax(client, server, "demo", "wrong")
        _concord(client, server)
        _token(client, server)
        client.post(server.interfax_url, content=b"<x", headers=interfax_headers())
        stats = client.get(server.control_url + "/stats").json()
        assert stats["services"]["interfax"] == {
            "requests": 5,
            "accounts": {"demo": 4, "": 1},
            "operations": {"FaxStatusEx": 4, "unreadable": 1},
        }
        assert stats["services"]["concord"]["accounts"] == {DEMO_CONCORD: 1}
        assert stats["services"]["token"]["operations"] == {"token": 1}
        assert stats["connections"] == 1 and stats["requests"] == 7
        assert client.delete(server.control_url + "/stats").status_code == 200
        assert client.get(server.control_url + "/stats").json()["requests"] == 0


def test_control_adds_accounts_and_moves_the_fake_clock() -> None:
    with running() as server, httpx.Client() as client:
        r = client.post(
            server.control_url + "/accounts",
            json={"service": "interfax", "username": "carol", "password": "c", "jobs": 25},
        )
        assert r.status_code == 201 and r.json() == {"service": "interfax", "name": "carol", "jobs": 25}
        answer = read_interfax(_interfax(client, server, "carol", "c").content)
        assert answer.result_code == 0 and answer.total == 25
        r = client.post(
            server.control_url + "/accounts",
            json={"service": "concord", "user_id": "mbx0000000009", "pin": "9", "jobs": 4},
        )
        assert r.status_code == 201
        assert read_concord(_concord(client, server, "mbx0000000009", "9").content).ok
        dup = client.post(
            server.control_url + "/accounts",
            json={"service": "interfax", "username": "carol", "password": "c"},
        )
        assert dup.status_code == 409
        bad = client.post(server.control_url + "/accounts", json={"service": "fax", "username": "x"})
        assert bad.status_code == 400
        before = client.get(server.control_url + "/state").json()
        moved = client.post(server.control_url + "/clock", json={"advance": 900}).json()
        after = client.get(server.control_url + "/state").json()
        assert (
            moved["time"] == after["time"] == "2026-11-22T10:15:00Z"
            and before["time"] == "2026-11-22T10:00:00Z"
        )
        names = {(a["service"], a["name"]): a for a in after["accounts"]}
        assert names[("interfax", "carol")]["jobs"] >= 25 and ("concord", "mbx0000000009") in names
        assert after["clock"] == "fake" and after["jobs"] == sum(a["jobs"] for a in after["accounts"])
        truth = client.get(server.control_url + "/truth", params={"since": "2026-11-22T10:00:00Z"}).json()
        assert truth["count"] == len(truth["changes"]) > 0
        assert all("2026-11-22T10:00:00Z" < c["time"] <= "2026-11-22T10:15:00Z" for c in truth["changes"])
        assert client.get(server.control_url + "/truth", params={"since": "yesterday"}).status_code == 400


def test_clock_control_refuses_a_real_clock() -> None:
    with SimServer() as server, httpx.Client() as client:
        r = client.post(server.control_url + "/clock", json={"advance": 5})
    assert r.status_code == 409 and "real clock" in r.json()["error"]


def test_control_answers_only_loopback_clients() -> None:
    w = world()
    control = Control(w, FaultSet(), Stats(), lambda: "http://sim")
    headers = Message()
    for host, status in (("10.1.2.3", 403), ("192.168.0.5", 403), ("127.0.0.1", 200), ("::1", 200)):
        reply = control.handle(HttpRequest("GET", "/_sim/state", "", headers, b"", host))
        assert reply.status == status, host
