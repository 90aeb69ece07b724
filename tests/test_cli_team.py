"""Team mode from the shell, on both store backends: `faxtui status --no-poll` prints what the store
holds (written here by another store connection, as a poller on another machine would) without
calling any service or needing the account's config or secrets, and `faxtui watch` works on an
account only the store knows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from factories import concord_job, interfax_job
from pg_fixtures import PASSWORD, PASSWORD_ROLE, PgServer

import faxtui.clock
from faxtui.cli import main
from faxtui.model import JobState
from faxtui.store import StateStore, StoreError, open_store

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
STATUS_KEYS = {"name", "service", "ok", "error", "warning", "polled_at", "latency_ms", "jobs"}
TEAM_KEYS = {"poller", "last_good_poll_age_seconds", "poll_seconds", "stale"}
ERROR = "HTTP 503 from ws.concordfax.com"


@pytest.fixture
def viewer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A viewer's machine: no config file, an empty data directory, no $FAXTUI_STORE, and the wall
    clock at NOW. Returns the (absent) config path."""
    config = tmp_path / "viewer" / "config.toml"
    monkeypatch.setenv("FAXTUI_CONFIG", str(config))
    monkeypatch.setenv("FAXTUI_DATA_DIR", str(tmp_path / "viewer" / "data"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.delenv("FAXTUI_STORE", raising=False)
    monkeypatch.setattr(faxtui.clock, "utc_now", lambda: NOW)
    return config


@pytest.fixture
def poller_store(any_store: StateStore) -> StateStore:
    """The poller's own connection to the store (another process, another machine)."""
    return any_store


def write_account(store: StateStore, name: str, service: str, *, good_ago: float | None, poll: float = 10.0,
                  error: str | None = None, holder: str | None = None, health: str | None = None) -> None:
    """What a poller writes of an account after a poll (its last good poll `good_ago` s before NOW)."""
    good = None if good_ago is None else NOW - timedelta(seconds=good_ago)
    store.save_account_state(name, good, error, NOW)
    store.save_account_status(name, service=service, health=health or ("error" if error else "ok"),
                              poll_seconds=poll, at=NOW)
    if holder is not None:
        assert store.claim_lease(name, holder, NOW.timestamp() - 1, 30.0) is None


def seed_team(store: StateStore) -> None:
    """ifx: polled by desk-1 12 s ago, two jobs, one watched; cc: its last poll failed, nobody polls it."""
    write_account(store, "ifx", "interfax", good_ago=12, holder="desk-1:4242")
    write_account(store, "cc", "concord", good_ago=600, poll=15, error=ERROR)
    store.save_jobs([interfax_job(1, JobState.SENDING, account="ifx"), interfax_job(2, account="ifx"),
                     concord_job(account="cc")], NOW)
    store.add_watch("ifx", "700000001")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- status --no-poll ------------------------------------------------------------------------


def test_status_no_poll_shows_who_polls_each_account_and_its_age(
    viewer: Path, store_url: str, poller_store: StateStore, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_team(poller_store)
    code, out, err = run(capsys, "status", "--no-poll", "--store", store_url)
    assert code == 1, err  # cc's last poll failed
    lines = out.splitlines()
    assert lines[0] == "cc (concord): FAILED: HTTP 503 from ws.concordfax.com; nobody polls it, " \
                       "last good poll 10m00s ago, 1 jobs"
    assert lines[1] == "ifx (interfax): OK; polled by desk-1:4242, last good poll 12s ago, 2 jobs"
    table = "\n".join(lines[2:])
    assert "ACCOUNT" in table
    assert all(i in table for i in ("700000001", "700000002", "br001h0000000001"))
    assert err == ""
    assert not viewer.exists()  # no config was needed, none was written

    code, out, _ = run(capsys, "status", "--no-poll", "--store", store_url, "--account", "ifx")
    assert code == 0  # the failing account is not asked about
    assert out.startswith("ifx (interfax): OK; polled by desk-1:4242") and "cc" not in out.split("\n")[0]
    assert "br001h0000000001" not in out


def test_status_no_poll_json_is_the_status_object_plus_the_team_keys(
    viewer: Path, store_url: str, poller_store: StateStore, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_team(poller_store)
    monkeypatch.setenv("FAXTUI_STORE", store_url)  # the store from the environment this time
    code, out, _ = run(capsys, "status", "--no-poll", "--json")
    assert code == 1
    data = json.loads(out)
    assert set(data) == {"generated_at", "accounts", "jobs"}
    assert data["generated_at"] == "2026-11-22T10:00:00Z"
    accounts = {a["name"]: a for a in data["accounts"]}
    for entry in accounts.values():
        assert set(entry) == STATUS_KEYS | TEAM_KEYS
    assert accounts["ifx"] == {
        "name": "ifx", "service": "interfax", "ok": True, "error": None, "warning": None,
        "polled_at": "2026-11-22T09:59:48Z", "latency_ms": None, "jobs": 2,
        "poller": "desk-1:4242", "last_good_poll_age_seconds": 12.0,
        "poll_seconds": 10.0, "stale": False,
    }
    cc = accounts["cc"]
    assert (cc["ok"], cc["error"], cc["poller"]) == (False, ERROR, None)
    assert cc["last_good_poll_age_seconds"] == 600.0
    jobs = {(j["account"], j["id"]): j for j in data["jobs"]}
    assert set(jobs) == {("ifx", "700000001"), ("ifx", "700000002"), ("cc", "br001h0000000001")}
    assert jobs["ifx", "700000001"]["watched"] is True and jobs["ifx", "700000002"]["watched"] is False
    assert jobs["ifx", "700000001"]["state"] == "sending" and len(jobs["ifx", "700000001"]["fields"]) == 27


def test_a_last_good_poll_older_than_three_intervals_fails(
    viewer: Path, store_url: str, poller_store: StateStore, capsys: pytest.CaptureFixture[str]
) -> None:
    write_account(poller_store, "ifx", "interfax", good_ago=29, poll=10, holder="desk-1:4242")
    assert run(capsys, "status", "--no-poll", "--store", store_url)[0] == 0
    write_account(poller_store, "ifx", "interfax", good_ago=31, poll=10)  # the poller died 31 s ago
    code, out, _ = run(capsys, "status", "--no-poll", "--store", store_url)
    assert code == 1
    assert out.splitlines()[0] == ("ifx (interfax): STALE: last good poll 31s ago, more than 3 poll "
                                   "intervals (10 s); polled by desk-1:4242, 0 jobs")
    code, out, _ = run(capsys, "status", "--no-poll", "--json", "--store", store_url)
    account = json.loads(out)["accounts"][0]
    assert code == 1 and account["stale"] is True and account["ok"] is False and account["error"] is None


def test_an_account_never_polled_well_fails_and_an_unknown_interval_is_said(
    viewer: Path, store_url: str, poller_store: StateStore, capsys: pytest.CaptureFixture[str]
) -> None:
    write_account(poller_store, "new", "interfax", good_ago=None, health="pending")
    poller_store.save_account_state("old", NOW - timedelta(hours=2), None, NOW)  # an older faxtui wrote it
    code, out, _ = run(capsys, "status", "--no-poll", "--store", store_url)
    assert code == 1
    new, old = sorted(out.splitlines()[:2])
    assert new == "new (interfax): NO GOOD POLL YET; nobody polls it, 0 jobs"
    assert old == ("old (service unknown): OK; nobody polls it, last good poll 2h00m ago "
                   "(poll interval unknown: freshness not judged), 0 jobs")
    assert run(capsys, "status", "--no-poll", "--store", store_url, "--account", "old")[0] == 0
    code, out, _ = run(capsys, "status", "--no-poll", "--json", "--store", store_url, "--account", "old")
    account = json.loads(out)["accounts"][0]
    assert (account["stale"], account["poll_seconds"], account["service"]) == (None, None, "unknown")


def test_status_no_poll_refuses_an_unknown_account_or_store_in_one_line(
    viewer: Path, store_url: str, poller_store: StateStore, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    code, out, err = run(capsys, "status", "--no-poll", "--store", store_url)
    assert (code, out) == (0, f"{store_url} knows no account yet (no poller has written to it)\n")
    seed_team(poller_store)
    code, _, err = run(capsys, "status", "--no-poll", "--store", store_url, "--account", "ghost")
    assert code == 2
    assert err == f"faxtui: {store_url} knows no account named 'ghost' (accounts: cc, ifx)\n"
    missing = tmp_path / "typo" / "state.sqlite3"
    code, _, err = run(capsys, "status", "--no-poll", "--store", f"sqlite:///{missing}")
    assert code == 2 and err.count("\n") == 1 and f"no store at {missing}" in err
    assert not missing.parent.exists()  # a read-only command made no store
    code, _, err = run(capsys, "status", "--no-poll", "--store", "mysql://ops:hunter2@db/x")
    assert code == 2 and err.count("\n") == 1 and "hunter2" not in err


def test_status_no_poll_never_prints_the_store_password(
    viewer: Path, pg_server: PgServer, pg_url: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dbname = pg_url.rsplit("/", 1)[1]
    with pg_server.admin(dbname) as conn:
        conn.execute(f"ALTER SCHEMA public OWNER TO {PASSWORD_ROLE}")
    url = pg_server.url(dbname, user=PASSWORD_ROLE, password=PASSWORD)
    with open_store(url) as store:
        write_account(store, "ifx", "interfax", good_ago=5)
    code, out, err = run(capsys, "status", "--no-poll", "--store", url, "--account", "ghost")
    assert code == 2 and PASSWORD not in err and f"{PASSWORD_ROLE}:***@" in err
    monkeypatch.setenv("PGPASSWORD", PASSWORD)  # libpq's way: the URL holds no password
    plain = pg_server.url(dbname, user=PASSWORD_ROLE)
    code, out, err = run(capsys, "status", "--no-poll", "--json", "--store", plain)
    assert code == 0 and PASSWORD not in out + err
    assert json.loads(out)["accounts"][0]["name"] == "ifx"


def test_status_no_poll_in_a_process_of_its_own_reads_a_postgresql_store(
    pg_url: str, env: dict[str, str], tmp_path: Path
) -> None:
    """A viewer on another machine: a real `faxtui` process with no config and no secret, the store's
    URL from $FAXTUI_STORE, reading what the poller's connection committed."""
    with open_store(pg_url) as store:
        write_account(store, "ifx", "interfax", good_ago=None)
        store.save_account_state("ifx", datetime.now(UTC) - timedelta(seconds=3), None, datetime.now(UTC))
        assert store.claim_lease("ifx", "desk-1:4242", datetime.now(UTC).timestamp(), 60.0) is None
        store.save_jobs([interfax_job(n, account="ifx") for n in range(5)], NOW)
    env = {**env, "FAXTUI_STORE": pg_url}
    result = subprocess.run([sys.executable, "-m", "faxtui", "status", "--no-poll", "--json"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    account = json.loads(result.stdout)["accounts"][0]
    assert (account["name"], account["poller"], account["ok"], account["jobs"]) == ("ifx", "desk-1:4242",
                                                                                      True, 5)
    assert 3 <= account["last_good_poll_age_seconds"] < 30  # measured with the wall clock
    assert not Path(env["FAXTUI_CONFIG"]).exists() and not Path(env["FAXTUI_DATA_DIR"]).exists()
    text = subprocess.run([sys.executable, "-m", "faxtui", "status", "--no-poll"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert text.returncode == 0 and text.stdout.startswith("ifx (interfax): OK; polled by desk-1:4242, ")


# --- watch from any machine --------------------------------------------------------------------


def test_watch_works_on_an_account_only_the_store_knows(
    viewer: Path, store_url: str, poller_store: StateStore, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_team(poller_store)
    code, out, err = run(capsys, "watch", "add", "--store", store_url, "--account", "cc", "--label", "urgent",
                         "br00ff", "JRI-INV-7")
    assert (code, out, err) == (0, "Watching 2 id(s) on cc\n", "")
    # the poller's connection sees it
    assert {w.lookup_id for w in poller_store.watch_list("cc")} == {"br00ff", "JRI-INV-7"}
    code, _, err = run(capsys, "watch", "add", "--store", store_url, "--account", "ifx", "br00ff")
    assert code == 2 and err.count("\n") == 1 and err.startswith("faxtui: account 'ifx': ")  # ifx is InterFax
    assert run(capsys, "watch", "add", "--store", store_url, "--account", "ifx", "812345678")[0] == 0
    code, out, _ = run(capsys, "watch", "list", "--json", "--store", store_url)
    assert code == 0
    assert {(e["account"], e["id"]) for e in json.loads(out)} == {
        ("cc", "br00ff"), ("cc", "JRI-INV-7"), ("ifx", "700000001"), ("ifx", "812345678")}
    assert run(capsys, "watch", "remove", "--store", store_url, "--account", "cc", "br00ff")[0] == 0
    assert [w.lookup_id for w in poller_store.watch_list("cc")] == ["JRI-INV-7"]
    code, _, err = run(capsys, "watch", "remove", "--store", store_url, "--account", "cc", "br00ff")
    assert code == 1 and "'br00ff' was not on the watch list of cc" in err
    assert not viewer.exists()


def test_watch_on_an_account_nobody_knows_names_both_places(
    viewer: Path, store_url: str, poller_store: StateStore, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_team(poller_store)
    for verb in ("add", "remove"):
        code, _, err = run(capsys, "watch", verb, "--store", store_url, "--account", "ghost", "812345678")
        assert code == 2
        assert err == (f"faxtui: no account named 'ghost' in {viewer} (accounts: none configured) "
                       f"nor in {store_url}\n")
    poller_store.save_account_state("legacy", None, None, NOW)  # written before the store kept services
    code, _, err = run(capsys, "watch", "add", "--store", store_url, "--account", "legacy", "812345678")
    assert code == 2 and err.count("\n") == 1 and "does not say which service account 'legacy' uses" in err
    assert poller_store.watch_list("ghost") == [] and poller_store.watch_list("legacy") == []


def test_watch_on_a_configured_account_keeps_using_the_config(
    viewer: Path, store_url: str, poller_store: StateStore, capsys: pytest.CaptureFixture[str]
) -> None:
    viewer.parent.mkdir(parents=True, exist_ok=True)
    viewer.write_text('[[accounts]]\nname = "mine"\nservice = "concord"\nuser_id = "mbx0000000001"\n'
                      'token_env = "NOT_SET_HERE"\n')
    os.chmod(viewer, 0o600)
    code, out, err = run(capsys, "watch", "add", "--store", store_url, "--account", "mine", "br00aa")
    assert (code, out) == (0, "Watching 1 id(s) on mine\n"), err  # the store has never heard of it
    code, _, err = run(capsys, "watch", "add", "--store", store_url, "--account", "mine", "12345")
    assert code == 2 and "account 'mine'" in err  # a Concord account takes no InterFax id
    code, _, err = run(capsys, "watch", "add", "--store", store_url, "--account", "ghost", "12345")
    assert code == 2 and "(accounts: mine)" in err


def test_a_read_only_viewer_role_reads_the_picture_and_adds_watches(
    viewer: Path, pg_server: PgServer, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's PostgreSQL set-up: `db init` as the owner, its GRANTs run, then a viewer role
    with no account config reads the store and adds a watch request, and may write nothing else."""
    dbname = pg_url.rsplit("/", 1)[1]
    role = f"viewer_{dbname}"
    code, out, err = run(capsys, "db", "init", "--store", pg_url, "--viewer-role", role)
    assert code == 0, err
    with pg_server.admin(dbname) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        for line in out.splitlines():
            if not line.startswith("--"):
                conn.execute(line)
    with open_store(pg_url) as owner:
        seed_team(owner)
    viewer_url = pg_server.url(dbname, user=role)
    code, out, err = run(capsys, "status", "--no-poll", "--store", viewer_url, "--account", "ifx")
    assert code == 0, err
    assert out.startswith("ifx (interfax): OK; polled by desk-1:4242, last good poll 12s ago, 2 jobs")
    code, out, err = run(capsys, "watch", "add", "--store", viewer_url, "--account", "ifx", "812345678")
    assert (code, out) == (0, "Watching 1 id(s) on ifx\n"), err
    with open_store(pg_url) as owner:
        assert {w.lookup_id for w in owner.watch_list("ifx")} == {"700000001", "812345678"}
    with open_store(viewer_url) as as_viewer, pytest.raises(StoreError, match="permission denied"):
        as_viewer.save_account_state("ifx", None, "forged by a viewer", NOW)
