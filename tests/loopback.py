"""A small real HTTP server on 127.0.0.1 for client tests: records requests, sends canned answers.

Runs stdlib `ThreadingHTTPServer` (HTTP/1.1, keep-alive) on port 0 in a daemon thread. Each
request is recorded as a `Recorded`; the answer is a `Reply`, taken from the queue set with
`reply()` (the last one repeats) or produced by a callable given to `handle()`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

XML = "text/xml; charset=utf-8"


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it. `headers` keys are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int
    raw_headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Reply:
    """What to answer. `drop` closes the connection without a word; `content_length` may lie;
    `chunked` sends the body in 1 KiB chunks with no Content-Length."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=lambda: {"Content-Type": XML})
    delay: float = 0.0
    content_length: int | None = None
    drop: bool = False
    chunked: bool = False


Handler = Callable[[Recorded], Reply]


class LoopbackServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._replies: list[Reply] = [Reply()]
        self._handler: Handler | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="loopback", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def reply(self, *replies: Reply) -> None:
        """Answer with these in turn; the last one repeats."""
        with self._lock:
            self._replies = list(replies) or [Reply()]
            self._handler = None

    def handle(self, handler: Handler) -> None:
        """Answer every request with `handler(recorded)`."""
        with self._lock:
            self._handler = handler

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _next_reply(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            if self._handler is not None:
                handler = self._handler
            else:
                return self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]
        return handler(recorded)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    client_port=int(self.client_address[1]),
                    raw_headers=list(self.headers.items()),
                )
                try:
                    reply = server._next_reply(recorded)
                except Exception as exc:  # a broken test handler must not hang the client
                    reply = Reply(500, f"handler failed: {exc!r}".encode(), {"Content-Type": "text/plain"})
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunked:
                    self._send_chunked(reply.body)
                    return
                declared = reply.content_length if reply.content_length is not None else len(reply.body)
                self.send_header("Content-Length", str(declared))
                if reply.content_length is not None and reply.content_length != len(reply.body):
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                try:
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _send_chunked(self, body: bytes) -> None:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for start in range(0, len(body), 1024):
                        piece = body[start : start + 1024]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_POST = _serve
            do_GET = _serve

        return _Handler
