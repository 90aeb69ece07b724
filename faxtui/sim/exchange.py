"""One HTTP request as the simulator's services see it, and the reply they hand back.

The HTTP layer (server.py) only moves bytes; everything a service decides is in a `Reply`,
including misbehaviour the fault injector asks for (`action`, `delay`).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Literal

Action = Literal["send", "drop", "drop_mid"]


@dataclass(slots=True)
class HttpRequest:
    method: str
    path: str
    query: str
    headers: Message
    body: bytes
    client_host: str

    @property
    def media_type(self) -> str:
        """The Content-Type's media type, lower case; "" when the header is missing."""
        if self.headers.get("Content-Type") is None:
            return ""
        return self.headers.get_content_type()

    def content_param(self, name: str) -> str | None:
        value = self.headers.get_param(name)
        return value if isinstance(value, str) else None


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    action: Action = "send"


def json_reply(status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    body = json.dumps(data, indent=None, separators=(",", ":")).encode()
    return Reply(status, body, "application/json; charset=utf-8", list(headers or []))


def text_reply(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Reply:
    return Reply(status, text.encode(), content_type)


def html_page(status: int, title: str, message: str) -> Reply:
    """A plain HTML page, as proxies, load balancers and login walls answer."""
    title, message = html.escape(title), html.escape(message)
    body = (
        f"<!DOCTYPE html>\n<html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{message}</p></body></html>\n"
    )
    return text_reply(status, body, "text/html; charset=utf-8")
