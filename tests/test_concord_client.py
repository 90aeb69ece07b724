"""ConcordClient and OAuthTokenProvider against a real loopback HTTP server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from loopback import XML, LoopbackServer, Recorded, Reply
from lxml import etree

from faxtui.errors import AuthError, ProtocolError, RateLimited, ServiceError, SoapFault, TransportError
from faxtui.model import CONCORD_MAPPED, FAXITEM_NAMES, JobState
from faxtui.services.concord.auth import OAuthTokenProvider, looks_like_auth_failure
from faxtui.services.concord.client import ConcordClient
from faxtui.services.soap import SOAP11_NS, SOAP12_NS

DATA = Path(__file__).parent / "data"
NS = "urn:FaxWS"
TOKEN = "eyJhbGciOi.static-token.sig"
PIN = "8472-s3cret-9"
CLIENT_SECRET = "cl1ent-s3cret-value"
NOW = datetime(2026, 11, 22, 10, 0, 5, tzinfo=UTC)
TRACKING = {"x-ch-activity-id": "act-7f3a", "x-ch-execution-time": "12"}

MakeClient = Callable[..., ConcordClient]


@pytest.fixture
async def make_client(loopback: LoopbackServer) -> AsyncIterator[MakeClient]:
    made: list[ConcordClient] = []

    def make(**kwargs: Any) -> ConcordClient:
        if not {"token", "pin", "token_provider"} & kwargs.keys():
            kwargs["token"] = TOKEN
        endpoint = kwargs.pop("endpoint", loopback.url("/fax/v5"))
        client = ConcordClient("ops-concord", endpoint, "mbx1234567890", clock=lambda: NOW, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


# --- building answers ----------------------------------------------------------------------------


def item(
    fid: str,
    status: int | str = 3,
    desc: str = "",
    error_code: int = 0,
    error_string: str = "",
    delivered: str = "",
    pages: tuple[int, int] = (0, 1),
) -> str:
    return (
        f"<item><FaxJobId>{fid}</FaxJobId><FaxJobStatusId>{status}</FaxJobStatusId>"
        f"<StatusDescription>{desc}</StatusDescription><RecipientState>1</RecipientState>"
        f"<RecipientCurrentPageCount>{pages[0]}</RecipientCurrentPageCount>"
        f"<RecipientTotalPageCount>{pages[1]}</RecipientTotalPageCount>"
        f"<FaxDeliveryDateTime>{delivered}</FaxDeliveryDateTime><FaxDeliveryDuration>0</FaxDeliveryDuration>"
        f"<RemoteFaxCSID></RemoteFaxCSID><Error><ErrorCode>{error_code}</ErrorCode>"
        f"<ErrorString>{error_string}</ErrorString></Error></item>"
    )


def status_xml(
    items: list[str], ok: bool = True, ws_code: int = 0, ws_text: str = "", soap12: bool = False
) -> bytes:
    env = SOAP12_NS if soap12 else SOAP11_NS
    return (
        f'<S:Envelope xmlns:S="{env}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><S:Body>'
        f'<RealTimeFaxStatusExResponse xmlns="{NS}"><return>{str(ok).lower()}</return>'
        f"<FaxStatusList>{''.join(items)}</FaxStatusList>"
        f"<WSError><ErrorCode>{ws_code}</ErrorCode><ErrorString>{ws_text}</ErrorString></WSError>"
        f"</RealTimeFaxStatusExResponse></S:Body></S:Envelope>"
    ).encode()


def reply(body: bytes, status: int = 200, ctype: str = XML, **kwargs: Any) -> Reply:
    return Reply(status, body, {"Content-Type": ctype, **TRACKING}, **kwargs)


def sent(req: Recorded) -> tuple[str, list[str], str, str, list[str]]:
    """(envelope ns, operation child names, UserID, strPIN, JobIds) of a recorded status request."""
    root = etree.fromstring(req.body)
    env_ns = str(root.tag)[1:].split("}")[0]
    op = root.find(f"{{{env_ns}}}Body/{{{NS}}}GetRealTimeFaxStatusEx")
    assert op is not None, req.body
    names = [str(c.tag) for c in op]
    ids = [el.text or "" for el in op.iterfind(f"{{{NS}}}FaxJobIds/{{{NS}}}item/{{{NS}}}JobId")]
    return env_ns, names, op.findtext(f"{{{NS}}}UserID") or "", op.findtext(f"{{{NS}}}strPIN") or "", ids


def echo_server(status: int = 3) -> Callable[[Recorded], Reply]:
    """Answers every requested id with one item in that status."""
    return lambda req: reply(status_xml([item(i, status) for i in sent(req)[4]]))


# --- the request ---------------------------------------------------------------------------------


async def test_bearer_request_shape(loopback: LoopbackServer, make_client: MakeClient) -> None:
    loopback.handle(echo_server())
    await make_client().status(["br001h7r17j0000001", "JRI-REF1234"])
    (req,) = loopback.requests
    assert (req.method, req.path) == ("POST", "/fax/v5")
    assert req.headers["content-type"] == "text/xml; charset=utf-8"
    assert req.headers["soapaction"] == '""'
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert uuid.UUID(req.headers["x-ch-request-id"]).version == 4
    env_ns, names, user, pin, ids = sent(req)
    assert env_ns == SOAP11_NS
    assert names == [f"{{{NS}}}UserID", f"{{{NS}}}strPIN", f"{{{NS}}}FaxJobIds"]
    assert (user, pin, ids) == ("mbx1234567890", "", ["br001h7r17j0000001", "JRI-REF1234"])


async def test_pin_request_shape(loopback: LoopbackServer, make_client: MakeClient) -> None:
    loopback.handle(echo_server())
    await make_client(pin=PIN).status(["br1"])
    (req,) = loopback.requests
    assert "authorization" not in req.headers
    assert sent(req)[3] == PIN


async def test_soap12_option(loopback: LoopbackServer, make_client: MakeClient) -> None:
    loopback.reply(
        reply(status_xml([item("br1", 1)], soap12=True), ctype="application/soap+xml; charset=utf-8")
    )
    result = await make_client(soap_version="1.2").status(["br1"])
    (req,) = loopback.requests
    assert req.headers["content-type"] == "application/soap+xml; charset=utf-8"
    assert "soapaction" not in req.headers
    assert sent(req)[0] == SOAP12_NS
    assert result.jobs[0].state is JobState.DELIVERED


async def test_every_request_gets_a_fresh_request_id(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.handle(echo_server())
    client = make_client(batch_size=2)
    await client.status(["a1", "a2", "a3", "a4"])
    await client.status(["a1"])
    request_ids = [r.headers["x-ch-request-id"] for r in loopback.requests]
    assert len(request_ids) == 3 == len(set(request_ids))


async def test_ids_go_in_sequential_batches(loopback: LoopbackServer, make_client: MakeClient) -> None:
    loopback.handle(echo_server())
    ids = [f"br{n:06d}" for n in range(250)]
    result = await make_client().status(ids)
    batches = [sent(r)[4] for r in loopback.requests]
    assert [len(b) for b in batches] == [100, 100, 50]
    assert [i for b in batches for i in b] == ids
    assert result.calls == 3
    assert [j.job_id for j in result.jobs] == ids
    assert loopback.requests[0].client_port == loopback.requests[2].client_port  # one connection


async def test_no_ids_means_no_call_and_duplicates_are_sent_once(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.handle(echo_server())
    client = make_client()
    empty = await client.status([])
    assert (empty.calls, empty.jobs, loopback.requests) == (0, [], [])
    await client.status(["br1", " br1 ", "br2", "", "br1"])
    assert sent(loopback.requests[0])[4] == ["br1", "br2"]


# --- parsing -------------------------------------------------------------------------------------


async def test_vendor_outline_response_with_faxws_prefix(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.reply(reply((DATA / "concord_realtime_status.xml").read_bytes()))
    result = await make_client().status(["br001h7r17j0000001", "br001h7r17j0000002"])
    assert (result.polled_at, result.calls, result.not_found) == (NOW, 1, [])
    assert result.headers == TRACKING
    delivered, sending = result.jobs

    assert (delivered.job_id, delivered.lookup_id, delivered.service) == (
        "br001h7r17j0000001",
        None,
        "concord",
    )
    assert (delivered.state, delivered.status_code, delivered.status_text) == (
        JobState.DELIVERED,
        1,
        "Job Succeeded",
    )
    native = delivered.concord
    assert native is not None
    assert (native.FaxJobId, native.FaxJobStatusId, native.RecipientState) == ("br001h7r17j0000001", 1, 4)
    assert (native.RecipientCurrentPageCount, native.RecipientTotalPageCount) == (3, 3)
    assert (native.FaxDeliveryDateTime, native.FaxDeliveryDuration) == ("2007-11-30T06:03:15-08:00", 95)
    assert (native.RemoteFaxCSID, native.ErrorCode, native.ErrorString) == ("ACME LAB", 0, "")
    assert (native.activity_id, native.execution_time_ms) == ("act-7f3a", "12")

    fields = delivered.item
    assert fields.TransactionID == "br001h7r17j0000001"
    assert (fields.Status, fields.PagesSent, fields.PagesSubmitted, fields.Duration) == (1, 3, 3, 95)
    assert fields.CompletionTime == datetime(2007, 11, 30, 6, 3, 15, tzinfo=timezone(timedelta(hours=-8)))
    assert fields.RemoteCSID == "ACME LAB"
    unmapped = [n for n in FAXITEM_NAMES if n not in CONCORD_MAPPED]
    assert len(unmapped) == 20
    assert all(getattr(fields, n) is None for n in unmapped)

    assert (sending.state, sending.status_text) == (JobState.SENDING, "Job is being processed")
    assert (sending.item.CompletionTime, sending.item.RemoteCSID, sending.item.PagesSent) == (None, None, 1)


async def test_jaxws_style_default_namespace_response(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.reply(reply((DATA / "concord_realtime_status_jaxws.xml").read_bytes()))
    result = await make_client().status(["br001h7r17j0000009"])
    (job,) = result.jobs
    assert (job.state, job.status_code, job.status_text) == (JobState.FAILED, 2, "Job Failed")
    assert job.item.CompletionTime == datetime(2026, 11, 22, 10, 4, tzinfo=UTC)


async def test_nil_items_are_skipped(loopback: LoopbackServer, make_client: MakeClient) -> None:
    nil = '<item xsi:nil="true"/>'
    loopback.reply(reply(status_xml([nil, item("br1", 1), nil])))
    result = await make_client().status(["br1", "br2"])
    assert [j.job_id for j in result.jobs] == ["br1"]
    assert result.not_found == []  # br2 got no answer, and the server did not call it invalid


def resolving_server(resolve: dict[str, str], *, reverse: bool = False,
                     echo_references: bool = False) -> Callable[[Recorded], Reply]:
    """Answers each id asked for; a `JRI-` reference under the br id it resolves to (or under the
    reference itself with `echo_references`), a br id under itself; the br id's digits are its
    status (br1 delivered, br2 failed, br3 sending). `reverse` answers in the opposite order."""

    def answer(req: Recorded) -> Reply:
        items = []
        for asked in sent(req)[4]:
            br = resolve.get(asked, asked)
            items.append(item(asked if echo_references else br, int(br[-1])))
        return reply(status_xml(items[::-1] if reverse else items))

    return answer


@pytest.mark.parametrize("reverse", [False, True], ids=["request-order", "reversed"])
async def test_jri_lookups_are_matched_to_their_br_ids_whatever_the_answer_order(
    loopback: LoopbackServer, make_client: MakeClient, reverse: bool
) -> None:
    resolve = {"JRI-A": "br-a1", "JRI-B": "br-b2", "JRI-C": "br-c3"}
    loopback.handle(resolving_server(resolve, reverse=reverse))
    result = await make_client().status(["br001", "JRI-A", "JRI-B", "JRI-C"])
    pairs = {(j.job_id, j.lookup_id, j.state) for j in result.jobs}
    assert pairs == {
        ("br001", None, JobState.DELIVERED),
        ("br-a1", "JRI-A", JobState.DELIVERED),
        ("br-b2", "JRI-B", JobState.FAILED),
        ("br-c3", "JRI-C", JobState.SENDING),
    }
    # Never two references in one call: their answers could not be told apart.
    batches = [sent(req)[4] for req in loopback.requests]
    assert all(sum(i.startswith("JRI-") for i in batch) <= 1 for batch in batches)
    assert sorted(i for batch in batches for i in batch) == ["JRI-A", "JRI-B", "JRI-C", "br001"]
    assert result.calls == len(batches) == 3


async def test_references_share_a_batch_once_the_server_names_them_in_its_answers(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.handle(resolving_server({"JRI-A": "br-a1", "JRI-B": "br-b2"}, reverse=True,
                                     echo_references=True))
    client = make_client()
    first = await client.status(["JRI-A", "JRI-B", "br3"])
    assert client.references_echoed
    assert {(j.job_id, j.lookup_id) for j in first.jobs} == {("JRI-A", None), ("JRI-B", None), ("br3", None)}
    assert len(loopback.requests) == 2
    await client.status(["JRI-A", "JRI-B", "br3"])
    assert sent(loopback.requests[-1])[4] == ["JRI-A", "JRI-B", "br3"]  # one call now


async def test_items_that_cannot_be_told_apart_are_never_paired_by_guess(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    client = make_client()
    client.references_echoed = True  # as if the server had named references before, and now stops
    loopback.handle(resolving_server({"JRI-A": "br-a1", "JRI-B": "br-b2"}))
    result = await client.status(["JRI-A", "JRI-B"])
    assert {(j.job_id, j.lookup_id) for j in result.jobs} == {("br-a1", None), ("br-b2", None)}
    assert any("could not be told apart" in w for w in result.warnings)
    assert not client.references_echoed  # one reference a call from now on
    again = await client.status(["JRI-A", "JRI-B"])
    assert {(j.job_id, j.lookup_id) for j in again.jobs} == {("br-a1", "JRI-A"), ("br-b2", "JRI-B")}
    assert not again.warnings


async def test_ids_are_compared_without_regard_to_letter_case(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.reply(reply(status_xml([item("BR2", 2), item("jri-x", 1), item("Br1", 1)])))
    result = await make_client().status(["br1", "JRI-X", "br2"])
    assert [(j.job_id, j.lookup_id, j.state) for j in result.jobs] == [
        ("br2", None, JobState.FAILED), ("JRI-X", None, JobState.DELIVERED),
        ("br1", None, JobState.DELIVERED)]


async def test_a_partial_failure_keeps_its_items_and_says_what_went_wrong(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    body = status_xml([item("br1", 1), item("br2", 3)], ok=False, ws_code=-1,
                      ws_text="One or more job ids are invalid")
    loopback.reply(reply(body))
    result = await make_client().status(["br1", "br2", "brBAD"])
    assert [(j.job_id, j.state) for j in result.jobs] == [
        ("br1", JobState.DELIVERED), ("br2", JobState.SENDING)]
    assert result.warnings == ["Concord error -1: One or more job ids are invalid"]


@pytest.mark.parametrize(
    ("code", "text", "auth"),
    [
        (-1, "Invalid UserID", True),
        (-2, "Account is disabled", True),
        (-3, "account has been locked", True),
        (0, "Authentication failed", True),
        (-4, "One or more job ids are invalid", False),
        (-5019, "Invalid Job ID", False),
        (-5019, "Invalid Job ID or password", False),  # a documented job code is never about credentials
        (-9, "Service temporarily unavailable", False),
    ],
)
async def test_a_wserror_about_credentials_is_an_authentication_failure_whatever_its_wording(
    loopback: LoopbackServer, make_client: MakeClient, code: int, text: str, auth: bool
) -> None:
    loopback.reply(reply(status_xml([], ok=False, ws_code=code, ws_text=text)))
    if code == -5019:
        result = await make_client().status(["br1"])
        assert result.not_found == ["br1"]
        return
    with pytest.raises(AuthError if auth else ServiceError) as info:
        await make_client().status(["br1"])
    assert text in str(info.value)
    assert isinstance(info.value, AuthError) is auth


async def test_the_content_type_can_be_set_per_account(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.handle(echo_server())
    await make_client(content_type="application/soap+xml; charset=utf-8").status(["br1"])
    await make_client().status(["br1"])
    first, second = loopback.requests
    assert first.headers["content-type"] == "application/soap+xml; charset=utf-8"
    assert sent(first)[0] == SOAP11_NS  # the envelope stays what the WSDL binds
    assert second.headers["content-type"] == "text/xml; charset=utf-8"


async def test_unrequested_items_are_kept_under_their_own_id(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.reply(reply(status_xml([item("br5", 1), item("br6", 2)])))
    result = await make_client().status(["br5"])
    assert [(j.job_id, j.lookup_id) for j in result.jobs] == [("br5", None), ("br6", None)]


@pytest.mark.parametrize("placement", ["status", "error", "error-empty-id"])
async def test_invalid_job_id_in_an_item_is_not_found(
    loopback: LoopbackServer, make_client: MakeClient, placement: str
) -> None:
    bad = {
        "status": item("JRI-NOPE", -5019, "Invalid Job ID"),
        "error": item("JRI-NOPE", 0, error_code=-5019, error_string="Invalid Job ID"),
        "error-empty-id": item("", "", error_code=-5019, error_string="Invalid Job ID"),
    }[placement]
    loopback.reply(reply(status_xml([item("br1", 1), bad])))
    result = await make_client().status(["br1", "JRI-NOPE"])
    assert result.not_found == ["JRI-NOPE"]
    job = result.jobs[1]
    assert (job.job_id, job.state, job.status_code) == ("JRI-NOPE", JobState.NOT_FOUND, -5019)
    assert job.status_text == "Invalid Job ID"
    assert result.jobs[0].state is JobState.DELIVERED


async def test_call_level_invalid_id_makes_the_unanswered_not_found(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.reply(reply(status_xml([item("br1", 1)], ok=True, ws_code=-5019, ws_text="Invalid Job ID")))
    result = await make_client().status(["br1", "br-gone"])
    assert [(j.job_id, j.state) for j in result.jobs] == [
        ("br1", JobState.DELIVERED), ("br-gone", JobState.NOT_FOUND)]
    assert result.jobs[1].status_text == "Invalid Job ID"
    assert result.not_found == ["br-gone"]


async def test_call_failing_for_one_bad_id_is_split_until_it_stands_alone(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    def handle(req: Recorded) -> Reply:
        ids = sent(req)[4]
        if "br-bad" in ids:
            return reply(status_xml([], ok=False, ws_code=-5019, ws_text="Invalid Job ID"))
        return reply(status_xml([item(i, 3) for i in ids]))

    loopback.handle(handle)
    ids = ["br1", "br2", "br3", "br-bad", "br5"]
    result = await make_client().status(ids)
    assert result.not_found == ["br-bad"]
    states = {j.job_id: j.state for j in result.jobs}
    assert states.pop("br-bad") is JobState.NOT_FOUND
    assert sorted(states) == ["br1", "br2", "br3", "br5"]
    assert set(states.values()) == {JobState.SENDING}
    assert result.calls == len(loopback.requests) > 1


@pytest.mark.parametrize(
    ("code", "text", "kind", "message"),
    [
        (
            -5040,
            "ERROR: Scheduled DateTime specified exceeds maximum allowed defer time.",
            ServiceError,
            "Concord error -5040: ERROR: Scheduled DateTime",
        ),
        (-1, "", ServiceError, "Concord error -1: no error text (account ops-concord)"),
        (
            -100,
            "Invalid UserID or PIN",
            AuthError,
            "authentication failed for account ops-concord (Concord -100: Invalid UserID or PIN)",
        ),
        (
            -101,
            "Unauthorized: access token expired",
            AuthError,
            "authentication failed for account ops-concord",
        ),
    ],
)
async def test_return_false_raises(
    loopback: LoopbackServer,
    make_client: MakeClient,
    code: int,
    text: str,
    kind: type[Exception],
    message: str,
) -> None:
    loopback.reply(reply(status_xml([], ok=False, ws_code=code, ws_text=text)))
    with pytest.raises(kind) as info:
        await make_client().status(["br1"])
    assert type(info.value) is kind
    assert str(info.value).startswith(message)
    if isinstance(info.value, ServiceError):
        assert info.value.code == code
    assert len(loopback.requests) == 1  # no retry without a token provider


def test_auth_rule() -> None:
    assert looks_like_auth_failure("Invalid PIN")
    assert looks_like_auth_failure("Authentication failed")
    assert looks_like_auth_failure("bad credentials")
    assert not looks_like_auth_failure("Invalid Job ID")
    assert not looks_like_auth_failure("Spinning up")  # "pin" only as a word
    assert not looks_like_auth_failure(None)


async def test_server_text_echoing_secrets_is_redacted(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.reply(reply(status_xml([], ok=False, ws_code=-7, ws_text=f"bad request near {PIN}")))
    with pytest.raises(ServiceError) as info:
        await make_client(pin=PIN).status(["br1"])
    assert PIN not in str(info.value) and PIN not in repr(info.value.args)
    assert "near ***" in str(info.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (status_xml([item("br1", "three")]), "RealTimeFaxStatusEx br1: FaxJobStatusId is not an int"),
        (
            status_xml([]).replace(b"<return>true</return>", b""),
            "RealTimeFaxStatusExResponse: return is missing or not a boolean",
        ),
        (
            status_xml([]).replace(b"RealTimeFaxStatusExResponse", b"GetRealTimeFaxStatusExResponse"),
            "expected RealTimeFaxStatusExResponse in the SOAP Body, got GetRealTimeFaxStatusExResponse",
        ),
    ],
)
async def test_malformed_answers(
    loopback: LoopbackServer, make_client: MakeClient, body: bytes, message: str
) -> None:
    loopback.reply(reply(body))
    with pytest.raises(ProtocolError) as info:
        await make_client().status(["br1"])
    assert str(info.value) == message


async def test_missing_scalars_are_none(loopback: LoopbackServer, make_client: MakeClient) -> None:
    loopback.reply(
        reply(status_xml(["<item><FaxJobId>br1</FaxJobId><FaxJobStatusId>3</FaxJobStatusId></item>"]))
    )
    (job,) = (await make_client().status(["br1"])).jobs
    assert job.concord is not None
    assert (job.concord.RecipientState, job.concord.ErrorCode, job.item.Duration) == (None, None, None)
    assert job.state is JobState.SENDING


# --- HTTP-level errors (the shared path, seen from Concord) ----------------------------------------


async def test_http_errors(loopback: LoopbackServer, make_client: MakeClient, closed_port: int) -> None:
    client = make_client()
    loopback.reply(Reply(401, b"", {"Content-Type": "text/plain"}))
    with pytest.raises(AuthError, match="HTTP 401"):
        await client.status(["br1"])
    assert len(loopback.requests) == 1
    loopback.reply(Reply(429, b"", {"Content-Type": "text/plain", "Retry-After": "7"}))
    with pytest.raises(RateLimited) as limited:
        await client.status(["br1"])
    assert limited.value.retry_after == 7.0
    loopback.reply(Reply(500, (DATA / "asmx_fault_soap11.xml").read_bytes(), {"Content-Type": XML}))
    with pytest.raises(SoapFault):
        await client.status(["br1"])
    loopback.reply(Reply(200, b"{}", {"Content-Type": "application/json"}))
    with pytest.raises(ProtocolError, match="content type 'application/json'"):
        await client.status(["br1"])
    with pytest.raises(TransportError, match="connection refused"):
        await make_client(endpoint=f"http://127.0.0.1:{closed_port}/fax/v5").status(["br1"])


# --- construction --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [{}, {"token": TOKEN, "pin": PIN}, {"token": ""}, {"pin": PIN, "token_provider": "P"}],
)
def test_exactly_one_auth_source(auth: dict[str, Any]) -> None:
    if auth.get("token_provider") == "P":
        auth["token_provider"] = OAuthTokenProvider("https://login.example/token", "demo", CLIENT_SECRET)
    with pytest.raises(ValueError, match="exactly one of token, token_provider or pin") as info:
        ConcordClient("a", "https://ws.concordfax.com/fax/v5", "mbx1", **auth)
    assert PIN not in str(info.value) and TOKEN not in str(info.value)


def test_reprs_hold_no_secrets() -> None:
    provider = OAuthTokenProvider("https://login.example/token", "demo", CLIENT_SECRET)
    texts = [
        repr(ConcordClient("a", "https://ws.concordfax.com/fax/v5", "mbx1", token=TOKEN)),
        repr(ConcordClient("a", "https://ws.concordfax.com/fax/v5", "mbx1", pin=PIN)),
        repr(ConcordClient("a", "https://ws.concordfax.com/fax/v5", "mbx1", token_provider=provider)),
        repr(provider),
    ]
    for text in texts:
        assert TOKEN not in text and PIN not in text and CLIENT_SECRET not in text
    assert "auth='pin'" in texts[1] and "auth='oauth'" in texts[2]
    with pytest.raises(ValueError):
        ConcordClient("a", "https://ws.concordfax.com/fax/v5", "mbx1", token="has space\r\nX-Evil: 1")


# --- OAuth ---------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class World:
    """A token endpoint at /token and the status service at /fax/v5 on one loopback server."""

    def __init__(self, loopback: LoopbackServer) -> None:
        self.issued: list[str] = []
        self.token_replies: list[Reply] = []
        self.service_statuses: list[int] = []
        self.expires_in = 3600
        loopback.handle(self.handle)

    def handle(self, req: Recorded) -> Reply:
        if req.path == "/token":
            if self.token_replies:
                return self.token_replies.pop(0)
            token = f"tok-{len(self.issued) + 1}"
            self.issued.append(token)
            body = {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
            return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"}, delay=0.05)
        status = self.service_statuses.pop(0) if self.service_statuses else 200
        if status != 200:
            return Reply(status, b"", {"Content-Type": "text/plain"})
        return reply(status_xml([item(i, 3) for i in sent(req)[4]]))


def _provider(loopback: LoopbackServer, clock: FakeClock | None = None, **kwargs: Any) -> OAuthTokenProvider:
    return OAuthTokenProvider(
        loopback.url("/token"), "demo", CLIENT_SECRET, clock=clock or FakeClock(), **kwargs
    )


def _service_tokens(loopback: LoopbackServer) -> list[str]:
    return [r.headers["authorization"] for r in loopback.requests if r.path == "/fax/v5"]


async def test_token_is_fetched_once_and_reused(loopback: LoopbackServer, make_client: MakeClient) -> None:
    World(loopback)
    provider = _provider(loopback)
    client = make_client(token_provider=provider)
    for _ in range(3):
        await client.status(["br1"])
    token_requests = [r for r in loopback.requests if r.path == "/token"]
    assert len(token_requests) == 1
    form = parse_qs(token_requests[0].body.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["demo"],
        "client_secret": [CLIENT_SECRET],
        "scope": ["FaxWS"],  # not offline_access: IdentityServer refuses it for client credentials
    }
    assert token_requests[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert _service_tokens(loopback) == ["Bearer tok-1"] * 3
    assert sent(next(r for r in loopback.requests if r.path == "/fax/v5"))[3] == ""  # empty strPIN


async def test_token_is_refetched_near_expiry(loopback: LoopbackServer) -> None:
    world = World(loopback)
    world.expires_in = 300
    clock = FakeClock()
    provider = _provider(loopback, clock, refresh_margin=60)
    try:
        assert await provider.token() == "tok-1"
        clock.now += 239
        assert await provider.token() == "tok-1"
        clock.now += 2  # within the 60 s margin of expiry
        assert await provider.token() == "tok-2"
        provider.invalidate("tok-1")  # an old token's failure does not discard the new one
        assert await provider.token() == "tok-2"
        provider.invalidate()
        assert await provider.token() == "tok-3"
    finally:
        await provider.aclose()


async def test_concurrent_callers_share_one_fetch(loopback: LoopbackServer) -> None:
    World(loopback)
    provider = _provider(loopback)
    try:
        tokens = await asyncio.gather(*(provider.token() for _ in range(5)))
    finally:
        await provider.aclose()
    assert tokens == ["tok-1"] * 5
    assert provider.fetches == 1


async def test_service_401_refetches_once_and_retries(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    world = World(loopback)
    world.service_statuses = [401]
    provider = _provider(loopback)
    result = await make_client(token_provider=provider).status(["br1"])
    assert result.jobs[0].job_id == "br1"
    assert result.calls == 2
    assert _service_tokens(loopback) == ["Bearer tok-1", "Bearer tok-2"]
    ids = [r.headers["x-ch-request-id"] for r in loopback.requests if r.path == "/fax/v5"]
    assert ids[0] != ids[1]


async def test_service_401_twice_is_an_auth_error(loopback: LoopbackServer, make_client: MakeClient) -> None:
    world = World(loopback)
    world.service_statuses = [401, 401, 401]
    with pytest.raises(AuthError) as info:
        await make_client(token_provider=_provider(loopback)).status(["br1"])
    assert _service_tokens(loopback) == ["Bearer tok-1", "Bearer tok-2"]
    assert "tok-2" not in str(info.value) and CLIENT_SECRET not in str(info.value)


@pytest.mark.parametrize("status", [400, 401])
async def test_token_request_rejected(loopback: LoopbackServer, status: int) -> None:
    world = World(loopback)
    body = json.dumps({"error": "invalid_client", "error_description": f"secret {CLIENT_SECRET} is wrong"})
    world.token_replies = [Reply(status, body.encode(), {"Content-Type": "application/json"})]
    provider = _provider(loopback)
    with pytest.raises(AuthError) as info:
        await provider.token()
    await provider.aclose()
    assert str(info.value) == f"token request rejected for client demo (HTTP {status}: invalid_client)"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "sent malformed JSON"),
        (b"[1, 2]", "JSON that is not an object"),
        (b'{"expires_in": 60}', "no usable access_token"),
        (b'{"access_token": "abc", "token_type": "mac"}', "not a Bearer token"),
        (b'{"access_token": "abc", "expires_in": "soon"}', "malformed expires_in"),
    ],
)
async def test_malformed_token_answers(loopback: LoopbackServer, body: bytes, message: str) -> None:
    world = World(loopback)
    world.token_replies = [Reply(200, body, {"Content-Type": "application/json"})]
    provider = _provider(loopback)
    with pytest.raises(ProtocolError, match=message):
        await provider.token()
    await provider.aclose()


async def test_token_endpoint_unreachable(closed_port: int) -> None:
    provider = OAuthTokenProvider(f"http://127.0.0.1:{closed_port}/token", "demo", CLIENT_SECRET)
    with pytest.raises(TransportError, match="connection refused"):
        await provider.token()
    await provider.aclose()


async def test_aclose_closes_what_the_client_owns(loopback: LoopbackServer) -> None:
    provider = _provider(loopback)
    client = ConcordClient("a", loopback.url("/fax/v5"), "mbx1", token_provider=provider)
    await client.aclose()
    assert client.http.is_closed
    assert provider._http.closed


async def test_rejected_token_request_is_not_retried(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    world = World(loopback)
    world.token_replies = [Reply(401, b"{}", {"Content-Type": "application/json"})] * 3
    with pytest.raises(AuthError, match="token request rejected for client demo"):
        await make_client(token_provider=_provider(loopback)).status(["br1"])
    assert [r.path for r in loopback.requests] == ["/token"]


async def test_auth_wserror_with_a_provider_refetches_once(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    world = World(loopback)
    answers = [reply(status_xml([], ok=False, ws_code=-100, ws_text="Access token revoked"))]

    def handle(req: Recorded) -> Reply:
        if req.path == "/fax/v5" and answers:
            return answers.pop(0)
        return world.handle(req)

    loopback.handle(handle)
    result = await make_client(token_provider=_provider(loopback)).status(["br1"])
    assert [j.job_id for j in result.jobs] == ["br1"]
    assert _service_tokens(loopback) == ["Bearer tok-1", "Bearer tok-2"]


async def test_a_repeated_answer_keeps_each_calls_tracking_headers_and_a_changed_one_is_read_anew(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    sending = status_xml([item("br1", 3), item("br2", 3)])
    done = status_xml([item("br1", 1, "Job Succeeded"), item("br2", 3)])
    later = {"x-ch-activity-id": "act-8000", "x-ch-execution-time": "3"}
    loopback.reply(reply(sending), Reply(200, sending, {"Content-Type": XML, **later}), reply(done))
    client = make_client()
    first = await client.status(["br1", "br2"])
    again = await client.status(["br1", "br2"])
    assert again.jobs == first.jobs  # tracking headers are not part of a job's equality
    assert [j.concord.activity_id for j in first.jobs if j.concord] == ["act-7f3a", "act-7f3a"]
    assert [j.concord.activity_id for j in again.jobs if j.concord] == ["act-8000", "act-8000"]
    assert again.headers == later
    changed = await client.status(["br1", "br2"])
    assert [(j.job_id, j.state) for j in changed.jobs] == [
        ("br1", JobState.DELIVERED), ("br2", JobState.SENDING)]


async def test_answers_kept_for_reuse_are_only_those_of_the_last_two_polls(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.handle(echo_server())
    client = make_client(batch_size=1)
    await client.status(["br1", "br2", "br3"])
    assert len(client._answers) == 3
    await client.status(["br1"])  # the watch list shrank
    await client.status(["br1"])
    assert len(client._answers) == 1  # br2 and br3's answers are not held for ever
