"""Running `faxtui` as a real subprocess with its own config and data directory (a pytest plugin:
registered in conftest.py, so its fixtures need no import)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a `faxtui` process: no FAXTUI_* of the caller's, a config and a data
    directory of the test's own, no colour, 100 columns."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("FAXTUI_")}
    base.update({
        "FAXTUI_CONFIG": str(tmp_path / "cfg" / "config.toml"),
        "FAXTUI_DATA_DIR": str(tmp_path / "data"),
        "NO_COLOR": "1",
        "COLUMNS": "100",
    })
    return base


def faxtui(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`python -m faxtui ARGS` in `env`, its output captured (60 s at most)."""
    return subprocess.run(
        [sys.executable, "-m", "faxtui", *args], env=env, input=stdin, capture_output=True,
        text=True, timeout=60, check=False,
    )
