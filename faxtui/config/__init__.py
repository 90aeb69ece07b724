"""The configuration file (DESIGN §3, a contract): its values (`model`), reading (`load`) and
writing (`save`) it, and how an account is described (`describe`).

The file is read with tomllib and written with tomli-w, atomically and owner-only (0600). Secrets
(passwords, bearer tokens, client secrets, PINs) are held as `SecretRef`s: inline, from an
environment variable, or from a command's output; `faxtui.secrets.resolve_secret` turns one into
the string only when a request needs it. No repr, error message or description shows a secret.
"""

from __future__ import annotations

from faxtui.config.describe import describe_account
from faxtui.config.load import load_config
from faxtui.config.model import (
    DEFAULT_BATCH_SIZE,
    AccountConfig,
    Config,
    ConfigError,
    SecretError,
    SecretRef,
    UIConfig,
)
from faxtui.config.save import save_config, validate_account
from faxtui.paths import config_path
from faxtui.services.registry import ADAPTERS

DEFAULT_ENDPOINTS: dict[str, str] = {name: a.default_endpoint for name, a in ADAPTERS.items()}
DEFAULT_POLL_SECONDS: dict[str, float] = {name: a.default_poll_seconds for name, a in ADAPTERS.items()}

__all__ = [
    "DEFAULT_BATCH_SIZE",
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
    "save_config",
    "validate_account",
]
