"""The SQL of the call ledger: the `calls` table that rate budgets (`faxtui.budget`) share.

Every process polling from one data directory takes its calls from this table, each check-and-take
in one transaction (the caller's), so restarts and a second faxtui process cannot push an InterFax
user past its 6 calls a minute. Stamps are wall-clock seconds (`time.time`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from faxtui.store.interface import CallKey

__all__ = ["MAX_CALL_AHEAD", "add_calls", "move_call", "recent_calls", "take_call"]

MAX_CALL_AHEAD = 3600.0
"""Ledger stamps further ahead of the clock than this are dropped: the clock was set back."""


def take_call(conn: sqlite3.Connection, key: CallKey, now: float, limit: int, window: float) -> float:
    """Inside the caller's write transaction: record one call for `key` at `now` if fewer than
    `limit` were made in the last `window` seconds and return 0, else return the seconds until one
    is allowed."""
    stamps = _window(conn, key, now, window)
    if len(stamps) < limit:
        conn.execute("INSERT INTO calls (service, endpoint, user, at) VALUES (?, ?, ?, ?)", (*key, now))
        return 0.0
    return max(0.0, stamps[len(stamps) - limit] + window - now)


def add_calls(conn: sqlite3.Connection, key: CallKey, stamps: Sequence[float]) -> None:
    """Record calls made without asking first (extra calls, or a server's "window is full")."""
    conn.executemany(
        "INSERT INTO calls (service, endpoint, user, at) VALUES (?, ?, ?, ?)",
        [(*key, at) for at in stamps],
    )


def move_call(conn: sqlite3.Connection, key: CallKey, stamp: float, to: float) -> None:
    """Move one call of `key` recorded at `stamp` to `to`."""
    conn.execute(
        "UPDATE calls SET at = ? WHERE rowid = (SELECT rowid FROM calls WHERE service = ? AND endpoint = ? "
        "AND user = ? AND at = ? LIMIT 1)",
        (to, *key, stamp),
    )


def recent_calls(conn: sqlite3.Connection, key: CallKey, now: float, window: float) -> list[float]:
    """The times of the calls for `key` still inside the window ending at `now`, oldest first."""
    rows = conn.execute(
        "SELECT at FROM calls WHERE service = ? AND endpoint = ? AND user = ? AND at > ? AND at <= ? "
        "ORDER BY at",
        (*key, now - window, now + MAX_CALL_AHEAD),
    ).fetchall()
    return [float(row[0]) for row in rows]


def _window(conn: sqlite3.Connection, key: CallKey, now: float, window: float) -> list[float]:
    # Forget calls that left the window, and stamps so far ahead that the clock must have been
    # set back since they were written (else they would block this key until it catches up).
    conn.execute(
        "DELETE FROM calls WHERE service = ? AND endpoint = ? AND user = ? AND (at <= ? OR at > ?)",
        (*key, now - window, now + MAX_CALL_AHEAD),
    )
    rows = conn.execute(
        "SELECT at FROM calls WHERE service = ? AND endpoint = ? AND user = ? ORDER BY at", key
    ).fetchall()
    return [float(row[0]) for row in rows]
