"""Which store a command uses (DESIGN §8): store URLs, their precedence, `[store] url` in the config,
`--store` on the commands, and `faxtui db init`, on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_fixtures import faxtui
from pg_fixtures import PASSWORD, PASSWORD_ROLE, PgServer

from faxtui.cli import main
from faxtui.config import Config, ConfigError, StoreConfig, load_config, save_config
from faxtui.store import SqliteStore, StoreError
from faxtui.store.postgres import PostgresStore
from faxtui.store.schema import SCHEMA_VERSION
from faxtui.store.url import (
    STORE_ENV,
    init_store,
    open_store,
    parse_store_url,
    redact_url,
    resolve_store_url,
)

ACCOUNT = """
[[accounts]]
name = "ops-interfax"
service = "interfax"
username = "ops"
password_env = "NOT_NEEDED_HERE"
"""


# --------------------------------------------------------------------------- parsing and redaction


def test_sqlite_urls_name_an_absolute_file() -> None:
    location = parse_store_url("sqlite:////var/lib/faxtui/state.sqlite3")
    assert (location.kind, location.path) == ("sqlite", Path("/var/lib/faxtui/state.sqlite3"))
    assert location.display == "sqlite:////var/lib/faxtui/state.sqlite3"
    assert parse_store_url("sqlite:////tmp/with%20space.db").path == Path("/tmp/with space.db")
    for bad, reason in [
        ("sqlite:///relative/state.sqlite3", "must be absolute: sqlite:////relative/state.sqlite3"),
        ("sqlite://host/state.sqlite3", "sqlite:/// followed by an absolute path"),
        ("sqlite:////var/lib/faxtui/", "not a directory"),
        ("sqlite:////x.db?mode=ro", "no ?options"),
    ]:
        with pytest.raises(StoreError, match=r"^bad store URL .*" + reason.replace("?", r"\?")):
            parse_store_url(bad)


def test_postgres_urls_are_libpq_uris_shown_without_a_password() -> None:
    location = parse_store_url("postgresql://ops@db.example:5433/faxtui")
    assert location.kind == "postgresql"
    assert location.display == "postgresql://ops@db.example:5433/faxtui"
    secret = parse_store_url("postgres://ops:hunter2@[::1]:5432/faxtui?sslmode=require")
    assert secret.display == "postgresql://ops@[::1]:5432/faxtui"
    assert "hunter2" in secret.secrets and "hunter2" not in repr(secret)
    assert parse_store_url("postgresql://ops@h1:1,h2:2/db").display == "postgresql://ops@h1:1,h2:2/db"
    assert parse_store_url("postgresql:///db?host=/run/pg").display == "postgresql:///db?host=/run/pg"
    for bad in ("postgresql://ops:hunter2@db:port/x", "postgresql://ops:hunter2@db/x?bogus=1",
                "mysql://ops:hunter2@db/x", "   ", "state.sqlite3"):
        with pytest.raises(StoreError) as caught:
            parse_store_url(bad)
        message = str(caught.value)
        assert "hunter2" not in message and "\n" not in message, message


def test_redaction_blanks_userinfo_and_query_passwords() -> None:
    assert redact_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert redact_url("postgresql://u@h/db?sslpassword=a&password=b&x=1") == (
        "postgresql://u@h/db?sslpassword=***&password=***&x=1"
    )
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"


# --------------------------------------------------------------------------- precedence


def test_precedence_is_option_then_environment_then_config_then_sqlite() -> None:
    env = {STORE_ENV: "sqlite:////env.db"}
    assert resolve_store_url("sqlite:////flag.db", "sqlite:////cfg.db", env) == "sqlite:////flag.db"
    assert resolve_store_url(None, "sqlite:////cfg.db", env) == "sqlite:////env.db"
    assert resolve_store_url(None, "sqlite:////cfg.db", {}) == "sqlite:////cfg.db"
    assert resolve_store_url(None, "sqlite:////cfg.db", {STORE_ENV: " "}) == "sqlite:////cfg.db"
    assert resolve_store_url(None, None, {}) is None  # SQLite in the data directory


def test_no_url_opens_sqlite_in_the_data_directory(tmp_path: Path) -> None:
    store = open_store(None, tmp_path / "data")
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "data" / "state.sqlite3"
    store.close()
    named = open_store(f"sqlite:///{tmp_path}/elsewhere/team.sqlite3")
    assert isinstance(named, SqliteStore) and named.path == tmp_path / "elsewhere" / "team.sqlite3"
    named.add_watch("ops", "1")
    named.close()
    assert (tmp_path / "elsewhere" / "team.sqlite3.lock").exists()


# --------------------------------------------------------------------------- the config's [store]


def test_the_config_keeps_a_checked_store_url(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[store]\nurl = "postgresql://ops@db:5432/faxtui"\n' + ACCOUNT)
    config = load_config(path)
    assert config.store == StoreConfig(url="postgresql://ops@db:5432/faxtui")
    save_config(config)  # rewritten (as `accounts add` does): the store URL stays
    assert load_config(path).store.url == "postgresql://ops@db:5432/faxtui"
    assert load_config(tmp_path / "missing.toml").store == StoreConfig()
    save_config(Config(path=tmp_path / "plain.toml"))
    assert "[store]" not in (tmp_path / "plain.toml").read_text()


@pytest.mark.parametrize(("text", "reason"), [
    ('[store]\nurl = "sqlite:///relative.db"\n', r":1?.*\[store\]: key 'url': bad store URL .*absolute"),
    ('[store]\nulr = "sqlite:////x.db"\n', r"\[store\]: key 'ulr': unknown key \(did you mean 'url'\?\)"),
    ('[store]\nurl = 5\n', r"\[store\]: key 'url': must be a string"),
    ('store = "sqlite:////x.db"\n', r"\[store\] must be a table"),
    ('[store]\nurl = "postgresql://ops:hunter2@db:x/faxtui"\n', r"port 'x' is not a number"),
])
def test_a_bad_store_section_is_one_located_line(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=reason) as caught:
        load_config(path)
    assert str(caught.value).startswith(str(path)) and "hunter2" not in str(caught.value)


# --------------------------------------------------------------------------- the commands


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """In-process `faxtui` with the test's own config and data directory; returns the config path."""
    monkeypatch.setenv("FAXTUI_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("FAXTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(STORE_ENV, raising=False)
    return tmp_path / "config.toml"


def test_db_init_on_sqlite_creates_then_reports_up_to_date(cli_env: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "init"]) == 0
    out = capsys.readouterr().out
    db = f"sqlite:///{tmp_path}/data/state.sqlite3"
    assert out.startswith(f"-- {db}: created the schema (version {SCHEMA_VERSION})")
    assert "PostgreSQL" in out and "GRANT" not in out
    assert main(["db", "init", "--store", f"sqlite:///{tmp_path}/data/state.sqlite3"]) == 0
    assert f"the schema is up to date (version {SCHEMA_VERSION})" in capsys.readouterr().out


def test_bad_store_urls_exit_2_in_one_line(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str], closed_port: int) -> None:
    for argv in (["db", "init", "--store", "sqlite:///relative.db"],
                 ["watch", "list", "--store", "mysql://ops:hunter2@db/x"],
                 ["db", "init", "--store", f"postgresql://ops:hunter2@127.0.0.1:{closed_port}/x"],
                 ["db", "init", "--viewer-role", "bad role; DROP"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("faxtui: ") and err.count("\n") == 1 and "hunter2" not in err, err
    monkeypatch.setenv(STORE_ENV, "sqlite:///from-env.db")
    assert main(["watch", "list"]) == 2
    assert "sqlite:///from-env.db" in capsys.readouterr().err
    cli_env.write_text('[store]\nurl = "nowhere"\n')
    monkeypatch.delenv(STORE_ENV)
    assert main(["db", "init"]) == 2
    assert "[store]: key 'url'" in capsys.readouterr().err


def test_the_store_url_reaches_the_watch_commands(
    cli_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    flag, env, config = (f"sqlite:///{tmp_path}/{name}.db" for name in ("flag", "env", "config"))
    cli_env.write_text(f'[store]\nurl = "{config}"\n' + ACCOUNT)
    assert main(["watch", "add", "--account", "ops-interfax", "1"]) == 0
    monkeypatch.setenv(STORE_ENV, env)
    assert main(["watch", "add", "--account", "ops-interfax", "2"]) == 0
    assert main(["watch", "add", "--store", flag, "--account", "ops-interfax", "3"]) == 0
    capsys.readouterr()
    for url, wanted in ((config, "1"), (env, "2"), (flag, "3")):
        assert main(["watch", "list", "--json", "--store", url]) == 0
        assert [e["id"] for e in json.loads(capsys.readouterr().out)] == [wanted]
    assert not (tmp_path / "data").exists()  # the data directory's default store was never opened


def test_the_tui_opens_the_store_of_its_url_or_says_why_not_in_one_line(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from faxtui.tui.app import run_app

    configured = cli_env.parent / "configured"
    cli_env.write_text(f'[store]\nurl = "sqlite:///{configured}/y.db"\n')
    assert run_app(None, store_url="mysql://ops:hunter2@db/x") == 2  # --store comes before [store]
    err = capsys.readouterr().err
    assert "unknown kind of store" in err and "hunter2" not in err and err.count("\n") == 1
    assert not configured.exists()


def test_db_init_on_postgres_prints_its_grants(pg_server: PgServer, pg_url: str, env: dict[str, str]) -> None:
    """A real `faxtui db init --store URL` process; the URL without a password, which libpq takes
    from PGPASSWORD; then `watch add` from another "machine" (its own data directory) via
    $FAXTUI_STORE."""
    dbname = pg_url.rsplit("/", 1)[1]
    with pg_server.admin(dbname) as conn:
        conn.execute(f'GRANT CREATE ON SCHEMA public TO "{PASSWORD_ROLE}"')
    url = pg_server.url(dbname, PASSWORD_ROLE)
    result = faxtui({**env, "PGPASSWORD": PASSWORD}, "db", "init", "--store", url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"-- {url}: created the schema (version {SCHEMA_VERSION})"
    assert "GRANT SELECT ON " in result.stdout
    assert 'GRANT INSERT, UPDATE (label), DELETE ON "public"."watch" TO "faxtui_viewer";' in lines
    assert PASSWORD not in result.stdout + result.stderr
    again = faxtui({**env, "PGPASSWORD": PASSWORD}, "db", "init", "--store", url)
    assert again.returncode == 0 and f"up to date (version {SCHEMA_VERSION})" in again.stdout
    wrong = faxtui({**env, "PGPASSWORD": "not-" + PASSWORD}, "db", "init", "--store", url)
    assert wrong.returncode == 2 and "password authentication failed" in wrong.stderr
    assert PASSWORD not in wrong.stderr and wrong.stderr.count("\n") == 1
    Path(env["FAXTUI_CONFIG"]).parent.mkdir(parents=True, exist_ok=True)
    Path(env["FAXTUI_CONFIG"]).write_text(ACCOUNT)
    added = faxtui({**env, "PGPASSWORD": PASSWORD, STORE_ENV: url},
                   "watch", "add", "--account", "ops-interfax", "--label", "desk", "812345678")
    assert added.returncode == 0, added.stderr
    with PostgresStore.open(pg_url) as store:
        assert [(w.lookup_id, w.label) for w in store.watch_list()] == [("812345678", "desk")]
    assert not Path(env["FAXTUI_DATA_DIR"]).exists()


def test_init_store_reports_versions_on_postgres(pg_url: str) -> None:
    first = init_store(pg_url)
    assert (first.kind, first.before, first.after) == ("postgresql", 0, SCHEMA_VERSION)
    assert first.summary().endswith(f"created the schema (version {SCHEMA_VERSION})")
    assert any(line.startswith('GRANT USAGE ON SCHEMA "public"') for line in first.grants)
    assert init_store(pg_url).before == SCHEMA_VERSION
    with pytest.raises(StoreError, match="bad viewer role"):
        init_store(pg_url, viewer_role='x"; DROP TABLE jobs; --')
