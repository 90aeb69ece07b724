"""A hostile loopback server: it answers whatever bytes and behaviour a test asks for, over real sockets.

`HostileServer` speaks just enough HTTP/1.1 (keep-alive, Content-Length request bodies) to be
talked to by httpx, and answers each request with the `Answer` its handler returns:

- any status, headers and body: bytes, or an iterable of chunks streamed as they come (a 1 GB
  body is generated, never held), sent chunked, with an honest or lying Content-Length, or
  until the connection closes;
- `delay` before answering, `drip` seconds between chunks, `hang` (never answer), `drop`
  (close without a word);
- `bytes_sent` counts body bytes that left the socket, so a test can prove the client stopped.

It can also stand in front of another server (`relay_to`): every connection is piped to that
port, optionally behind TLS (`tls`, swappable with `set_tls`), or held open unanswered
(`hang_all`); `close_listener()` / `reopen()` make the port refuse connections and accept again.

`TestCerts` makes a throw-away CA, a server certificate it signed (for 127.0.0.1 and localhost) and
a self-signed one, with the `openssl` command (the `cryptography` package is not installed here).
`RssWatch` samples the process's resident memory while a block runs and reports the peak growth.
`HostsBackend` + `http_client` give httpx a hosts table consulted before the system resolver.
`SkewClock` is real time that a test can jump forward: one time line for a simulated world and a
poller's timestamps, scheduling and rate budgets.
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import httpcore
import httpx

XML = "text/xml; charset=utf-8"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    """What to send back. `body` may be bytes or an iterable of byte chunks (streamed lazily).

    `length`: "auto" = the true Content-Length (bytes bodies) or chunked (iterables); an int = this
    Content-Length, true or not; None = no length, the body ends when the connection closes.
    """

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Content-Type", XML)])
    length: int | str | None = "auto"
    chunked: bool = False
    delay: float = 0.0
    drip: float = 0.0
    hang: bool = False
    drop: bool = False


Handler = Callable[[Request], Answer]


def gigabyte_of(piece: bytes, total: int = 1024 * MIB, chunk: int = 256 * 1024) -> Iterator[bytes]:
    """`total` bytes made of `piece` repeated, in chunks, generated as they are sent."""
    block = (piece * (chunk // len(piece) + 1))[:chunk]
    sent = 0
    while sent < total:
        part = block[: min(chunk, total - sent)]
        sent += len(part)
        yield part


def endless(piece: bytes, chunk: int = 64 * 1024) -> Iterator[bytes]:
    block = (piece * (chunk // len(piece) + 1))[:chunk]
    while True:
        yield block


class HostileServer:
    def __init__(
        self,
        handler: Handler | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        relay_to: int | None = None,
    ) -> None:
        self.handler: Handler = handler or (lambda request: Answer())
        self.requests: list[Request] = []
        self.bytes_sent = 0
        self.connections = 0
        self.hang_all = False
        self.relay_to = relay_to
        self._tls = tls
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._port = 0
        self._accept_thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> HostileServer:
        self._listen()
        return self

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        sock.listen(64)
        self._port = sock.getsockname()[1]
        self._listener = sock
        self._accept_thread = threading.Thread(target=self._accept, args=(sock,), daemon=True,
                                               name="hostile-accept")
        self._accept_thread.start()

    def close_listener(self) -> None:
        """Stop listening (new connections are refused) and cut the open ones."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=2)
        self._cut_all()

    def reopen(self) -> None:
        """Listen again on the same port."""
        if self._listener is None:
            self._listen()

    def stop(self) -> None:
        self._stopping.set()
        self.close_listener()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def set_tls(self, context: ssl.SSLContext | None) -> None:
        """Serve new connections with this TLS context (None: plain TCP)."""
        self._tls = context
        self._cut_all()

    @property
    def port(self) -> int:
        return self._port

    def url(self, path: str = "/") -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._port}{path}"

    # --- connections -------------------------------------------------------------------------

    def cut(self) -> None:
        """Cut every open connection (clients must connect again)."""
        self._cut_all()

    def _cut_all(self) -> None:
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            if alive:
                self._open.add(conn)
                self.connections += 1
            else:
                self._open.discard(conn)

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve_connection, args=(conn,), daemon=True,
                             name="hostile-conn").start()

    def _serve_connection(self, raw: socket.socket) -> None:
        self._track(raw, True)
        conn: socket.socket = raw
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self._tls
            if tls is not None:
                raw.settimeout(10)
                try:
                    conn = tls.wrap_socket(raw, server_side=True)
                except (ssl.SSLError, OSError):
                    return  # the client refused our certificate: that is the point of some tests
                conn.settimeout(None)
                self._track(conn, True)
            if self.hang_all:
                self._hold(conn)
            elif self.relay_to is not None:
                self._relay(conn, self.relay_to)
            else:
                self._serve_http(conn)
        except OSError:
            pass
        finally:
            self._track(raw, False)
            self._track(conn, False)
            with contextlib.suppress(OSError):
                conn.close()
            with contextlib.suppress(OSError):
                raw.close()

    def _hold(self, conn: socket.socket) -> None:
        """Read and ignore whatever comes, answer nothing, until the client gives up."""
        while not self._stopping.is_set():
            if not conn.recv(65536):
                return

    def _relay(self, conn: socket.socket, port: int) -> None:
        upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
        upstream.settimeout(None)
        self._track(upstream, True)

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=pump, args=(upstream, conn), daemon=True)
        back.start()
        try:
            pump(conn, upstream)
            back.join(timeout=30)
        finally:
            self._track(upstream, False)
            upstream.close()

    # --- HTTP ----------------------------------------------------------------------------------

    def _serve_http(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        while not self._stopping.is_set():
            request = self._read_request(reader)
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
            try:
                answer = self.handler(request)
            except Exception as exc:  # a broken test handler must not hang the client
                answer = Answer(500, f"handler failed: {exc!r}".encode(), [("Content-Type", "text/plain")])
            if not self._answer(conn, answer):
                return

    @staticmethod
    def _read_request(reader: Any) -> Request | None:
        line = reader.readline(65537)
        if not line:
            return None
        parts = line.decode("latin-1").split()
        if len(parts) < 2:
            return None
        headers: dict[str, str] = {}
        while True:
            header = reader.readline(65537)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        body = reader.read(length) if length else b""
        return Request(parts[0], parts[1], headers, body)

    def _send(self, conn: socket.socket, data: bytes, body: bool = True) -> None:
        conn.sendall(data)
        if body:
            with self._lock:
                self.bytes_sent += len(data)

    def _answer(self, conn: socket.socket, answer: Answer) -> bool:
        """Send one answer; False when the connection must end after it."""
        if answer.delay:
            self._stopping.wait(answer.delay)
        if answer.hang:
            self._hold(conn)
            return False
        if answer.drop:
            return False
        streamed = not isinstance(answer.body, bytes | bytearray)
        head = [f"HTTP/1.1 {answer.status} Status"]
        head += [f"{name}: {value}" for name, value in answer.headers]
        keep_alive = True
        chunked = answer.chunked or (answer.length == "auto" and streamed)
        if chunked:
            head.append("Transfer-Encoding: chunked")
        elif answer.length == "auto":
            head.append(f"Content-Length: {len(answer.body)}")  # type: ignore[arg-type]
        elif isinstance(answer.length, int):
            head.append(f"Content-Length: {answer.length}")
            keep_alive = not streamed and answer.length == len(answer.body)  # type: ignore[arg-type]
        else:
            keep_alive = False
        if not keep_alive:
            head.append("Connection: close")
        self._send(conn, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1"), body=False)
        body = answer.body
        chunks: Iterable[bytes] = [bytes(body)] if isinstance(body, bytes | bytearray) else body
        for piece in chunks:
            if not piece:
                continue
            if answer.drip and self._stopping.wait(answer.drip):
                return False
            if chunked:
                self._send(conn, b"%x\r\n" % len(piece), body=False)
                self._send(conn, piece)
                self._send(conn, b"\r\n", body=False)
            else:
                self._send(conn, piece)
        if chunked:
            self._send(conn, b"0\r\n\r\n", body=False)
        return keep_alive


# --- certificates --------------------------------------------------------------------------------


class TestCerts:
    """A CA, a server certificate it signed for 127.0.0.1/localhost, and a self-signed certificate."""

    __test__ = False  # not a pytest class

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.ca = directory / "ca.pem"
        self.server_cert = directory / "server.pem"
        self.server_key = directory / "server.key"
        self.self_cert = directory / "self.pem"
        self.self_key = directory / "self.key"
        self._make()

    def _openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], cwd=self.dir, check=True, capture_output=True, timeout=60)

    def _make(self) -> None:
        curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self._openssl("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                      "-subj", "/CN=faxtui test CA",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                      "-addext", "subjectKeyIdentifier=hash")
        self._openssl("req", *curve, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
        (self.dir / "server.ext").write_text(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        )
        self._openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                      "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
        self._openssl("req", "-x509", *curve, "-keyout", "self.key", "-out", "self.pem", "-days", "2",
                      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")

    def server_context(self, self_signed: bool = False) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if self_signed:
            context.load_cert_chain(self.self_cert, self.self_key)
        else:
            context.load_cert_chain(self.server_cert, self.server_key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts the test CA (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.ca))


# --- memory --------------------------------------------------------------------------------------


def rss_bytes() -> int:
    """The process's resident set size now (Linux /proc), else its peak so far."""
    try:
        with open(f"/proc/{os.getpid()}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class RssWatch:
    """Samples RSS every few milliseconds while the block runs; `.growth` is peak minus start."""

    def __init__(self, every: float = 0.002) -> None:
        self.every = every
        self.start = 0
        self.peak = 0
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.every)

    def __enter__(self) -> RssWatch:
        self.start = self.peak = rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.start


# --- time ----------------------------------------------------------------------------------------


class SkewClock:
    """Real elapsed time plus whatever `advance` added (standing in for the waits between polls)."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._m0 = time.monotonic()
        self.offset = 0.0

    def mono(self) -> float:
        return time.monotonic() - self._m0 + self.offset

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.mono())

    def wall(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> None:
        self.offset += max(0.0, seconds)


# --- name resolution -----------------------------------------------------------------------------


class HostsBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own network backend, with a hosts table consulted before the system resolver."""

    def __init__(self) -> None:
        self.hosts: dict[str, str] = {}
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> Any:
        return await self._real.connect_tcp(self.hosts.get(host, host), port, timeout, local_address,
                                            socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> Any:  # pragma: no cover - unused
        return await self._real.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - unused
        await self._real.sleep(seconds)


def http_client(certs: TestCerts | None, backend: HostsBackend) -> httpx.AsyncClient:
    """A verifying client (trusting the test CA, if given), resolving through `backend`."""
    transport = httpx.AsyncHTTPTransport(verify=certs.client_context() if certs is not None else True)
    transport._pool._network_backend = backend  # httpx has no public knob for the resolver
    return httpx.AsyncClient(transport=transport)
