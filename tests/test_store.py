"""The state store: schema migrations, jobs, history, watch list, recovery, two processes at once.

The behaviour tests take the `store` (or `store_url`) fixture and run on both backends, SQLite and a
real PostgreSQL server (tests/pg_fixtures.py); files, modes, recovery and SQLite's own migrations
are SQLite's. PostgreSQL's own (migrations, roles, its ledger across processes) are in
test_store_postgres.py."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from factories import complete_concord_job as concord_job
from factories import complete_interfax_job as interfax_job
from factories import transition

from faxtui.events import StateChange
from faxtui.model import JobState
from faxtui.store import (
    DB_FILENAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    StateStore,
    Store,
    StoreError,
    Transition,
    apply_migrations,
    data_dir,
)
from faxtui.store.url import open_store

T0 = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
EST = timezone(timedelta(hours=-5))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def store(any_store: StateStore) -> StateStore:
    return any_store


JOB_COLUMNS = "account, job_id, service, state, status_code, updated_at, record"


def raw_insert_job_rows(store_url: str, rows: list[tuple[str, ...]]) -> None:
    """Insert `jobs` rows (account, job_id, service, state, code, updated_at, record) behind the
    store's back, in the backend's own SQL."""
    if store_url.startswith("sqlite:"):
        conn = sqlite3.connect(store_url.removeprefix("sqlite:///"))
        try:
            with conn:
                conn.executemany(f"INSERT INTO jobs ({JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        finally:
            conn.close()
        return
    with psycopg.connect(store_url, autocommit=True) as pg:
        pg.cursor().executemany(f"INSERT INTO jobs ({JOB_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)", rows)


# --------------------------------------------------------------------------- location, files, schema


def test_data_dir_prefers_cli_then_env_then_platform_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("FAXTUI_DATA_DIR", raising=False)
    assert data_dir() == tmp_path / "xdg" / "faxtui"
    monkeypatch.setenv("FAXTUI_DATA_DIR", str(tmp_path / "env"))
    assert data_dir() == tmp_path / "env"
    assert data_dir(tmp_path / "cli") == tmp_path / "cli"
    with Store.open() as opened:
        assert opened.path == tmp_path / "env" / DB_FILENAME


def test_files_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "faxtui"
    with umask(0), Store.open(directory) as opened:
        opened.add_watch("ops", "123")
        assert mode(directory) == 0o700
        assert mode(directory.parent) == 0o700
        for path in directory.iterdir():  # the database, its -wal/-shm and the lock file
            assert mode(path) == 0o600, path


def test_migrates_an_empty_file_to_the_latest_version(tmp_path: Path) -> None:
    (tmp_path / DB_FILENAME).write_bytes(b"")
    with Store.open(tmp_path) as opened:
        assert opened.recovered_from is None
    conn = sqlite3.connect(tmp_path / DB_FILENAME)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"jobs", "history", "watch", "accounts_state"} <= tables
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_adding_a_migration_is_one_function_and_rerunning_is_a_no_op(tmp_path: Path) -> None:
    with Store.open(tmp_path) as opened:
        opened.add_watch("ops", "123", "kept")

    def migration_2(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE notes (text TEXT)")  # fails if ever run twice

    conn = sqlite3.connect(tmp_path / DB_FILENAME, isolation_level=None)
    try:
        assert apply_migrations(conn) == SCHEMA_VERSION  # already latest: nothing to do
        assert apply_migrations(conn, (*MIGRATIONS, migration_2)) == SCHEMA_VERSION + 1
        assert apply_migrations(conn, (*MIGRATIONS, migration_2)) == SCHEMA_VERSION + 1
        assert conn.execute("SELECT label FROM watch").fetchall() == [("kept",)]
    finally:
        conn.close()
    # this faxtui does not know migration 2: it refuses rather than guessing
    with pytest.raises(StoreError, match="newer faxtui"):
        Store.open(tmp_path)


def test_closed_store_says_so(store_url: str) -> None:
    opened = open_store(store_url)
    opened.close()
    opened.close()
    with pytest.raises(StoreError, match="closed"):
        opened.load_jobs()


# --------------------------------------------------------------------------- jobs


def test_jobs_round_trip_through_close_and_reopen(store_url: str) -> None:
    jobs = [interfax_job(), concord_job()]
    opened = open_store(store_url)
    opened.save_jobs(jobs, T0)
    opened.close()
    reopened = open_store(store_url)
    try:
        assert reopened.load_jobs() == sorted(jobs, key=lambda j: j.key)
        assert reopened.load_jobs("ops-concord") == [jobs[1]]
        assert reopened.load_jobs("nobody") == []
    finally:
        reopened.close()


def test_save_jobs_replaces_by_account_and_id(store: StateStore) -> None:
    store.save_jobs([interfax_job(status=-3)], T0)
    delivered = dataclasses.replace(interfax_job(status=0), state=JobState.DELIVERED, status_text="OK")
    same_id_other_account = interfax_job(account="other")
    store.save_jobs([delivered, same_id_other_account], T0 + timedelta(seconds=20))
    assert store.load_jobs("ops-interfax") == [delivered]
    assert len(store.load_jobs()) == 2


def test_a_row_that_does_not_decode_is_skipped(store_url: str, store: StateStore) -> None:
    good = interfax_job()
    store.save_jobs([good], T0)
    raw_insert_job_rows(store_url, [
        ("ops-interfax", "1", "interfax", "failed", "1", T0.isoformat(), "{not json"),
        ("ops-interfax", "2", "interfax", "failed", "1", T0.isoformat(),
         '{"account": "ops-interfax", "state": "exploded"}'),
    ])
    assert store.load_jobs() == [good]


def test_saves_ten_thousand_jobs(store: StateStore) -> None:
    jobs = [interfax_job(900000000 + n) for n in range(10_000)]
    store.save_jobs(jobs, T0)
    loaded = store.load_jobs("ops-interfax")
    assert len(loaded) == 10_000
    assert {job.job_id for job in loaded} == {job.job_id for job in jobs}
    assert loaded[0] == interfax_job(int(loaded[0].job_id))


def test_prune_keeps_the_most_recent_and_the_watched(store: StateStore) -> None:
    for n in range(5):
        store.save_jobs([interfax_job(100 + n)], T0 + timedelta(minutes=n))
    store.add_watch("ops-interfax", "100")
    assert store.prune_jobs(keep_per_account=2) == 2
    assert sorted(job.job_id for job in store.load_jobs()) == ["100", "103", "104"]


def test_naive_datetimes_are_refused(store: StateStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.save_jobs([interfax_job()], datetime(2026, 11, 22, 10, 0))


# --------------------------------------------------------------------------- history


def test_history_oldest_first_recent_newest_first(store: StateStore) -> None:
    store.record_transitions(
        [
            transition("1", T0 + timedelta(seconds=40), "delivered", "sending"),
            transition("1", T0, "queued"),
            transition("2", T0 + timedelta(seconds=30), "queued", account="b"),
        ]
    )
    store.record_transitions([transition("1", T0 + timedelta(seconds=20), "sending", "queued")])
    assert [t.new_state for t in store.history("a", "1")] == ["queued", "sending", "delivered"]
    assert store.history("a", "1")[0] == transition("1", T0, "queued")
    assert store.history("a", "1")[0].at.tzinfo is not None
    recent = store.recent_transitions(limit=3)
    assert [(t.account, t.job_id, t.new_state) for t in recent] == [
        ("a", "1", "delivered"),
        ("b", "2", "queued"),
        ("a", "1", "sending"),
    ]


def test_times_come_back_as_the_same_instant_in_utc(store: StateStore) -> None:
    at = datetime(2026, 11, 22, 5, 0, 0, 123456, tzinfo=EST)
    store.record_transitions([transition("1", at, "queued")])
    (back,) = store.history("a", "1")
    assert back.at == at
    assert back.at.utcoffset() == timedelta(0)


def test_transition_from_a_poller_state_change(store: StateStore) -> None:
    old = interfax_job(status=-3)
    new = dataclasses.replace(interfax_job(status=0), state=JobState.DELIVERED, status_text="OK")
    store.record_transitions(
        [
            Transition.from_change(StateChange(job=new, old=old, at=T0)),
            Transition.from_change(StateChange(job=concord_job(), old=None, at=T0)),
        ]
    )
    (change,) = store.history("ops-interfax", "812345678")
    assert (change.old_state, change.new_state, change.old_code, change.new_code) == (
        "failed",
        "delivered",
        -3,
        0,
    )
    (first,) = store.history("ops-concord", "br0a1b2c3d4e5f")
    assert first.old_state is None and first.new_state == "failed"


# --------------------------------------------------------------------------- watch list, accounts


def test_watch_list_is_idempotent_ordered_and_survives_reopen(store_url: str) -> None:
    opened = open_store(store_url)
    try:
        first = opened.add_watch("ops-concord", "JRI-order-42", "Dr. Ada", at=T0)
        opened.add_watch("ops-interfax", "812345678", at=T0 + timedelta(seconds=1))
        again = opened.add_watch("ops-concord", "JRI-order-42", at=T0 + timedelta(hours=1))
        assert again == first  # added_at and label kept
        relabelled = opened.add_watch("ops-concord", "JRI-order-42", "Dr. Bob", at=T0 + timedelta(hours=2))
        assert (relabelled.label, relabelled.added_at) == ("Dr. Bob", T0)
    finally:
        opened.close()
    reopened = open_store(store_url)
    try:
        assert [(w.account, w.lookup_id, w.label) for w in reopened.watch_list()] == [
            ("ops-concord", "JRI-order-42", "Dr. Bob"),
            ("ops-interfax", "812345678", ""),
        ]
        assert [w.lookup_id for w in reopened.watch_list("ops-interfax")] == ["812345678"]
        assert reopened.set_watch_label("ops-interfax", "812345678", "billing") is True
        assert reopened.set_watch_label("ops-interfax", "999", "x") is False
        assert reopened.remove_watch("ops-concord", "JRI-order-42") is True
        assert reopened.remove_watch("ops-concord", "JRI-order-42") is False
        assert [(w.lookup_id, w.label) for w in reopened.watch_list()] == [("812345678", "billing")]
    finally:
        reopened.close()


def test_account_states_and_forgetting_an_account(store: StateStore) -> None:
    store.save_account_state("ops-interfax", T0, None, T0)
    store.save_account_state("ops-concord", None, "auth: bad credentials", T0)
    store.save_account_state("ops-concord", T0 + timedelta(minutes=1), None, T0 + timedelta(minutes=1))
    assert store.load_account_states() == {
        "ops-interfax": (T0, None),
        "ops-concord": (T0 + timedelta(minutes=1), None),
    }
    store.save_jobs([interfax_job(), concord_job()], T0)
    store.add_watch("ops-concord", "JRI-order-42")
    store.add_watch("ops-interfax", "812345678")
    store.record_transitions([transition("x", T0, "queued", account="ops-concord")])
    store.forget_account("ops-concord")
    assert [job.account for job in store.load_jobs()] == ["ops-interfax"]
    assert [w.account for w in store.watch_list()] == ["ops-interfax"]
    assert list(store.load_account_states()) == ["ops-interfax"]
    assert store.recent_transitions() == []


def test_a_worker_thread_can_share_the_store(store: StateStore) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for n in range(200):
                store.save_jobs([interfax_job(1000 + n)], T0)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    thread = threading.Thread(target=worker)
    thread.start()
    for n in range(200):
        store.add_watch("ops-interfax", str(n))
        store.load_jobs()
    thread.join()
    assert errors == []
    assert len(store.load_jobs()) == 200
    assert len(store.watch_list()) == 200


# --------------------------------------------------------------------------- recovery


def test_a_file_that_is_not_sqlite_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    garbage = b"this is not a database, it is a shopping list\n" * 100
    (tmp_path / DB_FILENAME).write_bytes(garbage)
    config = tmp_path / "config.toml"  # a neighbour that recovery must not touch
    config.write_text("[ui]\n")
    with Store.open(tmp_path) as opened:
        assert opened.recovered_from is not None
        assert opened.recovered_from.name.startswith(f"{DB_FILENAME}.corrupt-")
        assert opened.recovered_from.read_bytes() == garbage
        assert opened.load_jobs() == []
        opened.add_watch("ops", "1")
    assert config.read_text() == "[ui]\n"
    with Store.open(tmp_path) as reopened:
        assert reopened.recovered_from is None
        assert [w.lookup_id for w in reopened.watch_list()] == ["1"]


def test_a_damaged_database_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    with Store.open(tmp_path) as opened:
        opened.save_jobs([interfax_job(500000000 + n) for n in range(300)], T0)
    db = tmp_path / DB_FILENAME
    with db.open("r+b") as fh:  # clobber b-tree pages, leave the header valid
        fh.seek(4096 * 4)
        fh.write(b"\xa5" * 4096 * 8)
    with Store.open(tmp_path) as recovered:
        assert recovered.recovered_from is not None
        assert recovered.recovered_from.exists()
        assert recovered.load_jobs() == []
        assert recovered.integrity_ok()


# --------------------------------------------------------------------------- two processes

BATCHES = 60
WRITER = f"""
import sys, time
from datetime import UTC, datetime
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from factories import complete_interfax_job as interfax_job, transition
from faxtui.store import Store

directory, who = Path(sys.argv[1]), int(sys.argv[2])
go = Path(sys.argv[4])
print("ready", flush=True)
while not go.exists():  # start together: both create, check and migrate the same new file
    time.sleep(0.001)
with Store.open(directory) as store:
    for batch in range({BATCHES}):
        base = who * 1_000_000 + batch * 25
        account = f"acct-{{who}}"
        store.save_jobs([interfax_job(base + n, account=account) for n in range(25)], datetime.now(UTC))
        store.add_watch(account, str(base), f"batch {{batch}}")
        store.record_transitions([transition(str(base), datetime.now(UTC), "queued", account=account)])
        store.save_account_state(account, datetime.now(UTC), None, datetime.now(UTC))
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    directory = tmp_path / "shared"  # both processes create and migrate it at the same moment
    tests_dir = str(Path(__file__).parent)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(directory), str(who), tests_dir, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in (1, 2)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    with Store.open(directory) as store:
        assert store.recovered_from is None
        assert store.integrity_ok()
        for who in (1, 2):
            assert len(store.load_jobs(f"acct-{who}")) == BATCHES * 25
            assert len(store.watch_list(f"acct-{who}")) == BATCHES
        assert len(store.recent_transitions(limit=1000)) == 2 * BATCHES
        assert set(store.load_account_states()) == {"acct-1", "acct-2"}
