"""XML on the wire: reading SOAP requests (hardened parser) and writing answers as strings.

Responses are built by string concatenation, not a tree: a 100-item FaxStatusEx page is
~2,700 elements and has to be ready in well under 20 ms. Every text that did not come from a
constant goes through `esc`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree

from faxtui.soap import ENVELOPE_NS, SOAP11_NS, SOAP12_NS, SoapVersion, hardened_parser, is_nil, local_name

XML_DECL = '<?xml version="1.0" encoding="utf-8"?>'
XSI_XSD = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""InterFax's documented request size limit; the simulator applies it to both services."""

_local = threading.local()


def esc(text: str) -> str:
    return escape(text)


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
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = hardened_parser()
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
