"""Servers that attack: XML bombs, entities, endless and giant bodies, and strings aimed at the terminal.

Every answer here comes from `hostile_server.HostileServer` over a real loopback socket and goes
through the real clients (and, at the end, the real `faxtui status` command in a subprocess).
Memory is measured as the growth of the process's resident set while the call runs
(`RssWatch`, sampled every 2 ms); the bound is generous on purpose: it is there to catch
"held the whole body" or "expanded the entities", not to time anything.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hostile_server import (
    MIB,
    XML,
    Answer,
    HostileServer,
    HostsBackend,
    Request,
    RssWatch,
    TestCerts,
    endless,
    gigabyte_of,
    http_client,
)

from faxtui.config import AccountConfig, Config, SecretRef, UIConfig, save_config
from faxtui.errors import ProtocolError, ProviderError, TransportError
from faxtui.model import FAXITEM_FIELDS, Health
from faxtui.poller import Poller, check_account
from faxtui.services.concord.client import ConcordClient
from faxtui.services.interfax.client import InterFaxClient
from faxtui.services.soap import SOAP11_NS
from faxtui.store import Store

IFX = "http://www.interfax.cc"
MEMORY_BOUND = 100 * MIB
PASSWORD = "hostile-test-Pa55"
# What a terminal would act on: C0 (but newline), DEL, C1 (CSI U+009B, OSC U+009D, ST U+009C …),
# and the bidirectional controls that reorder what is shown.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
NASTY = (
    "\u009b31mRED\u009b0m \u009d8;;http://evil.example/\u009cclick\u009d8;;\u009c "
    "\u202egnp.exe [bold red]markup[/] [link=file:///etc/passwd]x[/link] \x7f end"
)
STRING_FIELDS = [spec.name for spec in FAXITEM_FIELDS if spec.xsd == "string"]


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as srv:
        yield srv


@pytest.fixture
async def interfax(server: HostileServer) -> AsyncIterator[InterFaxClient]:
    client = InterFaxClient("ifx", server.url("/dfs.asmx"), "ops", PASSWORD, timeout=5)
    yield client
    await client.aclose()


@pytest.fixture
async def concord(server: HostileServer) -> AsyncIterator[ConcordClient]:
    client = ConcordClient("cc", server.url("/fax/v5"), "mbx1", token="tok-hostile", timeout=5)
    yield client
    await client.aclose()


# --- answers -------------------------------------------------------------------------------------


def envelope(payload: str, prolog: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>{prolog}<soap:Envelope xmlns:soap="{SOAP11_NS}">'
            f"<soap:Body>{payload}</soap:Body></soap:Envelope>").encode()


def fax_item(tid: int = 812345678, /, **strings: str) -> str:
    """A FaxItemEx with valid numbers and times; string fields from `strings` (raw: escaped here)."""
    numbers = {"ParentTransactionID": str(tid), "TransactionID": str(tid), "PagesSent": "1", "Status": "0",
               "Duration": "30", "PagesSubmitted": "1", "Priority": "2", "Units": "1.0", "CostPerUnit": "0.1",
               "RetriesToPerform": "3", "TrialsPerformed": "1", "SubmitTime": "2026-11-22T09:00:00",
               "PostponeTime": "0001-01-01T00:00:00", "CompletionTime": "2026-11-22T09:01:00"}
    parts = []
    for spec in FAXITEM_FIELDS:
        value = numbers.get(spec.name, escape(strings.get(spec.name, "")))
        parts.append(f"<{spec.name}>{value}</{spec.name}>")
    return f"<FaxItemEx>{''.join(parts)}</FaxItemEx>"


def interfax_page(items: str, total: int = 1, raw_inside: str = "") -> str:
    return (f'<FaxStatusExResponse xmlns="{IFX}"><FaxStatusExResult>{items}</FaxStatusExResult>{raw_inside}'
            f"<TotalCount>{total}</TotalCount><ListSize>{total}</ListSize><ResultCode>0</ResultCode>"
            "</FaxStatusExResponse>")


def concord_answer(items: str, ok: bool = True, code: int = 0, text: str = "") -> str:
    return ('<ns:RealTimeFaxStatusExResponse xmlns:ns="urn:FaxWS">'
            f"<ns:return>{'true' if ok else 'false'}</ns:return><ns:FaxStatusList>{items}</ns:FaxStatusList>"
            f"<ns:WSError><ns:ErrorCode>{code}</ns:ErrorCode><ns:ErrorString>{escape(text)}</ns:ErrorString>"
            "</ns:WSError></ns:RealTimeFaxStatusExResponse>")


def concord_item(job_id: str, description: str = "Job Delivered", csid: str = "", when: str = "",
                 error: str = "", status: str = "1") -> str:
    def el(name: str, value: str) -> str:
        return f"<ns:{name}>{escape(value)}</ns:{name}>"

    return ("<ns:item>" + el("FaxJobId", job_id) + el("FaxJobStatusId", status)
            + el("StatusDescription", description) + el("RecipientState", "1")
            + el("RecipientCurrentPageCount", "1") + el("RecipientTotalPageCount", "1")
            + el("FaxDeliveryDateTime", when) + el("FaxDeliveryDuration", "30") + el("RemoteFaxCSID", csid)
            + "<ns:Error>" + el("ErrorCode", "0") + el("ErrorString", error) + "</ns:Error></ns:item>")


def ok(body: bytes, **kwargs: Any) -> Answer:
    return Answer(200, body, **kwargs)


def assert_inert(text: str) -> None:
    """One line, nothing a terminal would act on."""
    assert "\n" not in text and not UNSAFE.search(text), repr(text)


# --- bombs and entities ----------------------------------------------------------------------------

LAUGHS = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
BILLION_LAUGHS = f'<!DOCTYPE soap:Envelope [<!ENTITY l0 "lol">{LAUGHS}]>'
QUADRATIC = f'<!DOCTYPE soap:Envelope [<!ENTITY a "{"x" * 50_000}">]>'


@pytest.mark.parametrize("service", ["interfax", "concord"])
@pytest.mark.parametrize(("prolog", "reference"), [
    (BILLION_LAUGHS, "&l9;"),
    (QUADRATIC, "&a;" * 100_000),
], ids=["billion-laughs", "quadratic-blowup"])
async def test_entity_bombs_are_refused_without_expanding(
    server: HostileServer, interfax: InterFaxClient, concord: ConcordClient, service: str, prolog: str,
    reference: str,
) -> None:
    if service == "interfax":
        item = fax_item(Subject="S").replace("<Subject>S", f"<Subject>{reference}")
        body = envelope(interfax_page(item), prolog)
    else:
        body = envelope(concord_answer(concord_item("br1").replace(">br1<", f">{reference}<")), prolog)
    server.handler = lambda request: ok(body)
    with RssWatch() as watch, pytest.raises(ProtocolError) as info:
        if service == "interfax":
            await interfax.status_page()
        else:
            await concord.status(["br1"])
    assert_inert(str(info.value))  # libxml2 stops the amplification itself, or the DOCTYPE is refused
    assert watch.growth < MEMORY_BOUND


class FifoWatch:
    """A named pipe that records whether anyone ever opened it for reading (and feeds them a canary)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path)
        self.opened = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.0005):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: nobody is reading
                continue
            self.opened = True
            try:
                os.write(fd, b"FIFO-CANARY")
            finally:
                os.close(fd)

    def __enter__(self) -> FifoWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.parametrize("service", ["interfax", "concord"])
@pytest.mark.parametrize("attack", ["general entity", "parameter entity", "external DTD", "xinclude"])
async def test_nothing_is_read_from_disk_or_network(
    server: HostileServer, interfax: InterFaxClient, concord: ConcordClient, tmp_path: Path, service: str,
    attack: str,
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("FILE-CANARY-7731")
    fetched: list[Request] = []

    def fetch(request: Request) -> Answer:
        fetched.append(request)
        return ok(b"NET-CANARY")

    with HostileServer(fetch) as net, FifoWatch(tmp_path / "fifo") as fifo:
        sources = [secret.as_uri(), fifo.path.as_uri(), net.url("/evil.dtd")]
        if attack == "general entity":
            prolog = "<!DOCTYPE soap:Envelope [" + "".join(
                f'<!ENTITY e{n} SYSTEM "{src}">' for n, src in enumerate(sources)) + "]>"
            reference = "&e0;&e1;&e2;"
        elif attack == "parameter entity":
            prolog = "<!DOCTYPE soap:Envelope [" + "".join(
                f'<!ENTITY % p{n} SYSTEM "{src}"> %p{n};' for n, src in enumerate(sources)) + "]>"
            reference = "x"
        elif attack == "external DTD":
            prolog = f'<!DOCTYPE soap:Envelope SYSTEM "{sources[0]}">'
            reference = "x"
        else:
            prolog = ""
            reference = "".join(f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{src}" '
                                'parse="text"/>' for src in sources)
        if service == "interfax":
            body = envelope(interfax_page(fax_item().replace("<Subject></Subject>",
                                                             f"<Subject>{reference}</Subject>")), prolog)
        else:
            body = envelope(concord_answer(concord_item("br1").replace(
                "<ns:StatusDescription>Job Delivered", f"<ns:StatusDescription>{reference}")), prolog)
        server.handler = lambda request: ok(body)
        try:
            if service == "interfax":
                result: Any = await interfax.status_page()
            else:
                result = await concord.status(["br1"])
        except ProviderError as exc:
            result = exc
            assert_inert(str(exc))
        seen = repr(result) + (repr(vars(result)) if hasattr(result, "__dict__") else "")
    assert not fifo.opened
    assert fetched == []
    for canary in ("FILE-CANARY", "FIFO-CANARY", "NET-CANARY"):
        assert canary not in seen
    if attack == "xinclude":  # no DOCTYPE: it parses, and the include element is just an (ignored) child
        assert not isinstance(result, ProviderError)


# --- giant and endless bodies ----------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["chunked", "until-close", "declared"])
async def test_a_gigabyte_body_is_never_held(server: HostileServer, interfax: InterFaxClient,
                                             framing: str) -> None:
    length: int | str | None = {"chunked": "auto", "until-close": None, "declared": 1024 * MIB}[framing]
    server.handler = lambda request: Answer(200, gigabyte_of(b"<a>xxxxxxxx</a>"), length=length)
    with RssWatch() as watch, pytest.raises(ProtocolError, match=r"^response larger than 16 MiB$"):
        await interfax.status_page()
    server.stop()  # no more writing: what was sent is final
    assert server.bytes_sent < 64 * MIB  # the client hung up at its cap, not at 1 GB
    assert watch.growth < MEMORY_BOUND


async def test_an_endless_trickle_ends_at_the_timeout(server: HostileServer) -> None:
    server.handler = lambda request: Answer(200, endless(b"<a>", chunk=16), drip=0.01)
    client = InterFaxClient("ifx", server.url("/dfs.asmx"), "ops", PASSWORD, timeout=0.5)
    try:
        with pytest.raises(TransportError, match=r"timed out after 0.5 s$"):
            await client.status_page()
    finally:
        await client.aclose()


async def test_deep_nesting_is_refused(server: HostileServer, interfax: InterFaxClient) -> None:
    depth = 1_000_000
    body = envelope(f'<FaxStatusExResponse xmlns="{IFX}">' + "<a>" * depth + "</a>" * depth
                    + "</FaxStatusExResponse>")
    server.handler = lambda request: ok(body)
    with RssWatch() as watch, pytest.raises(ProtocolError, match="malformed XML"):
        await interfax.status_page()
    assert watch.growth < MEMORY_BOUND


async def test_huge_field_values_stay_bounded_and_giant_ones_are_refused(
    server: HostileServer, interfax: InterFaxClient
) -> None:
    big = envelope(interfax_page(fax_item(Subject="S" * (9 * MIB), Contact="C" * 100_000)))
    server.handler = lambda request: ok(big)
    with RssWatch() as watch:
        page = await interfax.status_page()
    assert page.jobs[0].item.Subject == "S" * (9 * MIB)  # under every cap: data, kept as sent
    assert watch.growth < MEMORY_BOUND
    giant = envelope(interfax_page(fax_item(Subject="S" * (11 * MIB))))  # past libxml2's text-node limit
    server.handler = lambda request: ok(giant)
    with pytest.raises(ProtocolError, match="malformed XML"):
        await interfax.status_page()


@pytest.mark.parametrize("subject", [b"\xff\xfe bad utf-8", b"\x1b[31mred", b"&#x1b;[31mred", b"\x07\x08"],
                         ids=["invalid-utf8", "raw-esc", "esc-reference", "bell-backspace"])
async def test_bytes_xml_forbids_are_a_protocol_error(server: HostileServer, interfax: InterFaxClient,
                                                      subject: bytes) -> None:
    body = envelope(interfax_page(fax_item(Subject="ok"))).replace(b">ok<", b">" + subject + b"<")
    server.handler = lambda request: ok(body)
    with pytest.raises(ProtocolError, match="malformed XML") as info:
        await interfax.status_page()
    assert_inert(str(info.value))


# --- strings aimed at the terminal ------------------------------------------------------------------


def nasty_interfax(request: Request) -> Answer:
    strings = {name: f"{name}:{NASTY}" for name in STRING_FIELDS}
    return ok(envelope(interfax_page(fax_item(**strings))))


def nasty_concord(request: Request) -> Answer:
    items = concord_item("br001h0000000001", description=NASTY, csid=NASTY, when=NASTY, error=NASTY,
                         status="2")
    items += concord_item(f"br-unasked {NASTY}", description=NASTY)  # kept under its own (hostile) id
    return ok(envelope(concord_answer(items)), headers=[("Content-Type", XML),
                                                        ("x-ch-activity-id", "act-\x9b31m-id")])


def fault_everywhere(request: Request) -> Answer:
    if request.path.startswith("/dfs.asmx"):
        fault = (f"<soap:Fault><faultcode>soap:Server{escape(NASTY)}</faultcode>"
                 f"<faultstring>{escape(NASTY)}&#x9b;2J</faultstring></soap:Fault>")
        return Answer(500, envelope(fault))
    return ok(envelope(concord_answer("", ok=False, code=-3, text=NASTY)))


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAXTUI_")}
    env.update({"FAXTUI_CONFIG": str(tmp_path / "config.toml"), "FAXTUI_DATA_DIR": str(tmp_path / "data"),
                "COLUMNS": "200"})
    env.pop("NO_COLOR", None)
    return env


def faxtui(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "faxtui", *args], env=env, capture_output=True, timeout=60,
                          check=False)


def write_config(tmp_path: Path, server: HostileServer) -> None:
    save_config(Config(path=tmp_path / "config.toml", ui=UIConfig(), accounts=(
        AccountConfig(name="ifx", service="interfax", endpoint=server.url("/dfs.asmx"), poll_seconds=20,
                      username="ops", password=SecretRef(value=PASSWORD)),
        AccountConfig(name="cc", service="concord", endpoint=server.url("/fax/v5"), poll_seconds=15,
                      user_id="mbx1", token=SecretRef(value="tok-hostile")),
    )))


def test_server_strings_are_inert_in_status_and_json(server: HostileServer, tmp_path: Path) -> None:
    server.handler = lambda request: (nasty_interfax if request.path.startswith("/dfs") else nasty_concord)(
        request)
    write_config(tmp_path, server)
    env = cli_env(tmp_path)
    assert faxtui(env, "watch", "add", "--account", "cc", "br001h0000000001").returncode == 0

    table = faxtui(env, "status")
    assert table.returncode == 0, table.stderr
    text = table.stdout.decode("utf-8")
    assert b"\x1b" not in table.stdout and not UNSAFE.search(text.replace("\n", "")), text
    summary, table_text = text.split("\n\n", 1)
    assert len(summary.splitlines()) == 2  # a line per account
    assert len(table_text.splitlines()) == 1 + 3  # the header, then a line per job (1 InterFax, 2 Concord)
    assert "gnp.exe [bold r" in text  # plain text: shown as written (cut to the column), never interpreted

    raw = faxtui(env, "status", "--json")
    assert raw.returncode == 0, raw.stderr
    assert b"\x1b" not in raw.stdout and not UNSAFE.search(raw.stdout.decode("utf-8").replace("\n", ""))
    data = json.loads(raw.stdout)
    jobs = {job["id"]: job for job in data["jobs"]}
    ifx = jobs["812345678"]
    for name in STRING_FIELDS:  # escaped for the terminal, yet exactly what the server sent
        assert ifx["fields"][name] == f"{name}:{NASTY}"
    cc = jobs["br001h0000000001"]
    assert cc["native"]["StatusDescription"] == NASTY and cc["native"]["RemoteFaxCSID"] == NASTY
    assert cc["native"]["Error"]["ErrorString"] == NASTY and cc["status_text"] == NASTY
    assert f"br-unasked {NASTY}" in jobs


def test_server_strings_are_inert_in_error_messages(server: HostileServer, tmp_path: Path) -> None:
    server.handler = fault_everywhere
    write_config(tmp_path, server)
    env = cli_env(tmp_path)
    assert faxtui(env, "watch", "add", "--account", "cc", "br001h0000000001").returncode == 0
    for args in (("status",), ("status", "--json")):
        result = faxtui(env, *args)
        assert result.returncode == 1
        for stream in (result.stdout, result.stderr):
            assert b"\x1b" not in stream and not UNSAFE.search(stream.decode("utf-8").replace("\n", ""))
    data = json.loads(result.stdout)
    errors = {a["name"]: a["error"] for a in data["accounts"]}
    assert errors["ifx"].startswith("SOAP fault soap:Server") and "HTTP 500" in errors["ifx"]
    assert errors["cc"].startswith("Concord error -3:")
    for message in errors.values():
        assert_inert(message)


async def test_poller_hands_on_hostile_strings_as_data_and_errors_as_one_line(
    server: HostileServer, tmp_path: Path
) -> None:
    """What the TUI gets: raw server strings in the jobs (its job to show them as text, never as
    markup), and errors already cut to one inert line."""
    server.handler = nasty_interfax
    config = Config(path=tmp_path / "config.toml", ui=UIConfig(), accounts=(
        AccountConfig(name="ifx", service="interfax", endpoint=server.url("/dfs.asmx"), poll_seconds=20,
                      username="ops", password=SecretRef(value=PASSWORD)),
    ))
    with Store.open(tmp_path / "data") as store:
        poller = Poller(config, store)
        await poller.poll_once()
        job = poller.jobs[("ifx", "812345678")]
        assert job.item.Subject == f"Subject:{NASTY}"
        server.handler = fault_everywhere
        await poller.poll_once()
        await poller.aclose()
    status = poller.statuses["ifx"]
    assert status.health is Health.ERROR and status.last_error is not None
    assert_inert(status.last_error)
    assert poller.jobs[("ifx", "812345678")] == job


def test_files_written_for_a_hostile_run_are_private(server: HostileServer, tmp_path: Path) -> None:
    server.handler = nasty_interfax
    write_config(tmp_path, server)
    env = cli_env(tmp_path)
    result = subprocess.run([sys.executable, "-c", "import os, runpy, sys; os.umask(0); sys.argv = "
                             "['faxtui', 'status']; runpy.run_module('faxtui', run_name='__main__')"],
                            env=env, capture_output=True, timeout=60, check=False)
    assert result.returncode in (0, 1), result.stderr
    data = tmp_path / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in data.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((tmp_path / "config.toml").stat().st_mode) == 0o600


# --- secrets ---------------------------------------------------------------------------------------

SECRETS = {"password": "Pw-CANARY-4417", "token": "Tok-CANARY-5521", "pin": "Pin-CANARY-9903",
           "client_secret": "Cs-CANARY-6630", "issued": "Issued-CANARY-2208"}


def echo_everything(request: Request) -> Answer:
    """A server that quotes the whole request back in its error, as some real ones do."""
    if request.path.startswith("/token"):
        token = json.dumps({"access_token": SECRETS["issued"], "token_type": "Bearer", "expires_in": 3600})
        return Answer(200, token.encode(), [("Content-Type", "application/json")])
    words = re.sub(r"<[^>]+>", " ", request.body.decode("utf-8", "replace"))
    quoted = escape(f"rejected: {request.headers.get('authorization', '')} {words}")
    fault = f"<soap:Fault><faultcode>soap:Client</faultcode><faultstring>{quoted}</faultstring></soap:Fault>"
    return Answer(500, envelope(fault))


def secret_accounts(server: HostileServer) -> tuple[AccountConfig, ...]:
    return (
        AccountConfig(name="ifx", service="interfax", endpoint=server.url("/dfs.asmx"), poll_seconds=20,
                      username="ops", password=SecretRef(value=SECRETS["password"])),
        AccountConfig(name="cc-token", service="concord", endpoint=server.url("/fax/v5"), poll_seconds=15,
                      user_id="mbx1", token=SecretRef(value=SECRETS["token"])),
        AccountConfig(name="cc-pin", service="concord", endpoint=server.url("/fax/v5"), poll_seconds=15,
                      user_id="mbx2", pin=SecretRef(value=SECRETS["pin"])),
        AccountConfig(name="cc-oauth", service="concord", endpoint=server.url("/fax/v5"), poll_seconds=15,
                      user_id="mbx3", token_url=server.url("/token"), client_id="faxtui",
                      client_secret=SecretRef(value=SECRETS["client_secret"])),
    )


def leaked(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


async def test_secrets_stay_out_of_errors_logs_reprs_and_the_state_files(
    server: HostileServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server.handler = echo_everything
    config = Config(path=tmp_path / "config.toml", ui=UIConfig(), accounts=secret_accounts(server))
    caplog.set_level(logging.DEBUG)  # everything: faxtui, httpx, httpcore
    with Store.open(tmp_path / "data") as store:
        poller = Poller(config, store)
        for name in ("cc-token", "cc-pin", "cc-oauth"):
            poller.add_watch(name, "br001h0000000001")
        await poller.poll_once()
        await poller.poll_once()
        loops = repr(poller._loops)  # what a traceback that shows locals would print
        await poller.aclose()
    assert any(SECRETS["password"] in r.body.decode() for r in server.requests)  # the server did get them
    for name, status in poller.statuses.items():
        assert status.health is Health.ERROR and status.last_error is not None, name
        assert "***" in status.last_error, status.last_error  # the echo was there, and was blanked
        assert leaked(status.last_error) == []
    assert leaked(caplog.text) == []
    assert leaked(loops + repr(config) + repr(poller.statuses)) == []
    for path in (tmp_path / "data").iterdir():  # the database, its WAL, the lock file
        assert leaked(path.read_bytes().decode("latin-1")) == [], path


POLLER_WITH_A_BUG = """
import asyncio, sys
from pathlib import Path
from faxtui.config import load_config
from faxtui.events import JobsUpdated
from faxtui.poller import Poller
from faxtui.poller import check_account
from faxtui.store import Store

async def main() -> None:
    config = load_config(Path(sys.argv[1]))
    password = sys.argv[2]
    bugs = []

    def emit(event: object) -> None:  # a handler with a bug that formats the secret into its error
        if isinstance(event, JobsUpdated) and event.jobs:
            bugs.append(event)
            raise RuntimeError(f"bad state while handling login {password!r}")

    with Store.open() as store:
        poller = Poller(config, store, emit=emit)
        poller.add_watch("cc", "br001h0000000001")
        task = asyncio.create_task(poller.run())
        while len(bugs) < 2:  # the loop survived the first one and polled again
            await asyncio.sleep(0.01)
        print(poller.statuses["cc"].last_error)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await poller.aclose()

asyncio.run(main())
"""


def test_a_bug_inside_the_poll_loop_neither_stops_it_nor_prints_a_secret(server: HostileServer,
                                                                         tmp_path: Path) -> None:
    server.handler = nasty_concord
    config = Config(path=tmp_path / "config.toml", ui=UIConfig(), accounts=(
        AccountConfig(name="cc", service="concord", endpoint=server.url("/fax/v5"), poll_seconds=0.05,
                      user_id="mbx1", token=SecretRef(value=SECRETS["token"])),
    ))
    save_config(config)
    script = tmp_path / "bug.py"
    script.write_text(POLLER_WITH_A_BUG)
    env = {**os.environ, "FAXTUI_DATA_DIR": str(tmp_path / "data"),
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    result = subprocess.run([sys.executable, str(script), str(config.path), SECRETS["token"]], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "internal error: RuntimeError: bad state while handling login '***'"
    assert leaked(result.stdout + result.stderr) == []


# --- plain http and TLS ----------------------------------------------------------------------------


async def test_plain_http_off_this_machine_is_refused_on_the_poller_path(tmp_path: Path) -> None:
    backend = HostsBackend()
    with HostileServer(nasty_interfax) as server:
        backend.hosts["fax.example.invalid"] = "127.0.0.1"
        url = f"http://fax.example.invalid:{server.port}/dfs.asmx"
        accounts = (
            AccountConfig(name="plain", service="interfax", endpoint=url, poll_seconds=20, username="ops",
                          password=SecretRef(value=PASSWORD)),
            AccountConfig(name="token-url", service="concord", endpoint=server.url("/fax/v5"),
                          poll_seconds=15, user_id="mbx1", token_url="http://login.example.invalid/token",
                          client_id="c", client_secret=SecretRef(value="s")),
        )
        config = Config(path=tmp_path / "config.toml", ui=UIConfig(), accounts=accounts)
        async with http_client(None, backend) as http:
            with Store.open(tmp_path / "data") as store:
                poller = Poller(config, store, http=http)
                poller.add_watch("token-url", "br001h0000000001")
                await poller.poll_once()
                assert server.requests == []  # refused before a byte was sent
                for name, what, host in (("plain", "endpoint", "fax.example.invalid"),
                                         ("token-url", "token_url", "login.example.invalid")):
                    status = poller.statuses[name]
                    assert status.health is Health.ERROR
                    assert status.last_error == (
                        f"account '{name}': {what}: plain http to {host} would send credentials unencrypted; "
                        "use https, or set allow_insecure = true")
                ok, line = await check_account(accounts[0], http)
                assert not ok and "unencrypted" in line
                allowed = Config(path=config.path, ui=UIConfig(),
                                 accounts=(dataclasses.replace(accounts[0], allow_insecure=True),))
                poller.reload(allowed)
                await poller.poll_once()
                await poller.aclose()
        assert len(server.requests) == 1 and poller.statuses["plain"].health is Health.OK


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> TestCerts:
    return TestCerts(tmp_path_factory.mktemp("certs"))


@pytest.mark.parametrize("self_signed", [True, False], ids=["self-signed", "private-CA"])
async def test_tls_is_always_verified(certs: TestCerts, tmp_path: Path, self_signed: bool) -> None:
    with HostileServer(nasty_interfax, tls=certs.server_context(self_signed=self_signed)) as server:
        config = Config(path=tmp_path / "config.toml", ui=UIConfig(), accounts=(
            AccountConfig(name="ifx", service="interfax", endpoint=server.url("/dfs.asmx"), poll_seconds=20,
                          username="ops", password=SecretRef(value=PASSWORD)),
            AccountConfig(name="cc", service="concord", endpoint=server.url("/fax/v5"), poll_seconds=15,
                          user_id="mbx1", token_url=server.url("/token"), client_id="c",
                          client_secret=SecretRef(value="s")),
        ))
        with Store.open(tmp_path / "data") as store:
            poller = Poller(config, store)  # its own HTTP client: the defaults are what is tested
            poller.add_watch("cc", "br001h0000000001")
            await poller.poll_once()
            await poller.aclose()
        ok, line = await check_account(config.accounts[0])
    for status in poller.statuses.values():
        assert status.health is Health.UNREACHABLE
        assert status.last_error == f"127.0.0.1:{server.port}: TLS error"
    assert not ok and line.endswith("TLS error")
    assert server.requests == []  # no request ever went over the unverified connection
