"""The configuration file (DESIGN §3, a contract): its values (`model`), reading one value of a
table (`fields`), reading (`load`) and writing (`save`) the file, and describing an account
(`describe`).

The file is read with tomllib and written with tomli-w, atomically and owner-only (0600). Secrets
(passwords, bearer tokens, client secrets, PINs) are held as `SecretRef`s: inline, from an
environment variable, or from a command's output; `faxtui.secrets.resolve_secret` turns one into
the string only when a request needs it. No repr, error message or description shows a secret.

The service adapters read their own keys with `fields` and `model`, and `load` reads accounts
through the adapters; so this package's names that need the adapters (`load_config`, `save_config`,
`describe_account`, the default tables) are loaded on first use, and importing `faxtui.config.model`
from an adapter never imports the adapters back.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from faxtui.config.model import (
    DEFAULT_BATCH_SIZE,
    AccountConfig,
    Config,
    ConfigError,
    SecretError,
    SecretRef,
    StoreConfig,
    UIConfig,
)
from faxtui.paths import config_path

if TYPE_CHECKING:
    from faxtui.config.defaults import DEFAULT_ENDPOINTS, DEFAULT_POLL_SECONDS
    from faxtui.config.describe import describe_account
    from faxtui.config.load import load_config
    from faxtui.config.save import save_config, validate_account

_LAZY = {
    "DEFAULT_ENDPOINTS": "faxtui.config.defaults",
    "DEFAULT_POLL_SECONDS": "faxtui.config.defaults",
    "describe_account": "faxtui.config.describe",
    "load_config": "faxtui.config.load",
    "save_config": "faxtui.config.save",
    "validate_account": "faxtui.config.save",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'faxtui.config' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_ENDPOINTS",
    "DEFAULT_POLL_SECONDS",
    "AccountConfig",
    "Config",
    "ConfigError",
    "SecretError",
    "SecretRef",
    "StoreConfig",
    "UIConfig",
    "config_path",
    "describe_account",
    "load_config",
    "save_config",
    "validate_account",
]
