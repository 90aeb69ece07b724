"""XML on the wire: reading SOAP requests (hardened parser) and writing answers as strings.

Responses are built by string concatenation, not a tree: a 100-item FaxStatusEx page is
~2,700 elements and has to be ready in well under 20 ms. Every text that did not come from a
constant goes through `esc`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Literal
from xml.sax.saxutils import escape

from lxml import etree

from faxtui.sim.protocol import ENVELOPE_NS, SOAP11_NS, SOAP12_NS, XSI_NS, SoapVersion

XML_DECL = '<?xml version="1.0" encoding="utf-8"?>'
XSI_XSD = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""InterFax's documented request size limit; the simulator applies it to both services."""

_local = threading.local()
_XSI_NIL = f"{{{XSI_NS}}}nil"

FaultStyle = Literal["plain", "qualified", "default_ns", "unqualified", "mixed"]
FAULT_STYLES: tuple[str, ...] = ("plain", "qualified", "default_ns", "unqualified", "mixed")


def esc(text: str) -> str:
    return escape(text)


def local_name(el: etree._Element) -> str:
    return str(el.tag).rsplit("}", 1)[-1]


def is_nil(el: etree._Element) -> bool:
    return (el.get(_XSI_NIL) or "").strip() in ("true", "1")


def fault_envelope(version: SoapVersion, code: str, text: str, style: FaultStyle = "plain",
                   prefix: str | None = None) -> bytes:
    """A SOAP Fault envelope; `code` is the local fault code (Client, Server, Sender, Receiver,
    VersionMismatch), written qualified with the envelope prefix.

    `style` is how the Fault's children are written (real stacks differ):
    "plain"       as the specs say: SOAP 1.1 faultcode/faultstring/detail unqualified (what ASMX
                  and gSOAP send); SOAP 1.2 Code/Value, Reason/Text, Detail in the envelope namespace
    "qualified"   SOAP 1.1 children prefixed with the envelope prefix (<soap:faultcode>); 1.2 as plain
    "default_ns"  <Fault xmlns="envelope ns"> with unprefixed children, which puts them in the
                  envelope namespace (SOAP 1.1: not what the spec says; 1.2: a legal spelling)
    "unqualified" SOAP 1.2 children in no namespace (<Code><Value>), breaking the 1.2 spec; 1.1 as plain
    "mixed"       the other version's element names: 1.1 faultcode/faultstring in a 1.2 envelope,
                  1.2 Code/Reason (in the envelope namespace) in a 1.1 envelope
    """
    env_ns = ENVELOPE_NS[version]
    p = prefix or ("soap" if version == "1.1" else "soap12")
    names = version if style != "mixed" else ("1.2" if version == "1.1" else "1.1")
    if style == "default_ns":
        open_fault, close_fault, q = f'<Fault xmlns="{env_ns}">', "</Fault>", ""
    else:
        open_fault, close_fault = f"<{p}:Fault>", f"</{p}:Fault>"
        if names == "1.1":
            q = f"{p}:" if style == "qualified" else ""
        else:
            q = "" if style == "unqualified" else f"{p}:"
    value = esc(f"{p}:{code}")
    if names == "1.1":
        inner = (f"<{q}faultcode>{value}</{q}faultcode><{q}faultstring>{esc(text)}</{q}faultstring>"
                 f"<{q}detail />")
    else:
        inner = (f"<{q}Code><{q}Value>{value}</{q}Value></{q}Code><{q}Reason>"
                 f'<{q}Text xml:lang="en">{esc(text)}</{q}Text></{q}Reason><{q}Detail />')
    return (f'{XML_DECL}<{p}:Envelope xmlns:{p}="{env_ns}" {XSI_XSD}><{p}:Body>'
            f"{open_fault}{inner}{close_fault}</{p}:Body></{p}:Envelope>").encode()


class SoapParseError(Exception):
    """The request body is not a SOAP envelope the server can read. The message is one line."""


@dataclass(slots=True)
class SoapRequest:
    version: SoapVersion
    operation: etree._Element

    @property
    def op_name(self) -> str:
        return local_name(self.operation)

    @property
    def op_ns(self) -> str:
        return etree.QName(self.operation).namespace or ""

    def child(self, name: str) -> etree._Element | None:
        """The operation's child `name`, in the operation's namespace."""
        return self.operation.find(f"{{{self.op_ns}}}{name}") if self.op_ns else self.operation.find(name)

    def text(self, name: str) -> str | None:
        el = self.child(name)
        if el is None:
            return None
        return el.text or ""


def _parser() -> etree.XMLParser:
    """One parser per thread that cannot be turned against the machine: no entities, DTDs,
    network or huge trees."""
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                 dtd_validation=False, huge_tree=False, remove_comments=True,
                                 remove_pis=True)
        _local.parser = parser
    return parser


def parse_soap(body: bytes) -> SoapRequest:
    """The SOAP version and the Body's first element; `SoapParseError` for anything else."""
    if not body.strip():
        raise SoapParseError("Root element is missing.")
    try:
        root = etree.fromstring(body, parser=_parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise SoapParseError(f"There is an error in XML document ({line}, {column}).") from None
    except ValueError:
        raise SoapParseError("There is an error in XML document (1, 1).") from None
    if root.getroottree().docinfo.doctype:  # type: ignore[union-attr]
        raise SoapParseError("DTD is prohibited in this XML document.")
    version: SoapVersion
    if root.tag == f"{{{SOAP11_NS}}}Envelope":
        version = "1.1"
    elif root.tag == f"{{{SOAP12_NS}}}Envelope":
        version = "1.2"
    else:
        raise SoapParseError(f"Root element {local_name(root)!s} is not a SOAP Envelope.")
    body_el = root.find(f"{{{ENVELOPE_NS[version]}}}Body")
    if body_el is None:
        raise SoapParseError("The SOAP Envelope has no Body.")
    operation = next((el for el in body_el if isinstance(el.tag, str)), None)
    if operation is None:
        raise SoapParseError("The SOAP Body is empty.")
    return SoapRequest(version, operation)


def items_of(parent: etree._Element | None, ns: str, item: str, field: str) -> list[str]:
    """Texts of `parent/item/field`, skipping xsi:nil items (Concord arrays)."""
    if parent is None:
        return []
    out: list[str] = []
    for el in parent.findall(f"{{{ns}}}{item}"):
        if is_nil(el):
            continue
        value = el.find(f"{{{ns}}}{field}")
        out.append((value.text or "").strip() if value is not None else "")
    return out


def utc_text(ts: float) -> str:
    """YYYY-MM-DDTHH:MM:SS of a POSIX time, in UTC, without an offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))


def offset_text(ts: float, offset_minutes: int) -> str:
    """YYYY-MM-DDTHH:MM:SS±HH:MM in the given fixed offset (Concord's D6 format)."""
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{utc_text(ts + offset_minutes * 60)}{sign}{hours:02d}:{minutes:02d}"
