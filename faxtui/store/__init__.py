"""The state store: last known jobs, their status history, the watch list, account health, and the
call ledger of rate-limited calls (`faxtui.budget`).

`interface` says what a store is (`StateStore`, `CallLedger`, the value types, `StoreError`);
`sqlite` is the SQLite backend (`Store`), built on `schema` (tables, migrations, time text),
`recovery` (rebuilding a damaged file) and `ledger` (the SQL of the call ledger); `postgres` is the
PostgreSQL backend (`PostgresStore`, psycopg 3), built on `pg_schema`. `url` picks one from a store
URL (`open_store`, `resolve_store_url`: DESIGN §8). `postgres` is not imported here: psycopg loads
only when a PostgreSQL store is opened.
"""

from __future__ import annotations

from faxtui.paths import data_dir
from faxtui.store.interface import CallKey, CallLedger, StateStore, StoreError, Transition, WatchEntry
from faxtui.store.schema import MIGRATIONS, SCHEMA_VERSION, apply_migrations
from faxtui.store.sqlite import DB_FILENAME, SqliteStore, Store
from faxtui.store.url import STORE_ENV, open_store, parse_store_url, redact_url, resolve_store_url

__all__ = [
    "DB_FILENAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STORE_ENV",
    "CallKey",
    "CallLedger",
    "SqliteStore",
    "StateStore",
    "Store",
    "StoreError",
    "Transition",
    "WatchEntry",
    "apply_migrations",
    "data_dir",
    "open_store",
    "parse_store_url",
    "redact_url",
    "resolve_store_url",
]
