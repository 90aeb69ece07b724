"""Recovering from a damaged database file: detecting it, moving it aside, salvaging its rows.

A file that is not a database or fails `PRAGMA quick_check` is moved aside to
`<name>.corrupt-<UTC time>` (with its -wal/-shm); the watch list and the status history rows that
can still be read from it are copied into the new database.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faxtui.store.schema import time_value

__all__ = [
    "CORRUPTION_CODES",
    "SIDE_FILES",
    "CorruptDatabase",
    "copy_salvage",
    "is_corruption",
    "move_aside",
    "salvage",
]

log = logging.getLogger(__name__)

SIDE_FILES = ("-wal", "-shm", "-journal")
CORRUPTION_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB (primary result codes)


class CorruptDatabase(Exception):
    """The file is not a usable SQLite database."""


def is_corruption(err: sqlite3.Error) -> bool:
    code = getattr(err, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in CORRUPTION_CODES


_SALVAGE_LIMIT = 200_000
"""Most rows copied from a damaged database per table (history can be long; the watch list is not)."""


def salvage(damaged: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The watch-list and history rows that can still be read from a damaged database file.

    Opened read-only and immutable (its journal files were moved with it); each table is read row
    by row, keeping what came out before an error, and every row is type-checked, so a damaged page
    costs the rows on it and nothing else.
    """
    best: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]] = ([], [])
    # Read-only with its moved WAL first (recent rows may live there), else the main file alone.
    for options in ("mode=ro", "mode=ro&immutable=1"):
        watch: list[tuple[Any, ...]] = []
        history: list[tuple[Any, ...]] = []
        try:
            conn = sqlite3.connect(f"{damaged.resolve().as_uri()}?{options}", uri=True)
        except (sqlite3.Error, ValueError):
            continue
        try:
            _read_rows(conn, "SELECT account, lookup_id, label, added_at FROM watch", watch, _watch_row_ok)
            _read_rows(
                conn,
                "SELECT account, job_id, at, old_state, new_state, old_code, new_code, status_text "
                "FROM history",
                history,
                _history_row_ok,
            )
        finally:
            conn.close()
        if len(watch) + len(history) > len(best[0]) + len(best[1]):
            best = (watch, history)
    return best


def _read_rows(
    conn: sqlite3.Connection, sql: str, into: list[tuple[Any, ...]], ok: Callable[[tuple[Any, ...]], bool]
) -> None:
    try:
        cursor = conn.execute(sql)
        while len(into) < _SALVAGE_LIMIT:
            row = cursor.fetchone()
            if row is None:
                return
            if ok(row):
                into.append(tuple(row))
    except (sqlite3.Error, ValueError, OverflowError, UnicodeDecodeError):
        return


def _is_time(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return time_value(value).tzinfo is not None
    except ValueError:
        return False


def _watch_row_ok(row: tuple[Any, ...]) -> bool:
    account, lookup_id, label, added_at = row
    return (
        isinstance(account, str) and bool(account) and isinstance(lookup_id, str) and bool(lookup_id)
        and isinstance(label, str) and _is_time(added_at)
    )


def _history_row_ok(row: tuple[Any, ...]) -> bool:
    account, job_id, at, old_state, new_state, old_code, new_code, status_text = row
    return (
        isinstance(account, str) and isinstance(job_id, str) and _is_time(at)
        and (old_state is None or isinstance(old_state, str)) and isinstance(new_state, str)
        and (old_code is None or isinstance(old_code, int))
        and (new_code is None or isinstance(new_code, int))
        and isinstance(status_text, str)
    )


def move_aside(db: Path) -> Path:
    """Rename the damaged file (and its journal files) to `<name>.corrupt-<UTC time>`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = db.with_name(f"{db.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = db.with_name(f"{db.name}.corrupt-{stamp}-{counter}")
        counter += 1
    db.rename(target)
    for suffix in SIDE_FILES:  # a stale WAL replayed into the new file would corrupt it again
        side = db.with_name(db.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    return target


def copy_salvage(conn: sqlite3.Connection, damaged: Path) -> dict[str, int]:
    """Copy what `salvage` reads from `damaged` into the new database; how many rows of each."""
    watch, history = salvage(damaged)
    if not watch and not history:
        return {"watch": 0, "history": 0}
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT OR IGNORE INTO watch (account, lookup_id, label, added_at) VALUES (?, ?, ?, ?)", watch
        )
        conn.executemany(
            """INSERT INTO history
                   (account, job_id, at, old_state, new_state, old_code, new_code, status_text)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            history,
        )
        conn.execute("COMMIT")
    except sqlite3.Error as err:
        conn.execute("ROLLBACK")
        log.warning("could not copy what was readable from %s: %s", damaged, err)
        return {"watch": 0, "history": 0}
    return {"watch": len(watch), "history": len(history)}
