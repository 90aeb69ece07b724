"""A sliding-window call budget: never more than `limit` calls in any `window` seconds.

InterFax allows 6 status calls a minute per user; one `CallBudget` is shared by every account
that logs in as the same user on the same endpoint, so two accounts (or a refresh-happy
operator) cannot exceed it together.

With a `ledger` (the state store's `calls` table) the budget is also shared across time and
processes: a restarted faxtui sees the calls its previous run made in the last minute, and two
faxtui processes on one data directory take their calls from the same window, each check-and-take
being one database transaction. The ledger needs a clock every process agrees on, so a budget with
a ledger runs on wall time (`time.time`) rather than a monotonic clock. If the ledger cannot be
used (it raises `StoreError`: a read-only or full disk), the budget says so once in the log and
counts in memory; any other exception from the ledger is a bug and is not swallowed.

Time comes from `clock` and waits go through `sleep` (default `asyncio.sleep`), so a test can run a
budget on a fake clock: a waiting `acquire` only ever sleeps through `sleep`.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from faxtui.store.interface import CallKey, CallLedger, StoreError

log = logging.getLogger(__name__)

MAX_HOLD = 900.0
"""Longest a server's "slow down" is honoured for in one go (a Retry-After of hours is a mistake)."""
RECHECK_SECONDS = 1.0
"""A waiting `acquire` looks again at least this often (another process, or a clock change)."""

Sleep = Callable[[float], Awaitable[None]]
"""How a budget (and the poller) waits: `asyncio.sleep`, or a fake clock's sleep in tests."""


class CallBudget:
    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        ledger: CallLedger | None = None,
        key: CallKey | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a budget needs a positive limit and window")
        if (ledger is None) != (key is None):
            raise ValueError("a ledger needs a key, and a key a ledger")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._ledger = ledger
        self._key = key
        self._calls: deque[float] = deque()
        self._lock = asyncio.Lock()

    # --- the ledger, when there is one and it works --------------------------------------------

    def _ledger_failed(self, err: StoreError) -> None:
        log.warning("call ledger unusable (%s); counting calls in memory only", err)
        self._ledger = None

    def _stamps(self, now: float) -> list[float]:
        """Calls inside the window ending at `now`: from the ledger, else from memory."""
        self._expire(now)
        if self._ledger is not None and self._key is not None:
            try:
                return self._ledger.recent_calls(self._key, now, self.window)
            except StoreError as err:
                self._ledger_failed(err)
        return list(self._calls)

    def _take(self, now: float) -> float:
        """Take a call at `now` if the window has room (0.0), else the seconds until it will."""
        if self._ledger is not None and self._key is not None:
            try:
                wait = self._ledger.take_call(self._key, now, self.limit, self.window)
            except StoreError as err:
                self._ledger_failed(err)
            else:
                if wait <= 0:
                    self._note(now)
                return wait
        self._expire(now)
        if len(self._calls) < self.limit:
            self._note(now)
            return 0.0
        return max(0.0, self._calls[len(self._calls) - self.limit] + self.window - now)

    def _note(self, now: float) -> None:
        self._calls.append(now)

    def _expire(self, now: float) -> None:
        while self._calls and self._calls[0] <= now - self.window:
            self._calls.popleft()

    # --- the API -------------------------------------------------------------------------------

    def available(self) -> int:
        """How many calls could be made right now."""
        return max(0, self.limit - len(self._stamps(self._clock())))

    def wait_time(self) -> float:
        """Seconds until the next call is allowed (0 when one is allowed now)."""
        now = self._clock()
        stamps = self._stamps(now)
        if len(stamps) < self.limit:
            return 0.0
        return max(0.0, stamps[len(stamps) - self.limit] + self.window - now)

    def try_take(self) -> float | None:
        """Take a call now if the window has room: its stamp (for `settle`), else None."""
        now = self._clock()
        return now if self._take(now) <= 0 else None

    def try_acquire(self) -> bool:
        """Take a call now if the window has room."""
        return self.try_take() is not None

    async def acquire(self) -> float:
        """Wait until the window has room, then take a call; returns its stamp (for `settle`)."""
        async with self._lock:
            while True:
                now = self._clock()
                delay = self._take(now)
                if delay <= 0:
                    return now
                await self._sleep(min(delay, RECHECK_SECONDS))

    def settle(self, stamp: float) -> None:
        """The call taken at `stamp` is over (answered, failed or timed out): count it from now.

        The service counted it when the request reached it, at some moment between the take and
        now: a slow connect, a retransmit or a busy event loop can put that moment seconds after
        the take, and a window counted from the take would then end too early at the service.
        Counted from the end of the call, it cannot."""
        now = self._clock()
        if now <= stamp:
            return
        with contextlib.suppress(ValueError):
            self._calls.remove(stamp)
            bisect.insort(self._calls, now)
        if self._ledger is not None and self._key is not None:
            try:
                self._ledger.move_call(self._key, stamp, now)
            except StoreError as err:
                self._ledger_failed(err)

    def charge(self, calls: int) -> None:
        """Count `calls` that were made without asking first (a client that had to retry or split)."""
        if calls <= 0:
            return
        now = self._clock()
        stamps = [now] * calls
        for stamp in stamps:
            self._note(stamp)
        self._record(stamps)

    def exhaust(self, seconds: float | None = None) -> float:
        """The server said we are over its limit: count the window as full for `seconds`
        (default: a whole window; at most `MAX_HOLD`) and return when the next call is allowed."""
        now = self._clock()
        hold = self.window if seconds is None else max(0.0, min(float(seconds), MAX_HOLD))
        # Fill the window with calls that expire `hold` seconds from now, beside the calls really
        # made: a short Retry-After must not make the budget forget them.
        stamp = now + hold - self.window
        self._calls.extend([stamp] * self.limit)
        self._calls = deque(sorted(self._calls))
        self._record([stamp] * self.limit)
        return hold

    def _record(self, stamps: list[float]) -> None:
        if self._ledger is not None and self._key is not None:
            try:
                self._ledger.add_calls(self._key, stamps)
            except StoreError as err:
                self._ledger_failed(err)
