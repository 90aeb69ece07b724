"""Simulator benchmark: how fast one 100-item FaxStatusEx page is answered, and whether 100
concurrent status requests all succeed.

The simulator runs in its own process (as `faxtui sim` does), on loopback, with the InterFax rate
limit raised so it does not bite; the client keeps connections alive. Run:

    python -m benchmarks.bench_sim
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.synchronize import Event

import httpx
from lxml import etree

PAGE_TARGET_MS = 20.0
PAGE_REQUESTS = 200
WARMUP = 20
CONCURRENT = 100
ROUNDS = 5
USER, PASSWORD = "bench", "bench"
CONCORD_USER, CONCORD_PIN = "mbx0000000900", "9000"

IFX_HEADERS = {
    "Content-Type": "text/xml; charset=utf-8",
    "SOAPAction": '"http://www.interfax.cc/FaxStatusEx"',
}
CONCORD_HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


def faxstatusex(max_items: int = 100) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soap:Body><FaxStatusEx xmlns="http://www.interfax.cc">'
        f"<Username>{USER}</Username><Password>{PASSWORD}</Password>"
        f"<LastTransactionID>2147483647</LastTransactionID><MaxItems>{max_items}</MaxItems>"
        "<TotalCount>0</TotalCount><ListSize>0</ListSize><ResultCode>0</ResultCode>"
        "</FaxStatusEx></soap:Body></soap:Envelope>"
    ).encode()


def realtime_status(job_ids: list[str]) -> bytes:
    items = "".join(f"<item><JobId>{j}</JobId></item>" for j in job_ids)
    return (
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        f'<soap:Body><GetRealTimeFaxStatusEx xmlns="urn:FaxWS"><UserID>{CONCORD_USER}</UserID>'
        f"<strPIN>{CONCORD_PIN}</strPIN><FaxJobIds>{items}</FaxJobIds></GetRealTimeFaxStatusEx>"
        "</soap:Body></soap:Envelope>"
    ).encode()


def _serve(port_queue: mp.Queue[tuple[int, list[str], float]], stop: Event) -> None:
    """Child process: a simulator with a 1,000-job InterFax user and a 500-job Concord user."""
    from faxtui.sim import FakeClock, SimOptions, SimServer, World
    from faxtui.sim.interfax import InterfaxService
    from faxtui.sim.stats import Stats

    world = World(
        SimOptions(rate_limit_calls=10**9, demo_accounts=False, arrival_mean_seconds=0), FakeClock()
    )
    world.add_interfax_account(USER, PASSWORD, jobs=1000)
    world.add_concord_account(CONCORD_USER, CONCORD_PIN, jobs=500)
    service = InterfaxService(world, Stats())
    items, total = world.interfax_page(USER, 2147483647, 100)
    started = time.perf_counter()
    for _ in range(200):
        service.render(items, total)
    render_ms = (time.perf_counter() - started) / 200 * 1000
    with SimServer(world=world) as server:
        port_queue.put((server.port, world.concord_job_ids(CONCORD_USER)[:100], render_ms))
        stop.wait()


def _ok_interfax(response: httpx.Response) -> bool:
    if response.status_code != 200:
        return False
    root = etree.fromstring(response.content)
    ns = "{http://www.interfax.cc}"
    return root.findtext(f".//{ns}ResultCode") == "0" and len(root.findall(f".//{ns}FaxItemEx")) == 100


def _latencies(
    client: httpx.Client, send: Callable[[], httpx.Response], check: Callable[[httpx.Response], bool]
) -> list[float]:
    for _ in range(WARMUP):
        assert check(send())
    out = []
    for _ in range(PAGE_REQUESTS):
        started = time.perf_counter()
        response = send()
        out.append((time.perf_counter() - started) * 1000)
        assert check(response), response.status_code
    return out


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def _concurrent_threads(url: str) -> tuple[int, float]:
    barrier = threading.Barrier(CONCURRENT)
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    with httpx.Client(limits=limits, timeout=30) as client:

        def one(_: int) -> httpx.Response | None:
            barrier.wait()
            try:
                return client.post(url, content=faxstatusex(), headers=IFX_HEADERS)
            except httpx.HTTPError:
                return None

        with ThreadPoolExecutor(CONCURRENT) as pool:
            started = time.perf_counter()
            responses = list(pool.map(one, range(CONCURRENT)))
            wall = time.perf_counter() - started
    return sum(r is not None and _ok_interfax(r) for r in responses), wall


async def _concurrent_async(url: str) -> tuple[int, float]:
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one() -> httpx.Response | None:
            try:
                return await client.post(url, content=faxstatusex(), headers=IFX_HEADERS)
            except httpx.HTTPError:
                return None

        started = time.perf_counter()
        responses = await asyncio.gather(*(one() for _ in range(CONCURRENT)))
        wall = time.perf_counter() - started
    return sum(r is not None and _ok_interfax(r) for r in responses), wall


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    ctx = mp.get_context("spawn")
    port_queue: mp.Queue[tuple[int, list[str], float]] = ctx.Queue()
    stop = ctx.Event()
    child = ctx.Process(target=_serve, args=(port_queue, stop), daemon=True)
    child.start()
    try:
        port, concord_ids, render_ms = port_queue.get(timeout=60)
        base = f"http://127.0.0.1:{port}"
        print(
            f"faxtui simulator benchmark - Python {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"{platform.system()} {platform.machine()}"
        )
        print("server in its own process on loopback; client keeps connections alive; rate limit raised\n")

        with httpx.Client() as client:
            page = _latencies(
                client,
                lambda: client.post(base + "/dfs.asmx", content=faxstatusex(), headers=IFX_HEADERS),
                _ok_interfax,
            )
            body = realtime_status(concord_ids)
            batch = _latencies(
                client,
                lambda: client.post(base + "/fax/v5", content=body, headers=CONCORD_HEADERS),
                lambda r: r.status_code == 200 and r.content.count(b"<FaxWS:item>") == 100,
            )
        page_median, page_p95 = statistics.median(page), _p95(page)
        page_ok = page_p95 < PAGE_TARGET_MS
        print(
            f"(a) one 100-item FaxStatusEx page, {PAGE_REQUESTS} requests: median {page_median:.2f} ms, "
            f"p95 {page_p95:.2f} ms    target < {PAGE_TARGET_MS:.0f} ms: {_verdict(page_ok)}"
        )
        print(f"    of which building the 100-item answer: {render_ms:.2f} ms (server side, no network)")
        print(
            f"    one 100-id GetRealTimeFaxStatusEx batch: median {statistics.median(batch):.2f} ms, "
            f"p95 {_p95(batch):.2f} ms"
        )

        walls: list[float] = []
        all_ok = True
        for _ in range(ROUNDS):
            ok, wall = _concurrent_threads(base + "/dfs.asmx")
            all_ok &= ok == CONCURRENT
            walls.append(wall)
        print(
            f"(b) {CONCURRENT} concurrent 100-item pages (threads, one httpx.Client), {ROUNDS} rounds: "
            f"{'all' if all_ok else 'NOT all'} succeeded; wall median {statistics.median(walls):.3f} s, "
            f"max {max(walls):.3f} s    target: {CONCURRENT} without error: {_verdict(all_ok)}"
        )
        async_walls: list[float] = []
        async_ok = True
        for _ in range(ROUNDS):
            ok, wall = asyncio.run(_concurrent_async(base + "/dfs.asmx"))
            async_ok &= ok == CONCURRENT
            async_walls.append(wall)
        print(
            f"    same with asyncio + one httpx.AsyncClient: {'all' if async_ok else 'NOT all'} succeeded; "
            f"wall median {statistics.median(async_walls):.3f} s, max {max(async_walls):.3f} s"
        )
        if not (page_ok and all_ok and async_ok):
            sys.exit(1)
    finally:
        stop.set()
        child.join(timeout=10)
        if child.is_alive():
            child.terminate()


if __name__ == "__main__":
    main()
