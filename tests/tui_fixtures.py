"""Fixtures and helpers for the TUI tests: the demo world on a fake clock, bounded waits.

A pytest plugin (registered in conftest.py): its `demo` fixture reaches every test without an import.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot

from faxtui.sim import FakeClock, SimServer
from faxtui.tui.app import FaxApp
from faxtui.tui.demo_session import DemoSession, build_demo
from faxtui.tui.screens.main import MainScreen


@dataclasses.dataclass
class Demo:
    session: DemoSession
    clock: FakeClock

    @property
    def sim(self) -> SimServer:
        return self.session.sim

    def app(self, **kwargs: object) -> FaxApp:
        """The app on this demo's config and store; the fake clock drives every age shown."""
        options: dict[str, object] = {"now": self.clock.now, "autostart": False, "cursor_blink": False}
        options.update(kwargs)
        return FaxApp(self.session.config, self.session.store, **options)  # type: ignore[arg-type]


def make_demo(tmp_path: Path, *, interfax_poll: float = 20.0, concord_poll: float = 5.0) -> Demo:
    clock = FakeClock()
    session = build_demo(seed=1, clock=clock, timezone="UTC", interfax_poll=interfax_poll,
                         concord_poll=concord_poll, directory=tmp_path)
    return Demo(session, clock)


@pytest.fixture(name="demo")
def demo_fixture(tmp_path: Path) -> Iterator[Demo]:
    """Both demo accounts on a simulator whose world moves only when the test advances the clock."""
    made = make_demo(tmp_path)
    try:
        yield made
    finally:
        made.session.close()


async def wait_for(pilot: Pilot[Any], condition: Callable[[], object], *, timeout: float = 8.0,
                   what: str = "condition") -> None:
    """Let the app run until `condition()` is true; fail after `timeout` seconds of app time."""
    steps = int(timeout / 0.02)
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def main_screen(app: FaxApp) -> MainScreen:
    assert app.main_screen is not None
    return app.main_screen


async def poll(app: FaxApp, pilot: Pilot[Any]) -> None:
    """One poll of every account, then let the messages reach the widgets."""
    await app.poller.poll_once()
    await pilot.pause()
    await pilot.pause()


def screen_text(app: FaxApp) -> str:
    """The screen as plain text, as a user would read it."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, color_system=None,
                      legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()

