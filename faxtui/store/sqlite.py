"""The SQLite state store: one file, `state.sqlite3`, in the data directory.

Files are owner-only (directory 0700, files 0600). Several faxtui processes may share the file:
WAL journal, a busy timeout, and every write is one short `BEGIN IMMEDIATE` transaction (taking the
write lock up front, so two writers queue instead of failing on a lock upgrade). Opening, integrity
checking and migrating happen under an exclusive lock file, so two processes starting at once do
not race on a new or corrupt file. A damaged file is rebuilt (`faxtui.store.recovery`); the jobs
are a cache of what the services report and are simply polled again. Nothing here touches the
configuration. Every sqlite3 or OS error comes out as `StoreError`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faxtui.errors import one_line
from faxtui.model import FaxJob
from faxtui.paths import PRIVATE_FILE_MODE, data_dir, make_private_dir
from faxtui.store import ledger
from faxtui.store.interface import AccountRecord, CallKey, StateStore, StoreError, Transition, WatchEntry
from faxtui.store.records import decoded_jobs, record_text
from faxtui.store.recovery import CorruptDatabase, copy_salvage, is_corruption, move_aside
from faxtui.store.schema import (
    SCHEMA_VERSION,
    apply_migrations,
    optional_time,
    time_text,
    time_value,
    user_version,
)

__all__ = ["BUSY_TIMEOUT_MS", "DB_FILENAME", "LOCK_FILENAME", "SqliteStore", "Store"]

log = logging.getLogger(__name__)

DB_FILENAME = "state.sqlite3"
LOCK_FILENAME = "state.sqlite3.lock"
BUSY_TIMEOUT_MS = 5000


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
    def _open_lock(directory: Path, name: str = LOCK_FILENAME) -> Iterator[None]:
        yield

else:
    import fcntl

    @contextlib.contextmanager
    def _open_lock(directory: Path, name: str = LOCK_FILENAME) -> Iterator[None]:
        """Serialise open/check/recover/migrate between processes sharing the directory."""
        fd = os.open(directory / name, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _connect(db: Path) -> sqlite3.Connection:
    """Open, check and migrate `db`. Raises CorruptDatabase for a damaged file, else StoreError."""
    _create_private(db)
    conn = sqlite3.connect(db, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise CorruptDatabase(one_line("; ".join(map(str, problems[:3]))))
        version = user_version(conn)
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
        if is_corruption(err):
            raise CorruptDatabase(one_line(str(err))) from None
        raise StoreError(one_line(f"{db}: {err}")) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _next_jobs_seq(conn: sqlite3.Connection, account: str, at_text: str) -> int:
    """The account's next change number, taken inside the caller's write transaction."""
    row = conn.execute(
        """INSERT INTO accounts_state (account, updated_at, jobs_seq) VALUES (?, ?, 1)
           ON CONFLICT (account) DO UPDATE SET jobs_seq = accounts_state.jobs_seq + 1
           RETURNING jobs_seq""",
        (account, at_text),
    ).fetchone()
    return int(row[0])


# --------------------------------------------------------------------------- the store


class SqliteStore:
    """The state database of one data directory. Use `SqliteStore.open()` (alias `Store.open()`).

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
        self._data_version: int | None = None
        self._in_write = False
        """Inside a write transaction of this store (a nested `_write` joins it)."""
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
    def open(cls, directory: Path | None = None, *, filename: str = DB_FILENAME) -> SqliteStore:
        """Open (creating, checking, migrating or rebuilding) `directory/state.sqlite3`.

        `directory` defaults to `data_dir()`; missing directories are created 0700. `filename` is
        another name for the file (a `sqlite:///` store URL's); its lock file is `<filename>.lock`.
        """
        directory = data_dir() if directory is None else Path(directory).expanduser()
        try:
            make_private_dir(directory)
        except OSError as err:
            raise StoreError(
                one_line(f"{directory}: cannot create the data directory: {err.strerror}")
            ) from None
        db = directory / filename
        try:
            with _open_lock(directory, f"{filename}.lock"):
                recovered_from: Path | None = None
                salvaged: dict[str, int] = {}
                try:
                    conn = _connect(db)
                except CorruptDatabase as err:
                    recovered_from = move_aside(db)
                    log.warning("state database %s is damaged (%s); moved to %s", db, err, recovered_from)
                    try:
                        conn = _connect(db)
                    except CorruptDatabase as again:
                        raise StoreError(one_line(f"{db}: cannot build a new database: {again}")) from None
                    salvaged = copy_salvage(conn, recovered_from)
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

    def __enter__(self) -> SqliteStore:
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
        """One short write transaction, taking the write lock at BEGIN (waits up to the busy timeout).
        Inside another one (`save_poll`), it is part of that one."""
        with self._lock:
            conn = self._require()
            if self._in_write:
                yield conn
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
                self._in_write = True
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                finally:
                    self._in_write = False
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                self._in_write = False
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise StoreError(one_line(f"{self.path}: {err}")) from None

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads (autocommit: each statement sees the latest commit)."""
        with self._lock:
            conn = self._require()
            try:
                yield conn
            except sqlite3.Error as err:
                raise StoreError(one_line(f"{self.path}: {err}")) from None

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._reading() as conn:
            return conn.execute(sql, params).fetchall()

    # ----------------------------------------------------------------- jobs

    def load_jobs(self, account: str | None = None) -> list[FaxJob]:
        """Every stored job (of one account). A row that does not decode is skipped and logged."""
        sql = "SELECT account, job_id, record FROM jobs"
        params: tuple[str, ...] = ()
        if account is not None:
            sql += " WHERE account = ?"
            params = (account,)
        return decoded_jobs(self._read(sql + " ORDER BY account, job_id", params))

    def save_jobs(self, jobs: Sequence[FaxJob], at: datetime) -> None:
        """Upsert `jobs` in one transaction. `updated_at` becomes `at` for rows whose record changed."""
        at_text = time_text(at)
        rows = [
            (
                job.account,
                job.job_id,
                job.service,
                job.state.value,
                job.status_code,
                at_text,
                record_text(job),
            )
            for job in jobs
        ]
        if not rows:
            return
        with self._write() as conn:
            accounts = dict.fromkeys(row[0] for row in rows)
            seqs = {account: _next_jobs_seq(conn, account, at_text) for account in accounts}
            conn.executemany(
                """INSERT INTO jobs (account, job_id, service, state, status_code, updated_at, record, seq)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (account, job_id) DO UPDATE SET
                       service = excluded.service, state = excluded.state,
                       status_code = excluded.status_code, updated_at = excluded.updated_at,
                       record = excluded.record, seq = excluded.seq
                   WHERE jobs.record IS NOT excluded.record""",
                [(*row, seqs[row[0]]) for row in rows],
            )

    def jobs_since(self, account: str, seq: int) -> tuple[list[FaxJob], int]:
        """The account's jobs written after change number `seq`, and the latest change number."""
        with self._reading() as conn:
            latest = conn.execute(
                "SELECT jobs_seq FROM accounts_state WHERE account = ?", (account,)
            ).fetchone()
            rows = conn.execute(
                "SELECT account, job_id, record FROM jobs WHERE account = ? AND seq > ? ORDER BY job_id",
                (account, seq),
            ).fetchall()
        return decoded_jobs(rows), int(latest[0]) if latest is not None else 0

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
                time_text(t.at),
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
            account, job_id, time_value(at), old_state, new_state, old_code, new_code, status_text
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
        return WatchEntry(account, lookup_id, label, time_value(added_at))

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
        added_at = time_text(at if at is not None else datetime.now(UTC))
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
            for table in ("jobs", "history", "watch", "accounts_state", "leases"):
                conn.execute(f"DELETE FROM {table} WHERE account = ?", (account,))  # noqa: S608 - fixed names

    def save_account_state(
        self, account: str, last_good_poll: datetime | None, last_error: str | None, at: datetime
    ) -> None:
        good = None if last_good_poll is None else time_text(last_good_poll)
        with self._write() as conn:
            conn.execute(
                """INSERT INTO accounts_state (account, last_good_poll, last_error, updated_at)
                   VALUES (?, ?, ?, ?)
                   ON CONFLICT (account) DO UPDATE SET last_good_poll = excluded.last_good_poll,
                       last_error = excluded.last_error, updated_at = excluded.updated_at""",
                (account, good, last_error, time_text(at)),
            )

    def save_poll(
        self, account: str, jobs: Sequence[FaxJob], transitions: Sequence[Transition], *, at: datetime,
        service: str, poll_seconds: float,
    ) -> None:
        """A good poll, in one transaction: its changed jobs, their transitions, the account's
        health. A process killed midway leaves all of it or none (a standby taking over must
        neither miss nor repeat a transition)."""
        with self._write():
            self.save_jobs(jobs, at)
            self.record_transitions(transitions)
            self.save_account_state(account, at, None, at)
            self.save_account_status(account, service=service, health="ok", poll_seconds=poll_seconds, at=at)

    def load_account_states(self) -> dict[str, tuple[datetime | None, str | None]]:
        """Last known health per account: (last good poll, last error)."""
        rows = self._read("SELECT account, last_good_poll, last_error FROM accounts_state ORDER BY account")
        return {account: (optional_time(good), error) for account, good, error in rows}

    def save_account_status(
        self, account: str, *, service: str, health: str, poll_seconds: float, at: datetime
    ) -> None:
        with self._write() as conn:
            conn.execute(
                """INSERT INTO accounts_state (account, updated_at, service, health, poll_seconds)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (account) DO UPDATE SET updated_at = excluded.updated_at,
                       service = excluded.service, health = excluded.health,
                       poll_seconds = excluded.poll_seconds""",
                (account, time_text(at), service, health, poll_seconds),
            )

    def account_records(self, now: float) -> list[AccountRecord]:
        """Every account the store knows (by name), with its live lease holder at `now`."""
        rows = self._read(
            """SELECT s.account, s.service, s.health, s.poll_seconds, s.last_good_poll, s.last_error,
                      s.updated_at, l.holder, l.expires_at
               FROM accounts_state s LEFT JOIN leases l ON l.account = s.account AND l.expires_at > ?
               ORDER BY s.account""",
            (now,),
        )
        return [
            AccountRecord(account, service, health, poll, optional_time(good), error, optional_time(updated),
                          holder, expires)
            for account, service, health, poll, good, error, updated, holder, expires in rows
        ]

    # ----------------------------------------------------------------- team mode

    def claim_lease(self, account: str, holder: str, now: float, ttl: float) -> str | None:
        """Take or renew the account's lease until `now + ttl` if it is free, expired or already
        `holder`'s, and return None; else return who holds it. One write transaction."""
        with self._write() as conn:
            conn.execute(
                """INSERT INTO leases (account, holder, taken_at, expires_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (account) DO UPDATE SET
                       taken_at = CASE WHEN leases.holder = excluded.holder THEN leases.taken_at
                                       ELSE excluded.taken_at END,
                       holder = excluded.holder, expires_at = excluded.expires_at
                   WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.taken_at""",
                (account, holder, now, now + ttl),
            )
            row = conn.execute("SELECT holder FROM leases WHERE account = ?", (account,)).fetchone()
        current = str(row[0]) if row is not None else None
        return None if current == holder else current

    def release_lease(self, account: str, holder: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM leases WHERE account = ? AND holder = ?", (account, holder))

    def changed(self) -> bool:
        """Whether another connection committed since the last call (`PRAGMA data_version`)."""
        with self._reading() as conn:
            version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        seen, self._data_version = self._data_version, version
        return seen is not None and version != seen

    # ----------------------------------------------------------------- the call ledger

    def take_call(self, key: CallKey, now: float, limit: int, window: float) -> float:
        """Record one call for `key` at `now` if fewer than `limit` were made in the last `window`
        seconds (by any process on this database), and return 0; else record nothing and return the
        seconds until one is allowed. Check and record are one transaction.
        """
        with self._write() as conn:
            return ledger.take_call(conn, key, now, limit, window)

    def add_calls(self, key: CallKey, stamps: Sequence[float]) -> None:
        """Record calls made without asking first (extra calls, or a server's "window is full")."""
        if not stamps:
            return
        with self._write() as conn:
            ledger.add_calls(conn, key, stamps)

    def move_call(self, key: CallKey, stamp: float, to: float) -> None:
        """Move one call recorded at `stamp` to `to` (the call ended then)."""
        with self._write() as conn:
            ledger.move_call(conn, key, stamp, to)

    def recent_calls(self, key: CallKey, now: float, window: float) -> list[float]:
        """The times of the calls for `key` still inside the window ending at `now`, oldest first."""
        with self._reading() as conn:
            return ledger.recent_calls(conn, key, now, window)

    def integrity_ok(self) -> bool:
        """`PRAGMA integrity_check` (a full scan: for tests and `doctor`-style checks, not every open)."""
        return [row[0] for row in self._read("PRAGMA integrity_check")] == ["ok"]


Store = SqliteStore
"""The name the app has always used for the SQLite store."""


def _satisfies_the_protocol(store: SqliteStore) -> StateStore:
    return store  # mypy checks here that SqliteStore is a StateStore
