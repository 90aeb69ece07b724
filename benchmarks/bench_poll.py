"""Poll-cycle benchmark: one `Poller.poll_once()` over 20 accounts against the simulator.

10 InterFax accounts with 100 jobs each (one FaxStatusEx page per account) and 10 Concord
accounts with 500 watched ids each (five 100-id GetRealTimeFaxStatusEx batches per account, OAuth
client credentials), a real `Store` in a temporary directory. The simulator runs in its own
process (`python -m faxtui sim --port 0`), so its CPU is not counted as faxtui's; accounts are
added through its control endpoint. The first cycle includes the token fetches and inserting
every job into the store; the second is the steady state. Connections are counted by the
simulator (GET /_sim/stats), before and after each cycle.

Targets, each cycle: under 1 s wall and under 0.3 s of this process's CPU (`time.process_time`),
and no new connection in the second cycle.

    python -m benchmarks.bench_poll [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import io
import json
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import Result, exit_code, header, report
from faxtui.config import AccountConfig, Config, SecretRef
from faxtui.model import Health
from faxtui.poller import Poller
from faxtui.services import http
from faxtui.store import Store

INTERFAX_ACCOUNTS = 10
INTERFAX_JOBS = 100
CONCORD_ACCOUNTS = 10
CONCORD_WATCHED = 500
WALL_TARGET = 1.0
CPU_TARGET = 0.3


@dataclass(frozen=True, slots=True)
class Sim:
    process: subprocess.Popen[str]
    urls: dict[str, str]

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.urls["control"] + path, data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # one connection, closed after
            return json.loads(response.read())

    def connections(self) -> int:
        """Connections the simulator has accepted so far, counting the one asking."""
        return int(self.control("GET", "/stats")["connections"])


@contextmanager
def simulator() -> Iterator[Sim]:
    """`python -m faxtui sim --port 0` in its own process; its printed URLs."""
    process = subprocess.Popen(
        [sys.executable, "-m", "faxtui", "sim", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        urls: dict[str, str] = {}
        assert process.stdout is not None
        for line in process.stdout:
            name, _, value = line.partition(": ")
            if value.startswith("http"):
                urls[name] = value.strip()
            if name == "control":
                break
        if "control" not in urls:
            raise SystemExit("the simulator did not start")
        yield Sim(process, urls)
    finally:
        process.terminate()
        process.wait(timeout=10)


def interfax_account(sim: Sim, n: int) -> AccountConfig:
    username, password = f"bench-ifx-{n:02d}", f"pw-{n:02d}"
    sim.control("POST", "/accounts", {"service": "interfax", "username": username, "password": password,
                                      "jobs": INTERFAX_JOBS})
    return AccountConfig(name=f"ifx-{n:02d}", service="interfax", endpoint=sim.urls["interfax"],
                         poll_seconds=20.0, username=username, password=SecretRef(value=password))


def concord_account(sim: Sim, n: int) -> AccountConfig:
    user_id, client_id, secret = f"mbx09{n:08d}", f"bench-client-{n:02d}", f"secret-{n:02d}"
    sim.control("POST", "/accounts", {"service": "concord", "user_id": user_id, "jobs": CONCORD_WATCHED,
                                      "client_id": client_id, "client_secret": secret})
    return AccountConfig(name=f"ccd-{n:02d}", service="concord", endpoint=sim.urls["concord"],
                         poll_seconds=15.0, user_id=user_id, token_url=sim.urls["token"], client_id=client_id,
                         client_secret=SecretRef(value=secret))


def concord_ids(sim: Sim) -> dict[str, list[str]]:
    """Every Concord job id per UserID, from the simulator's record of what it created."""
    ids: dict[str, dict[str, None]] = {}
    for change in sim.control("GET", "/truth")["changes"]:
        if change["service"] == "concord":
            ids.setdefault(change["account"], {})[change["job_id"]] = None
    return {user: list(found) for user, found in ids.items()}


@dataclass(frozen=True, slots=True)
class Cycle:
    wall: float
    cpu: float
    connections: int
    jobs: int
    failed: list[str]
    parsed: int = 0
    """Answers read in full (the others were byte for byte the same request's last answer)."""


async def one_cycle(poller: Poller, sim: Sim, profiler: cProfile.Profile | None = None) -> Cycle:
    before = sim.connections()
    if profiler is not None:
        profiler.enable()
    wall, cpu = time.perf_counter(), time.process_time()
    statuses = await poller.poll_once()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if profiler is not None:
        profiler.disable()
    failed = [f"{name}: {s.last_error}" for name, s in statuses.items() if s.health is not Health.OK]
    opened = sim.connections() - before - 1  # less the connection that asked `before`
    return Cycle(wall, cpu, opened, len(poller.jobs), failed)


def setup(sim: Sim, workdir: Path) -> tuple[Config, Path]:
    accounts = [interfax_account(sim, n) for n in range(INTERFAX_ACCOUNTS)]
    accounts += [concord_account(sim, n) for n in range(CONCORD_ACCOUNTS)]
    ids = concord_ids(sim)
    data = workdir / "data"
    with Store.open(data) as store:
        for acc in accounts:
            if acc.service == "concord":
                assert acc.user_id is not None
                for job_id in ids[acc.user_id][:CONCORD_WATCHED]:
                    store.add_watch(acc.name, job_id)
    return Config(path=workdir / "config.toml", accounts=tuple(accounts)), data


COMPONENTS = (
    # (what, where: a path fragment or function name in the profile), first match wins
    ("HTTP stack (httpx, httpcore, h11, anyio)", ("/httpx/", "/httpcore/", "/h11/", "/anyio/")),
    ("failed `import sniffio` in httpcore", ("<frozen importlib", "_distutils_hack", "__editable__")),
    ("faxtui providers: request building, XML parse, FaxJobs", ("faxtui/services/",
                                                                "lxml.etree")),
    ("store: JSON encoding and SQLite", ("faxtui/store/", "faxtui/jsonio.py", "/json/", "sqlite3")),
    ("model: dataclass __init__ / __eq__", ("faxtui/model.py", "<string>", "dataclasses.py")),
    ("poller and budgets", ("faxtui/poller.py", "faxtui/budget.py")),
    ("asyncio and sockets", ("/asyncio/", "selectors.py", "socket")),
)


def breakdown(label: str, profiler: cProfile.Profile) -> str:
    """Own time per component (from cProfile, so inflated by it; the shares are what count)."""
    stats = pstats.Stats(profiler)

    def component(path: str, function: str) -> str:
        where = f"{path}:{function}"
        return next((name for name, marks in COMPONENTS if any(m in where for m in marks)), "other")

    spent: dict[str, float] = {}
    for (path, _, function), (_, _, own, _, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if path == "~" and callers and component(path, function) == "other":
            # A built-in (getattr, dict.get, isinstance...): its time goes to whoever called it.
            for (caller_path, _, caller_function), caller_row in callers.items():
                what = component(caller_path, caller_function)
                spent[what] = spent.get(what, 0.0) + caller_row[2]
            continue
        what = component(path, function)
        spent[what] = spent.get(what, 0.0) + own
    total = sum(spent.values())
    lines = [f"{label}: {total * 1000:.0f} ms under the profiler"]
    for what, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {seconds * 1000:6.0f} ms {seconds / total:6.1%}  {what}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    body = out.getvalue()
    return "\n".join(lines) + "\n" + body[body.find("   ncalls"):]


class ParseCounter:
    """Counts the SOAP answers the clients read in full (the rest repeat a request's last answer
    byte for byte and are not parsed again: `faxtui.services.http.RepeatMemo`)."""

    def __init__(self) -> None:
        self.count = 0
        self._parse = http.parse_response

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return self._parse(*args, **kwargs)

        http.parse_response = counted  # type: ignore[assignment]

    def close(self) -> None:
        http.parse_response = self._parse


async def two_cycles(config: Config, data: Path, sim: Sim, profile: bool) -> tuple[Cycle, Cycle, str]:
    profiles: list[str] = []
    counter = ParseCounter()
    with Store.open(data) as store:
        poller = Poller(config, store)
        try:
            cycles = []
            for _ in range(2):
                profiler = cProfile.Profile() if profile else None
                counter.count = 0
                cycle = await one_cycle(poller, sim, profiler)
                cycles.append(dataclasses.replace(cycle, parsed=counter.count))
                if profiler is not None:
                    profiles.append(breakdown(f"cycle {len(cycles)}", profiler))
        finally:
            await poller.aclose()
            counter.close()
    return cycles[0], cycles[1], "\n".join(profiles)


async def without_memo(config: Config, fresh: Path, sim: Sim) -> Cycle:
    """The second cycle again, from a copy of the store as set up, with the clients remembering no
    answer: every answer read in full, what a cycle costs when every page and batch has changed."""
    limit, http.REPEAT_MEMO_LIMIT = http.REPEAT_MEMO_LIMIT, 0
    try:
        _, second, _ = await two_cycles(config, fresh, sim, profile=False)
    finally:
        http.REPEAT_MEMO_LIMIT = limit
    return second


def verdicts(label: str, cycle: Cycle) -> list[Result]:
    return [
        Result("poll", f"{label}: wall", f"{cycle.wall * 1000:.0f} ms", f"< {WALL_TARGET:g} s",
               cycle.wall < WALL_TARGET and not cycle.failed),
        Result("poll", f"{label}: faxtui CPU", f"{cycle.cpu * 1000:.0f} ms", f"< {CPU_TARGET:g} s",
               cycle.cpu < CPU_TARGET and not cycle.failed),
    ]


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_poll")
    parser.add_argument("--profile", action="store_true",
                        help="profile both cycles with cProfile (the timings then include its overhead)")
    args = parser.parse_args(argv)
    header(f"Poll cycle: {INTERFAX_ACCOUNTS} InterFax accounts x {INTERFAX_JOBS} jobs + {CONCORD_ACCOUNTS} "
           f"Concord accounts x {CONCORD_WATCHED} watched ids, simulator in its own process, real Store")
    with simulator() as sim, tempfile.TemporaryDirectory(prefix="faxtui-bench-") as tmp:
        config, data = setup(sim, Path(tmp))
        fresh = shutil.copytree(data, Path(tmp) / "fresh")
        sim.control("DELETE", "/stats")
        first, second, profiles = asyncio.run(two_cycles(config, data, sim, args.profile))
        stats = sim.control("GET", "/stats")
        unmemoised = asyncio.run(without_memo(config, fresh, sim))
    requests = {name: s["requests"] for name, s in stats["services"].items()}
    results = [
        Result("poll", "requests over both cycles", ", ".join(f"{k} {v}" for k, v in sorted(requests.items()))
               + f"; jobs known after the cycles: {second.jobs}"),
        *verdicts("first cycle (token fetch, every job inserted)", first),
        Result("poll", "first cycle: connections opened", str(first.connections)),
        Result("poll", "answers read in full: first cycle / second cycle",
               f"{first.parsed} / {second.parsed} (the rest: their request's last answer, byte for byte)"),
        *verdicts("second cycle", second),
        Result("poll", "second cycle: connections opened (all reused)", str(second.connections), "0",
               second.connections == 0),
        *verdicts(f"second cycle, no answer remembered ({unmemoised.parsed} read in full, as if all changed)",
                  unmemoised),
    ]
    for cycle in (first, second):
        for failure in cycle.failed:
            results.append(Result("poll", "account failed", failure, "none", False))
    report(results)
    if profiles:
        print(f"\nWhere the time goes, by component (cProfile own time):\n{profiles}")
    return results


if __name__ == "__main__":
    sys.exit(exit_code(main()))
