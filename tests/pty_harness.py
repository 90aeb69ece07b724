"""faxtui on a real pseudo-terminal, through Textual's real Linux driver (no Pilot, no headless app).

`PtyApp.spawn` starts a command on a new pty as a terminal emulator would: the child leads a new
session whose controlling terminal is the pty (or, with `controlling=False`, has it only as its
stdin/stdout/stderr). A thread drains the pty into a byte log and into a `pyte` screen, so the app
is never held up by output nobody reads; tests wait on what the screen shows, never on a fixed
sleep. `close_terminal` is the terminal vanishing: the pty's master end closed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pyte

ROOT = Path(__file__).resolve().parent.parent
BOOT = (
    "import os, sys; "
    # A session leader that opens a terminal (without O_NOCTTY) takes it as its controlling terminal.
    "os.close(os.open(os.ttyname(0), os.O_RDWR)); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)
POLL = 0.02
"""Seconds between two looks at a condition that is waited for."""


class Timeout(AssertionError):
    pass


def wait_until(condition: Callable[[], object], timeout: float, what: str, *, poll: float = POLL) -> float:
    """Poll `condition` until it is true; the seconds it took. Raises `Timeout` after `timeout`."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        if condition():
            return time.monotonic() - start
        if time.monotonic() >= deadline:
            raise Timeout(f"not within {timeout:.0f} s: {what}")
        time.sleep(poll)


def terminal_env(**extra: str) -> dict[str, str]:
    """The environment of a program run in a terminal emulator: the test's, with a known TERM, no
    Textual or faxtui settings inherited, and this checkout importable."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TEXTUAL", "FAXTUI_", "PYTEST_"))}
    env.update(TERM="xterm-256color", COLORTERM="truecolor", LANG="C.UTF-8", LC_ALL="C.UTF-8",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


def set_window_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def process_state(pid: int) -> str:
    """The state letter in /proc/PID/stat (R, S, T stopped, Z zombie...); "" once reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rpartition(")")[2].split()[0]


class PtyApp:
    def __init__(self, proc: subprocess.Popen[bytes], master: int, columns: int, rows: int) -> None:
        self.proc = proc
        self.master: int | None = master
        self.screen = pyte.Screen(columns, rows)
        self._stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()
        self._output = bytearray()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()

    @classmethod
    def spawn(cls, args: Sequence[str], env: Mapping[str, str], *, columns: int = 100, rows: int = 30,
              controlling: bool = True) -> PtyApp:
        """Run `python ARGS...` on a new pty of `columns` x `rows`."""
        master, slave = os.openpty()
        try:
            set_window_size(slave, columns, rows)
            argv = [sys.executable, "-c", BOOT, *args] if controlling else [sys.executable, *args]
            proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=dict(env),
                                    cwd=ROOT, start_new_session=True, close_fds=True)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        return cls(proc, master, columns, rows)

    # --- what the terminal received -------------------------------------------------------------

    def _read(self) -> None:
        import select

        master = self.master
        assert master is not None
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(master, 65536)
            except OSError:  # EIO: every slave end is closed (the app has exited)
                return
            if not data:
                return
            with self._lock:
                self._output += data
                self._stream.feed(data)

    @property
    def output(self) -> bytes:
        with self._lock:
            return bytes(self._output)

    def text(self) -> str:
        """What the screen shows, one line per row."""
        with self._lock:
            return "\n".join(self.screen.display)

    def wait_for_text(self, wanted: str | re.Pattern[str], timeout: float = 20.0) -> float:
        def shown() -> bool:
            text = self.text()
            return wanted in text if isinstance(wanted, str) else wanted.search(text) is not None

        return self._waiting(shown, timeout, f"the screen shows {wanted!r}")

    def wait_for_output(self, wanted: bytes, *, after: int = 0, timeout: float = 20.0) -> float:
        return self._waiting(lambda: wanted in self.output[after:], timeout,
                             f"the terminal receives {wanted!r}")

    def _waiting(self, condition: Callable[[], bool], timeout: float, what: str) -> float:
        try:
            return wait_until(lambda: condition() or self.proc.poll() is not None, timeout, what)
        finally:
            if self.proc.poll() is not None and not condition():
                raise AssertionError(f"exited with {self.proc.returncode} before: {what}\n{self.text()}")

    # --- what the terminal does ---------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        assert self.master is not None
        os.write(self.master, data)

    def resize(self, columns: int, rows: int) -> None:
        """The terminal window resized: a new size on the pty, SIGWINCH to its foreground group."""
        assert self.master is not None
        with self._lock:
            self.screen.resize(rows, columns)
        set_window_size(self.master, columns, rows)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGWINCH)

    def close_terminal(self) -> None:
        """The terminal window closed (tmux pane killed, SSH connection dropped): the master end goes."""
        self._stop.set()
        self._reader.join(5)
        if self.master is not None:
            os.close(self.master)
            self.master = None

    def state(self) -> str:
        return process_state(self.proc.pid)

    def wait_exit(self, timeout: float) -> float:
        """Seconds until the process exits. Raises `Timeout` (with where it is) after `timeout`."""
        start = time.monotonic()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Timeout(f"still running {timeout:.0f} s later (state {self.state()!r})") from None
        return time.monotonic() - start

    def kill(self) -> None:
        """End whatever is left (the test failed half-way): the process and its session, the pty."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        self.close_terminal()
