"""The configuration file (DESIGN §3, a contract): accounts, UI settings, and secrets resolution.

The file is read with tomllib and written with tomli-w, atomically and owner-only (0600). Every
problem is a `ConfigError` whose `str()` is one line naming the file, the line (syntax errors)
or the account and key (validation errors), and the reason. A file that does not load is never
overwritten. Unknown keys in an account are errors (a typo must not silently drop a setting);
unknown keys in `[ui]` only warn and are kept on save, so a file written by a newer faxtui with
new display settings still loads.

Secrets (passwords, bearer tokens, client secrets, PINs) are held as `SecretRef`s: inline, from
an environment variable, or from a command's output. `resolve_secret` turns one into the string
only when a request needs it. No repr, error message or description ever shows a secret value.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import math
import os
import re
import shlex
import signal
import stat
import subprocess
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import tomli_w

from faxtui.errors import one_line
from faxtui.model import SERVICES, Service
from faxtui.paths import atomic_write, config_path

__all__ = [
    "DEFAULT_ENDPOINTS",
    "DEFAULT_POLL_SECONDS",
    "AccountConfig",
    "Config",
    "ConfigError",
    "SecretError",
    "SecretRef",
    "UIConfig",
    "config_path",
    "describe_account",
    "load_config",
    "resolve_secret",
    "save_config",
    "validate_account",
]

SoapVersion = Literal["1.1", "1.2"]

DEFAULT_ENDPOINTS: dict[Service, str] = {
    "interfax": "https://ws.interfax.net/dfs.asmx",
    "concord": "https://ws.concordfax.com/fax/v5",
}
DEFAULT_POLL_SECONDS: dict[Service, float] = {"interfax": 20.0, "concord": 15.0}
INTERFAX_STATUS_CALLS_PER_MINUTE = 6
DEFAULT_BATCH_SIZE = 100
DEFAULT_PAGE_DEPTH = 1
DEFAULT_TIMEOUT_SECONDS = 20.0
MAX_MESSAGE = 500


# --------------------------------------------------------------------------- errors


class ConfigError(Exception):
    """A configuration problem. `str(err)` is one line: `<file>[:<line>]: [<section>: ][key 'k': ]<reason>`.

    `section` is `account 'ops'`, `account #2` (an account without a usable name, 1-based) or `[ui]`.
    """

    def __init__(
        self,
        reason: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        section: str | None = None,
        key: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = path
        self.line = line
        self.section = section
        self.key = key
        super().__init__(self._format())

    def _format(self) -> str:
        parts: list[str] = []
        if self.path is not None:
            parts.append(f"{self.path}:{self.line}" if self.line is not None else str(self.path))
        if self.section:
            parts.append(self.section)
        if self.key:
            parts.append(f"key '{self.key}'")
        parts.append(self.reason)
        return one_line(": ".join(parts), MAX_MESSAGE)

    def located(self, path: Path) -> ConfigError:
        """The same problem, attributed to `path`."""
        return type(self)(self.reason, path=path, line=self.line, section=self.section, key=self.key)


class SecretError(ConfigError):
    """A secret could not be obtained (variable unset, command failed).

    A subclass of ConfigError because the fix is in the configuration or the environment; callers
    that poll can still tell it apart (it is an account failure, not a bad file).
    """


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, repr=False)
class SecretRef:
    """Where a secret comes from: exactly one of an inline `value`, an environment variable `env`,
    or a `command` whose output is the secret. The repr never shows the value."""

    value: str | None = None
    env: str | None = None
    command: str | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.value, self.env, self.command) if v is not None]
        if len(given) != 1 or not isinstance(given[0], str):
            raise ValueError("SecretRef needs exactly one of value, env, command (a string)")

    @property
    def program(self) -> str:
        """The command's program name (no arguments: those might carry something private)."""
        if self.command is None:
            return ""
        try:
            argv = shlex.split(self.command)
        except ValueError:
            argv = self.command.split()
        return Path(argv[0]).name if argv else ""

    @property
    def source(self) -> str:
        """Where the secret comes from, without the secret: `env X`, `command` or `inline`."""
        if self.env is not None:
            return f"env {self.env}"
        if self.command is not None:
            return "command"
        return "inline"

    def __repr__(self) -> str:
        if self.env is not None:
            return f"SecretRef(env={self.env!r})"
        if self.command is not None:
            return f"SecretRef(command=<{self.program} …>)"
        return "SecretRef(value=<hidden>)"


@dataclass(frozen=True)
class AccountConfig:
    """One `[[accounts]]` table. Which credential fields are set depends on the service and auth style."""

    name: str
    service: Service
    endpoint: str
    poll_seconds: float
    soap_version: SoapVersion = "1.1"
    username: str | None = None
    password: SecretRef | None = None
    user_id: str | None = None
    token: SecretRef | None = None
    pin: SecretRef | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: SecretRef | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    page_depth: int = DEFAULT_PAGE_DEPTH
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    allow_insecure: bool = False
    content_type: str | None = None
    """Concord: the request's Content-Type, when not the SOAP version's own (README: Concord)."""
    oauth_scope: str | None = None
    """Concord with client credentials: the scope asked for, when not `FaxWS`."""

    @property
    def user(self) -> str | None:
        """The service's user: the InterFax username or the Concord UserID."""
        return self.username if self.service == "interfax" else self.user_id

    @property
    def auth_method(self) -> Literal["password", "token", "client_credentials", "pin", "none"]:
        if self.service == "interfax":
            return "password" if self.password is not None else "none"
        if self.token is not None:
            return "token"
        if self.client_secret is not None:
            return "client_credentials"
        return "pin" if self.pin is not None else "none"


@dataclass(frozen=True)
class UIConfig:
    """`[ui]`. `extra` holds keys this version does not know; they are kept on save."""

    timezone: str = "local"
    theme: str = "textual-dark"
    bell_on_failure: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Config:
    """The whole file. `warnings` are one-line notes for the user (unknown [ui] keys, loose file mode)."""

    path: Path
    ui: UIConfig = field(default_factory=UIConfig)
    accounts: tuple[AccountConfig, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def account(self, name: str) -> AccountConfig:
        for acc in self.accounts:
            if acc.name == name:
                return acc
        known = ", ".join(acc.name for acc in self.accounts) or "none configured"
        raise ConfigError(f"no account named '{name}' (accounts: {known})", path=self.path)

    def has_account(self, name: str) -> bool:
        return any(acc.name == name for acc in self.accounts)

    def with_account(self, acc: AccountConfig) -> Config:
        """A copy with `acc` added, or replacing the account of the same name in place."""
        if self.has_account(acc.name):
            accounts = tuple(acc if old.name == acc.name else old for old in self.accounts)
        else:
            accounts = (*self.accounts, acc)
        return dataclasses.replace(self, accounts=accounts)

    def without_account(self, name: str) -> Config:
        """A copy without the named account (ConfigError if there is none)."""
        self.account(name)
        return dataclasses.replace(self, accounts=tuple(a for a in self.accounts if a.name != name))


# --------------------------------------------------------------------------- validation helpers

_UI_KEYS = ("timezone", "theme", "bell_on_failure")
_COMMON_KEYS = (
    "name",
    "service",
    "endpoint",
    "soap_version",
    "poll_seconds",
    "batch_size",
    "page_depth",
    "timeout_seconds",
    "allow_insecure",
)
_SERVICE_KEYS: dict[Service, tuple[str, ...]] = {
    "interfax": ("username", "password", "password_env", "password_command"),
    "concord": (
        "user_id",
        "token",
        "token_env",
        "token_command",
        "token_url",
        "client_id",
        "client_secret",
        "client_secret_env",
        "client_secret_command",
        "pin",
        "pin_env",
        "pin_command",
        "content_type",
        "oauth_scope",
    ),
}
_CONTENT_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+(?:\s*;\s*[a-z0-9_-]+=[A-Za-z0-9_.\"-]+)*",
                           re.IGNORECASE)
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")
"""RFC 6749 §3.3: space-separated scope tokens of printable ASCII but `"` and `\\`."""
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SYNTAX_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_SYNTAX_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


def _type_name(value: object) -> str:
    """The TOML name of a value's type, for "must be X, got Y" messages."""
    names = ((bool, "boolean"), (int, "integer"), (float, "float"), (str, "string"), (dict, "table"))
    for kind, name in names:
        if isinstance(value, kind):
            return name
    if isinstance(value, list):
        return "array"
    return type(value).__name__  # datetime, date, time


def _did_you_mean(key: str, candidates: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, candidates, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Section:
    """Raises ConfigErrors located in one section (an account or [ui]) of the document."""

    def __init__(self, label: str) -> None:
        self.label = label

    def fail(self, key: str | None, reason: str) -> ConfigError:
        return ConfigError(reason, section=self.label, key=key)

    def string(self, table: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
        if key not in table:
            if required:
                raise self.fail(key, "missing")
            return None
        value = table[key]
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {_type_name(value)}")
        if not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def number(self, table: Mapping[str, Any], key: str, default: float, maximum: float) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, got {_type_name(value)}")
        if not math.isfinite(value) or value <= 0:
            raise self.fail(key, f"must be a positive number of seconds, got {value}")
        if value > maximum:
            raise self.fail(key, f"must be at most {maximum:g} seconds, got {value}")
        return float(value)

    def integer(self, table: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer, got {_type_name(value)}")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low} and {high}, got {value}")
        return value

    def boolean(self, table: Mapping[str, Any], key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {_type_name(value)}")
        return value

    def secret(self, table: Mapping[str, Any], base: str) -> SecretRef | None:
        """`base`, `base_env` or `base_command`: at most one. Never quotes the value."""
        keys = (base, f"{base}_env", f"{base}_command")
        present = [key for key in keys if key in table]
        if len(present) > 1:
            raise self.fail(present[1], f"conflicts with '{present[0]}': set only one of {', '.join(keys)}")
        if not present:
            return None
        key = present[0]
        value = table[key]
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {_type_name(value)}")
        if not value.strip():
            raise self.fail(key, "must not be empty")
        if key == base:
            return SecretRef(value=value)
        if key.endswith("_env"):
            if not _ENV_NAME.fullmatch(value):
                # the value is not echoed: it may be the secret itself, put here by mistake
                raise self.fail(
                    key, "must name an environment variable (letters, digits, _), not hold a secret"
                )
            return SecretRef(env=value)
        try:
            shlex.split(value)
        except ValueError as err:
            raise self.fail(key, f"cannot split the command line: {err}") from None
        return SecretRef(command=value)

    def url(
        self, table: Mapping[str, Any], key: str, default: str | None, allow_insecure: bool
    ) -> str | None:
        value = table.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {_type_name(value)}")
        if any(ch.isspace() or not ch.isprintable() for ch in value):
            raise self.fail(key, "must be a URL without spaces or control characters")
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https"):
            raise self.fail(key, "must be an http:// or https:// URL")
        if "@" in parts.netloc:
            raise self.fail(key, "must not contain a user name or password (use the credential keys)")
        host = parts.hostname
        if not host:
            raise self.fail(key, "has no host")
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise self.fail(key, "has an invalid port") from None
        if parts.scheme.lower() == "http" and not allow_insecure and not _is_loopback(host):
            raise self.fail(
                key,
                f"plain http to {host} would send credentials unencrypted; "
                "use https, or set allow_insecure = true",
            )
        return value


def _is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_timezone(section: _Section, name: str) -> None:
    if name in ("local", "UTC"):
        return
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise section.fail(
            "timezone", f"unknown time zone {name!r} (use 'local', 'UTC' or an IANA name like 'Europe/Paris')"
        ) from None


# --------------------------------------------------------------------------- parsing


def _parse_ui(raw: object) -> tuple[UIConfig, list[str]]:
    section = _Section("[ui]")
    if not isinstance(raw, dict):
        raise ConfigError(f"[ui] must be a table, got {_type_name(raw)}")
    timezone = section.string(raw, "timezone") or "local"
    _check_timezone(section, timezone)
    theme = section.string(raw, "theme") or "textual-dark"
    bell = section.boolean(raw, "bell_on_failure", True)
    extra = {key: value for key, value in raw.items() if key not in _UI_KEYS}
    warnings = [
        f"[ui]: unknown key '{key}' ignored{_did_you_mean(key, _UI_KEYS)}; "
        f"this version knows {', '.join(_UI_KEYS)}"
        for key in extra
    ]
    return UIConfig(timezone=timezone, theme=theme, bell_on_failure=bell, extra=extra), warnings


def _account_label(raw: object, index: int) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    if isinstance(name, str) and name.strip() and name.isprintable():
        return f"account '{name}'"
    return f"account #{index + 1}"


def _parse_account(raw: object, index: int) -> AccountConfig:
    section = _Section(_account_label(raw, index))
    if not isinstance(raw, dict):
        raise section.fail(None, f"must be a table, got {_type_name(raw)}")
    name = section.string(raw, "name", required=True)
    assert name is not None
    if name != name.strip() or not name.isprintable() or len(name) > 64:
        raise section.fail("name", "must be at most 64 printable characters, without surrounding spaces")

    service_value = section.string(raw, "service", required=True)
    if service_value not in SERVICES:
        raise section.fail("service", f'unknown service {service_value!r} (use "interfax" or "concord")')
    service: Service = service_value

    allowed = _COMMON_KEYS + _SERVICE_KEYS[service]
    for key in raw:
        if key in allowed:
            continue
        other = next((s for s in SERVICES if s != service and key in _SERVICE_KEYS[s]), None)
        if other is not None:
            raise section.fail(key, f"is a {other} setting, not used by {service} accounts")
        raise section.fail(key, f"unknown key{_did_you_mean(key, allowed)}")

    soap_version = raw.get("soap_version", "1.1")
    if soap_version in (1.1, 1.2) and not isinstance(soap_version, bool):
        soap_version = str(soap_version)  # a bare TOML float; the intent is clear
    if soap_version not in ("1.1", "1.2"):
        raise section.fail("soap_version", 'must be "1.1" or "1.2"')

    allow_insecure = section.boolean(raw, "allow_insecure", False)
    endpoint = section.url(raw, "endpoint", DEFAULT_ENDPOINTS[service], allow_insecure)
    assert endpoint is not None
    poll_seconds = section.number(raw, "poll_seconds", DEFAULT_POLL_SECONDS[service], 86400)
    batch_size = section.integer(raw, "batch_size", DEFAULT_BATCH_SIZE, 1, 1000)
    page_depth = section.integer(raw, "page_depth", DEFAULT_PAGE_DEPTH, 1, 100)
    timeout_seconds = section.number(raw, "timeout_seconds", DEFAULT_TIMEOUT_SECONDS, 600)

    common: dict[str, Any] = {
        "name": name,
        "service": service,
        "endpoint": endpoint,
        "poll_seconds": poll_seconds,
        "soap_version": soap_version,
        "batch_size": batch_size,
        "page_depth": page_depth,
        "timeout_seconds": timeout_seconds,
        "allow_insecure": allow_insecure,
    }
    if service == "interfax":
        calls_per_minute = 60.0 / poll_seconds * page_depth
        if calls_per_minute > INTERFAX_STATUS_CALLS_PER_MINUTE:
            raise section.fail(
                "poll_seconds",
                f"polling every {poll_seconds:g} s with page_depth {page_depth} makes "
                f"{calls_per_minute:g} status calls a minute; InterFax allows "
                f"{INTERFAX_STATUS_CALLS_PER_MINUTE}, so poll_seconds must be at least {10 * page_depth}",
            )
        username = section.string(raw, "username", required=True)
        password = section.secret(raw, "password")
        if password is None:
            raise section.fail(
                "password", "missing credentials: set one of password, password_env, password_command"
            )
        return AccountConfig(**common, username=username, password=password)
    return AccountConfig(**common, **_parse_concord_auth(section, raw, allow_insecure))


def _parse_concord_auth(section: _Section, raw: Mapping[str, Any], allow_insecure: bool) -> dict[str, Any]:
    """Exactly one of: a bearer token, OAuth client credentials, or the deprecated PIN."""
    user_id = section.string(raw, "user_id", required=True)
    token = section.secret(raw, "token")
    pin = section.secret(raw, "pin")
    client_keys = [
        k
        for k in ("token_url", "client_id", "client_secret", "client_secret_env", "client_secret_command")
        if k in raw
    ]
    methods = [
        (label, key)
        for label, key in (
            ("bearer token", next((k for k in raw if k.startswith("token") and k != "token_url"), None)),
            ("OAuth client credentials", client_keys[0] if client_keys else None),
            ("PIN", next((k for k in raw if k.startswith("pin")), None)),
        )
        if key is not None
    ]
    if len(methods) > 1:
        (first, first_key), (second, second_key) = methods[:2]
        raise section.fail(
            second_key,
            f"conflicts with '{first_key}': use one auth method per account ({second} or {first}, not both)",
        )
    if not methods:
        raise section.fail(
            "token",
            "missing credentials: set token, token_env or token_command; or token_url, client_id and "
            "client_secret (or client_secret_env / client_secret_command); or pin, pin_env or pin_command",
        )
    auth: dict[str, Any] = {"user_id": user_id, "token": token, "pin": pin}
    content_type = section.string(raw, "content_type")
    if content_type is not None:
        if not _CONTENT_TYPE.fullmatch(content_type.strip()):
            raise section.fail(
                "content_type", 'must be a media type such as "application/soap+xml; charset=utf-8"'
            )
        auth["content_type"] = content_type.strip()
    scope = section.string(raw, "oauth_scope")
    if scope is not None:
        if not client_keys:
            raise section.fail(
                "oauth_scope", "is only used with OAuth client credentials (token_url, client_id)"
            )
        if not _SCOPE.fullmatch(scope):
            raise section.fail("oauth_scope", 'must be scope names separated by single spaces, e.g. "FaxWS"')
        auth["oauth_scope"] = scope
    if client_keys:
        need = (
            "OAuth client credentials need token_url, client_id and one of client_secret, "
            "client_secret_env, client_secret_command"
        )
        if "token_url" not in raw:
            raise section.fail("token_url", f"missing: {need}")
        if "client_id" not in raw:
            raise section.fail("client_id", f"missing: {need}")
        auth["token_url"] = section.url(raw, "token_url", None, allow_insecure)
        auth["client_id"] = section.string(raw, "client_id", required=True)
        auth["client_secret"] = section.secret(raw, "client_secret")
        if auth["client_secret"] is None:
            raise section.fail("client_secret", f"missing: {need}")
    return auth


def _parse_document(doc: Mapping[str, Any], path: Path) -> Config:
    """Validate a parsed TOML document. Errors come located in `path`."""
    try:
        return _build_config(doc, path)
    except ConfigError as err:
        raise err.located(path) from None


def _build_config(doc: Mapping[str, Any], path: Path) -> Config:
    for key in doc:
        if key not in ("ui", "accounts"):
            raise ConfigError(
                f"unknown top-level key '{key}'{_did_you_mean(key, ('ui', 'accounts'))}; "
                "faxtui reads [ui] and [[accounts]]"
            )
    ui, warnings = _parse_ui(doc.get("ui", {}))
    raw_accounts = doc.get("accounts", [])
    if not isinstance(raw_accounts, list):
        raise ConfigError("accounts must be written as [[accounts]] tables (an array of tables)")
    accounts: list[AccountConfig] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_accounts):
        acc = _parse_account(raw, index)
        if acc.name in seen:
            raise ConfigError(
                f"duplicate name (account #{seen[acc.name] + 1} has it too)",
                section=f"account '{acc.name}'",
                key="name",
            )
        seen[acc.name] = index
        accounts.append(acc)
    return Config(
        path=path, ui=ui, accounts=tuple(accounts), warnings=tuple(f"{path}: {w}" for w in warnings)
    )


def _syntax_error(err: tomllib.TOMLDecodeError, path: Path, text: str) -> ConfigError:
    message = str(err)
    line: int | None = None
    if match := _SYNTAX_POSITION.search(message):
        line = int(match.group(1))
        message = f"{message[: match.start()]} (column {match.group(2)})"
    elif match := _SYNTAX_AT_END.search(message):
        line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        message = f"{message[: match.start()]} (at the end of the file)"
    return ConfigError(f"TOML syntax error: {message}", path=path, line=line)


def load_config(path: Path) -> Config:
    """Read and validate the file. A missing file is a first run: an empty Config, not an error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Config(path=path)
    except IsADirectoryError:
        raise ConfigError("is a directory, not a file", path=path) from None
    except OSError as err:
        raise ConfigError(f"cannot read: {err.strerror or err}", path=path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ConfigError("not UTF-8 text", path=path, line=line) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise _syntax_error(err, path, text) from None
    config = _parse_document(doc, path)
    loose = _loose_mode_warning(path, config)
    return dataclasses.replace(config, warnings=(*config.warnings, loose)) if loose else config


def _loose_mode_warning(path: Path, config: Config) -> str | None:
    inline = any(
        ref is not None and ref.value is not None
        for acc in config.accounts
        for ref in (acc.password, acc.token, acc.pin, acc.client_secret)
    )
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if inline and mode & 0o077:
        return f"{path} holds inline secrets yet other users can read it (mode {mode:04o}): chmod 600 it"
    return None


def validate_account(acc: AccountConfig) -> None:
    """Check one account as `load_config` would check it in a file (ConfigError if it is invalid)."""
    _parse_account(_account_to_table(acc), 0)


# --------------------------------------------------------------------------- writing

_HEADER = "# faxtui configuration (written by faxtui; comments in this file are not kept).\n\n"


def _seconds(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _put_secret(table: dict[str, Any], base: str, ref: SecretRef | None) -> None:
    if ref is None:
        return
    if ref.env is not None:
        table[f"{base}_env"] = ref.env
    elif ref.command is not None:
        table[f"{base}_command"] = ref.command
    else:
        table[base] = ref.value


def _account_to_table(acc: AccountConfig) -> dict[str, Any]:
    """The account as TOML: name, service and endpoint always; other keys when they are not defaults."""
    table: dict[str, Any] = {"name": acc.name, "service": acc.service, "endpoint": acc.endpoint}
    if acc.soap_version != "1.1":
        table["soap_version"] = acc.soap_version
    if acc.username is not None:
        table["username"] = acc.username
    if acc.user_id is not None:
        table["user_id"] = acc.user_id
    _put_secret(table, "password", acc.password)
    _put_secret(table, "token", acc.token)
    if acc.token_url is not None:
        table["token_url"] = acc.token_url
    if acc.client_id is not None:
        table["client_id"] = acc.client_id
    _put_secret(table, "client_secret", acc.client_secret)
    _put_secret(table, "pin", acc.pin)
    table["poll_seconds"] = _seconds(acc.poll_seconds)
    if acc.batch_size != DEFAULT_BATCH_SIZE:
        table["batch_size"] = acc.batch_size
    if acc.page_depth != DEFAULT_PAGE_DEPTH:
        table["page_depth"] = acc.page_depth
    if acc.timeout_seconds != DEFAULT_TIMEOUT_SECONDS:
        table["timeout_seconds"] = _seconds(acc.timeout_seconds)
    if acc.allow_insecure:
        table["allow_insecure"] = True
    if acc.content_type is not None:
        table["content_type"] = acc.content_type
    if acc.oauth_scope is not None:
        table["oauth_scope"] = acc.oauth_scope
    return table


def _config_to_document(config: Config) -> dict[str, Any]:
    ui: dict[str, Any] = {"timezone": config.ui.timezone, "theme": config.ui.theme}
    if not config.ui.bell_on_failure:
        ui["bell_on_failure"] = False
    ui.update({k: v for k, v in config.ui.extra.items() if k not in _UI_KEYS})
    return {"ui": ui, "accounts": [_account_to_table(acc) for acc in config.accounts]}


def save_config(config: Config) -> None:
    """Validate and write `config.path` atomically with mode 0600 (parent directories 0700).

    Refuses (ConfigError) when the config itself is invalid, and when the file on disk exists but
    does not load: the user's broken file is never clobbered.
    """
    path = config.path
    doc = _config_to_document(config)
    _parse_document(doc, path)
    if path.exists() or path.is_symlink():
        try:
            load_config(path)
        except ConfigError as err:
            raise ConfigError(
                f"not saved, the file on disk does not load (fix it first): {err.reason}",
                path=path,
                line=err.line,
                section=err.section,
                key=err.key,
            ) from None
    atomic_write(path, (_HEADER + tomli_w.dumps(doc)).encode("utf-8"))


# --------------------------------------------------------------------------- secrets


def _run_secret_command(ref: SecretRef, *, what: str, account: str, timeout: float) -> str:
    """Run the command without a shell; its first output line is the secret, never put in a message."""
    assert ref.command is not None
    program = ref.program or "?"

    def fail(reason: str) -> SecretError:
        return SecretError(f"account '{account}': {what} command '{program}' {reason}")

    try:
        argv = shlex.split(ref.command)
    except ValueError:
        raise fail("cannot be split into arguments") from None
    if not argv:
        raise fail("is empty")
    try:
        # Own process group: on timeout the whole group is killed, so a grandchild holding the
        # pipe open cannot hang us. stderr is discarded: it would garble a TUI and may echo input.
        proc = subprocess.Popen(  # noqa: S603 - no shell; the user configured this command
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            process_group=0,
        )
    except FileNotFoundError:
        raise fail("not found") from None
    except PermissionError:
        raise fail("is not executable") from None
    except OSError as err:
        raise fail(f"could not start ({err.strerror or type(err).__name__})") from None
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise fail(f"timed out after {timeout:g} s") from None
    if proc.returncode != 0:
        status = (
            f"was killed by signal {-proc.returncode}"
            if proc.returncode < 0
            else f"failed with exit status {proc.returncode}"
        )
        raise fail(status)
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        raise fail("printed something that is not UTF-8 text") from None
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if not first_line:
        raise fail("printed nothing")
    return first_line


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.communicate()


def resolve_secret(ref: SecretRef, *, what: str, account: str, timeout: float = 10.0) -> str:
    """The secret itself, for the request that needs it. Blocking (a command may run): call it from
    a worker thread in async code. Raises SecretError, whose message never holds the secret.

    A command is run without a shell, with `timeout`; the secret is the first line of its output
    (so `pass show …`, whose first line is the password by convention, works as is).
    """
    if ref.value is not None:
        return ref.value
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if value is None:
            raise SecretError(f"account '{account}': environment variable {ref.env} ({what}) is not set")
        if not value:
            raise SecretError(f"account '{account}': environment variable {ref.env} ({what}) is empty")
        return value
    return _run_secret_command(ref, what=what, account=account, timeout=timeout)


def _phrase(ref: SecretRef) -> str:
    return "inline" if ref.value is not None else f"from {ref.source}"


def describe_account(acc: AccountConfig) -> dict[str, str]:
    """What `accounts list` shows: name, service, endpoint, user, auth, poll. Never a secret."""
    method = acc.auth_method
    if method == "password" and acc.password is not None:
        auth = f"password {_phrase(acc.password)}"
    elif method == "token" and acc.token is not None:
        auth = f"bearer token {_phrase(acc.token)}"
    elif method == "client_credentials" and acc.client_secret is not None:
        auth = f"OAuth client {acc.client_id}, secret {_phrase(acc.client_secret)}"
    elif method == "pin" and acc.pin is not None:
        auth = f"PIN (deprecated) {_phrase(acc.pin)}"
    else:
        auth = "none"
    return {
        "name": acc.name,
        "service": acc.service,
        "endpoint": acc.endpoint,
        "user": acc.user or "",
        "auth": auth,
        "poll": f"every {acc.poll_seconds:g} s",
    }
