"""Shared fixtures. Keep this small and generic; module-specific fixtures live in their test files."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fakeclock import FakeClock
from loopback import LoopbackServer

pytest_plugins = ["cli_fixtures", "tui_fixtures", "pg_fixtures"]
"""Fixture modules: their fixtures reach every test without an import."""


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A running loopback HTTP server (see tests/loopback.py), stopped after the test."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound then released), for connection-refused tests."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock that moves only when the test moves it (see tests/fakeclock.py): give the poller
    `**fake_clock.poller_args()` and its scheduling, rate budgets and waits all run on it."""
    return FakeClock()
