"""`faxtui demo`: the TUI against the built-in simulator, with both demo accounts and a watch list.

Everything is temporary (see `faxtui.tui.demo_session`, where the demo is put together).
"""

from __future__ import annotations

from faxtui.tui.app import FaxApp
from faxtui.tui.demo_session import build_demo


def run_demo(seed: int = 1, speed: float = 1.0, *, mouse: bool = True) -> int:
    """`faxtui demo [--seed N] [--speed X]`: run the monitor on the simulator until the user quits."""
    session = build_demo(seed, speed)
    try:
        app = FaxApp(session.config, session.store, demo=session)
        result = app.run(mouse=mouse)
    finally:
        session.close()
    return result or 0
