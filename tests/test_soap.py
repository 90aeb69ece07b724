"""faxtui.services.soap: envelopes as the vendors' help pages show them, the hardened parser, faults."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from faxtui.errors import ProtocolError, SoapFault
from faxtui.services.soap import (
    SOAP11_NS,
    SOAP12_NS,
    build_envelope,
    fault_envelope,
    is_nil,
    parse_response,
    parse_xml,
    request_headers,
)

DATA = Path(__file__).parent / "data"
IFX = "http://www.interfax.cc"


def _children(el: etree._Element) -> list[str]:
    return [str(c.tag) for c in el]


@pytest.mark.parametrize(("version", "env_ns"), [("1.1", SOAP11_NS), ("1.2", SOAP12_NS)])
def test_build_envelope_keeps_order_and_qualifies_every_element(version: str, env_ns: str) -> None:
    body = build_envelope(
        version,  # type: ignore[arg-type]
        IFX,
        "FaxStatusEx",
        [("Username", "u"), ("Password", "p"), ("Nested", [("item", [("JobId", "1")]), ("item", [])])],
    )
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = etree.fromstring(body)
    assert root.tag == f"{{{env_ns}}}Envelope"
    op = root.find(f"{{{env_ns}}}Body/{{{IFX}}}FaxStatusEx")
    assert op is not None
    assert _children(op) == [f"{{{IFX}}}Username", f"{{{IFX}}}Password", f"{{{IFX}}}Nested"]
    nested = op.find(f"{{{IFX}}}Nested")
    assert nested is not None
    assert [c.findtext(f"{{{IFX}}}JobId") for c in nested] == ["1", None]
    # The operation carries the vendor's default namespace declaration, as on the help page.
    assert b'<FaxStatusEx xmlns="http://www.interfax.cc">' in body


def test_build_envelope_escapes_text() -> None:
    body = build_envelope("1.1", IFX, "Op", [("Password", "<a&b>\"'")])
    assert b"&lt;a&amp;b&gt;" in body
    op = etree.fromstring(body).find(f"{{{SOAP11_NS}}}Body/{{{IFX}}}Op")
    assert op is not None and op.findtext(f"{{{IFX}}}Password") == "<a&b>\"'"


def test_request_headers_per_version() -> None:
    assert request_headers("1.1", "http://www.interfax.cc/FaxStatusEx") == {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": '"http://www.interfax.cc/FaxStatusEx"',
    }
    assert request_headers("1.2", "http://www.interfax.cc/FaxStatusEx") == {
        "Content-Type": 'application/soap+xml; charset=utf-8; action="http://www.interfax.cc/FaxStatusEx"'
    }
    assert request_headers("1.1", "") == {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    assert request_headers("1.2", "") == {"Content-Type": "application/soap+xml; charset=utf-8"}


@pytest.mark.parametrize(
    ("name", "version"),
    [("interfax_faxstatusex_full.xml", "1.1"), ("interfax_faxstatusex_full_soap12.xml", "1.2")],
)
def test_parse_response_finds_the_element_by_namespace(name: str, version: str) -> None:
    found_version, el = parse_response((DATA / name).read_bytes(), IFX, "FaxStatusExResponse")
    assert found_version == version
    assert el.findtext(f"{{{IFX}}}TotalCount") == "1742"


def test_parse_response_wrong_element_is_a_protocol_error() -> None:
    body = (DATA / "interfax_faxstatusex_full.xml").read_bytes()
    expected = "expected FaxStatusResponse in the SOAP Body, got FaxStatusExResponse"
    with pytest.raises(ProtocolError, match=expected):
        parse_response(body, IFX, "FaxStatusResponse")
    with pytest.raises(ProtocolError) as info:
        parse_response(body, "urn:other", "FaxStatusExResponse")
    assert str(info.value) == (
        "expected FaxStatusExResponse in the SOAP Body, got FaxStatusExResponse in namespace "
        "'http://www.interfax.cc' (expected namespace 'urn:other')"
    )


@pytest.mark.parametrize(
    ("fault", "code", "text"),
    [
        # SOAP 1.1 children qualified, as some servers write them
        (f'<soap:Fault xmlns:soap="{SOAP11_NS}"><soap:faultcode>soap:Server</soap:faultcode>'
         "<soap:faultstring>Database is down</soap:faultstring></soap:Fault>",
         "soap:Server", "Database is down"),
        (f'<soap:Fault xmlns:soap="{SOAP11_NS}"><x:faultcode xmlns:x="urn:x">Client</x:faultcode>'
         "<x:faultstring xmlns:x=\"urn:x\">Bad <b>input</b></x:faultstring></soap:Fault>",
         "Client", "Bad input"),
        # SOAP 1.2 names inside a 1.1 envelope, unqualified
        (f'<soap:Fault xmlns:soap="{SOAP11_NS}"><Code><Value>Receiver</Value></Code>'
         '<Reason><Text xml:lang="en">Try later</Text></Reason></soap:Fault>', "Receiver", "Try later"),
    ],
)
def test_a_fault_keeps_its_code_and_text_however_its_children_are_qualified(
    fault: str, code: str, text: str
) -> None:
    body = f'<soap:Envelope xmlns:soap="{SOAP11_NS}"><soap:Body>{fault}</soap:Body></soap:Envelope>'.encode()
    with pytest.raises(SoapFault) as info:
        parse_response(body, IFX, "FaxStatusExResponse", http_status=500)
    assert (info.value.faultcode, info.value.faultstring) == (code, text)
    assert str(info.value) == f"SOAP fault {code} (HTTP 500): {text}"


def test_parse_response_soap11_fault() -> None:
    with pytest.raises(SoapFault) as info:
        parse_response((DATA / "asmx_fault_soap11.xml").read_bytes(), IFX, "X", http_status=500)
    fault = info.value
    assert fault.faultcode == "soap:Client"
    assert fault.faultstring.startswith("System.Web.Services.Protocols.SoapException: Server was unable")
    assert "\n" not in str(fault)
    assert fault.http_status == 500


def test_parse_response_soap12_fault_prefers_english_reason() -> None:
    with pytest.raises(SoapFault) as info:
        parse_response((DATA / "asmx_fault_soap12.xml").read_bytes(), IFX, "X", http_status=500)
    assert info.value.faultcode == "soap:Receiver"
    assert info.value.faultstring.startswith("Server was unable to process request.")


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_fault_envelope_round_trips(version: str) -> None:
    body = fault_envelope(version, "Server", "boom")  # type: ignore[arg-type]
    with pytest.raises(SoapFault) as info:
        parse_response(body, IFX, "X")
    prefix = "soap" if version == "1.1" else "soap12"
    assert (info.value.faultcode, info.value.faultstring) == (f"{prefix}:Server", "boom")


def test_doctype_is_refused_even_without_entities() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE Envelope><Envelope xmlns="' + SOAP11_NS.encode() + b'"/>'
    with pytest.raises(ProtocolError, match="DOCTYPE"):
        parse_xml(body)


def test_billion_laughs_is_refused_quickly() -> None:
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    body = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{lol}]><r>&l9;</r>'.encode()
    with pytest.raises(ProtocolError):
        parse_xml(body)


def test_external_entity_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        f'<soap:Envelope xmlns:soap="{SOAP11_NS}"><soap:Body><r>&x;</r></soap:Body></soap:Envelope>'
    ).encode()
    with pytest.raises(ProtocolError) as info:
        parse_response(body, IFX, "r")
    assert "TOP-SECRET" not in str(info.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty response body"),
        (b"   \n", "empty response body"),
        (b"<soap:Envelope xmlns:soap='" + SOAP11_NS.encode() + b"'><soap:Body>", "malformed XML"),
        (b"<html><body>Service Unavailable</body></html>", "not a SOAP envelope"),
        (b"<soap:Envelope xmlns:soap='" + SOAP11_NS.encode() + b"'/>", "has no Body"),
    ],
)
def test_unusable_bodies_are_protocol_errors(body: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_response(body, IFX, "FaxStatusExResponse")


def test_is_nil() -> None:
    root = etree.fromstring(
        b'<r xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        b'<item xsi:nil="true"/><item xsi:nil="1"/><item xsi:nil="false"/><item/></r>'
    )
    assert [is_nil(el) for el in root] == [True, True, False, False]


def _tree_envelope(version: str, ns: str, operation: str, children: list[tuple[str, object]]) -> bytes:
    """The same envelope built as an lxml tree and serialised: the reference the text builder matches."""
    env_ns = SOAP11_NS if version == "1.1" else SOAP12_NS
    prefix = "soap" if version == "1.1" else "soap12"
    envelope = etree.Element(f"{{{env_ns}}}Envelope", nsmap={
        "xsi": "http://www.w3.org/2001/XMLSchema-instance", "xsd": "http://www.w3.org/2001/XMLSchema",
        prefix: env_ns})
    body = etree.SubElement(envelope, f"{{{env_ns}}}Body")
    op = etree.SubElement(body, f"{{{ns}}}{operation}", nsmap={None: ns})  # type: ignore[dict-item]

    def add(parent: etree._Element, items: list[tuple[str, object]]) -> None:
        for name, value in items:
            child = etree.SubElement(parent, f"{{{ns}}}{name}")
            if isinstance(value, list):
                add(child, value)
            else:
                child.text = "" if value is None else str(value)

    add(op, children)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


_xml_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff\x00").filter(
    lambda c: c in "\t\n\r" or c >= " ")


@settings(max_examples=200, deadline=None)
@given(
    version=st.sampled_from(["1.1", "1.2"]),
    user=st.text(_xml_chars, max_size=30),
    ids=st.lists(st.text(_xml_chars, max_size=20), max_size=5),
    number=st.one_of(st.none(), st.integers()),
)
def test_text_built_envelope_is_byte_for_byte_what_lxml_writes(
    version: str, user: str, ids: list[str], number: int | None
) -> None:
    children: list[tuple[str, object]] = [
        ("UserID", user), ("strPIN", ""), ("Count", number),
        ("FaxJobIds", [("item", [("JobId", job_id)]) for job_id in ids]),
    ]
    built = build_envelope(version, "urn:FaxWS", "GetRealTimeFaxStatusEx", children)  # type: ignore[arg-type]
    assert built == _tree_envelope(version, "urn:FaxWS", "GetRealTimeFaxStatusEx", children)


@pytest.mark.parametrize("bad", ["\x00", "a\x01b", "\x1f", "\ufffe", "\ud800"])
def test_envelope_refuses_text_xml_cannot_carry(bad: str) -> None:
    with pytest.raises(ValueError, match="XML compatible"):
        build_envelope("1.1", IFX, "Op", [("Password", bad)])


def test_envelope_refuses_a_bad_element_name() -> None:
    with pytest.raises(ValueError, match="Invalid tag name"):
        build_envelope("1.1", IFX, "Op", [("bad name", "x")])
