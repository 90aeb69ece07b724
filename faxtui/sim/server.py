"""The HTTP server: stdlib ThreadingHTTPServer, HTTP/1.1 keep-alive, both services on one port.

The handler only moves bytes: it reads the body by Content-Length, asks `SimApp` for a
`Reply`, and writes it (or, when a fault says so, drops the connection before or during it).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from faxtui.sim.app import CONCORD_PATH, CONTROL_PATH, INTERFAX_PATH, TOKEN_PATH, SimApp
from faxtui.sim.clock import RealClock
from faxtui.sim.exchange import HttpRequest, Reply, text_reply
from faxtui.sim.faults import FaultSet
from faxtui.sim.options import SimOptions
from faxtui.sim.stats import Stats
from faxtui.sim.wire import MAX_REQUEST_BYTES
from faxtui.sim.world import World

log = logging.getLogger("faxtui.sim")
IDLE_TIMEOUT = 120.0
"""Seconds an idle keep-alive connection is kept open."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: SimApp, stats: Stats, ipv6: bool) -> None:
        if ipv6:
            self.address_family = socket.AF_INET6
        self.app = app
        self.stats = stats
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._open_lock:
            if alive:
                self._open.add(conn)
            else:
                self._open.discard(conn)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer is routine (timeouts, dropped connections), not an error."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            log.debug("connection from %s ended: %s", client_address, exc)
            return
        log.exception("error while serving %s", client_address)

    def close_all(self) -> None:
        """Shut every open connection, so handler threads on keep-alive sockets end now."""
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faxtui-sim"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.stats.connection()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _read_body(self) -> bytes | None:
        """The request body by Content-Length; None after answering a request we will not read."""
        if self.headers.get("Transfer-Encoding"):
            self._write(text_reply(411, "Length Required: send a Content-Length\n"), close=True)
            return None
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
        except ValueError:
            length = -1
        if length < 0:
            self._write(text_reply(400, "Bad Request: invalid Content-Length\n"), close=True)
            return None
        if length > MAX_REQUEST_BYTES:
            self._write(text_reply(413, "Payload Too Large\n"), close=True)
            return None
        return self.rfile.read(length)

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        url = urlsplit(self.path)
        request = HttpRequest(
            method=self.command,
            path=url.path,
            query=url.query,
            headers=self.headers,
            body=body,
            client_host=self.client_address[0],
        )
        try:
            reply = self.server.app.handle(request)
        except Exception:
            log.exception("simulator error on %s %s", self.command, url.path)
            reply = text_reply(500, "Internal simulator error\n")
        if reply.action == "drop":
            self.close_connection = True
            return
        self._write(reply)

    def _write(self, reply: Reply, close: bool = False) -> None:
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if reply.action == "drop_mid":
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if self.command != "HEAD":
            self.wfile.write(reply.body)


class SimServer:
    """Both simulated services, the token endpoint and the control endpoint on one port.

    `SimServer(world=None, options=None, host="127.0.0.1", port=0, faults="")`; `start()` serves
    in a background thread, `stop()` ends it; also a context manager. `set_options(**changes)`
    changes options while it serves.
    """

    def __init__(
        self,
        world: World | None = None,
        options: SimOptions | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: str = "",
    ) -> None:
        if world is None:
            opts = options if options is not None else SimOptions()
            world = World(opts, RealClock(opts.speed))
        elif options is not None and options != world.options:
            raise ValueError("options differ from the world's; give one or the other")
        self.world = world
        self.host = host
        self._port = port
        self.stats = Stats()
        self.faults = FaultSet(self.options.seed, faults)
        self.app = SimApp(world, self.faults, self.stats, lambda: self.base_url)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def options(self) -> SimOptions:
        """The options in force now (the world's)."""
        return self.world.options

    def set_options(self, **changes: Any) -> SimOptions:
        """Change options while serving, e.g. `server.set_options(concord_order="reversed")`;
        the next request sees them. Same rules as `POST /_sim/options`."""
        return self.world.set_options(changes)

    def reset_options(self) -> SimOptions:
        return self.world.reset_options()

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> SimServer:
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self._port), self.app, self.stats, ":" in self.host)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="faxtui-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_all()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- addresses ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        host = self.host
        if host in ("", "0.0.0.0"):  # noqa: S104
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._port}"

    @property
    def interfax_url(self) -> str:
        return self.base_url + INTERFAX_PATH

    @property
    def concord_url(self) -> str:
        return self.base_url + CONCORD_PATH

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def control_url(self) -> str:
        return self.base_url + CONTROL_PATH

    def __repr__(self) -> str:
        return f"SimServer({self.base_url}, running={self._httpd is not None})"
