"""A sliding-window call budget: never more than `limit` calls in any `window` seconds.

InterFax allows 6 status calls a minute per user; one `CallBudget` is shared by every account
that logs in as the same user on the same endpoint, so two accounts (or a refresh-happy
operator) cannot exceed it together.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class CallBudget:
    def __init__(
        self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a budget needs a positive limit and window")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._calls: deque[float] = deque()
        self._lock = asyncio.Lock()
        self.spent = 0

    def _expire(self, now: float) -> None:
        while self._calls and self._calls[0] <= now - self.window:
            self._calls.popleft()

    def available(self) -> int:
        """How many calls could be made right now."""
        self._expire(self._clock())
        return self.limit - len(self._calls)

    def wait_time(self) -> float:
        """Seconds until the next call is allowed (0 when one is allowed now)."""
        now = self._clock()
        self._expire(now)
        if len(self._calls) < self.limit:
            return 0.0
        return max(0.0, self._calls[0] + self.window - now)

    def try_acquire(self) -> bool:
        """Take a call now if the window has room."""
        if self.available() <= 0:
            return False
        self._calls.append(self._clock())
        self.spent += 1
        return True

    async def acquire(self) -> None:
        """Wait until the window has room, then take a call."""
        async with self._lock:
            while True:
                delay = self.wait_time()
                if delay <= 0:
                    self._calls.append(self._clock())
                    self.spent += 1
                    return
                await asyncio.sleep(delay)

    def exhaust(self, seconds: float | None = None) -> float:
        """The server said we are over its limit: count the window as full for `seconds`
        (default: a whole window) and return when the next call is allowed, in seconds."""
        now = self._clock()
        hold = self.window if seconds is None else seconds
        # Fill the window with calls that expire `hold` seconds from now.
        stamp = now + hold - self.window
        self._calls = deque([stamp] * self.limit)
        return hold
