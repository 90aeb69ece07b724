"""Start-up benchmark: `faxtui --version` and `faxtui status --help`, as a user runs them.

Each command runs as a fresh process 20 times (after 3 warm-up runs, so the disk cache is warm);
the figure is the median wall time, next to a bare `python -c pass` for scale. One more run
under `python -X importtime` lists what was imported: Textual and httpx must not be, and the
heaviest imports are printed.

Target: each command under 150 ms (median), without Textual or httpx imported.

    python -m benchmarks.bench_startup
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import Result, exit_code, header, report

RUNS = 20
WARMUP = 3
TARGET_MS = 150.0
FORBIDDEN = ("textual", "httpx")
COMMANDS: tuple[tuple[str, ...], ...] = (("--version",), ("status", "--help"))


def faxtui_command() -> list[str]:
    """The installed `faxtui` script next to this interpreter (what a user runs), else `-m faxtui`."""
    script = Path(sys.executable).parent / "faxtui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "faxtui"]


def wall_ms(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
    return (time.perf_counter() - started) * 1000


def median_ms(argv: list[str], env: dict[str, str]) -> float:
    for _ in range(WARMUP):
        wall_ms(argv, env)
    return statistics.median(wall_ms(argv, env) for _ in range(RUNS))


@dataclass(frozen=True, slots=True)
class Import:
    module: str
    self_us: int
    cumulative_us: int
    depth: int


def imports(argv: list[str], env: dict[str, str]) -> list[Import]:
    """Every module the command imports, from `python -X importtime` (its stderr)."""
    script = argv[0] if argv[0] != sys.executable else None
    command = [sys.executable, "-X", "importtime", *(argv if script is None else [script, *argv[1:]])]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    found = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line.removeprefix("import time:").split("|")
        try:
            self_us, cumulative_us = int(parts[0]), int(parts[1])
        except ValueError:
            continue  # the column header
        name = parts[2].rstrip()
        found.append(Import(name.strip(), self_us, cumulative_us, (len(name) - len(name.lstrip())) // 2))
    return found


def heaviest(found: list[Import], n: int = 8) -> str:
    """The top-level imports (those the program itself asked for) by cumulative time."""
    top = sorted((i for i in found if i.depth == 0), key=lambda i: i.cumulative_us, reverse=True)[:n]
    return ", ".join(f"{i.module} {i.cumulative_us / 1000:.1f}" for i in top)


def main(argv: list[str] | None = None) -> list[Result]:
    header(f"Start-up: median wall time of {RUNS} fresh processes each, and what they import")
    env = {**os.environ, "NO_COLOR": "1"}
    faxtui = faxtui_command()
    python_ms = median_ms([sys.executable, "-c", "pass"], env)
    results = [Result("startup", "python -c pass (the interpreter alone, for scale)", f"{python_ms:.0f} ms")]
    for args in COMMANDS:
        label = "faxtui " + " ".join(args)
        ms = median_ms([*faxtui, *args], env)
        found = imports([*faxtui, *args], env)
        names = {i.module for i in found}
        heavy = sorted(n for n in names if n.split(".")[0] in FORBIDDEN)
        results += [
            Result("startup", f"{label}: median wall", f"{ms:.0f} ms", f"< {TARGET_MS:g} ms", ms < TARGET_MS),
            Result("startup", f"{label}: Textual / httpx imported",
                   ", ".join(heavy[:4]) + (" …" if len(heavy) > 4 else "") if heavy else "neither",
                   "neither", not heavy),
            Result("startup", f"{label}: {len(names)} modules imported; heaviest, cumulative ms",
                   heaviest(found)),
        ]
    report(results)
    return results


if __name__ == "__main__":
    sys.exit(exit_code(main()))
