"""The PostgreSQL state store (psycopg 3): one database shared by every faxtui, on any machine.

The same `StateStore` as `faxtui.store.sqlite`, with the same semantics: every write is one short
transaction, reads are autocommit statements that see the latest commit, times go in
timezone-aware and come out in UTC. One connection per store, calls serialised by a lock (the app
calls the store from its asyncio thread and possibly a worker thread, as with SQLite); a connection
the server or the network broke is replaced on the next call. The call ledger's check-and-take
holds a transaction-scoped advisory lock on the key's hash, so processes on different machines
cannot both take the last call of a window.

Every psycopg error comes out as `StoreError`, one line naming the database by its display form
(`postgresql://user@host:port/db`, never a password); a password that libpq echoed is blanked too.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from faxtui.errors import one_line
from faxtui.model import FaxJob
from faxtui.store.interface import AccountRecord, CallKey, StateStore, StoreError, Transition, WatchEntry
from faxtui.store.pg_schema import SCHEMA_VERSION, apply_migrations, schema_version
from faxtui.store.records import decoded_jobs, record_text

__all__ = ["CALL_LOCK_PREFIX", "CONNECT_TIMEOUT_SECONDS", "MAX_CALL_AHEAD", "PostgresStore", "display_of"]

log = logging.getLogger(__name__)

Connection = psycopg.Connection[Any]

CONNECT_TIMEOUT_SECONDS = 10
"""libpq's `connect_timeout` when the URL does not set one: a server that is gone fails, not hangs."""
CALL_LOCK_PREFIX = "faxtui.calls:"
CHANGES_CHANNEL = "faxtui_changes"
"""The NOTIFY channel every write signals on, for viewers (`changed`)."""
"""What the advisory lock of a call-ledger key hashes, before the key (so other locks differ)."""
MAX_CALL_AHEAD = 3600.0
"""Ledger stamps further ahead of the clock than this are dropped: the clock was set back."""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: the store needs timezone-aware times")
    return value.astimezone(UTC)


def _from_db(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _optional(value: datetime | None) -> datetime | None:
    return None if value is None else _from_db(value)


class PostgresStore:
    """The state store in a PostgreSQL database. Use `PostgresStore.open(url)` (or
    `faxtui.store.url.open_store`, which picks the backend from a store URL)."""

    def __init__(self, conn: Connection, conninfo: str, display: str, migrated_from: int,
                 secrets: Sequence[str] = ()) -> None:
        self._conn: Connection | None = conn
        self._conninfo = conninfo
        self._secrets = tuple(s for s in secrets if s)
        self._lock = threading.RLock()
        self._closed = False
        self._listening: Connection | None = None
        """The connection LISTENing for `changed` (None: not yet, or it was replaced)."""
        self._heard = False
        self.display = display
        """The URL without its password: what messages name."""
        self.recovered_from: Path | None = None
        """Always None: a server database is never moved aside (a damaged one is the DBA's)."""
        self.migrated_from = migrated_from
        """The schema version found on open (0: a new database); `SCHEMA_VERSION` after it."""

    # ----------------------------------------------------------------- opening

    @classmethod
    def open(cls, conninfo: str, display: str | None = None, secrets: Sequence[str] = ()) -> PostgresStore:
        """Connect to `conninfo` (a libpq URI), create or migrate the schema, and return the store.

        `display` is how messages name the database (default: the URL with its password blanked);
        `secrets` are strings to blank in any message (the URL's password, `$PGPASSWORD`).
        """
        if display is None:
            try:
                display = display_of(conninfo_to_dict(conninfo))
            except psycopg.Error:
                display = "postgresql://…"
        secrets = (*secrets, *_passwords_of(conninfo))
        conn = _connect(conninfo, display, secrets)
        try:
            found = schema_version(conn)
            if found > SCHEMA_VERSION:
                raise StoreError(
                    f"{display}: written by a newer faxtui (schema {found}, this version knows "
                    f"{SCHEMA_VERSION}); upgrade faxtui or use another database"
                )
            if found < SCHEMA_VERSION:
                try:
                    apply_migrations(conn)
                except pg_errors.InsufficientPrivilege as err:
                    raise StoreError(_scrub(
                        f"{display}: the schema is at version {found}, this faxtui needs {SCHEMA_VERSION}, "
                        f"and this role cannot upgrade it (run `faxtui db init` as the tables' owner): {err}",
                        secrets)) from None
        except psycopg.Error as err:
            conn.close()
            raise StoreError(_scrub(f"{display}: {err}", secrets)) from None
        except BaseException:
            conn.close()
            raise
        return cls(conn, conninfo, display, found, secrets)

    def recovery_notice(self) -> str | None:
        """Always None (see `recovered_from`)."""
        return None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._listening = None
            if self._conn is None:
                return
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def database_and_schema(self) -> tuple[str, str]:
        """The database's name and the schema the tables are in (for the viewer's GRANTs)."""
        rows = self._read("SELECT current_database(), current_schema()")
        return str(rows[0][0]), str(rows[0][1])

    # ----------------------------------------------------------------- plumbing

    def _require(self) -> Connection:
        """The open connection, reconnecting once when the previous one was broken."""
        if self._closed:
            raise StoreError(f"{self.display}: the store is closed")
        if self._conn is None or self._conn.closed:
            if self._conn is not None:
                log.info("reconnecting to %s", self.display)
            self._conn = None
            self._conn = _connect(self._conninfo, self.display, self._secrets)
        return self._conn

    def _fail(self, err: psycopg.Error) -> StoreError:
        return StoreError(_scrub(f"{self.display}: {err}", self._secrets))

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """One short write transaction (committed at the end, rolled back on any error)."""
        with self._lock:
            conn = self._require()
            try:
                with conn.transaction():
                    yield conn
                    conn.execute(f"NOTIFY {CHANGES_CHANNEL}")  # delivered to listeners at commit
            except psycopg.Error as err:
                raise self._fail(err) from None

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        """The connection for reads (autocommit: each statement sees the latest commit)."""
        with self._lock:
            conn = self._require()
            try:
                yield conn
            except psycopg.Error as err:
                raise self._fail(err) from None

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._reading() as conn:
            return conn.execute(sql, params).fetchall()

    # ----------------------------------------------------------------- jobs

    def load_jobs(self, account: str | None = None) -> list[FaxJob]:
        """Every stored job (of one account). A row that does not decode is skipped and logged."""
        sql = "SELECT account, job_id, record FROM jobs"
        params: tuple[str, ...] = ()
        if account is not None:
            sql += " WHERE account = %s"
            params = (account,)
        return decoded_jobs(self._read(sql + " ORDER BY account, job_id", params))

    def save_jobs(self, jobs: Sequence[FaxJob], at: datetime) -> None:
        """Upsert `jobs` in one transaction. `updated_at` becomes `at` for rows whose record changed."""
        at_utc = _utc(at)
        rows = [
            (
                job.account,
                job.job_id,
                job.service,
                job.state.value,
                job.status_code,
                at_utc,
                record_text(job),
            )
            for job in jobs
        ]
        if not rows:
            return
        with self._write() as conn, conn.cursor() as cursor:
            seqs = {}
            for account in dict.fromkeys(row[0] for row in rows):
                # The row lock this takes orders the account's writers: change numbers commit in order.
                row = conn.execute(
                    """INSERT INTO accounts_state (account, updated_at, jobs_seq) VALUES (%s, %s, 1)
                       ON CONFLICT (account) DO UPDATE SET jobs_seq = accounts_state.jobs_seq + 1
                       RETURNING jobs_seq""",
                    (account, at_utc),
                ).fetchone()
                seqs[account] = int(row[0]) if row is not None else 0
            cursor.executemany(
                """INSERT INTO jobs (account, job_id, service, state, status_code, updated_at, record, seq)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (account, job_id) DO UPDATE SET
                       service = excluded.service, state = excluded.state,
                       status_code = excluded.status_code, updated_at = excluded.updated_at,
                       record = excluded.record, seq = excluded.seq
                   WHERE jobs.record IS DISTINCT FROM excluded.record""",
                [(*row, seqs[row[0]]) for row in rows],
            )

    def jobs_since(self, account: str, seq: int) -> tuple[list[FaxJob], int]:
        """The account's jobs written after change number `seq`, and the latest change number."""
        with self._reading() as conn:
            latest = conn.execute(
                "SELECT jobs_seq FROM accounts_state WHERE account = %s", (account,)
            ).fetchone()
            rows = conn.execute(
                "SELECT account, job_id, record FROM jobs WHERE account = %s AND seq > %s ORDER BY job_id",
                (account, seq),
            ).fetchall()
        return decoded_jobs(rows), int(latest[0]) if latest is not None else 0

    def prune_jobs(self, keep_per_account: int = 20000) -> int:
        """Keep each account's `keep_per_account` most recently changed jobs (and every watched one).

        Returns how many rows were deleted.
        """
        with self._write() as conn:
            cursor = conn.execute(
                """DELETE FROM jobs USING (
                       SELECT account, job_id FROM (
                           SELECT account, job_id, ROW_NUMBER() OVER (
                               PARTITION BY account ORDER BY updated_at DESC, job_id DESC) AS rank
                           FROM jobs) AS ranked
                       WHERE rank > %s) AS old
                   WHERE jobs.account = old.account AND jobs.job_id = old.job_id
                   AND NOT EXISTS (SELECT 1 FROM watch
                                   WHERE watch.account = jobs.account AND watch.lookup_id = jobs.job_id)""",
                (keep_per_account,),
            )
            return cursor.rowcount

    # ----------------------------------------------------------------- history

    def record_transitions(self, transitions: Sequence[Transition]) -> None:
        rows = [
            (t.account, t.job_id, _utc(t.at), t.old_state, t.new_state, t.old_code, t.new_code, t.status_text)
            for t in transitions
        ]
        if not rows:
            return
        with self._write() as conn, conn.cursor() as cursor:
            cursor.executemany(
                """INSERT INTO history
                       (account, job_id, at, old_state, new_state, old_code, new_code, status_text)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                rows,
            )

    @staticmethod
    def _transition(row: Sequence[Any]) -> Transition:
        account, job_id, at, old_state, new_state, old_code, new_code, status_text = row
        return Transition(
            account, job_id, _from_db(at), old_state, new_state, old_code, new_code, status_text
        )

    def history(self, account: str, job_id: str) -> list[Transition]:
        """One job's transitions, oldest first."""
        rows = self._read(
            """SELECT account, job_id, at, old_state, new_state, old_code, new_code, status_text
               FROM history WHERE account = %s AND job_id = %s ORDER BY at, id""",
            (account, job_id),
        )
        return [self._transition(row) for row in rows]

    def recent_transitions(self, limit: int = 200) -> list[Transition]:
        """The latest transitions of every account, newest first."""
        rows = self._read(
            """SELECT account, job_id, at, old_state, new_state, old_code, new_code, status_text
               FROM history ORDER BY at DESC, id DESC LIMIT %s""",
            (limit,),
        )
        return [self._transition(row) for row in rows]

    def prune_history(self, keep: int = 200_000) -> int:
        """Keep the newest `keep` transitions; returns how many were deleted."""
        with self._write() as conn:
            cursor = conn.execute(
                """DELETE FROM history WHERE id IN (
                       SELECT id FROM history ORDER BY at DESC, id DESC OFFSET %s)""",
                (keep,),
            )
            return cursor.rowcount

    # ----------------------------------------------------------------- watch list

    @staticmethod
    def _watch_entry(row: Sequence[Any]) -> WatchEntry:
        account, lookup_id, label, added_at = row
        return WatchEntry(account, lookup_id, label, _from_db(added_at))

    def watch_list(self, account: str | None = None) -> list[WatchEntry]:
        """Watched ids (of one account), in the order they were added."""
        sql = "SELECT account, lookup_id, label, added_at FROM watch"
        params: tuple[str, ...] = ()
        if account is not None:
            sql += " WHERE account = %s"
            params = (account,)
        return [self._watch_entry(row) for row in self._read(sql + " ORDER BY added_at, id", params)]

    def add_watch(
        self, account: str, lookup_id: str, label: str = "", *, at: datetime | None = None
    ) -> WatchEntry:
        """Watch an id. Idempotent: re-adding keeps `added_at`; a non-empty `label` replaces the old one."""
        if not account or not lookup_id:
            raise ValueError("add_watch needs an account and an id")
        added_at = _utc(at if at is not None else datetime.now(UTC))
        with self._write() as conn:
            conn.execute(
                """INSERT INTO watch (account, lookup_id, label, added_at) VALUES (%s, %s, %s, %s)
                   ON CONFLICT (account, lookup_id) DO UPDATE SET label = excluded.label
                   WHERE excluded.label <> ''""",
                (account, lookup_id, label, added_at),
            )
            row = conn.execute(
                "SELECT account, lookup_id, label, added_at FROM watch WHERE account = %s AND lookup_id = %s",
                (account, lookup_id),
            ).fetchone()
        assert row is not None
        return self._watch_entry(row)

    def remove_watch(self, account: str, lookup_id: str) -> bool:
        """Stop watching; False if the id was not watched."""
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM watch WHERE account = %s AND lookup_id = %s", (account, lookup_id)
            )
            return cursor.rowcount > 0

    def set_watch_label(self, account: str, lookup_id: str, label: str) -> bool:
        """Relabel (an empty label clears it); False if the id is not watched."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE watch SET label = %s WHERE account = %s AND lookup_id = %s",
                (label, account, lookup_id),
            )
            return cursor.rowcount > 0

    # ----------------------------------------------------------------- accounts

    def forget_account(self, account: str) -> None:
        """Remove everything kept for an account: jobs, history, watch list, health."""
        with self._write() as conn:
            conn.execute("DELETE FROM jobs WHERE account = %s", (account,))
            conn.execute("DELETE FROM history WHERE account = %s", (account,))
            conn.execute("DELETE FROM watch WHERE account = %s", (account,))
            conn.execute("DELETE FROM accounts_state WHERE account = %s", (account,))
            conn.execute("DELETE FROM leases WHERE account = %s", (account,))

    def save_account_state(
        self, account: str, last_good_poll: datetime | None, last_error: str | None, at: datetime
    ) -> None:
        good = None if last_good_poll is None else _utc(last_good_poll)
        with self._write() as conn:
            conn.execute(
                """INSERT INTO accounts_state (account, last_good_poll, last_error, updated_at)
                   VALUES (%s, %s, %s, %s)
                   ON CONFLICT (account) DO UPDATE SET last_good_poll = excluded.last_good_poll,
                       last_error = excluded.last_error, updated_at = excluded.updated_at""",
                (account, good, last_error, _utc(at)),
            )

    def save_poll(
        self, account: str, jobs: Sequence[FaxJob], transitions: Sequence[Transition], *, at: datetime,
        service: str, poll_seconds: float,
    ) -> None:
        """A good poll, in one transaction (the writes inside are savepoints of it): its changed
        jobs, their transitions, the account's health; a process killed midway leaves all or none."""
        with self._write():
            self.save_jobs(jobs, at)
            self.record_transitions(transitions)
            self.save_account_state(account, at, None, at)
            self.save_account_status(account, service=service, health="ok", poll_seconds=poll_seconds, at=at)

    def load_account_states(self) -> dict[str, tuple[datetime | None, str | None]]:
        """Last known health per account: (last good poll, last error)."""
        rows = self._read("SELECT account, last_good_poll, last_error FROM accounts_state ORDER BY account")
        return {account: (_optional(good), error) for account, good, error in rows}

    def save_account_status(
        self, account: str, *, service: str, health: str, poll_seconds: float, at: datetime
    ) -> None:
        with self._write() as conn:
            conn.execute(
                """INSERT INTO accounts_state (account, updated_at, service, health, poll_seconds)
                   VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (account) DO UPDATE SET updated_at = excluded.updated_at,
                       service = excluded.service, health = excluded.health,
                       poll_seconds = excluded.poll_seconds""",
                (account, _utc(at), service, health, poll_seconds),
            )

    def account_records(self, now: float) -> list[AccountRecord]:
        """Every account the store knows (by name), with its live lease holder at `now`."""
        rows = self._read(
            """SELECT s.account, s.service, s.health, s.poll_seconds, s.last_good_poll, s.last_error,
                      s.updated_at, l.holder, l.expires_at
               FROM accounts_state s LEFT JOIN leases l ON l.account = s.account AND l.expires_at > %s
               ORDER BY s.account""",
            (now,),
        )
        return [
            AccountRecord(account, service, health, poll, _optional(good), error, _optional(updated),
                          holder, expires)
            for account, service, health, poll, good, error, updated, holder, expires in rows
        ]

    # ----------------------------------------------------------------- team mode

    def claim_lease(self, account: str, holder: str, now: float, ttl: float) -> str | None:
        """Take or renew the account's lease until `now + ttl` if it is free, expired or already
        `holder`'s, and return None; else return who holds it. One statement: atomic, and two
        claimers of a missing row queue on its key."""
        with self._write() as conn:
            conn.execute(
                """INSERT INTO leases (account, holder, taken_at, expires_at) VALUES (%s, %s, %s, %s)
                   ON CONFLICT (account) DO UPDATE SET
                       taken_at = CASE WHEN leases.holder = excluded.holder THEN leases.taken_at
                                       ELSE excluded.taken_at END,
                       holder = excluded.holder, expires_at = excluded.expires_at
                   WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.taken_at""",
                (account, holder, now, now + ttl),
            )
            row = conn.execute("SELECT holder FROM leases WHERE account = %s", (account,)).fetchone()
        current = str(row[0]) if row is not None else None
        return None if current == holder else current

    def release_lease(self, account: str, holder: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM leases WHERE account = %s AND holder = %s", (account, holder))

    def changed(self) -> bool:
        """Whether anyone committed since the last call: NOTIFY on `faxtui_changes` (every write
        sends one at commit), heard on the store's own connection (one connection per viewer:
        fifty viewers must not need a hundred) by its notify handler, during any query or the
        one round trip made here."""
        with self._lock:
            try:
                conn = self._require()
                if self._listening is not conn:  # new, or replaced after a break: listen again
                    conn.execute(f"LISTEN {CHANGES_CHANNEL}")
                    conn.add_notify_handler(self._heard_one)
                    self._listening = conn
                    self._heard = True  # nothing was heard while nobody listened: assume a change
                conn.execute("SELECT 1")  # one round trip: what arrived is handed to the handler
            except psycopg.Error as err:
                raise self._fail(err) from None
            heard, self._heard = self._heard, False
            return heard

    def _heard_one(self, _notify: psycopg.Notify) -> None:
        self._heard = True

    # ----------------------------------------------------------------- the call ledger

    def take_call(self, key: CallKey, now: float, limit: int, window: float) -> float:
        """Record one call for `key` at `now` if fewer than `limit` were made in the last `window`
        seconds (by any process on any machine using this database), and return 0; else record
        nothing and return the seconds until one is allowed.

        Check and record are one transaction holding an advisory lock on the key, so two takers
        queue: the second sees the first one's call (READ COMMITTED: each statement sees every
        commit made before it, and the lock is taken before the window is read).
        """
        with self._write() as conn:
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (CALL_LOCK_PREFIX + "\x1f".join(key),),
            )
            conn.execute(
                """DELETE FROM calls WHERE service = %s AND endpoint = %s AND username = %s
                   AND (at <= %s OR at > %s)""",
                (*key, now - window, now + MAX_CALL_AHEAD),
            )
            stamps = [
                float(row[0])
                for row in conn.execute(
                    "SELECT at FROM calls WHERE service = %s AND endpoint = %s AND username = %s ORDER BY at",
                    key,
                ).fetchall()
            ]
            if len(stamps) < limit:
                conn.execute(
                    "INSERT INTO calls (service, endpoint, username, at) VALUES (%s, %s, %s, %s)", (*key, now)
                )
                return 0.0
            return max(0.0, stamps[len(stamps) - limit] + window - now)

    def add_calls(self, key: CallKey, stamps: Sequence[float]) -> None:
        """Record calls made without asking first (extra calls, or a server's "window is full")."""
        if not stamps:
            return
        with self._write() as conn, conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO calls (service, endpoint, username, at) VALUES (%s, %s, %s, %s)",
                [(*key, at) for at in stamps],
            )

    def move_call(self, key: CallKey, stamp: float, to: float) -> None:
        """Move one call recorded at `stamp` to `to` (the call ended then)."""
        with self._write() as conn:
            conn.execute(
                """UPDATE calls SET at = %s WHERE ctid = (
                       SELECT ctid FROM calls WHERE service = %s AND endpoint = %s AND username = %s
                       AND at = %s LIMIT 1)""",
                (to, *key, stamp),
            )

    def recent_calls(self, key: CallKey, now: float, window: float) -> list[float]:
        """The times of the calls for `key` still inside the window ending at `now`, oldest first."""
        rows = self._read(
            """SELECT at FROM calls WHERE service = %s AND endpoint = %s AND username = %s
               AND at > %s AND at <= %s ORDER BY at""",
            (*key, now - window, now + MAX_CALL_AHEAD),
        )
        return [float(row[0]) for row in rows]


def display_of(params: Mapping[str, object]) -> str:
    """How messages name a database: `postgresql://user@host:port/db` from libpq's parsed
    parameters, never with a password."""
    user = str(params.get("user") or "")
    hosts = [h for h in str(params.get("host") or "").split(",") if h]
    ports = [p for p in str(params.get("port") or "").split(",") if p]
    sockets = [h for h in hosts if h.startswith("/")]
    tcp = [h for h in hosts if not h.startswith("/")]
    parts: list[str] = []
    for index, host in enumerate(tcp):
        shown = f"[{host}]" if ":" in host else host
        port = ports[index] if index < len(ports) else (ports[0] if len(ports) == 1 else "")
        parts.append(f"{shown}:{port}" if port else shown)
    if not tcp and ports:
        parts.append(f":{ports[0]}")
    text = "postgresql://" + (quote(user, safe="") + "@" if user else "") + ",".join(parts)
    text += "/" + quote(str(params.get("dbname") or ""), safe="")
    if sockets:
        text += "?host=" + ",".join(sockets)
    return one_line(text, 300)


def _passwords_of(conninfo: str) -> list[str]:
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.Error:
        return []
    return [str(value) for key, value in params.items() if "password" in key and value]


def _scrub(message: str, secrets: Sequence[str]) -> str:
    """`message` on one line, with every secret in it blanked."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            message = message.replace(secret, "***")
    return one_line(message, 1000)


def _connect(conninfo: str, display: str, secrets: Sequence[str]) -> Connection:
    """A new autocommit connection in UTC, or StoreError (one line, no password)."""
    extra: dict[str, Any] = {"application_name": "faxtui"}
    try:
        if "connect_timeout" not in conninfo_to_dict(conninfo):
            extra["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        conn = psycopg.connect(conninfo, autocommit=True, **extra)
    except psycopg.Error as err:
        raise StoreError(_scrub(f"{display}: cannot connect: {err}", secrets)) from None
    try:
        conn.execute("SET TIME ZONE 'UTC'")
    except psycopg.Error as err:
        conn.close()
        raise StoreError(_scrub(f"{display}: {err}", secrets)) from None
    return conn


def _satisfies_the_protocol(store: PostgresStore) -> StateStore:
    return store  # mypy checks here that PostgresStore is a StateStore
