"""Idle benchmark: the monitor left open on the demo, measured from outside like a terminal would.

`python -m faxtui demo` runs in a child process on a 160x48 pseudo-terminal; this process reads
every byte the app writes (what would cross an SSH link) and samples the child's CPU time from
/proc/<pid>/stat. The first 15 s (start-up, the first polls, the first paint) are left out; the
window after that is the idle figure. The demo keeps polling its simulator (Concord every 5 s,
InterFax every 20 s) and the simulated faxes keep moving, so "idle" means: nobody at the
keyboard, the data changing as on a quiet day. The simulator runs inside the same process, so the
CPU figure includes serving those polls; the main thread's share (UI, poller, HTTP client) is
shown separately.

    python -m benchmarks.bench_idle               ten minutes (the issue's figure; what `make bench` runs)
    python -m benchmarks.bench_idle --minutes 1   a quick look
    python -m benchmarks.bench_idle --colors 256  as over SSH, where COLORTERM is usually not passed on
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import Result, exit_code, header, report

SIZE = (160, 48)
WARMUP_SECONDS = 15.0
DEFAULT_MINUTES = 10.0
CPU_TARGET_PERCENT = 2.0
BYTES_TARGET_PER_MINUTE = 64 * 1024
"""What "low enough for a slow SSH link" means here: 64 KiB a minute is about 9 kbit/s."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU time of a process (or one of its threads), from /proc."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Window:
    seconds: float
    bytes_written: int
    cpu_seconds: float
    main_thread_cpu_seconds: float
    writes: int
    rss_mb: float

    @property
    def bytes_per_minute(self) -> float:
        return self.bytes_written / self.seconds * 60

    @property
    def cpu_percent(self) -> float:
        return self.cpu_seconds / self.seconds * 100

    @property
    def main_thread_percent(self) -> float:
        return self.main_thread_cpu_seconds / self.seconds * 100


def spawn_in_pty(argv: list[str], size: tuple[int, int], *, truecolor: bool = True,
                 ) -> tuple[subprocess.Popen[bytes], int]:
    """Start `argv` on a new pseudo-terminal of `size` (columns, rows); returns it and the master fd.

    `truecolor=False` leaves COLORTERM unset, as over SSH (which does not pass it on by default):
    Textual then writes 256-colour escapes, which are shorter."""
    master, slave = os.openpty()
    columns, rows = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "PYTHONUNBUFFERED": "1"}
    env.pop("TEXTUAL", None)
    env.pop("COLORTERM", None)
    if truecolor:
        env["COLORTERM"] = "truecolor"
    child = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
                             close_fds=True)
    os.close(slave)
    return child, master


def drain(master: int, seconds: float) -> tuple[int, int]:
    """Read everything the child writes for `seconds`; (bytes, reads)."""
    total = reads = 0
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([master], [], [], min(left, 0.5))
        if not ready:
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # the child went away
            break
        if not data:
            break
        total += len(data)
        reads += 1
    return total, reads


def stop(child: subprocess.Popen[bytes], master: int) -> None:
    with contextlib.suppress(OSError):
        os.write(master, b"q")
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    with contextlib.suppress(OSError):
        os.close(master)


def measure(minutes: float, *, warmup: float = WARMUP_SECONDS, truecolor: bool = True) -> tuple[Window, int]:
    """Run the demo, skip `warmup` seconds, then measure `minutes`; also returns start-up bytes."""
    child, master = spawn_in_pty([sys.executable, "-m", "faxtui", "demo"], SIZE, truecolor=truecolor)
    try:
        startup_bytes, _ = drain(master, warmup)
        if child.poll() is not None:
            raise RuntimeError(f"the demo exited early with status {child.returncode}")
        cpu_before = cpu_seconds(child.pid)
        main_before = cpu_seconds(child.pid, child.pid)
        started = time.monotonic()
        written, reads = drain(master, minutes * 60)
        elapsed = time.monotonic() - started
        if child.poll() is not None:
            raise RuntimeError(f"the demo exited during the measurement with status {child.returncode}")
        window = Window(
            seconds=elapsed,
            bytes_written=written,
            cpu_seconds=cpu_seconds(child.pid) - cpu_before,
            main_thread_cpu_seconds=cpu_seconds(child.pid, child.pid) - main_before,
            writes=reads,
            rss_mb=rss_mb(child.pid),
        )
    finally:
        stop(child, master)
    return window, startup_bytes


def results(window: Window, startup_bytes: int) -> list[Result]:
    return [
        Result("idle", "CPU, whole process (UI, poller and the in-process simulator)",
               f"{window.cpu_percent:.2f}% of one core over {window.seconds / 60:.1f} min",
               f"< {CPU_TARGET_PERCENT:g}%", window.cpu_percent < CPU_TARGET_PERCENT),
        Result("idle", "CPU, main thread only (UI, poller, HTTP client; not the output's rewriting)",
               f"{window.main_thread_percent:.2f}% of one core"),
        Result("idle", "bytes written to the terminal",
               f"{window.bytes_per_minute / 1024:.1f} KiB/min "
               f"({window.bytes_per_minute * 8 / 60 / 1000:.2f} kbit/s, "
               f"{window.writes / window.seconds * 60:.0f} reads/min)",
               f"< {BYTES_TARGET_PER_MINUTE // 1024} KiB/min",
               window.bytes_per_minute < BYTES_TARGET_PER_MINUTE),
        Result("idle", "first paint and start-up (first 15 s, for reference)",
               f"{startup_bytes / 1024:.1f} KiB"),
        Result("idle", "resident memory at the end", f"{window.rss_mb:.0f} MB"),
    ]


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_idle",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES,
                        help=f"length of the measured window (default {DEFAULT_MINUTES:g})")
    parser.add_argument("--colors", choices=("truecolor", "256"), default="truecolor",
                        help="what the terminal says it can do (256: COLORTERM unset, as over SSH)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    header(f"faxtui idle benchmark: `python -m faxtui demo` in a {SIZE[0]}x{SIZE[1]} pty ({args.colors} "
           f"colour), {args.minutes:g} min after {WARMUP_SECONDS:g} s of start-up")
    window, startup_bytes = measure(args.minutes, truecolor=args.colors == "truecolor")
    found = results(window, startup_bytes)
    report(found)
    return found


if __name__ == "__main__":
    sys.exit(exit_code(main()))
