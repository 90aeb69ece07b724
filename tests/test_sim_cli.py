"""`faxtui sim` (faxtui.sim.main): the printed endpoints, serving, clean exit on signals, bad usage."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sim_fixtures import faxstatusex, interfax_headers, read_interfax

from faxtui.sim import main

ROOT = Path(__file__).resolve().parents[1]


def _start(*args: str) -> subprocess.Popen[str]:
    code = f"from faxtui.sim import main; raise SystemExit(main({list(args)!r}))"
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_main_prints_endpoints_serves_and_exits_cleanly(sig: signal.Signals) -> None:
    proc = _start("--port", "0", "--seed", "1")
    try:
        assert proc.stdout is not None
        first, second = proc.stdout.readline(), proc.stdout.readline()
        ifx = re.fullmatch(r"interfax: (http://127\.0\.0\.1:(\d+)/dfs\.asmx)\n", first)
        ccd = re.fullmatch(r"concord: (http://127\.0\.0\.1:(\d+)/fax/v5)\n", second)
        assert ifx and ccd, (first, second)
        assert ifx.group(2) == ccd.group(2) != "0"
        rest = [proc.stdout.readline() for _ in range(4)]
        assert rest[0].startswith("token: http://127.0.0.1:") and rest[1].startswith("control: ")
        assert "username demo, password demo" in rest[2]
        assert "UserID mbx0000000001, PIN demo" in rest[3] and "client id demo, secret demo" in rest[3]
        r = httpx.post(
            ifx.group(1), content=faxstatusex("demo", "demo", max_items=3), headers=interfax_headers()
        )
        assert read_interfax(r.content).total == 60
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--faults", "interfax:explode"], "invalid --faults: "),
        (["--faults", "nonsense"], "invalid --faults: "),
        (["--port", "70000"], "--port"),
        (["--speed", "0"], "speed"),
        (["--seed", "x"], "--seed"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--port", "0", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and complaint in err and err.count("\n") == 1 and err.startswith("faxtui sim: ")


def test_port_in_use_is_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    from faxtui.sim import SimServer

    with SimServer() as busy:
        assert main(["--port", str(busy.port)]) == 1
    err = capsys.readouterr().err
    assert "cannot listen" in err and err.count("\n") == 1
