"""Routing: which service answers a request, and how an active fault bends the answer.

Faults that stand in front of the service (HTTP errors, drops, a login page) are applied
before it sees the request, so those calls do not count against InterFax's rate limit; faults
that spoil an answer (truncated, malformed, wrong element, ResultCode, return=false, a drop
half-way through the body) are applied to the answer the service gave.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from importlib import resources
from urllib.parse import parse_qs

from faxtui.sim import concord as concord_mod
from faxtui.sim import interfax as interfax_mod
from faxtui.sim.concord import ConcordCall, ConcordService
from faxtui.sim.control import Control
from faxtui.sim.exchange import HttpRequest, Reply, html_page, json_reply, text_reply
from faxtui.sim.faults import FaultRule, FaultSet
from faxtui.sim.interfax import InterfaxCall, InterfaxService
from faxtui.sim.protocol import SoapVersion
from faxtui.sim.stats import Stats
from faxtui.sim.tokens import TokenRequest, TokenService
from faxtui.sim.world import World

INTERFAX_PATH = "/dfs.asmx"
CONCORD_PATH = "/fax/v5"
CONCORD_WSDL_PATH = "/fax/v5/faxws.wsdl"
TOKEN_PATH = "/v1/connect/token"  # noqa: S105 - a URL path, not a secret
CONTROL_PATH = "/_sim"
WSDL_CONTENT_TYPE = "text/xml; charset=utf-8"
LOCATION = "{{LOCATION}}"

Call = InterfaxCall | ConcordCall | TokenRequest


def load_wsdl(name: str) -> str:
    return resources.files("faxtui.sim").joinpath("wsdl", name).read_text(encoding="utf-8")


def _version_of(call: Call | Reply, request: HttpRequest) -> SoapVersion:
    if isinstance(call, InterfaxCall | ConcordCall):
        return call.version
    return "1.2" if request.media_type == "application/soap+xml" else "1.1"


class SimApp:
    """Turns one `HttpRequest` into one `Reply`. Thread-safe: every part locks what it shares."""

    def __init__(self, world: World, faults: FaultSet, stats: Stats, base_url: Callable[[], str]) -> None:
        self.world = world
        self.faults = faults
        self.stats = stats
        self.base_url = base_url
        self.tokens = TokenService(world)
        self.interfax = InterfaxService(world, stats)
        self.concord = ConcordService(world, self.tokens)
        self.control = Control(world, faults, stats, base_url)
        self._wsdl = {"interfax": load_wsdl("interfax.wsdl"), "concord": load_wsdl("faxws.wsdl")}

    def handle(self, request: HttpRequest) -> Reply:
        path = request.path.rstrip("/").lower() or "/"
        if path == CONTROL_PATH or path.startswith(CONTROL_PATH + "/"):
            return self.control.handle(request)
        started = time.perf_counter()
        if path == INTERFAX_PATH:
            if request.method == "GET":
                return self._get_interfax(request)
            if request.method == "POST":
                return self._serve("interfax", request)
            return _not_allowed("GET, POST")
        if path in (CONCORD_PATH, CONCORD_WSDL_PATH):
            if request.method == "GET" and (path == CONCORD_WSDL_PATH or _asks_wsdl(request.query)):
                reply = self._wsdl_reply("concord", CONCORD_PATH)
            elif request.method == "POST" and path == CONCORD_PATH:
                reply = self._serve("concord", request)
            else:
                reply = _not_allowed("POST" if path == CONCORD_PATH else "GET")
            return self._tracked(reply, started)
        if path == TOKEN_PATH:
            reply = self._serve("token", request) if request.method == "POST" else _not_allowed("POST")
            return self._tracked(reply, started)
        return text_reply(404, f"Not found: {request.path[:200]}\n")

    # --- fixed answers ------------------------------------------------------------------

    def _get_interfax(self, request: HttpRequest) -> Reply:
        if _asks_wsdl(request.query):
            return self._wsdl_reply("interfax", INTERFAX_PATH)
        return html_page(200, "InterFax", "The following operations are supported: FaxStatusEx. "
                                          "For a formal definition, please review the Service Description "
                                          "(dfs.asmx?WSDL).")

    def _wsdl_reply(self, service: str, path: str) -> Reply:
        text = self._wsdl[service].replace(LOCATION, self.base_url() + path)
        return Reply(200, text.encode(), WSDL_CONTENT_TYPE)

    @staticmethod
    def _tracked(reply: Reply, started: float) -> Reply:
        """Concord's tracking headers, on every answer of its host (faults included)."""
        elapsed_ms = (time.perf_counter() - started) * 1000
        reply.headers.append(("x-ch-activity-id", str(uuid.uuid4())))
        reply.headers.append(("x-ch-execution-time", str(round(elapsed_ms))))
        return reply

    # --- service calls with faults ------------------------------------------------------

    def _read(self, service: str, request: HttpRequest) -> tuple[Call | Reply, str | None, str]:
        """The parsed call (or the service's own error reply), the account it names, the operation."""
        if service == "interfax":
            ifx = self.interfax.read(request)
            if isinstance(ifx, Reply):
                return ifx, None, "unreadable"
            return ifx, ifx.username, interfax_mod.OPERATION
        if service == "concord":
            ccd = self.concord.read(request)
            if isinstance(ccd, Reply):
                return ccd, None, "unreadable"
            return ccd, ccd.user_id, concord_mod.OPERATION
        tok = self.tokens.read(request)
        if isinstance(tok, Reply):
            return tok, None, "unreadable"
        return tok, tok.client_id, "token"

    def _answer(self, call: Call | Reply) -> Reply:
        if isinstance(call, Reply):
            return call
        if isinstance(call, InterfaxCall):
            return self.interfax.answer(call)
        if isinstance(call, ConcordCall):
            return self.concord.answer(call)
        return self.tokens.answer(call)

    def _serve(self, service: str, request: HttpRequest) -> Reply:
        call, account, operation = self._read(service, request)
        self.stats.request(service, account, operation)
        rule = self.faults.pick(service, account)
        if rule is None:
            return self._answer(call)
        self.stats.fault(rule.kind)
        if rule.kind == "slow" and rule.value:
            # The service takes the call (and counts it against the rate limit) on arrival; only
            # its answer is late. Counting it after the wait would put a call the client stamped
            # long ago into the service's current window, a lateness no client can see coming.
            reply = self._answer(call)
            time.sleep(rule.value)
            return reply
        early = self._front_fault(service, rule, _version_of(call, request))
        if early is not None:
            return early
        return self._spoil(service, rule, call, self._answer(call))

    def _front_fault(self, service: str, rule: FaultRule, version: SoapVersion) -> Reply | None:
        """Faults a proxy or a failing server gives before the service sees the request."""
        kind, value = rule.kind, rule.value
        if kind == "http500":
            if service == "interfax":
                return interfax_mod.server_fault(version, style=self.world.options.soap_fault_style)
            if service == "concord":
                return self.concord.fault(version, False, "Simulated server failure")
            return json_reply(500, {"error": "server_error"})
        if kind == "http502":
            return html_page(502, "502 Bad Gateway", "The proxy server received an invalid response from an "
                                                     "upstream server.")
        if kind == "http503":
            reply = html_page(503, "503 Service Unavailable", "The service is temporarily unavailable.")
            if value is not None:
                reply.headers.append(("Retry-After", str(int(value))))
            return reply
        if kind == "http429":
            reply = text_reply(429, "Too Many Requests\n")
            reply.headers.append(("Retry-After", str(int(value if value is not None else 30))))
            return reply
        if kind == "status" and value is not None:
            code = int(value)
            phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Status"
            return text_reply(code, f"{code} {phrase}\n")
        if kind == "drop":
            return Reply(0, b"", "", action="drop")
        if kind == "html":
            return html_page(200, "Sign in", "Your session has expired. Please sign in again.")
        return None

    def _spoil(self, service: str, rule: FaultRule, call: Call | Reply, reply: Reply) -> Reply:
        """Faults that bend the service's own answer."""
        kind = rule.kind
        if kind == "drop_mid":
            reply.action = "drop_mid"
        elif kind == "truncate":
            reply.body = reply.body[: len(reply.body) // 2]
        elif kind == "malformed":
            reply.body = _break(reply.body)
        elif kind == "wrong_op":
            old, new = ((interfax_mod.RESPONSE, interfax_mod.WRONG_RESPONSE) if service == "interfax"
                        else (concord_mod.RESPONSE, concord_mod.WRONG_RESPONSE))
            reply.body = reply.body.replace(f"{old}".encode(), f"{new}".encode())
        elif kind == "result" and isinstance(call, InterfaxCall) and rule.value is not None:
            return self.interfax.result_only(call, int(rule.value))
        elif kind == "false" and isinstance(call, ConcordCall):
            code = int(rule.value) if rule.value is not None else -2
            return self.concord.false_reply(call, code, "Simulated failure")
        return reply


def _break(body: bytes) -> bytes:
    """The body with its last closing tag (or JSON brace) mangled, so no parser can read it."""
    if body.lstrip().startswith(b"{"):
        return body.rstrip()[:-1] + b',"'
    head, sep, tail = body.rpartition(b"</")
    if not sep:
        return body + b"<"
    return head + b"</" + b"broken&" + tail


def _asks_wsdl(query: str) -> bool:
    """`?WSDL`, `?wsdl`, `?WSDL=` …: a parameter named wsdl, whatever its case and value."""
    try:
        names = parse_qs(query, keep_blank_values=True, max_num_fields=20)
    except ValueError:
        return False
    return "wsdl" in {name.lower() for name in names}


def _not_allowed(allow: str) -> Reply:
    reply = text_reply(405, "Method Not Allowed\n")
    reply.headers.append(("Allow", allow))
    return reply
