"""Writing the configuration: validated first, atomically, owner-only (0600); a file on disk that
does not load is never overwritten."""

from __future__ import annotations

from typing import Any

import tomli_w

from faxtui.config.load import UI_KEYS, load_config, parse_account, parse_document
from faxtui.config.model import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_PAGE_DEPTH,
    DEFAULT_TIMEOUT_SECONDS,
    AccountConfig,
    Config,
    ConfigError,
)
from faxtui.paths import atomic_write
from faxtui.services.registry import adapter_for

_HEADER = "# faxtui configuration (written by faxtui; comments in this file are not kept).\n\n"


def _seconds(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def account_to_table(acc: AccountConfig) -> dict[str, Any]:
    """The account as TOML: name, service and endpoint always; other keys when they are not defaults."""
    table: dict[str, Any] = {"name": acc.name, "service": acc.service, "endpoint": acc.endpoint}
    if acc.soap_version != "1.1":
        table["soap_version"] = acc.soap_version
    table.update(adapter_for(acc.service).settings_table(acc))
    table["poll_seconds"] = _seconds(acc.poll_seconds)
    if acc.batch_size != DEFAULT_BATCH_SIZE:
        table["batch_size"] = acc.batch_size
    if acc.page_depth != DEFAULT_PAGE_DEPTH:
        table["page_depth"] = acc.page_depth
    if acc.timeout_seconds != DEFAULT_TIMEOUT_SECONDS:
        table["timeout_seconds"] = _seconds(acc.timeout_seconds)
    if acc.allow_insecure:
        table["allow_insecure"] = True
    return table


def validate_account(acc: AccountConfig) -> None:
    """Check one account as `load_config` would check it in a file (ConfigError if it is invalid)."""
    parse_account(account_to_table(acc), 0)


def _config_to_document(config: Config) -> dict[str, Any]:
    ui: dict[str, Any] = {"timezone": config.ui.timezone, "theme": config.ui.theme}
    if not config.ui.bell_on_failure:
        ui["bell_on_failure"] = False
    ui.update({k: v for k, v in config.ui.extra.items() if k not in UI_KEYS})
    doc: dict[str, Any] = {"ui": ui}
    if config.store.url is not None:
        doc["store"] = {"url": config.store.url}
    doc["accounts"] = [account_to_table(acc) for acc in config.accounts]
    return doc


def save_config(config: Config) -> None:
    """Validate and write `config.path` atomically with mode 0600 (parent directories 0700).

    Refuses (ConfigError) when the config itself is invalid, and when the file on disk exists but
    does not load: the user's broken file is never clobbered.
    """
    path = config.path
    doc = _config_to_document(config)
    parse_document(doc, path)
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
