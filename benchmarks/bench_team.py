"""Team benchmark: three faxtui processes watching one InterFax user (6 status calls a minute).

Issue 14 measured on main, before team mode, three processes against `faxtui sim` with one
InterFax account polled every 10 s: with their own data directories, 16 calls in 150 s and 6 of
them answered -1011; sharing one, no -1011 but each polled every ~30 s. Here, side by side in one
run, three `faxtui poll` processes (real processes, real loopback HTTP, the simulator on a real
clock):

- apart: each with its own data directory, so no store to meet in (three users who do not share
  a store: what team mode cannot help, and the reason it exists);
- together: one store (the SQLite file of one data directory; `--store URL` of a PostgreSQL
  server is the same for processes on different machines): one polls, two stand by.

For each: calls the simulator answered, -1011 it had to give, and how fresh the picture in the
store was (the age of the account's last good poll, sampled every second: what every viewer shows,
within a second).

Then, on each backend (SQLite, and a throwaway PostgreSQL server when `initdb` is found, started as
the tests start theirs): one poller and 1, 10 and 50 viewer processes for `--viewer-seconds`
each. A viewer is the TUI's follower without its screen (a follow-only `Poller`, what `faxtui
--follow` runs under its widgets; drawing is measured by bench_idle): the service calls a minute
(they must not change with the viewers), change-to-viewer latency (from the poll that stored a
state change to the viewer holding it) p50/p95, CPU per viewer. And the takeover: the holder of
two pollers killed -9, the seconds until the other polls. Run:

    python -m benchmarks.bench_team [--seconds 120] [--viewer-seconds 60]
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.common import Result, exit_code, header, report

if TYPE_CHECKING:
    from faxtui.sim import SimServer

POLL_SECONDS = 10.0
PROCESSES = 3
DEFAULT_SECONDS = 120.0
FRESH_TARGET = POLL_SECONDS + 2.0
"""The picture is as fresh as one poller polling every 10 s makes it (plus a call's latency)."""
CALLS_PER_MINUTE = 6


@dataclass(frozen=True, slots=True)
class Run:
    calls: int
    refused: int
    seconds: float
    worst_age: float
    median_age: float

    @property
    def per_minute(self) -> float:
        return self.calls / self.seconds * 60


def account_toml(endpoint: str, username: str) -> str:
    return (f'[[accounts]]\nname = "desk"\nservice = "interfax"\nendpoint = "{endpoint}"\n'
            f'username = "{username}"\npassword_env = "BENCH_DESK_PASSWORD"\n'
            f"poll_seconds = {POLL_SECONDS:g}\n")


def last_good_ages(data_dirs: list[Path]) -> list[float]:
    """Seconds since each store's last good poll of "desk" (inf before the first)."""
    from faxtui.store import Store

    ages = []
    for directory in data_dirs:
        with Store.open(directory) as store:
            good = store.load_account_states().get("desk", (None, None))[0]
        ages.append(float("inf") if good is None else (datetime.now(UTC) - good).total_seconds())
    return ages


def run(sim: SimServer, root: Path, *, shared: bool, seconds: float) -> Run:
    """Three processes for `seconds`; each way is its own InterFax user (its own rate window)."""
    username = root.name
    root.mkdir(parents=True)
    config = root / "config.toml"
    config.write_text(account_toml(sim.interfax_url, username))
    dirs = [root / "data"] * PROCESSES if shared else [root / f"data-{n}" for n in range(PROCESSES)]
    calls0 = sim.stats.requests("interfax", username)
    refused0 = int(sim.stats.snapshot()["rate_limited"])
    procs = []
    for directory in dirs:
        env = {**os.environ, "FAXTUI_CONFIG": str(config), "FAXTUI_DATA_DIR": str(directory),
               "BENCH_DESK_PASSWORD": "desk-pass"}
        procs.append(subprocess.Popen([sys.executable, "-m", "faxtui", "poll"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.5)
    started = time.monotonic()
    ages: list[float] = []
    try:
        time.sleep(POLL_SECONDS + 2)  # every process has polled (or stood by) once
        while time.monotonic() - started < seconds:
            ages.extend(last_good_ages(sorted(set(dirs))))
            time.sleep(1.0)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
    elapsed = time.monotonic() - started
    finite = sorted(a for a in ages if a != float("inf")) or [float("inf")]
    return Run(
        calls=sim.stats.requests("interfax", username) - calls0,
        refused=int(sim.stats.snapshot()["rate_limited"]) - refused0,
        seconds=elapsed,
        worst_age=max(ages, default=float("inf")),
        median_age=finite[len(finite) // 2],
    )


VIEWER_COUNTS = (1, 10, 50)
DEFAULT_VIEWER_SECONDS = 60.0
VIEWER = """
import asyncio, json, sys, time
from faxtui.config import Config, UIConfig
from faxtui.events import JobsUpdated
from faxtui.poller import Poller
from faxtui.store import open_store
from faxtui.team import TeamOptions
from pathlib import Path

seen = []
def emit(event):
    if isinstance(event, JobsUpdated):
        now = time.time()
        seen.extend((c.job.job_id, c.job.state.value, now) for c in event.changes if c.old is not None)

async def main():
    store = open_store(sys.argv[1])
    poller = Poller(Config(path=Path("none.toml"), ui=UIConfig(), accounts=()), store, emit=emit,
                    team=TeamOptions(f"viewer:{sys.argv[2]}", poll=False))
    task = asyncio.create_task(poller.run())
    await asyncio.sleep(1)
    print("ready", file=sys.stderr, flush=True)
    await asyncio.sleep(float(sys.argv[3]))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    print(json.dumps(seen))

asyncio.run(main())
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Viewers:
    count: int
    calls_per_minute: float
    latencies: list[float]
    cpu_percent_per_viewer: float

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def watch_with_viewers(sim: SimServer, root: Path, url: str, count: int, seconds: float) -> Viewers:
    """One `faxtui poll` and `count` viewers on `url` for `seconds`."""
    username = root.name
    root.mkdir(parents=True)
    config = root / "config.toml"
    config.write_text(account_toml(sim.interfax_url, username))
    env = {**os.environ, "FAXTUI_CONFIG": str(config), "FAXTUI_DATA_DIR": str(root / "poller"),
           "BENCH_DESK_PASSWORD": "desk-pass"}
    poller = subprocess.Popen([sys.executable, "-m", "faxtui", "poll", "--store", url], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    calls0 = sim.stats.requests("interfax", username)
    viewers = [subprocess.Popen([sys.executable, "-c", VIEWER, url, str(n), str(seconds)],
                                env={**os.environ, "FAXTUI_DATA_DIR": str(root / f"viewer-{n}")},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for n in range(count)]
    started = time.monotonic()
    for viewer in viewers:  # started (Python, imports, the first sync): count their CPU from here
        assert viewer.stderr is not None
        said = viewer.stderr.readline().strip()
        if said != "ready":
            raise RuntimeError(f"a viewer did not start: {said} {viewer.stderr.read()[-2000:]}")
    cpu0 = {v.pid: cpu_seconds(v.pid) for v in viewers}
    cpu_started = time.monotonic()
    time.sleep(max(0.0, seconds - (time.monotonic() - started) - 1))
    cpu = sum(cpu_seconds(v.pid) - cpu0[v.pid] for v in viewers)
    cpu_elapsed = time.monotonic() - cpu_started
    calls = sim.stats.requests("interfax", username) - calls0
    outputs = [v.communicate(timeout=60)[0] for v in viewers]
    poller.send_signal(signal.SIGTERM)
    poller.wait(timeout=30)
    from faxtui.store import open_store

    with open_store(url) as store:
        polled: dict[tuple[str, str], list[float]] = {}
        for t in store.recent_transitions(100_000):
            if t.account == "desk":
                polled.setdefault((t.job_id, t.new_state), []).append(t.at.timestamp())
    for stamps in polled.values():
        stamps.sort()
    latencies = []
    for output in outputs:
        for job_id, state, at in json.loads(output):
            stamps = polled.get((job_id, state), [])
            before = bisect.bisect_right(stamps, at)
            if before:  # the poll that stored this change: the latest one before the viewer had it
                latencies.append(at - stamps[before - 1])
    return Viewers(count, calls / (time.monotonic() - started) * 60, latencies,
                   cpu / cpu_elapsed / count * 100)


def takeover(sim: SimServer, root: Path, url: str) -> tuple[float, float]:
    """Two pollers; the holder killed -9; seconds until the other takes the lease, and until its
    first call (which also waits for the rate window the dead one's calls still fill)."""
    username = root.name
    root.mkdir(parents=True)
    config = root / "config.toml"
    config.write_text(account_toml(sim.interfax_url, username))
    procs = []
    for n in range(2):
        env = {**os.environ, "FAXTUI_CONFIG": str(config), "FAXTUI_DATA_DIR": str(root / f"poller-{n}"),
               "BENCH_DESK_PASSWORD": "desk-pass"}
        procs.append(subprocess.Popen([sys.executable, "-m", "faxtui", "poll", "--store", url], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        time.sleep(3)
    taken: list[float] = []

    def watch(stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            if "lease taken" in line:
                taken.append(time.monotonic())

    threading.Thread(target=watch, args=(procs[1].stderr,), daemon=True).start()
    time.sleep(POLL_SECONDS)
    procs[0].kill()  # the first one started holds the lease
    killed = time.monotonic()
    calls = sim.stats.requests("interfax", username)
    while sim.stats.requests("interfax", username) == calls and time.monotonic() - killed < 120:
        time.sleep(0.05)
    first_call = time.monotonic() - killed
    procs[1].send_signal(signal.SIGTERM)
    procs[1].wait(timeout=30)
    procs[0].wait(timeout=30)
    return (taken[0] - killed if taken else float("inf")), first_call


def postgres_url(stack: contextlib.ExitStack) -> str | None:
    """A database on a throwaway PostgreSQL server (the tests' own fixture code), or None."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import pg_fixtures

    bindir = pg_fixtures.find_pg_bin()
    if bindir is None:
        return None
    server = pg_fixtures._start(bindir)
    stack.callback(shutil.rmtree, server.root, ignore_errors=True)
    stack.callback(server.stop)
    return str(server.url(server.create_database()))


def apart_and_together(apart: Run, together: Run) -> list[Result]:
    return [
        Result("team", "apart (own data dirs): calls a minute, -1011, worst age",
               f"{apart.per_minute:.1f}, {apart.refused}, {apart.worst_age:.0f} s"),
        Result("team", "together (one store): -1011 the service gave", str(together.refused), "0",
               together.refused == 0),
        Result("team", "together: status calls a minute (the limit is the simulator's: any 7th in 60 s "
               "is refused, counted above)", f"{together.per_minute:.1f}"),
        Result("team", "together: worst age of the last good poll (what every viewer shows)",
               f"{together.worst_age:.1f} s (median {together.median_age:.1f} s)",
               f"<= {FRESH_TARGET:g} s", together.worst_age <= FRESH_TARGET),
    ]


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_team",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    parser.add_argument("--viewer-seconds", type=float, default=DEFAULT_VIEWER_SECONDS)
    parser.add_argument("--takeover-only", action="store_true", help="measure only the takeover")
    args = parser.parse_args(argv)
    from faxtui.sim import RealClock, SimOptions, World

    header(f"team: {PROCESSES} faxtui poll processes, one InterFax user polled every {POLL_SECONDS:g} s, "
           f"{args.seconds:g} s each way")
    world = World(SimOptions(seed=5, arrival_mean_seconds=15), RealClock(1.0))
    users = ["apart", "together"]
    for backend in ("sqlite", "postgresql"):
        users += [f"{backend}-{count}" for count in VIEWER_COUNTS] + [f"{backend}-takeover"]
    for username in users:
        world.add_interfax_account(username, "desk-pass", jobs=60)
    results: list[Result] = []
    from faxtui.sim import SimServer

    viewers: dict[tuple[str, int], Viewers] = {}
    takeovers: dict[str, tuple[float, float]] = {}
    with (SimServer(world=world) as sim, tempfile.TemporaryDirectory(prefix="faxtui-team-") as tmp,
          contextlib.ExitStack() as stack):
        runs = {} if args.takeover_only else {
            "apart": run(sim, Path(tmp) / "apart", shared=False, seconds=args.seconds),
            "together": run(sim, Path(tmp) / "together", shared=True, seconds=args.seconds),
        }
        backends = {"sqlite": f"sqlite:///{tmp}/shared/state.sqlite3", "postgresql": postgres_url(stack)}
        for backend, url in backends.items():
            if url is None:
                print(f"  {backend}: not measured (no PostgreSQL server binaries on this machine)")
                continue
            for count in VIEWER_COUNTS if not args.takeover_only else ():
                viewers[(backend, count)] = watch_with_viewers(sim, Path(tmp) / f"{backend}-{count}", url,
                                                               count, args.viewer_seconds)
            takeovers[backend] = takeover(sim, Path(tmp) / f"{backend}-takeover", url)
    for name, r in runs.items():
        print(f"  {name:9} calls {r.calls} ({r.per_minute:.1f}/min), -1011 {r.refused}, "
              f"last good poll age: median {r.median_age:.1f} s, worst {r.worst_age:.1f} s")
    if runs:
        results += apart_and_together(runs["apart"], runs["together"])
    base = {b: v.calls_per_minute for (b, count), v in viewers.items() if count == VIEWER_COUNTS[0]}
    for (backend, count), v in viewers.items():
        print(f"  {backend:10} {count:2} viewer(s): {v.calls_per_minute:.1f} calls/min, change to viewer "
              f"p50 {v.quantile(0.5):.2f} s p95 {v.quantile(0.95):.2f} s ({len(v.latencies)} changes), "
              f"CPU {v.cpu_percent_per_viewer:.2f}% of a core per viewer")
        results.append(Result("team", f"{backend}, {count} viewer(s): calls a minute; change to viewer "
                                      "p50 / p95; CPU per viewer",
                              f"{v.calls_per_minute:.1f}; {v.quantile(0.5):.2f} / {v.quantile(0.95):.2f} s; "
                              f"{v.cpu_percent_per_viewer:.2f}% of a core",
                              f"~{CALLS_PER_MINUTE} whatever the viewers; p95 <= 1 s",
                              abs(v.calls_per_minute - base[backend]) <= 1.5 and v.quantile(0.95) <= 1.0))
    for backend, (lease, first_call) in takeovers.items():
        bound = max(3 * POLL_SECONDS, 30.0)
        results.append(Result("team", f"{backend}: kill -9 of the poller to the standby taking its lease",
                              f"{lease:.1f} s", f"<= {bound:g} s", lease <= bound))
        results.append(Result("team", f"{backend}: ... to the standby's first call (it waits for the rate "
                                      "window the dead poller's calls still fill)", f"{first_call:.1f} s"))
    report(results)
    return results


if __name__ == "__main__":
    raise SystemExit(exit_code(main()))
