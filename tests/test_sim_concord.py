"""Concord FaxWS v5 GetRealTimeFaxStatusEx and the OAuth token endpoint, over real HTTP."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sim_fixtures import (
    DEMO_CONCORD,
    FAXWS,
    SOAP11,
    SOAP12,
    body_child,
    concord_headers,
    fault_of,
    read_concord,
    realtime_status,
    running,
    world,
)

from faxtui.sim import FakeClock, SimServer


def _status(
    client: httpx.Client,
    server: SimServer,
    ids: list[str],
    pin: str = "demo",
    user: str = DEMO_CONCORD,
    version: str = "1.1",
    token: str | None = None,
) -> httpx.Response:
    return client.post(
        server.concord_url,
        content=realtime_status(user, pin, ids, version),
        headers=concord_headers(version, token),
    )


def _token(
    client: httpx.Client, server: SimServer, client_id: str = "demo", secret: str = "demo"
) -> httpx.Response:
    return client.post(
        server.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "FaxWS offline_access",
        },
    )


def test_500_ids_in_batches_of_100_come_back_one_per_id_in_order() -> None:
    w = world(demo_accounts=False)
    w.add_concord_account("mbx0000000500", "1234", jobs=500)
    ids = w.concord_job_ids("mbx0000000500")
    assert len(ids) == 500 == len(set(ids))
    seen: list[str] = []
    with running(w) as server, httpx.Client() as client:
        for start in range(0, 500, 100):
            batch = ids[start : start + 100]
            answer = read_concord(_status(client, server, batch, pin="1234", user="mbx0000000500").content)
            assert answer.ok and answer.error_code == 0
            assert [i["FaxJobId"] for i in answer.items] == batch
            assert all(i["FaxJobStatusId"] in ("1", "2", "3") and i["ErrorCode"] == "0" for i in answer.items)
            seen += [i["FaxJobId"] for i in answer.items]
    assert seen == ids
    assert all(i.startswith("br001h") and len(i) == 16 for i in ids)


def test_jri_lookup_returns_the_most_recent_job_with_that_reference() -> None:
    w = world()
    jobs = [j for j, _ in w.concord_jobs(DEMO_CONCORD) if j.reference == "INV-2026-0042"]
    assert len(jobs) >= 2
    newest = max(jobs, key=lambda j: j.submit)
    with running(w) as server, httpx.Client() as client:
        answer = read_concord(_status(client, server, ["JRI-INV-2026-0042", jobs[-1].job_id]).content)
    assert [i["FaxJobId"] for i in answer.items] == [newest.job_id, jobs[-1].job_id]
    assert newest.job_id != jobs[-1].job_id


def test_jri_echo_is_an_option() -> None:
    with running(concord_jri_echo=True) as server, httpx.Client() as client:
        answer = read_concord(_status(client, server, ["JRI-INV-2026-0042"]).content)
    assert answer.items[0]["FaxJobId"] == "JRI-INV-2026-0042"
    assert answer.items[0]["FaxJobStatusId"] in ("1", "2", "3")


@pytest.mark.parametrize("placement", ["item", "item_error", "call"])
def test_unknown_id_gets_minus_5019_where_configured(placement: str) -> None:
    w = world(concord_not_found=placement)
    known = w.concord_job_ids(DEMO_CONCORD)[0]
    with running(w) as server, httpx.Client() as client:
        r = _status(client, server, [known, "br001hffffffffff", "JRI-NO-SUCH-REF"])
    assert r.status_code == 200
    answer = read_concord(r.content)
    assert answer.items[0]["FaxJobId"] == known and answer.items[0]["ErrorCode"] == "0"
    if placement == "call":
        assert not answer.ok and answer.error_code == -5019 and answer.error_text == "Invalid Job ID"
        assert [i["FaxJobId"] for i in answer.items] == [known]
        return
    assert answer.ok and answer.error_code == 0
    missing = answer.items[1:]
    assert [i["FaxJobId"] for i in missing] == ["br001hffffffffff", "JRI-NO-SUCH-REF"]
    for item in missing:
        assert item["ErrorCode"] == "-5019" and item["ErrorString"] == "Invalid Job ID"
        if placement == "item":
            assert (item["FaxJobStatusId"], item["StatusDescription"]) == ("-5019", "Invalid Job ID")
        else:
            assert (item["FaxJobStatusId"], item["StatusDescription"]) == ("0", "")


def test_every_min_occurs_element_is_emitted_and_pending_values_are_options() -> None:
    w = world(concord_pending_datetime="0001-01-01T00:00:00+00:00", concord_pending_duration=-1)
    in_progress = [j.job_id for j, f in w.concord_jobs(DEMO_CONCORD) if f.status == 3]
    with running(w) as server, httpx.Client() as client:
        r = _status(client, server, in_progress)
    _, response = body_child(r.content)
    assert [c.tag for c in response] == [f"{{{FAXWS}}}{n}" for n in ("return", "FaxStatusList", "WSError")]
    for item in response.findall(f"{{{FAXWS}}}FaxStatusList/{{{FAXWS}}}item"):
        assert [c.tag.split("}")[1] for c in item] == [
            "FaxJobId",
            "FaxJobStatusId",
            "StatusDescription",
            "RecipientState",
            "RecipientCurrentPageCount",
            "RecipientTotalPageCount",
            "FaxDeliveryDateTime",
            "FaxDeliveryDuration",
            "RemoteFaxCSID",
            "Error",
        ]
        assert item.findtext(f"{{{FAXWS}}}FaxDeliveryDateTime") == "0001-01-01T00:00:00+00:00"
        assert item.findtext(f"{{{FAXWS}}}FaxDeliveryDuration") == "-1"
        assert item.findtext(f"{{{FAXWS}}}StatusDescription") == "Job is being processed"


def test_bearer_token_from_the_token_endpoint_works_until_it_expires() -> None:
    clock = FakeClock()
    with running(world(clock, token_expires_in=600)) as server, httpx.Client() as client:
        r = _token(client, server)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        grant = r.json()
        assert grant["token_type"] == "Bearer" and grant["expires_in"] == 600 and grant["access_token"]
        token = grant["access_token"]
        ok = read_concord(_status(client, server, ["JRI-INV-2026-0042"], pin="", token=token).content)
        assert ok.ok and ok.items
        clock.advance(599)
        assert read_concord(_status(client, server, ["JRI-INV-2026-0042"], pin="", token=token).content).ok
        clock.advance(2)
        expired = _status(client, server, ["JRI-INV-2026-0042"], pin="", token=token)
        assert expired.status_code == 200
        answer = read_concord(expired.content)
        assert not answer.ok and answer.items == []
        assert (answer.error_code, answer.error_text) == (-1, "Authentication failed")
        fresh = _token(client, server).json()["access_token"]
        assert read_concord(_status(client, server, ["JRI-INV-2026-0042"], pin="", token=fresh).content).ok


def test_basic_client_authentication_and_static_demo_token() -> None:
    with running() as server, httpx.Client() as client:
        r = client.post(server.token_url, data={"grant_type": "client_credentials"}, auth=("demo", "demo"))
        assert r.status_code == 200
        assert read_concord(
            _status(client, server, ["JRI-INV-2026-0042"], pin="", token=r.json()["access_token"]).content
        ).ok
        assert read_concord(
            _status(client, server, ["JRI-INV-2026-0042"], pin="", token="demo-token").content
        ).ok


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "demo", "client_secret": "wrong"},
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "demo"},
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "password", "client_id": "demo", "client_secret": "demo"},
            400,
            "unsupported_grant_type",
        ),
        ({"client_id": "demo", "client_secret": "demo"}, 400, "invalid_request"),
    ],
)
def test_token_endpoint_refusals(form: dict[str, str], status: int, error: str) -> None:
    with running() as server, httpx.Client() as client:
        r = client.post(server.token_url, data=form)
    assert r.status_code == status and r.json()["error"] == error
    assert "demo" not in r.text.replace('"error"', "")


def test_pin_auth_and_its_failures() -> None:
    w = world()
    w.add_concord_account("mbx0000000077", "7777", jobs=3, client_id="other", client_secret="other-secret")
    with running(w) as server, httpx.Client() as client:
        assert read_concord(_status(client, server, ["JRI-INV-2026-0042"], pin="demo").content).ok
        for pin, user, token in [
            ("wrong", DEMO_CONCORD, None),
            ("", DEMO_CONCORD, None),
            ("demo", "mbx9999999999", None),
            ("demo", DEMO_CONCORD, "not-a-token"),
        ]:
            r = _status(client, server, ["JRI-INV-2026-0042"], pin=pin, user=user, token=token)
            answer = read_concord(r.content)
            assert r.status_code == 200 and not answer.ok and answer.error_code == -1, (pin, user, token)
        # A token is only good for the users its client is linked to.
        other = _token(client, server, "other", "other-secret").json()["access_token"]
        assert read_concord(_status(client, server, [], pin="", user="mbx0000000077", token=other).content).ok
        assert not read_concord(_status(client, server, [], pin="", token=other).content).ok


def test_auth_failure_code_and_http_status_are_options() -> None:
    with (
        running(
            concord_auth_http_status=401,
            concord_auth_error_code=-4000,
            concord_auth_error_text="Access denied",
        ) as server,
        httpx.Client() as client,
    ):
        r = _status(client, server, ["x"], pin="wrong")
    assert r.status_code == 401
    answer = read_concord(r.content)
    assert (answer.ok, answer.error_code, answer.error_text) == (False, -4000, "Access denied")


def test_tracking_headers_on_every_answer_including_faults() -> None:
    with running() as server, httpx.Client() as client:
        answers = [
            _status(client, server, ["JRI-INV-2026-0042"]),
            _status(client, server, ["x"], pin="wrong"),
            client.post(
                server.concord_url,
                content=realtime_status(DEMO_CONCORD, "demo", [], operation="GetFaxStatus"),
                headers=concord_headers(),
            ),
            client.post(server.concord_url, content=b"<broken", headers=concord_headers()),
            _token(client, server),
            client.get(server.concord_url + "/faxws.wsdl"),
        ]
    for r in answers:
        assert uuid.UUID(r.headers["x-ch-activity-id"])
        assert int(r.headers["x-ch-execution-time"]) >= 0
    assert len({r.headers["x-ch-activity-id"] for r in answers}) == len(answers)


def test_unknown_operation_gets_a_soap_fault() -> None:
    with running() as server, httpx.Client() as client:
        r = client.post(
            server.concord_url,
            content=realtime_status(DEMO_CONCORD, "demo", ["x"], operation="GetFaxStatus"),
            headers=concord_headers(),
        )
    assert r.status_code == 500
    code, text = fault_of(r.content)
    assert code.endswith(":Client") and "GetFaxStatus" in text and "not implemented" in text


def test_soap_12_is_answered_in_soap_12() -> None:
    with running() as server, httpx.Client() as client:
        r11 = _status(client, server, ["JRI-INV-2026-0042"])
        r12 = _status(client, server, ["JRI-INV-2026-0042"], version="1.2")
    assert r11.headers["content-type"].startswith("text/xml") and SOAP11.encode() in r11.content
    assert r12.headers["content-type"].startswith("application/soap+xml") and SOAP12.encode() in r12.content
    assert SOAP11.encode() not in r12.content
    assert read_concord(r12.content).items == read_concord(r11.content).items


def test_soapaction_must_be_empty_unless_relaxed() -> None:
    body = realtime_status(DEMO_CONCORD, "demo", ["JRI-INV-2026-0042"])
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:FaxWS#GetRealTimeFaxStatusEx"'}
    with running() as server, httpx.Client() as client:
        strict = client.post(server.concord_url, content=body, headers=headers)
        missing = client.post(server.concord_url, content=body, headers={"Content-Type": "text/xml"})
    assert strict.status_code == 500 and "SOAPAction" in fault_of(strict.content)[1]
    assert read_concord(missing.content).ok
    with running(concord_strict_soapaction=False) as server, httpx.Client() as client:
        assert read_concord(client.post(server.concord_url, content=body, headers=headers).content).ok


def test_failed_jobs_carry_their_reason_unless_told_not_to() -> None:
    w = world()
    failed = [j.job_id for j, f in w.concord_jobs(DEMO_CONCORD) if f.status == 2]
    with running(w) as server, httpx.Client() as client:
        texts = {i["StatusDescription"] for i in read_concord(_status(client, server, failed).content).items}
    assert texts and all(t.startswith("Job Failed: ") for t in texts)
    w2 = world(concord_failure_reasons=False)
    with running(w2) as server, httpx.Client() as client:
        texts = {i["StatusDescription"] for i in read_concord(_status(client, server, failed).content).items}
    assert texts == {"Job Failed"}
