"""The state store: last known jobs, their status history, the watch list, account health, and the
call ledger of rate-limited calls (`faxtui.budget`).

`interface` says what a store is (`StateStore`, `CallLedger`, the value types, `StoreError`);
`sqlite` is the SQLite backend (`Store`), built on `schema` (tables, migrations, time text),
`recovery` (rebuilding a damaged file) and `ledger` (the SQL of the call ledger).
"""

from __future__ import annotations

from faxtui.paths import data_dir
from faxtui.store.interface import CallKey, CallLedger, StateStore, StoreError, Transition, WatchEntry
from faxtui.store.schema import MIGRATIONS, SCHEMA_VERSION, apply_migrations
from faxtui.store.sqlite import DB_FILENAME, SqliteStore, Store

__all__ = [
    "DB_FILENAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
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
]
