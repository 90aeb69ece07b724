"""Soak: the poller against the simulator for a day of fax traffic, with 5% random faults.

    python -m benchmarks.soak [--hours 24] [--speed N] [--fault-rate 0.05] [--seed 1 [--seed 2 ...]]

`make bench` runs it for seeds 1, 2 and 9 (`benchmarks/bench_soak.py`).

The simulator runs in its own process on a `RealClock` `--speed` times faster than real time
(default: fast enough that the run takes about four minutes of wall time), with four accounts
(two InterFax users, two Concord users, one of them on OAuth) whose faxes arrive every 30
simulated seconds on average and live realistic lives. Every service (the OAuth token endpoint
too) gets random faults on `--fault-rate` of its requests, drawn from every kind the simulator
has (HTTP 5xx/429, drops, truncated and malformed bodies, wrong content type and operation,
ResultCode -150/-1003/-1011, Concord return=false, slow answers past the client's timeout).
Like an operator, the benchmark watches every new Concord job and one InterFax job in ten as
the world creates them.

Time: the poller is configured in wall seconds (its poll intervals are the simulated 20 s / 15 s
divided by the speed) and given `clock_speed`, so its rate windows shrink by the same factor:
InterFax's 6 calls in 61 simulated seconds. The simulator counts its own limit in simulated
time; it is given a 50 s window instead of 60 because at this speed a few milliseconds of
loopback and scheduling jitter are several simulated seconds, and a client that keeps 6 calls
in any 61 s also keeps them in any 50 s. A -1011 the simulator has to give on its own (not an
injected one) would still show a budget bug: it is counted and must be 0.

At the end the faults are cleared, every account polls once more, and the poller's picture is
checked against the simulator's ground truth (`/_sim/truth`):

- final states: every job the poller can see (the last InterFax page and looked-up ids, every
  watched Concord job) shows a state the world had at the poller's last poll;
- terminal transitions: every move to delivered / failed / cancelled the world made for a job the
  poller can see was seen by the poller (a `StateChange` into that state);
- left unfinished: no job the poller holds is shown queued, sending or retrying when the world
  finished it more than 30 simulated minutes before the end (whether or not it is watched or on a
  page: the picture the user is left with);
- zero crashes: the poll loops are all alive, no internal error was ever shown, no exception
  reached the event loop; the state database passes its integrity check;
- memory: the poller process's RSS at start (after the first polls), peak and end.

Exit status 0 when nothing was missed and nothing crashed, else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import math
import multiprocessing as mp
import os
import re
import shutil
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.common import Result, header, report

START = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
WALL_TARGET = 240.0
"""Wall seconds a run should take; the default speed follows from it."""
SIM_RATE_WINDOW = 50.0
FINAL_STATES = frozenset({"delivered", "failed", "cancelled"})
ACTIVE_STATES = frozenset({"queued", "sending", "retrying"})
INTERFAX_PAGE = 100
IFX_USERS = {"ifx-demo": ("demo", "demo"), "ifx-soak": ("soak", "soak-pass")}
CC_USERS = {"cc-oauth": "mbx0000000001", "cc-token": "mbx0000000002"}
FAULT_KINDS = {
    "interfax": ["http500", "http502", "http503", "http429=1", "drop", "drop_mid", "truncate", "malformed",
                 "html", "wrong_op", "result=-150", "result=-1003", "result=-1011", "slow=0.3"],
    "concord": ["http500", "http502", "http503", "http429=1", "drop", "drop_mid", "truncate", "malformed",
                "html", "wrong_op", "false", "slow=0.3"],
    "token": ["http500", "http503", "drop", "malformed"],
}
TIMEOUT = 0.15
"""The accounts' request timeout, in wall seconds (below the 0.3 s `slow` fault). Wall time is the
one thing the speed-up does not compress: 0.15 s is already 54 simulated seconds."""


def fault_spec(rate: float) -> str:
    """Rules whose combined chance of firing on one request is `rate` (the first that fires wins)."""
    rules = []
    for service, kinds in FAULT_KINDS.items():
        p = 1 - (1 - rate) ** (1 / len(kinds))
        rules += [f"{service}:{kind}:p={p:.5f}" for kind in kinds]
    return ",".join(rules)


# --- the simulator, in its own process --------------------------------------------------------------


def serve(conn: Connection, seed: int, speed: float, faults: str) -> None:
    from faxtui.sim import RealClock, SimOptions, SimServer, World

    options = SimOptions(seed=seed, speed=speed, rate_limit_window=SIM_RATE_WINDOW)
    clock = RealClock(speed, start=START)
    world = World(options, clock)
    world.add_interfax_account("soak", "soak-pass", jobs=100)
    world.add_concord_account(CC_USERS["cc-token"], "pin-2", jobs=20, token="soak-token")
    server = SimServer(world=world, faults=faults).start()
    conn.send((server.port, clock._mono))  # the world's time = START + (monotonic - this) * speed
    conn.recv()
    server.stop()


# --- memory ----------------------------------------------------------------------------------------


def rss() -> int:
    with open(f"/proc/{os.getpid()}/statm", "rb") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class RssSampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.samples: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            value = rss()
            self.samples.append(value)
            self.peak = max(self.peak, value)


# --- the run ---------------------------------------------------------------------------------------


@dataclass
class Observed:
    """What the poller told its listener."""

    failures: Counter[str] = field(default_factory=Counter)
    failed_polls: int = 0
    recoveries: int = 0
    internal_errors: list[str] = field(default_factory=list)
    seen_states: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    changes: int = 0
    last_jobs: dict[str, list[Any]] = field(default_factory=dict)
    last_window: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    loop_exceptions: list[str] = field(default_factory=list)


def kind_of(message: str) -> str:
    """A failure message without its host, account and details: what kind of failure it was."""
    text = re.sub(r"^127\.0\.0\.1:\d+:? ", "", message)
    text = re.sub(r" (for|by) (account )?\S+.*$| from 127.*$| \(.*$|: .*$|, not XML$", "", text)
    return text[:50]


def mb(value: float) -> str:
    return f"{value / 2**20:.1f} MB"


async def soak(hours: float, speed: float, rate: float, seed: int) -> int:
    import httpx

    from faxtui.config import AccountConfig, Config, SecretRef, UIConfig
    from faxtui.events import AccountUpdated, JobsUpdated, PollerEvent
    from faxtui.poller import Poller
    from faxtui.store import Store

    faults = fault_spec(rate)
    parent, child = mp.get_context("spawn").Pipe()
    proc = mp.get_context("spawn").Process(target=serve, args=(child, seed, speed, faults), daemon=True)
    proc.start()
    port, mono0 = parent.recv()
    base = f"http://127.0.0.1:{port}"

    def sim_now() -> datetime:
        return START + timedelta(seconds=(time.monotonic() - mono0) * speed)

    seen = Observed()
    asyncio.get_running_loop().set_exception_handler(
        lambda loop, context: seen.loop_exceptions.append(str(context.get("message"))))

    def listen(event: PollerEvent) -> None:
        if isinstance(event, AccountUpdated):
            status = event.status
            if status.last_error is not None:
                seen.failed_polls += 1
                if event.failed:
                    seen.failures[kind_of(status.last_error)] += 1
            if event.recovered:
                seen.recoveries += 1
            if status.last_error and re.match(r"internal error|unexpected", status.last_error):
                seen.internal_errors.append(status.last_error)
        elif isinstance(event, JobsUpdated):
            seen.last_jobs[event.account] = list(event.jobs)
            # The answers in this event came between the start of the poll and now.
            seen.last_window[event.account] = (poller.statuses[event.account].last_attempt, event.at)
            for change in event.changes:
                seen.seen_states[change.job.key].add(change.job.state.value)
                seen.changes += 1

    accounts = [
        AccountConfig(name=name, service="interfax", endpoint=f"{base}/dfs.asmx", poll_seconds=20 / speed,
                      username=user, password=SecretRef(value=password), timeout_seconds=TIMEOUT)
        for name, (user, password) in IFX_USERS.items()
    ] + [
        AccountConfig(name="cc-oauth", service="concord", endpoint=f"{base}/fax/v5", poll_seconds=15 / speed,
                      user_id=CC_USERS["cc-oauth"], token_url=f"{base}/v1/connect/token", client_id="demo",
                      client_secret=SecretRef(value="demo"), timeout_seconds=TIMEOUT),
        AccountConfig(name="cc-token", service="concord", endpoint=f"{base}/fax/v5",
                      poll_seconds=15 / speed, user_id=CC_USERS["cc-token"],
                      token=SecretRef(value="soak-token"), timeout_seconds=TIMEOUT),
    ]
    account_of = {user: name for name, (user, _) in IFX_USERS.items()} | {u: n for n, u in CC_USERS.items()}
    data = Path(tempfile.mkdtemp(prefix="faxtui-soak-"))
    config = Config(path=data / "config.toml", ui=UIConfig(), accounts=tuple(accounts))
    sampler = RssSampler()
    watched_at: dict[tuple[str, str], datetime] = {}
    control = httpx.AsyncClient(base_url=base, timeout=30)
    crashed: list[str] = []
    wall_started = time.monotonic()
    with Store.open(data / "state") as store:
        poller = Poller(config, store, emit=listen, now=sim_now, clock_speed=speed)
        run = asyncio.create_task(poller.run())
        since = START - timedelta(seconds=1)
        end = START + timedelta(hours=hours)
        started_rss = 0
        ifx_counter = 0
        while sim_now() < end:
            await asyncio.sleep(0.25)
            truth = (await control.get("/_sim/truth", params={"since": since.isoformat()})).json()
            for record in truth["changes"]:
                since = max(since, datetime.fromisoformat(record["time"].replace("Z", "+00:00")))
                if record["old_state"] is not None:
                    continue
                name = account_of.get(record["account"])
                if name is None:
                    continue
                if record["service"] == "interfax":
                    ifx_counter += 1
                    if ifx_counter % 10:
                        continue
                poller.add_watch(name, record["job_id"])
                watched_at[(name, record["job_id"])] = sim_now()
            if not started_rss and all(s.last_good_poll for s in poller.statuses.values()):
                started_rss = rss()
                sampler.start()
            if run.done():
                crashed.append(f"poller.run() ended: {run.exception()!r}")
                break
        # The end: faults off, one more good poll of every account, then stop.
        await control.delete("/_sim/faults")
        cleared = sim_now()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(
            s.last_good_poll is not None and s.last_good_poll > cleared for s in poller.statuses.values()
        ):
            await asyncio.sleep(0.05)
        dead = [name for name, loop in poller._loops.items() if loop.task is None or loop.task.done()]
        crashed += [f"poll loop of {name} ended" for name in dead]
        if run.done():
            crashed.append("poller.run() ended")
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        await poller.aclose()
        sampler.stop.set()
        end_rss = rss()
        last_poll = {name: s.last_good_poll for name, s in poller.statuses.items()}
        calls = {name: s.calls_made for name, s in poller.statuses.items()}
        jobs = dict(poller.jobs)
        stats = (await control.get("/_sim/stats")).json()
        truth = (await control.get("/_sim/truth")).json()["changes"]
        integrity = store.integrity_ok()
        watch_count = len(store.watch_list())
    await control.aclose()
    parent.send("stop")
    proc.join(timeout=10)
    shutil.rmtree(data, ignore_errors=True)
    wall = time.monotonic() - wall_started

    # --- the ground truth ----------------------------------------------------------------------
    history: dict[tuple[str, str], list[tuple[datetime, str, int]]] = defaultdict(list)
    appeared: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for record in truth:
        name = account_of.get(record["account"])
        if name is None:
            continue
        at = datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
        history[(name, record["job_id"])].append((at, record["new_state"], record["new_status"]))
        if record["old_state"] is None and record["service"] == "interfax":
            appeared[name].append((int(record["job_id"]), at))

    def states_between(key: tuple[str, str], start: datetime, stop: datetime) -> set[str]:
        records = history.get(key, [])
        times = [r[0] for r in records]
        first = bisect.bisect_right(times, start) - 1
        last = bisect.bisect_right(times, stop) - 1
        return {records[i][1] for i in range(max(0, first), last + 1) if i >= 0}

    mismatched: list[str] = []
    checked = 0
    for name in [a.name for a in accounts]:
        asked_at, poll_at = seen.last_window[name]
        if name in IFX_USERS:
            visible = {job.job_id: job for job in seen.last_jobs.get(name, [])}
        else:
            visible = {key[1]: job for key, job in jobs.items() if key[0] == name}
        for job_id, job in visible.items():
            key = (name, job_id)
            if key not in history:
                continue
            checked += 1
            allowed = states_between(key, asked_at, poll_at)
            if job.state.value not in allowed:
                mismatched.append(f"{name}/{job_id}: shows {job.state.value}, world had {sorted(allowed)}")

    # Terminal transitions of jobs the poller can see: watched ones, and InterFax jobs that were
    # still on the first page ten simulated minutes after they finished. Those of the last half
    # hour are left out: a watched job off the first page waits its turn for a look-up (two a
    # minute, shared by all of them), so the poller may not have asked yet.
    on_page = timedelta(minutes=10)
    tail = timedelta(minutes=30)
    order = {name: sorted(items) for name, items in appeared.items()}
    expected = 0
    missed: list[str] = []
    for key, records in history.items():
        name, job_id = key
        for at, state, _ in records:
            if state not in FINAL_STATES or at > cleared - tail:
                continue
            if name in IFX_USERS and key not in watched_at:
                ids = order[name]
                tid = int(job_id)
                position = bisect.bisect_right([i for i, _ in ids], tid)
                newer = sum(1 for i, t in ids[position:] if t <= at + on_page)
                if newer >= INTERFAX_PAGE:
                    continue
            elif name in CC_USERS and key not in watched_at:
                continue
            expected += 1
            if state not in seen.seen_states.get(key, set()):
                shown = jobs.get(key)
                missed.append(
                    f"{name}/{job_id}: {state} at {at:%d %H:%M:%S}; watched: {key in watched_at}; "
                    f"the poller shows {shown.state.value if shown else 'nothing'}, saw "
                    f"{sorted(seen.seen_states.get(key, set()))}; the world: "
                    + ", ".join(f"{t:%H:%M:%S} {st}" for t, st, _ in records))

    # Jobs the poller still shows unfinished although the world finished them more than the tail
    # before the end: the picture the user is left with must not claim they are still going.
    left: list[str] = []
    for key, job in jobs.items():
        records = history.get(key)
        if job.state.value in FINAL_STATES or not records:
            continue
        at, state, _ = records[-1]
        if state in FINAL_STATES and at <= cleared - tail:
            left.append(f"{key[0]}/{key[1]}: {state} at {at:%d %H:%M:%S}, shown {job.state.value}; "
                        f"watched: {key in watched_at}")

    sim_hours = (cleared - START).total_seconds() / 3600
    services = stats.get("services", {})
    print(f"  simulated {sim_hours:.1f} h in {wall:.0f} s of wall time (speed {speed:g}), "
          f"fault rate {rate:.0%} on every service, seed {seed}")
    print(f"  world: {len(history)} jobs, {len(truth)} state changes; watched {watch_count} ids")
    requests = {name: services.get(name, {}).get("requests", 0) for name in ("interfax", "concord", "token")}
    print(f"  requests: interfax {requests['interfax']}, concord {requests['concord']}, "
          f"token {requests['token']}; "
          f"faults fired {stats.get('faults_fired', 0)}; calls made by the poller {sum(calls.values())}")
    print(f"  InterFax -1011 the simulator had to give on its own: {stats.get('rate_limited', 0)} (target 0)")
    print(f"  poll errors: {seen.failed_polls} failed polls in {sum(seen.failures.values())} streaks, "
          f"{seen.recoveries} recoveries, every account OK at the end: "
          f"{all(p is not None and p > cleared for p in last_poll.values())}")
    print("    streaks by first error: " + "; ".join(f"{k} x{v}" for k, v in seen.failures.most_common()))
    print(f"  state changes seen by the poller: {seen.changes}")
    print(f"  final states checked against the world: {checked}, mismatched: {len(mismatched)} (target 0)")
    for line in mismatched[:10]:
        print(f"    {line}")
    print(f"  terminal transitions the poller could see: {expected}, missed: {len(missed)} (target 0)")
    for line in missed[:10]:
        print(f"    {line}")
    print(f"  jobs shown unfinished that the world finished over {tail.total_seconds() / 60:.0f} min "
          f"before the end: {len(left)} (target 0)")
    for line in left[:10]:
        print(f"    {line}")
    print(f"  crashes: {len(crashed) + len(seen.internal_errors) + len(seen.loop_exceptions)} (target 0)"
          + "".join(f"\n    {c}" for c in crashed + seen.internal_errors[:5] + seen.loop_exceptions[:5]))
    print(f"  state database integrity: {'ok' if integrity else 'FAILED'}; jobs held in memory: {len(jobs)}")
    print(f"  poller process RSS: start {mb(started_rss)}, peak {mb(max(sampler.peak, end_rss))}, "
          f"end {mb(end_rss)}, growth {mb(end_rss - started_rss)}")
    crashes = len(crashed) + len(seen.internal_errors) + len(seen.loop_exceptions)
    refused = int(stats.get("rate_limited", 0))
    ok = not mismatched and not missed and not left and not crashes and integrity and refused == 0
    print(f"  verdict: {'PASS' if ok else 'FAIL'}")
    run = f"seed {seed}, {sim_hours:.0f} h"
    report([
        Result("soak", f"{run}: terminal transitions missed (of {expected})", str(len(missed)), "0",
               not missed),
        Result("soak", f"{run}: jobs left shown unfinished", str(len(left)), "0", not left),
        Result("soak", f"{run}: final states mismatched (of {checked})", str(len(mismatched)), "0",
               not mismatched),
        Result("soak", f"{run}: -1011 the simulator gave on its own", str(refused), "0", refused == 0),
        Result("soak", f"{run}: crashes; database integrity", f"{crashes}; {'ok' if integrity else 'FAILED'}",
               "0; ok", not crashes and integrity),
        Result("soak", f"{run}: poller RSS growth", mb(end_rss - started_rss)),
    ])
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    parser.add_argument("--speed", type=float, default=None, help="simulated seconds per real second "
                        f"(default: the run takes ~{WALL_TARGET:.0f} s)")
    parser.add_argument("--fault-rate", type=float, default=0.05,
                        help="share of requests faulted (default 0.05)")
    parser.add_argument("--seed", type=int, action="append", dest="seeds",
                        help="the world's seed (default 1); repeat to soak several worlds in turn")
    args = parser.parse_args(argv)
    speed = args.speed or max(1.0, math.ceil(args.hours * 3600 / WALL_TARGET))
    failed = 0
    for seed in args.seeds or [1]:
        header(f"soak: {args.hours:g} simulated hours of fax traffic against the poller (seed {seed})")
        try:
            failed |= asyncio.run(soak(args.hours, speed, args.fault_rate, seed))
        except KeyboardInterrupt:
            return 130
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
