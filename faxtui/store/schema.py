"""The SQLite schema and its migrations, and how times are written to it and read back.

Times are stored as ISO 8601 UTC text (fixed width, so text order is time order) and come back
timezone-aware. Naive datetimes are refused: a silent local-time guess would skew every record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "apply_migrations",
    "optional_time",
    "time_text",
    "time_value",
    "user_version",
]


def time_text(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: the store needs timezone-aware times")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def time_value(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def optional_time(text: str | None) -> datetime | None:
    return None if text is None else time_value(text)


_SCHEMA_1 = (
    """CREATE TABLE jobs (
        account     TEXT NOT NULL,
        job_id      TEXT NOT NULL,
        service     TEXT NOT NULL,
        state       TEXT NOT NULL,
        status_code INTEGER,
        updated_at  TEXT NOT NULL,
        record      TEXT NOT NULL,
        PRIMARY KEY (account, job_id)
    )""",
    """CREATE TABLE history (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        account     TEXT NOT NULL,
        job_id      TEXT NOT NULL,
        at          TEXT NOT NULL,
        old_state   TEXT,
        new_state   TEXT NOT NULL,
        old_code    INTEGER,
        new_code    INTEGER,
        status_text TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX history_by_job ON history (account, job_id, at)",
    "CREATE INDEX history_by_time ON history (at)",
    """CREATE TABLE watch (
        account   TEXT NOT NULL,
        lookup_id TEXT NOT NULL,
        label     TEXT NOT NULL DEFAULT '',
        added_at  TEXT NOT NULL,
        PRIMARY KEY (account, lookup_id)
    )""",
    """CREATE TABLE accounts_state (
        account        TEXT PRIMARY KEY,
        last_good_poll TEXT,
        last_error     TEXT,
        updated_at     TEXT NOT NULL
    )""",
)


def _migration_1(conn: sqlite3.Connection) -> None:
    """Everything: jobs, history, watch, accounts_state."""
    for statement in _SCHEMA_1:
        conn.execute(statement)


def _migration_2(conn: sqlite3.Connection) -> None:
    """The call ledger shared by every process on this data directory (`faxtui.budget`)."""
    conn.execute(
        """CREATE TABLE calls (
            service  TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            user     TEXT NOT NULL,
            at       REAL NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX calls_by_key ON calls (service, endpoint, user, at)")


_SCHEMA_3 = (
    """CREATE TABLE leases (
        account    TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        taken_at   REAL NOT NULL,
        expires_at REAL NOT NULL
    )""",
    "ALTER TABLE accounts_state ADD COLUMN service TEXT",
    "ALTER TABLE accounts_state ADD COLUMN health TEXT",
    "ALTER TABLE accounts_state ADD COLUMN poll_seconds REAL",
    "ALTER TABLE accounts_state ADD COLUMN jobs_seq INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE jobs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX jobs_by_seq ON jobs (account, seq)",
)


def _migration_3(conn: sqlite3.Connection) -> None:
    """Team mode: who polls each account (`leases`), what a viewer shows of it (service, health,
    interval), and a per-account change number on jobs so a viewer reads only what changed."""
    for statement in _SCHEMA_3:
        conn.execute(statement)


Migration = Callable[[sqlite3.Connection], None]

# Migration N (1-based) takes user_version N-1 to N. To change the schema, append one function.
MIGRATIONS: tuple[Migration, ...] = (_migration_1, _migration_2, _migration_3)
SCHEMA_VERSION = len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def apply_migrations(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring an autocommit connection up to `len(migrations)`, one transaction per step.

    The version is re-read under the write lock, so a step another process just applied is not
    applied twice. Returns the resulting version; at the latest version this writes nothing.
    """
    while user_version(conn) < len(migrations):
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = user_version(conn)
            if version < len(migrations):
                migrations[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return user_version(conn)
