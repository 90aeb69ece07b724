"""The configuration's values (DESIGN §3): accounts, `[ui]`, secret references, and `ConfigError`.

No I/O here, and nothing service-specific: each service's rules over its keys are in its adapter.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faxtui.errors import one_line
from faxtui.services.soap import SoapVersion

DEFAULT_BATCH_SIZE = 100
"""Concord ids a call: the most the service takes (concord.md §2)."""
DEFAULT_PAGE_DEPTH = 1
DEFAULT_TIMEOUT_SECONDS = 20.0
MAX_MESSAGE = 500


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
    service: str
    """The service's name, a key of `faxtui.services.registry.ADAPTERS`."""
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


@dataclass(frozen=True)
class UIConfig:
    """`[ui]`. `extra` holds keys this version does not know; they are kept on save."""

    timezone: str = "local"
    theme: str = "textual-dark"
    bell_on_failure: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class StoreConfig:
    """`[store]` (DESIGN §8). `url` is a checked store URL (`faxtui.store.url`), None: SQLite in the
    data directory. `--store` and `$FAXTUI_STORE` come first (`faxtui.store.url.resolve_store_url`)."""

    url: str | None = None


@dataclass(frozen=True)
class Config:
    """The whole file. `warnings` are one-line notes for the user (unknown [ui] keys, loose file mode)."""

    path: Path
    ui: UIConfig = field(default_factory=UIConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
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
