"""The call ledger a rate budget shares through the store, and what the budget does when it fails.

A ledger that raises `StoreError` (a read-only or full disk, a closed or damaged database) is given
up and the budget counts in memory, as before; anything else a ledger raises is a bug and must
reach the caller instead of being swallowed.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from faxtui.budget import CallBudget
from faxtui.store import CallKey, CallLedger, StateStore, Store, StoreError
from faxtui.store.url import open_store

KEY: CallKey = ("interfax", "https://example.invalid/dfs.asmx", "demo")
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class FailingLedger:
    """A ledger whose `failing` method raises `error`; the others work like a one-process ledger."""

    def __init__(self, failing: str, error: Exception) -> None:
        self.failing = failing
        self.error = error
        self.calls: list[float] = []

    def _maybe_fail(self, method: str) -> None:
        if method == self.failing:
            raise self.error

    def take_call(self, key: CallKey, now: float, limit: int, window: float) -> float:
        self._maybe_fail("take_call")
        stamps = [at for at in self.calls if now - window < at]
        if len(stamps) < limit:
            self.calls.append(now)
            return 0.0
        return stamps[len(stamps) - limit] + window - now

    def add_calls(self, key: CallKey, stamps: Sequence[float]) -> None:
        self._maybe_fail("add_calls")
        self.calls.extend(stamps)

    def move_call(self, key: CallKey, stamp: float, to: float) -> None:
        self._maybe_fail("move_call")
        if stamp in self.calls:
            self.calls[self.calls.index(stamp)] = to

    def recent_calls(self, key: CallKey, now: float, window: float) -> list[float]:
        self._maybe_fail("recent_calls")
        return sorted(at for at in self.calls if now - window < at)


def _typed(ledger: FailingLedger) -> CallLedger:
    return ledger  # the test double is a CallLedger, for mypy


def exercise(budget: CallBudget, clock: Clock) -> None:
    """Every budget entry point that reaches the ledger (take, read, record)."""
    stamp = budget.try_take()
    if stamp is not None:
        clock.now += 0.5
        budget.settle(stamp)
    budget.available()
    budget.wait_time()
    budget.charge(1)
    budget.exhaust(5.0)
    clock.now += 1


LEDGER_METHODS = ("take_call", "add_calls", "move_call", "recent_calls")


@pytest.mark.parametrize("failing", LEDGER_METHODS)
def test_a_ledger_raising_store_error_leaves_the_budget_counting_in_memory(
    failing: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    ledger = FailingLedger(failing, StoreError("state.sqlite3: disk I/O error"))
    budget = CallBudget(3, 10.0, clock=clock, ledger=_typed(ledger), key=KEY)
    with caplog.at_level(logging.WARNING, logger="faxtui.budget"):
        exercise(budget, clock)  # the ledger fails somewhere in here and is given up
        exercise(budget, clock)
    warnings = [r for r in caplog.records if "call ledger unusable" in r.getMessage()]
    assert len(warnings) == 1 and "disk I/O error" in warnings[0].getMessage()
    # In memory, the budget still keeps its window: fill it, then it refuses until the window frees.
    clock.now += 100
    assert budget.available() == 3
    assert [budget.try_acquire() for _ in range(4)] == [True, True, True, False]
    assert budget.available() == 0 and budget.wait_time() == pytest.approx(10.0)
    clock.now += 10.0
    assert budget.try_acquire()
    recorded = len(ledger.calls)
    budget.charge(2)
    assert len(ledger.calls) == recorded  # nothing goes to a ledger that was given up


@pytest.mark.parametrize("failing", LEDGER_METHODS)
def test_a_ledger_raising_anything_else_is_a_bug_and_is_not_swallowed(failing: str) -> None:
    clock = Clock()
    ledger = FailingLedger(failing, RuntimeError("bug in the ledger"))
    budget = CallBudget(3, 10.0, clock=clock, ledger=_typed(ledger), key=KEY)
    with pytest.raises(RuntimeError, match="bug in the ledger"):
        exercise(budget, clock)
    with pytest.raises(RuntimeError, match="bug in the ledger"):  # and it was not given up either
        exercise(budget, clock)


# --- each store's ledger raises StoreError, never a raw sqlite3 or psycopg error ----------------


@pytest.fixture
def store(any_store: StateStore) -> StateStore:
    return any_store


def test_the_ledger_shares_one_window(store: StateStore) -> None:
    assert [store.take_call(KEY, T0 + i, 2, 10.0) for i in range(3)] == [0.0, 0.0, pytest.approx(8.0)]
    store.add_calls(KEY, [T0 + 3])
    assert store.recent_calls(KEY, T0 + 3, 10.0) == [T0, T0 + 1, T0 + 3]
    assert store.recent_calls(KEY, T0 + 10.5, 10.0) == [T0 + 1, T0 + 3]
    other: CallKey = (KEY[0], KEY[1], "someone-else")
    assert store.recent_calls(other, T0 + 3, 10.0) == []


@pytest.mark.parametrize("shared", [False, True], ids=["in memory", "through the store"])
def test_a_call_counts_from_when_it_ended(store: StateStore, shared: bool) -> None:
    # The service counted the call when it arrived, somewhere between the take and the answer: the
    # budget counts it from the answer, so its window cannot end before the service's does.
    clock = Clock()
    ledger = store if shared else None
    budget = CallBudget(2, 10.0, clock=clock, ledger=ledger, key=KEY if shared else None)
    slow = budget.try_take()
    assert slow is not None and budget.try_acquire()
    clock.now += 4  # the first call's answer came 4 s after it was taken
    budget.settle(slow)
    clock.now += 6.5  # 10.5 s after both were taken; 6.5 s after the first one ended
    assert budget.available() == 1
    assert budget.wait_time() == 0.0 and not (budget.try_acquire() and budget.try_acquire())
    assert budget.wait_time() == pytest.approx(3.5)  # the slow call leaves the window at 14
    if shared:
        assert store.recent_calls(KEY, clock.now, 10.0) == [T0 + 4, T0 + 10.5]


def test_the_ledger_forgets_stamps_from_a_clock_set_back(store: StateStore) -> None:
    store.add_calls(KEY, [T0 + 7200])  # written before the clock was set back two hours
    assert store.recent_calls(KEY, T0, 10.0) == []
    assert store.take_call(KEY, T0, 1, 10.0) == 0.0  # the far-ahead stamp does not block the key
    assert store.take_call(KEY, T0 + 1, 1, 10.0) == pytest.approx(9.0)


def test_a_closed_store_ledger_raises_store_error(store: StateStore) -> None:
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.take_call(KEY, T0, 6, 61.0)
    with pytest.raises(StoreError, match="closed"):
        store.add_calls(KEY, [T0])
    with pytest.raises(StoreError, match="closed"):
        store.recent_calls(KEY, T0, 61.0)


def test_sqlite_errors_of_the_ledger_come_out_as_store_error(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "data")
    with closing(sqlite3.connect(store.path)) as other:  # a damaged schema: every ledger statement fails
        other.execute("DROP TABLE calls")
    for call in (
        lambda: store.take_call(KEY, T0, 6, 61.0),
        lambda: store.add_calls(KEY, [T0]),
        lambda: store.recent_calls(KEY, T0, 61.0),
    ):
        with pytest.raises(StoreError, match=r"state\.sqlite3: no such table: calls"):
            call()
    # ... so a budget on it falls back to counting in memory instead of failing the poll.
    clock = Clock()
    budget = CallBudget(2, 10.0, clock=clock, ledger=store, key=KEY)
    assert [budget.try_acquire() for _ in range(3)] == [True, True, False]
    assert budget.available() == 0
    store.close()


def test_postgres_errors_of_the_ledger_come_out_as_store_error(pg_url: str) -> None:
    store = open_store(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as other:
        other.execute("DROP TABLE calls")
    for call in (
        lambda: store.take_call(KEY, T0, 6, 61.0),
        lambda: store.add_calls(KEY, [T0]),
        lambda: store.recent_calls(KEY, T0, 61.0),
    ):
        with pytest.raises(StoreError, match=r'postgresql://postgres@127\.0\.0\.1:\d+/\w+: relation "calls"'):
            call()
    budget = CallBudget(2, 10.0, clock=Clock(), ledger=store, key=KEY)
    assert [budget.try_acquire() for _ in range(3)] == [True, True, False]
    store.close()
