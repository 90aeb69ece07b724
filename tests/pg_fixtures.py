"""A real PostgreSQL server for the tests (a pytest plugin: registered in conftest.py).

`pg_server` (session scope) makes a throwaway cluster with `initdb` in a temporary directory and
starts it with `pg_ctl` on a free 127.0.0.1 port, its unix socket in that directory too; it is
stopped and removed when the session ends. Only tests that ask for it start it. PostgreSQL refuses
to run as root: as root (CI), the cluster belongs to Debian's `postgres` user and every server
command runs through `runuser -u postgres --`. `initdb` is looked for on PATH, then in
`/usr/lib/postgresql/*/bin` (Debian keeps it there); when PostgreSQL is not installed at all the
fixture fails with what to install (`.ci/run` installs it on a fresh machine).

Authentication: `trust` for the superuser `postgres` and the roles the tests make, except the role
`PASSWORD_ROLE`, which needs its password (scram-sha-256), so the tests can check that libpq's
`PGPASSWORD` and `.pgpass` work and that a password never shows in an error.

`pg_url` (function scope) is a new, empty database of that server for one test, dropped after it.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from faxtui.store import StateStore, open_store

PASSWORD_ROLE = "faxtui_pw"
PASSWORD = "s3cret-Pa55word"
"""The test cluster's password of PASSWORD_ROLE, which the tests check is never printed."""
SERVER_USER = "postgres"


def find_pg_bin() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: [int(part) if part.isdigit() else 0 for part in Path(p).parts[-3].split(".")],
    )
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgServer:
    bindir: Path
    root: Path
    port: int
    as_user: list[str]
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def url(self, dbname: str = "postgres", user: str = SERVER_USER, password: str | None = None) -> str:
        auth = f"{user}:{password}" if password is not None else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{dbname}"

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A server program (initdb, pg_ctl, psql) as the cluster's owner."""
        return subprocess.run(
            [*self.as_user, str(self.bindir / argv[0]), *argv[1:]],
            capture_output=True, text=True, timeout=60, check=check, cwd=self.root,
        )

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """A superuser connection (autocommit)."""
        return psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=10)

    def create_database(self) -> str:
        name = f"t{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' STRATEGY file_copy')
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "stop", check=False)


def _start(bindir: Path) -> PgServer:
    root = Path(tempfile.mkdtemp(prefix="faxtui-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: the cluster is the postgres user's
        try:
            owner = pwd.getpwnam(SERVER_USER)
        except KeyError:
            pytest.fail(f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL as "
                        "(Debian's postgresql package makes it)")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        runuser = shutil.which("runuser")
        if not runuser:  # pragma: no cover - util-linux's runuser is on every Debian
            pytest.fail("running as root without runuser (util-linux): cannot start PostgreSQL")
        as_user = [runuser, "-u", SERVER_USER, "--"]
    server = PgServer(bindir, root, 0, as_user)
    try:
        server.run("initdb", "-D", str(server.datadir), "-U", SERVER_USER, "--auth=trust", "-E", "UTF8",
                   "--locale=C", "--no-sync", "--no-instructions")
        with (server.datadir / "pg_hba.conf").open("w") as hba:
            hba.write(
                "local all all trust\n"
                f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
                "host all all 127.0.0.1/32 trust\n"
            )
        server.socket_dir.mkdir()
        if as_user:
            owner = pwd.getpwnam(SERVER_USER)
            os.chown(server.socket_dir, owner.pw_uid, owner.pw_gid)
            os.chown(server.datadir / "pg_hba.conf", owner.pw_uid, owner.pw_gid)
        for _ in range(5):  # a free port can be taken between the probe and the start: try another
            server.port = _free_port()
            options = (f"-c listen_addresses=127.0.0.1 -c port={server.port} "
                       f"-c unix_socket_directories={server.socket_dir} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
            started = server.run("pg_ctl", "-D", str(server.datadir), "-o", options, "-w", "-t", "30",
                                 "-l", str(server.root / "server.log"), "start", check=False)
            if started.returncode == 0:
                break
        else:
            log = (server.root / "server.log").read_text(errors="replace")[-2000:]
            pytest.fail(f"PostgreSQL did not start: {started.stderr.strip()}\n{log}")
        with server.admin() as conn:
            conn.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'")
    except BaseException:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A running throwaway PostgreSQL cluster, for the whole session (see the module's docstring)."""
    bindir = find_pg_bin()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin): "
                    "`apt-get install -y postgresql` (.ci/run does this on a fresh machine)")
    server = _start(bindir)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """`postgresql://postgres@127.0.0.1:PORT/DB` of a new, empty database, dropped after the test."""
    name = pg_server.create_database()
    try:
        yield pg_server.url(name)
    finally:
        with contextlib.suppress(Exception):
            pg_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL of each backend, empty: a SQLite file in the test's directory, or a new
    PostgreSQL database. `faxtui.store.url.open_store(store_url)` opens it (again)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/data/state.sqlite3"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def any_store(store_url: str) -> Iterator[StateStore]:
    """An empty store of each backend, opened from `store_url` as the app opens one."""
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()
