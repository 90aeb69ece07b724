"""`faxtui poll`: the headless poller of team mode (DESIGN §8).

It polls every configured account whose lease it wins in the store, stands by for the others
(taking one over when its holder dies), and writes one line per notable event to stderr: an
account failing or recovering, a lease taken or lost. Never a secret: account errors come
redacted from the poller, store URLs only in their display form. SIGTERM or SIGINT ends it with
exit status 0, its leases released so another poller takes over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from typing import TextIO

from faxtui.config import Config
from faxtui.events import AccountUpdated, PollerEvent
from faxtui.poller import Poller
from faxtui.store.interface import StateStore
from faxtui.team import TeamOptions
from faxtui.team.leases import holder_name

__all__ = ["EventLines", "run_poll"]

PREFIX = "faxtui poll: "


class EventLines:
    """The poller's events as the one-line stderr log: failures, recoveries, who polls."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._errors: dict[str, str | None] = {}

    def __call__(self, event: PollerEvent) -> None:
        if not isinstance(event, AccountUpdated):
            return
        status = event.status
        if status.polled_by is not None and status.following:
            return  # standing by: the lease lines say so; the holder reports its own errors
        if event.failed or (status.last_error and status.last_error != self._errors.get(status.name)):
            self.line(f"account {status.name}: {status.last_error}")
        elif event.recovered:
            self.line(f"account {status.name}: recovered")
        self._errors[status.name] = status.last_error

    def line(self, text: str) -> None:
        print(PREFIX + text, file=self._out, flush=True)


class _LogLines(logging.Handler):
    """The poller's own notices (lease taken, lost, standing by; the store failing) as lines."""

    def __init__(self, lines: EventLines) -> None:
        super().__init__(logging.INFO)
        self._lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self._lines.line(record.getMessage())


def run_poll(
    config: Config,
    store: StateStore,
    where: str,
    *,
    out: TextIO = sys.stderr,
    on_start: Callable[[Poller], Callable[[], None] | None] | None = None,
) -> int:
    """Poll until SIGTERM/SIGINT; 0 then. `where` names the store (no password); `on_start` is
    given the poller once it exists (the metrics server) and may return what stops it."""
    lines = EventLines(out)
    handler = _LogLines(lines)
    logger = logging.getLogger("faxtui.poller")
    logger.addHandler(handler)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        return asyncio.run(_poll_until_stopped(config, store, where, lines, on_start))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


async def _poll_until_stopped(
    config: Config,
    store: StateStore,
    where: str,
    lines: EventLines,
    on_start: Callable[[Poller], Callable[[], None] | None] | None,
) -> int:
    team = TeamOptions(holder_name(), follow=False)
    poller = Poller(config, store, emit=lines, team=team)
    stop_extra = on_start(poller) if on_start is not None else None
    names = ", ".join(acc.name for acc in config.accounts)
    lines.line(f"{team.holder}: {len(config.accounts)} account(s) ({names}), store {where}")
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    running = asyncio.create_task(poller.run(), name="faxtui poll")
    try:
        await stopping.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running  # its leases are released on the way out
        await poller.aclose()
        if stop_extra is not None:
            stop_extra()
    lines.line(f"{team.holder}: stopped, leases released")
    return 0
