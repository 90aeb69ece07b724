"""SOAP 1.1 / 1.2 envelopes, one hardened XML parser, and SOAP Faults turned into `SoapFault`.

Responses are read by namespace URI, never by prefix. The parser resolves no entities, loads
no DTD, touches no network and refuses huge trees; callers also cap the body size before it
gets here (`MAX_RESPONSE_BYTES`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from lxml import etree

from faxtui.errors import ProtocolError, SoapFault

SoapVersion = Literal["1.1", "1.2"]

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
ENVELOPE_NS: dict[SoapVersion, str] = {"1.1": SOAP11_NS, "1.2": SOAP12_NS}
CONTENT_TYPE: dict[SoapVersion, str] = {
    "1.1": "text/xml; charset=utf-8",
    "1.2": "application/soap+xml; charset=utf-8",
}
XSI_NIL = f"{{{XSI_NS}}}nil"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""Largest body a client reads: a 100-item FaxStatusEx page is ~100 KB."""


def hardened_parser() -> etree.XMLParser:
    """A parser that cannot be turned against the machine: no entities, DTDs, network, huge trees."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


_PARSER = hardened_parser()


def parse_xml(body: bytes) -> etree._Element:
    """Parse bytes with the hardened parser; anything unusual becomes a `ProtocolError`.

    A document with a DOCTYPE is refused outright: SOAP forbids one (SOAP 1.1 §3, SOAP 1.2
    part 1 §5), and refusing it closes the door on entity expansion of every kind.
    """
    if not body.strip():
        raise ProtocolError("empty response body")
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ProtocolError(f"malformed XML in response ({exc.msg})") from None
    except ValueError as exc:
        raise ProtocolError(f"unreadable XML in response ({exc})") from None
    if root.getroottree().docinfo.doctype:  # type: ignore[union-attr]
        raise ProtocolError("response carries a DOCTYPE, which SOAP forbids; refused")
    return root


def qname(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Anything outside XML 1.0's `Char` production: control characters, lone surrogates, U+FFFE/F."""
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
NOT_XML_TEXT = "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"


def xml_text(value: str) -> str:
    """`value` escaped as element content, exactly as lxml writes it (`\r` kept as `&#13;`).
    A character XML cannot carry raises ValueError, as lxml does."""
    if _NOT_XML_CHAR.search(value):
        raise ValueError(NOT_XML_TEXT)
    if "&" in value or "<" in value or ">" in value or "\r" in value:
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return value


_NAMES_SEEN: set[str] = set()


def _checked_name(name: str) -> str:
    if name not in _NAMES_SEEN:  # the same few names, request after request
        if not _NAME.fullmatch(name):
            raise ValueError(f"Invalid tag name {name!r}")
        if len(_NAMES_SEEN) < 1024:
            _NAMES_SEEN.add(name)
    return name


def build_envelope(
    version: SoapVersion,
    operation_ns: str,
    operation: str,
    children: Iterable[tuple[str, str | list[tuple[str, object]]]],
) -> bytes:
    """A request envelope whose Body holds `<operation xmlns=operation_ns>` with `children`.

    `children` is an ordered list of (name, value): a string value becomes text, a list value
    becomes nested elements (recursively), so WSDL order is exactly the order given. Written as
    text (a 100-id Concord request is built in ~0.1 ms, against ~0.5 ms through an lxml tree),
    byte for byte what serialising the same tree with lxml gives.
    """
    env = "soap" if version == "1.1" else "soap12"
    op = _checked_name(operation)
    parts = [
        f"<?xml version='1.0' encoding='utf-8'?>\n<{env}:Envelope xmlns:xsi=\"{XSI_NS}\" "
        f'xmlns:xsd="{XSD_NS}" xmlns:{env}="{ENVELOPE_NS[version]}"><{env}:Body>'
        f'<{op} xmlns="{xml_attribute(operation_ns)}">'
    ]

    def add(items: Iterable[tuple[str, object]]) -> None:
        for name, value in items:
            tag = _checked_name(name)
            if isinstance(value, list):
                if value:
                    parts.append(f"<{tag}>")
                    add(value)
                    parts.append(f"</{tag}>")
                else:
                    parts.append(f"<{tag}/>")
            else:
                parts.append(f"<{tag}>{xml_text('' if value is None else str(value))}</{tag}>")

    add(children)
    parts.append(f"</{op}></{env}:Body></{env}:Envelope>")
    return "".join(parts).encode("utf-8")


def xml_attribute(value: str) -> str:
    """`value` escaped for a double-quoted attribute, as lxml writes it."""
    return (xml_text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;"))


def request_headers(version: SoapVersion, soap_action: str) -> dict[str, str]:
    """HTTP headers for a SOAP request: SOAPAction for 1.1, the action parameter for 1.2."""
    if version == "1.1":
        return {"Content-Type": CONTENT_TYPE["1.1"], "SOAPAction": f'"{soap_action}"'}
    ctype = CONTENT_TYPE["1.2"]
    if soap_action:
        ctype += f'; action="{soap_action}"'
    return {"Content-Type": ctype}


def envelope_body(root: etree._Element) -> tuple[SoapVersion, etree._Element]:
    """The SOAP version and the Body element of a parsed envelope."""
    for version, ns in ENVELOPE_NS.items():
        if root.tag == qname(ns, "Envelope"):
            body = root.find(qname(ns, "Body"))
            if body is None:
                raise ProtocolError("SOAP envelope has no Body")
            return version, body
    raise ProtocolError(f"response is not a SOAP envelope (root element {local_name(root)!r})")


def local_name(el: etree._Element) -> str:
    return str(el.tag).rsplit("}", 1)[-1]


def _local_child(parent: etree._Element | None, name: str) -> etree._Element | None:
    """The first child named `name` unqualified, else in any namespace.

    SOAP 1.1 leaves `faultcode`/`faultstring` unqualified and 1.2 puts `Code`/`Reason` in the
    envelope namespace, but servers get both wrong (a prefixed `<soap:faultcode>` is common):
    a fault's text is worth more than the letter of the spec."""
    if parent is None:
        return None
    found = parent.find(name)
    if found is not None:
        return found
    return next((el for el in parent.iterchildren() if isinstance(el.tag, str) and local_name(el) == name),
                None)


def _local_text(parent: etree._Element | None, *path: str) -> str:
    for name in path:
        parent = _local_child(parent, name)
    return "" if parent is None else "".join(map(str, parent.itertext()))


def _fault_from(version: SoapVersion, fault: etree._Element, http_status: int | None) -> SoapFault:
    # Either version's names are accepted in either envelope: some servers mix them.
    code = _local_text(fault, "faultcode") or _local_text(fault, "Code", "Value")
    text = _local_text(fault, "faultstring")
    reason = _local_child(fault, "Reason")
    if not text and reason is not None:
        texts = [el for el in reason.iterchildren() if isinstance(el.tag, str) and local_name(el) == "Text"]
        english = [t for t in texts if (t.get(XML_LANG) or "").startswith("en")]
        chosen = english or texts
        text = "".join(map(str, chosen[0].itertext())) if chosen else ""
    return SoapFault(code.strip(), text.strip(), http_status)


def parse_response(
    body: bytes, operation_ns: str, response_element: str, http_status: int | None = None
) -> tuple[SoapVersion, etree._Element]:
    """Parse a SOAP response and return its version and the `{operation_ns}response_element`.

    A Fault raises `SoapFault`; any other shape raises `ProtocolError`.
    """
    root = parse_xml(body)
    version, body_el = envelope_body(root)
    env_ns = ENVELOPE_NS[version]
    fault = body_el.find(qname(env_ns, "Fault"))
    if fault is not None:
        raise _fault_from(version, fault, http_status)
    result = body_el.find(qname(operation_ns, response_element))
    if result is None:
        first = next((el for el in body_el.iterchildren() if isinstance(el.tag, str)), None)
        found = local_name(first) if first is not None else "nothing"
        ns = etree.QName(first).namespace if first is not None else operation_ns
        if ns != operation_ns:  # the right name in the wrong namespace is otherwise a puzzle
            where = f"namespace {ns!r}" if ns else "no namespace"
            found = f"{found} in {where} (expected namespace {operation_ns!r})"
        raise ProtocolError(f"expected {response_element} in the SOAP Body, got {found}")
    return version, result


def is_nil(el: etree._Element) -> bool:
    return (el.get(XSI_NIL) or "").strip() in ("true", "1")


def fault_envelope(version: SoapVersion, code: str, text: str) -> bytes:
    """A Fault envelope (used by the simulator and by tests to answer like a real server)."""
    env_ns = ENVELOPE_NS[version]
    prefix = "soap" if version == "1.1" else "soap12"
    envelope = etree.Element(qname(env_ns, "Envelope"), nsmap={prefix: env_ns})
    body = etree.SubElement(envelope, qname(env_ns, "Body"))
    fault = etree.SubElement(body, qname(env_ns, "Fault"))
    if version == "1.1":
        etree.SubElement(fault, "faultcode").text = f"{prefix}:{code}"
        etree.SubElement(fault, "faultstring").text = text
        etree.SubElement(fault, "detail")
    else:
        code_el = etree.SubElement(fault, qname(env_ns, "Code"))
        etree.SubElement(code_el, qname(env_ns, "Value")).text = f"{prefix}:{code}"
        reason = etree.SubElement(fault, qname(env_ns, "Reason"))
        txt = etree.SubElement(reason, qname(env_ns, "Text"))
        txt.set(XML_LANG, "en")
        txt.text = text
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))
