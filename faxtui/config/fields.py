"""Reading one value of a config table, with errors located in its section: the helpers every
section parser uses (the common account keys, `[ui]`, and each service adapter's own keys)."""

from __future__ import annotations

import difflib
import math
import re
import shlex
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from faxtui.config.model import ConfigError, SecretRef
from faxtui.services.http import plain_http_problem

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def type_name(value: object) -> str:
    """The TOML name of a value's type, for "must be X, got Y" messages."""
    names = ((bool, "boolean"), (int, "integer"), (float, "float"), (str, "string"), (dict, "table"))
    for kind, name in names:
        if isinstance(value, kind):
            return name
    if isinstance(value, list):
        return "array"
    return type(value).__name__  # datetime, date, time


def did_you_mean(key: str, candidates: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, candidates, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class Section:
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
            raise self.fail(key, f"must be a string, got {type_name(value)}")
        if not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def number(self, table: Mapping[str, Any], key: str, default: float, maximum: float) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, got {type_name(value)}")
        if not math.isfinite(value) or value <= 0:
            raise self.fail(key, f"must be a positive number of seconds, got {value}")
        if value > maximum:
            raise self.fail(key, f"must be at most {maximum:g} seconds, got {value}")
        return float(value)

    def integer(self, table: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer, got {type_name(value)}")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low} and {high}, got {value}")
        return value

    def boolean(self, table: Mapping[str, Any], key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {type_name(value)}")
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
            raise self.fail(key, f"must be a string, got {type_name(value)}")
        if not value.strip():
            raise self.fail(key, "must not be empty")
        if key == base:
            return SecretRef(value=value)
        if key.endswith("_env"):
            if not ENV_NAME.fullmatch(value):
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
            raise self.fail(key, f"must be a string, got {type_name(value)}")
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
        problem = None if allow_insecure else plain_http_problem(value)
        if problem is not None:
            raise self.fail(key, f"{problem}; use https, or set allow_insecure = true")
        return value


def secret_keys(base: str, ref: SecretRef | None) -> dict[str, str]:
    """`ref` written back as the one key `Section.secret` reads it from (nothing when unset)."""
    if ref is None:
        return {}
    if ref.env is not None:
        return {f"{base}_env": ref.env}
    if ref.command is not None:
        return {f"{base}_command": ref.command}
    assert ref.value is not None
    return {base: ref.value}


def secret_phrase(ref: SecretRef) -> str:
    """Where a secret comes from, for `accounts list`: `inline` or `from env X`."""
    return "inline" if ref.value is not None else f"from {ref.source}"
