"""Which store a command uses (DESIGN §8): store URLs, their precedence, and opening one.

Forms: `sqlite:///` + an absolute path (`sqlite:////var/lib/faxtui/state.sqlite3`), and
`postgresql://user@host:port/dbname` (`postgres://` too), a libpq URI: libpq reads the password
from `PGPASSWORD` or `~/.pgpass` (`PGPASSFILE`) as it always does. A password written into the URL
works but is never shown: every message names a store by its display form (`StoreLocation.display`),
which has none. No URL means SQLite in the data directory.

Precedence: `--store URL`, else `$FAXTUI_STORE`, else `[store] url` in the config, else SQLite in
the data directory (`resolve_store_url`). `open_store` opens (creating or migrating) the store of a
URL; `init_store` is `faxtui db init`. psycopg is imported only when a PostgreSQL URL is opened.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote

from faxtui.errors import one_line
from faxtui.paths import data_dir
from faxtui.store.interface import StateStore, StoreError

__all__ = [
    "STORE_ENV",
    "InitReport",
    "StoreLocation",
    "init_store",
    "open_store",
    "parse_store_url",
    "redact_url",
    "resolve_store_url",
]

STORE_ENV = "FAXTUI_STORE"
SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
FORMS = "sqlite:////absolute/path or postgresql://user@host:port/dbname"
DEFAULT_VIEWER_ROLE = "faxtui_viewer"

_USERINFO_PASSWORD = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#@:]*):[^/?#@]*@")
_QUERY_PASSWORD = re.compile(r"((?:^|[?&])[^=&]*password=)[^&#]*", re.IGNORECASE)


@dataclass(frozen=True)
class StoreLocation:
    """A parsed store URL. `display` never holds a password; `conninfo` (PostgreSQL) may."""

    kind: Literal["sqlite", "postgresql"]
    display: str
    path: Path | None = None
    """SQLite: the database file."""
    conninfo: str = field(default="", repr=False)
    """PostgreSQL: the URL as given, for libpq."""
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Strings no message may contain (the URL's password, `$PGPASSWORD`)."""


def redact_url(url: str) -> str:
    """`url` with any password (`user:PASSWORD@`, `?password=`) replaced by `***`, on one line."""
    text = _USERINFO_PASSWORD.sub(r"\1:***@", url.strip())
    if "?" in text:
        base, _, query = text.partition("?")
        text = base + "?" + _QUERY_PASSWORD.sub(r"\1***", query)
    return one_line(text, 300)


def _bad(url: str, reason: str) -> StoreError:
    return StoreError(one_line(f"bad store URL {redact_url(url)!r}: {reason}", 500))


def parse_store_url(url: str) -> StoreLocation:
    """Check a store URL and say where it points; StoreError (one line, no password) if it is bad."""
    text = url.strip()
    if not text:
        raise StoreError(f"empty store URL (use {FORMS})")
    lowered = text.lower()
    if lowered.startswith("sqlite:"):
        return _parse_sqlite(text)
    if lowered.startswith(POSTGRES_SCHEMES):
        return _parse_postgres(text)
    raise _bad(text, f"unknown kind of store (use {FORMS})")


def _parse_sqlite(url: str) -> StoreLocation:
    if not url.lower().startswith(SQLITE_PREFIX):
        raise _bad(url, "a SQLite store is sqlite:/// followed by an absolute path, e.g. "
                        "sqlite:////var/lib/faxtui/state.sqlite3")
    rest = url[len(SQLITE_PREFIX):]
    if "?" in rest or "#" in rest:
        raise _bad(url, "a SQLite store URL takes no ?options or #fragment")
    path_text = unquote(rest)
    if not path_text.startswith("/"):
        raise _bad(url, f"the path must be absolute: sqlite:////{path_text} for /{path_text}")
    if path_text.endswith("/") or "\x00" in path_text:
        raise _bad(url, "the path must name the database file, not a directory")
    path = Path(path_text)
    return StoreLocation("sqlite", SQLITE_PREFIX + quote(str(path), safe="/"), path=path)


def _parse_postgres(url: str) -> StoreLocation:
    from psycopg import Error as PsycopgError
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except PsycopgError as err:
        raise _bad(url, _scrub_password(str(err), url) or "not a libpq connection URI") from None
    ports = [p for p in str(params.get("port", "")).split(",") if p]
    for port in ports:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise _bad(url, f"port {port!r} is not a number from 1 to 65535")
    from faxtui.store.postgres import display_of

    secrets = tuple(str(v) for k, v in params.items() if "password" in str(k) and v)
    environ_password = os.environ.get("PGPASSWORD")
    if environ_password:
        secrets = (*secrets, environ_password)
    return StoreLocation("postgresql", display_of(params), conninfo=url, secrets=secrets)


def _scrub_password(message: str, url: str) -> str:
    """A libpq parse error, with what looks like the URL's password blanked (it did not parse)."""
    match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#@:]*:([^/?#@]*)@", url)
    if match and match.group(1):
        message = message.replace(match.group(1), "***")
    return one_line(message, 200)


def resolve_store_url(
    option: str | None, config_url: str | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The store URL in force (DESIGN §8): `option` (`--store`), else `$FAXTUI_STORE` (unless
    empty), else `config_url` (`[store] url`), else None: SQLite in the data directory."""
    if option is not None:
        return option
    env = (os.environ if environ is None else environ).get(STORE_ENV, "").strip()
    if env:
        return env
    return config_url or None


def open_store(url: str | None, directory: Path | None = None) -> StateStore:
    """Open (creating or migrating) the store `url` names; None: SQLite in `directory` (default
    the data directory). StoreError (one line, no password) on a bad URL or an unusable store."""
    from faxtui.store.sqlite import SqliteStore

    if url is None:
        return SqliteStore.open(directory)
    location = parse_store_url(url)
    if location.kind == "sqlite":
        assert location.path is not None
        return SqliteStore.open(location.path.parent, filename=location.path.name)
    from faxtui.store.postgres import PostgresStore

    return PostgresStore.open(location.conninfo, location.display, location.secrets)


@dataclass(frozen=True)
class InitReport:
    """What `faxtui db init` did, and the SQL of a read-only viewer role."""

    display: str
    kind: Literal["sqlite", "postgresql"]
    before: int
    """The schema version found (0: none)."""
    after: int
    grants: tuple[str, ...]
    """SQL lines (comments on SQLite, which has no roles)."""

    def summary(self) -> str:
        if self.before == 0:
            done = f"created the schema (version {self.after})"
        elif self.before < self.after:
            done = f"upgraded the schema from version {self.before} to {self.after}"
        else:
            done = f"the schema is up to date (version {self.after})"
        return f"{self.display}: {done}"


_ROLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


def init_store(url: str | None, directory: Path | None = None, viewer_role: str = DEFAULT_VIEWER_ROLE
               ) -> InitReport:
    """Create or migrate the schema of the store `url` names, and say what a viewer role needs."""
    if not _ROLE.match(viewer_role):
        raise StoreError(f"bad viewer role name {viewer_role!r} (letters, digits and _, at most 63)")
    if url is None or parse_store_url(url).kind == "sqlite":
        from faxtui.store.schema import SCHEMA_VERSION
        from faxtui.store.sqlite import DB_FILENAME

        if url is None:
            db = (data_dir() if directory is None else Path(directory).expanduser()) / DB_FILENAME
        else:
            path = parse_store_url(url).path
            assert path is not None
            db = path
        before = _sqlite_version(db)
        open_store(url, directory).close()
        grants = (
            "-- a SQLite store has no roles: viewers on this machine read the file with the file's",
            "-- permissions (owner-only, 0600); a read-only viewer role needs a PostgreSQL store",
        )
        return InitReport(SQLITE_PREFIX + quote(str(db), safe="/"), "sqlite", before, SCHEMA_VERSION, grants)
    from faxtui.store.pg_schema import SCHEMA_VERSION as PG_VERSION
    from faxtui.store.pg_schema import viewer_grants
    from faxtui.store.postgres import PostgresStore

    location = parse_store_url(url)
    with PostgresStore.open(location.conninfo, location.display, location.secrets) as store:
        database, schema = store.database_and_schema()
        lines = viewer_grants(viewer_role, database, schema)
        return InitReport(location.display, "postgresql", store.migrated_from, PG_VERSION, tuple(lines))


def _sqlite_version(db: Path) -> int:
    """The schema version of an existing SQLite file, 0 when it is missing, empty or unreadable."""
    if not db.is_file():
        return 0
    try:
        with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error:
        return 0
