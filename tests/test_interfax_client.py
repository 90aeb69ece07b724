"""InterFaxClient against a real loopback HTTP server: the request it sends, every answer it gets."""

from __future__ import annotations

import gzip
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from loopback import XML, LoopbackServer, Recorded, Reply
from lxml import etree

from faxtui.errors import AuthError, ProtocolError, RateLimited, ServiceError, SoapFault, TransportError
from faxtui.model import FAXITEM_FIELDS, JobState
from faxtui.services.http import parse_datetime, transport_kind
from faxtui.services.interfax.client import InterFaxClient
from faxtui.services.soap import SOAP11_NS, SOAP12_NS

DATA = Path(__file__).parent / "data"
NS = "http://www.interfax.cc"
PASSWORD = "s3cr3t-P@ss-42"
NOW = datetime(2026, 11, 22, 10, 0, 5, tzinfo=UTC)
REQUEST_ORDER = [
    "Username",
    "Password",
    "LastTransactionID",
    "MaxItems",
    "TotalCount",
    "ListSize",
    "ResultCode",
]

MakeClient = Callable[..., InterFaxClient]


@pytest.fixture
async def make_client(loopback: LoopbackServer) -> AsyncIterator[MakeClient]:
    made: list[InterFaxClient] = []

    def make(endpoint: str | None = None, **kwargs: Any) -> InterFaxClient:
        client = InterFaxClient(
            "ops-interfax",
            endpoint or loopback.url("/dfs.asmx"),
            "ops",
            PASSWORD,
            clock=lambda: NOW,
            **kwargs,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


# --- building answers ---------------------------------------------------------------------------


def item_xml(tid: int, status: int = 0, trials: int = 1, p: str = "") -> str:
    def el(name: str, value: object) -> str:
        return f"<{p}{name}>{value}</{p}{name}>"

    return (
        f"<{p}FaxItemEx>"
        + el("ParentTransactionID", tid)
        + el("TransactionID", tid)
        + el("SubmitTime", "2026-11-22T09:00:00")
        + el("PostponeTime", "0001-01-01T00:00:00")
        + el("CompletionTime", "2026-11-22T09:01:00")
        + el("DestinationFax", "0012123456789")
        + el("PagesSent", 1)
        + el("Status", status)
        + el("Duration", 30)
        + el("PagesSubmitted", 1)
        + el("Priority", 2)
        + el("Units", "1.0000")
        + el("CostPerUnit", "0.0650")
        + el("RetriesToPerform", 3)
        + el("TrialsPerformed", trials)
        + f"</{p}FaxItemEx>"
    )


ENVELOPES = {
    # style: (envelope open, envelope close, payload prefix, payload namespace declaration)
    "soap": (f'<soap:Envelope xmlns:soap="{SOAP11_NS}"><soap:Body>', "</soap:Body></soap:Envelope>", ""),
    "s": (f'<s:Envelope xmlns:s="{SOAP11_NS}"><s:Body>', "</s:Body></s:Envelope>", ""),
    "SOAP-ENV": (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP11_NS}" xmlns:ns1="{NS}"><SOAP-ENV:Body>',
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>",
        "ns1:",
    ),
    "default": (f'<Envelope xmlns="{SOAP11_NS}"><Body>', "</Body></Envelope>", ""),
    "soap12": (
        f'<soap12:Envelope xmlns:soap12="{SOAP12_NS}"><soap12:Body>',
        "</soap12:Body></soap12:Envelope>",
        "",
    ),
}


def page_xml(
    items: list[str] | None, total: int = 0, code: int = 0, style: str = "soap", p: str = ""
) -> bytes:
    head, tail, prefix = ENVELOPES[style]
    p = p or prefix
    xmlns = "" if p else f' xmlns="{NS}"'
    result = "" if items is None else f"<{p}FaxStatusExResult>{''.join(items)}</{p}FaxStatusExResult>"
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{head}<{p}FaxStatusExResponse{xmlns}>{result}'
        f"<{p}TotalCount>{total}</{p}TotalCount><{p}ListSize>{len(items or [])}</{p}ListSize>"
        f"<{p}ResultCode>{code}</{p}ResultCode></{p}FaxStatusExResponse>{tail}"
    ).encode()


def ok(body: bytes, content_type: str = XML, **kwargs: Any) -> Reply:
    return Reply(200, body, {"Content-Type": content_type}, **kwargs)


def sent_fields(recorded: Recorded) -> tuple[str, list[tuple[str, str]]]:
    """The envelope namespace and the operation's (name, text) children of a recorded request."""
    root = etree.fromstring(recorded.body)
    env_ns = str(root.tag)[1:].split("}")[0]
    op = root.find(f"{{{env_ns}}}Body/{{{NS}}}FaxStatusEx")
    assert op is not None, recorded.body
    fields = []
    for child in op:
        assert str(child.tag).startswith(f"{{{NS}}}"), child.tag
        fields.append((str(child.tag).split("}")[1], child.text or ""))
    return env_ns, fields


# --- the request --------------------------------------------------------------------------------


async def test_soap11_request_is_exactly_the_help_page_shape(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.reply(ok(page_xml([])))
    await make_client().status_page()
    (req,) = loopback.requests
    assert (req.method, req.path) == ("POST", "/dfs.asmx")
    assert req.headers["content-type"] == "text/xml; charset=utf-8"
    assert req.headers["soapaction"] == '"http://www.interfax.cc/FaxStatusEx"'
    env_ns, fields = sent_fields(req)
    assert env_ns == SOAP11_NS
    assert fields == list(
        zip(REQUEST_ORDER, ["ops", PASSWORD, "2147483647", "100", "0", "0", "0"], strict=True)
    )


async def test_soap12_request_carries_the_action_in_the_content_type(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.reply(ok(page_xml([], style="soap12"), "application/soap+xml; charset=utf-8"))
    page = await make_client(soap_version="1.2").status_page(812345679, 10)
    assert page.jobs == []
    (req,) = loopback.requests
    assert req.headers["content-type"] == (
        'application/soap+xml; charset=utf-8; action="http://www.interfax.cc/FaxStatusEx"'
    )
    assert "soapaction" not in req.headers
    env_ns, fields = sent_fields(req)
    assert env_ns == SOAP12_NS
    assert [name for name, _ in fields] == REQUEST_ORDER
    assert dict(fields)["LastTransactionID"] == "812345679"
    assert dict(fields)["MaxItems"] == "10"


@pytest.mark.parametrize(
    ("asked", "sent"), [(0, "1"), (-5, "1"), (1, "1"), (37, "37"), (100, "100"), (250, "100")]
)
async def test_max_items_is_clamped_to_1_through_100(
    loopback: LoopbackServer, make_client: MakeClient, asked: int, sent: str
) -> None:
    loopback.reply(ok(page_xml([])))
    await make_client().status_page(max_items=asked)
    assert dict(sent_fields(loopback.requests[0])[1])["MaxItems"] == sent


async def test_one_connection_is_reused_and_closed_only_when_owned(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.reply(ok(page_xml([])))
    client = make_client()
    await client.status_page()
    await client.status_page()
    assert loopback.requests[0].client_port == loopback.requests[1].client_port
    await client.aclose()
    assert client.http.is_closed

    async with httpx.AsyncClient() as shared:
        borrowed = make_client(http=shared)
        await borrowed.status_page()
        await borrowed.aclose()
        assert not shared.is_closed
        assert borrowed.http is shared


def test_repr_and_bad_settings_never_show_the_password() -> None:
    client = InterFaxClient("ops-interfax", "https://ws.interfax.net/dfs.asmx", "ops", PASSWORD)
    assert PASSWORD not in repr(client)
    assert "ops-interfax" in repr(client)
    for endpoint in (
        "ftp://ws.interfax.net/dfs.asmx",
        "dfs.asmx",
        f"https://ops:{PASSWORD}@ws.interfax.net/",
    ):
        with pytest.raises(ValueError) as info:
            InterFaxClient("a", endpoint, "ops", PASSWORD)
        assert PASSWORD not in str(info.value)


# --- parsing the vendor sample --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "version", "ctype"),
    [
        ("interfax_faxstatusex_full.xml", "1.1", XML),
        ("interfax_faxstatusex_full_soap12.xml", "1.2", "application/soap+xml; charset=utf-8"),
    ],
)
async def test_vendor_sample_with_all_27_fields_is_typed(
    loopback: LoopbackServer, make_client: MakeClient, name: str, version: str, ctype: str
) -> None:
    loopback.reply(ok((DATA / name).read_bytes(), ctype))
    page = await make_client(soap_version=version).status_page()
    assert (page.total_count, page.list_size, page.polled_at) == (1742, 2, NOW)
    assert page.latency_ms >= 0
    busy, retrying = page.jobs

    expected_type = {"int": int, "short": int, "decimal": Decimal, "dateTime": datetime, "string": str}
    for spec in FAXITEM_FIELDS:
        value = getattr(busy.item, spec.name)
        if spec.name == "PostponeTime":
            assert value is None  # .NET DateTime.MinValue: not postponed
            continue
        assert type(value) is expected_type[spec.xsd], spec.name
        if isinstance(value, datetime):
            assert value.tzinfo is not None, spec.name

    item = busy.item
    assert item.SubmitTime == datetime(2026, 11, 22, 9, 58, 12, 123456, tzinfo=UTC)
    assert item.CompletionTime == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert (item.Units, item.CostPerUnit) == (Decimal("3.0000"), Decimal("0.0650"))
    assert item.Subject == "Referral & lab results"
    assert item.PageHeader == "To: {To} From: {From} Pages: {TotalPages}"
    assert (busy.job_id, busy.account, busy.service) == ("812345679", "ops-interfax", "interfax")
    assert (busy.state, busy.status_code, busy.status_text) == (JobState.FAILED, 6017, "Busy")

    second = retrying.item
    assert (retrying.state, retrying.status_text) == (JobState.RETRYING, "Sending (or pending retry)")
    assert second.SubmitTime == datetime(2026, 11, 22, 9, 58, 12, tzinfo=timezone(timedelta(hours=1)))
    assert second.PostponeTime == datetime(
        2026, 11, 22, 12, 0, 0, 500000, tzinfo=timezone(timedelta(hours=-5))
    )
    assert second.CompletionTime is None
    # Missing and empty strings are both None.
    assert (second.Contact, second.JobID, second.Subject, second.ReplyEmail) == (None, None, None, None)
    assert second.Units == Decimal(0)


@pytest.mark.parametrize("style", ["soap", "s", "SOAP-ENV", "default", "soap12"])
async def test_any_prefix_style_parses_the_same(
    loopback: LoopbackServer, make_client: MakeClient, style: str
) -> None:
    p = ENVELOPES[style][2]
    body = page_xml([item_xml(7002, -2, 0, p), item_xml(7001, 0, 1, p)], total=2, style=style)
    loopback.reply(ok(body))
    page = await make_client().status_page()
    assert [(j.job_id, j.state) for j in page.jobs] == [
        ("7002", JobState.QUEUED),
        ("7001", JobState.DELIVERED),
    ]


@pytest.mark.parametrize("name", ["interfax_faxstatusex_empty.xml", "interfax_faxstatusex_absent.xml"])
async def test_empty_or_absent_result_means_no_jobs(
    loopback: LoopbackServer, make_client: MakeClient, name: str
) -> None:
    loopback.reply(ok((DATA / name).read_bytes()))
    page = await make_client().status_page()
    assert (page.jobs, page.total_count, page.list_size) == ([], 0, 0)


FULL_ORIGINALS = {
    "Status": "<Status>6017</Status>",
    "Units": "<Units>3.0000</Units>",
    "SubmitTime": "<SubmitTime>2026-11-22T09:58:12.1234567</SubmitTime>",
    "TransactionID": "<TransactionID>812345679</TransactionID>",
    "PagesSent": "<PagesSent>2</PagesSent>",
}


def _full_page_with(replace: str) -> bytes:
    """The recorded two-item page with one element of its first item replaced ("" removes it)."""
    body = (DATA / "interfax_faxstatusex_full.xml").read_text()
    name = replace[1 : replace.index(">")] if replace.startswith("<") else replace.split(":")[1]
    new = "" if replace == FULL_ORIGINALS[name] or replace.startswith("missing:") else replace
    if replace.startswith("nil:"):
        new = f'<{name} xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
    return body.replace(FULL_ORIGINALS[name], new, 1).encode()


@pytest.mark.parametrize(
    ("replace", "field", "raw"),
    [
        ("missing:Units", "Units", None),
        ("<Units>three</Units>", "Units", "three"),
        ("<SubmitTime>22/11/2026 09:58</SubmitTime>", "SubmitTime", "22/11/2026 09:58"),
        ("nil:PagesSent", "PagesSent", None),
        ("<PagesSent>1e3</PagesSent>", "PagesSent", "1e3"),
    ],
)
async def test_an_unreadable_field_costs_that_field_only(
    loopback: LoopbackServer, make_client: MakeClient, replace: str, field: str, raw: str | None
) -> None:
    loopback.reply(ok(_full_page_with(replace)))
    page = await make_client().status_page()
    assert [j.job_id for j in page.jobs] == ["812345679", "812345678"]  # the whole page stands
    bad, good = page.jobs
    assert getattr(bad.item, field) is None
    assert dict(bad.unreadable).get(field) == raw
    assert bad.state is JobState.FAILED and bad.status_text == "Busy"  # the rest of the item stands
    assert not good.unreadable and not page.warnings


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        ("<Status>6017</Status>", "FaxItemEx 812345679: Status is missing"),
        ("<Status>busy</Status>", "FaxItemEx 812345679: Status is not an int"),
        ("<Status>6_017</Status>", "FaxItemEx 812345679: Status is not an int"),
        ("<TransactionID>x</TransactionID>", "FaxItemEx #1: TransactionID is not an int"),
    ],
)
async def test_an_item_that_is_no_job_costs_that_item_only(
    loopback: LoopbackServer, make_client: MakeClient, replace: str, message: str
) -> None:
    loopback.reply(ok(_full_page_with(replace)))
    page = await make_client().status_page()
    assert [j.job_id for j in page.jobs] == ["812345678"]
    assert page.items == 2
    assert page.warnings == (f"1 of 2 items on a page left out: {message}",)


@pytest.mark.parametrize("zero", ["1900-01-01T00:00:00", "1900-01-01T00:00:00.000", "1900-01-01T00:00:00Z",
                                  "0001-01-01T00:00:00", "0000-00-00T00:00:00"])
async def test_zero_dates_mean_not_set(loopback: LoopbackServer, make_client: MakeClient, zero: str) -> None:
    text = item_xml(101, status=-2).replace("0001-01-01T00:00:00", zero).replace("2026-11-22T09:01:00", zero)
    loopback.reply(ok(page_xml([text])))
    (job,) = (await make_client().status_page()).jobs
    assert job.item.CompletionTime is None and job.item.PostponeTime is None and not job.unreadable


async def test_missing_result_code_is_a_protocol_error(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    body = (DATA / "interfax_faxstatusex_empty.xml").read_text().replace("<ResultCode>0</ResultCode>", "")
    loopback.reply(ok(body.encode()))
    with pytest.raises(ProtocolError, match="ResultCode is missing"):
        await make_client().status_page()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T10:00:00", datetime(2026, 11, 22, 10, tzinfo=UTC)),
        ("2026-11-22T10:00:00Z", datetime(2026, 11, 22, 10, tzinfo=UTC)),
        ("2026-11-22T10:00:00.1234567", datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)),
        (
            "2026-11-22T10:00:00.5+02:00",
            datetime(2026, 11, 22, 10, 0, 0, 500000, tzinfo=timezone(timedelta(hours=2))),
        ),
        (
            "2026-11-22T10:00:00-08:30",
            datetime(2026, 11, 22, 10, tzinfo=timezone(-timedelta(hours=8, minutes=30))),
        ),
        (" 2026-11-22T10:00:00Z\n", datetime(2026, 11, 22, 10, tzinfo=UTC)),
        ("0001-01-01T00:00:00", None),
        ("0001-01-01T00:00:00.0000000-05:00", None),
        ("0001-12-31T23:59:59", None),
        ("0000-00-00", None),
        ("0000-00-00T00:00:00", None),
    ],
)
def test_datetime_forms(text: str, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    "text", ["2026-11-22", "2026-11-22 10:00:00", "2026-13-01T00:00:00", "2026-11-22T10:00:00+25:00", "x"]
)
def test_malformed_datetimes_raise(text: str) -> None:
    with pytest.raises(ValueError):
        parse_datetime(text)


# --- ResultCode errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind", "message"),
    [
        (
            -1003,
            AuthError,
            "authentication failed for account ops-interfax (InterFax -1003: Authentication error)",
        ),
        (
            -1876,
            AuthError,
            "authentication failed for account ops-interfax (InterFax -1876: Authentication error, ",
        ),
        (
            -1011,
            RateLimited,
            "rate limited for account ops-interfax (InterFax -1011: Too many data requests)",
        ),
        (-150, ServiceError, "InterFax -150: Internal System Error (account ops-interfax)"),
        (-1005, ServiceError, "InterFax -1005: Transaction does not exist (account ops-interfax)"),
        (-4242, ServiceError, "InterFax -4242: Web service error -4242 (account ops-interfax)"),
    ],
)
async def test_result_codes_raise_the_right_error(
    loopback: LoopbackServer, make_client: MakeClient, code: int, kind: type[Exception], message: str
) -> None:
    loopback.reply(ok(page_xml(None, code=code)))
    with pytest.raises(kind) as info:
        await make_client().status_page()
    assert type(info.value) is kind
    assert str(info.value).startswith(message)
    assert PASSWORD not in str(info.value)
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after is None
    if isinstance(info.value, ServiceError):
        assert info.value.code == code


# --- HTTP-level errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
async def test_http_auth_statuses(loopback: LoopbackServer, make_client: MakeClient, status: int) -> None:
    loopback.reply(Reply(status, b"denied", {"Content-Type": "text/plain"}))
    with pytest.raises(
        AuthError, match=f"authentication failed for account ops-interfax \\(HTTP {status} from"
    ):
        await make_client().status_page()


@pytest.mark.parametrize(
    ("header", "expected"), [("30", 30.0), ("1.5", 1.5), ("Wed, 21 Oct 2026 07:28:00 GMT", None)]
)
async def test_http_429_honours_numeric_retry_after(
    loopback: LoopbackServer, make_client: MakeClient, header: str, expected: float | None
) -> None:
    loopback.reply(Reply(429, b"", {"Content-Type": "text/plain", "Retry-After": header}))
    with pytest.raises(RateLimited) as info:
        await make_client().status_page()
    assert info.value.retry_after == expected


@pytest.mark.parametrize(
    ("name", "ctype", "code", "text"),
    [
        (
            "asmx_fault_soap11.xml",
            XML,
            "soap:Client",
            "System.Web.Services.Protocols.SoapException: Server was",
        ),
        (
            "asmx_fault_soap12.xml",
            "application/soap+xml; charset=utf-8",
            "soap:Receiver",
            "Server was unable",
        ),
    ],
)
async def test_http_500_with_a_fault_is_a_soap_fault(
    loopback: LoopbackServer, make_client: MakeClient, name: str, ctype: str, code: str, text: str
) -> None:
    loopback.reply(Reply(500, (DATA / name).read_bytes(), {"Content-Type": ctype}))
    with pytest.raises(SoapFault) as info:
        await make_client().status_page()
    assert (info.value.faultcode, info.value.http_status) == (code, 500)
    assert info.value.faultstring.startswith(text)
    assert "\n" not in str(info.value)


async def test_fault_echoing_the_password_is_redacted(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    fault = (DATA / "asmx_fault_soap11.xml").read_text().replace("(13, 81)", f"near '{PASSWORD}'")
    loopback.reply(Reply(500, fault.encode(), {"Content-Type": XML}))
    with pytest.raises(SoapFault) as info:
        await make_client().status_page()
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in info.value.faultstring
    assert PASSWORD not in repr(info.value.args)
    assert "near '***'" in str(info.value)


@pytest.mark.parametrize(
    ("status", "body"),
    [(503, b"Service Unavailable"), (500, b"<html><body>oops</body></html>"), (302, b""), (404, b"")],
)
async def test_other_statuses_without_a_fault(
    loopback: LoopbackServer, make_client: MakeClient, status: int, body: bytes
) -> None:
    loopback.reply(Reply(status, body, {"Content-Type": "text/html"}))
    with pytest.raises(ServiceError) as info:
        await make_client().status_page()
    assert type(info.value) is ServiceError
    assert str(info.value) == f"HTTP {status} from 127.0.0.1:{loopback.port}"


@pytest.mark.parametrize("ctype", ["text/html; charset=utf-8", "application/json", ""])
async def test_200_that_is_not_xml_names_the_content_type(
    loopback: LoopbackServer, make_client: MakeClient, ctype: str
) -> None:
    headers = {"Content-Type": ctype} if ctype else {}
    loopback.reply(Reply(200, (DATA / "interfax_faxstatusex_empty.xml").read_bytes(), headers))
    with pytest.raises(ProtocolError) as info:
        await make_client().status_page()
    shown = repr(ctype.split(";")[0]) if ctype else "none"
    assert str(info.value) == f"127.0.0.1:{loopback.port} answered with content type {shown}, not XML"


async def test_malformed_and_truncated_xml(loopback: LoopbackServer, make_client: MakeClient) -> None:
    full = (DATA / "interfax_faxstatusex_full.xml").read_bytes()
    client = make_client()
    for body in (b"<soap:Envelope><oops", full[: len(full) // 2], b"not xml at all", b""):
        loopback.reply(ok(body))
        with pytest.raises(ProtocolError):
            await client.status_page()


async def test_valid_envelope_with_the_wrong_element(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    body = page_xml([]).replace(b"FaxStatusExResponse", b"FaxStatusResponse")
    loopback.reply(ok(body))
    with pytest.raises(
        ProtocolError, match="expected FaxStatusExResponse in the SOAP Body, got FaxStatusResponse"
    ):
        await make_client().status_page()


async def test_body_cut_off_by_the_server_is_a_dropped_connection(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    full = (DATA / "interfax_faxstatusex_full.xml").read_bytes()
    loopback.reply(ok(full[:500], content_length=len(full)))
    with pytest.raises(TransportError, match=f"127.0.0.1:{loopback.port}: connection dropped"):
        await make_client().status_page()


@pytest.mark.parametrize("chunked", [False, True])
async def test_body_over_the_cap_stops_reading(
    loopback: LoopbackServer, make_client: MakeClient, chunked: bool
) -> None:
    items = [item_xml(9000 + n) for n in range(20)]  # ~12 KB
    loopback.reply(ok(page_xml(items), chunked=chunked))
    with pytest.raises(ProtocolError, match=r"^response larger than 4096 bytes$"):
        await make_client(max_bytes=4096).status_page()
    loopback.reply(ok(page_xml(items[:1]), chunked=chunked))
    assert len((await make_client(max_bytes=4096).status_page()).jobs) == 1


async def test_compressed_body_is_capped_after_decompression(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    bomb = gzip.compress(page_xml([]).replace(b"<TotalCount>", b"<TotalCount>" + b"0" * 4_000_000))
    assert len(bomb) < 16_000
    loopback.reply(Reply(200, bomb, {"Content-Type": XML, "Content-Encoding": "gzip"}))
    with pytest.raises(ProtocolError, match=r"^response larger than 1 MiB$"):
        await make_client(max_bytes=1024 * 1024).status_page()


async def test_default_cap_is_stated_in_mib(loopback: LoopbackServer, make_client: MakeClient) -> None:
    loopback.reply(ok(b"x", content_length=17 * 1024 * 1024))
    with pytest.raises(ProtocolError, match=r"^response larger than 16 MiB$"):
        await make_client().status_page()


# --- transport errors ------------------------------------------------------------------------------


async def test_connection_refused(make_client: MakeClient, closed_port: int) -> None:
    with pytest.raises(TransportError) as info:
        await make_client(f"http://127.0.0.1:{closed_port}/dfs.asmx").status_page()
    assert str(info.value) == f"127.0.0.1:{closed_port}: connection refused"


async def test_timeout(loopback: LoopbackServer, make_client: MakeClient) -> None:
    loopback.reply(ok(page_xml([]), delay=0.8))
    with pytest.raises(TransportError) as info:
        await make_client(timeout=0.2).status_page()
    assert str(info.value) == f"127.0.0.1:{loopback.port}: timed out after 0.2 s"


async def test_connection_closed_without_an_answer(loopback: LoopbackServer, make_client: MakeClient) -> None:
    loopback.reply(Reply(drop=True))
    with pytest.raises(TransportError, match="connection dropped"):
        await make_client().status_page()


async def test_tls_is_verified_and_failures_named(loopback: LoopbackServer, make_client: MakeClient) -> None:
    # The loopback speaks plain HTTP: a TLS handshake with it fails, and says so.
    with pytest.raises(TransportError) as info:
        await make_client(f"https://127.0.0.1:{loopback.port}/dfs.asmx").status_page()
    assert str(info.value) == f"127.0.0.1:{loopback.port}: TLS error"


def test_dns_failure_is_named() -> None:
    err = httpx.ConnectError("[Errno -2] Name or service not known")
    err.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert transport_kind(err) == "DNS failure"
    assert transport_kind(httpx.ReadTimeout("read")) == "timed out"


# --- hostile XML ---------------------------------------------------------------------------------


async def test_billion_laughs_is_rejected(loopback: LoopbackServer, make_client: MakeClient) -> None:
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY l0 "lol">{lol}]>'.encode()
        + page_xml([]).split(b"?>", 1)[1]
    )
    body = body.replace(b"<TotalCount>0", b"<TotalCount>&l9;0")
    loopback.reply(ok(body))
    with pytest.raises(ProtocolError):
        await make_client().status_page()


@pytest.mark.parametrize("status", [200, 500])
async def test_external_entity_file_is_never_read(
    loopback: LoopbackServer, make_client: MakeClient, tmp_path: Path, status: int
) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("ROOT-SECRET-LINE")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file://{secret}">]>'
        f'<soap:Envelope xmlns:soap="{SOAP11_NS}"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode>'
        f"<faultstring>&x;</faultstring></soap:Fault></soap:Body></soap:Envelope>"
    ).encode()
    loopback.reply(Reply(status, body, {"Content-Type": XML}))
    with pytest.raises((ProtocolError, ServiceError)) as info:
        await make_client().status_page()
    assert not isinstance(info.value, SoapFault)
    assert "ROOT-SECRET" not in str(info.value)
    assert "ROOT-SECRET" not in repr(info.value.args)


# --- paging ---------------------------------------------------------------------------------------


def history_server(ids: list[int], honour_last_id: bool = True) -> Callable[[Recorded], Reply]:
    """Answers FaxStatusEx like InterFax: ids below LastTransactionID, newest first, MaxItems of them."""

    def handle(req: Recorded) -> Reply:
        fields = dict(sent_fields(req)[1])
        last, max_items = int(fields["LastTransactionID"]), int(fields["MaxItems"])
        below = sorted((i for i in ids if i < last or not honour_last_id), reverse=True)[:max_items]
        return ok(page_xml([item_xml(i) for i in below], total=len(ids)))

    return handle


async def test_recent_pages_backwards_to_250_unique_jobs(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    ids = list(range(1000, 1250))
    loopback.handle(history_server(ids))
    result = await make_client().recent(depth=3)
    sent = [dict(sent_fields(r)[1])["LastTransactionID"] for r in loopback.requests]
    assert sent == ["2147483647", "1150", "1050"]
    assert result.calls == 3
    assert [j.job_id for j in result.jobs] == [str(i) for i in reversed(ids)]
    assert result.total_count == 250


async def test_recent_stops_at_a_short_page_or_at_depth(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.handle(history_server(list(range(1000, 1250))))
    client = make_client()
    deep = await client.recent(depth=10)
    assert (deep.calls, len(deep.jobs)) == (3, 250)
    shallow = await client.recent(depth=2, max_items=40)
    assert (shallow.calls, len(shallow.jobs)) == (2, 80)
    assert shallow.jobs[-1].job_id == "1170"


async def test_recent_stops_when_the_server_ignores_last_transaction_id(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.handle(history_server(list(range(1000, 1250)), honour_last_id=False))
    result = await make_client().recent(depth=5)
    assert result.calls == 2
    assert len(result.jobs) == 100


async def test_recent_of_an_empty_account(loopback: LoopbackServer, make_client: MakeClient) -> None:
    loopback.handle(history_server([]))
    result = await make_client().recent(depth=3)
    assert (result.calls, result.jobs, result.total_count) == (1, [], 0)


async def test_lookup_asks_for_id_plus_one_and_checks_the_answer(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.handle(history_server([1000, 1001, 1003]))
    client = make_client()
    job = await client.lookup(1001)
    assert job is not None and job.job_id == "1001"
    assert dict(sent_fields(loopback.requests[0])[1]) | {"Password": ""} == {
        "Username": "ops",
        "Password": "",
        "LastTransactionID": "1002",
        "MaxItems": "1",
        "TotalCount": "0",
        "ListSize": "0",
        "ResultCode": "0",
    }
    assert await client.lookup(1002) is None  # the server answers with 1001, which is not it
    assert await client.lookup(999) is None


async def test_a_repeated_page_gives_the_same_jobs_and_any_changed_byte_is_read_anew(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    client = make_client()
    sending = page_xml([item_xml(101, status=-2), item_xml(100, status=0)], total=2)
    delivered = page_xml([item_xml(101, status=0), item_xml(100, status=0)], total=2)
    loopback.reply(ok(sending), ok(sending), ok(delivered), Reply(503, sending, {"Content-Type": XML}))
    first = await client.status_page()
    kept = list(first.jobs)
    first.jobs.clear()  # what a caller does with its page cannot reach the next one
    again = await client.status_page()
    assert again.jobs == kept and [j.status_code for j in again.jobs] == [-2, 0]
    changed = await client.status_page()
    assert [(j.job_id, j.status_code, j.state) for j in changed.jobs] == [
        ("101", 0, JobState.DELIVERED), ("100", 0, JobState.DELIVERED)]
    with pytest.raises(ServiceError, match="HTTP 503"):  # the same bytes as before, but an error status
        await client.status_page()


async def test_a_repeated_page_with_a_bad_item_says_so_every_time(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    bad = page_xml([item_xml(101).replace("<Status>0</Status>", "<Status>zero</Status>"), item_xml(100)])
    loopback.reply(ok(bad))
    client = make_client()
    for _ in range(2):
        page = await client.status_page()
        assert [j.job_id for j in page.jobs] == ["100"]
        assert page.warnings == ("1 of 2 items on a page left out: FaxItemEx 101: Status is not an int",)


async def test_pages_kept_for_reuse_are_only_those_of_the_last_two_polls(
    loopback: LoopbackServer, make_client: MakeClient
) -> None:
    loopback.reply(ok(page_xml([item_xml(101)], total=1)))
    client = make_client()
    await client.status_page()  # a poll: the first page, then two deeper ones
    await client.status_page(101, 100)
    await client.status_page(95, 100)
    assert len(client._pages) == 3
    await client.status_page()  # the next polls ask only for the first page
    await client.status_page()
    assert len(client._pages) == 1
