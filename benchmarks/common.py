"""What every benchmark shares: a description of the machine, timing, and printing results.

A benchmark module (`benchmarks/bench_*.py`) has a `main()` that measures, prints one line per
figure with `report()`, and returns the `Result`s (or exits 1 when a target is missed, as
`bench_sim` does). `python -m benchmarks` runs each module in its own process; when
`FAXTUI_BENCH_RESULTS` names a file, `report()` also appends its results there as JSON lines, so
the runner can print every figure next to its target at the end.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_ENV = "FAXTUI_BENCH_RESULTS"


# --- the machine ----------------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's marketing name, from /proc/cpuinfo (Linux) or `platform`."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> str:
    """One line: CPU, CPU count, OS, Python, lxml, and the load when the benchmark started."""
    try:
        from lxml import etree

        lxml_version = ".".join(map(str, etree.LXML_VERSION[:3]))
    except ImportError:  # pragma: no cover - lxml is a dependency
        lxml_version = "n/a"
    return (
        f"{cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()} "
        f"{platform.machine()}, Python {platform.python_version()}, lxml {lxml_version}, "
        f"load average {load_average()}"
    )


def header(title: str) -> None:
    print(f"{title}\n  machine: {machine()}")
    sys.stdout.flush()


# --- timing ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds per call over repeated calls."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def p95(self) -> float:
        if len(self.samples) < 20:
            return max(self.samples)
        return statistics.quantiles(self.samples, n=20)[-1]

    def ms(self) -> str:
        return f"median {self.median * 1000:.2f} ms (best {self.best * 1000:.2f}, p95 {self.p95 * 1000:.2f})"


def interleaved(
    cases: dict[str, Callable[[], object]],
    rounds: int,
    calls: dict[str, int] | None = None,
    before_each: dict[str, Callable[[], object]] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Timing]:
    """Time each case `calls[name]` times per round (default 1), rounds interleaved so that a
    slow spell on a shared machine hits every case alike. `before_each[name]` runs untimed
    before every call. A full garbage collection runs between rounds, never inside a timing."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        gc.collect()
        for name, fn in cases.items():
            prepare = (before_each or {}).get(name)
            for _ in range((calls or {}).get(name, 1)):
                if prepare is not None:
                    prepare()
                started = clock()
                fn()
                samples[name].append(clock() - started)
    return {name: Timing(tuple(values)) for name, values in samples.items()}


# --- results --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    """One figure, and its target when it has one (`ok` None = reported for information)."""

    benchmark: str
    name: str
    value: str
    target: str = ""
    ok: bool | None = None

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else ("PASS" if self.ok else "FAIL")

    def line(self) -> str:
        target = f"    target {self.target}: {self.verdict}" if self.target else ""
        return f"  {self.name}: {self.value}{target}"


def report(results: Sequence[Result]) -> None:
    """Print each result; append them to $FAXTUI_BENCH_RESULTS (JSON lines) when it is set."""
    for result in results:
        print(result.line())
    sys.stdout.flush()
    path = os.environ.get(RESULTS_ENV)
    if path:
        with Path(path).open("a", encoding="utf-8") as out:
            for result in results:
                out.write(json.dumps(asdict(result)) + "\n")


def read_results(path: Path) -> list[Result]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Result(**json.loads(line)) for line in lines if line.strip()]


def exit_code(results: Sequence[Result]) -> int:
    """1 when any target was missed."""
    return 1 if any(r.ok is False for r in results) else 0
