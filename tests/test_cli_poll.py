"""`faxtui poll`, the headless poller, as real processes against the simulator over loopback.

How soon a dead poller is replaced is a time bound, tested on the fake clock (tests/test_team.py);
here, real processes show what an operator would: one of two pollers calls the service, the other
stands by and takes over when the first is killed (-9) or stopped (SIGTERM, exit 0, leases
released), every notable event is one line on stderr without a secret, a bad config or store URL
exits 2.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_rate_limits import START, config_of, interfax

from faxtui.config import save_config
from faxtui.sim import RealClock, SimOptions, SimServer, World

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "desk-pass-7f3a"
"""The account's password: it must appear in no line any poller writes."""


@pytest.fixture
def sim() -> Iterator[SimServer]:
    world = World(SimOptions(seed=4, arrival_mean_seconds=30), RealClock(1.0, start=START))
    world.add_interfax_account("desk", PASSWORD, jobs=20)
    with SimServer(world=world) as server:
        yield server


class PollProcess:
    """`faxtui poll` in its own process, its stderr read line by line as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "faxtui", "poll", *args], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def wait_for(self, text: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.said(text):
            assert self.proc.poll() is None or self.said(text), f"exited {self.proc.returncode}: {self.lines}"
            assert time.monotonic() < deadline, f"never said {text!r}: {self.lines}"
            time.sleep(0.05)

    def finish(self, timeout: float = 30.0) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout)
        return code


def environment(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "FAXTUI_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT),
            "FAXTUI_CONFIG": str(tmp_path / "config.toml")}


def two_pollers(sim: SimServer, tmp_path: Path, store_url: str) -> tuple[PollProcess, PollProcess]:
    save_config(config_of(tmp_path, interfax(sim, "desk", "desk", PASSWORD, poll=10)))
    env = environment(tmp_path)
    first = PollProcess(["--store", store_url], env)
    first.wait_for("account desk: lease taken")
    second = PollProcess(["--store", store_url], env)
    second.wait_for("standing by")
    return first, second


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_killed_poller_is_replaced_by_the_one_standing_by(
    sim: SimServer, tmp_path: Path, store_url: str
) -> None:
    first, second = two_pollers(sim, tmp_path, store_url)
    try:
        deadline = time.monotonic() + 30  # the first polls; the second only watches
        while sim.stats.requests("interfax", "desk") < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sim.stats.requests("interfax", "desk") >= 1
        assert not second.said("lease taken")
        first.proc.kill()  # kill -9: nothing released, the lease has to run out
        assert first.finish() == -signal.SIGKILL
        second.wait_for("account desk: lease taken")
        polled_at = sim.stats.requests("interfax", "desk")
        deadline = time.monotonic() + 30
        while sim.stats.requests("interfax", "desk") == polled_at and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sim.stats.requests("interfax", "desk") > polled_at  # the survivor polls
    finally:
        for process in (first, second):
            if process.proc.poll() is None:
                process.proc.terminate()
                process.finish()
    assert sim.stats.snapshot()["rate_limited"] == 0
    assert not any(PASSWORD in line for line in first.lines + second.lines)


def test_sigterm_ends_a_poller_with_0_and_hands_its_accounts_over(
    sim: SimServer, tmp_path: Path, store_url: str
) -> None:
    first, second = two_pollers(sim, tmp_path, store_url)
    try:
        first.proc.send_signal(signal.SIGTERM)
        assert first.finish() == 0
        assert first.said("stopped, leases released")
        second.wait_for("account desk: lease taken", timeout=30)
    finally:
        second.proc.send_signal(signal.SIGINT)
        assert second.finish() == 0
    assert not any(PASSWORD in line for line in first.lines + second.lines)


def test_failing_recovering_and_metrics_of_a_poller_without_its_secret(
    sim: SimServer, tmp_path: Path
) -> None:
    save_config(config_of(tmp_path, interfax(sim, "desk", "desk", PASSWORD, poll=10)))
    sim.faults.add("interfax:http503:n=1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    poller = PollProcess(["--metrics", f"127.0.0.1:{port}"], environment(tmp_path))
    try:
        poller.wait_for("account desk: HTTP 503")
        poller.wait_for("account desk: recovered")
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert 'faxtui_account_polling{account="desk"} 1.0' in metrics
        assert 'faxtui_account_up{account="desk",service="interfax"} 1.0' in metrics
        assert PASSWORD not in metrics
    finally:
        poller.proc.terminate()
        assert poller.finish() == 0
    assert len([line for line in poller.lines if "HTTP 503" in line]) == 1
    assert not any(PASSWORD in line for line in poller.lines)


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--store", "mysql://db/faxtui"], "store URL"),
        (["--store", "postgresql://faxtui:hunter2@127.0.0.1:1/faxtui"], "127.0.0.1"),
        (["--config", "/nonexistent/faxtui.toml"], "no accounts configured"),
        (["--metrics", "nonsense"], "metrics address"),
        (["--metrics", "192.0.2.1:9464"], "cannot serve metrics"),
    ],
)
def test_a_bad_store_url_or_config_exits_2_with_one_line(
    sim: SimServer, tmp_path: Path, args: list[str], complaint: str
) -> None:
    config = config_of(tmp_path, interfax(sim, "desk", "desk", PASSWORD, poll=10))
    save_config(config)
    done = subprocess.run([sys.executable, "-m", "faxtui", "poll", *args], env=environment(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and complaint in done.stderr
    assert "hunter2" not in done.stderr
