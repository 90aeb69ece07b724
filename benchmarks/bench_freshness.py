"""Freshness benchmark: how soon each change in the world is in the store, at 6 calls a minute.

    python -m benchmarks.bench_freshness [--hours 2] [--loads 10,100,500,2000] [--seed 7]

For each load, a simulator world on a fake clock (in this process, over loopback HTTP) with one
InterFax user and its history, and a number of unfinished jobs beyond the newest page: single
faxes retrying, or broadcasts whose every recipient misses and retries, the retries 10 to 40
minutes apart (SimOptions `interfax_retry_wait_*`), so that the unfinished jobs finish over about
two hours. New faxes keep arriving (every 30 s on average). The InterFax limit is the real one, 6
status calls in 60 s (the poller keeps 6 in 61 s).

Each scheduler polls the same world from the same start, on the same clock:

- naive: the newest page only, every 10 s (all six calls on page one);
- today: faxtui's scheduler before this change (the newest page every 20 s, then one look-up per
  off-page job from the budget's remainder; `benchmarks/reference_schedulers.py`);
- windows: faxtui's scheduler (the newest page, then the fewest windows covering every unfinished
  job, most urgent first, while the budget has room);
- bound: for each change, the fewest calls that could list every unfinished job of the account
  at that moment once (the newest page plus windows of 100 of its transactions, planned over the
  world's own ids), times 10 s: how long a scheduler spending every call perfectly would need to
  be sure to have seen it.

For every state change the world makes (GET /_sim/truth) after the start and before the end, the
time until the store holds it (the poller's `StateChange` into that state and status); a change
never seen is counted (final states: must be 0). Polling goes on for 30 minutes after the end so
that a change near it still has its chance. Reported per load and scheduler: p50, p95 and max
time-to-store, changes never seen (all / final), calls a minute.

Targets: windows' p95 within 1.25x the bound's p95 at every load with 0 final states missed; at
500 unfinished jobs, windows' p95 at least 5x better than today's.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import Result, exit_code, header, report
from benchmarks.reference_schedulers import LOOKUPS, NAIVE, register
from faxtui.config import AccountConfig, Config, SecretRef
from faxtui.events import JobsUpdated, PollerEvent
from faxtui.poller import Poller
from faxtui.sim import FakeClock, SimOptions, SimServer, World
from faxtui.sim.demo import Script
from faxtui.store import Store

START = datetime.fromisoformat("2026-11-22T10:00:00+00:00")
USER, PASSWORD = "fresh", "fresh-pass"
HISTORY = 1500
"""Finished faxes of the account besides the load (older and newer than it)."""
DRAIN = timedelta(minutes=30)
PAGE = 100
SECONDS_PER_CALL = 10.0
"""6 calls a minute."""
FINAL = frozenset({"delivered", "failed", "cancelled"})
P95_TO_BOUND = 1.25
BETTER_AT_500 = 5.0


def _retrying(frame: Any) -> bool:
    return bool(frame.status == -3 and frame.trials > 0 and not frame.connected)


def load_scripts(load: int) -> list[Script]:
    """`load` unfinished jobs: single faxes for 10, else broadcasts of up to 500 whose recipients
    all retry before getting through."""
    if load <= 10:
        return [Script("delivered_after_retry", _retrying) for _ in range(load)]
    scripts = []
    left = load
    while left > 0:
        size = min(500, left)
        scripts.append(Script("delivered_after_retry", _retrying, size=size, every=True))
        left -= size
    return scripts


@dataclass
class SimTime:
    """The poller's clocks on the simulator's FakeClock; a wait moves it (one poller runs alone)."""

    clock: FakeClock

    def now(self) -> datetime:
        return self.clock.now()

    def wall(self) -> float:
        return self.clock.now().timestamp()

    def monotonic(self) -> float:
        return self.clock.now().timestamp() - START.timestamp()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.clock.advance(seconds)
        await asyncio.sleep(0)


@dataclass
class Run:
    scheduler: str
    latencies: list[float] = field(default_factory=list)
    missed: int = 0
    missed_final: int = 0
    changes: int = 0
    calls_per_minute: float = 0.0
    unfinished_at_start: int = 0
    bounds: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0

    def quantile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _world(load: int, seed: int) -> World:
    options = SimOptions(
        seed=seed,
        demo_accounts=False,
        interfax_retry_wait_min=600,
        interfax_retry_wait_max=2400,
        rate_limit_calls=6,
        rate_limit_window=60.0,
    )
    world = World(options, FakeClock(START))
    world.add_interfax_account(USER, PASSWORD, jobs=HISTORY + load, scripts=load_scripts(load))
    return world


async def poll_world(load: int, scheduler: str, hours: float, seed: int, data: Path) -> tuple[Run, list[Any]]:
    """One scheduler against a fresh world of `load`: (its measurements, the world's truth)."""
    world = _world(load, seed)
    clock = world.fake_clock
    assert clock is not None
    sim_time = SimTime(clock)
    register(sim_time.wall, sim_time.sleep)
    service, poll_seconds = {"naive": (NAIVE, 10.0), "today": (LOOKUPS, 20.0), "windows": ("interfax", 20.0)}[
        scheduler
    ]
    seen: dict[tuple[str, str, int | None], list[float]] = defaultdict(list)

    def listen(event: PollerEvent) -> None:
        if isinstance(event, JobsUpdated):
            at = sim_time.wall()
            for change in event.changes:
                job = change.job
                seen[(job.job_id, job.state.value, job.status_code)].append(at)

    run = Run(scheduler)
    started = time.perf_counter()
    with SimServer(world=world) as sim, Store.open(data) as store:
        account = AccountConfig(
            name="ifx",
            service=service,
            endpoint=sim.interfax_url,
            poll_seconds=poll_seconds,
            username=USER,
            password=SecretRef(value=PASSWORD),
        )
        config = Config(path=data / "config.toml", accounts=(account,))
        poller = Poller(
            config,
            store,
            emit=listen,
            now=sim_time.now,
            monotonic=sim_time.monotonic,
            wall=sim_time.wall,
            sleep=sim_time.sleep,
        )
        end = START + timedelta(hours=hours)
        try:
            while sim_time.now() < end + DRAIN:
                await poller.poll_once(["ifx"])
                due = sim_time.now() + timedelta(seconds=poll_seconds)
                clock.advance((due - sim_time.now()).total_seconds())
            calls = poller.statuses["ifx"].calls_made
        finally:
            await poller.aclose()
        truth = httpx.get(sim.control_url + "/truth", timeout=60).json()["changes"]
    run.wall_seconds = time.perf_counter() - started
    run.calls_per_minute = calls / ((end + DRAIN - START).total_seconds() / 60)
    start_ts, end_ts = START.timestamp(), end.timestamp()
    unfinished: set[str] = set()
    for record in truth:
        at = datetime.fromisoformat(record["time"].replace("Z", "+00:00")).timestamp()
        if at <= start_ts:
            if record["new_state"] in FINAL:
                unfinished.discard(record["job_id"])
            else:
                unfinished.add(record["job_id"])
            continue
        if at > end_ts:
            continue
        run.changes += 1
        times = seen.get((record["job_id"], record["new_state"], record["new_status"]), [])
        first = bisect.bisect_left(times, at)
        if first < len(times):
            run.latencies.append(times[first] - at)
        else:
            run.missed += 1
            run.missed_final += record["new_state"] in FINAL
    run.unfinished_at_start = len(unfinished)
    return run, truth


def bound_per_change(truth: list[Any], hours: float) -> list[float]:
    """For each change between the start and the end: the fewest calls listing every job of the
    account unfinished at that moment (the newest page and windows of 100 of the account's own
    transactions), times 10 s. Planned here from the world's truth, independently of faxtui."""
    state: dict[int, str] = {}
    start_ts, end_ts = START.timestamp(), (START + timedelta(hours=hours)).timestamp()
    cache: dict[int, float] = {}
    bounds: list[float] = []
    for record in truth:
        at = datetime.fromisoformat(record["time"].replace("Z", "+00:00")).timestamp()
        state[int(record["job_id"])] = record["new_state"]
        if not start_ts < at <= end_ts:
            continue
        minute = int((at - start_ts) // 60)
        if minute not in cache:
            cache[minute] = _cover_calls(state) * SECONDS_PER_CALL
        bounds.append(cache[minute])
    return bounds


def _cover_calls(state: dict[int, str]) -> int:
    ids = sorted(state, reverse=True)
    calls, reach = 1, PAGE - 1  # the newest page lists positions 0..99
    for position, tid in enumerate(ids):
        if position > reach and state[tid] not in FINAL:
            calls += 1
            reach = position + PAGE - 1
    return calls


def _seconds(value: float) -> str:
    return "—" if value != value else f"{value:.0f} s"


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_freshness", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--loads", default="10,100,500,2000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--schedulers", default="naive,today,windows")
    args = parser.parse_args(argv)
    header("freshness: time from a change in the world to the store, 6 InterFax calls a minute")
    loads = [int(x) for x in args.loads.split(",")]
    schedulers = args.schedulers.split(",")
    results: list[Result] = []
    rows: list[str] = []
    for load in loads:
        runs: dict[str, Run] = {}
        truth: list[Any] = []
        for scheduler in schedulers:
            with tempfile.TemporaryDirectory(prefix="faxtui-fresh-") as tmp:
                runs[scheduler], truth = asyncio.run(
                    poll_world(load, scheduler, args.hours, args.seed, Path(tmp))
                )
        bound = bound_per_change(truth, args.hours)
        bound_p95 = sorted(bound)[int(0.95 * len(bound))] if bound else float("nan")
        start = next(iter(runs.values()))
        rows.append(
            f"  load {load} (unfinished at the start: {start.unfinished_at_start}, changes: {start.changes})"
        )
        for name, run in runs.items():
            rows.append(
                f"    {name:8} p50 {_seconds(run.quantile(0.5)):>6}  p95 {_seconds(run.quantile(0.95)):>6}  "
                f"max {_seconds(max(run.latencies, default=float('nan'))):>6}  never seen {run.missed} "
                f"(final {run.missed_final})  {run.calls_per_minute:.2f} calls/min  "
                f"[{run.wall_seconds:.0f} s wall]"
            )
        rows.append(
            f"    {'bound':8} p50 {_seconds(statistics.median(bound) if bound else float('nan')):>6}  "
            f"p95 {_seconds(bound_p95):>6}  max {_seconds(max(bound, default=float('nan'))):>6}"
        )
        for line in rows[-(len(runs) + 2) :]:
            print(line)
        windows = runs.get("windows")
        if windows is not None:
            p95 = windows.quantile(0.95)
            results.append(
                Result(
                    "freshness",
                    f"load {load}: windows p95 / bound p95",
                    f"{_seconds(p95)} / {_seconds(bound_p95)} ({p95 / bound_p95:.2f}x)",
                    f"<= {P95_TO_BOUND}x",
                    p95 <= P95_TO_BOUND * bound_p95,
                )
            )
            results.append(
                Result(
                    "freshness",
                    f"load {load}: final states never seen (windows)",
                    str(windows.missed_final),
                    "0",
                    windows.missed_final == 0,
                )
            )
            today = runs.get("today")
            if load == 500 and today is not None:
                gain = today.quantile(0.95) / p95
                results.append(
                    Result(
                        "freshness",
                        "load 500: p95 today / windows",
                        f"{gain:.1f}x",
                        f">= {BETTER_AT_500:g}x",
                        gain >= BETTER_AT_500,
                    )
                )
    report(results)
    return results


def run_cli() -> int:
    return exit_code(main())


if __name__ == "__main__":
    raise SystemExit(run_cli())
