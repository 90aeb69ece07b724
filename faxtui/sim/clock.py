"""The clocks a simulated world runs on: real time (optionally sped up) or a clock tests step."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class SimClock(Protocol):
    """What a world reads the time from. Always timezone-aware UTC."""

    def now(self) -> datetime: ...


def as_utc(moment: datetime) -> datetime:
    """A naive datetime is taken to be UTC; an aware one is converted."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class RealClock:
    """Wall time from `start` (default: now), running `speed` times faster than real time."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0")
        self.speed = speed
        self._start = as_utc(start) if start is not None else datetime.now(UTC).replace(microsecond=0)
        self._mono = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._mono) * self.speed)

    def __repr__(self) -> str:
        return f"RealClock(speed={self.speed})"


DEFAULT_FAKE_START = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)


class FakeClock:
    """A clock that stands still until told to move: `advance(seconds)`. Thread-safe."""

    def __init__(self, start: datetime = DEFAULT_FAKE_START) -> None:
        self._now = as_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("a FakeClock only moves forward")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self.now().isoformat()})"
