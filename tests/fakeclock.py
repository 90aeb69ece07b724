"""A fake clock for the poller and its rate budgets: time moves only when a test moves it.

    clock = FakeClock(START)
    world = World(options, clock)                          # the simulator reads the same time
    poller = Poller(config, store, **clock.poller_args())  # now, monotonic, wall and sleep
    task = asyncio.create_task(poller.run())
    await clock.advance(61)                                # every wait due in the next 61 s, in order

`sleep(seconds)` parks the calling task until the clock reaches its deadline. `advance(seconds)`
first lets everything else on the loop run until it is parked (`settle`), then steps the clock
from one sleeper's deadline to the next, waking each in turn and settling again, and ends at
`elapsed + seconds`. Between steps the clock stands still, so what a woken task does (an HTTP
call to the simulator, a store write) happens at the instant it woke, however long the machine
takes over it: a test can say "exactly 6 calls in the first 61 s" and mean it.

A task counts as parked when it waits on this clock's `sleep`, on another task (or a gather of
tasks, which are judged themselves), or on an asyncio primitive (`Event`, `Lock`, `asyncio.wait`)
that faxtui's or the tests' own code is waiting on. Anything else (a socket, a thread, a real
`asyncio.sleep`, a library's own event) is busy, and `settle` waits for it, for at most
`settle_timeout` real seconds: that bound only turns a hang into a failure naming what was busy.

`instant_sleep` is for code that runs alone (a whole `faxtui status` inside `asyncio.run`): it moves
the clock by the delay and returns at once.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
MONOTONIC_START = 1_000.0
"""What `monotonic()` reads before the clock moved (any value works; 0 would hide sign slips)."""
RESOLUTION = 1e-6
"""Deadlines are rounded up to a microsecond, so a wake-up is never early and every step moves
`wall()` (a float near 1.8e9 s, whose smallest step is about 2.4e-7 s)."""

_ASYNCIO = Path(asyncio.__file__).parent
_TESTS = Path(__file__).resolve().parent
_FAXTUI = _TESTS.parent / "faxtui"
_PRIMITIVES = {
    (_ASYNCIO / "locks.py", None), (_ASYNCIO / "queues.py", None), (_ASYNCIO / "tasks.py", "_wait"),
}
"""Where a parked task's innermost frame may be (file, and function if only one of the file's)."""


def _ours(path: Path) -> bool:
    """faxtui's code (not the simulator's: it runs in threads of its own) or the tests'."""
    return path.is_relative_to(_TESTS) or (path.is_relative_to(_FAXTUI)
                                           and not path.is_relative_to(_FAXTUI / "sim"))


def _file(frame: FrameType) -> Path:
    return Path(frame.f_code.co_filename)


def _frames(task: asyncio.Task[Any]) -> list[FrameType]:
    """The frames of the coroutines a suspended task is in, outermost first (following `await`s,
    which `Task.get_stack` does not)."""
    frames: list[FrameType] = []
    coro: Any = task.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        frames.append(frame)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return frames


class FakeClock:
    def __init__(self, start: datetime = DEFAULT_START, *, settle_timeout: float = 30.0) -> None:
        self.start = start
        self.settle_timeout = settle_timeout
        self.sleeps: list[float] = []
        """Every delay asked of `sleep` or `instant_sleep`, in order."""
        self._elapsed = 0.0
        self._lock = threading.Lock()  # the simulator reads `now()` from its own threads
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._seq = itertools.count()

    def __repr__(self) -> str:
        return f"FakeClock(+{self.elapsed:g} s, {len(self._waiting)} asleep)"

    # --- reading -------------------------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        with self._lock:
            return self._elapsed

    def monotonic(self) -> float:
        return MONOTONIC_START + self.elapsed

    def wall(self) -> float:
        return self.start.timestamp() + self.elapsed

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def poller_args(self) -> dict[str, Any]:
        """`Poller(config, store, **clock.poller_args())`: all its time from this clock."""
        return {"now": self.now, "monotonic": self.monotonic, "wall": self.wall, "sleep": self.sleep}

    # --- sleeping ------------------------------------------------------------------------------

    async def sleep(self, seconds: float) -> None:
        """Park until the clock has moved `seconds` on (a non-positive delay only yields)."""
        self.sleeps.append(seconds)
        if not seconds > 0:
            await asyncio.sleep(0)
            return
        deadline = math.ceil((self.elapsed + seconds) / RESOLUTION) * RESOLUTION
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._seq), future))
        self._waiting[id(future)] = future
        try:
            await future
        finally:
            self._waiting.pop(id(future), None)

    async def instant_sleep(self, seconds: float) -> None:
        """Move the clock `seconds` on and return: for code that is the only thing running."""
        self.sleeps.append(seconds)
        if seconds > 0:
            self._set(math.ceil((self.elapsed + seconds) / RESOLUTION) * RESOLUTION)
        await asyncio.sleep(0)

    @property
    def asleep(self) -> int:
        """How many tasks wait in `sleep`."""
        return len(self._waiting)

    def next_deadline(self) -> float | None:
        """The elapsed time at which the next sleeper wakes, or None if none sleeps."""
        while self._sleepers and self._sleepers[0][2].done():  # cancelled sleeps
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    # --- moving --------------------------------------------------------------------------------

    def _set(self, elapsed: float) -> None:
        with self._lock:
            self._elapsed = max(self._elapsed, elapsed)

    def _wake_due(self) -> None:
        now = self.elapsed
        while self._sleepers and self._sleepers[0][0] <= now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    async def _step(self) -> None:
        """Move to the next sleeper's deadline, wake it (and any due with it), settle."""
        due = self.next_deadline()
        assert due is not None
        self._set(due)
        self._wake_due()
        await self.settle()

    async def advance(self, seconds: float) -> None:
        """Let the next `seconds` pass: every sleep due in them ends, in order, each at its time."""
        if seconds < 0:
            raise ValueError("a FakeClock only moves forward")
        target = self.elapsed + seconds
        await self.settle()
        while (due := self.next_deadline()) is not None and due <= target:
            await self._step()
        self._set(target)
        await self.settle()

    async def advance_to(self, elapsed: float) -> None:
        """`advance` up to `elapsed` seconds after the start."""
        await self.advance(max(0.0, elapsed - self.elapsed))

    async def run_until(self, condition: Callable[[], object], *, within: float) -> float:
        """Let time pass, one wake-up at a time, until `condition()` holds; return the elapsed time
        then. Fails if it does not hold by `within` seconds from now, or if nothing sleeps."""
        limit = self.elapsed + within
        await self.settle()
        while not condition():
            due = self.next_deadline()
            if due is None:
                raise AssertionError(f"condition not reached and nothing is asleep (at +{self.elapsed:g} s)")
            if due > limit + RESOLUTION:
                raise AssertionError(f"condition not reached within {within:g} s (next wake-up at "
                                     f"+{due:g} s, {len(self._waiting)} asleep)")
            await self._step()
        return self.elapsed

    async def run(self, awaitable: Awaitable[T], *, within: float) -> T:
        """Run `awaitable` to its end, letting time pass as its waits need, at most `within` s."""
        task = asyncio.ensure_future(awaitable)
        try:
            await self.run_until(task.done, within=within)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        return task.result()

    # --- quiescence ----------------------------------------------------------------------------

    async def settle(self) -> None:
        """Return once every other task on the loop is parked (see the module's docstring)."""
        me = asyncio.current_task()
        give_up = time.monotonic() + self.settle_timeout  # real time: a hang guard, nothing else
        quiet = 0
        while quiet < 3:  # three looks in a row: callbacks that chain through call_soon finish
            await asyncio.sleep(0)
            busy = [t for t in asyncio.all_tasks() if t is not me and not t.done() and not self._parked(t)]
            if not busy:
                quiet += 1
                continue
            quiet = 0
            if time.monotonic() > give_up:
                raise AssertionError(f"still busy after {self.settle_timeout:g} s: "
                                     + "; ".join(_describe(t) for t in busy))
            await asyncio.sleep(0.0005)  # real I/O in flight: give the loop's selector a moment

    def _parked(self, task: asyncio.Task[Any]) -> bool:
        waiter = getattr(task, "_fut_waiter", None)
        if waiter is None or waiter.done():
            return False  # running, or about to
        if id(waiter) in self._waiting:
            return True
        if isinstance(waiter, asyncio.Task) or type(waiter).__name__ == "_GatheringFuture":
            return True  # the tasks it waits for are judged themselves
        frames = _frames(task)
        if not frames:
            return False
        inner = frames[-1]
        where = _file(inner)
        if (where, None) not in _PRIMITIVES and (where, inner.f_code.co_name) not in _PRIMITIVES:
            return False
        # Who waits on the primitive: the first frame that is not asyncio's. An Event of httpx's or
        # anyio's stands for a socket (busy); one of faxtui's for another task or the clock (parked).
        callers = [_file(f) for f in frames[:-1] if _file(f).parent != _ASYNCIO]
        return not callers or _ours(callers[-1])  # none: a task made straight from Event.wait


def _describe(task: asyncio.Task[Any]) -> str:
    frames = _frames(task)
    where = ", ".join(f"{_file(f).name}:{f.f_lineno} {f.f_code.co_name}" for f in frames[-3:])
    return f"{task.get_name()} at {where or '?'}"
