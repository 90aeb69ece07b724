"""`python -m benchmarks`: every `benchmarks/bench_*.py` in turn, each in its own process, then
every figure next to its target. Exit status 1 when any target was missed (or a benchmark failed).

    python -m benchmarks                      all of them: bench_sim, bench_parse, bench_poll,
                                              bench_startup, then any other bench_* by name
    python -m benchmarks bench_parse ...      only these
    python -m benchmarks --list               their names

A benchmark module has a `main()`; it reports through `benchmarks.common.report` (and returns
its `Result`s), or prints its own lines and exits 1 on a missed target.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import RESULTS_ENV, Result, exit_code, machine, read_results

FIRST = ("bench_sim", "bench_parse", "bench_poll", "bench_startup")
TIMEOUT = 1800.0


def discover() -> list[str]:
    """The benchmark modules: the core ones first, in a fixed order, then the rest by name."""
    found = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    return [n for n in FIRST if n in found] + [n for n in found if n not in FIRST]


def run_one(name: str) -> int:
    """In the child process: import `benchmarks.<name>` and run its `main()`."""
    module = importlib.import_module(f"benchmarks.{name}")
    results = module.main([]) if _takes_argv(module.main) else module.main()
    if isinstance(results, list) and all(isinstance(r, Result) for r in results):
        return exit_code(results)
    if isinstance(results, int):
        return results  # an exit status of its own (1: a target missed)
    return 0  # it printed its own verdicts, and would have exited 1 on a miss


def _takes_argv(fn: object) -> bool:
    code = getattr(fn, "__code__", None)
    return code is not None and code.co_argcount > 0


def run_in_child(name: str, results_file: Path) -> tuple[int, float]:
    env = {**os.environ, RESULTS_ENV: str(results_file), "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks", "--run-one", name], env=env, timeout=TIMEOUT, check=False
        )
        code = done.returncode
    except subprocess.TimeoutExpired:
        print(f"{name}: no result after {TIMEOUT:g} s", file=sys.stderr)
        code = 1
    return code, time.perf_counter() - started


def summary(names: list[str], codes: dict[str, int], results: list[Result]) -> None:
    print(f"\n=== every figure next to its target ({machine()}) ===")
    for name in names:
        own = [r for r in results if r.benchmark == name.removeprefix("bench_")]
        verdict = "PASS" if codes[name] == 0 else "FAIL"
        print(f"{name}: {verdict}" + ("" if own else " (its figures are printed above)"))
        for result in own:
            print(result.line())


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmark modules and exit")
    parser.add_argument("--run-one", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        return run_one(args.run_one)
    available = discover()
    if args.list:
        print("\n".join(available))
        return 0
    unknown = [n for n in args.names if n not in available]
    if unknown:
        parser.error(f"no benchmark named {unknown[0]!r} (have: {', '.join(available)})")
    names = args.names or available
    codes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="faxtui-bench-") as tmp:
        results_file = Path(tmp) / "results.jsonl"
        for name in names:
            print(f"\n--- {name} ---", flush=True)
            codes[name], seconds = run_in_child(name, results_file)
            print(f"--- {name}: {'ok' if codes[name] == 0 else 'TARGET MISSED or error'} ({seconds:.0f} s)")
        summary(names, codes, read_results(results_file))
    return 1 if any(codes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
