"""The PostgreSQL schema and its migrations, and the GRANTs of a read-only viewer role.

The same tables as the SQLite schema (`faxtui.store.schema`), in PostgreSQL's types: times are
`timestamptz`, insertion order is an identity column, and the key columns sort bytewise
(`COLLATE "C"`, as SQLite sorts text) whatever the database's locale. The version is the one row of
`faxtui_schema`; migration N (1-based) takes version N-1 to N, each in one transaction under a
session advisory lock, so two processes opening a new database at once apply each step once. The version
numbers mean the same on both backends (1: jobs, history, watch, health; 2: the call ledger;
3: leases and what viewers read).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg

__all__ = [
    "MIGRATE_LOCK",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "TABLES",
    "VIEWER_WRITES",
    "apply_migrations",
    "schema_version",
    "viewer_grants",
]

Connection = psycopg.Connection[Any]

MIGRATE_LOCK = 0x66617874_75690001
"""The advisory lock key held while the schema is checked and migrated ("faxtui" + 1)."""

_SCHEMA_1 = (
    """CREATE TABLE jobs (
        account     TEXT COLLATE "C" NOT NULL,
        job_id      TEXT COLLATE "C" NOT NULL,
        service     TEXT NOT NULL,
        state       TEXT NOT NULL,
        status_code INTEGER,
        updated_at  TIMESTAMPTZ NOT NULL,
        record      TEXT NOT NULL,
        PRIMARY KEY (account, job_id)
    )""",
    """CREATE TABLE history (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account     TEXT COLLATE "C" NOT NULL,
        job_id      TEXT COLLATE "C" NOT NULL,
        at          TIMESTAMPTZ NOT NULL,
        old_state   TEXT,
        new_state   TEXT NOT NULL,
        old_code    INTEGER,
        new_code    INTEGER,
        status_text TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX history_by_job ON history (account, job_id, at)",
    "CREATE INDEX history_by_time ON history (at)",
    """CREATE TABLE watch (
        id        BIGINT GENERATED ALWAYS AS IDENTITY,
        account   TEXT COLLATE "C" NOT NULL,
        lookup_id TEXT COLLATE "C" NOT NULL,
        label     TEXT NOT NULL DEFAULT '',
        added_at  TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (account, lookup_id)
    )""",
    """CREATE TABLE accounts_state (
        account        TEXT COLLATE "C" PRIMARY KEY,
        last_good_poll TIMESTAMPTZ,
        last_error     TEXT,
        updated_at     TIMESTAMPTZ NOT NULL
    )""",
)


def _migration_1(conn: Connection) -> None:
    """Everything: jobs, history, watch, accounts_state."""
    for statement in _SCHEMA_1:
        conn.execute(statement)


def _migration_2(conn: Connection) -> None:
    """The call ledger shared by every process on this database (`faxtui.budget`)."""
    conn.execute(
        """CREATE TABLE calls (
            service  TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            username TEXT NOT NULL,
            at       DOUBLE PRECISION NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX calls_by_key ON calls (service, endpoint, username, at)")


_SCHEMA_3 = (
    """CREATE TABLE leases (
        account    TEXT COLLATE "C" PRIMARY KEY,
        holder     TEXT NOT NULL,
        taken_at   DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL
    )""",
    "ALTER TABLE accounts_state ADD COLUMN service TEXT",
    "ALTER TABLE accounts_state ADD COLUMN health TEXT",
    "ALTER TABLE accounts_state ADD COLUMN poll_seconds DOUBLE PRECISION",
    "ALTER TABLE accounts_state ADD COLUMN jobs_seq BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE jobs ADD COLUMN seq BIGINT NOT NULL DEFAULT 0",
    "CREATE INDEX jobs_by_seq ON jobs (account, seq)",
)


def _migration_3(conn: Connection) -> None:
    """Team mode: who polls each account (`leases`), what a viewer shows of it (service, health,
    interval), and a per-account change number on jobs so a viewer reads only what changed."""
    for statement in _SCHEMA_3:
        conn.execute(statement)


Migration = Callable[[Connection], None]

# To change the schema, append one function (and the same step to faxtui.store.schema for SQLite).
MIGRATIONS: tuple[Migration, ...] = (_migration_1, _migration_2, _migration_3)
SCHEMA_VERSION = len(MIGRATIONS)

TABLES = ("faxtui_schema", "jobs", "history", "watch", "accounts_state", "calls", "leases")
"""Every table faxtui makes: what a viewer may read (a test checks the list against the database)."""

VIEWER_WRITES = {"watch": "INSERT, UPDATE (label), DELETE"}
"""What a viewer may write: watch requests (`faxtui watch add|remove`), nothing else."""


def schema_version(conn: Connection) -> int:
    """The database's schema version; 0 for a database faxtui never touched."""
    row = conn.execute("SELECT to_regclass('faxtui_schema') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    row = conn.execute("SELECT max(version) FROM faxtui_schema").fetchone()
    return int(row[0]) if row is not None and row[0] is not None else 0


def apply_migrations(conn: Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring an autocommit connection up to `len(migrations)`, one transaction per step.

    The steps run holding a session advisory lock, and the version is re-read once it is held, so
    a step another process just applied is not applied twice. (Each step's transaction starts after
    the lock is taken: a transaction that began before waiting could still see the old catalogue.)
    Returns the resulting version; at the latest version this writes nothing.
    """
    current = schema_version(conn)
    if current >= len(migrations):
        return current
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
    try:
        while (version := schema_version(conn)) < len(migrations):
            with conn.transaction():
                if version == 0:
                    conn.execute("CREATE TABLE IF NOT EXISTS faxtui_schema (version INTEGER NOT NULL)")
                migrations[version](conn)
                conn.execute("DELETE FROM faxtui_schema")
                conn.execute("INSERT INTO faxtui_schema (version) VALUES (%s)", (version + 1,))
    finally:
        if not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))
    return schema_version(conn)


def viewer_grants(role: str, database: str, schema: str) -> list[str]:
    """The SQL that lets `role` read everything and write watch requests (and nothing else).

    Identifiers are quoted; run it as the owner of the tables (the role `faxtui db init` used).
    """
    role_q, db_q, schema_q = (_quote(name) for name in (role, database, schema))
    lines = [
        f"-- once, as a superuser or a role with CREATEROLE: CREATE ROLE {role_q} LOGIN;",
        f"GRANT CONNECT ON DATABASE {db_q} TO {role_q};",
        f"GRANT USAGE ON SCHEMA {schema_q} TO {role_q};",
        f"GRANT SELECT ON {', '.join(f'{schema_q}.{_quote(t)}' for t in TABLES)} TO {role_q};",
    ]
    lines += [
        f"GRANT {privileges} ON {schema_q}.{_quote(table)} TO {role_q};"
        for table, privileges in VIEWER_WRITES.items()
    ]
    lines.append("-- the tables are named one by one: after an upgrade that adds one, run these again")
    return lines


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
