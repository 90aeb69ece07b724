"""The state database: last known jobs, their status history, the watch list, account health.

One SQLite file, `state.sqlite3`, in the data directory (owner-only: directory 0700, files 0600).
Several faxtui processes may share it: WAL journal, a busy timeout, and every write is one short
`BEGIN IMMEDIATE` transaction (taking the write lock up front, so two writers queue instead of
failing on a lock upgrade). Opening, integrity checking and migrating happen under an exclusive
lock file, so two processes starting at once do not race on a new or corrupt file.

A file that is not a database or fails `PRAGMA quick_check` is moved aside to
`state.sqlite3.corrupt-<UTC time>` (with its -wal/-shm) and an empty one is built; the watch list
and the status history rows that can still be read from the damaged file are copied into the new
one. `recovered_from` and `salvaged` tell the app so it can say what happened (`recovery_notice`).
The jobs are a cache of what the services report and are simply polled again. Nothing here
touches the configuration.

The `calls` table is the ledger of rate-limited calls (`faxtui.budget`): every process polling
from this data directory takes its calls from it in one transaction, so restarts and a second
faxtui process cannot push an InterFax user past its 6 calls a minute.

Times are stored as ISO 8601 UTC text (fixed width, so text order is time order) and come back
timezone-aware. Naive datetimes are refused: a silent local-time guess would skew every record.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faxtui.errors import one_line
from faxtui.events import StateChange
from faxtui.jsonio import job_from_json, job_to_record
from faxtui.model import FaxJob
from faxtui.paths import PRIVATE_FILE_MODE, data_dir, make_private_dir

__all__ = [
    "DB_FILENAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "CallKey",
    "Store",
    "StoreError",
    "Transition",
    "WatchEntry",
    "apply_migrations",
    "data_dir",
]

log = logging.getLogger(__name__)

DB_FILENAME = "state.sqlite3"
LOCK_FILENAME = "state.sqlite3.lock"
BUSY_TIMEOUT_MS = 5000
_SIDE_FILES = ("-wal", "-shm", "-journal")
_CORRUPTION_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB (primary result codes)


CallKey = tuple[str, str, str]
"""(service, endpoint, user) of a rate budget."""
MAX_CALL_AHEAD = 3600.0
"""Ledger stamps further ahead of the clock than this are dropped: the clock was set back."""


class StoreError(Exception):
    """The state database cannot be used. `str(err)` is one line naming the file."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class WatchEntry:
    account: str
    lookup_id: str
    label: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class Transition:
    """One status change of one job, as kept in the history table."""

    account: str
    job_id: str
    at: datetime
    old_state: str | None
    new_state: str
    old_code: int | None
    new_code: int | None
    status_text: str

    @classmethod
    def from_change(cls, change: StateChange) -> Transition:
        job, old = change.job, change.old
        return cls(
            account=job.account,
            job_id=job.job_id,
            at=change.at,
            old_state=old.state.value if old is not None else None,
            new_state=job.state.value,
            old_code=old.status_code if old is not None else None,
            new_code=job.status_code,
            status_text=job.status_text,
        )


def _time_text(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: the store needs timezone-aware times")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _time_value(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _optional_time(text: str | None) -> datetime | None:
    return None if text is None else _time_value(text)


# --------------------------------------------------------------------------- schema

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


Migration = Callable[[sqlite3.Connection], None]

# Migration N (1-based) takes user_version N-1 to N. To change the schema, append one function.
MIGRATIONS: tuple[Migration, ...] = (_migration_1, _migration_2)
SCHEMA_VERSION = len(MIGRATIONS)


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def apply_migrations(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring an autocommit connection up to `len(migrations)`, one transaction per step.

    The version is re-read under the write lock, so a step another process just applied is not
    applied twice. Returns the resulting version; at the latest version this writes nothing.
    """
    while _user_version(conn) < len(migrations):
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _user_version(conn)
            if version < len(migrations):
                migrations[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return _user_version(conn)


# --------------------------------------------------------------------------- opening


class _Corrupt(Exception):
    """The file is not a usable SQLite database."""


def _is_corruption(err: sqlite3.Error) -> bool:
    code = getattr(err, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in _CORRUPTION_CODES


def _create_private(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists; tighten an existing file to 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        with contextlib.suppress(OSError):  # not ours to chmod (another user's file): leave it
            path.chmod(PRIVATE_FILE_MODE)
        return
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover - no flock; SQLite's own locking still guards the data

    @contextlib.contextmanager
    def _open_lock(directory: Path) -> Iterator[None]:
        yield

else:
    import fcntl

    @contextlib.contextmanager
    def _open_lock(directory: Path) -> Iterator[None]:
        """Serialise open/check/recover/migrate between processes sharing the directory."""
        fd = os.open(directory / LOCK_FILENAME, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _connect(db: Path) -> sqlite3.Connection:
    """Open, check and migrate `db`. Raises _Corrupt for a damaged file, StoreError for anything else."""
    _create_private(db)
    conn = sqlite3.connect(db, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise _Corrupt(one_line("; ".join(map(str, problems[:3]))))
        version = _user_version(conn)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{db}: written by a newer faxtui (schema {version}, this version knows {SCHEMA_VERSION}); "
                "upgrade faxtui or point FAXTUI_DATA_DIR elsewhere"
            )
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # with WAL: durable on checkpoint, never corrupt
        conn.execute("PRAGMA foreign_keys = ON")
        apply_migrations(conn)
    except sqlite3.Error as err:
        conn.close()
        if _is_corruption(err):
            raise _Corrupt(one_line(str(err))) from None
        raise StoreError(one_line(f"{db}: {err}")) from None
    except BaseException:
        conn.close()
        raise
    return conn


_SALVAGE_LIMIT = 200_000
"""Most rows copied from a damaged database per table (history can be long; the watch list is not)."""


def _salvage(damaged: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
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
        return _time_value(value).tzinfo is not None
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


def _move_aside(db: Path) -> Path:
    """Rename the damaged file (and its journal files) to `<name>.corrupt-<UTC time>`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = db.with_name(f"{db.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = db.with_name(f"{db.name}.corrupt-{stamp}-{counter}")
        counter += 1
    db.rename(target)
    for suffix in _SIDE_FILES:  # a stale WAL replayed into the new file would corrupt it again
        side = db.with_name(db.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    return target


def _copy_salvage(conn: sqlite3.Connection, damaged: Path) -> dict[str, int]:
    """Copy what `_salvage` reads from `damaged` into the new database; how many rows of each."""
    watch, history = _salvage(damaged)
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


# --------------------------------------------------------------------------- the store


class Store:
    """The state database of one data directory. Use `Store.open()`.

    Used from the asyncio thread, and possibly a worker thread: calls are serialised by a lock.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        recovered_from: Path | None,
        salvaged: dict[str, int] | None = None,
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        self.path = path
        self.recovered_from = recovered_from
        self.salvaged: dict[str, int] = salvaged or {}
        """Rows copied from the damaged database when `recovered_from` is set: {"watch": n, "history": n}."""

    def recovery_notice(self) -> str | None:
        """One line for the user when the database was damaged and rebuilt on open, else None."""
        if self.recovered_from is None:
            return None
        kept = self.salvaged.get("watch", 0)
        history = self.salvaged.get("history", 0)
        return one_line(
            f"the state database {self.path} was damaged: moved it to {self.recovered_from} and started a "
            f"new one ({kept} watched id(s) and {history} history record(s) recovered; last known jobs will "
            "be polled again; the configuration was not touched)",
            1000,
        )

    @classmethod
    def open(cls, directory: Path | None = None) -> Store:
        """Open (creating, checking, migrating or rebuilding) `directory/state.sqlite3`.

        `directory` defaults to `data_dir()`; missing directories are created 0700.
        """
        directory = data_dir() if directory is None else Path(directory).expanduser()
        try:
            make_private_dir(directory)
        except OSError as err:
            raise StoreError(
                one_line(f"{directory}: cannot create the data directory: {err.strerror}")
            ) from None
        db = directory / DB_FILENAME
        try:
            with _open_lock(directory):
                recovered_from: Path | None = None
                salvaged: dict[str, int] = {}
                try:
                    conn = _connect(db)
                except _Corrupt as err:
                    recovered_from = _move_aside(db)
                    log.warning("state database %s is damaged (%s); moved to %s", db, err, recovered_from)
                    try:
                        conn = _connect(db)
                    except _Corrupt as again:
                        raise StoreError(one_line(f"{db}: cannot build a new database: {again}")) from None
                    salvaged = _copy_salvage(conn, recovered_from)
        except OSError as err:
            raise StoreError(one_line(f"{db}: {err.strerror or err}")) from None
        return cls(conn, db, recovered_from, salvaged)

    def close(self) -> None:
        with self._lock:
            if self._conn is None:
                return
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA optimize")
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._conn is None

    # ----------------------------------------------------------------- plumbing

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path}: the store is closed")
        return self._conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction, taking the write lock at BEGIN (waits up to the busy timeout)."""
        with self._lock:
            conn = self._require()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise StoreError(one_line(f"{self.path}: {err}")) from None

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            conn = self._require()
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.Error as err:
                raise StoreError(one_line(f"{self.path}: {err}")) from None

    # ----------------------------------------------------------------- jobs

    def load_jobs(self, account: str | None = None) -> list[FaxJob]:
        """Every stored job (of one account). A row that does not decode is skipped and logged."""
        sql = "SELECT account, job_id, record FROM jobs"
        params: tuple[str, ...] = ()
        if account is not None:
            sql += " WHERE account = ?"
            params = (account,)
        jobs: list[FaxJob] = []
        for row_account, job_id, record in self._read(sql + " ORDER BY account, job_id", params):
            try:
                jobs.append(job_from_json(json.loads(record)))
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                log.warning("skipped stored job %s/%s that does not decode: %s", row_account, job_id, err)
        return jobs

    def save_jobs(self, jobs: Sequence[FaxJob], at: datetime) -> None:
        """Upsert `jobs` in one transaction. `updated_at` becomes `at` for rows whose record changed."""
        at_text = _time_text(at)
        rows = [
            (
                job.account,
                job.job_id,
                job.service,
                job.state.value,
                job.status_code,
                at_text,
                json.dumps(job_to_record(job), separators=(",", ":"), ensure_ascii=False),
            )
            for job in jobs
        ]
        if not rows:
            return
        with self._write() as conn:
            conn.executemany(
                """INSERT INTO jobs (account, job_id, service, state, status_code, updated_at, record)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (account, job_id) DO UPDATE SET
                       service = excluded.service, state = excluded.state,
                       status_code = excluded.status_code, updated_at = excluded.updated_at,
                       record = excluded.record
                   WHERE jobs.record IS NOT excluded.record""",
                rows,
            )

    def prune_jobs(self, keep_per_account: int = 20000) -> int:
        """Keep each account's `keep_per_account` most recently changed jobs (and every watched one).

        Returns how many rows were deleted.
        """
        with self._write() as conn:
            cursor = conn.execute(
                """DELETE FROM jobs WHERE rowid IN (
                       SELECT rowid FROM (
                           SELECT rowid, ROW_NUMBER() OVER (
                               PARTITION BY account ORDER BY updated_at DESC, job_id DESC) AS rank
                           FROM jobs)
                       WHERE rank > ?)
                   AND NOT EXISTS (SELECT 1 FROM watch
                                   WHERE watch.account = jobs.account AND watch.lookup_id = jobs.job_id)""",
                (keep_per_account,),
            )
            return cursor.rowcount

    # ----------------------------------------------------------------- history

    def record_transitions(self, transitions: Sequence[Transition]) -> None:
        rows = [
            (
                t.account,
                t.job_id,
                _time_text(t.at),
                t.old_state,
                t.new_state,
                t.old_code,
                t.new_code,
                t.status_text,
            )
            for t in transitions
        ]
        if not rows:
            return
        with self._write() as conn:
            conn.executemany(
                """INSERT INTO history
                       (account, job_id, at, old_state, new_state, old_code, new_code, status_text)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                rows,
            )

    @staticmethod
    def _transition(row: Sequence[Any]) -> Transition:
        account, job_id, at, old_state, new_state, old_code, new_code, status_text = row
        return Transition(
            account, job_id, _time_value(at), old_state, new_state, old_code, new_code, status_text
        )

    def history(self, account: str, job_id: str) -> list[Transition]:
        """One job's transitions, oldest first."""
        rows = self._read(
            """SELECT account, job_id, at, old_state, new_state, old_code, new_code, status_text
               FROM history WHERE account = ? AND job_id = ? ORDER BY at, id""",
            (account, job_id),
        )
        return [self._transition(row) for row in rows]

    def recent_transitions(self, limit: int = 200) -> list[Transition]:
        """The latest transitions of every account, newest first."""
        rows = self._read(
            """SELECT account, job_id, at, old_state, new_state, old_code, new_code, status_text
               FROM history ORDER BY at DESC, id DESC LIMIT ?""",
            (limit,),
        )
        return [self._transition(row) for row in rows]

    def prune_history(self, keep: int = 200_000) -> int:
        """Keep the newest `keep` transitions; returns how many were deleted."""
        with self._write() as conn:
            cursor = conn.execute(
                """DELETE FROM history
                   WHERE id NOT IN (SELECT id FROM history ORDER BY at DESC, id DESC LIMIT ?)""",
                (keep,),
            )
            return cursor.rowcount

    # ----------------------------------------------------------------- watch list

    @staticmethod
    def _watch_entry(row: Sequence[Any]) -> WatchEntry:
        account, lookup_id, label, added_at = row
        return WatchEntry(account, lookup_id, label, _time_value(added_at))

    def watch_list(self, account: str | None = None) -> list[WatchEntry]:
        """Watched ids (of one account), in the order they were added."""
        sql = "SELECT account, lookup_id, label, added_at FROM watch"
        params: tuple[str, ...] = ()
        if account is not None:
            sql += " WHERE account = ?"
            params = (account,)
        return [self._watch_entry(row) for row in self._read(sql + " ORDER BY added_at, rowid", params)]

    def add_watch(
        self, account: str, lookup_id: str, label: str = "", *, at: datetime | None = None
    ) -> WatchEntry:
        """Watch an id. Idempotent: re-adding keeps `added_at`; a non-empty `label` replaces the old one."""
        if not account or not lookup_id:
            raise ValueError("add_watch needs an account and an id")
        added_at = _time_text(at if at is not None else datetime.now(UTC))
        with self._write() as conn:
            conn.execute(
                """INSERT INTO watch (account, lookup_id, label, added_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (account, lookup_id) DO UPDATE SET label = excluded.label
                   WHERE excluded.label != ''""",
                (account, lookup_id, label, added_at),
            )
            row = conn.execute(
                "SELECT account, lookup_id, label, added_at FROM watch WHERE account = ? AND lookup_id = ?",
                (account, lookup_id),
            ).fetchone()
        return self._watch_entry(row)

    def remove_watch(self, account: str, lookup_id: str) -> bool:
        """Stop watching; False if the id was not watched."""
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM watch WHERE account = ? AND lookup_id = ?", (account, lookup_id)
            )
            return cursor.rowcount > 0

    def set_watch_label(self, account: str, lookup_id: str, label: str) -> bool:
        """Relabel (an empty label clears it); False if the id is not watched."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE watch SET label = ? WHERE account = ? AND lookup_id = ?", (label, account, lookup_id)
            )
            return cursor.rowcount > 0

    # ----------------------------------------------------------------- accounts

    def forget_account(self, account: str) -> None:
        """Remove everything kept for an account: jobs, history, watch list, health."""
        with self._write() as conn:
            for table in ("jobs", "history", "watch", "accounts_state"):
                conn.execute(f"DELETE FROM {table} WHERE account = ?", (account,))  # noqa: S608 - fixed names

    def save_account_state(
        self, account: str, last_good_poll: datetime | None, last_error: str | None, at: datetime
    ) -> None:
        good = None if last_good_poll is None else _time_text(last_good_poll)
        with self._write() as conn:
            conn.execute(
                """INSERT INTO accounts_state (account, last_good_poll, last_error, updated_at)
                   VALUES (?, ?, ?, ?)
                   ON CONFLICT (account) DO UPDATE SET last_good_poll = excluded.last_good_poll,
                       last_error = excluded.last_error, updated_at = excluded.updated_at""",
                (account, good, last_error, _time_text(at)),
            )

    def load_account_states(self) -> dict[str, tuple[datetime | None, str | None]]:
        """Last known health per account: (last good poll, last error)."""
        rows = self._read("SELECT account, last_good_poll, last_error FROM accounts_state ORDER BY account")
        return {account: (_optional_time(good), error) for account, good, error in rows}

    # ----------------------------------------------------------------- the call ledger

    def take_call(self, key: CallKey, now: float, limit: int, window: float) -> float:
        """Record one call for `key` at `now` if fewer than `limit` were made in the last `window`
        seconds (by any process on this database), and return 0; else record nothing and return the
        seconds until one is allowed. Check and record are one transaction.
        """
        with self._write() as conn:
            stamps = self._window(conn, key, now, window)
            if len(stamps) < limit:
                conn.execute(
                    "INSERT INTO calls (service, endpoint, user, at) VALUES (?, ?, ?, ?)", (*key, now)
                )
                return 0.0
            return max(0.0, stamps[len(stamps) - limit] + window - now)

    def add_calls(self, key: CallKey, stamps: Sequence[float]) -> None:
        """Record calls made without asking first (extra calls, or a server's "window is full")."""
        if not stamps:
            return
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO calls (service, endpoint, user, at) VALUES (?, ?, ?, ?)",
                [(*key, at) for at in stamps],
            )

    def recent_calls(self, key: CallKey, now: float, window: float) -> list[float]:
        """The times of the calls for `key` still inside the window ending at `now`, oldest first."""
        rows = self._read(
            "SELECT at FROM calls WHERE service = ? AND endpoint = ? AND user = ? AND at > ? AND at <= ? "
            "ORDER BY at",
            (*key, now - window, now + MAX_CALL_AHEAD),
        )
        return [float(row[0]) for row in rows]

    @staticmethod
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

    def integrity_ok(self) -> bool:
        """`PRAGMA integrity_check` (a full scan: for tests and `doctor`-style checks, not every open)."""
        return [row[0] for row in self._read("PRAGMA integrity_check")] == ["ok"]
