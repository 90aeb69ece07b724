"""Concord as real servers may answer differently from the documents (issue 11): answer order,
FaxJobId letter case, partial failures, credential errors, content types and OAuth scope.
Every test talks to the simulator over loopback HTTP; options are set over /_sim/options."""

from __future__ import annotations

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
    post_options,
    read_concord,
    realtime_status,
    running,
    world,
)

from faxtui.sim import SimServer


def _status(client: httpx.Client, server: SimServer, ids: list[str], *, user: str = DEMO_CONCORD,
            pin: str = "demo", version: str = "1.1", headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post(server.concord_url, content=realtime_status(user, pin, ids, version),
                       headers=headers if headers is not None else concord_headers(version))


def _ids(response: httpx.Response) -> list[str]:
    return [i["FaxJobId"] for i in read_concord(response.content).items]


# --- order -------------------------------------------------------------------------------------


def test_items_come_back_reversed_or_shuffled_when_told() -> None:
    w = world()
    wanted = w.concord_job_ids(DEMO_CONCORD)[:12]
    with running(w) as server, httpx.Client() as client:
        assert _ids(_status(client, server, wanted)) == wanted
        post_options(client, server, concord_order="reversed")
        assert _ids(_status(client, server, wanted)) == wanted[::-1]
        post_options(client, server, concord_order="shuffled")
        first, second = _ids(_status(client, server, wanted)), _ids(_status(client, server, wanted))
    assert sorted(first) == sorted(second) == sorted(wanted)
    assert first != wanted and second != wanted and first != second
    # Seeded: the same seed gives the same orders, call after call.
    with running(world(concord_order="shuffled")) as again, httpx.Client() as client:
        assert [_ids(_status(client, again, wanted)) for _ in range(2)] == [first, second]


def test_a_shuffled_answer_still_pairs_every_item_with_its_own_job() -> None:
    w = world(concord_order="shuffled", concord_not_found="item")
    known = w.concord_job_ids(DEMO_CONCORD)[:5]
    by_id = {job.job_id: frame.status for job, frame in w.concord_jobs(DEMO_CONCORD)}
    with running(w) as server, httpx.Client() as client:
        items = read_concord(_status(client, server, [*known, "br001hffffffffff"]).content).items
    assert {i["FaxJobId"]: int(i["FaxJobStatusId"]) for i in items} == {
        **{j: by_id[j] for j in known}, "br001hffffffffff": -5019}


# --- letter case -------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "change"), [("upper", str.upper), ("lower", str.lower)])
def test_fax_job_ids_are_echoed_in_another_case(case: str, change: object) -> None:
    assert callable(change)
    w = world()
    newest = w.concord_job_ids(DEMO_CONCORD)[0]
    latest_inv = max((j for j, _ in w.concord_jobs(DEMO_CONCORD) if j.reference == "INV-2026-0042"),
                     key=lambda j: (j.submit, j.number))
    asked = [newest.swapcase(), newest, "JRI-INV-2026-0042", "Br001hFFFFFFFFFF"]
    with running(w) as server, httpx.Client() as client:
        post_options(client, server, concord_id_case=case)
        items = read_concord(_status(client, server, asked).content).items
    # The world's ids are lower case: an upper-case request is unknown to it (-5019), but every
    # FaxJobId comes back in the chosen case, the JRI- look-up under its br… job id.
    assert [i["FaxJobId"] for i in items] == [change(newest), change(newest), change(latest_inv.job_id),
                                            change("Br001hFFFFFFFFFF")]
    assert items[0]["FaxJobStatusId"] == "-5019" and items[1]["ErrorCode"] == "0"
    assert items[2]["FaxJobId"].lower().startswith("br001h") and items[2]["ErrorCode"] == "0"


def test_as_stored_keeps_br_ids_and_echoes_unknown_ids_as_asked() -> None:
    w = world()
    newest = w.concord_job_ids(DEMO_CONCORD)[0]
    with running(w) as server, httpx.Client() as client:
        assert _ids(_status(client, server, [newest, "BR-Unknown"])) == [newest, "BR-Unknown"]


# --- partial failures --------------------------------------------------------------------------


@pytest.mark.parametrize("placement", ["call", "call_and_item", "call_empty"])
def test_return_false_with_a_ws_error_and_the_valid_items(placement: str) -> None:
    w = world()
    known = w.concord_job_ids(DEMO_CONCORD)[:2]
    asked = [known[0], "br001hffffffffff", known[1], "JRI-NO-SUCH-REF"]
    with running(w) as server, httpx.Client() as client:
        post_options(client, server, concord_not_found=placement, concord_call_error_code=-1,
                     concord_call_error_text="One or more job ids are invalid")
        r = _status(client, server, asked)
        all_good = read_concord(_status(client, server, known).content)
    assert r.status_code == 200
    answer = read_concord(r.content)
    assert (answer.ok, answer.error_code, answer.error_text) == (False, -1, "One or more job ids are invalid")
    shown = [i["FaxJobId"] for i in answer.items]
    if placement == "call":
        assert shown == known
    elif placement == "call_and_item":
        assert shown == asked
        assert [i["ErrorCode"] for i in answer.items] == ["0", "-5019", "0", "-5019"]
    else:
        assert shown == []
    assert all_good.ok and all_good.error_code == 0 and [i["FaxJobId"] for i in all_good.items] == known


def test_the_default_call_level_error_is_the_documented_one() -> None:
    w = world(concord_not_found="call")
    known = w.concord_job_ids(DEMO_CONCORD)[0]
    with running(w) as server, httpx.Client() as client:
        answer = read_concord(_status(client, server, [known, "nope"]).content)
    assert (answer.ok, answer.error_code, answer.error_text) == (False, -5019, "Invalid Job ID")
    assert [i["FaxJobId"] for i in answer.items] == [known]


# --- credential errors -------------------------------------------------------------------------


def test_credential_errors_in_other_wordings() -> None:
    w = world()
    with running(w) as server, httpx.Client() as client:
        post_options(client, server, concord_auth_error_code=-2, concord_auth_error_text="Invalid PIN",
                     concord_unknown_user_error_code=-3, concord_unknown_user_error_text="Invalid UserID",
                     concord_disabled_users=[DEMO_CONCORD], concord_disabled_error_code=-4)
        unknown = read_concord(_status(client, server, ["x"], user="mbx9999999999").content)
        wrong_pin = read_concord(_status(client, server, ["x"], pin="wrong").content)
        disabled = read_concord(_status(client, server, ["x"]).content)
        post_options(client, server, concord_disabled_users="", concord_unknown_user_error_text=None,
                     concord_unknown_user_error_code=None, concord_auth_http_status=401)
        enabled = read_concord(_status(client, server, ["x"]).content)
        r = _status(client, server, ["x"], user="mbx9999999999")
    assert (unknown.ok, unknown.error_code, unknown.error_text) == (False, -3, "Invalid UserID")
    assert (wrong_pin.ok, wrong_pin.error_code, wrong_pin.error_text) == (False, -2, "Invalid PIN")
    assert (disabled.ok, disabled.error_code, disabled.error_text) == (False, -4, "Account is disabled")
    assert disabled.items == [] and enabled.ok
    assert r.status_code == 401 and read_concord(r.content).error_text == "Invalid PIN"


# --- content types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "version"),
    [
        ("application/soap+xml; charset=utf-8", "1.1"),  # the docs' media type with the WSDL's envelope
        (None, "1.1"),                                   # none: the docs' default application/soap+xml
        ("text/xml; charset=utf-8", "1.1"),
        ("application/soap+xml; charset=utf-8", "1.2"),
        (None, "1.2"),
    ],
)
def test_the_documented_content_types_are_taken_and_the_envelope_decides_the_version(
    content_type: str | None, version: str
) -> None:
    headers = {"SOAPAction": '""'} if version == "1.1" else {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    with running() as server, httpx.Client() as client:
        r = _status(client, server, ["JRI-INV-2026-0042"], version=version, headers=headers)
    assert r.status_code == 200
    answer = read_concord(r.content)
    assert answer.ok and answer.version == version and len(answer.items) == 1
    assert r.headers["content-type"].startswith("text/xml" if version == "1.1" else "application/soap+xml")


def test_reply_content_type_can_follow_the_request() -> None:
    headers = {"Content-Type": "application/soap+xml; charset=utf-8", "SOAPAction": '""'}
    with running(concord_reply_content_type="request") as server, httpx.Client() as client:
        r = _status(client, server, ["JRI-INV-2026-0042"], headers=headers)
        bare = _status(client, server, ["JRI-INV-2026-0042"], headers={})
        old = _status(client, server, ["JRI-INV-2026-0042"])
    assert read_concord(r.content).version == "1.1"
    assert r.headers["content-type"].startswith("application/soap+xml")
    assert bare.headers["content-type"].startswith("application/soap+xml")
    assert old.headers["content-type"].startswith("text/xml")


def test_strict_media_types_and_a_soap_11_only_server() -> None:
    with running(concord_media_types="strict") as server, httpx.Client() as client:
        mixed = _status(client, server, ["x"], headers={"Content-Type": "application/soap+xml"})
        none = _status(client, server, ["x"], headers={})
        json = _status(client, server, ["x"], headers={"Content-Type": "application/json"})
    assert mixed.status_code == 500 and fault_of(mixed.content)[0] == "SOAP-ENV:VersionMismatch"
    assert none.status_code == 415 and json.status_code == 415
    with running(concord_soap12=False) as server, httpx.Client() as client:
        r12 = _status(client, server, ["x"], version="1.2")
        r11 = _status(client, server, ["JRI-INV-2026-0042"])
    assert r12.status_code == 500 and body_child(r12.content)[0] == "1.1"
    assert fault_of(r12.content)[0] == "SOAP-ENV:VersionMismatch" and read_concord(r11.content).ok
    with running() as server, httpx.Client() as client:
        assert _status(client, server, ["x"], headers={"Content-Type": "application/json"}).status_code == 415


# --- OAuth scope -------------------------------------------------------------------------------


def _token(client: httpx.Client, server: SimServer, scope: str) -> httpx.Response:
    return client.post(server.token_url, data={"grant_type": "client_credentials", "client_id": "demo",
                                               "client_secret": "demo", "scope": scope})


def test_identityserver_refuses_offline_access_with_client_credentials_when_told() -> None:
    with running() as server, httpx.Client() as client:
        assert _token(client, server, "FaxWS offline_access").status_code == 200
        post_options(client, server, oauth_refuse_offline_access=True)
        refused = _token(client, server, "FaxWS offline_access")
        plain = _token(client, server, "FaxWS")
    assert refused.status_code == 400 and refused.json() == {"error": "invalid_scope"}
    assert refused.headers["cache-control"] == "no-store"
    assert plain.status_code == 200 and plain.json()["token_type"] == "Bearer"


# --- the wrapper in another namespace ----------------------------------------------------------


@pytest.mark.parametrize("children", [False, True])
def test_the_response_wrapper_in_an_unexpected_namespace(children: bool) -> None:
    other = "https://ws.concordfax.com/fax/v5/FaxWS.wsdl"
    with running(concord_response_ns=other, response_ns_children=children) as server, \
            httpx.Client() as client:
        r = _status(client, server, ["JRI-INV-2026-0042"])
    _, wrapper = body_child(r.content)
    assert wrapper.tag == f"{{{other}}}RealTimeFaxStatusExResponse"
    child_ns = other if children else FAXWS
    assert wrapper[0].tag == f"{{{child_ns}}}return" and wrapper[0].text == "true"
    assert wrapper.find(f"{{{child_ns}}}FaxStatusList/{{{child_ns}}}item") is not None
    assert SOAP11.encode() in r.content and SOAP12.encode() not in r.content
