"""The real app on a real terminal: `faxtui demo` and `faxtui` on a pseudo-terminal, through
Textual's real Linux driver (see tests/pty_harness.py), with either output.

A closed terminal ends the process, with its state saved, within `EXIT_WITHIN` seconds: the pty's
master end closed (the tmux pane killed, the SSH connection dropped: the kernel hangs the terminal
up, SIGHUP and SIGCONT), the same terminal gone without a signal (it was not the controlling
terminal: reads and writes fail), SIGHUP, SIGTERM. Before the fix the process waited forever on a
writer thread that had died on the dead terminal. Suspending (ctrl+z, then SIGCONT as `fg` sends)
and resizing work on the same terminal, and the compact output is what the terminal receives.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from pty_harness import PtyApp, terminal_env, wait_until

from faxtui.config import Config, UIConfig, save_config
from faxtui.sim import RealClock, SimOptions, SimServer, World
from faxtui.store import DB_FILENAME
from faxtui.tui.demo_session import DEMO_CONCORD, demo_accounts
from faxtui.tui.wire import PLAIN_OUTPUT_ENV

EXIT_WITHIN = 2.0
"""Seconds from the terminal closing (or the signal) to the process gone: the issue's bound."""
START_WITHIN = 30.0
"""Seconds for the first screen (a loaded 2-core CI machine, Python and Textual imported cold)."""
SEED = 4242
OUTPUTS = {"compact": {}, "plain": {PLAIN_OUTPUT_ENV: "1"}}
ENDINGS = ["terminal closed", "terminal gone, no signal", "SIGHUP", "SIGTERM"]
COMPACT_STYLE = b"\x1b[0;"
"""How the compact output sets a whole style: reset and style in one sequence. Textual sends
`ESC[0m` and the style apart, so these bytes reach the terminal only through the rewriting."""

def end(app: PtyApp, how: str) -> float:
    """End the app the way `how` says; the seconds from then until the process is gone."""
    if how.startswith("terminal"):
        app.close_terminal()
    else:
        os.kill(app.proc.pid, signal.SIGHUP if how == "SIGHUP" else signal.SIGTERM)
    return app.wait_exit(EXIT_WITHIN + 10)


@pytest.fixture
def running() -> Iterator[list[PtyApp]]:
    """Apps started by the test; whatever is left of them is killed at the end."""
    apps: list[PtyApp] = []
    try:
        yield apps
    finally:
        for app in apps:
            app.kill()


def start_demo(running: list[PtyApp], tmp_path: Path, output: str, *, controlling: bool = True,
               columns: int = 100, rows: int = 30) -> PtyApp:
    env = terminal_env(TMPDIR=str(tmp_path), FAXTUI_DATA_DIR=str(tmp_path / "data"),
                       FAXTUI_CONFIG=str(tmp_path / "config.toml"), **OUTPUTS[output])
    app = PtyApp.spawn(["-m", "faxtui", "demo", "--seed", str(SEED)], env, columns=columns, rows=rows,
                       controlling=controlling)
    running.append(app)
    app.wait_for_text(DEMO_CONCORD, START_WITHIN)
    app.wait_for_text("polled", START_WITHIN)  # the monitor is up and polling
    return app


def demo_directories(tmp_path: Path) -> list[Path]:
    """The demo's temporary config and store (removed when it ends cleanly)."""
    return sorted(tmp_path.glob("faxtui-demo-*"))


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("how", ENDINGS)
def test_the_demo_ends_within_2_s_when_its_terminal_goes(tmp_path: Path, running: list[PtyApp],
                                                         how: str, output: str) -> None:
    app = start_demo(running, tmp_path, output, controlling=how != "terminal gone, no signal")
    assert len(demo_directories(tmp_path)) == 1

    took = end(app, how)

    assert took < EXIT_WITHIN, f"{how}, {output} output: exited {took:.2f} s later"
    assert app.proc.returncode == 0
    # It ended through the app's own shutdown: the store closed, the simulator stopped, the temp
    # directory removed (a process killed by the signal, or hung, leaves it behind).
    assert demo_directories(tmp_path) == []


@pytest.fixture
def simulator() -> Iterator[SimServer]:
    options = SimOptions(seed=SEED)
    with SimServer(world=World(options, RealClock()), options=options, host="127.0.0.1", port=0) as sim:
        yield sim


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("how", ["terminal closed", "SIGTERM"])
def test_the_monitor_saves_its_state_and_ends_within_2_s_when_its_terminal_goes(
        tmp_path: Path, running: list[PtyApp], simulator: SimServer, how: str, output: str) -> None:
    config = Config(path=tmp_path / "config.toml", ui=UIConfig(timezone="UTC"),
                    accounts=demo_accounts(simulator))
    save_config(config)
    data = tmp_path / "data"
    env = terminal_env(FAXTUI_CONFIG=str(config.path), FAXTUI_DATA_DIR=str(data), **OUTPUTS[output])
    app = PtyApp.spawn(["-m", "faxtui"], env)
    running.append(app)
    app.wait_for_text(DEMO_CONCORD, START_WITHIN)
    app.wait_for_text(re.compile(r"[1-9]\d* jobs"), START_WITHIN)
    database = data / DB_FILENAME

    def saved_jobs() -> int:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
            return int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])

    wait_until(lambda: database.exists() and saved_jobs() > 0, START_WITHIN, "jobs saved in the store")

    took = end(app, how)

    assert took < EXIT_WITHIN, f"{how}, {output} output: exited {took:.2f} s later"
    assert app.proc.returncode == 0
    # Closed cleanly: the last connection's close checkpoints the write-ahead log and removes it.
    assert not database.with_name(DB_FILENAME + "-wal").exists()
    assert saved_jobs() > 0


@pytest.mark.parametrize("output", OUTPUTS)
def test_suspend_resume_and_resize_on_the_real_terminal(tmp_path: Path, running: list[PtyApp],
                                                        output: str) -> None:
    app = start_demo(running, tmp_path, output)

    # The output the terminal receives is the compact one only when it is asked for.
    assert (COMPACT_STYLE in app.output) == (output == "compact")

    # A wider window: the app lays out for it, and draws in the columns it did not have before.
    app.resize(130, 34)

    def right_edge_drawn() -> bool:
        with app._lock:
            rows = [app.screen.buffer[y][129] for y in range(34)]
        return any(cell.data.strip() or cell.bg != "default" for cell in rows)

    wait_until(right_edge_drawn, START_WITHIN, f"the screen drawn to column 130\n{app.text()}")
    app.wait_for_text(DEMO_CONCORD)

    # ctrl+z: the terminal given back as it was (main screen), the process stopped.
    before = len(app.output)
    app.send(b"\x1a")
    app.wait_for_output(b"\x1b[?1049l", after=before)
    wait_until(lambda: app.state() == "T", START_WITHIN, "the process stopped")

    # `fg`: SIGCONT. The app takes the terminal again, draws the whole screen, and answers keys.
    before = len(app.output)
    os.kill(app.proc.pid, signal.SIGCONT)
    app.wait_for_output(b"\x1b[?1049h", after=before)
    app.wait_for_output(DEMO_CONCORD.encode(), after=before)
    assert app.state() != "T"
    before = len(app.output)
    app.send(b"?")
    app.wait_for_output(b"faxtui keys", after=before)
    app.wait_for_text("faxtui keys")
    app.send(b"?")  # closes the help
    wait_until(lambda: "faxtui keys" not in app.text(), START_WITHIN, "the help closed")
    app.send(b"q")

    took = app.wait_exit(START_WITHIN)
    assert app.proc.returncode == 0, f"exit {app.proc.returncode} after {took:.2f} s"
    assert demo_directories(tmp_path) == []
