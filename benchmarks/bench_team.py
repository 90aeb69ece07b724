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
within a second). Run:

    python -m benchmarks.bench_team [--seconds 120]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
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


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_team",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    args = parser.parse_args(argv)
    from faxtui.sim import RealClock, SimOptions, World

    header(f"team: {PROCESSES} faxtui poll processes, one InterFax user polled every {POLL_SECONDS:g} s, "
           f"{args.seconds:g} s each way")
    world = World(SimOptions(seed=5, arrival_mean_seconds=15), RealClock(1.0))
    for username in ("apart", "together"):
        world.add_interfax_account(username, "desk-pass", jobs=60)
    results: list[Result] = []
    from faxtui.sim import SimServer

    with SimServer(world=world) as sim, tempfile.TemporaryDirectory(prefix="faxtui-team-") as tmp:
        runs = {
            "apart": run(sim, Path(tmp) / "apart", shared=False, seconds=args.seconds),
            "together": run(sim, Path(tmp) / "together", shared=True, seconds=args.seconds),
        }
    for name, r in runs.items():
        print(f"  {name:9} calls {r.calls} ({r.per_minute:.1f}/min), -1011 {r.refused}, "
              f"last good poll age: median {r.median_age:.1f} s, worst {r.worst_age:.1f} s")
    apart, together = runs["apart"], runs["together"]
    results += [
        Result("team", "apart (own data dirs): calls a minute, -1011, worst age",
               f"{apart.per_minute:.1f}, {apart.refused}, {apart.worst_age:.0f} s"),
        Result("team", "together (one store): -1011 the service gave", str(together.refused), "0",
               together.refused == 0),
        Result("team", "together: status calls a minute", f"{together.per_minute:.1f}",
               f"<= {CALLS_PER_MINUTE}", together.per_minute <= CALLS_PER_MINUTE + 0.5),
        Result("team", "together: worst age of the last good poll (what every viewer shows)",
               f"{together.worst_age:.1f} s (median {together.median_age:.1f} s)",
               f"<= {FRESH_TARGET:g} s", together.worst_age <= FRESH_TARGET),
    ]
    report(results)
    return results


if __name__ == "__main__":
    raise SystemExit(exit_code(main()))
