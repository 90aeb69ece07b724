"""What only the PostgreSQL store has: its migrations, the call ledger shared by processes (machines),
roles and passwords, a connection that breaks. Against a real server (tests/pg_fixtures.py); the
behaviour both backends share is tested on both in test_store.py, test_store_ledger.py and
test_store_protocol.py."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from factories import complete_interfax_job as interfax_job
from pg_fixtures import PASSWORD, PASSWORD_ROLE, PgServer

from faxtui.store import CallKey, StoreError
from faxtui.store.pg_schema import MIGRATIONS, SCHEMA_VERSION, TABLES, apply_migrations, schema_version
from faxtui.store.postgres import PostgresStore
from faxtui.store.url import init_store, open_store

T0 = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
KEY: CallKey = ("interfax", "https://example.invalid/dfs.asmx", "demo")


def connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, autocommit=True)


# --------------------------------------------------------------------------- schema and migrations


def test_a_new_database_gets_every_table_and_the_latest_version(pg_url: str) -> None:
    with PostgresStore.open(pg_url) as store:
        assert store.migrated_from == 0
    with connect(pg_url) as conn:
        assert schema_version(conn) == SCHEMA_VERSION == len(MIGRATIONS)
        tables = {row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()}
    assert tables == set(TABLES)  # the viewer's GRANTs (pg_schema.TABLES) name every table
    with PostgresStore.open(pg_url) as again:
        assert again.migrated_from == SCHEMA_VERSION  # nothing to do the second time


def test_an_older_schema_is_upgraded_on_open_and_keeps_its_rows(pg_url: str) -> None:
    with connect(pg_url) as conn:
        assert apply_migrations(conn, MIGRATIONS[:1]) == 1  # as a faxtui with one migration left it
        conn.execute("INSERT INTO watch (account, lookup_id, label, added_at) "
                     "VALUES ('ops', '7', 'kept', now())")
        assert conn.execute("SELECT to_regclass('calls')").fetchone() == (None,)
    report = init_store(pg_url)
    assert (report.before, report.after) == (1, SCHEMA_VERSION)
    assert "upgraded the schema from version 1" in report.summary()
    with PostgresStore.open(pg_url) as store:
        assert [(w.lookup_id, w.label) for w in store.watch_list()] == [("7", "kept")]
        assert store.take_call(KEY, 100.0, 1, 60.0) == 0.0  # migration 2's table is there


def test_a_newer_schema_is_refused_in_one_line(pg_url: str) -> None:
    def migration_3(conn: psycopg.Connection[tuple[object, ...]]) -> None:
        conn.execute("CREATE TABLE notes (text TEXT)")  # fails if ever run twice

    with connect(pg_url) as conn:
        assert apply_migrations(conn, (*MIGRATIONS, migration_3)) == SCHEMA_VERSION + 1
        assert apply_migrations(conn, (*MIGRATIONS, migration_3)) == SCHEMA_VERSION + 1
    with pytest.raises(StoreError, match="newer faxtui") as caught:
        PostgresStore.open(pg_url)
    assert "\n" not in str(caught.value) and f"schema {SCHEMA_VERSION + 1}" in str(caught.value)


OPENER = """
import sys, time
from pathlib import Path
from faxtui.store.url import open_store
go = Path(sys.argv[2])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
open_store(sys.argv[1]).close()
"""


def test_processes_opening_a_new_database_at_once_migrate_it_once(pg_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", OPENER, pg_url, str(go)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    with connect(pg_url) as conn:
        row = conn.execute("SELECT count(*), max(version) FROM faxtui_schema").fetchone()
    assert row == (1, SCHEMA_VERSION)


# --------------------------------------------------------------------------- the ledger across processes

TAKERS = 3
TRIES = 40
LIMIT = 30
TAKER = f"""
import sys, time
from pathlib import Path
from faxtui.store.url import open_store
store = open_store(sys.argv[1])
go, who = Path(sys.argv[2]), int(sys.argv[3])
key = ("interfax", "https://example.invalid/dfs.asmx", "demo")
print("ready", flush=True)
while not go.exists():
    time.sleep(0.0005)
taken = 0
for n in range({TRIES}):
    if store.take_call(key, 1_800_000_000.0 + n / 1000 + who / 1e6, {LIMIT}, 3600.0) == 0.0:
        taken += 1
store.close()
print(taken, flush=True)
"""


def test_take_call_is_atomic_across_processes(pg_url: str, tmp_path: Path) -> None:
    """Three processes (three machines: each its own connection) race for 30 calls of one window:
    exactly 30 are granted, never more, and the ledger holds exactly those."""
    open_store(pg_url).close()
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", TAKER, pg_url, str(go), str(who)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for who in range(TAKERS)]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    go.touch()
    granted = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        granted.append(int(out.strip()))
    assert sum(granted) == LIMIT
    assert all(0 < n < TRIES for n in granted), granted  # they did race: nobody took every call
    with PostgresStore.open(pg_url) as store:
        assert len(store.recent_calls(KEY, 1_800_000_000.0 + 1, 3600.0)) == LIMIT


def test_take_call_waits_for_a_taker_holding_the_key(pg_url: str) -> None:
    """A second connection's take_call blocks while another transaction holds the key's lock, then
    sees that transaction's call."""
    with PostgresStore.open(pg_url) as first, PostgresStore.open(pg_url) as second:
        first.take_call(KEY, 1000.0, 2, 60.0)
        import threading

        holder = connect(pg_url)
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                       ("faxtui.calls:" + "\x1f".join(KEY),))
        holder.execute("INSERT INTO calls (service, endpoint, username, at) VALUES (%s, %s, %s, %s)",
                       (*KEY, 1001.0))
        result: list[float] = []
        waiter = threading.Thread(target=lambda: result.append(second.take_call(KEY, 1002.0, 2, 60.0)))
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive() and result == []  # queued behind the lock
        holder.execute("COMMIT")
        waiter.join(10)
        holder.close()
        assert result == [pytest.approx(58.0)]  # the window is full with the holder's call


# --------------------------------------------------------------------------- passwords, roles


def test_a_password_from_pgpassword_or_pgpass_works(pg_server: PgServer, pg_url: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    dbname = pg_url.rsplit("/", 1)[1]
    with connect(pg_url) as conn:
        conn.execute(f'GRANT CREATE ON SCHEMA public TO "{PASSWORD_ROLE}"')
    url = pg_server.url(dbname, PASSWORD_ROLE)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert "password" in str(caught.value) and "\n" not in str(caught.value)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    open_store(url).close()
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_server.port}:{dbname}:{PASSWORD_ROLE}:{PASSWORD}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    store = open_store(url)
    store.add_watch("ops", "1")
    store.close()


def test_a_password_never_shows_in_an_error(pg_server: PgServer, pg_url: str, closed_port: int,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    dbname = pg_url.rsplit("/", 1)[1]
    wrong = "Wr0ng-hunter2"
    cases = [
        pg_server.url(dbname, PASSWORD_ROLE, wrong),  # refused by the server
        f"postgresql://{PASSWORD_ROLE}:{wrong}@127.0.0.1:{closed_port}/{dbname}",  # nobody listens
        f"postgresql://{PASSWORD_ROLE}@127.0.0.1:{pg_server.port}/{dbname}?password={wrong}",
        f"postgresql://{PASSWORD_ROLE}:{wrong}@127.0.0.1:{pg_server.port}/{dbname}?bogus=1",  # bad URL
        f"postgresql://{PASSWORD_ROLE}:{wrong}@127.0.0.1:port/{dbname}",
    ]
    monkeypatch.setenv("PGPASSWORD", "env-" + wrong)
    for url in cases:
        with pytest.raises(StoreError) as caught:
            open_store(url)
        message = str(caught.value)
        assert wrong not in message and "\n" not in message, message
        assert f"{PASSWORD_ROLE}@127.0.0.1" in message or "***" in message, message
    # and a store that opened names itself without the password it was given
    with connect(pg_url) as conn:
        conn.execute(f'GRANT CREATE ON SCHEMA public TO "{PASSWORD_ROLE}"')
    with PostgresStore.open(pg_server.url(dbname, PASSWORD_ROLE, PASSWORD)) as store:
        assert PASSWORD not in store.display and PASSWORD not in repr(store.__dict__.get("display"))
        with connect(pg_url) as conn:
            conn.execute("REVOKE ALL ON jobs FROM PUBLIC")
            conn.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{PASSWORD_ROLE}"')
        with pytest.raises(StoreError, match="permission denied") as denied:
            store.load_jobs()
        assert PASSWORD not in str(denied.value)


def test_the_viewer_role_reads_everything_and_writes_only_watches(pg_server: PgServer, pg_url: str) -> None:
    report = init_store(pg_url, viewer_role="faxtui_viewer_t")
    dbname = pg_url.rsplit("/", 1)[1]
    with PostgresStore.open(pg_url) as owner:
        owner.save_jobs([interfax_job()], T0)
        owner.save_account_state("ops-interfax", T0, None, T0)
    with connect(pg_url) as conn:
        conn.execute("DROP ROLE IF EXISTS faxtui_viewer_t")
        conn.execute("CREATE ROLE faxtui_viewer_t LOGIN")
        for line in report.grants:
            if not line.startswith("--"):
                conn.execute(line)
    viewer = open_store(pg_server.url(dbname, "faxtui_viewer_t"))
    try:
        assert [job.job_id for job in viewer.load_jobs()] == [interfax_job().job_id]
        assert viewer.load_account_states() == {"ops-interfax": (T0, None)}
        entry = viewer.add_watch("ops-interfax", "812345678", "from the desk")
        assert viewer.add_watch("ops-interfax", "812345678", "relabelled").label == "relabelled"
        assert viewer.watch_list() == [entry.__class__(entry.account, entry.lookup_id, "relabelled",
                                                       entry.added_at)]
        assert viewer.remove_watch("ops-interfax", "812345678")
        for write in (
            lambda: viewer.save_jobs([interfax_job(1)], T0),
            lambda: viewer.save_account_state("ops-interfax", None, "x", T0),
            lambda: viewer.take_call(KEY, 1.0, 6, 60.0),
            lambda: viewer.forget_account("ops-interfax"),
            lambda: viewer.prune_history(0),
        ):
            with pytest.raises(StoreError, match="permission denied"):
                write()
    finally:
        viewer.close()
        with connect(pg_url) as conn:
            conn.execute("DROP OWNED BY faxtui_viewer_t")
            conn.execute("DROP ROLE faxtui_viewer_t")


def test_a_viewer_cannot_upgrade_an_old_schema_and_says_who_can(pg_server: PgServer, pg_url: str) -> None:
    dbname = pg_url.rsplit("/", 1)[1]
    with connect(pg_url) as conn:
        apply_migrations(conn, MIGRATIONS[:1])
        conn.execute("DROP ROLE IF EXISTS faxtui_viewer_old")
        conn.execute("CREATE ROLE faxtui_viewer_old LOGIN")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO faxtui_viewer_old")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    try:
        with pytest.raises(StoreError, match=r"version 1, this faxtui needs .*faxtui db init"):
            open_store(pg_server.url(dbname, "faxtui_viewer_old"))
    finally:
        with connect(pg_url) as conn:
            conn.execute("DROP OWNED BY faxtui_viewer_old")
            conn.execute("DROP ROLE faxtui_viewer_old")


# --------------------------------------------------------------------------- connections


def test_a_broken_connection_fails_one_call_then_is_replaced(pg_url: str) -> None:
    with PostgresStore.open(pg_url) as store:
        store.add_watch("ops", "1")
        with connect(pg_url) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'faxtui' AND datname = current_database()")
        with pytest.raises(StoreError) as caught:
            store.watch_list()
        assert "\n" not in str(caught.value)
        assert [w.lookup_id for w in store.watch_list()] == ["1"]  # a new connection


def test_a_closed_store_stays_closed(pg_url: str) -> None:
    store = PostgresStore.open(pg_url)
    store.close()
    store.close()
    assert store.closed
    with pytest.raises(StoreError, match="closed"):
        store.add_watch("ops", "1")
