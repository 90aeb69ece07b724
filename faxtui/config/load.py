"""Reading the configuration file (DESIGN §3, a contract) into a `Config`.

Every problem is a `ConfigError` whose `str()` is one line naming the file, the line (syntax
errors) or the account and key (validation errors), and the reason. Unknown keys in an account are
errors (a typo must not silently drop a setting); unknown keys in `[ui]` only warn and are kept on
save, so a file written by a newer faxtui with new display settings still loads. The common account
keys are read here; each service's own keys by its adapter (`faxtui.services`).
"""

from __future__ import annotations

import dataclasses
import re
import stat
import tomllib
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from faxtui.config.fields import Section, did_you_mean, type_name
from faxtui.config.model import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_PAGE_DEPTH,
    DEFAULT_TIMEOUT_SECONDS,
    AccountConfig,
    Config,
    ConfigError,
    StoreConfig,
    UIConfig,
)
from faxtui.services.registry import ADAPTERS, adapter_for
from faxtui.store.interface import StoreError
from faxtui.store.url import parse_store_url

UI_KEYS = ("timezone", "theme", "bell_on_failure")
STORE_KEYS = ("url",)
TOP_LEVEL_KEYS = ("ui", "store", "accounts")
COMMON_KEYS = (
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
_SYNTAX_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_SYNTAX_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


def _check_timezone(section: Section, name: str) -> None:
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
    section = Section("[ui]")
    if not isinstance(raw, dict):
        raise ConfigError(f"[ui] must be a table, got {type_name(raw)}")
    timezone = section.string(raw, "timezone") or "local"
    _check_timezone(section, timezone)
    theme = section.string(raw, "theme") or "textual-dark"
    bell = section.boolean(raw, "bell_on_failure", True)
    extra = {key: value for key, value in raw.items() if key not in UI_KEYS}
    warnings = [
        f"[ui]: unknown key '{key}' ignored{did_you_mean(key, UI_KEYS)}; "
        f"this version knows {', '.join(UI_KEYS)}"
        for key in extra
    ]
    return UIConfig(timezone=timezone, theme=theme, bell_on_failure=bell, extra=extra), warnings


def _parse_store(raw: object) -> StoreConfig:
    """`[store]`: unknown keys are errors (a mistyped `url` would quietly split the team's store)."""
    section = Section("[store]")
    if not isinstance(raw, dict):
        raise ConfigError(f"[store] must be a table, got {type_name(raw)}")
    for key in raw:
        if key not in STORE_KEYS:
            raise section.fail(key, f"unknown key{did_you_mean(key, STORE_KEYS)}")
    url = section.string(raw, "url")
    if url is None:
        return StoreConfig()
    try:
        parse_store_url(url)
    except StoreError as err:
        raise section.fail("url", str(err)) from None
    return StoreConfig(url=url.strip())


def _account_label(raw: object, index: int) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    if isinstance(name, str) and name.strip() and name.isprintable():
        return f"account '{name}'"
    return f"account #{index + 1}"


def parse_account(raw: object, index: int) -> AccountConfig:
    """One `[[accounts]]` table (`index` from 0 names an account without a usable name)."""
    section = Section(_account_label(raw, index))
    if not isinstance(raw, dict):
        raise section.fail(None, f"must be a table, got {type_name(raw)}")
    name = section.string(raw, "name", required=True)
    assert name is not None
    if name != name.strip() or not name.isprintable() or len(name) > 64:
        raise section.fail("name", "must be at most 64 printable characters, without surrounding spaces")

    service = section.string(raw, "service", required=True)
    if service not in ADAPTERS:
        known = " or ".join(f'"{s}"' for s in ADAPTERS)
        raise section.fail("service", f"unknown service {service!r} (use {known})")
    adapter = adapter_for(service)

    allowed = COMMON_KEYS + adapter.config_keys
    for key in raw:
        if key in allowed:
            continue
        others = (a.service for a in ADAPTERS.values() if a is not adapter and key in a.config_keys)
        other = next(others, None)
        if other is not None:
            raise section.fail(key, f"is a {other} setting, not used by {service} accounts")
        raise section.fail(key, f"unknown key{did_you_mean(key, allowed)}")

    soap_version = raw.get("soap_version", "1.1")
    if soap_version in (1.1, 1.2) and not isinstance(soap_version, bool):
        soap_version = str(soap_version)  # a bare TOML float; the intent is clear
    if soap_version not in ("1.1", "1.2"):
        raise section.fail("soap_version", 'must be "1.1" or "1.2"')

    allow_insecure = section.boolean(raw, "allow_insecure", False)
    endpoint = section.url(raw, "endpoint", adapter.default_endpoint, allow_insecure)
    assert endpoint is not None
    common: dict[str, Any] = {
        "name": name,
        "service": service,
        "endpoint": endpoint,
        "poll_seconds": section.number(raw, "poll_seconds", adapter.default_poll_seconds, 86400),
        "soap_version": soap_version,
        "batch_size": section.integer(raw, "batch_size", DEFAULT_BATCH_SIZE, 1, 1000),
        "page_depth": section.integer(raw, "page_depth", DEFAULT_PAGE_DEPTH, 1, 100),
        "timeout_seconds": section.number(raw, "timeout_seconds", DEFAULT_TIMEOUT_SECONDS, 600),
        "allow_insecure": allow_insecure,
    }
    return AccountConfig(**common, **adapter.parse_settings(section, raw, common))


def parse_document(doc: Mapping[str, Any], path: Path) -> Config:
    """Validate a parsed TOML document. Errors come located in `path`."""
    try:
        return _build_config(doc, path)
    except ConfigError as err:
        raise err.located(path) from None


def _build_config(doc: Mapping[str, Any], path: Path) -> Config:
    for key in doc:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(
                f"unknown top-level key '{key}'{did_you_mean(key, TOP_LEVEL_KEYS)}; "
                "faxtui reads [ui], [store] and [[accounts]]"
            )
    ui, warnings = _parse_ui(doc.get("ui", {}))
    store = _parse_store(doc.get("store", {}))
    raw_accounts = doc.get("accounts", [])
    if not isinstance(raw_accounts, list):
        raise ConfigError("accounts must be written as [[accounts]] tables (an array of tables)")
    accounts: list[AccountConfig] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_accounts):
        acc = parse_account(raw, index)
        if acc.name in seen:
            raise ConfigError(
                f"duplicate name (account #{seen[acc.name] + 1} has it too)",
                section=f"account '{acc.name}'",
                key="name",
            )
        seen[acc.name] = index
        accounts.append(acc)
    return Config(
        path=path, ui=ui, store=store, accounts=tuple(accounts),
        warnings=tuple(f"{path}: {w}" for w in warnings),
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
    config = parse_document(doc, path)
    loose = _loose_mode_warning(path, config)
    return dataclasses.replace(config, warnings=(*config.warnings, loose)) if loose else config


def _loose_mode_warning(path: Path, config: Config) -> str | None:
    inline = any(
        ref.value is not None
        for acc in config.accounts
        for ref in adapter_for(acc.service).secret_refs(acc)
    )
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if inline and mode & 0o077:
        return f"{path} holds inline secrets yet other users can read it (mode {mode:04o}): chmod 600 it"
    return None
